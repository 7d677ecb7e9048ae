// http/body.cpp — see body.h.
#include "http/body.h"

#include "http/path.h"
#include "runtime/format.h"

namespace http {

using namespace std::string_view_literals;

namespace {
// A chunked body may carry kMaxBodyBytes of data (as a Content-Length may) and this much framing
// (sizes, extensions, trailers) with it; past either: 413.
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

// Host = uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2). uri-host is a bracketed IP
// literal (hex digits, ':' and '.' inside, or an IPvFuture "v…"), or a reg-name: unreserved and
// sub-delims characters and %XX escapes, which covers an IPv4 address. port is digits.
bool valid_host(std::string_view v) {
    std::size_t i = 0;
    if (!v.empty() && v[0] == '[') {
        const std::size_t close = v.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        const bool future = (v[1] | 0x20) == 'v';
        for (i = 1; i < close; ++i)
            if (future ? !is_uri_char(v[i], ""sv) : rt::hex_value(v[i]) < 0 && v[i] != ':' && v[i] != '.') return false;
        ++i;
    } else {
        for (; i < v.size() && v[i] != ':'; ++i) {
            if (v[i] == '%') {
                if (i + 2 >= v.size() || rt::hex_value(v[i + 1]) < 0 || rt::hex_value(v[i + 2]) < 0) return false;
                i += 2;
            } else if (!is_uri_char(v[i], ""sv)) {
                return false;
            }
        }
    }
    if (i == v.size()) return true;
    if (v[i++] != ':') return false;
    for (; i < v.size(); ++i)
        if (v[i] < '0' || v[i] > '9') return false;
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
            if (c == ' ' || c == '\t') state_ = size_ws;
            else if (c == ';') state_ = size_ext;
            else if (c == '\r') state_ = size_lf;
            else return fail(400);
            break;
        }
        case size_ws:  // whitespace after the size: then an extension's ';' or the line's end
            if (c == ';') state_ = size_ext;
            else if (c == '\r') state_ = size_lf;
            else if (c != ' ' && c != '\t') return fail(400);
            break;
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
                if ((data_ += chunk_left_) > kMaxBodyBytes) return fail(413);  // no overflow: 60 bits each
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
        case trailer_start:  // the final CRLF, or a trailer field line: a name, ':', a value
            if (c == '\r') state_ = end_lf;
            else if (is_tchar(static_cast<unsigned char>(c))) state_ = trailer_name;
            else return fail(400);  // a bare LF, whitespace (obs-fold), a control byte
            break;
        case trailer_name:
            if (c == ':') state_ = trailer_value;
            else if (!is_tchar(static_cast<unsigned char>(c))) return fail(400);
            break;
        case trailer_value:
            if (c == '\r') state_ = trailer_lf;
            else if (!is_value_char(static_cast<unsigned char>(c))) return fail(400);
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
