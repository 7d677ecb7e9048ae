// websocket/session.cpp — see session.h.
#include "websocket/session.h"

#include "executor/worker.h"
#include "net/socket.h"
#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/memory.h"
#include "sys/syscall.h"
#include "websocket/base64.h"
#include "websocket/frame.h"

namespace ws {
namespace {

using http::Connection;

std::int64_t deadline_in(std::int64_t ns) { return rt::thread_clock().monotonic_ns + ns; }

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

// The received bytes of the connection not yet consumed: conn.buf[start, conn.len).
struct Input {
    Connection& conn;
    std::size_t start;

    std::size_t available() const { return conn.len - start; }
    std::uint8_t* data() const { return reinterpret_cast<std::uint8_t*>(conn.buf + start); }

    // Receives more bytes after those available (moving them to the front first if the buffer
    // is full). Returns bytes received, 0 at end of stream, or -errno.
    ex::Task<long> receive_more(std::int64_t deadline) {
        if (conn.len == http::kReadBufferBytes) {
            conn.len = available();
            __builtin_memmove(conn.buf, conn.buf + start, conn.len);
            start = 0;
        }
        const long n = co_await net::recv(conn.fd, conn.buf + conn.len, http::kReadBufferBytes - conn.len, deadline);
        if (n > 0) conn.len += static_cast<std::size_t>(n);
        co_return n;
    }

