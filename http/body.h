// http/body.h — how a request's body is framed (RFC 9112 §6) and a decoder for the chunked
// transfer coding (§7.1). Pure.
//
// The server serves files and reads no request body, but it must still find where each body
// ends, or the next pipelined request would be parsed from the wrong byte (the root of request
// smuggling). So every body is framed strictly and discarded.
#pragma once

#include <cstddef>
#include <cstdint>

#include "http/request_parser.h"

namespace http {

inline constexpr std::uint64_t kMaxBodyBytes = 1024 * 1024;  // larger bodies: 413

struct BodyFraming {
    enum Kind : std::uint8_t { none, sized, chunked };
    Kind kind;
    std::uint16_t status;  // non-zero: reject the request with this status (400, 413, 501)
    std::uint64_t length;  // with `sized`
};

// Checks the head's framing and Host rules: HTTP/1.1 needs exactly one Host; Content-Length must
// be a decimal number, repeated only with the same value; Transfer-Encoding and Content-Length
// together, or Transfer-Encoding in HTTP/1.0, are refused (400); a transfer coding other than a
// lone "chunked" is not implemented (501); a declared length above kMaxBodyBytes is 413.
BodyFraming check_framing(const Request& req);

// Consumes a chunked body incrementally (RFC 9112 §7.1): chunk-size [; extensions] CRLF data CRLF
// … 0 CRLF, trailer field lines, CRLF. Bytes of extensions and trailers are not kept, but a
// trailer line must be a field line (name ":" value), as in a head. Feed it whatever arrived.
class ChunkedDecoder {
public:
    struct Result {
        std::size_t consumed;  // bytes of the input that belong to the body
        bool done;             // the body ended within them
        std::uint16_t status;  // non-zero: malformed (400) or too large (413)
    };
    Result feed(const char* data, std::size_t n);

private:
    enum State : std::uint8_t {
        size, size_ws, size_ext, size_lf, data, data_cr, data_lf,
        trailer_start, trailer_name, trailer_value, trailer_lf, end_lf
    };
    State state_ = size;
    int size_digits_ = 0;
    std::uint64_t chunk_left_ = 0;
    std::uint64_t data_ = 0;   // data bytes announced so far (at most kMaxBodyBytes, as for Content-Length)
    std::uint64_t total_ = 0;  // every byte of the body seen so far, framing included
};

}  // namespace http
