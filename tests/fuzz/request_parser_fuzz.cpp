// tests/fuzz/request_parser_fuzz.cpp — libFuzzer target for http::parse_request
// (http/request_parser.h), then http::check_framing and http::ChunkedDecoder (http/body.h) the
// way the connection loop (http/server.cpp) chains them over pipelined requests.
//
// Input: byte 0 flags (bit 0: expand "\xff N c" runs, see fuzz_check.h, in units of 64 bytes),
// bytes 1-2 a split point (little-endian, taken modulo size + 1), then the bytes received.
//
// Invariants checked:
//  - complete: consumed <= size, the head ends in LF, and every string_view (method, target,
//    header names and values) lies inside the head; the fields are well formed (tchar method
//    and names, no CTL in target or values, values trimmed); header() finds the first field;
//  - error: status is 400, 414, 431 or 505; incomplete: nothing consumed;
//  - split reads: the first part alone, parsed from its own exactly-sized buffer, is
//    incomplete, or complete with exactly the whole's result (consumed, and fields at the same
//    offsets), or an error that the whole is too (same status only with kSameErrorStatus);
//    with a complete whole, a first part shorter than the head is incomplete; one byte short
//    of a complete head is incomplete, exactly the head is the same result;
//  - check_framing: status 0/400/413/501, and kind, length and status agree with the headers;
//  - ChunkedDecoder on the bytes after the head: consumed <= available, done and status
//    exclusive, not done and no error means everything was consumed.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/body.h"
#include "http/request_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using http::ParseResult;
using http::Request;

// Whether a head rejected from its first part must be rejected with the same status when it
// arrives whole. Off: today "GET /<9000 bytes>\r\r..." is 414 from a first read of 8 KiB and
// 400 in one read (line_end's bad CR is reported before the line's length is checked).
constexpr bool kSameErrorStatus = true;

bool is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool inside(std::string_view v, const char* base, std::size_t n) {
    return v.data() != nullptr && v.data() >= base && v.data() + v.size() <= base + n;
}

// The invariants of one result on its own.
void check_result(const ParseResult& r, const Request& req, const char* base, std::size_t n) {
    switch (r.kind) {
    case ParseResult::incomplete:
        FUZZ_CHECK(r.consumed == 0 && r.status == 0);
        break;
    case ParseResult::error:
        FUZZ_CHECK(r.status == 400 || r.status == 414 || r.status == 431 || r.status == 505);
        FUZZ_CHECK(r.consumed == 0);
        break;
    case ParseResult::complete: {
        FUZZ_CHECK(r.status == 0);
        // The smallest head is "A / HTTP/1.1\n\n".
        FUZZ_CHECK(r.consumed >= 14 && r.consumed <= n);
        FUZZ_CHECK(base[r.consumed - 1] == '\n');
        FUZZ_CHECK(inside(req.method, base, r.consumed) && !req.method.empty());
        for (char c : req.method) FUZZ_CHECK(is_tchar(static_cast<unsigned char>(c)));
        FUZZ_CHECK(inside(req.target, base, r.consumed) && !req.target.empty());
        for (char c : req.target) FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && c != 0x7f);
        FUZZ_CHECK(req.version_minor >= 0 && req.version_minor <= 9);
        FUZZ_CHECK(req.header_count >= 0 && req.header_count <= http::kMaxHeaders);
        // The head proper (after any leading empty lines) is within the limit.
        std::size_t head_start = 0;
        while (base[head_start] == '\r' || base[head_start] == '\n') ++head_start;
        FUZZ_CHECK(req.method.data() == base + head_start);
        FUZZ_CHECK(r.consumed - head_start <= http::kMaxHeadBytes);
        for (int i = 0; i < req.header_count; ++i) {
            const http::Header& h = req.headers[i];
            FUZZ_CHECK(inside(h.name, base, r.consumed) && !h.name.empty());
            FUZZ_CHECK(inside(h.value, base, r.consumed));
            for (char c : h.name) FUZZ_CHECK(is_tchar(static_cast<unsigned char>(c)));
            FUZZ_CHECK(h.name.data() + h.name.size() < base + r.consumed && h.name.data()[h.name.size()] == ':');
            for (char c : h.value) {
                const auto u = static_cast<unsigned char>(c);
                FUZZ_CHECK(u >= 0x20 ? u != 0x7f : u == '\t');
            }
            if (!h.value.empty()) {
                FUZZ_CHECK(h.value.front() != ' ' && h.value.front() != '\t');
                FUZZ_CHECK(h.value.back() != ' ' && h.value.back() != '\t');
            }
            // header() returns the first field of that name.
            const std::string_view found = req.header(h.name);
            int first = 0;
            while (!http::equals_ignore_case(req.headers[first].name, h.name)) ++first;
            FUZZ_CHECK(found.data() == req.headers[first].value.data() && found.size() == req.headers[first].value.size());
        }
        break;
    }
    }
}

bool same_view(std::string_view a, const char* abase, std::string_view b, const char* bbase) {
    return a.size() == b.size() && a.data() - abase == b.data() - bbase;
}

// Two results of parsing the same bytes (from different buffers) are the same.
bool same_result(const ParseResult& a, const Request& ra, const char* abase, const ParseResult& b,
                 const Request& rb, const char* bbase) {
    if (a.kind != b.kind) return false;
    if (a.kind == ParseResult::error) return a.status == b.status;
    if (a.kind == ParseResult::incomplete) return true;
    if (a.consumed != b.consumed || ra.version_minor != rb.version_minor || ra.header_count != rb.header_count)
        return false;
    if (!same_view(ra.method, abase, rb.method, bbase) || !same_view(ra.target, abase, rb.target, bbase)) return false;
    for (int i = 0; i < ra.header_count; ++i)
        if (!same_view(ra.headers[i].name, abase, rb.headers[i].name, bbase) ||
            !same_view(ra.headers[i].value, abase, rb.headers[i].value, bbase))
            return false;
    return true;
}