    // Fills `dst` with the next `n` bytes: first from the buffer, the rest straight from the
    // socket. Returns 1, 0 at end of stream, or -errno.
    ex::Task<long> read_exact(std::uint8_t* dst, std::size_t n, std::int64_t deadline) {
        const std::size_t take = n < available() ? n : available();
        __builtin_memcpy(dst, data(), take);
        start += take;
        for (std::size_t got = take; got < n;) {
            const long r = co_await net::recv(conn.fd, reinterpret_cast<char*>(dst + got), n - got, deadline);
            if (r <= 0) co_return r;
            got += static_cast<std::size_t>(r);
        }
        if (start == conn.len) start = conn.len = 0;
        co_return 1;
    }
};

struct Session {
    Connection& conn;
    std::uint64_t messages_in = 0, messages_out = 0;
    unsigned close_code = 1006;  // "abnormal": the TCP connection ended without a close frame
};

ex::Task<long> send_frame(Session& s, std::uint8_t opcode, const std::uint8_t* payload, std::uint64_t len) {
    std::uint8_t header[kMaxFrameHeader];
    const std::size_t header_len = encode_frame_header(header, true, opcode, len);
    sys::iovec iov[2] = {{header, header_len}, {payload, static_cast<std::size_t>(len)}};
    co_return co_await net::send_all(s.conn.fd, iov, len ? 2 : 1, http::config().send_timeout_ns);
}

// Sends a close frame with `code` and records it as the session's end.
ex::Task<long> send_close(Session& s, unsigned code) {
    const std::uint8_t payload[2] = {static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
    s.close_code = code;
    co_return co_await send_frame(s, kClose, payload, 2);
}

// The echo loop. Returns when the session ends, by a close handshake, an error or the peer.
ex::Task<int> echo(Session& s, Input& in) {
    std::uint8_t* message = nullptr;  // the data message being assembled from fragments
    std::uint64_t message_len = 0, message_cap = 0;
    std::uint8_t message_opcode = 0;  // 0: no message open
    int result = 0;

    for (;;) {
        FrameHeader h;
        DecodeStatus d;
        long n = 1;
        while ((d = decode_frame_header(in.data(), in.available(), h)) == DecodeStatus::incomplete && n > 0)
            n = co_await in.receive_more(deadline_in(kIdleTimeoutNs));
        if (n <= 0) {
            result = static_cast<int>(n);
            break;
        }
        // Every rule a frame header must keep (§5.1-5.5), checked in one place.
        unsigned fail = 0;
        if (d == DecodeStatus::bad_length || !h.masked || h.rsv || !opcode_known(h.opcode)) fail = 1002;
        else if (is_control(h.opcode) && (!h.fin || h.length > kMaxControlPayload)) fail = 1002;
        else if (h.opcode == kContinuation && !message_opcode) fail = 1002;
        else if (!is_control(h.opcode) && h.opcode != kContinuation && message_opcode) fail = 1002;
        else if (!is_control(h.opcode) && message_len + h.length > kMaxMessageBytes) fail = 1009;
        if (fail) {
            co_await send_close(s, fail);
            break;
        }
        in.start += h.size;

        if (is_control(h.opcode)) {
            std::uint8_t payload[kMaxControlPayload];
            const long r = co_await in.read_exact(payload, h.length, deadline_in(kIdleTimeoutNs));
            if (r <= 0) {
                result = static_cast<int>(r);
                break;
            }
            apply_mask(payload, h.length, h.mask, 0);
            if (h.opcode == kPing) {
                if (co_await send_frame(s, kPong, payload, h.length) < 0) break;
            } else if (h.opcode == kClose) {
                // Echo a valid code; answer a malformed close (1 byte, or a code no one may send)
                // with 1002. An empty close is answered with 1000.
                unsigned code = 1000;
                if (h.length == 1) code = 1002;
                else if (h.length >= 2) code = close_code_valid(payload[0] << 8 | payload[1]) ? (payload[0] << 8 | payload[1]) : 1002;
                co_await send_close(s, code);
                break;
            }
            continue;  // pongs need no answer
        }

        if (!message_opcode) message_opcode = h.opcode;
        if (message_len + h.length > message_cap) {
            std::uint64_t cap = message_cap ? message_cap : 256;
            while (cap < message_len + h.length) cap *= 2;
            auto* grown = static_cast<std::uint8_t*>(rt::mem_alloc(cap));
            if (!grown) {
                co_await send_close(s, 1011);
                break;
            }
            if (message_len) __builtin_memcpy(grown, message, message_len);
            rt::mem_free(message);
            message = grown, message_cap = cap;
        }
        const long r = co_await in.read_exact(message + message_len, h.length, deadline_in(kIdleTimeoutNs));
        if (r <= 0) {
            result = static_cast<int>(r);
            break;
        }
        apply_mask(message + message_len, h.length, h.mask, 0);
        message_len += h.length;
        if (!h.fin) continue;

        ++s.messages_in;
        if (co_await send_frame(s, message_opcode, message, message_len) < 0) break;
        ++s.messages_out;
        message_len = 0, message_opcode = 0;
        // Give back a large buffer; keep a small one for the next message.
        if (message_cap > 64 * 1024) rt::mem_free(message), message = nullptr, message_cap = 0;
    }
    rt::mem_free(message);
    co_return result;
}

}  // namespace

ex::Task<int> upgrade(Connection& conn, const http::Request& req, std::size_t head_bytes) {
    if (const int status = check_handshake(req)) {
        const std::string_view extra = status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "";
        co_await http::send_response(conn, &req, status, extra, "", true);
        co_return 0;
    }
    rt::FixedWriter<128> headers;
    char accept[kAcceptKeySize];
    websocket_accept_key(req.header("Sec-WebSocket-Key"), accept);
    headers.put("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    headers.put({accept, kAcceptKeySize}).put("\r\n");
    if (co_await http::send_response(conn, &req, 101, headers.view(), "", false) < 0) co_return 0;

    {
        rt::LogLine line("ws-open");
        line.put(" client=");
        net::put_peer(line, conn.peer);
        line.put(" worker=").put_int(ex::this_worker().index).put(" target=\"").put_escaped(req.target).put('"');
    }
    Session session{conn};
    Input in{conn, head_bytes};
    co_await echo(session, in);
    {
        rt::LogLine line("ws-close");
        line.put(" client=");
        net::put_peer(line, conn.peer);
        line.put(" worker=").put_int(ex::this_worker().index).put(" code=").put_uint(session.close_code);
        line.put(" in=").put_uint(session.messages_in).put(" out=").put_uint(session.messages_out);
    }
    co_return 0;
}

}  // namespace ws
