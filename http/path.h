// http/path.h — turns a request target into a file path that cannot leave the document root.
//
// Pure and security-critical (after darkhttpd's make_safe_url): percent-decoding and dot-segment
// removal happen in one pass, so "%2e%2e", "..%2f" and "a/../../b" are all seen for what they
// are. The result is relative to the root: no leading '/', no empty, "." or ".." segments.
// openat2(RESOLVE_BENEATH) then enforces the same boundary in the kernel, symlinks included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/format.h"

namespace http {

struct PathResult {
    std::uint16_t status;  // 0 = usable; otherwise the HTTP status to answer (400)
    bool trailing_slash;   // the decoded path ended in '/', "/." or "/.." (names a directory)
    bool dot_end;          // it ended in "/." or "/..": a directory, named other than as itself
    bool hidden;           // some segment starts with '.' (dotfiles are not served)
    std::size_t length;    // bytes written to out, excluding the terminating NUL
};

// Decodes the path of `target` (origin-form "/a/b?q" or absolute-form "http://host/a/b") into
// `out` as a NUL-terminated relative path ("" for the root). `out` must hold target.size() + 1
// bytes. Rejects (400): no leading '/', a bad or NUL escape, a ".." that would climb above the
// root, userinfo in an absolute-form authority ("http://user@host/").
PathResult normalize_path(std::string_view target, char* out);

// The path of a request target as sent (not decoded): what comes before any query or fragment,
// and after the scheme and authority of an absolute-form target ("" for "http://host"; a target
// normalize_path refuses keeps its scheme, and so names no path).
std::string_view path_of(std::string_view target);

// True when the last segment of `target`'s path, percent-decoded, is exactly `name` (a segment
// normalize_path kept, so neither "", "." nor ".."). The relative reference "./NAME/" then
// names, resolved against `target`, the directory normalize_path found plus its slash: what a
// redirect can send when the absolute path is too long for its head.
bool last_segment_is(std::string_view target, std::string_view name);

// The query of a request target, with its '?' ("" if none); a fragment is not part of it.
std::string_view query_of(std::string_view target);

namespace detail {
// Unreserved, sub-delims and ':' as a bitmap built at compile time: every byte of every Host
// value passes through is_uri_char.
struct UriCharSet {
    std::uint64_t bits[2] = {};  // ASCII only
    constexpr UriCharSet() {
        for (unsigned c = 0; c < 128; ++c) {
            const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            if (alnum || std::string_view("-._~!$&'()*+,;=:").find(static_cast<char>(c)) != std::string_view::npos)
                bits[c >> 6] |= std::uint64_t{1} << (c & 63);
        }
    }
};
inline constexpr UriCharSet kUriChars;
}  // namespace detail

// True for the characters a URI's parts share (RFC 3986): unreserved, sub-delims and ':', and
// for those in `extra` ("@/" in a path, "%[]" in a Host).
[[gnu::always_inline]] constexpr bool is_uri_char(char c, std::string_view extra) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 128 && (detail::kUriChars.bits[u >> 6] >> (u & 63) & 1)) return true;
    for (const char e : extra)
        if (e == c) return true;
    return false;
}

// Appends `s` as it may stand in a URI's path (RFC 3986 §3.3): unreserved characters, sub-delims,
// ':', '@' and '/' as they are, every other byte as %XX. For a decoded path (a name with '%', '?',
// '#', a space or UTF-8 in it), and with `query` for a query: '?' and '%' stay too, so that the
// client's own escapes are kept.
void put_uri_escaped(rt::Writer& w, std::string_view s, bool query = false);

}  // namespace http
