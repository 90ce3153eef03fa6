/*
 * hello.c: start a kevy server inside this process on a free port, run SET and GET
 * in-process (no socket), print what came back, stop.
 *
 *   make -C examples/c && target/c/examples/hello
 */
#include <stdio.h>
#include <stdlib.h>

#include <kevy.h>

/* Prints the failed call and kevy's message for it, then exits. */
static void check(kevy_status st, const char *what) {
    if (st != KEVY_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, kevy_status_str(st), kevy_last_error());
        exit(1);
    }
}

int main(void) {
    printf("kevy %s (header %s)\n", kevy_version(), KEVY_VERSION_STRING);
    if (kevy_version_number() != KEVY_VERSION_NUMBER) {
        fprintf(stderr, "libkevy and kevy.h differ\n");
        return 1;
    }

    kevy_config *cfg = NULL;
    check(kevy_config_new(&cfg), "kevy_config_new");
    check(kevy_config_set(cfg, "port", "0"), "config port"); /* the kernel picks one */
    check(kevy_config_set(cfg, "shards", "2"), "config shards");

    kevy_server *server = NULL;
    check(kevy_server_start(cfg, &server), "kevy_server_start");
    kevy_config_free(cfg); /* the server keeps its own copy */

    uint16_t port = 0;
    check(kevy_server_port(server, &port), "kevy_server_port");
    printf("listening on 127.0.0.1:%u (try redis-cli -p %u while it runs)\n", port, port);

    /* SET greeting "hello, kevy": arguments as (pointer, length) pairs. */
    const char *set_argv[] = {"SET", "greeting", "hello, kevy"};
    size_t set_lens[] = {3, 8, 11};
    kevy_reply *reply = NULL;
    check(kevy_call(server, 3, set_argv, set_lens, &reply), "kevy_call SET");
    const char *text;
    size_t len;
    check(kevy_reply_string(reply, &text, &len), "reply string");
    printf("SET greeting -> %.*s\n", (int)len, text);
    kevy_reply_free(reply);

    /* GET greeting: with lens NULL, arguments are NUL-terminated strings. */
    const char *get_argv[] = {"GET", "greeting"};
    check(kevy_call(server, 2, get_argv, NULL, &reply), "kevy_call GET");
    kevy_reply_type type;
    check(kevy_reply_get_type(reply, &type), "reply type");
    if (type != KEVY_REPLY_BULK) {
        fprintf(stderr, "GET returned reply type %d\n", (int)type);
        return 1;
    }
    check(kevy_reply_string(reply, &text, &len), "reply string");
    printf("GET greeting -> \"%.*s\"\n", (int)len, text);
    kevy_reply_free(reply);

    /* A command that fails is still a successful call: its reply is an error. */
    const char *bad_argv[] = {"INCR", "greeting"};
    check(kevy_call(server, 2, bad_argv, NULL, &reply), "kevy_call INCR");
    check(kevy_reply_string(reply, &text, &len), "reply string");
    printf("INCR greeting -> error \"%s\"\n", text); /* reply strings end in a NUL */
    kevy_reply_free(reply);

    kevy_server_free(server); /* stops it: closes connections, joins its threads */
    printf("stopped\n");
    return 0;
}
