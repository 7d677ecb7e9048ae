// websocket/session.cpp — see session.h.
//
// One coroutine per connection drives everything: it receives whatever the socket has, lets the
// decoder (websocket/decoder.h) turn it into events, and answers them with non-blocking sends.
// It waits only when the socket has nothing to read, and then holds no read buffer, so an idle
// WebSocket costs its coroutine frames and nothing else.
#include "websocket/session.h"

#include "http/path.h"
#include "net/socket.h"
#include "runtime/log.h"
#include "sys/syscall.h"
#include "websocket/base64.h"
#include "websocket/connection.h"
#include "websocket/frame.h"

namespace ws {
namespace detail {
Config settings;
WsStats stats_of[ex::kMaxWorkers];
}  // namespace detail

namespace {

using http::Connection;
using namespace detail;

constexpr std::size_t kReadBytes = 16 * 1024;         // the read buffer, held only while busy
constexpr std::size_t kDirectReadMin = 4 * 1024;      // payload this large is received in place,
constexpr std::size_t kDirectReadAhead = 64 * 1024;   // into room taken this far ahead of its bytes
constexpr int kReadsBeforeYield = 16;                 // then let the worker's other tasks run
constexpr std::int64_t kLingerNs = 2 * http::kSecond; // after our close: wait for the peer's EOF



// RFC 6455 §4.2.1: what makes a request a valid opening handshake. Returns 0 if it is, else the
// HTTP status to refuse it with (400, or 426 for a version we do not speak).
int check_handshake(const http::Request& req) {
    if (req.method != "GET" || req.version_minor < 1 || !req.header("Host").data()) return 400;
    if (!req.has_token("Upgrade", "websocket") || !req.has_token("Connection", "upgrade")) return 400;
    const std::string_view key = req.header("Sec-WebSocket-Key");
    unsigned char nonce[18];
    if (key.size() != 24 || base64_decode(key, nonce) != 16) return 400;
    int keys = 0, versions = 0;  // each "MUST NOT appear more than once" in a request (§11.3.1, §11.3.5)
    for (int i = 0; i < req.header_count; ++i) {
        keys += http::equals_ignore_case(req.headers[i].name, "Sec-WebSocket-Key");
        versions += http::equals_ignore_case(req.headers[i].name, "Sec-WebSocket-Version");
    }
    if (keys > 1 || versions > 1) return 400;
    if (req.header("Sec-WebSocket-Version") != "13") return 426;
    return 0;
}

}  // namespace

// Writes as much of the backlog (then of the chat queue) as the socket takes. False on a broken
// connection.
bool detail::flush(Session& s) {
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
//
// `front`, when not null, is where writable bytes before `payload` begin: an echo passes the
// start of the receive buffer its payload lies in. When the header fits there (it always does
// after the client's own header, which is 4 mask bytes longer for the same length), it is written
// just before the payload and the frame leaves in one send(2): that saves the kernel copying in
// a msghdr and an iovec array, a few percent of a small echo's system time.
bool detail::send_frame(Session& s, std::uint8_t opcode, const std::uint8_t* payload, std::size_t len,
                        std::uint8_t* front) {
    std::uint8_t header[kMaxFrameHeader];
    const std::size_t header_len = encode_frame_header(header, true, opcode, len);
    std::size_t sent = 0;
    if (s.backlog.size == 0) {
        constexpr int kFlags = sys::MSG_DONTWAIT | sys::MSG_NOSIGNAL;
        long n;
        if (front && static_cast<std::size_t>(payload - front) >= header_len) {
            std::uint8_t* const frame = front + (payload - front) - header_len;
            __builtin_memcpy(frame, header, header_len);
            n = sys::send(s.fd, frame, header_len + len, kFlags);
        } else {
            sys::iovec iov[2] = {{header, header_len}, {payload, len}};
            sys::msghdr msg{};
            msg.iov = iov;
            msg.iovlen = len ? 2 : 1;
            n = sys::sendmsg(s.fd, &msg, kFlags);
        }
        if (n == static_cast<long>(header_len + len)) return true;
        if (n < 0 && n != -sys::EAGAIN && n != -sys::EINTR) return end(s, s.close_code);
        if (n > 0) sent = static_cast<std::size_t>(n);
        s.progress_ns = now();  // the stall clock starts when the backlog does
    } else if (opcode != kClose && s.backlog.size - s.backlog_sent > settings.max_backlog) {
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
// peer has closed too or had time to). The backlog limit does not refuse it: it is four bytes,
// and it must follow a large reply that a reading client has not finished reading.
bool detail::send_close(Session& s, std::uint16_t code, bool linger) {
    const std::uint8_t payload[2] = {static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
    drop_chat_queue(s);  // nothing may follow the close frame
    s.close_sent = true;
    s.linger = linger;
    send_frame(s, kClose, payload, 2);
    return end(s, code);
}

namespace {

// Hands received bytes to the decoder and answers its events. False when the session ends.
// `in_place`: the bytes were received straight into the message buffer, after what it holds.
bool process(Session& s, std::uint8_t* p, std::size_t n, bool in_place = false) {
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
        // (unless they were received in place, at the end of the message buffer). Only the
        // receive knows which: a read buffer that happens to lie just past a full message
        // buffer has the same address as its end.
        const bool whole = e.last && s.message.size == 0 && !in_place;
        if (!whole) {
            if (in_place) s.message.size += e.size;
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
            if (!send_frame(s, e.opcode, bytes, size, whole ? p : nullptr)) return false;
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

// Whether the backlog has not moved for --send-timeout. As for HTTP (net/socket.h), the kernel
// reports room only once a third of its send buffer is free, so one more write decides: a slow
// reader that took anything at all is still reading. (A write that finds the connection broken
// ends the session with its own code, and it is not stalled.)
bool stalled(Session& s) {
    const std::int64_t limit = http::config().send_timeout_ns;
    return sending(s) && now() >= s.progress_ns + limit && flush(s) && now() >= s.progress_ns + limit;
}

// Acts on the timers that have run out. False when the session ends.
bool check_timers(Session& s) {
    const std::int64_t t = now();
    if (stalled(s)) return end(s, 1008);
    if (s.done) return false;  // that write found the connection broken
    std::int64_t& since = s.ping_sent_ns ? s.ping_sent_ns : s.heard_ns;
    if (t < since + settings.ping_interval_ns) return true;
    // A peer still taking bytes we sent is not silent, though it says nothing: a large reply read
    // slowly, with our ping queued behind it (a backlog here, or the kernel's own queue). What
    // the peer has acknowledged tells. Its clock starts again.
    const net::SendQueue q = net::send_queue(s.fd);
    const bool taking = q.pending && q.acked != s.acked;
    s.acked = q.acked;
    if (taking) return since = t, true;
    if (s.ping_sent_ns) return send_close(s, 1001, false);  // it does not answer: do not wait for it
    s.ping_sent_ns = t;
    return send_frame(s, kPing, nullptr, 0);
}


// Receives what the socket has into the read buffer (allocated on demand), or straight into the
// message buffer for a large payload, and processes it. Returns what recv returned; `drained`
// says it was less than there was room for, so the socket is empty for now.
long receive(Session& s, std::uint8_t*& in, bool& drained) {
    std::uint8_t* dst;
    std::size_t room;
    const std::uint64_t left = s.decoder.data_payload_left();
    const bool in_place = left >= kDirectReadMin;
    if (in_place) {
        // Room for what is announced, but not all at once: a header can announce megabytes and
        // send four kilobytes, and memory goes to bytes that came. The buffer doubles as they do.
        const std::size_t ahead = left < kDirectReadAhead ? static_cast<std::size_t>(left) : kDirectReadAhead;
        if (!s.message.reserve(s.message.size + ahead)) return send_close(s, 1011);
        room = s.message.capacity - s.message.size;
        if (room > left) room = static_cast<std::size_t>(left);
        dst = s.message.data + s.message.size;
    } else {
        if (!in && !(in = static_cast<std::uint8_t*>(rt::mem_alloc(kReadBytes)))) return send_close(s, 1011);
        dst = in, room = kReadBytes;
    }
    const long n = sys::recv(s.fd, dst, room, sys::MSG_DONTWAIT);
    drained = n > 0 && static_cast<std::size_t>(n) < room;
    if (n > 0) {
        s.heard_ns = now(), s.ping_sent_ns = 0;
        process(s, dst, static_cast<std::size_t>(n), in_place);
    }
    return n;
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
// conn.buf after request_bytes) are answered before it first waits, while `conn` is still alive.
//
// Everything it does between waits is plain code; its one wait is for input, room in the socket,
// or a timer, which keeps its frame (an idle WebSocket's whole cost) small.
ex::DetachedTask session(const http::Connection* conn, std::size_t request_bytes, bool chat) {
    Session s{conn->fd, conn->peer, chat && settings.max_message > kChatMaxMessageBytes ? kChatMaxMessageBytes : settings.max_message};
    stats().opened.add();
    if (chat && !join_chat(s)) send_close(s, 1011);
    process(s, reinterpret_cast<std::uint8_t*>(conn->buf + request_bytes), conn->len - request_bytes);
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
            // Output after input: a close or ping from the peer is acted on before more of the
            // queue goes out, and its close drops what it would only discard unread.
            if (sending(s) && !flush(s)) break;  // the connection broke
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
            // Our close frame goes out before the connection closes. Write before waiting: the
            // wait that saw the close may also have taken the socket's one report of room (an
            // edge, under epoll), so only a send that finds it full proves there is one to come.
            if (!flush(s)) break;
            if (!s.backlog.size) continue;
            deadline = s.progress_ns + http::config().send_timeout_ns;
            if (now() >= deadline) {  // that write was the one more that decides (see stalled())
                end(s, 1008);         // logged so, like any backlog that does not move
                break;
            }
            events = sys::POLLOUT;
        } else if (s.close_sent && s.linger) {
            // Then the peer gets time to read it and close first (RFC 6455 §7.1.1): closing with
            // its bytes unread would reset the connection under the close frame.
            if (!linger_until) sys::shutdown(s.fd, sys::SHUT_WR), linger_until = now() + kLingerNs;
            bool more;
            if (!net::drain_input(s.fd, more) || now() >= linger_until) break;
            deadline = more ? 0 : linger_until;  // 0: let the worker's other tasks run first
        } else {
            break;
        }
        // Waiting for the next message only, it is idle: a graceful stop cuts the wait short.
        net::WaitReady wait{s.fd, events, deadline, events == sys::POLLIN && !s.done};
        s.parked = &wait.waiter;
        const int w = co_await wait;
        s.parked = nullptr;
        if (w < 0 && w != -sys::ETIMEDOUT && w != -sys::ECANCELED) break;
        if (!s.done) check_timers(s);
        else if (w == -sys::ETIMEDOUT && deadline && !s.backlog.size) break;  // the peer did not close within the linger time
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

ex::Task<int> upgrade(Connection& conn, const http::Request& req, std::size_t request_bytes) {
    int status = check_handshake(req);
    rt::FixedWriter<128> headers;
    if (status == 426) {  // names the protocol it requires (RFC 9110 §15.5.22) and its version
        headers.put("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
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
    co_return session(&conn, request_bytes, http::path_of(req.target) == kChatPath).started;
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
    // A gauge is a difference of two counters read one after the other, while their worker may
    // add to both: read the one that ends second first, and never let it show below zero.
    auto gauge = [](const auto& ends, const auto& starts) {
        const std::uint64_t ended = ends.get(), started = starts.get();
        return started > ended ? started - ended : 0;
    };
    for (int f = 0; f < 5; ++f) {
        for (int i = 0; i < workers; ++i) {
            const WsStats& st = stats_of[i];
            values[i] = f == 0 ? st.opened.get()
                      : f == 1 ? gauge(st.closed, st.opened)
                      : f == 2 ? st.messages_in.get()
                      : f == 3 ? st.messages_out.get()
                               : gauge(st.chat_left, st.chat_joined);
        }
        http::put_per_worker(w, kFamilies[f].name, kFamilies[f].help, kFamilies[f].counter, values, workers);
    }
}

}  // namespace ws
