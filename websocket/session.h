// websocket/session.h — the WebSocket endpoint: the opening handshake (RFC 6455 §4.2) on top of
// an HTTP connection, then a session: on kEchoPath every text or binary message comes back with
// its type; on kChatPath every text message goes to every member of the chat room (see
// chat.cpp). Pings get pongs, a close gets a close.
//
// Limits and liveness (README "WebSocket"):
//  - a message announced above `max_message` bytes fails with 1009 before it is buffered;
//  - a connection silent for `ping_interval_ns` is pinged; silent for another interval, it is
//    closed with 1001. A client still taking bytes we sent it is not silent;
//  - backpressure: echoes the socket cannot take at once wait in a per-connection backlog. When
//    a reply must be queued while the backlog already holds more than `max_backlog` bytes, the
//    client is not reading: it is dropped with close code 1008. A backlog that takes no bytes for
//    the HTTP send timeout ends the same way. So a client costs at most the backlog limit plus
//    one message.
#pragma once

#include <cstddef>
#include <cstdint>

#include "executor/task.h"
#include "http/server.h"

namespace ws {

inline constexpr std::uint64_t kDefaultMaxMessageBytes = 16 * 1024 * 1024;
inline constexpr int kDefaultPingIntervalS = 30;
inline constexpr std::uint64_t kDefaultMaxBacklogBytes = 1024 * 1024;

struct Config {
    std::uint64_t max_message = kDefaultMaxMessageBytes;
    std::int64_t ping_interval_ns = kDefaultPingIntervalS * http::kSecond;
    std::uint64_t max_backlog = kDefaultMaxBacklogBytes;
};

inline constexpr std::string_view kEchoPath = "/ws", kChatPath = "/chat";
// The largest message the chat room takes (then 1009): a chat line, not a file.
inline constexpr std::uint64_t kChatMaxMessageBytes = 64 * 1024;

// Set once before the workers start.
void configure(const Config& config);

// The WebSocket families of GET /metrics (an http::MetricsWriter).
void write_metrics(rt::Writer& w);

// An http::UpgradeHandler for the WebSocket path.
ex::Task<int> upgrade(http::Connection& conn, const http::Request& req, std::size_t request_bytes);

}  // namespace ws
