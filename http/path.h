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

namespace http {

struct PathResult {
    std::uint16_t status;  // 0 = usable; otherwise the HTTP status to answer (400)
    bool trailing_slash;   // the decoded path ended in '/' (names a directory)
    bool hidden;           // some segment starts with '.' (dotfiles are not served)
    std::size_t length;    // bytes written to out, excluding the terminating NUL
};

// Decodes the path of `target` (origin-form "/a/b?q" or absolute-form "http://host/a/b") into
// `out` as a NUL-terminated relative path ("" for the root). `out` must hold target.size() + 1
// bytes. Rejects (400): no leading '/', a bad or NUL escape, a ".." that would climb above the
// root.
PathResult normalize_path(std::string_view target, char* out);

// The path of a request target: what comes before any query or fragment.
std::string_view path_of(std::string_view target);

}  // namespace http
