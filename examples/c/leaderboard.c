/*
 * leaderboard.c: what a game server does with kevy. It starts kevy in-process,
 * registers its own commands (game_commands.c: LEADERBOARD.*, RATELIMIT.HIT), feeds
 * scores in-process, prints the table, and with --serve keeps serving so players'
 * tools (redis-cli, any Redis client) can use the same commands:
 *
 *   target/c/examples/leaderboard --serve 7379 &
 *   redis-cli -p 7379 LEADERBOARD.ADD arena alice 50
 *   redis-cli -p 7379 LEADERBOARD.TOPN arena 3
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kevy.h>

#include "game_commands.h"

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void check(kevy_status st, const char *what) {
    if (st != KEVY_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, kevy_status_str(st), kevy_last_error());
        exit(1);
    }
}

/* Runs one command given as NUL-terminated strings; returns its reply. */
static kevy_reply *run(kevy_server *server, size_t argc, const char **argv) {
    kevy_reply *r = NULL;
    check(kevy_call(server, argc, argv, NULL, &r), argv[0]);
    return r;
}

int main(int argc, char **argv) {
    const char *port = "0";
    int serve = 0;
    if (argc >= 2 && strcmp(argv[1], "--serve") == 0) {
        serve = 1;
        port = argc >= 3 ? argv[2] : "7379";
    }

    kevy_config *cfg = NULL;
    check(kevy_config_new(&cfg), "kevy_config_new");
    check(kevy_config_set(cfg, "port", port), "config port");
    check(kevy_config_set(cfg, "shards", "2"), "config shards");
    kevy_server *server = NULL;
    check(kevy_server_start(cfg, &server), "kevy_server_start");
    kevy_config_free(cfg);
    check(game_commands_register(server), "registering the game commands");

    /* A match ends: add each player's points. */
    const char *players[] = {"alice", "bob", "carol", "dave"};
    const char *points[] = {"120", "80", "150", "95"};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 4; i++) {
            const char *add[] = {"LEADERBOARD.ADD", "arena", players[i], points[(i + round) % 4]};
            kevy_reply_free(run(server, 4, add));
        }
    }

    const char *top[] = {"LEADERBOARD.TOPN", "arena", "3"};
    kevy_reply *r = run(server, 3, top);
    size_t n = 0;
    check(kevy_reply_len(r, &n), "TOPN reply");
    printf("top %zu of arena:\n", n);
    for (size_t i = 0; i < n; i++) {
        const kevy_reply *row, *name, *score;
        const char *text;
        size_t len;
        int64_t pts;
        check(kevy_reply_element(r, i, &row), "row");
        check(kevy_reply_element(row, 0, &name), "name");
        check(kevy_reply_element(row, 1, &score), "score");
        check(kevy_reply_string(name, &text, &len), "name text");
        check(kevy_reply_integer(score, &pts), "score value");
        printf("  %zu. %-6.*s %lld\n", i + 1, (int)len, text, (long long)pts);
    }
    kevy_reply_free(r);

    const char *rank[] = {"LEADERBOARD.RANK", "arena", "bob"};
    r = run(server, 3, rank);
    int64_t bob = 0;
    check(kevy_reply_integer(r, &bob), "RANK reply");
    printf("bob is #%lld\n", (long long)bob);
    kevy_reply_free(r);

    /* A command's own errors reach the caller as error replies. */
    const char *bad[] = {"LEADERBOARD.ADD", "arena", "eve", "lots"};
    r = run(server, 4, bad);
    const char *text;
    size_t len;
    check(kevy_reply_string(r, &text, &len), "error text");
    printf("LEADERBOARD.ADD arena eve lots -> (error) %s\n", text);
    kevy_reply_free(r);

    /* Three chat messages allowed per 10 s: the fourth is refused. */
    for (int i = 1; i <= 4; i++) {
        const char *hit[] = {"RATELIMIT.HIT", "chat:alice", "3", "10000"};
        r = run(server, 4, hit);
        const kevy_reply *allowed;
        int64_t ok = 0;
        check(kevy_reply_element(r, 0, &allowed), "allowed");
        check(kevy_reply_integer(allowed, &ok), "allowed value");
        printf("chat message %d from alice: %s\n", i, ok ? "sent" : "rate limited");
        kevy_reply_free(r);
    }

    if (serve) {
        uint16_t p = 0;
        check(kevy_server_port(server, &p), "kevy_server_port");
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        printf("serving on port %u; try: redis-cli -p %u LEADERBOARD.TOPN arena 3 (Ctrl-C stops)\n", p, p);
        fflush(stdout);
        while (!stop_requested) { /* signals may land on any thread: poll */
            usleep(100 * 1000);
        }
    }
    kevy_server_free(server);
    return 0;
}
