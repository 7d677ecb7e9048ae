// http/conditional.cpp — see conditional.h.
#include "http/conditional.h"

#include "runtime/civil_time.h"

namespace http {

using namespace std::string_view_literals;

namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

// The next comma-separated member of `list` (trimmed), consuming it and its comma.
std::string_view next_member(std::string_view& list) {
    const std::size_t comma = list.find(',');
    const std::string_view member = list.substr(0, comma);
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
    return trim(member);
}

bool is_weak(std::string_view tag) { return tag.starts_with("W/"); }
std::string_view opaque(std::string_view tag) { return is_weak(tag) ? tag.substr(2) : tag; }

// A decimal with no sign or spaces; values past 2^64 saturate (a range that large is past the
// end of any file anyway). False if empty or not all digits.
bool parse_u64(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        out = out > (UINT64_MAX - digit) / 10 ? UINT64_MAX : out * 10 + digit;
    }
    return true;
}

// A quality value (RFC 9110 §12.4.2) of zero: "0", "0.", "0.0", "0.000".
bool is_zero_quality(std::string_view q) {
    if (q.empty() || q[0] != '0') return false;
    for (char c : q.substr(1))
        if (c != '.' && c != '0') return false;
    return true;
}

}  // namespace

bool etag_list_matches(std::string_view list, std::string_view etag, bool weak) {
    if (trim(list) == "*") return true;
    if (!weak && is_weak(etag)) return false;
    while (!list.empty()) {
        const std::string_view tag = next_member(list);
        if (!weak && is_weak(tag)) continue;
        if (opaque(tag) == opaque(etag)) return true;
    }
    return false;
}

ByteRange parse_range(std::string_view range, std::uint64_t size) {
    const ByteRange kWhole{ByteRange::whole, 0, size};
    constexpr std::string_view kUnit = "bytes=";
    if (range.size() < kUnit.size() || !equals_ignore_case(range.substr(0, kUnit.size()), kUnit)) return kWhole;
    const std::string_view spec = trim(range.substr(kUnit.size()));
    const std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return kWhole;
    std::uint64_t first = 0, last = 0;
    const bool has_first = parse_u64(spec.substr(0, dash), first);
    const bool has_last = parse_u64(spec.substr(dash + 1), last);
    if ((dash > 0 && !has_first) || (dash + 1 < spec.size() && !has_last)) return kWhole;  // syntax
    if (!has_first) {  // "-N": the last N bytes
        if (!has_last) return kWhole;
        if (last == 0 || size == 0) return {ByteRange::unsatisfiable, 0, 0};
        const std::uint64_t n = last < size ? last : size;
        return {ByteRange::partial, size - n, n};
    }
    if (has_last && last < first) return kWhole;  // invalid range-spec: the header is ignored
    if (first >= size) return {ByteRange::unsatisfiable, 0, 0};
    if (!has_last || last >= size) last = size - 1;
    return {ByteRange::partial, first, last - first + 1};
}

namespace {
// If-Match or If-None-Match (`name`) as one list over all its lines (RFC 9110 §5.3): -1 when the
// request has none, else 1 when some member matches `etag`, 0 when none does.
int etag_lines_match(const Request& req, std::string_view name, std::string_view etag, bool weak) {
    int result = -1;
    for (int i = 0; i < req.header_count; ++i) {
        if (!equals_ignore_case(req.headers[i].name, name)) continue;
        if (result != 1) result = etag_list_matches(req.headers[i].value, etag, weak) ? 1 : 0;
    }
    return result;
}
}  // namespace

Selection select_representation(const Request& req, std::string_view etag, std::int64_t mtime, std::uint64_t size,
                                std::int64_t now) {
    const Selection whole{200, 0, size};
    std::int64_t date;
    // §13.2.2 steps 1-2: the client's copy must still be current (412 when it is not).
    if (const int match = etag_lines_match(req, "If-Match"sv, etag, false); match >= 0) {
        if (match == 0) return {412, 0, 0};
    } else if (const std::string_view d = req.header("If-Unmodified-Since"sv); d.data() && rt::parse_http_date(d, now, date)) {
        if (mtime > date) return {412, 0, 0};
    }
    // Steps 3-4: the client's copy is still good (304 when it is).
    if (const int match = etag_lines_match(req, "If-None-Match"sv, etag, true); match >= 0) {
        if (match == 1) return {304, 0, 0};
    } else if (const std::string_view d = req.header("If-Modified-Since"sv); d.data() && rt::parse_http_date(d, now, date)) {
        if (mtime <= date) return {304, 0, 0};
    }
    // Step 5: ranges are defined for GET only; If-Range must name exactly this representation.
    // An empty representation has no byte to select and no 206 could describe one, so a range
    // of it is ignored: the only satisfiable form, a suffix (RFC 9110 §14.1.2), means all of it.
    const std::string_view range = req.header("Range"sv);
    if (!range.data() || req.method != "GET"sv || size == 0) return whole;
    if (const std::string_view v = trim(req.header("If-Range"sv)); v.data()) {
        const bool is_tag = v.starts_with('"') || is_weak(v);
        if (is_tag ? !etag_list_matches(v, etag, false) || v.find(',') != std::string_view::npos
                   : !rt::parse_http_date(v, now, date) || date != mtime || mtime >= now)
            return whole;
    }
    const ByteRange r = parse_range(range, size);
    if (r.kind == ByteRange::unsatisfiable) return {416, 0, 0};
    if (r.kind == ByteRange::partial) return {206, r.first, r.length};
    return whole;
}

namespace {
// Reads one Accept-Encoding list into what it says of gzip and of "*": -1 not listed, 0 refused
// (q=0), 1 accepted. A later mention overrides an earlier one.
void scan_accept_encoding(std::string_view accept_encoding, int& gzip, int& any) {
    while (!accept_encoding.empty()) {
        std::string_view member = next_member(accept_encoding);
        const std::size_t semi = member.find(';');
        const std::string_view coding = trim(member.substr(0, semi));
        member.remove_prefix(semi == std::string_view::npos ? member.size() : semi);
        int ok = 1;
        while (!member.empty()) {  // ";q=0.5;x=y": each parameter starts at a ';'
            const std::size_t next = member.find(';', 1);
            const std::string_view param = trim(member.substr(1, next == std::string_view::npos ? next : next - 1));
            if (param.size() >= 2 && (param[0] | 0x20) == 'q' && param[1] == '=' && is_zero_quality(param.substr(2)))
                ok = 0;
            member.remove_prefix(next == std::string_view::npos ? member.size() : next);
        }
        if (equals_ignore_case(coding, "gzip"sv) || equals_ignore_case(coding, "x-gzip"sv)) gzip = ok;
        else if (coding == "*"sv) any = ok;
    }
}
}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
    int gzip = -1, any = -1;
    scan_accept_encoding(accept_encoding, gzip, any);
    return gzip >= 0 ? gzip == 1 : any == 1;
}

bool accepts_gzip(const Request& req) {
    int gzip = -1, any = -1;
    for (int i = 0; i < req.header_count; ++i)
        if (equals_ignore_case(req.headers[i].name, "Accept-Encoding"sv)) scan_accept_encoding(req.headers[i].value, gzip, any);
    return gzip >= 0 ? gzip == 1 : any == 1;
}

}  // namespace http
