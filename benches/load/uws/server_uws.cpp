// uWebSockets as a contender of the load driver: the same command line and READY line as
// the Rust servers (`server_<name> --addr 127.0.0.1:PORT [--broadcast]`), so the driver
// starts it like any other. Built by build.sh against pinned uWebSockets + uSockets
// sources, plain sockets (LIBUS_NO_SSL), no zlib (no permessage-deflate: `--deflate` is
// refused, as the Rust servers without compression do).
//
// Echo: every text and binary message is sent back with its opcode (uWS's EchoServer
// example). `--broadcast`: /pub's messages go to every /sub connection (the driver's
// broadcast cases); a connection on "/" both subscribes and publishes, which is what
// uWebSockets' own benchmarks/broadcast_test.c expects (every client's message reaches
// every client, itself included).
#include "App.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <csignal>
#include <string>
#include <sys/prctl.h>

namespace {

const char *USAGE = "usage: server_uws --addr 127.0.0.1:PORT [--broadcast]\n";
const char *TOPIC = "subscribers";
// The Rust servers' limit (server::MAX_MESSAGE_SIZE).
const unsigned MAX_MESSAGE = 64u << 20;

enum class Role { Echo, Publisher, Subscriber, Both };

struct PerSocket {
    Role role;
};

Role role_of(std::string_view path, bool broadcast, bool *ok) {
    *ok = true;
    if (!broadcast) return Role::Echo;
    if (path == "/pub") return Role::Publisher;
    if (path == "/sub") return Role::Subscriber;
    if (path == "/") return Role::Both;
    *ok = false;
    return Role::Echo;
}

} // namespace

int main(int argc, char **argv) {
    std::string host;
    int port = -1;
    bool broadcast = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--addr") && i + 1 < argc) {
            std::string addr = argv[++i];
            size_t colon = addr.rfind(':');
            if (colon == std::string::npos) break;
            host = addr.substr(0, colon);
            port = atoi(addr.c_str() + colon + 1);
        } else if (!strcmp(argv[i], "--broadcast")) {
            broadcast = true;
        } else if (!strcmp(argv[i], "--deflate")) {
            fprintf(stderr, "server_uws: built without zlib: no permessage-deflate\n");
            return 2;
        } else {
            fputs(USAGE, stderr);
            return 2;
        }
    }
    if (port < 0 || (host != "127.0.0.1" && host != "localhost")) {
        fputs(USAGE, stderr);
        return 2;
    }
    // The driver sets this so a killed driver leaves no server behind (the Rust servers
    // poll their parent; the kernel does it here).
    if (getenv("ROPEWAY_BENCH_EXIT_WITH_PARENT")) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    }

    uWS::App app;
    uWS::App *appp = &app;
    app.ws<PerSocket>("/*", {
        .compression = uWS::DISABLED,
        .maxPayloadLength = MAX_MESSAGE,
        // 0: no idle timeout, and no pings, as the other contenders (keep-alive off).
        .idleTimeout = 0,
        .maxBackpressure = MAX_MESSAGE,
        .closeOnBackpressureLimit = false,
        .resetIdleTimeoutOnSend = false,
        .sendPingsAutomatically = false,
        .upgrade = [broadcast](auto *res, auto *req, auto *context) {
            bool ok;
            Role role = role_of(req->getUrl(), broadcast, &ok);
            if (!ok) {
                res->writeStatus("404 Not Found")->end();
                return;
            }
            res->template upgrade<PerSocket>({role},
                req->getHeader("sec-websocket-key"),
                req->getHeader("sec-websocket-protocol"),
                req->getHeader("sec-websocket-extensions"),
                context);
        },
        .open = [](auto *ws) {
            Role role = ws->getUserData()->role;
            if (role == Role::Subscriber || role == Role::Both) ws->subscribe(TOPIC);
        },
        .message = [appp](auto *ws, std::string_view message, uWS::OpCode op) {
            switch (ws->getUserData()->role) {
            case Role::Echo:
                ws->send(message, op, false);
                break;
            case Role::Publisher:
            case Role::Both:
                // The app's publish reaches every subscriber, the sender included.
                appp->publish(TOPIC, message, op, false);
                break;
            case Role::Subscriber:
                break;
            }
        },
    }).listen(host, port, [](auto *listen_socket) {
        if (!listen_socket) {
            fprintf(stderr, "server_uws: cannot listen\n");
            exit(1);
        }
        int p = us_socket_local_port(0, (struct us_socket_t *) listen_socket);
        printf("READY 127.0.0.1:%d\n", p);
        fflush(stdout);
    });
    app.run();
    return 0;
}
