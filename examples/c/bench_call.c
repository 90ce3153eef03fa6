/*
 * bench_call.c: kevy_call round trips from one host thread. Runs SET and GET on one
 * key N times each (after a warm-up) and prints the mean latency per call and the
 * calls per second, reply decoding and kevy_reply_free included.
 *
 *   kevy-ffi/install.sh target/kevy-prefix release
 *   make -C examples/c && target/c/examples/bench_call 1000000
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <kevy.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void check(kevy_status st, const char *what) {
    if (st != KEVY_OK) {
        fprintf(stderr, "%s failed: %s\n", what, kevy_last_error());
        exit(1);
    }
}

/* Runs argv n times; returns the mean ns per call. */
static double run(kevy_server *server, size_t argc, const char **argv, const size_t *lens, long n) {
    double start = now_ns();
    for (long i = 0; i < n; i++) {
        kevy_reply *r;
        check(kevy_call(server, argc, argv, lens, &r), argv[0]);
        kevy_reply_free(r);
    }
    return (now_ns() - start) / (double)n;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    const char *shards = argc > 2 ? argv[2] : "1";
    kevy_config *cfg;
    check(kevy_config_new(&cfg), "config");
    check(kevy_config_set(cfg, "port", "0"), "port");
    check(kevy_config_set(cfg, "shards", shards), "shards");
    kevy_server *server;
    check(kevy_server_start(cfg, &server), "start");
    kevy_config_free(cfg);

    const char *set[] = {"SET", "bench:key", "value-of-16bytes"};
    const size_t set_lens[] = {3, 9, 16};
    const char *get[] = {"GET", "bench:key"};
    const size_t get_lens[] = {3, 9};
    run(server, 3, set, set_lens, n / 10 + 1); /* warm-up */
    double set_ns = run(server, 3, set, set_lens, n);
    double get_ns = run(server, 2, get, get_lens, n);
    printf("kevy_call, 1 host thread, %s shard(s), %ld calls each:\n", shards, n);
    printf("  SET: %8.1f ns/call  %10.0f calls/s\n", set_ns, 1e9 / set_ns);
    printf("  GET: %8.1f ns/call  %10.0f calls/s\n", get_ns, 1e9 / get_ns);
    kevy_server_free(server);
    return 0;
}
