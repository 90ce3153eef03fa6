// cpp_header.cpp: kevy.h used from C++ (extern "C" guards, no C-only constructs),
// compiled with -Wall -Wextra -Werror -pedantic, linked and run by tests/c/run.sh.
#include <kevy.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace {

struct ServerFree {
    void operator()(kevy_server *s) const { kevy_server_free(s); }
};
struct ReplyFree {
    void operator()(kevy_reply *r) const { kevy_reply_free(r); }
};
using Server = std::unique_ptr<kevy_server, ServerFree>;
using Reply = std::unique_ptr<kevy_reply, ReplyFree>;

Reply call(kevy_server *s, std::initializer_list<std::string> args) {
    const char *argv[8];
    size_t lens[8];
    size_t n = 0;
    for (const std::string &a : args) {
        argv[n] = a.data();
        lens[n++] = a.size();
    }
    kevy_reply *r = nullptr;
    return Reply(kevy_call(s, n, argv, lens, &r) == KEVY_OK ? r : nullptr);
}

extern "C" void greet(kevy_ctx *ctx, void *user_data) {
    const std::string *greeting = static_cast<const std::string *>(user_data);
    kevy_ctx_reply_bulk(ctx, greeting->data(), greeting->size());
}

extern "C" void free_greeting(void *user_data) {
    delete static_cast<std::string *>(user_data);
}

}  // namespace

int main() {
    if (std::strcmp(kevy_version(), KEVY_VERSION_STRING) != 0) return 1;
    kevy_config *cfg = nullptr;
    if (kevy_config_new(&cfg) != KEVY_OK) return 1;
    kevy_config_set(cfg, "port", "0");
    kevy_config_set(cfg, "shards", "1");
    kevy_server *raw = nullptr;
    kevy_status st = kevy_server_start(cfg, &raw);
    kevy_config_free(cfg);
    if (st != KEVY_OK) {
        std::fprintf(stderr, "start: %s\n", kevy_last_error());
        return 1;
    }
    Server server(raw);
    st = kevy_server_register_command(server.get(), "cpp.greet", 1, "readonly", 0, 0, 0, greet,
                                      new std::string("hello from C++"), free_greeting);
    if (st != KEVY_OK) return 1;
    Reply r = call(server.get(), {"cpp.greet"});
    const char *text = nullptr;
    size_t len = 0;
    if (!r || kevy_reply_string(r.get(), &text, &len) != KEVY_OK) return 1;
    std::printf("%.*s\n", static_cast<int>(len), text);
    return std::string(text, len) == "hello from C++" ? 0 : 1;
}
