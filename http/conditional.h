// http/conditional.h — which representation a GET or HEAD for a file gets: the preconditions
// of RFC 9110 §13 (If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since), one byte
// range (§14: Range, If-Range), and whether the client takes gzip (Accept-Encoding). Pure.
#pragma once

#include <cstdint>
#include <string_view>

#include "http/request_parser.h"

namespace http {

// True if the entity-tag list `list` (an If-None-Match or If-Match value) names `etag` or is
// "*". Weak comparison ignores the W/ prefix on either side; strong comparison fails when
// either tag is weak.
bool etag_list_matches(std::string_view list, std::string_view etag, bool weak);

struct ByteRange {
    enum Kind : std::uint8_t { whole, partial, unsatisfiable };
    Kind kind;
    std::uint64_t first, length;  // with partial: the bytes to send
};

// Parses one "bytes=first-last", "bytes=first-" or "bytes=-suffix" against a representation of
// `size` bytes. Anything else (other units, several ranges, bad syntax) is ignored: whole.
ByteRange parse_range(std::string_view range, std::uint64_t size);

struct Selection {
    int status;                   // 200, 206, 304, 412 or 416
    std::uint64_t first, length;  // the body: all of it for 200, the range for 206
};

// Evaluates a GET or HEAD's conditional and range headers against a file with the given ETag,
// modification time and size, in the order RFC 9110 §13.2.2 sets. `now` (Unix seconds) decides
// whether an If-Range date is a strong validator: only once its second has passed (§8.8.2.2), as
// a file changed twice within one second would otherwise match a copy it no longer is. A range
// of an empty file is ignored (200).
Selection select_representation(const Request& req, std::string_view etag, std::int64_t mtime, std::uint64_t size,
                                std::int64_t now);

// True if Accept-Encoding admits gzip: listed (or "*") without q=0.
bool accepts_gzip(std::string_view accept_encoding);
// The same for a request's Accept-Encoding lines, read as one list (RFC 9110 §5.3).
bool accepts_gzip(const Request& req);

}  // namespace http
