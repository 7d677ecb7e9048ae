// http/path.cpp — see path.h.
#include "http/path.h"

#include "runtime/format.h"

namespace http {

using namespace std::string_view_literals;

namespace {
// Where the path of an absolute-form target begins, after "scheme://authority" (RFC 9112
// §3.2.2), or 0 if `target` is not one: no scheme (a letter, then letters, digits, '+', '-' or
// '.'; RFC 3986 §3.1) before "://", or userinfo in the authority ("http://user@host/"), which
// RFC 9110 §4.2.4 advises refusing. The authority ends at the first '/', '?' or '#'.
std::size_t path_start(std::string_view target) {
    const std::size_t scheme_end = target.find("://");
    if (scheme_end == 0 || scheme_end == std::string_view::npos) return 0;
    for (std::size_t i = 0; i < scheme_end; ++i) {
        const char c = target[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!letter && (i == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))) return 0;
    }
    std::size_t end = target.find_first_of("/?#", scheme_end + 3);
    if (end == std::string_view::npos) end = target.size();
    return target.substr(0, end).find('@', scheme_end + 3) == std::string_view::npos ? end : 0;
}
}  // namespace

PathResult normalize_path(std::string_view target, char* out) {
    PathResult r{400, false, false, false, 0};
    if (!target.empty() && target[0] != '/') {
        const std::size_t start = path_start(target);
        if (!start) return r;
        target = start == target.size() || target[start] != '/' ? "/"sv : target.substr(start);  // "http://h": "/"
    }
    target = path_of(target);
    if (target.empty()) return r;

    std::size_t len = 0;        // bytes of out in use
    std::size_t seg_start = 0;  // where the current segment's bytes begin in out
    std::size_t i = 1;          // target[0] is the leading '/'
    bool slash_last = false;    // the last byte decoded was a '/', literal or %2F
    for (;;) {
        const bool at_end = i >= target.size();
        char c = 0;
        if (!at_end) {
            c = target[i++];
            if (c == 0) return r;  // only possible outside the parser, but the output is a C string
            if (c == '%') {
                if (i + 2 > target.size()) return r;
                const int hi = rt::hex_value(target[i]), lo = rt::hex_value(target[i + 1]);
                if (hi < 0 || lo < 0) return r;
                c = static_cast<char>(hi << 4 | lo);
                i += 2;
                if (c == 0) return r;
            }
            slash_last = c == '/';
        }
        if (!at_end && c != '/') {
            out[len++] = c;
            continue;
        }
        // A segment ended (at a '/', decoded or literal, or at the end of the path).
        const std::string_view seg(out + seg_start, len - seg_start);
        const bool dot_segment = seg == "."sv || seg == ".."sv;
        if (seg.empty() || seg == "."sv) {
            len = seg_start;
        } else if (seg == ".."sv) {
            if (seg_start == 0) return r;  // would climb above the root
            // Drop this segment and the previous one (and its separating '/').
            len = seg_start - 1;
            while (len > 0 && out[len - 1] != '/') --len;
        } else {
            out[len++] = '/';
        }
        seg_start = len;
        if (at_end) {
            // "a/." and "a/b/.." are "a/" (RFC 3986 §5.2.4): they name a directory too.
            r.trailing_slash = slash_last || dot_segment;
            r.dot_end = dot_segment;
            break;
        }
    }
    // Every kept segment was followed by a '/'; drop the last one.
    if (len > 0) --len;
    out[len] = 0;
    for (std::size_t k = 0; k < len; ++k)
        if (out[k] == '.' && (k == 0 || out[k - 1] == '/')) r.hidden = true;
    r.length = len;
    r.status = 0;
    return r;
}

std::string_view path_of(std::string_view target) {
    if (!target.empty() && target[0] != '/') target.remove_prefix(path_start(target));  // absolute-form
    std::size_t n = 0;
    while (n < target.size() && target[n] != '?' && target[n] != '#') ++n;
    return target.substr(0, n);
}

bool last_segment_is(std::string_view target, std::string_view name) {
    const std::string_view path = path_of(target);
    std::string_view raw = path.substr(path.rfind('/') + 1);  // path_of's result starts with '/' or is ""
    if (path.empty() || name.empty()) return false;
    for (const char want : name) {
        if (raw.empty()) return false;
        char c = raw[0];
        raw.remove_prefix(1);
        if (c == '%') {
            if (raw.size() < 2 || rt::hex_value(raw[0]) < 0 || rt::hex_value(raw[1]) < 0) return false;
            c = static_cast<char>(rt::hex_value(raw[0]) << 4 | rt::hex_value(raw[1]));
            raw.remove_prefix(2);
        }
        if (c != want) return false;
    }
    return raw.empty();
}

std::string_view query_of(std::string_view target) {
    const std::string_view path = path_of(target);
    target.remove_prefix(static_cast<std::size_t>(path.data() - target.data()) + path.size());
    if (target.empty() || target[0] != '?') return {};
    std::size_t n = 1;
    while (n < target.size() && target[n] != '#') ++n;
    return target.substr(0, n);
}

void put_uri_escaped(rt::Writer& w, std::string_view s, bool query) {
    constexpr char kHex[] = "0123456789ABCDEF";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_uri_char(ch, query ? "@/?%"sv : "@/"sv)) w.put(ch);
        else w.put('%').put(kHex[c >> 4]).put(kHex[c & 15]);
    }
}

}  // namespace http
