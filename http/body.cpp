// http/body.cpp — see body.h.
#include "http/body.h"

#include "http/path.h"
#include "runtime/format.h"

namespace http {

using namespace std::string_view_literals;

namespace {
// A chunked body may carry kMaxBodyBytes of data plus this much framing (sizes, extensions,
// trailers); past that: 413.
constexpr std::uint64_t kMaxChunkedBytes = kMaxBodyBytes + 64 * 1024;
}  // namespace
namespace {

// Parses a Content-Length value: one or more digits, or a list of identical numbers ("5, 5",
// which some intermediaries produce when merging). Returns false if not.
bool parse_content_length(std::string_view v, std::uint64_t& out, bool& seen) {
    std::size_t i = 0;
    for (;;) {
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
        std::uint64_t n = 0;
        const std::size_t start = i;
        while (i < v.size() && v[i] >= '0' && v[i] <= '9') {
            if (n > (UINT64_MAX - 9) / 10) return false;
            n = n * 10 + static_cast<std::uint64_t>(v[i++] - '0');
        }
        if (i == start) return false;
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
        if (seen && n != out) return false;
        out = n, seen = true;
        if (i == v.size()) return true;
        if (v[i++] != ',') return false;
    }
}

// Host = uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2): a reg-name, an IPv4 address or
// a bracketed IP literal, so only these characters. Anything else (a space, '/', '@') is invalid.
bool valid_host(std::string_view v) {
    for (const char c : v)
        if (!is_uri_char(c, "%[]"sv)) return false;
    return true;
}

}  // namespace

BodyFraming check_framing(const Request& req) {
    int hosts = 0;
    bool has_length = false, has_te = false;
    std::uint64_t length = 0;
    std::string_view te;
    for (int i = 0; i < req.header_count; ++i) {
        const Header& h = req.headers[i];
        if (equals_ignore_case(h.name, "Host"sv)) {
            if (!valid_host(h.value)) return {BodyFraming::none, 400, 0};
            ++hosts;
        } else if (equals_ignore_case(h.name, "Content-Length"sv)) {
            if (!parse_content_length(h.value, length, has_length)) return {BodyFraming::none, 400, 0};
        } else if (equals_ignore_case(h.name, "Transfer-Encoding"sv)) {
            if (has_te) return {BodyFraming::none, 501, 0};  // a coding list split over fields
            has_te = true;
            te = h.value;
        }
    }
    if (hosts > 1 || (req.version_minor >= 1 && hosts == 0)) return {BodyFraming::none, 400, 0};
    if (has_te) {
        if (has_length || req.version_minor == 0) return {BodyFraming::none, 400, 0};
        if (!equals_ignore_case(te, "chunked"sv)) return {BodyFraming::none, 501, 0};
        return {BodyFraming::chunked, 0, 0};
    }
    if (length > kMaxBodyBytes) return {BodyFraming::none, 413, 0};
    if (length > 0) return {BodyFraming::sized, 0, length};
    return {BodyFraming::none, 0, 0};
}

ChunkedDecoder::Result ChunkedDecoder::feed(const char* p, std::size_t n) {
    std::size_t i = 0;
    auto fail = [&](std::uint16_t status) { return Result{i, false, status}; };
    while (i < n) {
        if (++total_ > kMaxChunkedBytes) return fail(413);
        const char c = p[i];
        switch (state_) {
        case size: {
            const int d = rt::hex_value(c);
            if (d >= 0) {
                if (++size_digits_ > 15) return fail(400);  // no chunk needs more than 60 bits
                chunk_left_ = chunk_left_ << 4 | static_cast<std::uint64_t>(d);
                break;
            }
            if (size_digits_ == 0) return fail(400);
            if (c == ';' || c == ' ' || c == '\t') state_ = size_ext;
            else if (c == '\r') state_ = size_lf;
            else return fail(400);
            break;
        }
        case size_ext:  // chunk-ext, skipped; no CR may appear before its CRLF
            if (c == '\r') state_ = size_lf;
            else if (c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\t')) return fail(400);
            break;
        case size_lf:
            if (c != '\n') return fail(400);
            size_digits_ = 0;
            if (chunk_left_ == 0) {
                state_ = trailer_start;
            } else {
                if (chunk_left_ > kMaxBodyBytes) return fail(413);
                state_ = data;
            }
            break;
        case data: {
            const std::uint64_t avail = n - i;
            std::uint64_t take = avail < chunk_left_ ? avail : chunk_left_;
            // total_ already counts byte i. Stop at the limit, so that the next byte fails with
            // 413 at the same place however the input was cut.
            if (take > kMaxChunkedBytes + 1 - total_) take = kMaxChunkedBytes + 1 - total_;
            chunk_left_ -= take;
            total_ += take - 1;  // the loop head already counted one
            i += static_cast<std::size_t>(take);
            if (chunk_left_ == 0) state_ = data_cr;
            continue;
        }
        case data_cr:
            if (c != '\r') return fail(400);
            state_ = data_lf;
            break;
        case data_lf:
            if (c != '\n') return fail(400);
            state_ = size;
            break;
        case trailer_start:  // either the final CRLF, or a trailer field line
            if (c == '\r') state_ = end_lf;
            else state_ = trailer;
            break;
        case trailer:
            if (c == '\r') state_ = trailer_lf;
            else if (c == '\n') return fail(400);
            break;
        case trailer_lf:
            if (c != '\n') return fail(400);
            state_ = trailer_start;
            break;
        case end_lf:
            if (c != '\n') return fail(400);
            return {i + 1, true, 0};
        }
        ++i;
    }
    return {i, false, 0};
}

}  // namespace http
