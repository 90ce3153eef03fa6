/*
 * server.c: a complete kevy server host, configured by a redis.conf-style file. It
 * is what kevy-server does, written against the C API: load the config, route kevy's
 * log lines into the host's own log, start, add the host's commands
 * (game_commands.c), serve until SIGINT/SIGTERM or a client's SHUTDOWN, stop
 * cleanly.
 *
 *   target/c/examples/server examples/c/kevy.conf
 *   redis-cli -p 7379 PING
 *
 * Prints "ready: port N shards M" once clients can connect.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <kevy.h>

#include "game_commands.h"

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

/* The host's log: kevy's lines arrive here, from kevy's threads, with a prefix the
 * host chose (its user data). */
static void log_line(kevy_log_level level, const char *message, size_t len, void *user_data) {
    static const char *names[] = {"debug", "verbose", "notice", "warning"};
    const char *prefix = user_data;
    fprintf(stderr, "%s %ld %s: %.*s\n", prefix, (long)time(NULL), names[level], (int)len, message);
}

static int fail(kevy_status st, const char *what) {
    fprintf(stderr, "server: %s: %s: %s\n", what, kevy_status_str(st), kevy_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc > 2) {
        fprintf(stderr, "usage: %s [redis.conf]\n", argv[0]);
        return 2;
    }
    kevy_status st;
    kevy_config *cfg = NULL;
    if ((st = kevy_config_new(&cfg)) != KEVY_OK) return fail(st, "kevy_config_new");
    if (argc == 2 && (st = kevy_config_load_file(cfg, argv[1])) != KEVY_OK) {
        kevy_config_free(cfg);
        return fail(st, "loading the config file");
    }
    kevy_set_log_handler(log_line, "[kevy]", NULL);

    kevy_server *server = NULL;
    st = kevy_server_start(cfg, &server);
    kevy_config_free(cfg);
    if (st != KEVY_OK) return fail(st, "kevy_server_start");
    if ((st = game_commands_register(server)) != KEVY_OK) {
        kevy_server_free(server);
        return fail(st, "registering commands");
    }

    uint16_t port = 0;
    size_t shards = 0;
    kevy_server_port(server, &port);
    kevy_server_shards(server, &shards);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("ready: port %u shards %zu\n", port, shards);
    fflush(stdout);

    /* Serve until a signal (it may land on any thread: poll the flag) or a client's
     * SHUTDOWN. */
    bool stopping = false;
    while (!stop_requested && !stopping) {
        usleep(50 * 1000);
        kevy_server_is_stopping(server, &stopping);
    }
    if ((st = kevy_server_stop(server)) != KEVY_OK) return fail(st, "kevy_server_stop");
    kevy_server_free(server);
    kevy_set_log_handler(NULL, NULL, NULL); /* back to stderr */
    printf("stopped\n");
    return 0;
}