void check_framing(const Request& req, const http::BodyFraming& f) {
    FUZZ_CHECK(f.status == 0 || f.status == 400 || f.status == 413 || f.status == 501);
    int hosts = 0, lengths = 0, codings = 0;
    for (int i = 0; i < req.header_count; ++i) {
        hosts += http::equals_ignore_case(req.headers[i].name, "Host");
        lengths += http::equals_ignore_case(req.headers[i].name, "Content-Length");
        codings += http::equals_ignore_case(req.headers[i].name, "Transfer-Encoding");
    }
    if (f.status != 0) {
        FUZZ_CHECK(f.kind == http::BodyFraming::none && f.length == 0);
        return;
    }
    // Accepted: exactly one Host in HTTP/1.1 (at most one in 1.0), no TE with CL.
    FUZZ_CHECK(hosts == 1 || (req.version_minor == 0 && hosts == 0));
    FUZZ_CHECK(!(lengths && codings));
    switch (f.kind) {
    case http::BodyFraming::none:
        FUZZ_CHECK(codings == 0 && f.length == 0);
        break;
    case http::BodyFraming::sized:
        FUZZ_CHECK(lengths >= 1 && f.length >= 1 && f.length <= http::kMaxBodyBytes);
        break;
    case http::BodyFraming::chunked:
        FUZZ_CHECK(codings == 1 && req.version_minor >= 1 && f.length == 0);
        FUZZ_CHECK(http::equals_ignore_case(req.header("Transfer-Encoding"), "chunked"));
        break;
    default:
        FUZZ_CHECK(false);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::uint8_t flags = size > 0 ? data[0] : 0;
    const std::uint64_t split_raw = size > 1 ? fuzz::load_le(data + 1, size > 2 ? 2 : 1) : 0;
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    raw.remove_prefix(size < 3 ? size : 3);
    const fuzz::Bytes whole((flags & 1) ? std::string_view(fuzz::expand(raw, 64, 64 * 1024)) : raw);
    const std::size_t n = whole.size;

    auto req = std::make_unique<Request>();
    const ParseResult r = http::parse_request(whole.view(), *req);
    check_result(r, *req, whole.data(), n);

    // The same bytes arriving in two reads: the first read alone is incomplete or final.
    const std::size_t split = static_cast<std::size_t>(split_raw % (n + 1));
    {
        const fuzz::Bytes part(whole.view().substr(0, split));
        auto preq = std::make_unique<Request>();
        const ParseResult pr = http::parse_request(part.view(), *preq);
        check_result(pr, *preq, part.data(), part.size);
        if (pr.kind == ParseResult::complete)
            FUZZ_CHECK(same_result(pr, *preq, part.data(), r, *req, whole.data()));
        // An error is final: more bytes cannot make the head acceptable. (The status may differ:
        // a head over a size limit is 414/431 as soon as the limit is passed, but 400 if the
        // whole of it arrives at once with a bad byte after the limit; see kSameErrorStatus.)
        if (pr.kind == ParseResult::error) {
            FUZZ_CHECK(r.kind == ParseResult::error);
            if (kSameErrorStatus) FUZZ_CHECK(pr.status == r.status);
        }
        if (r.kind == ParseResult::complete && split < r.consumed) FUZZ_CHECK(pr.kind == ParseResult::incomplete);
    }
    if (r.kind == ParseResult::complete) {
        // One byte short of the empty line is incomplete; exactly the head is the same result.
        const fuzz::Bytes short_by_one(whole.view().substr(0, r.consumed - 1));
        auto sreq = std::make_unique<Request>();
        FUZZ_CHECK(http::parse_request(short_by_one.view(), *sreq).kind == ParseResult::incomplete);
        const fuzz::Bytes exact(whole.view().substr(0, r.consumed));
        const ParseResult er = http::parse_request(exact.view(), *sreq);
        FUZZ_CHECK(same_result(er, *sreq, exact.data(), r, *req, whole.data()));
    }

    // The connection loop: head, framing, body, next pipelined head.
    std::size_t pos = 0;
    for (int round = 0; round < 32 && pos < n; ++round) {
        const std::string_view rest = whole.view().substr(pos);
        const ParseResult pr = round == 0 ? r : http::parse_request(rest, *req);
        if (round > 0) check_result(pr, *req, rest.data(), rest.size());
        if (pr.kind != ParseResult::complete) break;
        const http::BodyFraming f = http::check_framing(*req);
        check_framing(*req, f);
        if (f.status) break;
        std::size_t next = pos + pr.consumed;
        if (f.kind == http::BodyFraming::sized) {
            if (n - next < f.length) break;
            next += static_cast<std::size_t>(f.length);
        } else if (f.kind == http::BodyFraming::chunked) {
            http::ChunkedDecoder dec;
            const std::size_t avail = n - next;
            const auto cr = dec.feed(whole.data() + next, avail);
            FUZZ_CHECK(cr.consumed <= avail);
            FUZZ_CHECK(cr.status == 0 || cr.status == 400 || cr.status == 413);
            if (cr.status) {
                FUZZ_CHECK(!cr.done);
                break;
            }
            if (!cr.done) {
                FUZZ_CHECK(cr.consumed == avail);
                break;
            }
            // "0\r\n\r\n" at least, ending in LF.
            FUZZ_CHECK(cr.consumed >= 5 && whole.data()[next + cr.consumed - 1] == '\n');
            next += cr.consumed;
        }
        FUZZ_CHECK(next > pos && next <= n);
        pos = next;
    }
    return 0;
}
