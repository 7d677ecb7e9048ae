// http/server.cpp — see server.h.
#include "http/server.h"

#include "executor/worker.h"
#include "http/body.h"
#include "http/conditional.h"
#include "http/file_cache.h"
#include "http/mime.h"
#include "http/path.h"
#include "http/response.h"
#include "net/address.h"
#include "net/socket.h"
#include "runtime/atomic.h"
#include "runtime/civil_time.h"
#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/memory.h"
#include "sys/syscall.h"

namespace http {
namespace {

using namespace std::string_view_literals;

Config settings;
// Connections open over all workers, against settings.max_connections.
rt::Atomic<int> open_connections{0};

constexpr std::string_view kServerHeader = "Server: async-nostd\r\n";
// A client that pipelines as fast as it reads never lets its socket run dry, so its task would
// never wait; after this many answers in a row, the worker's other tasks get a turn.
constexpr int kAnswersBeforeYield = 32;
constexpr std::size_t kHeadBytes = 1024;  // the header lines an answer adds; the longest is a Location
constexpr std::size_t kStatusLinesBytes = 256;  // what send_response puts around them

// The Server and Date lines that follow every status line. The date changes once a second; each
// worker formats them at most that often.
struct HeadCache {
    std::int64_t second = -1;
    char text[80];
    std::size_t len = 0;
};
thread_local HeadCache head_cache;

std::string_view server_and_date_lines() {
    const std::int64_t now = rt::thread_clock().wall_seconds;
    if (now != head_cache.second) {
        rt::Writer w(head_cache.text, sizeof head_cache.text);
        w.put(kServerHeader).put("Date: ");
        put_http_date(w, now);
        w.put("\r\n");
        head_cache.len = w.size();
        head_cache.second = now;
    }
    return {head_cache.text, head_cache.len};
}

// The validators of the file answered last, which the next request is most likely for too: a
// busy page's requests skip formatting its date and numbers again.
struct Validators {
    std::int64_t mtime = -1, mtime_nsec = -1;
    std::int64_t shown = -1;  // the Last-Modified date: mtime, or now if mtime is in the future
    std::uint64_t size = 0;
    bool gzip = false;
    // "SECONDS.NANOSECONDS-SIZE", quotes included, and "-gz" for a FILE.gz sent for FILE. The
    // nanoseconds tell apart two writes of the same size in one second, and the mark a .gz
    // twin that gzip -k left with its original's time and, by chance, its size: a strong tag
    // must differ between representations, or a range of one could be spliced onto the other.
    char etag[56];
    char last_modified[32];
    std::uint8_t etag_len = 0, last_modified_len = 0;

