// http/request_parser.h — an incremental, zero-copy HTTP/1.x request-head parser (RFC 9112).
//
// Pure function over a byte span, after picohttpparser's phr_parse_request: it either finds a
// complete head (request line + header fields + empty line) at the start of `input` and reports
// how many bytes it used, or says it needs more, or rejects the head with the status to answer.
// The Request it fills points into `input`; nothing is copied or allocated. Calling it again on
// a longer buffer is how a head split across reads is handled; the bytes after `consumed` are
// the next pipelined request (or a body), never guessed from how the buffer ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace http {

inline constexpr std::size_t kMaxRequestLine = 8 * 1024;  // longer: 414
inline constexpr std::size_t kMaxHeadBytes = 16 * 1024;   // request line + fields; longer: 431
inline constexpr int kMaxHeaders = 100;                   // more: 431

struct Header {
    std::string_view name, value;  // value without surrounding whitespace
};

namespace detail {
// tchar (RFC 9110 §5.6.2): the characters of a token. A bitmap built at compile time: the parser
// tests every byte of every method and header name.
struct TcharSet {
    std::uint64_t bits[2] = {};  // ASCII only: no byte above 0x7f is a tchar
    constexpr TcharSet() {
        for (unsigned c = 0; c < 128; ++c) {
            const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            if (alnum || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos)
                bits[c >> 6] |= std::uint64_t{1} << (c & 63);
        }
    }
};
inline constexpr TcharSet kTchars;
}  // namespace detail

// A byte of a token: a method, a field name (the parser's and the chunked trailer's).
constexpr bool is_tchar(unsigned char c) { return c < 128 && (detail::kTchars.bits[c >> 6] >> (c & 63) & 1); }
// field-vchar / obs-text / SP / HTAB may appear inside a field value (RFC 9110 §5.5).
constexpr bool is_value_char(unsigned char c) { return c >= 0x20 ? c != 0x7f : c == '\t'; }

struct Request {
    std::string_view method;
    std::string_view target;
    int version_minor = 1;  // HTTP/1.<minor>
    int header_count = 0;
    Header headers[kMaxHeaders];

    // The first field named `name` (case-insensitive), or an empty view with a null data().
    std::string_view header(std::string_view name) const;
    // True if the comma-separated list of field `name` has `token` (case-insensitive). A list
    // sent as several lines is one list (RFC 9110 §5.3), so every line counts.
    bool has_token(std::string_view name, std::string_view token) const;
};

struct ParseResult {
    enum Kind : std::uint8_t { complete, incomplete, error };
    Kind kind;
    std::uint16_t status;    // with error: 400, 414, 431 or 505
    std::uint32_t consumed;  // with complete: bytes of the head, empty line included
};

ParseResult parse_request(std::string_view input, Request& out);

// ASCII case-insensitive equality.
bool equals_ignore_case(std::string_view a, std::string_view b);
// True if the comma-separated token list `list` contains `token` (case-insensitive), as in
// "Connection: keep-alive, Upgrade".
bool list_has_token(std::string_view list, std::string_view token);

}  // namespace http
