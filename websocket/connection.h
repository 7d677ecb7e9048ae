// websocket/connection.h — what session.cpp (the echo endpoint and every session's framing)
// and chat.cpp (the chat room) share: a session's state and the calls that send on it. Internal
// to websocket/.
#pragma once

#include <cstddef>
#include <cstdint>

#include "executor/worker.h"
#include "net/socket.h"
#include "runtime/atomic.h"
#include "runtime/clock.h"
#include "runtime/io_registry.h"
#include "runtime/memory.h"
#include "sys/kernel.h"
#include "websocket/decoder.h"
#include "websocket/session.h"

namespace ws::detail {

extern Config settings;

inline std::int64_t now() { return rt::thread_clock().monotonic_ns; }

// Per-worker counters for GET /metrics (see http/metrics.h).
struct alignas(64) WsStats {
    rt::Counter opened, closed, messages_in, messages_out, chat_joined, chat_left;
};
extern WsStats stats_of[ex::kMaxWorkers];
inline WsStats& stats() { return stats_of[ex::this_worker().index]; }

// A growable byte buffer from the worker heap; `data` is null while empty.
struct Buffer {
    std::uint8_t* data = nullptr;
    std::size_t size = 0, capacity = 0;

    bool reserve(std::size_t want) {
        if (want <= capacity) return true;
        std::size_t cap = capacity ? capacity : 256;
        while (cap < want) cap *= 2;
        auto* grown = static_cast<std::uint8_t*>(rt::mem_alloc(cap));
        if (!grown) return false;
        if (size) __builtin_memcpy(grown, data, size);
        rt::mem_free(data);
        data = grown, capacity = cap;
        return true;
    }
    bool append(const std::uint8_t* p, std::size_t n) {
        if (!reserve(size + n)) return false;
        if (n) __builtin_memcpy(data + size, p, n);
        size += n;
        return true;
    }
    void release() {
        rt::mem_free(data);
        *this = {};
    }
};

struct ChatMember;  // chat.cpp

struct Session {
    Session(int f, const sys::sockaddr_any& p, std::uint64_t max_message) : fd(f), peer(p), decoder(max_message) {}

    int fd;
    sys::sockaddr_any peer;
    Decoder decoder;
    ChatMember* chat = nullptr;    // set for a member of the chat room
    rt::Waiter* parked = nullptr;  // the session's wait, while it waits
    Buffer message;                // a message that arrived in more than one piece
    Buffer backlog;                // bytes of frames the socket has not taken yet
    std::size_t backlog_sent = 0;  // of backlog.size, already written
    std::int64_t heard_ns = now(); // the last time the peer sent anything
    std::int64_t ping_sent_ns = 0; // our unanswered ping, or 0
    std::int64_t progress_ns = 0;  // the last time the backlog shrank (or began)
    std::uint64_t acked = 0;       // bytes the peer had acknowledged when the ping clock last ran out
    std::uint64_t messages_in = 0, messages_out = 0;
    std::uint16_t close_code = 1006;  // "abnormal": the TCP connection ended without a close frame
    bool done = false;                // no more frames are read
    bool close_sent = false;          // our close frame is sent or queued
    bool linger = false;              // after it, wait for the peer to close first
};

// Ends the session with `code`. Returns false, so callers can `return end(s, code)`.
inline bool end(Session& s, std::uint16_t code) {
    s.close_code = code;
    s.done = true;
    return false;
}

// session.cpp
bool flush(Session& s);  // writes what the socket takes of the backlog, then of the chat queue
bool send_frame(Session& s, std::uint8_t opcode, const std::uint8_t* payload, std::size_t len,
                std::uint8_t* front = nullptr);  // front: see session.cpp
bool send_close(Session& s, std::uint16_t code, bool linger = true);

// chat.cpp
bool join_chat(Session& s);   // false when out of memory
void leave_chat(Session& s);
bool publish(const std::uint8_t* text, std::size_t size);  // to every member; false: no memory
bool flush_chat(Session& s);  // after the backlog: the queued chat frames
void drop_chat_queue(Session& s);
bool sending(const Session& s);  // anything left to send, backlog or chat queue

}  // namespace ws::detail
