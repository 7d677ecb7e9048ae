// http/server.h — an HTTP/1.1 connection: read a request head, answer it (static files from the
// document root, or an upgrade handed to another protocol), repeat while the connection is kept
// alive. Pipelined requests are answered in order from the same buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "executor/task.h"
#include "http/request_parser.h"
#include "sys/kernel.h"

namespace http {

inline constexpr std::int64_t kSecond = 1'000'000'000;
inline constexpr std::int64_t kKeepAliveTimeoutNs = 60 * kSecond;  // idle between requests
inline constexpr std::int64_t kHeaderTimeoutNs = 10 * kSecond;     // a whole head, not per byte
inline constexpr std::int64_t kSendTimeoutNs = 60 * kSecond;       // a client that stops reading
inline constexpr std::int64_t kBodyTimeoutNs = 60 * kSecond;       // a whole request body
// A full head plus room to read the body that follows it.
inline constexpr std::size_t kReadBufferBytes = kMaxHeadBytes + 4096;

struct Connection {
    int fd;
    sys::sockaddr_any peer;
    char* buf;        // kReadBufferBytes; bytes [0, len) are received and not yet consumed
    std::size_t len;
};

// Takes over a connection whose request asked for an upgrade on the configured path. It must
// answer the request itself (101, or an error via send_simple) and may use the bytes after
// `head_bytes` in conn.buf. The connection is closed when it returns.
using UpgradeHandler = ex::Task<int> (*)(Connection& conn, const Request& req, std::size_t head_bytes);

struct Config {
    int root_fd = -1;                 // the document root, opened O_PATH | O_DIRECTORY
    std::string_view upgrade_path;    // e.g. "/ws"
    UpgradeHandler upgrade = nullptr;
};

// Set once before the workers start; read-only afterwards.
void configure(const Config& config);

// The worker's connection handler: starts a connection task.
void on_connection(int fd, const sys::sockaddr_any& peer);

// Sends a response with no file body: the status line, Server, Date, `extra_headers` (each line
// ending in CRLF), then Content-Length and `body` unless the status has no body or `head_only`.
// Logs the access line. Returns bytes sent or -errno.
ex::Task<long> send_simple(Connection& conn, const Request* req, int status, std::string_view extra_headers,
                           std::string_view body, bool close, bool head_only = false);

}  // namespace http
