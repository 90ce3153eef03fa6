/*
 * test_kevy.c: the C API's tests, run by tests/c/run.sh under valgrind. One process:
 * NULL arguments, configs, 100 start/stop cycles, in-process calls and replies,
 * custom commands (every reply builder, error replies, misuse, user-data
 * destructors), sockets reaching custom commands on shard threads, 8 host threads
 * calling at once, the log handler, the manual clock, fault injection.
 *
 * Prints one line per failed check and ends with "N passed, M failed".
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <kevy.h>

/* ---- a tiny test harness ---- */

static int failed_checks = 0;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s (kevy_last_error: %s)\n", __FILE__,     \
                    __LINE__, #cond, kevy_last_error());                                     \
            failed_checks++;                                                                 \
        }                                                                                    \
    } while (0)
#define CHECK_OK(call) CHECK((call) == KEVY_OK)
#define CHECK_ST(call, status) CHECK((call) == (status))

/* ---- helpers ---- */

static kevy_server *start_server(const char *shards) {
    kevy_config *cfg = NULL;
    kevy_server *server = NULL;
    CHECK_OK(kevy_config_new(&cfg));
    CHECK_OK(kevy_config_set(cfg, "port", "0"));
    CHECK_OK(kevy_config_set(cfg, "shards", shards));
    CHECK_OK(kevy_server_start(cfg, &server));
    kevy_config_free(cfg);
    if (server == NULL) {
        fprintf(stderr, "cannot start a server: %s\n", kevy_last_error());
        exit(1);
    }
    return server;
}

/* Runs a command given as NUL-terminated strings (NULL-terminated list). */
static kevy_reply *callv(kevy_server *server, const char **argv) {
    size_t argc = 0;
    while (argv[argc] != NULL) argc++;
    kevy_reply *r = NULL;
    CHECK_OK(kevy_call(server, argc, argv, NULL, &r));
    return r;
}
#define CALL(server, ...) callv((server), (const char *[]){__VA_ARGS__, NULL})

static int is_type(const kevy_reply *r, kevy_reply_type want) {
    kevy_reply_type t;
    return r != NULL && kevy_reply_get_type(r, &t) == KEVY_OK && t == want;
}

static int is_text(const kevy_reply *r, kevy_reply_type type, const char *want) {
    const char *p;
    size_t len;
    return is_type(r, type) && kevy_reply_string(r, &p, &len) == KEVY_OK && len == strlen(want) &&
           memcmp(p, want, len) == 0 && p[len] == '\0';
}

static int is_int(const kevy_reply *r, int64_t want) {
    int64_t n;
    return is_type(r, KEVY_REPLY_INTEGER) && kevy_reply_integer(r, &n) == KEVY_OK && n == want;
}

/* Checks a reply and frees it. */
#define EXPECT_TEXT(r, type, text) do { kevy_reply *r_ = (r); CHECK(is_text(r_, type, text)); kevy_reply_free(r_); } while (0)
#define EXPECT_INT(r, n) do { kevy_reply *r_ = (r); CHECK(is_int(r_, n)); kevy_reply_free(r_); } while (0)
#define EXPECT_NIL(r) do { kevy_reply *r_ = (r); CHECK(is_type(r_, KEVY_REPLY_NIL)); kevy_reply_free(r_); } while (0)

static int count_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return -1;
    while (readdir(d) != NULL) n++;
    closedir(d);
    return n;
}

