// http/server.cpp — see server.h.
#include "http/server.h"

#include "executor/worker.h"
#include "http/body.h"
#include "http/mime.h"
#include "http/path.h"
#include "http/response.h"
#include "net/address.h"
#include "net/socket.h"
#include "runtime/civil_time.h"
#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/memory.h"
#include "sys/syscall.h"

namespace http {
namespace {

Config config;

constexpr std::string_view kServerHeader = "Server: async-nostd\r\n";
constexpr std::size_t kHeadBytes = 1024;  // a response head we build; the longest is far below

// The Date header changes once a second; each worker formats it at most that often.
struct DateCache {
    std::int64_t second = -1;
    char text[64];
    std::size_t len = 0;
};
thread_local DateCache date_cache;

std::string_view http_date_now() {
    const std::int64_t now = rt::thread_clock().wall_seconds;
    if (now != date_cache.second) {
        rt::Writer w(date_cache.text, sizeof date_cache.text);
        put_http_date(w, now);
        date_cache.len = w.size();
        date_cache.second = now;
    }
    return {date_cache.text, date_cache.len};
}

std::int64_t deadline_in(std::int64_t ns) { return rt::thread_clock().monotonic_ns + ns; }

void put_head_start(rt::Writer& w, int status) {
    w.put("HTTP/1.1 ").put(status_text(status)).put("\r\n").put(kServerHeader);
    w.put("Date: ").put(http_date_now()).put("\r\n");
}

void log_access(const Connection& conn, const Request* req, int status, std::uint64_t body_bytes) {
    rt::LogLine line("");
    if (conn.peer.family == sys::AF_INET) net::put_ipv4(line, conn.peer.v4.addr);
    else line.put('-');
    line.put(" - - [");
    put_clf_time(line, rt::thread_clock().wall_seconds);
    line.put("] \"");
    if (req) {
        line.put_escaped(req->method).put(' ').put_escaped(req->target).put(" HTTP/1.").put_uint(req->version_minor);
    } else {
        line.put('-');
    }
    line.put("\" ").put_uint(status).put(' ').put_uint(body_bytes).put(" \"");
    const std::string_view referer = req ? req->header("Referer") : std::string_view{};
    const std::string_view agent = req ? req->header("User-Agent") : std::string_view{};
    if (referer.data()) line.put_escaped(referer);
    else line.put('-');
    line.put("\" \"");
    if (agent.data()) line.put_escaped(agent);
    else line.put('-');
    line.put('"');
}

void log_error(const Connection& conn, std::string_view what, long err) {
    rt::LogLine line("error");
    line.put(" client=");
    net::put_peer(line, conn.peer);
    line.put(" worker=").put_int(ex::this_worker().index).put(' ').put(what).put(" (errno ").put_int(-err).put(')');
}

// RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
bool wants_keep_alive(const Request& req) {
    const std::string_view c = req.header("Connection");
    if (req.version_minor >= 1) return !list_has_token(c, "close");
    return list_has_token(c, "keep-alive");
}

std::string_view path_of(std::string_view target) {
    const std::size_t q = target.find_first_of("?#");
    return q == std::string_view::npos ? target : target.substr(0, q);
}

void put_error_body(rt::Writer& w, int status) {
    w.put("<!doctype html><title>").put(status_text(status)).put("</title><h1>").put(status_text(status));
    w.put("</h1>\n");
}

// Answers GET/HEAD for a file under the root. Returns false if the connection must close.
ex::Task<int> serve_file(Connection& conn, const Request& req, bool keep_alive) {
    const bool head_only = req.method == "HEAD";
    char* path = static_cast<char*>(rt::mem_alloc(req.target.size() + 1));
    if (!path) co_return -sys::ENOMEM;
    const PathResult p = normalize_path(req.target, path);
    int file = -1;
    bool index = false;
    int status = p.status ? p.status : p.hidden ? 404 : 0;
    sys::stat st{};
    if (!status) {
        // O_NONBLOCK: opening a FIFO someone left under the root must not block the worker.
        const sys::open_how how{sys::O_RDONLY | sys::O_CLOEXEC | sys::O_NONBLOCK, 0,
                                sys::RESOLVE_BENEATH | sys::RESOLVE_NO_MAGICLINKS};
        file = sys::openat2(config.root_fd, p.length ? path : ".", &how);
        if (file >= 0 && sys::fstat(file, &st) == 0 && (st.st_mode & sys::S_IFMT) == sys::S_IFDIR) {
            if (!p.trailing_slash && p.length) {
                status = 301;
            } else {
                const int index_file = sys::openat2(file, "index.html", &how);
                sys::close(file);
                file = index_file;
                index = true;
                if (file >= 0 && sys::fstat(file, &st) != 0) st.st_mode = 0;
            }
        }
        if (!status && (file < 0 || (st.st_mode & sys::S_IFMT) != sys::S_IFREG)) status = 404;
    }
    rt::mem_free(path);

    long r;
    if (status == 301) {
        rt::FixedWriter<kHeadBytes> location;
        location.put("Location: ").put(path_of(req.target)).put('/');
        if (path_of(req.target).size() < req.target.size()) location.put(req.target.substr(path_of(req.target).size()));
        location.put("\r\n");
        r = co_await send_simple(conn, &req, 301, location.overflowed() ? "" : location.view(), "", !keep_alive, head_only);
    } else if (status) {
        rt::FixedWriter<256> body;
        put_error_body(body, status);
        r = co_await send_simple(conn, &req, status, "Content-Type: text/html; charset=utf-8\r\n", body.view(),
                                 !keep_alive || status == 400, head_only);
        if (status == 400) keep_alive = false;
    } else {
        rt::FixedWriter<kHeadBytes> head;
        put_head_start(head, 200);
        head.put("Content-Type: ").put(mime_type(index ? "index.html" : path_of(req.target))).put("\r\n");
        head.put("Content-Length: ").put_uint(static_cast<std::uint64_t>(st.st_size)).put("\r\n");
        head.put("Last-Modified: ");
        put_http_date(head, st.st_mtime_sec);
        head.put("\r\nETag: \"").put_uint(static_cast<std::uint64_t>(st.st_mtime_sec)).put('-');
        head.put_uint(static_cast<std::uint64_t>(st.st_size)).put("\"\r\nAccept-Ranges: bytes\r\n");
        if (!keep_alive) head.put("Connection: close\r\n");
        else if (req.version_minor == 0) head.put("Connection: keep-alive\r\n");
        head.put("\r\n");
        sys::iovec iov{head.data(), head.size()};
        const bool body = !head_only && st.st_size > 0;
        const std::int64_t deadline = deadline_in(kSendTimeoutNs);
        r = co_await net::send_all(conn.fd, &iov, 1, deadline, body);
        long sent = 0;
        if (r >= 0 && body) {
            sent = co_await net::send_file(conn.fd, file, 0, static_cast<std::size_t>(st.st_size), deadline);
            if (sent != st.st_size) r = sent < 0 ? sent : -sys::EPIPE;
        }
        log_access(conn, &req, 200, sent > 0 ? static_cast<std::uint64_t>(sent) : 0);
    }
    if (file >= 0) sys::close(file);
    co_return r < 0 ? static_cast<int>(r) : keep_alive;
}

// Answers one parsed request. Returns 1 to keep the connection, 0 to close it, or -errno.
ex::Task<int> answer(Connection& conn, const Request& req, std::size_t head_bytes) {
    const bool keep_alive = wants_keep_alive(req);
    if (config.upgrade && path_of(req.target) == config.upgrade_path) {
        co_await config.upgrade(conn, req, head_bytes);
        co_return 0;
    }
    if (req.method == "GET" || req.method == "HEAD") co_return co_await serve_file(conn, req, keep_alive);

    int status = 501;
    std::string_view allow = "";
    for (std::string_view m : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
        if (req.method == m) status = 405, allow = "Allow: GET, HEAD\r\n";
    if (req.method == "OPTIONS") status = 204;
    const bool keep = keep_alive && status != 501;
    const long r = co_await send_simple(conn, &req, status, allow, "", !keep);
    co_return r < 0 ? static_cast<int>(r) : keep;
}

// Reads past the request body that follows the head at conn.buf[head_end], keeping the head
// intact (the Request points into it). On success `next` is where the following request starts.
// Returns 0, an HTTP status for a bad or oversized body, or -errno.
ex::Task<int> discard_body(Connection& conn, std::size_t head_end, const BodyFraming& framing, std::size_t& next) {
    std::size_t pos = head_end;
    std::uint64_t left = framing.length;
    ChunkedDecoder chunked;
    const std::int64_t deadline = deadline_in(kBodyTimeoutNs);
    for (;;) {
        const std::size_t avail = conn.len - pos;
        if (framing.kind == BodyFraming::sized) {
            const std::size_t take = avail < left ? avail : static_cast<std::size_t>(left);
            pos += take, left -= take;
            if (left == 0) break;
        } else {
            const auto r = chunked.feed(conn.buf + pos, avail);
            if (r.status) co_return r.status;
            pos += r.consumed;
            if (r.done) break;
        }
        // Everything after the head is body and has been accounted for: drop it, read more.
        conn.len = pos = head_end;
        const long n = co_await net::recv(conn.fd, conn.buf + head_end, kReadBufferBytes - head_end, deadline);
        if (n <= 0) co_return n == 0 ? -sys::ECONNRESET : static_cast<int>(n);
        conn.len += static_cast<std::size_t>(n);
    }
    next = pos;
    co_return 0;
}

ex::Task<long> send_error(Connection& conn, const Request* req, int status) {
    rt::FixedWriter<256> body;
    put_error_body(body, status);
    co_return co_await send_simple(conn, req, status, "Content-Type: text/html; charset=utf-8\r\n", body.view(), true);
}

ex::DetachedTask serve(int fd, sys::sockaddr_any peer) {
    Connection conn{fd, peer, static_cast<char*>(rt::mem_alloc(kReadBufferBytes)), 0};
    ex::Worker& worker = ex::this_worker();
    ++worker.open_connections;
    Request* req = static_cast<Request*>(rt::mem_alloc(sizeof(Request)));
    std::int64_t head_deadline = 0;
    while (conn.buf && req) {
        const ParseResult pr = parse_request({conn.buf, conn.len}, *req);
        if (pr.kind == ParseResult::incomplete) {
            if (conn.len == kReadBufferBytes) {  // the parser's limits answer first; a last guard
                co_await send_simple(conn, nullptr, 431, "", "", true);
                break;
            }
            // The header timeout runs from a request's first byte and is not renewed by later
            // bytes, so a client trickling a head slowly cannot hold the slot.
            const bool idle = conn.len == 0;
            if (!idle && !head_deadline) head_deadline = deadline_in(kHeaderTimeoutNs);
            const long n = co_await net::recv(fd, conn.buf + conn.len, kReadBufferBytes - conn.len,
                                              idle ? deadline_in(kKeepAliveTimeoutNs) : head_deadline);
            if (n == -sys::ETIMEDOUT && !idle) co_await send_simple(conn, nullptr, 408, "", "", true);
            if (n < 0 && n != -sys::ETIMEDOUT) log_error(conn, "receive failed", n);
            if (n <= 0) break;
            conn.len += static_cast<std::size_t>(n);
            continue;
        }
        if (pr.kind == ParseResult::error) {
            co_await send_error(conn, nullptr, pr.status);
            break;
        }
        head_deadline = 0;
        const BodyFraming framing = check_framing(*req);
        if (framing.status) {
            co_await send_error(conn, req, framing.status);
            break;
        }
        std::size_t next = pr.consumed;
        if (framing.kind != BodyFraming::none) {
            const int r = co_await discard_body(conn, pr.consumed, framing, next);
            if (r > 0) co_await send_error(conn, req, r);
            if (r < 0) log_error(conn, "request body cut short", r);
            if (r != 0) break;
        }
        const int keep = co_await answer(conn, *req, pr.consumed);
        if (keep < 0) log_error(conn, "response cut short", keep);
        if (keep <= 0) break;
        // Keep whatever follows the request: the next pipelined one.
        conn.len -= next;
        __builtin_memmove(conn.buf, conn.buf + next, conn.len);
    }
    if (!conn.buf || !req) rt::LogLine("error").put("connection refused: out of memory");
    rt::mem_free(req);
    rt::mem_free(conn.buf);
    sys::close(fd);
    --worker.open_connections;
}

}  // namespace

void configure(const Config& c) { config = c; }

void on_connection(int fd, const sys::sockaddr_any& peer) {
    const int one = 1;
    sys::setsockopt(fd, sys::IPPROTO_TCP, sys::TCP_NODELAY, &one, sizeof one);
    if (!serve(fd, peer).started) {
        rt::LogLine("error").put("connection refused: out of memory for its task");
        sys::close(fd);
    }
}

ex::Task<long> send_simple(Connection& conn, const Request* req, int status, std::string_view extra_headers,
                           std::string_view body, bool close, bool head_only) {
    rt::FixedWriter<kHeadBytes> head;
    put_head_start(head, status);
    head.put(extra_headers);
    const bool bodiless = status_has_no_body(status);
    if (!bodiless) head.put("Content-Length: ").put_uint(body.size()).put("\r\n");
    if (close) head.put("Connection: close\r\n");
    else if (req && req->version_minor == 0 && status != 101) head.put("Connection: keep-alive\r\n");
    head.put("\r\n");
    const bool send_body = !bodiless && !head_only && !body.empty();
    sys::iovec iov[2] = {{head.data(), head.size()}, {body.data(), body.size()}};
    const long r = co_await net::send_all(conn.fd, iov, send_body ? 2 : 1, deadline_in(kSendTimeoutNs));
    log_access(conn, req, status, send_body && r > 0 ? body.size() : 0);
    co_return r;
}

}  // namespace http
