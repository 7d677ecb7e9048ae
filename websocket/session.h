// websocket/session.h — the WebSocket endpoint: the opening handshake (RFC 6455 §4.2) on top of
// an HTTP connection, then an echo session: every text or binary message comes back with its
// type, pings get pongs, a close gets a close.
#pragma once

#include <cstddef>
#include <cstdint>

#include "executor/task.h"
#include "http/server.h"

namespace ws {

inline constexpr std::uint64_t kMaxMessageBytes = 16 * 1024 * 1024;  // larger: close 1009
inline constexpr std::int64_t kIdleTimeoutNs = 600 * http::kSecond;   // silent this long: dropped

// An http::UpgradeHandler for the WebSocket path.
ex::Task<int> upgrade(http::Connection& conn, const http::Request& req, std::size_t head_bytes);

}  // namespace ws
