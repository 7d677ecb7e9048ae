// http/server.h — an HTTP/1.1 connection: read a request head, answer it (static files from the
// document root, or an upgrade handed to another protocol), repeat while the connection is kept
// alive. Pipelined requests are answered in order from the same buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "executor/task.h"
#include "http/metrics.h"
#include "http/request_parser.h"
#include "sys/kernel.h"

namespace http {

inline constexpr std::int64_t kSecond = 1'000'000'000;
// A full head plus room to read the body that follows it.
inline constexpr std::size_t kReadBufferBytes = kMaxHeadBytes + 4096;

struct Connection {
    int fd;
    sys::sockaddr_any peer;
    char* buf;        // kReadBufferBytes; bytes [0, len) are received and not yet consumed
    std::size_t len;
    Request* request; // where the current request head is parsed into
    bool linger = false;  // see send_response: read what the client still sends, then close
    bool answering = false;  // the current request's answer may have begun to go out
};

// Closes a connection that an upgrade handler took over, and counts it as closed.
void close_connection(int fd);

// Takes over a connection whose request was for one of the configured upgrade paths. It must
// answer the request itself (101, or an error via send_response) and may use the bytes after
// `request_bytes` (its head and any body) in conn.buf until it returns. It returns 1 when it has taken the socket over (and
// will call close_connection), else 0, and then the connection is closed.
using UpgradeHandler = ex::Task<int> (*)(Connection& conn, const Request& req, std::size_t request_bytes);

// The defaults of the limits below, which the command line can change.
inline constexpr int kDefaultHeaderTimeoutS = 10;     // a whole request head, not renewed per byte
inline constexpr int kDefaultBodyTimeoutS = 60;       // a whole request body, likewise
inline constexpr int kDefaultKeepAliveTimeoutS = 60;  // idle between requests
inline constexpr int kDefaultSendTimeoutS = 60;       // a client that stops reading a response
inline constexpr int kDefaultMaxConnections = 10000;  // beyond: 503 and close
inline constexpr int kDefaultLingerTimeoutS = 5;      // reading what follows a closing error or file

struct Config {
    int root_fd = -1;                 // the document root, opened O_PATH | O_DIRECTORY
    std::string_view upgrade_paths[2];  // e.g. "/ws", "/chat": requests handed to `upgrade`
    UpgradeHandler upgrade = nullptr;
    MetricsWriter metrics = nullptr;    // the upgraded protocols' families for GET /metrics
    std::int64_t header_timeout_ns = kDefaultHeaderTimeoutS * kSecond;
    std::int64_t body_timeout_ns = kDefaultBodyTimeoutS * kSecond;
    std::int64_t keep_alive_timeout_ns = kDefaultKeepAliveTimeoutS * kSecond;
    std::int64_t send_timeout_ns = kDefaultSendTimeoutS * kSecond;
    std::int64_t linger_ns = kDefaultLingerTimeoutS * kSecond;  // 0: close at once
    int max_connections = kDefaultMaxConnections;  // open at once, over all workers
    bool access_log = true;
};

// Set once before the workers start; read-only afterwards.
void configure(const Config& config);
const Config& config();

// The worker's connection handler: starts a connection task.
void on_connection(int fd, const sys::sockaddr_any& peer);

// The part of a file a response sends.
struct FileBody {
    int fd = -1;
    const char* bytes = nullptr;  // the file's contents when in memory: sent from here instead
    std::uint64_t first = 0, length = 0;
};

// Sends a response: the status line, Server, Date, `extra_headers` (each line ending in CRLF),
// Content-Length, then `body` or the bytes of `file` (with sendfile), unless the status has no
// body or `head_only`. An error status (4xx, 5xx) without a body gets a short HTML page.
// Logs the access line. Returns bytes sent or -errno. With `close`, sets conn.linger for an
// error or a body sent with sendfile: the connection is then closed with a lingering close.
ex::Task<long> send_response(Connection& conn, const Request* req, int status, std::string_view extra_headers,
                             std::string_view body, bool close, bool head_only = false, FileBody file = {});

}  // namespace http
