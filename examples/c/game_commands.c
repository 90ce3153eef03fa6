/* The commands declared in game_commands.h. Each callback runs on the shard thread
 * that owns its key (or on a host thread inside kevy_call) with that shard locked:
 * it reads its arguments, calls built-in commands on its key with kevy_ctx_call, and
 * builds one reply with kevy_ctx_reply_*. */
#include "game_commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOPN 100

/* Replies with an error and returns; kevy puts "ERR " in front of the message. */
static void fail(kevy_ctx *ctx, const char *message) {
    kevy_ctx_reply_error(ctx, message, strlen(message));
}

/* Argument i as a NUL-terminated copy in buf (arguments are not NUL-terminated). */
static int arg_text(kevy_ctx *ctx, size_t i, char *buf, size_t cap) {
    const char *p;
    size_t len;
    if (kevy_ctx_arg(ctx, i, &p, &len) != KEVY_OK || len >= cap) {
        return -1;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    return 0;
}

/* Argument i as a whole integer. */
static int arg_int(kevy_ctx *ctx, size_t i, long long *out) {
    char buf[32];
    char *end;
    if (arg_text(ctx, i, buf, sizeof buf) != 0 || buf[0] == '\0') {
        return -1;
    }
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return (*end != '\0' || errno != 0) ? -1 : 0;
}

/* Runs a built-in command on this command's key; argv are (pointer, length) pairs. */
static kevy_reply *call(kevy_ctx *ctx, size_t argc, const char **argv, const size_t *lens) {
    kevy_reply *r = NULL;
    return kevy_ctx_call(ctx, argc, argv, lens, &r) == KEVY_OK ? r : NULL;
}

/* Replies with r as it is (an error from the built-in command, typically). */
static void forward(kevy_ctx *ctx, kevy_reply *r) {
    kevy_ctx_reply_value(ctx, r);
    kevy_reply_free(r);
}

/* LEADERBOARD.ADD key player points -> ZINCRBY key points player */
static void leaderboard_add(kevy_ctx *ctx, void *user_data) {
    (void)user_data;
    long long points;
    if (arg_int(ctx, 3, &points) != 0) {
        fail(ctx, "points must be an integer");
        return;
    }
    const char *argv[4];
    size_t lens[4];
    char num[32];
    argv[0] = "ZINCRBY", lens[0] = 7;
    kevy_ctx_arg(ctx, 1, &argv[1], &lens[1]);
    lens[2] = (size_t)snprintf(num, sizeof num, "%lld", points), argv[2] = num;
    kevy_ctx_arg(ctx, 2, &argv[3], &lens[3]);
    kevy_reply *r = call(ctx, 4, argv, lens);
    double score;
    if (r != NULL && kevy_reply_double(r, &score) == KEVY_OK) {
        kevy_ctx_reply_integer(ctx, (long long)score);
        kevy_reply_free(r);
    } else if (r != NULL) {
        forward(ctx, r); /* WRONGTYPE when key holds something else */
    } else {
        fail(ctx, kevy_last_error());
    }
}

/* LEADERBOARD.TOPN key n -> ZREVRANGE key 0 n-1 WITHSCORES, as pairs */
static void leaderboard_topn(kevy_ctx *ctx, void *user_data) {
    (void)user_data;
    long long n;
    if (arg_int(ctx, 2, &n) != 0 || n < 1 || n > MAX_TOPN) {
        fail(ctx, "n must be an integer from 1 to 100");
        return;
    }
    char stop[32];
    const char *argv[5] = {"ZREVRANGE", NULL, "0", stop, "WITHSCORES"};
    size_t lens[5] = {9, 0, 1, 0, 10};
    kevy_ctx_arg(ctx, 1, &argv[1], &lens[1]);
    lens[3] = (size_t)snprintf(stop, sizeof stop, "%lld", n - 1);
    kevy_reply *r = call(ctx, 5, argv, lens);
    size_t count;
    if (r == NULL || kevy_reply_len(r, &count) != KEVY_OK) {
        if (r != NULL) {
            forward(ctx, r);
        } else {
            fail(ctx, kevy_last_error());
        }
        return;
    }
    /* In RESP3 WITHSCORES gives [[member, score], ...]; keep that shape, with the
     * score as an integer. */
    kevy_ctx_reply_array(ctx, count);
    for (size_t i = 0; i < count; i++) {
        const kevy_reply *pair, *member, *score;
        const char *name;
        size_t name_len;
        double points = 0;
        kevy_reply_element(r, i, &pair);
        kevy_reply_element(pair, 0, &member);
        kevy_reply_element(pair, 1, &score);
        kevy_reply_string(member, &name, &name_len);
        kevy_reply_double(score, &points);
        kevy_ctx_reply_array(ctx, 2);
        kevy_ctx_reply_bulk(ctx, name, name_len);
        kevy_ctx_reply_integer(ctx, (long long)points);
    }
    kevy_reply_free(r);
}

/* LEADERBOARD.RANK key player -> ZREVRANK, 1-based */
static void leaderboard_rank(kevy_ctx *ctx, void *user_data) {
    (void)user_data;
    const char *argv[3] = {"ZREVRANK", NULL, NULL};
    size_t lens[3] = {8, 0, 0};
    kevy_ctx_arg(ctx, 1, &argv[1], &lens[1]);
    kevy_ctx_arg(ctx, 2, &argv[2], &lens[2]);
    kevy_reply *r = call(ctx, 3, argv, lens);
    int64_t rank;
    if (r != NULL && kevy_reply_integer(r, &rank) == KEVY_OK) {
        kevy_ctx_reply_integer(ctx, rank + 1);
        kevy_reply_free(r);
    } else if (r != NULL) {
        forward(ctx, r); /* nil: no such player */
    } else {
        fail(ctx, kevy_last_error());
    }
}

/* RATELIMIT.HIT key limit window_ms: a fixed-window counter. The first hit of a
 * window creates the counter with a TTL of window_ms; hits past limit are refused
 * until it expires. Atomic: the key's shard is locked for the whole command. */
static void ratelimit_hit(kevy_ctx *ctx, void *user_data) {
    (void)user_data;
    long long limit, window;
    if (arg_int(ctx, 2, &limit) != 0 || limit < 1 || arg_int(ctx, 3, &window) != 0 || window < 1) {
        fail(ctx, "limit and window_ms must be positive integers");
        return;
    }
    const char *argv[4];
    size_t lens[4];
    kevy_ctx_arg(ctx, 1, &argv[1], &lens[1]);

    argv[0] = "INCR", lens[0] = 4;
    kevy_reply *r = call(ctx, 2, argv, lens);
    int64_t hits;
    if (r == NULL || kevy_reply_integer(r, &hits) != KEVY_OK) {
        if (r != NULL) {
            forward(ctx, r);
        } else {
            fail(ctx, kevy_last_error());
        }
        return;
    }
    kevy_reply_free(r);

    char ms[32];
    if (hits == 1) {
        argv[0] = "PEXPIRE", lens[0] = 7;
        lens[2] = (size_t)snprintf(ms, sizeof ms, "%lld", window), argv[2] = ms;
        kevy_reply_free(call(ctx, 3, argv, lens));
    }
    argv[0] = "PTTL", lens[0] = 4;
    r = call(ctx, 2, argv, lens);
    int64_t ttl = 0;
    kevy_reply_integer(r, &ttl);
    kevy_reply_free(r);

    kevy_ctx_reply_array(ctx, 3);
    kevy_ctx_reply_integer(ctx, hits <= limit ? 1 : 0);
    kevy_ctx_reply_integer(ctx, hits <= limit ? limit - hits : 0);
    kevy_ctx_reply_integer(ctx, ttl);
}

kevy_status game_commands_register(kevy_server *server) {
    /* name, arity, flags, first key, last key, step, callback, user data, destructor */
    kevy_status st;
    st = kevy_server_register_command(server, "LEADERBOARD.ADD", 4, "write deny-oom", 1, 1, 1,
                                      leaderboard_add, NULL, NULL);
    if (st != KEVY_OK) return st;
    st = kevy_server_register_command(server, "LEADERBOARD.TOPN", 3, "readonly", 1, 1, 1,
                                      leaderboard_topn, NULL, NULL);
    if (st != KEVY_OK) return st;
    st = kevy_server_register_command(server, "LEADERBOARD.RANK", 3, "readonly fast", 1, 1, 1,
                                      leaderboard_rank, NULL, NULL);
    if (st != KEVY_OK) return st;
    return kevy_server_register_command(server, "RATELIMIT.HIT", 4, "write deny-oom fast", 1, 1, 1,
                                        ratelimit_hit, NULL, NULL);
}