    std::string_view etag_view() const { return {etag, etag_len}; }
    std::string_view last_modified_view() const { return {last_modified, last_modified_len}; }
};
thread_local Validators last_validators;

const Validators& validators_of(const sys::stat& st, bool gzip) {
    Validators& v = last_validators;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    // A Last-Modified later than the answer's Date must be replaced with the Date (RFC 9110
    // §8.8.2.1): a file stamped in the future, by a clock that was ahead or by touch -d.
    const std::int64_t now = rt::thread_clock().wall_seconds;
    const std::int64_t shown = st.st_mtime_sec < now ? st.st_mtime_sec : now;
    if (st.st_mtime_sec != v.mtime || st.st_mtime_nsec != v.mtime_nsec || size != v.size || shown != v.shown || gzip != v.gzip) {
        v.mtime = st.st_mtime_sec, v.mtime_nsec = st.st_mtime_nsec, v.shown = shown, v.size = size, v.gzip = gzip;
        rt::Writer etag(v.etag, sizeof v.etag);
        etag.put('"').put_int(st.st_mtime_sec).put('.').put_int(st.st_mtime_nsec).put('-').put_uint(size);
        etag.put(gzip ? "-gz\"" : "\"");
        v.etag_len = static_cast<std::uint8_t>(etag.size());
        rt::Writer date(v.last_modified, sizeof v.last_modified);
        put_http_date(date, shown);
        v.last_modified_len = static_cast<std::uint8_t>(date.size());
    }
    return v;
}

std::int64_t deadline_in(std::int64_t ns) { return rt::thread_clock().monotonic_ns + ns; }

void put_head_start(rt::Writer& w, int status) {
    w.put("HTTP/1.1 ").put(status_text(status)).put("\r\n").put(server_and_date_lines());
}

bool is_upgrade_path(std::string_view path) {
    for (std::string_view p : settings.upgrade_paths)
        if (!p.empty() && p == path) return true;
    return false;
}

constexpr std::string_view kHealthPath = "/health", kMetricsPath = "/metrics";

bool is_health(const Request* req) { return req && path_of(req->target) == kHealthPath; }

// Every response passes here: it is counted, and logged unless the access log is off or it is a
// health check (probes every few seconds would bury the requests that matter).
void log_access(const Connection& conn, const Request* req, int status, std::uint64_t body_bytes) {
    count_response(req, status, body_bytes);
    if (!settings.access_log || is_health(req)) return;
    rt::LogLine line("");
    net::put_peer_address(line, conn.peer);
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

// RFC 9112 §9.3: never after "close"; HTTP/1.1 persists otherwise, HTTP/1.0 only with "keep-alive".
bool wants_keep_alive(const Request& req) {
    if (req.has_token("Connection"sv, "close"sv)) return false;
    return req.version_minor >= 1 || req.has_token("Connection"sv, "keep-alive"sv);
}


bool is_type(const sys::stat& st, unsigned type) { return (st.st_mode & sys::S_IFMT) == type; }

void put_string(char* out, std::size_t& len, std::string_view s) {
    __builtin_memcpy(out + len, s.data(), s.size());
    len += s.size();
    out[len] = 0;
}

// 0 when `file` is a regular file to serve, else the status that says why not: 503 for what the
// server lacks at the moment (memory, descriptors: the client may try again), 403 for a file the
// server may not read, and 404 for the rest (missing, outside the root, not a regular file).
int open_status(const OpenFile* file) {
    if (!file) return 503;
    switch (-file->fd) {
    case sys::EMFILE:
    case sys::ENFILE:
    case sys::ENOMEM:
        return 503;
    case sys::EACCES:
        return 403;
    default:
        return file->fd < 0 || !is_type(file->st, sys::S_IFREG) ? 404 : 0;
    }
}

// The header lines that describe a file's representation; a 304 leaves out Content-Type. `vary`:
// the file has a .gz twin, so Accept-Encoding chose this answer, whichever it is (RFC 9110
// §12.5.5), and a cache must not hand it to a client that asks otherwise.
void put_file_lines(rt::Writer& w, std::string_view type, const Validators& v, bool gzip, bool vary, bool with_type) {
    if (with_type) w.put("Content-Type: ").put(type).put("\r\n");
    w.put("Last-Modified: ").put(v.last_modified_view());
    w.put("\r\nETag: ").put(v.etag_view()).put("\r\nAccept-Ranges: bytes\r\n");
    if (gzip) w.put("Content-Encoding: gzip\r\n");
    if (vary) w.put("Vary: Accept-Encoding\r\n");
}

// The whole answer to a plain GET of a small file: 200, kept alive, HTTP/1.1, head and bytes in
// one buffer. It is built once per turn and file (and dropped with the file cache's entry), so
// the many requests a busy turn answers for the same page cost one send each and no formatting.
// Empty when the file is not small, memory is short, or the entry was built for the other of
// FILE and FILE.gz-for-FILE. `name` gives the Content-Type.
std::string_view plain_reply(OpenFile& file, std::string_view name, const Validators& v, bool gzip, bool vary) {
    if (!file.reply) {
        const char* bytes = file_bytes(&file);
        const auto size = static_cast<std::size_t>(file.st.st_size);
        char* reply = bytes ? static_cast<char*>(rt::mem_alloc(kHeadBytes + size)) : nullptr;
        if (!reply) return {};
        rt::Writer head(reply, kHeadBytes);
        put_head_start(head, 200);
        put_file_lines(head, mime_type(name), v, gzip, vary, true);
        head.put("Content-Length: ").put_uint(size).put("\r\n\r\n");
        __builtin_memcpy(reply + head.size(), bytes, size);
        file.reply = reply;
        file.reply_head_len = static_cast<std::uint32_t>(head.size());
        file.reply_len = static_cast<std::uint32_t>(head.size() + size);
        file.reply_gzip = gzip;
    }
    return file.reply_gzip == gzip ? std::string_view(file.reply, file.reply_len) : std::string_view();
}

// The answer for `file`, found for the request under `name` (FILE even when FILE.gz is sent):
// see select_file.
int describe_file(const Request& req, std::string_view name, OpenFile* file, bool gzip, bool vary, rt::Writer& headers,
                  FileBody& body, std::string_view* reply) {
    const sys::stat& st = file->st;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const Validators& v = validators_of(st, gzip);
    // The dates a client sends back are the Last-Modified it was given: compare them with that.
    const Selection sel = select_representation(req, v.etag_view(), v.shown, size, rt::thread_clock().wall_seconds);
    if (sel.status == 416) headers.put("Content-Range: bytes */").put_uint(size).put("\r\n");
    if (sel.status == 412 || sel.status == 416) return sel.status;
    if (sel.status == 200 && reply) {
        *reply = plain_reply(*file, name, v, gzip, vary);
        if (!reply->empty()) {
            if (req.method == "HEAD"sv) *reply = reply->substr(0, file->reply_head_len);
            return 200;
        }
    }
    if (sel.status == 206) {
        headers.put("Content-Range: bytes ").put_uint(sel.first).put('-').put_uint(sel.first + sel.length - 1);
        headers.put('/').put_uint(size).put("\r\n");
    }
    put_file_lines(headers, mime_type(name), v, gzip, vary, sel.status != 304);
    body = {file->fd, file_bytes(file), sel.first, sel.length};
    return sel.status;
}

// Chooses the answer to a GET or HEAD for a file under the root: returns the status, with the
// response's own header lines in `headers` and, for 200/206, the bytes of `file` to send. When
// `reply` is non-null (a request answered 200 and kept alive, HTTP/1.1) and the answer is a
// plain_reply, `reply` is set to the bytes to send instead (the head alone for HEAD).
// `file` is the caller's to release, whatever the status.
int select_file(const Request& req, rt::Writer& headers, FileBody& body, OpenFile*& file, std::string_view* reply) {
    constexpr std::string_view kIndex = "/index.html", kGzip = ".gz";
    // The decoded path is never longer than the target; most fit on the stack.
    const std::size_t capacity = req.target.size() + kIndex.size() + kGzip.size() + 1;
    char short_path[256];
    char* path = capacity <= sizeof short_path ? short_path : static_cast<char*>(rt::mem_alloc(capacity));
    if (!path) return 503;
    const PathResult p = normalize_path(req.target, path);
    std::size_t len = p.length;
    int status = p.status ? p.status : p.hidden ? 404 : 0;
    if (!status) {
        file = open_file(settings.root_fd, len ? std::string_view(path, len) : "."sv);
        if (file && file->fd >= 0 && is_type(file->st, sys::S_IFDIR)) {
            release(file);
            file = nullptr;
            // A directory is served as "dir/" only: named without its slash, or as "dir/x/..",
            // the links in its index would resolve against the wrong base. Send it there.
            if ((!p.trailing_slash || p.dot_end) && len) {
                status = 301;
            } else {  // a directory serves its index.html, never a listing
                put_string(path, len, len ? kIndex : kIndex.substr(1));
                file = open_file(settings.root_fd, {path, len});
            }
        } else if (p.trailing_slash && file && file->fd >= 0) {
            status = 404;  // "page.html/" names a directory, and there is none
        }
        if (!status) status = open_status(file);
    }
    // The redirect names the directory as found, escaped: never the target's own text, in which
    // "//host/..%2fdir" would make "Location: //host/..%2fdir/", a link to another site.
    if (status == 301) {
        headers.put("Location: /");
        put_uri_escaped(headers, {path, len});
        headers.put('/');
        put_uri_escaped(headers, query_of(req.target), true);
        headers.put("\r\n");
        // Escaping can triple a path or query of up to 8 KiB. When the whole path does not fit,
        // its last segment alone may (a name is at most 255 bytes), relative to the target,
        // if the target's own last segment is that name. Else, rather than redirect to a cut
        // Location, refuse it as a target too long to serve.
        if (headers.overflowed()) {
            headers.clear();
            const std::size_t slash = std::string_view(path, len).rfind('/');
            const std::string_view last = std::string_view(path, len).substr(slash == std::string_view::npos ? 0 : slash + 1);
            if (last_segment_is(req.target, last)) {
                headers.put("Location: ./");
                put_uri_escaped(headers, last);
                headers.put('/');
                put_uri_escaped(headers, query_of(req.target), true);
                headers.put("\r\n");
            }
            if (headers.overflowed() || headers.size() == 0) headers.clear(), status = 414;
        }
    }
    // gzip_static: FILE.gz beside FILE is sent to a client that takes gzip. Its existence is
    // looked up for every client, as either answer then carries Vary (the file cache keeps the
    // lookup, found or not, for the rest of the turn).
    const std::size_t name_len = len;
    bool gzip = false, twin = false;
    if (!status) {
        put_string(path, len, kGzip);
        OpenFile* gz = open_file(settings.root_fd, {path, len});
        twin = gz && gz->fd >= 0 && is_type(gz->st, sys::S_IFREG);
        gzip = twin && accepts_gzip(req);
        release(gzip ? file : gz);
        if (gzip) file = gz;
    }
    if (!status) status = describe_file(req, {path, name_len}, file, gzip, twin, headers, body, reply);
    if (path != short_path) rt::mem_free(path);
    return status;
}

// Answers one parsed request for `path` (its target's path). Returns 1 to keep the connection,
// 0 to close it, or -errno.
ex::Task<int> answer(Connection& conn, const Request& req, std::string_view path) {
    rt::FixedWriter<kHeadBytes> headers;
    FileBody body;
    OpenFile* file = nullptr;
    int status = 501;
    char* text = nullptr;  // a generated body (/metrics)
    std::string_view text_body;
    const bool get = req.method == "GET"sv || req.method == "HEAD"sv;
    if (get && path == kHealthPath) {
        status = 200;
        headers.put("Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n");
        text_body = "ok\n";
    } else if (get && path == kMetricsPath) {
        int workers;
        ex::workers(workers);
        const std::size_t capacity = metrics_capacity(workers);
        text = static_cast<char*>(rt::mem_alloc(capacity));
        status = 503;
        if (text) {
            rt::Writer w(text, capacity);
            write_metrics(w, settings.metrics);
            status = w.overflowed() ? 500 : 200;  // never a cut exposition
            if (status == 200) text_body = w.view();
            if (status == 200) headers.put("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\nCache-Control: no-store\r\n");
        }
    } else if (get) {
        std::string_view reply;
        const bool plain = req.version_minor == 1 && wants_keep_alive(req) && !ex::stopping();
        status = select_file(req, headers, body, file, plain ? &reply : nullptr);
        if (!reply.empty()) {
            conn.answering = true;
            sys::iovec iov{reply.data(), reply.size()};
            const long r = co_await net::send_all(conn.fd, &iov, 1, settings.send_timeout_ns, false);
            log_access(conn, &req, 200, r > 0 ? reply.size() - file->reply_head_len : 0);
            release(file);
            co_return r < 0 ? static_cast<int>(r) : 1;
        }
    } else {
        for (std::string_view m : {"POST"sv, "PUT"sv, "DELETE"sv, "PATCH"sv, "OPTIONS"sv})
            if (req.method == m) status = 405;
        if (status == 405) headers.put("Allow: GET, HEAD\r\n");
        if (req.method == "OPTIONS"sv) status = 204;
    }
    const bool keep = wants_keep_alive(req) && status != 400 && status != 501 && !ex::stopping();
    const long r = co_await send_response(conn, &req, status, headers.view(), text_body, !keep, req.method == "HEAD"sv, body);
    release(file);
    rt::mem_free(text);
    co_return r < 0 ? static_cast<int>(r) : keep;
}

// Reads past the request body that follows the head at conn.buf[head_end], keeping the head
// intact (the Request points into it). On success `next` is where the following request starts.
// `drained` is kept as the connection loop keeps it: whether the last receive was a short one.
// Returns 0; an HTTP status for a bad or oversized body, one cut short by the client's end of
// stream (400) or one not all sent within --body-timeout (408); or -errno.
ex::Task<int> discard_body(Connection& conn, std::size_t head_end, const BodyFraming& framing, std::size_t& next,
                           bool& drained) {
    std::size_t pos = head_end;
    std::uint64_t left = framing.length;
    ChunkedDecoder chunked;
    const std::int64_t deadline = deadline_in(settings.body_timeout_ns);
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
        drained = n > 0 && static_cast<std::size_t>(n) < kReadBufferBytes - head_end;
        if (n <= 0) co_return n == 0 ? 400 : n == -sys::ETIMEDOUT ? 408 : static_cast<int>(n);
        conn.len += static_cast<std::size_t>(n);
    }
    next = pos;
    co_return 0;
}

// The read buffer and the Request, in one block: a connection holds them only while it has a
// request to read or answer. False when out of memory.
void release_buffers(Connection& conn) {
    rt::mem_free(conn.buf);
    conn.request = nullptr, conn.buf = nullptr;
}

// 503 for a connection there is no room for (the connection limit reached, or the heap used
// up), sent from the stack: it needs nothing that could itself be out of memory. Logged as an
// access like any answer.
void send_unavailable(const Connection& conn) {
    rt::FixedWriter<kHeadBytes> head;
    put_head_start(head, 503);
    head.put("Retry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    sys::send(conn.fd, head.data(), head.size(), sys::MSG_DONTWAIT | sys::MSG_NOSIGNAL);
    log_access(conn, nullptr, 503, 0);
}

// The heap has no room for what `conn` needs now (`what`): 503, then a lingering close (which
// needs no memory), so the request it sent is read, not met with a reset.
void out_of_memory(Connection& conn, std::string_view what) {
    rt::LogLine("error").put(" 503: out of memory for ").put(what);
    send_unavailable(conn);
    conn.linger = true;
}

static_assert(kReadBufferBytes % alignof(Request) == 0);
// False when out of memory (see out_of_memory).
bool take_buffers(Connection& conn) {
    conn.buf = static_cast<char*>(rt::mem_alloc(kReadBufferBytes + sizeof(Request)));
    if (conn.buf) {
        conn.request = reinterpret_cast<Request*>(conn.buf + kReadBufferBytes);  // the parser fills it
        return true;
    }
    out_of_memory(conn, "a connection's buffers");
    return false;
}

ex::DetachedTask serve(int fd, sys::sockaddr_any peer) {
    Connection conn{fd, peer, nullptr, 0, nullptr};
    ++ex::this_worker().open_connections;
    std::int64_t head_deadline = 0;
    bool taken = false;    // by an upgrade
    bool drained = false;  // the last receive emptied the socket
    int answers = 0;       // since the task last waited
    while (conn.buf || take_buffers(conn)) {
        Request* const req = conn.request;
        const ParseResult pr = parse_request({conn.buf, conn.len}, *req);
        if (pr.kind == ParseResult::incomplete) {
            if (conn.len == kReadBufferBytes) {  // the parser's limits answer first; a last guard
                co_await send_response(conn, nullptr, 431, "", "", true);
                break;
            }
            // The header timeout runs from a request's first byte and is not renewed by later
            // bytes, so a client trickling a head slowly cannot hold the slot.
            const bool idle = conn.len == 0;
            if (idle && ex::stopping()) break;
            if (idle && drained) {
                // Between requests, and the last receive emptied the socket: wait for the next
                // one without buffers, so an idle keep-alive connection costs its task's frame
                // and nothing else. (Bytes that came in the meantime end the wait at once: ppoll
                // and io_uring's poll are level-triggered, and the epoll registry keeps an edge
                // that came while nobody waited. So the receive that would find the socket
                // empty is saved.)
                release_buffers(conn);
                const int w = co_await net::WaitReady{fd, sys::POLLIN, deadline_in(settings.keep_alive_timeout_ns), true};
                if (w < 0 && w != -sys::ETIMEDOUT && w != -sys::ECANCELED) log_error(conn, "wait failed", w);
                if (w < 0) break;
                drained = false;
                answers = 0;
                continue;
            }
            if (!idle && !head_deadline) head_deadline = deadline_in(settings.header_timeout_ns);
            const std::size_t room = kReadBufferBytes - conn.len;
            const long n = co_await net::recv(fd, conn.buf + conn.len, room,
                                              idle ? deadline_in(settings.keep_alive_timeout_ns) : head_deadline, idle);
            drained = n > 0 && static_cast<std::size_t>(n) < room;
            if (n == -sys::ETIMEDOUT && !idle) co_await send_response(conn, nullptr, 408, "", "", true);
            if (n < 0 && n != -sys::ETIMEDOUT && n != -sys::ECANCELED) log_error(conn, "receive failed", n);
            if (n <= 0) break;
            conn.len += static_cast<std::size_t>(n);
            continue;
        }
        if (pr.kind == ParseResult::error) {
            co_await send_response(conn, nullptr, pr.status, "", "", true);
            break;
        }
        head_deadline = 0;
        const BodyFraming framing = check_framing(*req);
        if (framing.status) {
            co_await send_response(conn, req, framing.status, "", "", true);
            break;
        }
        std::size_t next = pr.consumed;
        if (framing.kind != BodyFraming::none) {
            // A client that asked to be told before it sends its body waits for "100 Continue"
            // (RFC 9110 §10.1.1), unless some of the body has come anyway. Its socket has room
            // for it unless the client stopped reading our answers; then it gets none and sends
            // the body after its own timeout.
            if (conn.len == pr.consumed && req->version_minor >= 1 && req->has_token("Expect"sv, "100-continue"sv)) {
                constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                const long n = sys::send(fd, kContinue.data(), kContinue.size(), sys::MSG_DONTWAIT | sys::MSG_NOSIGNAL);
                if (n > 0 && n < static_cast<long>(kContinue.size())) break;  // half a line: nothing sane follows
            }
            const int r = co_await discard_body(conn, pr.consumed, framing, next, drained);
            if (r == ex::kAllocFailed) {
                out_of_memory(conn, "a request body");
                break;
            }
            if (r > 0) co_await send_response(conn, req, r, "", "", true);
            if (r < 0) log_error(conn, "request body cut short", r);
            if (r != 0) break;
        }
        // An upgrade takes the connection over, and it is called from here rather than from
        // answer() so that answer's frame, with its header buffer, is not held while it runs.
        // The new protocol's bytes begin after the request's body, if it had one.
        const std::string_view path = path_of(req->target);
        if (settings.upgrade && is_upgrade_path(path)) {
            taken = co_await settings.upgrade(conn, *req, next) == 1;
            break;
        }
        conn.answering = false;
        const int keep = co_await answer(conn, *req, path);
        if (keep == ex::kAllocFailed && !conn.answering) {  // nothing went out: there is room for a 503
            out_of_memory(conn, "an answer");
            break;
        }
        if (keep < 0) log_error(conn, "response cut short", keep);
        if (keep <= 0) break;
        if (++answers == kAnswersBeforeYield) {
            answers = 0;
            co_await net::WaitReady{-1, 0, 0};  // a timer that has already run out
        }
        // Keep whatever follows the request: the next pipelined one.
        conn.len -= next;
        __builtin_memmove(conn.buf, conn.buf + next, conn.len);
    }
    // After an error answer the client may still be sending: the rest of a body it was refused,
    // or requests behind a bad one; after a large answer, a request it sends anyway. Closing with
    // bytes unread makes the kernel reset the connection: a client still writing then sees
    // "connection reset" where it should read the answer, and what is still queued for it is
    // dropped (the staged close of RFC 9112 §9.6). So end our side (FIN after the answer),
    // then read and drop what comes until the client ends its side or --linger-timeout passes.
    // It holds no buffer, a client that floods cannot hold the worker (drain_input), and a
    // graceful stop ends it: at once when it is waiting (the wait is idle), else at its next turn.
    release_buffers(conn);
    if (conn.linger && settings.linger_ns > 0 && !ex::stopping()) {
        sys::shutdown(fd, sys::SHUT_WR);
        const std::int64_t until = deadline_in(settings.linger_ns);
        bool more;
        while (net::drain_input(fd, more) && rt::thread_clock().monotonic_ns < until && !ex::stopping()) {
            const int w = co_await net::WaitReady{fd, sys::POLLIN, more ? 0 : until, true};  // 0: others first
            if (w < 0 && !(more && w == -sys::ETIMEDOUT)) break;
        }
    }
    if (!taken) close_connection(fd);
}

// No room for a new connection (the connection limit, or no memory for its task): answer 503
// at once, without a task or a buffer, and close. The request already received is read first,
// so closing does not reset the connection before the client has read the answer.
void refuse(int fd, const sys::sockaddr_any& peer) {
    bool more;
    net::drain_input(fd, more);  // up to 64 KiB: a pipelined burst, not only the first request
    send_unavailable({fd, peer, nullptr, 0, nullptr});
    sys::close(fd);
}

}  // namespace

void configure(const Config& c) { settings = c; }

void close_connection(int fd) {
    sys::close(fd);
    --ex::this_worker().open_connections;
    open_connections.fetch_add(-1, rt::relaxed);
}
const Config& config() { return settings; }

void on_connection(int fd, const sys::sockaddr_any& peer) {
    stats().accepted.add();
    if (open_connections.fetch_add(1, rt::relaxed) >= settings.max_connections) {
        open_connections.fetch_add(-1, rt::relaxed);
        refuse(fd, peer);
        return;
    }
    if (!serve(fd, peer).started) {
        rt::LogLine("error").put(" 503: out of memory for a connection's task");  // nothing to linger with
        open_connections.fetch_add(-1, rt::relaxed);
        refuse(fd, peer);
    }
}

ex::Task<long> send_response(Connection& conn, const Request* req, int status, std::string_view extra_headers,
                             std::string_view body, bool close, bool head_only, FileBody file) {
    if (file.bytes) body = {file.bytes + file.first, static_cast<std::size_t>(file.length)}, file.fd = -1;
    rt::FixedWriter<kHeadBytes + kStatusLinesBytes> head;
    put_head_start(head, status);
    head.put(extra_headers);
    rt::FixedWriter<256> page;
    if (status >= 400 && body.empty()) {  // an error gets a small page saying what it is
        head.put("Content-Type: text/html; charset=utf-8\r\n");
        page.put("<!doctype html><title>").put(status_text(status)).put("</title><h1>").put(status_text(status));
        page.put("</h1>\n");
        body = page.view();
    }
    const std::uint64_t length = file.fd >= 0 ? file.length : body.size();
    const bool bodiless = status_has_no_body(status);
    if (!bodiless) head.put("Content-Length: ").put_uint(length).put("\r\n");
    // A 426 names the protocol to upgrade to (an Upgrade line in extra_headers), and a sender of
    // Upgrade lists "upgrade" in Connection too (RFC 9110 §7.8).
    if (close) head.put(status == 426 ? "Connection: upgrade, close\r\n" : "Connection: close\r\n");
    else if (req && req->version_minor == 0 && status != 101) head.put("Connection: keep-alive\r\n");
    head.put("\r\n");
    // Never a head cut short: the client would read the next answer as the rest of it.
    if (head.overflowed()) co_return -sys::ENOBUFS;
    const bool send_body = !bodiless && !head_only && length > 0;
    const bool text = send_body && file.fd < 0;
    // When the client asked to close, the last segment is held back (MSG_MORE) and the
    // shutdown right after it sets FIN on it and sends both: a packet less each way. The
    // shutdown, not the close, sends them: a request the client sends anyway (RFC 9112 §9.6
    // says it must not) would make the close a reset, and a reset drops what is still held.
    // Never for an error, after which serve() lingers instead (conn.linger), or for a stop.
    const bool client_closes = close && req && status < 400 && !wants_keep_alive(*req);
    sys::iovec iov[2] = {{head.data(), head.size()}, {body.data(), body.size()}};
    conn.answering = true;
    long r = co_await net::send_all(conn.fd, iov, text ? 2 : 1, settings.send_timeout_ns,
                                    (send_body && !text) || client_closes);
    std::uint64_t sent = text && r > 0 ? body.size() : 0;
    if (r >= 0 && send_body && !text)
        r = co_await net::send_file(conn.fd, file.fd, static_cast<long>(file.first), file.length, settings.send_timeout_ns, sent);
    if (r >= 0 && client_closes) sys::shutdown(conn.fd, sys::SHUT_WR);
    // A file sent with sendfile may still be queued here when the connection closes; a request
    // the client sends anyway would then reset it and drop the rest. So that, like an error,
    // lingers; so does a small answer that has not all been taken yet (a client with a small
    // window, or one more than a first flight), which the kernel's send queue tells. One that
    // has left with its FIN closes at once.
    conn.linger = r >= 0 && close &&
                  (status >= 400 || (send_body && !text) || (client_closes && net::send_queue(conn.fd).pending));
    log_access(conn, req, status, sent);
    co_return r;
}

}  // namespace http
