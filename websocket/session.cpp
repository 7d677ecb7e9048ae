// websocket/session.cpp — see session.h.
//
// One coroutine per connection drives everything: it receives whatever the socket has, lets the
// decoder (websocket/decoder.h) turn it into events, and answers them with non-blocking sends.
// It waits only when the socket has nothing to read, and then holds no read buffer, so an idle
// WebSocket costs its coroutine frames and nothing else.
#include "websocket/session.h"

#include "executor/worker.h"
#include "http/path.h"
#include "net/socket.h"
#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/memory.h"
#include "sys/syscall.h"
#include "websocket/base64.h"
#include "websocket/decoder.h"
#include "websocket/frame.h"

namespace ws {
namespace {

using http::Connection;

Config settings;

constexpr std::size_t kReadBytes = 16 * 1024;         // the read buffer, held only while busy
constexpr std::size_t kDirectReadMin = 4 * 1024;      // payload this large is received in place
constexpr int kReadsBeforeYield = 16;                 // then let the worker's other tasks run
constexpr std::int64_t kLingerNs = 2 * http::kSecond; // after our close: wait for the peer's EOF

// Per-worker counters for GET /metrics (see http/metrics.h).
struct alignas(64) WsStats {
    rt::Counter opened, closed, messages_in, messages_out, chat_joined, chat_left;
};
WsStats stats_of[ex::kMaxWorkers];
WsStats& stats() { return stats_of[ex::this_worker().index]; }

std::int64_t now() { return rt::thread_clock().monotonic_ns; }

// RFC 6455 §4.2.1: what makes a request a valid opening handshake. Returns 0 if it is, else the
// HTTP status to refuse it with (400, or 426 for a version we do not speak).
int check_handshake(const http::Request& req) {
    if (req.method != "GET" || req.version_minor < 1 || !req.header("Host").data()) return 400;
    if (!http::list_has_token(req.header("Upgrade"), "websocket")) return 400;
    if (!http::list_has_token(req.header("Connection"), "upgrade")) return 400;
    const std::string_view key = req.header("Sec-WebSocket-Key");
    unsigned char nonce[18];
    if (key.size() != 24 || base64_decode(key, nonce) != 16) return 400;
    if (req.header("Sec-WebSocket-Version") != "13") return 426;
    return 0;
}

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

struct ChatMember;

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
    std::int64_t progress_ns = 0;  // the last time the backlog shrank
    std::uint64_t messages_in = 0, messages_out = 0;
    std::uint16_t close_code = 1006;  // "abnormal": the TCP connection ended without a close frame
    bool done = false;                // no more frames are read
    bool close_sent = false;          // our close frame is sent or queued
    bool linger = false;              // after it, wait for the peer to close first
};

// Ends the session with `code`. Returns false, so callers can `return end(s, code)`.
bool end(Session& s, std::uint16_t code) {
    s.close_code = code;
    s.done = true;
    return false;
}

bool flush_chat(Session& s);
void drop_chat_queue(Session& s);

// Writes as much of the backlog (then of the chat queue) as the socket takes. False on a broken
// connection.
bool flush(Session& s) {
    while (s.backlog_sent < s.backlog.size) {
        const long n = sys::send(s.fd, s.backlog.data + s.backlog_sent, s.backlog.size - s.backlog_sent,
                                 sys::MSG_DONTWAIT | sys::MSG_NOSIGNAL);
        if (n == -sys::EAGAIN) return true;
        if (n < 0 && n != -sys::EINTR) return end(s, s.close_code);
        if (n > 0) s.backlog_sent += static_cast<std::size_t>(n), s.progress_ns = now();
    }
    s.backlog.release();  // an idle connection keeps no send buffer either
    s.backlog_sent = 0;
    return !s.chat || flush_chat(s);
}

// Sends one unfragmented frame without waiting: straight to the socket when nothing is queued
// before it, the rest (or all of it) into the backlog. False when the session must end.
bool send_frame(Session& s, std::uint8_t opcode, const std::uint8_t* payload, std::size_t len) {
    std::uint8_t header[kMaxFrameHeader];
    const std::size_t header_len = encode_frame_header(header, true, opcode, len);
    std::size_t sent = 0;
    if (s.backlog.size == 0) {
        sys::iovec iov[2] = {{header, header_len}, {payload, len}};
        sys::msghdr msg{};
        msg.iov = iov;
        msg.iovlen = len ? 2 : 1;
        const long n = sys::sendmsg(s.fd, &msg, sys::MSG_DONTWAIT | sys::MSG_NOSIGNAL);
        if (n == static_cast<long>(header_len + len)) return true;
        if (n < 0 && n != -sys::EAGAIN && n != -sys::EINTR) return end(s, s.close_code);
        if (n > 0) sent = static_cast<std::size_t>(n);
        s.progress_ns = now();  // the stall clock starts when the backlog does
    } else if (s.backlog.size - s.backlog_sent > settings.max_backlog) {
        return end(s, 1008);  // the client is not reading what it asks for
    }
    const std::size_t header_sent = sent < header_len ? sent : header_len;
    const std::size_t payload_sent = sent - header_sent;
    if (!s.backlog.append(header + header_sent, header_len - header_sent) ||
        !s.backlog.append(payload + payload_sent, len - payload_sent))
        return end(s, 1011);
    return true;
}

// Queues our close frame with `code`; the session ends once it is out (and, with `linger`, once the
// peer has closed too or had time to).
bool send_close(Session& s, std::uint16_t code, bool linger = true) {
    const std::uint8_t payload[2] = {static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
    drop_chat_queue(s);  // nothing may follow the close frame
    s.close_sent = true;
    s.linger = linger;
    send_frame(s, kClose, payload, 2);
    return end(s, code);
}

// ---------------------------------------------------------------------------------------------
// The chat room (GET /chat): a text message from any member goes to every member, on every
// worker. The sender's worker builds the server frame once, in a ChatMessage that carries one
// inbox task per worker; each worker hands the same bytes to its own members, and the last
// reference frees them. Messages from one sender reach each worker's inbox in the order sent,
// and each member's queue is first in, first out, so every member sees them in that order.
//
// A member that cannot keep up: frames its socket does not take wait in its queue as references
// to the shared message (only the unsent rest of a frame the socket took part of is copied, at
// most one frame of kChatMaxMessageBytes). When a message arrives while the queue already holds
// more than --ws-max-backlog bytes, the member is dropped (1008), like an echo client that does
// not read; the others never wait for it.

struct ChatMessage;
struct ChatLink : rt::InboxTask {  // the message's way into one worker's inbox
    ChatMessage* message;
};
struct ChatMessage {
    rt::Atomic<int> refs;
    std::uint32_t size;     // of the frame
    std::uint8_t* frame;    // header and payload, after the links
    ChatLink* links() { return reinterpret_cast<ChatLink*>(this + 1); }
};

void unref(ChatMessage* m) {
    if (m->refs.fetch_add(-1, rt::acq_rel) == 1) rt::mem_free(m);
}

struct ChatMember {
    Session* session;
    ChatMember* prev;
    ChatMember* next;
    ChatMessage** queue;  // a ring of `capacity`; `count` from `head`
    std::uint32_t head, count, capacity;
    std::uint64_t queued;  // bytes
};

thread_local ChatMember* members;  // this worker's

// Wakes a session that waits for input only, so that it waits for room in the socket too.
void wake(Session& s) {
    if (!s.parked || !ex::this_worker().io.disarm(s.parked)) return;
    s.parked->result = 0;
    ex::this_worker().schedule(s.parked);
    s.parked = nullptr;
}

// Sends the queue's frames while the socket takes them whole; the rest of one taken in part
// moves to the backlog. False on a broken connection.
bool flush_chat(Session& s) {
    ChatMember& c = *s.chat;
    while (c.count && s.backlog.size == 0) {
        ChatMessage* m = c.queue[c.head];
        const long n = sys::send(s.fd, m->frame, m->size, sys::MSG_DONTWAIT | sys::MSG_NOSIGNAL);
        if (n == -sys::EAGAIN) return true;
        if (n < 0 && n != -sys::EINTR) return end(s, s.close_code);
        if (n < 0) continue;
        if (n < static_cast<long>(m->size) && !s.backlog.append(m->frame + n, m->size - static_cast<std::size_t>(n)))
            return end(s, 1011);
        s.progress_ns = now();
        c.head = c.head + 1 == c.capacity ? 0 : c.head + 1;
        --c.count;
        c.queued -= m->size;
        unref(m);
        ++s.messages_out;
        stats().messages_out.add();
    }
    return true;
}

// One message for one member of this worker.
void offer(Session& s, ChatMessage* m) {
    if (s.done) return;
    ChatMember& c = *s.chat;
    if (s.backlog.size == 0 && c.count == 0) {  // nothing before it: straight to the socket
        long n = sys::send(s.fd, m->frame, m->size, sys::MSG_DONTWAIT | sys::MSG_NOSIGNAL);
        if (n == -sys::EAGAIN || n == -sys::EINTR) n = 0;
        if (n < 0) return end(s, s.close_code), wake(s);
        ++s.messages_out;
        stats().messages_out.add();
        if (n == static_cast<long>(m->size)) return;
        if (!s.backlog.append(m->frame + n, m->size - static_cast<std::size_t>(n))) return end(s, 1011), wake(s);
        s.progress_ns = now();
        return wake(s);  // it must now wait for room in the socket too
    }
    if (c.queued > settings.max_backlog) return end(s, 1008), wake(s);  // it does not keep up
    if (c.count == c.capacity) {
        const std::uint32_t capacity = c.capacity ? c.capacity * 2 : 16;
        auto* grown = static_cast<ChatMessage**>(rt::mem_alloc(capacity * sizeof(ChatMessage*)));
        if (!grown) return end(s, 1011), wake(s);
        for (std::uint32_t i = 0; i < c.count; ++i) grown[i] = c.queue[(c.head + i) % c.capacity];
        rt::mem_free(c.queue);
        c.queue = grown, c.head = 0, c.capacity = capacity;
    }
    m->refs.fetch_add(1, rt::relaxed);
    c.queue[(c.head + c.count) % c.capacity] = m;
    ++c.count;
    c.queued += m->size;
}

// Runs on each worker for each message: hands it to the worker's members.
void deliver(rt::InboxTask* task) {
    ChatMessage* m = static_cast<ChatLink*>(task)->message;
    for (ChatMember* c = members; c; c = c->next) offer(*c->session, m);
    unref(m);
}

// A member's text message, to every member on every worker. False when out of memory.
bool publish(const std::uint8_t* text, std::size_t size) {
    int workers;
    ex::Worker* all = ex::workers(workers);
    std::uint8_t header[kMaxFrameHeader];
    const std::size_t header_len = encode_frame_header(header, true, kText, size);
    const std::size_t links = static_cast<std::size_t>(workers) * sizeof(ChatLink);
    auto* m = static_cast<ChatMessage*>(rt::mem_alloc(sizeof(ChatMessage) + links + header_len + size));
    if (!m) return false;
    m->refs.store(workers, rt::relaxed);
    m->size = static_cast<std::uint32_t>(header_len + size);
    m->frame = reinterpret_cast<std::uint8_t*>(m->links()) + links;
    __builtin_memcpy(m->frame, header, header_len);
    if (size) __builtin_memcpy(m->frame + header_len, text, size);
    for (int i = 0; i < workers; ++i) {
        ChatLink& link = m->links()[i];
        link.run = deliver;
        link.message = m;
        all[i].inbox.post(&link);
    }
    return true;
}

bool join_chat(Session& s) {
    auto* c = static_cast<ChatMember*>(rt::mem_alloc(sizeof(ChatMember)));
    if (!c) return false;
    *c = {&s, nullptr, members, nullptr, 0, 0, 0, 0};
    if (members) members->prev = c;
    members = c;
    s.chat = c;
    stats().chat_joined.add();
    return true;
}

void drop_chat_queue(Session& s) {
    ChatMember* c = s.chat;
    if (!c) return;
    for (std::uint32_t i = 0; i < c->count; ++i) unref(c->queue[(c->head + i) % c->capacity]);
    c->count = 0;
    c->queued = 0;
}

void leave_chat(Session& s) {
    ChatMember* c = s.chat;
    if (!c) return;
    (c->prev ? c->prev->next : members) = c->next;
    if (c->next) c->next->prev = c->prev;
    drop_chat_queue(s);
    rt::mem_free(c->queue);
    rt::mem_free(c);
    s.chat = nullptr;
    stats().chat_left.add();
}

// What the session still has to send.
bool sending(const Session& s) { return s.backlog.size || (s.chat && s.chat->count); }

// Hands received bytes to the decoder and answers its events. False when the session ends.
bool process(Session& s, std::uint8_t* p, std::size_t n) {
    for (std::size_t pos = 0;;) {
        std::size_t used;
        const Event e = s.decoder.next(p + pos, n - pos, used);
        pos += used;
        switch (e.kind) {
        case Event::need_more:
            return true;
        case Event::fail:
            return send_close(s, e.close_code);
        case Event::control:
            if (e.opcode == kClose) return send_close(s, e.close_code);
            if (e.opcode == kPing && !send_frame(s, kPong, e.bytes, e.size)) return false;
            continue;  // a pong needs no answer; hearing it already reset the ping clock
        case Event::data:
            break;
        }
        // A message that arrived whole is echoed from where it lies; pieces are gathered first
        // (unless they were received in place, at the end of the message buffer).
        const bool whole = e.last && s.message.size == 0;
        if (!whole) {
            if (e.bytes == s.message.data + s.message.size) s.message.size += e.size;
            else if (!s.message.append(e.bytes, e.size)) return send_close(s, 1011);
        }
        if (!e.last) continue;
        ++s.messages_in;
        stats().messages_in.add();
        const std::uint8_t* bytes = whole ? e.bytes : s.message.data;
        const std::size_t size = whole ? e.size : s.message.size;
        if (s.chat) {  // the room takes text only
            if (e.opcode != kText) return send_close(s, 1003);
            if (!publish(bytes, size)) return send_close(s, 1011);
        } else {
            if (!send_frame(s, e.opcode, bytes, size)) return false;
            ++s.messages_out;
            stats().messages_out.add();
        }
        s.message.size = 0;
        if (s.message.capacity > 64 * 1024) s.message.release();  // keep only a small one
    }
}

// The wait for the next event: input, room for the backlog, or a timer.
std::int64_t next_deadline(const Session& s) {
    std::int64_t at = (s.ping_sent_ns ? s.ping_sent_ns : s.heard_ns) + settings.ping_interval_ns;
    if (sending(s)) {
        const std::int64_t stall = s.progress_ns + http::config().send_timeout_ns;
        if (stall < at) at = stall;
    }
    return at;
}

// Acts on the timers that have run out. False when the session ends.
bool check_timers(Session& s) {
    const std::int64_t t = now();
    if (sending(s) && t >= s.progress_ns + http::config().send_timeout_ns) return end(s, 1008);
    if (s.ping_sent_ns && t >= s.ping_sent_ns + settings.ping_interval_ns) return send_close(s, 1001, false);  // it does not answer: do not wait for it
    if (!s.ping_sent_ns && t >= s.heard_ns + settings.ping_interval_ns) {
        s.ping_sent_ns = t;
        return send_frame(s, kPing, nullptr, 0);
    }
    return true;
}


// Receives what the socket has into the read buffer (allocated on demand), or straight into the
// message buffer for a large payload, and processes it. Returns what recv returned; `drained`
// says it was less than there was room for, so the socket is empty for now.
long receive(Session& s, std::uint8_t*& in, bool& drained) {
    std::uint8_t* dst;
    std::size_t room;
    if (const std::uint64_t left = s.decoder.data_payload_left(); left >= kDirectReadMin) {
        if (!s.message.reserve(s.message.size + left)) return send_close(s, 1011);
        dst = s.message.data + s.message.size, room = static_cast<std::size_t>(left);
    } else {
        if (!in && !(in = static_cast<std::uint8_t*>(rt::mem_alloc(kReadBytes)))) return send_close(s, 1011);
        dst = in, room = kReadBytes;
    }
    const long n = sys::recv(s.fd, dst, room, sys::MSG_DONTWAIT);
    drained = n > 0 && static_cast<std::size_t>(n) < room;
    if (n > 0) {
        s.heard_ns = now(), s.ping_sent_ns = 0;
        process(s, dst, static_cast<std::size_t>(n));
    }
    return n;
}

// Reads and drops whatever the peer still sends after our close. False once it has closed.
bool drain(int fd) {
    char sink[512];
    long n;
    while ((n = sys::recv(fd, sink, sizeof sink, sys::MSG_DONTWAIT)) > 0) {}
    return n == -sys::EAGAIN;
}

// The log lines of a session's start and end. Kept out of the coroutines: a log line's buffer
// would otherwise live in the session's frame for as long as it is open.
void log_open(const sys::sockaddr_any& peer, std::string_view target) {
    rt::LogLine line("ws-open");
    line.put(" client=");
    net::put_peer(line, peer);
    line.put(" worker=").put_int(ex::this_worker().index).put(" target=\"").put_escaped(target).put('"');
}

void log_close(const Session& s) {
    rt::LogLine line("ws-close");
    line.put(" client=");
    net::put_peer(line, s.peer);
    line.put(" worker=").put_int(ex::this_worker().index).put(" code=").put_uint(s.close_code);
    line.put(" in=").put_uint(s.messages_in).put(" out=").put_uint(s.messages_out);
}

// The session after the handshake: a task of its own, so the HTTP connection's frames and buffers
// are gone while it lives, and it owns the socket. Frames that came with the handshake (in
// conn.buf after head_bytes) are answered before it first waits, while `conn` is still alive.
//
// Everything it does between waits is plain code; its one wait is for input, room in the socket,
// or a timer, which keeps its frame (an idle WebSocket's whole cost) small.
ex::DetachedTask session(const http::Connection* conn, std::size_t head_bytes, bool chat) {
    Session s{conn->fd, conn->peer, chat && settings.max_message > kChatMaxMessageBytes ? kChatMaxMessageBytes : settings.max_message};
    stats().opened.add();
    if (chat && !join_chat(s)) send_close(s, 1011);
    process(s, reinterpret_cast<std::uint8_t*>(conn->buf + head_bytes), conn->len - head_bytes);
    std::uint8_t* in = nullptr;  // the read buffer, while there is input to process
    int reads = 0;               // in a row without waiting
    std::int64_t linger_until = 0;
    for (;;) {
        short events = sys::POLLIN;
        std::int64_t deadline;
        if (!s.done && ex::stopping()) {
            send_close(s, 1001);  // the server is going away (RFC 6455 §7.4.1)
            continue;
        }
        if (!s.done) {
            bool drained = false;
            const long n = receive(s, in, drained);
            if (n > 0 && (s.done || (!drained && ++reads < kReadsBeforeYield))) continue;
            if (n == 0 || (n < 0 && n != -sys::EAGAIN && n != -sys::EINTR)) {
                if (!s.done) break;  // the peer is gone
                continue;            // we ended it: send our close
            }
            if (n > 0 && !drained) {
                deadline = 0;  // a busy client: let the worker's other tasks run, then go on
            } else {  // nothing more to read for now (a short read says so without asking again)
                rt::mem_free(in);  // nothing to read: wait without a buffer
                in = nullptr;
                if (sending(s)) events |= sys::POLLOUT;
                deadline = next_deadline(s);
            }
            reads = 0;
        } else if (s.close_sent && s.backlog.size) {
            // Our close frame goes out before the connection closes.
            events = sys::POLLOUT;
            deadline = s.progress_ns + http::config().send_timeout_ns;
        } else if (s.close_sent && s.linger) {
            // Then the peer gets time to read it and close first (RFC 6455 §7.1.1): closing with
            // its bytes unread would reset the connection under the close frame.
            if (!linger_until) sys::shutdown(s.fd, sys::SHUT_WR), linger_until = now() + kLingerNs;
            if (!drain(s.fd)) break;
            deadline = linger_until;
        } else {
            break;
        }
        // Waiting for the next message only, it is idle: a graceful stop cuts the wait short.
        net::WaitReady wait{s.fd, events, deadline, events == sys::POLLIN && !s.done};
        s.parked = &wait.waiter;
        const int w = co_await wait;
        s.parked = nullptr;
        if (w < 0 && w != -sys::ETIMEDOUT && w != -sys::ECANCELED) break;
        if (sending(s) && !flush(s)) break;  // the connection broke
        if (!s.done) check_timers(s);
        else if (w == -sys::ETIMEDOUT && deadline) break;  // our close could not be delivered in time
    }
    rt::mem_free(in);
    leave_chat(s);
    s.message.release();
    s.backlog.release();
    stats().closed.add();
    log_close(s);
    http::close_connection(s.fd);
}

}  // namespace

void configure(const Config& c) { settings = c; }

ex::Task<int> upgrade(Connection& conn, const http::Request& req, std::size_t head_bytes) {
    int status = check_handshake(req);
    rt::FixedWriter<128> headers;
    if (status == 426) {
        headers.put("Sec-WebSocket-Version: 13\r\n");
    } else if (status == 0) {
        status = 101;
        char accept[kAcceptKeySize];
        websocket_accept_key(req.header("Sec-WebSocket-Key"), accept);
        headers.put("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
        headers.put({accept, kAcceptKeySize}).put("\r\n");
    }
    if (co_await http::send_response(conn, &req, status, headers.view(), "", status != 101) < 0 || status != 101)
        co_return 0;
    log_open(conn.peer, req.target);
    // A task that could not start (no memory for its frame) leaves the socket to the caller.
    co_return session(&conn, head_bytes, http::path_of(req.target) == kChatPath).started;
}

void write_metrics(rt::Writer& w) {
    int workers;
    ex::workers(workers);
    std::uint64_t values[ex::kMaxWorkers];
    struct Family {
        std::string_view name, help;
        bool counter;
    };
    constexpr Family kFamilies[] = {
        {"websocket_connections_total", "WebSocket connections opened.", true},
        {"websocket_connections_open", "WebSocket connections open now.", false},
        {"websocket_messages_in_total", "WebSocket messages received.", true},
        {"websocket_messages_out_total", "WebSocket messages sent (echoes and chat deliveries).", true},
        {"chat_members", "Members of the chat room now.", false},
    };
    for (int f = 0; f < 5; ++f) {
        for (int i = 0; i < workers; ++i) {
            const WsStats& st = stats_of[i];
            values[i] = f == 0 ? st.opened.get()
                      : f == 1 ? st.opened.get() - st.closed.get()
                      : f == 2 ? st.messages_in.get()
                      : f == 3 ? st.messages_out.get()
                               : st.chat_joined.get() - st.chat_left.get();
        }
        http::put_per_worker(w, kFamilies[f].name, kFamilies[f].help, kFamilies[f].counter, values, workers);
    }
}

}  // namespace ws