/* Connects to 127.0.0.1:port with a receive timeout. */
static int connect_to(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends a raw request and checks that exactly `want` comes back. */
static int socket_roundtrip(int fd, const char *request, const char *want) {
    size_t want_len = strlen(want), got = 0;
    char buf[4096];
    if (send(fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) return 0;
    while (got < want_len && got < sizeof buf) {
        ssize_t n = recv(fd, buf + got, sizeof buf - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    if (got != want_len || memcmp(buf, want, want_len) != 0) {
        fprintf(stderr, "socket: sent %s\nwanted %s\ngot    %.*s\n", request, want, (int)got, buf);
        return 0;
    }
    return 1;
}

/* User data whose destructor counts its calls (from any thread). */
typedef struct {
    atomic_int freed;
} counted;

static void count_free(void *p) {
    atomic_fetch_add(&((counted *)p)->freed, 1);
}

/* ---- custom command callbacks ---- */

static void cmd_echo(kevy_ctx *ctx, void *ud) { /* T.ECHO arg...: the args as bulks */
    (void)ud;
    size_t argc;
    kevy_ctx_argc(ctx, &argc);
    kevy_ctx_reply_array(ctx, argc - 1);
    for (size_t i = 1; i < argc; i++) {
        const char *p;
        size_t len;
        kevy_ctx_arg(ctx, i, &p, &len);
        kevy_ctx_reply_bulk(ctx, p, len);
    }
}

static void cmd_error(kevy_ctx *ctx, void *ud) {
    (void)ud;
    CHECK_OK(kevy_ctx_reply_error(ctx, "no such player", 14));
}

static void cmd_coded_error(kevy_ctx *ctx, void *ud) {
    (void)ud;
    CHECK_OK(kevy_ctx_reply_error(ctx, "NOPERM not yours", 16));
}

static void cmd_silent(kevy_ctx *ctx, void *ud) {
    (void)ctx, (void)ud;
}

static void cmd_half(kevy_ctx *ctx, void *ud) {
    (void)ud;
    kevy_ctx_reply_array(ctx, 3);
    kevy_ctx_reply_integer(ctx, 1);
}

static void cmd_twice(kevy_ctx *ctx, void *ud) {
    (void)ud;
    CHECK_OK(kevy_ctx_reply_integer(ctx, 1));
    CHECK_ST(kevy_ctx_reply_integer(ctx, 2), KEVY_ERR_STATE);
    CHECK_ST(kevy_ctx_reply_array(ctx, 1), KEVY_ERR_STATE);
}

/* T.ALL: {"a": [1, 1.5, true, "OK"], "b": ~{"x", nil}} */
static void cmd_all(kevy_ctx *ctx, void *ud) {
    (void)ud;
    CHECK_OK(kevy_ctx_reply_map(ctx, 2));
    CHECK_OK(kevy_ctx_reply_bulk(ctx, "a", 1));
    CHECK_OK(kevy_ctx_reply_array(ctx, 4));
    CHECK_OK(kevy_ctx_reply_integer(ctx, 1));
    CHECK_OK(kevy_ctx_reply_double(ctx, 1.5));
    CHECK_OK(kevy_ctx_reply_bool(ctx, true));
    CHECK_OK(kevy_ctx_reply_simple(ctx, "OK", 2));
    CHECK_OK(kevy_ctx_reply_bulk(ctx, "b", 1));
    CHECK_OK(kevy_ctx_reply_set(ctx, 2));
    CHECK_OK(kevy_ctx_reply_bulk(ctx, "x", 1));
    CHECK_OK(kevy_ctx_reply_null(ctx));
}

/* T.INCRTWICE key: INCR twice through kevy_ctx_call, forward the second reply. */
static void cmd_incr_twice(kevy_ctx *ctx, void *ud) {
    (void)ud;
    const char *argv[2] = {"INCR", NULL};
    size_t lens[2] = {4, 0};
    kevy_reply *r = NULL;
    kevy_ctx_arg(ctx, 1, &argv[1], &lens[1]);
    CHECK_OK(kevy_ctx_call(ctx, 2, argv, lens, &r));
    kevy_reply_free(r);
    CHECK_OK(kevy_ctx_call(ctx, 2, argv, lens, &r));
    CHECK_OK(kevy_ctx_reply_value(ctx, r));
    kevy_reply_free(r);
}

/* T.SHARD [key]: the shard running the command. */
static void cmd_shard(kevy_ctx *ctx, void *ud) {
    (void)ud;
    size_t shard = 99;
    uint64_t now = 0;
    CHECK_OK(kevy_ctx_shard(ctx, &shard));
    CHECK_OK(kevy_ctx_now_ms(ctx, &now));
    CHECK(now > 0);
    kevy_ctx_reply_integer(ctx, (int64_t)shard);
}

/* T.GETOTHER key other: GET other from inside (other is not in the key spec). */
static void cmd_get_other(kevy_ctx *ctx, void *ud) {
    (void)ud;
    const char *argv[2] = {"GET", NULL};
    size_t lens[2] = {3, 0};
    kevy_reply *r = NULL;
    kevy_ctx_arg(ctx, 2, &argv[1], &lens[1]);
    CHECK_OK(kevy_ctx_call(ctx, 2, argv, lens, &r));
    kevy_ctx_reply_value(ctx, r);
    kevy_reply_free(r);
}

static kevy_ctx *kept_ctx = NULL;

/* T.MISUSE: keeps its ctx, tries the calls a callback must not make. */
static void cmd_misuse(kevy_ctx *ctx, void *server) {
    kept_ctx = ctx;
    kevy_reply *r = NULL;
    const char *argv[] = {"PING"};
    CHECK_ST(kevy_call(server, 1, argv, NULL, &r), KEVY_ERR_STATE);
    CHECK(r == NULL);
    CHECK_ST(kevy_server_stop(server), KEVY_ERR_STATE);
    size_t argc = 0;
    const char *p = NULL;
    size_t len = 0;
    CHECK_OK(kevy_ctx_argc(ctx, &argc));
    CHECK_ST(kevy_ctx_arg(ctx, argc, &p, &len), KEVY_ERR_RANGE);
    CHECK(p == NULL);
    CHECK_ST(kevy_ctx_arg(ctx, 0, NULL, &len), KEVY_ERR_NULL);
    CHECK_ST(kevy_ctx_call(ctx, 0, argv, NULL, &r), KEVY_ERR_ARG);
    CHECK_ST(kevy_ctx_reply_value(ctx, NULL), KEVY_ERR_NULL);
    kevy_ctx_reply_simple(ctx, "DONE", 4);
}

/* ---- tests ---- */

static void test_version(void) {
    CHECK(strcmp(kevy_version(), KEVY_VERSION_STRING) == 0);
    CHECK(kevy_version_number() == KEVY_VERSION_NUMBER);
    CHECK(KEVY_VERSION_NUMBER == KEVY_VERSION_MAJOR * 10000 + KEVY_VERSION_MINOR * 100 + KEVY_VERSION_PATCH);
    CHECK(strcmp(kevy_status_str(KEVY_OK), "KEVY_OK") == 0);
    CHECK(strcmp(kevy_status_str(KEVY_ERR_NULL), "KEVY_ERR_NULL") == 0);
    CHECK(strcmp(kevy_status_str(1234), "KEVY_ERR_UNKNOWN") == 0);
    CHECK(kevy_last_error() != NULL);
}

static void test_null_arguments(void) {
    kevy_config *cfg = NULL;
    kevy_server *server = start_server("1");
    kevy_reply *r = (kevy_reply *)0x1; /* out-params stay untouched on failure */
    const char *argv[] = {"PING"};
    const char *null_argv[] = {NULL};
    size_t zero = 0;

    CHECK_ST(kevy_config_new(NULL), KEVY_ERR_NULL);
    CHECK(strstr(kevy_last_error(), "NULL") != NULL);
    CHECK_OK(kevy_config_new(&cfg));
    CHECK_ST(kevy_config_set(NULL, "port", "0"), KEVY_ERR_NULL);
    CHECK_ST(kevy_config_set(cfg, NULL, "0"), KEVY_ERR_NULL);
    CHECK_ST(kevy_config_set(cfg, "port", NULL), KEVY_ERR_NULL);
    CHECK_ST(kevy_config_get(cfg, "port", NULL, &zero), KEVY_ERR_NULL);
    CHECK_ST(kevy_config_load_text(NULL, "", 0), KEVY_ERR_NULL);
    CHECK_ST(kevy_config_load_text(cfg, NULL, 5), KEVY_ERR_NULL);
    CHECK_OK(kevy_config_load_text(cfg, NULL, 0));
    CHECK_ST(kevy_config_load_file(cfg, NULL), KEVY_ERR_NULL);
    kevy_server *s2 = (kevy_server *)0x1;
    CHECK_ST(kevy_server_start(NULL, &s2), KEVY_ERR_NULL);
    CHECK_ST(kevy_server_start(cfg, NULL), KEVY_ERR_NULL);
    CHECK(s2 == (kevy_server *)0x1);
    kevy_config_free(cfg);

    uint16_t port = 7;
    CHECK_ST(kevy_server_port(NULL, &port), KEVY_ERR_NULL);
    CHECK_ST(kevy_server_port(server, NULL), KEVY_ERR_NULL);
    CHECK(port == 7);
    CHECK_ST(kevy_server_shards(NULL, &zero), KEVY_ERR_NULL);
    CHECK_ST(kevy_server_advance(NULL, 1), KEVY_ERR_NULL);
    bool stopping = true;
    CHECK_ST(kevy_server_is_stopping(NULL, &stopping), KEVY_ERR_NULL);
    CHECK_ST(kevy_server_is_stopping(server, NULL), KEVY_ERR_NULL);
    CHECK_OK(kevy_server_is_stopping(server, &stopping));
    CHECK(!stopping);
    CHECK_ST(kevy_server_stop(NULL), KEVY_ERR_NULL);

    CHECK_ST(kevy_call(NULL, 1, argv, NULL, &r), KEVY_ERR_NULL);
    CHECK_ST(kevy_call(server, 1, NULL, NULL, &r), KEVY_ERR_NULL);
    CHECK_ST(kevy_call(server, 1, argv, NULL, NULL), KEVY_ERR_NULL);
    CHECK_ST(kevy_call(server, 1, null_argv, NULL, &r), KEVY_ERR_NULL);
    size_t len_one = 1;
    CHECK_ST(kevy_call(server, 1, null_argv, &len_one, &r), KEVY_ERR_NULL);
    CHECK_ST(kevy_call(server, 0, argv, NULL, &r), KEVY_ERR_ARG);
    CHECK(r == (kevy_reply *)0x1);

    CHECK_ST(kevy_server_register_command(NULL, "t.x", 1, "", 0, 0, 0, cmd_echo, NULL, NULL), KEVY_ERR_NULL);
    CHECK_ST(kevy_server_register_command(server, NULL, 1, "", 0, 0, 0, cmd_echo, NULL, NULL), KEVY_ERR_NULL);
    CHECK_ST(kevy_server_register_command(server, "t.x", 1, "", 0, 0, 0, NULL, NULL, NULL), KEVY_ERR_NULL);
    CHECK_OK(kevy_server_register_command(server, "t.x", -1, NULL, 0, 0, 0, cmd_echo, NULL, NULL));

    kevy_reply_type t = KEVY_REPLY_SET;
    const char *p = NULL;
    size_t len = 0;
    int64_t i = 0;
    double d = 0;
    bool b = false;
    const kevy_reply *e = NULL;
    CHECK_ST(kevy_reply_get_type(NULL, &t), KEVY_ERR_NULL);
    CHECK_ST(kevy_reply_string(NULL, &p, &len), KEVY_ERR_NULL);
    CHECK_ST(kevy_reply_integer(NULL, &i), KEVY_ERR_NULL);
    CHECK_ST(kevy_reply_double(NULL, &d), KEVY_ERR_NULL);
    CHECK_ST(kevy_reply_bool(NULL, &b), KEVY_ERR_NULL);
    CHECK_ST(kevy_reply_len(NULL, &len), KEVY_ERR_NULL);
    CHECK_ST(kevy_reply_element(NULL, 0, &e), KEVY_ERR_NULL);
    kevy_reply *pong = CALL(server, "PING");
    CHECK_ST(kevy_reply_get_type(pong, NULL), KEVY_ERR_NULL);
    CHECK_ST(kevy_reply_string(pong, NULL, &len), KEVY_ERR_NULL);
    CHECK_ST(kevy_reply_string(pong, &p, NULL), KEVY_ERR_NULL);
    kevy_reply_free(pong);
    CHECK(t == KEVY_REPLY_SET && p == NULL && len == 0);

    /* Outside any callback a ctx is refused, NULL or not. */
    CHECK_ST(kevy_ctx_argc(NULL, &len), KEVY_ERR_NULL);
    CHECK_ST(kevy_ctx_reply_integer(NULL, 1), KEVY_ERR_NULL);
    CHECK_ST(kevy_ctx_call(NULL, 1, argv, NULL, &r), KEVY_ERR_NULL);

    CHECK_OK(kevy_set_log_handler(NULL, NULL, NULL));
    kevy_config_free(NULL);
    kevy_server_free(NULL);
    kevy_reply_free(NULL);
    kevy_server_free(server);
}

static void test_config(void) {
    kevy_config *cfg = NULL;
    const char *v = NULL;
    size_t len = 0;
    CHECK_OK(kevy_config_new(&cfg));
    CHECK_OK(kevy_config_get(cfg, "port", &v, &len));
    CHECK(len == 4 && memcmp(v, "6379", 4) == 0);
    CHECK_OK(kevy_config_set(cfg, "PORT", "0"));
    CHECK_OK(kevy_config_set(cfg, "proto-max-bulk-len", "2mb"));
    CHECK_OK(kevy_config_get(cfg, "proto-max-bulk-len", &v, &len));
    CHECK(len == 7 && memcmp(v, "2097152", 7) == 0);

    CHECK_ST(kevy_config_set(cfg, "nosuch", "1"), KEVY_ERR_CONFIG);
    CHECK(strstr(kevy_last_error(), "nosuch") != NULL);
    CHECK_ST(kevy_config_set(cfg, "port", "70000"), KEVY_ERR_CONFIG);
    CHECK_ST(kevy_config_set(cfg, "bind", "not-an-address"), KEVY_ERR_CONFIG);
    CHECK_ST(kevy_config_set(cfg, "port\xff", "1"), KEVY_ERR_ARG);
    v = NULL;
    CHECK_ST(kevy_config_get(cfg, "nosuch", &v, &len), KEVY_ERR_CONFIG);
    CHECK(v == NULL);

    const char *text = "# a comment\n\nhz 20\nmaxclients 50\n";
    CHECK_OK(kevy_config_load_text(cfg, text, strlen(text)));
    CHECK_OK(kevy_config_get(cfg, "hz", &v, &len));
    CHECK(len == 2 && memcmp(v, "20", 2) == 0);
    /* All or nothing: line 2 is bad, so hz stays 20. */
    const char *bad = "hz 30\nshards lots\n";
    CHECK_ST(kevy_config_load_text(cfg, bad, strlen(bad)), KEVY_ERR_CONFIG);
    CHECK(strstr(kevy_last_error(), "line 2") != NULL);
    CHECK_OK(kevy_config_get(cfg, "hz", &v, &len));
    CHECK(len == 2 && memcmp(v, "20", 2) == 0);

    CHECK_ST(kevy_config_load_file(cfg, "/nonexistent/kevy.conf"), KEVY_ERR_IO);
    char path[] = "/tmp/kevy-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *file = "port 0\nshards 1\nhz 15\n";
    CHECK(write(fd, file, strlen(file)) == (ssize_t)strlen(file));
    close(fd);
    CHECK_OK(kevy_config_load_file(cfg, path));
    unlink(path);
    CHECK_OK(kevy_config_get(cfg, "hz", &v, &len));
    CHECK(len == 2 && memcmp(v, "15", 2) == 0);

    kevy_server *server = NULL;
    CHECK_OK(kevy_server_start(cfg, &server));
    kevy_config_free(cfg); /* the server keeps its copy */
    size_t shards = 0;
    uint16_t port = 0;
    CHECK_OK(kevy_server_shards(server, &shards));
    CHECK_OK(kevy_server_port(server, &port));
    CHECK(shards == 1 && port != 0);
    kevy_reply *r = CALL(server, "CONFIG", "GET", "hz");
    CHECK(is_type(r, KEVY_REPLY_MAP));
    const kevy_reply *val = NULL;
    CHECK_OK(kevy_reply_element(r, 1, &val));
    CHECK(is_text(val, KEVY_REPLY_BULK, "15"));
    kevy_reply_free(r);
    kevy_server_free(server);

    /* An address that is not this machine's: the bind fails with an I/O error. */
    CHECK_OK(kevy_config_new(&cfg));
    CHECK_OK(kevy_config_set(cfg, "port", "0"));
    CHECK_OK(kevy_config_set(cfg, "bind", "192.0.2.1"));
    server = NULL;
    CHECK_ST(kevy_server_start(cfg, &server), KEVY_ERR_IO);
    CHECK(server == NULL);
    kevy_config_free(cfg);
}

static void test_start_stop_100_times(void) {
    counted ud = {0};
    int fds_before = count_fds();
    for (int i = 0; i < 100; i++) {
        kevy_server *server = start_server(i % 2 ? "2" : "1");
        CHECK_OK(kevy_server_register_command(server, "t.echo", -1, "fast", 0, 0, 0, cmd_echo, &ud, count_free));
        kevy_reply *r = CALL(server, "T.ECHO", "round");
        size_t n = 0;
        CHECK_OK(kevy_reply_len(r, &n));
        CHECK(n == 1);
        kevy_reply_free(r);
        if (i % 3 == 0) {
            CHECK_OK(kevy_server_stop(server));
            CHECK(atomic_load(&ud.freed) == i + 1); /* stop drops the commands */
        }
        kevy_server_free(server);
        CHECK(atomic_load(&ud.freed) == i + 1);
    }
    CHECK(count_fds() == fds_before);
}

static void test_calls_and_replies(void) {
    kevy_server *server = start_server("3");
    EXPECT_TEXT(CALL(server, "SET", "k", "v"), KEVY_REPLY_STATUS, "OK");
    EXPECT_TEXT(CALL(server, "GET", "k"), KEVY_REPLY_BULK, "v");
    EXPECT_NIL(CALL(server, "GET", "missing"));
    EXPECT_INT(CALL(server, "INCRBY", "n", "5"), 5);
    EXPECT_TEXT(CALL(server, "LPUSH", "k", "x"), KEVY_REPLY_ERROR,
                "WRONGTYPE Operation against a key holding the wrong kind of value");
    kevy_reply *r = CALL(server, "NOSUCHCMD");
    CHECK(is_type(r, KEVY_REPLY_ERROR));
    kevy_reply_free(r);

    /* Binary-safe arguments and values: a NUL inside. */
    const char *argv[] = {"SET", "bin\0key", "a\0b"};
    size_t lens[] = {3, 7, 3};
    CHECK_OK(kevy_call(server, 3, argv, lens, &r));
    kevy_reply_free(r);
    CHECK_OK(kevy_call(server, 2, (const char *[]){"GET", "bin\0key"}, (size_t[]){3, 7}, &r));
    const char *p;
    size_t len;
    CHECK_OK(kevy_reply_string(r, &p, &len));
    CHECK(len == 3 && memcmp(p, "a\0b", 3) == 0);
    int64_t i = 42;
    CHECK_ST(kevy_reply_integer(r, &i), KEVY_ERR_TYPE);
    CHECK(i == 42);
    CHECK_ST(kevy_reply_len(r, &len), KEVY_ERR_TYPE);
    kevy_reply_free(r);

    /* A double, a map (flattened), a set, an array across shards. */
    kevy_reply_free(CALL(server, "ZADD", "z", "1.5", "a"));
    r = CALL(server, "ZSCORE", "z", "a");
    double d = 0;
    CHECK_OK(kevy_reply_double(r, &d));
    CHECK(d == 1.5);
    kevy_reply_free(r);
    kevy_reply_free(CALL(server, "HSET", "h", "f1", "x", "f2", "y"));
    r = CALL(server, "HGETALL", "h");
    CHECK(is_type(r, KEVY_REPLY_MAP));
    CHECK_OK(kevy_reply_len(r, &len));
    CHECK(len == 4);
    const kevy_reply *e = NULL;
    CHECK_OK(kevy_reply_element(r, 0, &e));
    CHECK(is_text(e, KEVY_REPLY_BULK, "f1") || is_text(e, KEVY_REPLY_BULK, "f2"));
    e = NULL;
    CHECK_ST(kevy_reply_element(r, 4, &e), KEVY_ERR_RANGE);
    CHECK(e == NULL);
    kevy_reply_free(r);
    kevy_reply_free(CALL(server, "SADD", "s", "m"));
    r = CALL(server, "SMEMBERS", "s");
    CHECK(is_type(r, KEVY_REPLY_SET));
    CHECK_OK(kevy_reply_element(r, 0, &e));
    CHECK(is_text(e, KEVY_REPLY_BULK, "m"));
    kevy_reply_free(r);
    EXPECT_TEXT(CALL(server, "MSET", "a", "1", "b", "2", "c", "3"), KEVY_REPLY_STATUS, "OK");
    r = CALL(server, "MGET", "a", "b", "nokey");
    CHECK(is_type(r, KEVY_REPLY_ARRAY));
    CHECK_OK(kevy_reply_element(r, 1, &e));
    CHECK(is_text(e, KEVY_REPLY_BULK, "2"));
    CHECK_OK(kevy_reply_element(r, 2, &e));
    CHECK(is_type(e, KEVY_REPLY_NIL));
    kevy_reply_free(r);
    /* A blocking command does not block a host thread. */
    EXPECT_NIL(CALL(server, "BLPOP", "nolist", "0"));

    /* Stopped: calls fail cleanly; stopping twice is fine. */
    CHECK_OK(kevy_server_stop(server));
    bool stopping = false;
    CHECK_OK(kevy_server_is_stopping(server, &stopping));
    CHECK(stopping);
    r = (kevy_reply *)0x1;
    CHECK_ST(kevy_call(server, 1, (const char *[]){"PING"}, NULL, &r), KEVY_ERR_STATE);
    CHECK(r == (kevy_reply *)0x1);
    uint16_t port;
    CHECK_ST(kevy_server_port(server, &port), KEVY_ERR_STATE);
    CHECK_ST(kevy_server_register_command(server, "t.late", 1, "", 0, 0, 0, cmd_echo, NULL, NULL), KEVY_ERR_STATE);
    CHECK_OK(kevy_server_stop(server));
    kevy_server_free(server);
}

static void test_custom_commands(void) {
    kevy_server *server = start_server("4");
    struct { const char *name; int arity; const char *flags; int first, last, step; kevy_command_fn fn; } cmds[] = {
        {"t.echo", -1, "readonly fast", 0, 0, 0, cmd_echo},
        {"t.error", 1, "", 0, 0, 0, cmd_error},
        {"t.coded", 1, "", 0, 0, 0, cmd_coded_error},
        {"t.silent", 1, "", 0, 0, 0, cmd_silent},
        {"t.half", 1, "", 0, 0, 0, cmd_half},
        {"t.twice", 1, "", 0, 0, 0, cmd_twice},
        {"t.all", 1, "readonly", 0, 0, 0, cmd_all},
        {"t.incrtwice", 2, "write deny-oom", 1, 1, 1, cmd_incr_twice},
        {"t.shard", -1, "readonly", 1, 1, 1, cmd_shard},
        {"t.getother", 3, "readonly", 1, 1, 1, cmd_get_other},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        CHECK_OK(kevy_server_register_command(server, cmds[i].name, cmds[i].arity, cmds[i].flags, cmds[i].first,
                                              cmds[i].last, cmds[i].step, cmds[i].fn, NULL, NULL));
    }
    CHECK_OK(kevy_server_register_command(server, "t.misuse", 1, "", 0, 0, 0, cmd_misuse, server, NULL));

    kevy_reply *r = CALL(server, "T.ECHO", "a", "bc");
    const kevy_reply *e;
    CHECK_OK(kevy_reply_element(r, 1, &e));
    CHECK(is_text(e, KEVY_REPLY_BULK, "bc"));
    kevy_reply_free(r);
    EXPECT_TEXT(CALL(server, "t.error"), KEVY_REPLY_ERROR, "ERR no such player");
    EXPECT_TEXT(CALL(server, "t.coded"), KEVY_REPLY_ERROR, "NOPERM not yours");
    EXPECT_TEXT(CALL(server, "t.silent"), KEVY_REPLY_ERROR, "ERR custom command returned no reply");
    EXPECT_TEXT(CALL(server, "t.half"), KEVY_REPLY_ERROR, "ERR custom command left its reply incomplete");
    EXPECT_INT(CALL(server, "t.twice"), 1);
    EXPECT_TEXT(CALL(server, "t.error", "extra"), KEVY_REPLY_ERROR,
                "ERR wrong number of arguments for 't.error' command");

    r = CALL(server, "t.all");
    size_t len = 0;
    CHECK(is_type(r, KEVY_REPLY_MAP));
    CHECK_OK(kevy_reply_len(r, &len));
    CHECK(len == 4);
    const kevy_reply *arr, *set, *x;
    CHECK_OK(kevy_reply_element(r, 1, &arr));
    CHECK_OK(kevy_reply_element(r, 3, &set));
    CHECK(is_type(arr, KEVY_REPLY_ARRAY) && is_type(set, KEVY_REPLY_SET));
    double d = 0;
    bool b = false;
    CHECK_OK(kevy_reply_element(arr, 0, &x));
    CHECK(is_int(x, 1));
    CHECK_OK(kevy_reply_element(arr, 1, &x));
    CHECK(kevy_reply_double(x, &d) == KEVY_OK && d == 1.5);
    CHECK_OK(kevy_reply_element(arr, 2, &x));
    CHECK(kevy_reply_bool(x, &b) == KEVY_OK && b);
    CHECK_OK(kevy_reply_element(arr, 3, &x));
    CHECK(is_text(x, KEVY_REPLY_STATUS, "OK"));
    CHECK_OK(kevy_reply_element(set, 1, &x));
    CHECK(is_type(x, KEVY_REPLY_NIL));
    kevy_reply_free(r);

    /* Keys on every shard: the callback runs on the key's shard. */
    int seen[4] = {0};
    char key[32], other_key[32] = "";
    for (int i = 0; i < 64; i++) {
        snprintf(key, sizeof key, "ctr%d", i);
        r = CALL(server, "T.SHARD", key);
        int64_t shard = -1;
        CHECK_OK(kevy_reply_integer(r, &shard));
        kevy_reply_free(r);
        if (shard >= 0 && shard < 4) seen[shard] = 1;
        if (shard == 1 && other_key[0] == '\0') snprintf(other_key, sizeof other_key, "%s", key);
        EXPECT_INT(CALL(server, "T.INCRTWICE", key), 2);
        EXPECT_INT(CALL(server, "T.INCRTWICE", key), 4);
    }
    CHECK(seen[0] && seen[1] && seen[2] && seen[3]);
    /* A key of another shard, not in the key spec: an error reply, not a deadlock. */
    for (int i = 0; i < 64; i++) {
        snprintf(key, sizeof key, "home%d", i);
        r = CALL(server, "T.SHARD", key);
        int64_t shard = -1;
        kevy_reply_integer(r, &shard);
        kevy_reply_free(r);
        if (shard != 1) break;
    }
    r = CALL(server, "T.GETOTHER", key, other_key);
    const char *msg = "";
    CHECK(is_type(r, KEVY_REPLY_ERROR) && kevy_reply_string(r, &msg, &len) == KEVY_OK &&
          strstr(msg, "does not hold") != NULL);
    kevy_reply_free(r);

    /* What a callback must not do, and a ctx kept past its callback. */
    EXPECT_TEXT(CALL(server, "T.MISUSE"), KEVY_REPLY_STATUS, "DONE");
    CHECK_ST(kevy_ctx_reply_integer(kept_ctx, 1), KEVY_ERR_STATE);
    CHECK_ST(kevy_ctx_argc(kept_ctx, &len), KEVY_ERR_STATE);

    /* Registration errors. */
    CHECK_ST(kevy_server_register_command(server, "get", 2, "", 1, 1, 1, cmd_echo, NULL, NULL), KEVY_ERR_ARG);
    CHECK(strstr(kevy_last_error(), "built-in") != NULL);
    CHECK_ST(kevy_server_register_command(server, "t.bad", 2, "write bogus", 1, 1, 1, cmd_echo, NULL, NULL),
             KEVY_ERR_ARG);
    CHECK(strstr(kevy_last_error(), "bogus") != NULL);
    CHECK_ST(kevy_server_register_command(server, "t.bad", 0, "", 0, 0, 0, cmd_echo, NULL, NULL), KEVY_ERR_ARG);
    CHECK_ST(kevy_server_register_command(server, "t bad", 1, "", 0, 0, 0, cmd_echo, NULL, NULL), KEVY_ERR_ARG);
    CHECK_ST(kevy_server_register_command(server, "t.bad", 2, "", 2, 1, 1, cmd_echo, NULL, NULL), KEVY_ERR_ARG);

    /* COMMAND lists custom commands with their flags. */
    r = CALL(server, "COMMAND", "INFO", "t.incrtwice");
    CHECK_OK(kevy_reply_element(r, 0, &e));
    CHECK(is_type(e, KEVY_REPLY_ARRAY));
    CHECK_OK(kevy_reply_element(e, 0, &x));
    CHECK(is_text(x, KEVY_REPLY_BULK, "t.incrtwice"));
    kevy_reply_free(r);

    /* Sockets: the callbacks run on shard threads. */
    uint16_t port = 0;
    CHECK_OK(kevy_server_port(server, &port));
    int fd = connect_to(port);
    CHECK(fd >= 0);
    CHECK(socket_roundtrip(fd, "*3\r\n$6\r\nt.echo\r\n$1\r\nx\r\n$2\r\nyz\r\n", "*2\r\n$1\r\nx\r\n$2\r\nyz\r\n"));
    CHECK(socket_roundtrip(fd, "T.ERROR\r\n", "-ERR no such player\r\n"));
    CHECK(socket_roundtrip(fd, "T.SILENT\r\n", "-ERR custom command returned no reply\r\n"));
    CHECK(socket_roundtrip(fd, "T.INCRTWICE sock\r\nGET sock\r\n", ":2\r\n$1\r\n2\r\n"));
    CHECK(socket_roundtrip(fd, "T.ALL\r\n", "*4\r\n$1\r\na\r\n*4\r\n:1\r\n$3\r\n1.5\r\n:1\r\n+OK\r\n$1\r\nb\r\n*2\r\n$1\r\nx\r\n$-1\r\n"));
    close(fd);
    kevy_server_free(server);
}

static void test_user_data_destructors(void) {
    counted first = {0}, second = {0}, refused = {0};
    kevy_server *server = start_server("2");
    CHECK_OK(kevy_server_register_command(server, "t.d", 1, "", 0, 0, 0, cmd_twice, &first, count_free));
    EXPECT_INT(CALL(server, "t.d"), 1);
    CHECK(atomic_load(&first.freed) == 0);
    /* Replacing a command destroys the old user data, once. */
    CHECK_OK(kevy_server_register_command(server, "T.D", -1, "", 0, 0, 0, cmd_echo, &second, count_free));
    CHECK(atomic_load(&first.freed) == 1);
    kevy_reply *r = CALL(server, "t.d", "z");
    CHECK(is_type(r, KEVY_REPLY_ARRAY));
    kevy_reply_free(r);
    /* A refused registration leaves the user data to the caller. */
    CHECK_ST(kevy_server_register_command(server, "set", -1, "", 1, 1, 1, cmd_echo, &refused, count_free),
             KEVY_ERR_ARG);
    CHECK(atomic_load(&refused.freed) == 0);
    CHECK(atomic_load(&second.freed) == 0);
    CHECK_OK(kevy_server_stop(server));
    CHECK(atomic_load(&second.freed) == 1);
    kevy_server_free(server);
    CHECK(atomic_load(&first.freed) == 1 && atomic_load(&second.freed) == 1 && atomic_load(&refused.freed) == 0);
}

#define THREADS 8
#define CALLS_PER_THREAD 1000

typedef struct {
    kevy_server *server;
    int id;
    int failures;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    char key[32];
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        kevy_reply *r = NULL;
        if (kevy_call(w->server, 2, (const char *[]){"INCR", "shared"}, NULL, &r) != KEVY_OK) w->failures++;
        kevy_reply_free(r);
        snprintf(key, sizeof key, "t%d:%d", w->id, i);
        if (kevy_call(w->server, 3, (const char *[]){"SET", key, "v"}, NULL, &r) != KEVY_OK) w->failures++;
        kevy_reply_free(r);
        if (kevy_call(w->server, 2, (const char *[]){"T.INCRTWICE", key + 1}, NULL, &r) != KEVY_OK ||
            !is_type(r, KEVY_REPLY_INTEGER))
            w->failures++;
        kevy_reply_free(r);
    }
    return NULL;
}

static void test_concurrent_calls(void) {
    kevy_server *server = start_server("4");
    CHECK_OK(kevy_server_register_command(server, "t.incrtwice", 2, "write", 1, 1, 1, cmd_incr_twice, NULL, NULL));
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){server, t, 0};
        CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        CHECK(workers[t].failures == 0);
    }
    char want[16];
    snprintf(want, sizeof want, "%d", THREADS * CALLS_PER_THREAD);
    EXPECT_TEXT(CALL(server, "GET", "shared"), KEVY_REPLY_BULK, want);
    /* shared, t<id>:<i> and the counters "<id>:<i>" of T.INCRTWICE. */
    EXPECT_INT(CALL(server, "DBSIZE"), 1 + 2 * THREADS * CALLS_PER_THREAD);
    EXPECT_TEXT(CALL(server, "GET", "0:999"), KEVY_REPLY_BULK, "2");
    kevy_server_free(server);
}

typedef struct {
    atomic_int lines;
    atomic_int warnings;
    atomic_int freed;
} log_state;

static void on_log(kevy_log_level level, const char *msg, size_t len, void *ud) {
    log_state *s = ud;
    atomic_fetch_add(&s->lines, 1);
    if (level == KEVY_LOG_WARNING && strlen(msg) == len && strstr(msg, "max query buffer length") != NULL) {
        atomic_fetch_add(&s->warnings, 1);
    }
}

static void free_log_state(void *ud) {
    atomic_fetch_add(&((log_state *)ud)->freed, 1);
}

static void test_log_handler(void) {
    log_state state = {0}, other = {0};
    CHECK_OK(kevy_set_log_handler(on_log, &state, free_log_state));
    kevy_config *cfg;
    kevy_server *server = NULL;
    CHECK_OK(kevy_config_new(&cfg));
    const char *text = "port 0\nshards 1\nclient-query-buffer-limit 1mb\n";
    CHECK_OK(kevy_config_load_text(cfg, text, strlen(text)));
    CHECK_OK(kevy_server_start(cfg, &server));
    kevy_config_free(cfg);
    uint16_t port = 0;
    CHECK_OK(kevy_server_port(server, &port));
    /* A request over the query buffer limit: kevy closes the client and logs it. */
    int fd = connect_to(port);
    CHECK(fd >= 0);
    const char *head = "*2\r\n$3\r\nSET\r\n$3000000\r\n";
    send(fd, head, strlen(head), MSG_NOSIGNAL);
    char *junk = calloc(1, 64 * 1024);
    for (int i = 0; i < 32 && atomic_load(&state.warnings) == 0; i++) {
        if (send(fd, junk, 64 * 1024, MSG_NOSIGNAL) < 0) break;
    }
    free(junk);
    for (int i = 0; i < 200 && atomic_load(&state.warnings) == 0; i++) usleep(10 * 1000);
    CHECK(atomic_load(&state.warnings) == 1);
    close(fd);
    /* Replacing the handler destroys the old one's user data, once. */
    CHECK_OK(kevy_set_log_handler(on_log, &other, free_log_state));
    CHECK(atomic_load(&state.freed) == 1);
    CHECK_OK(kevy_set_log_handler(NULL, NULL, NULL));
    CHECK(atomic_load(&other.freed) == 1 && atomic_load(&state.freed) == 1);
    kevy_server_free(server);
}

static void test_manual_clock(void) {
    kevy_config *cfg;
    kevy_server *server = NULL;
    CHECK_OK(kevy_config_new(&cfg));
    const char *text = "port 0\nshards 2\nclock manual\n";
    CHECK_OK(kevy_config_load_text(cfg, text, strlen(text)));
    CHECK_OK(kevy_server_start(cfg, &server));
    kevy_config_free(cfg);
    EXPECT_TEXT(CALL(server, "SET", "session", "s", "EX", "100"), KEVY_REPLY_STATUS, "OK");
    CHECK_OK(kevy_server_advance(server, 99 * 1000));
    EXPECT_INT(CALL(server, "TTL", "session"), 1);
    CHECK_OK(kevy_server_advance(server, 1000));
    EXPECT_NIL(CALL(server, "GET", "session"));
    kevy_server_free(server);

    server = start_server("1");
    CHECK_ST(kevy_server_advance(server, 1), KEVY_ERR_STATE);
    kevy_server_free(server);
}

/* Fault injection (errors, delays) and the absolute manual clock. */
static void test_faults_and_set_time(void) {
    kevy_server *server = start_server("2");
    EXPECT_TEXT(CALL(server, "SET", "k", "v"), KEVY_REPLY_STATUS, "OK");
    CHECK_OK(kevy_server_inject_error(server, "get", "boom", 2));
    EXPECT_TEXT(CALL(server, "GET", "k"), KEVY_REPLY_ERROR, "ERR boom");
    EXPECT_TEXT(CALL(server, "GET", "k"), KEVY_REPLY_ERROR, "ERR boom");
    EXPECT_TEXT(CALL(server, "GET", "k"), KEVY_REPLY_BULK, "v");
    CHECK_OK(kevy_server_inject_error(server, "SET", "READONLY no writes", -1));
    for (int i = 0; i < 3; i++) EXPECT_TEXT(CALL(server, "SET", "k", "w"), KEVY_REPLY_ERROR, "READONLY no writes");
    CHECK_OK(kevy_server_clear_faults(server));
    EXPECT_TEXT(CALL(server, "SET", "k", "w"), KEVY_REPLY_STATUS, "OK");
    CHECK_OK(kevy_server_delay(server, "ping", 1, 1));
    EXPECT_TEXT(CALL(server, "PING"), KEVY_REPLY_STATUS, "PONG");
    CHECK_ST(kevy_server_delay(server, "ping", 3600001, 1), KEVY_ERR_ARG);
    CHECK_ST(kevy_server_inject_error(server, NULL, "x", 1), KEVY_ERR_NULL);
    CHECK_ST(kevy_server_set_time(server, 1), KEVY_ERR_ARG);
    CHECK_ST(kevy_server_set_time(server, (uint64_t)1 << 62), KEVY_ERR_STATE);
    kevy_server_free(server);

    kevy_config *cfg;
    CHECK_OK(kevy_config_new(&cfg));
    const char *text = "port 0\nshards 1\nclock manual\n";
    CHECK_OK(kevy_config_load_text(cfg, text, strlen(text)));
    CHECK_OK(kevy_server_start(cfg, &server));
    kevy_config_free(cfg);
    EXPECT_TEXT(CALL(server, "SET", "at", "v", "PXAT", "4102444800000"), KEVY_REPLY_STATUS, "OK");
    CHECK_OK(kevy_server_set_time(server, 4102444799000)); /* 2100-01-01 minus a second */
    EXPECT_INT(CALL(server, "TTL", "at"), 1);
    CHECK_OK(kevy_server_set_time(server, 4102444800000));
    EXPECT_NIL(CALL(server, "GET", "at"));
    CHECK_ST(kevy_server_set_time(server, 4102444799999), KEVY_ERR_ARG);
    kevy_server_free(server);
}

/* kevy_call has no connection: the subscribe family is refused, PUBLISH works. */
static void test_subscribe_needs_a_connection(void) {
    kevy_server *server = start_server("2");
    EXPECT_TEXT(CALL(server, "SUBSCRIBE", "c"), KEVY_REPLY_ERROR,
                "ERR SUBSCRIBE needs a client connection (subscriptions are per connection)");
    EXPECT_TEXT(CALL(server, "psubscribe", "c*"), KEVY_REPLY_ERROR,
                "ERR PSUBSCRIBE needs a client connection (subscriptions are per connection)");
    EXPECT_INT(CALL(server, "PUBLISH", "c", "m"), 0);
    kevy_server_free(server);
}

/* ---- main ---- */

typedef struct {
    const char *name;
    void (*run)(void);
} test_case;

/* A second server on a port a running one holds is refused (no silent split of
 * clients between them): KEVY_ERR_IO, "Address already in use". */
static void test_port_already_held(void) {
    kevy_server *first = start_server("2");
    uint16_t port = 0;
    CHECK_OK(kevy_server_port(first, &port));
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    kevy_config *cfg = NULL;
    CHECK_OK(kevy_config_new(&cfg));
    CHECK_OK(kevy_config_set(cfg, "port", port_text));
    CHECK_OK(kevy_config_set(cfg, "shards", "2"));
    kevy_server *second = NULL;
    CHECK_ST(kevy_server_start(cfg, &second), KEVY_ERR_IO);
    CHECK(second == NULL);
    CHECK(strstr(kevy_last_error(), "Address already in use") != NULL);
    kevy_server_free(first);
    /* Free again once the first one is gone. */
    CHECK_OK(kevy_server_start(cfg, &second));
    kevy_server_free(second);
    kevy_config_free(cfg);
}

int main(void) {
    test_case tests[] = {
        {"version", test_version},
        {"null_arguments", test_null_arguments},
        {"config", test_config},
        {"start_stop_100_times", test_start_stop_100_times},
        {"calls_and_replies", test_calls_and_replies},
        {"custom_commands", test_custom_commands},
        {"user_data_destructors", test_user_data_destructors},
        {"concurrent_calls", test_concurrent_calls},
        {"log_handler", test_log_handler},
        {"manual_clock", test_manual_clock},
        {"faults_and_set_time", test_faults_and_set_time},
        {"subscribe_needs_a_connection", test_subscribe_needs_a_connection},
        {"port_already_held", test_port_already_held},
    };
    /* Servers read and write their data files in `dir` ("."): use a scratch one. */
    char scratch[] = "/tmp/kevy-c-tests-XXXXXX";
    if (mkdtemp(scratch) == NULL || chdir(scratch) != 0) {
        perror("scratch directory");
        return 1;
    }
    int passed = 0, failed = 0;
    const char *only = getenv("KEVY_TEST");
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (only != NULL && strcmp(only, tests[i].name) != 0) continue;
        int before = failed_checks;
        tests[i].run();
        int ok = failed_checks == before;
        printf("%s %s\n", ok ? "ok  " : "FAIL", tests[i].name);
        fflush(stdout);
        ok ? passed++ : failed++;
    }
    char rm[64];
    snprintf(rm, sizeof rm, "rm -rf '%s'", scratch);
    if (chdir("/") != 0 || system(rm) != 0) {
        fprintf(stderr, "could not remove %s\n", scratch);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
