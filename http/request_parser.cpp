// http/request_parser.cpp — see request_parser.h.
#include "http/request_parser.h"

namespace http {

using namespace std::string_view_literals;

namespace {

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

constexpr ParseResult fail(std::uint16_t status) { return {ParseResult::error, status, 0}; }
constexpr ParseResult more() { return {ParseResult::incomplete, 0, 0}; }

// Finds the end of the line starting at `pos`. Lines end in CRLF (a bare LF is accepted, as
// RFC 9112 §2.2 allows); a CR followed by anything else is an error. Returns the index of the
// terminator's first byte, or npos if the line is not complete yet, or -2 on a bad CR (then
// `next` is the CR's index). `plain` tells whether the line holds no control byte but its end
// (not even HTAB) and no DEL: then a field value in it needs no check byte by byte.
constexpr std::size_t kBadLine = static_cast<std::size_t>(-2);
std::size_t line_end(std::string_view in, std::size_t pos, std::size_t& next, bool& plain) {
    // Eight bytes at a time while none of them is below 0x20 or is DEL, as most of a head is
    // (the "has less" and "has zero" word tricks): a word that fails is then read byte by byte.
    constexpr std::uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;
    plain = true;
    for (std::size_t i = pos; i < in.size();) {
        if (i + 8 <= in.size()) {
            std::uint64_t w;
            __builtin_memcpy(&w, in.data() + i, 8);
            const std::uint64_t del = w ^ (kOnes * 0x7f);
            const std::uint64_t stops = (((w - kOnes * 0x20) & ~w) | ((del - kOnes) & ~del)) & kHighs;
            // The lowest flag is exact (a borrow only spreads upwards): skip to that byte.
            i += stops ? static_cast<std::size_t>(__builtin_ctzll(stops) >> 3) : 8;
            if (!stops) continue;
        }
        for (const std::size_t stop = i + 8 < in.size() ? i + 8 : in.size(); i < stop; ++i) {
            const auto c = static_cast<unsigned char>(in[i]);
            if (c == '\n') {
                next = i + 1;
                return i;
            }
            if (c == '\r') {
                if (i + 1 == in.size()) return std::string_view::npos;
                if (in[i + 1] != '\n') {
                    next = i;
                    return kBadLine;
                }
                next = i + 2;
                return i;
            }
            if (c < 0x20 || c == 0x7f) plain = false;
        }
    }
    return std::string_view::npos;
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool list_has_token(std::string_view list, std::string_view token) {
    std::size_t i = 0;
    while (i < list.size()) {
        while (i < list.size() && (list[i] == ' ' || list[i] == '\t' || list[i] == ',')) ++i;
        const std::size_t start = i;
        while (i < list.size() && list[i] != ',') ++i;
        std::size_t end = i;
        while (end > start && (list[end - 1] == ' ' || list[end - 1] == '\t')) --end;
        if (end > start && equals_ignore_case(list.substr(start, end - start), token)) return true;
    }
    return false;
}

std::string_view Request::header(std::string_view name) const {
    for (int i = 0; i < header_count; ++i)
        if (equals_ignore_case(headers[i].name, name)) return headers[i].value;
    return {};
}

bool Request::has_token(std::string_view name, std::string_view token) const {
    for (int i = 0; i < header_count; ++i)
        if (equals_ignore_case(headers[i].name, name) && list_has_token(headers[i].value, token)) return true;
    return false;
}

ParseResult parse_request(std::string_view in, Request& out) {
    std::size_t pos = 0, next = 0;
    // RFC 9112 §2.2: ignore empty lines before the request line.
    while (pos < in.size() && (in[pos] == '\r' || in[pos] == '\n')) {
        if (in[pos] == '\r' && pos + 1 < in.size() && in[pos + 1] != '\n') return fail(400);
        ++pos;
    }
    // Empty lines are tolerated, but not forever (and not depending on how they arrive).
    if (pos > kMaxRequestLine) return fail(400);
    if (pos == in.size()) return more();
    const std::size_t head_start = pos;

    // request-line = method SP request-target SP HTTP-version
    // A limit passed before a bad byte answers first, so the status never depends on where the
    // input happened to be cut.
    bool plain;
    std::size_t end = line_end(in, pos, next, plain);
    if (end == kBadLine) return fail(next - pos > kMaxRequestLine ? 414 : 400);
    if (end == std::string_view::npos) {
        // Not complete yet: everything received is request line, save a CR whose LF is coming.
        const std::size_t seen = in.size() - pos - (in.back() == '\r' ? 1 : 0);
        return seen > kMaxRequestLine ? fail(414) : more();
    }
    if (end - pos > kMaxRequestLine) return fail(414);
    const std::string_view line = in.substr(pos, end - pos);
    std::size_t i = 0;
    while (i < line.size() && is_tchar(static_cast<unsigned char>(line[i]))) ++i;
    if (i == 0 || i == line.size() || line[i] != ' ') return fail(400);
    out.method = line.substr(0, i);
    const std::size_t target_start = ++i;
    while (i < line.size() && static_cast<unsigned char>(line[i]) > 0x20 && line[i] != 0x7f) ++i;
    if (i == target_start || i == line.size() || line[i] != ' ') return fail(400);
    out.target = line.substr(target_start, i - target_start);
    const std::string_view version = line.substr(i + 1);
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/"sv || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        return fail(400);
    // Only 1.0 and 1.1 are spoken here; anything else (2.0, 0.9, 1.2) gets 505.
    if (version[5] != '1' || version[7] > '1') return fail(505);
    out.version_minor = version[7] - '0';
    pos = next;

    // *( field-line CRLF ) CRLF
    out.header_count = 0;
    for (;;) {
        end = line_end(in, pos, next, plain);
        if (end == kBadLine) return fail(next - head_start >= kMaxHeadBytes ? 431 : 400);
        if (end == std::string_view::npos) return in.size() - head_start > kMaxHeadBytes ? fail(431) : more();
        if (next - head_start > kMaxHeadBytes) return fail(431);
        if (end == pos) return {ParseResult::complete, 0, static_cast<std::uint32_t>(next)};
        const std::string_view field = in.substr(pos, end - pos);
        pos = next;
        // obs-fold (a line starting with whitespace) is rejected (RFC 9112 §5.2).
        std::size_t colon = 0;
        while (colon < field.size() && is_tchar(static_cast<unsigned char>(field[colon]))) ++colon;
        // No whitespace between name and colon (RFC 9112 §5.1), and a non-empty name.
        if (colon == 0 || colon == field.size() || field[colon] != ':') return fail(400);
        std::size_t v = colon + 1, v_end = field.size();
        for (std::size_t k = v; k < v_end && !plain; ++k)
            if (!is_value_char(static_cast<unsigned char>(field[k]))) return fail(400);
        while (v < v_end && (field[v] == ' ' || field[v] == '\t')) ++v;
        while (v_end > v && (field[v_end - 1] == ' ' || field[v_end - 1] == '\t')) --v_end;
        if (out.header_count == kMaxHeaders) return fail(431);
        out.headers[out.header_count++] = {field.substr(0, colon), field.substr(v, v_end - v)};
    }
}

}  // namespace http
