// request_parser_test.cpp: http::parse_request (http/request_parser.h) — the incremental
// HTTP/1.x request-head parser — plus its helpers header(), equals_ignore_case, list_has_token.
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/request_parser.h"

namespace http {
// Lets gtest print a Kind by name (it is a uint8_t enum, which would print as a raw char).
void PrintTo(ParseResult::Kind k, std::ostream* os) {
    *os << (k == ParseResult::complete ? "complete" : k == ParseResult::incomplete ? "incomplete" : "error");
}
}  // namespace http

namespace {

using http::ParseResult;
using http::Request;

// Parses `text` from an exactly-sized heap copy, so ASan catches any read past its end.
struct Parsed {
    ParseResult r{};
    std::unique_ptr<Request> req = std::make_unique<Request>();
    std::unique_ptr<char[]> copy;
};
Parsed parse(std::string_view text) {
    Parsed p;
    p.copy.reset(new char[text.size() ? text.size() : 1]);
    std::copy(text.begin(), text.end(), p.copy.get());
    p.r = http::parse_request({p.copy.get(), text.size()}, *p.req);
    return p;
}

ParseResult::Kind kind(std::string_view text) { return parse(text).r.kind; }
int status(std::string_view text) {
    const Parsed p = parse(text);
    return p.r.kind == ParseResult::error ? p.r.status : 0;
}

// A head with `n` header fields "X-<i>: v".
std::string head_with_fields(int n) {
    std::string s = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < n; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
    return s + "\r\n";
}

// ---------------------------------------------------------------------------------------------
// Accepted heads

// The simplest request: method, target, version, one field, and consumed = whole head.
TEST(RequestParser, SimpleGet) {
    const std::string text = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
    const Parsed p = parse(text);
    ASSERT_EQ(p.r.kind, ParseResult::complete);
    EXPECT_EQ(p.r.consumed, text.size());
    EXPECT_EQ(p.req->method, "GET");
    EXPECT_EQ(p.req->target, "/index.html");
    EXPECT_EQ(p.req->version_minor, 1);
    ASSERT_EQ(p.req->header_count, 1);
    EXPECT_EQ(p.req->headers[0].name, "Host");
    EXPECT_EQ(p.req->headers[0].value, "example.com");
    // Zero-copy: the views point into the input.
    EXPECT_EQ(p.req->method.data(), p.copy.get());
    EXPECT_EQ(p.req->target.data(), p.copy.get() + 4);
}

// A table of valid heads and what they parse to.
TEST(RequestParser, ValidTable) {
    struct Case {
        const char* text;
        const char* method;
        const char* target;
        int minor;
        std::vector<std::pair<std::string, std::string>> fields;
    };
    const Case cases[] = {
        {"GET / HTTP/1.0\r\n\r\n", "GET", "/", 0, {}},
        {"HEAD /a?b=c HTTP/1.1\r\n\r\n", "HEAD", "/a?b=c", 1, {}},
        {"OPTIONS * HTTP/1.1\r\n\r\n", "OPTIONS", "*", 1, {}},
        {"GET http://h/x HTTP/1.1\r\n\r\n", "GET", "http://h/x", 1, {}},
        {"M-SEARCH! /%20 HTTP/1.1\r\n\r\n", "M-SEARCH!", "/%20", 1, {}},
        // Values are trimmed of spaces and tabs on both sides; inner whitespace stays.
        {"GET / HTTP/1.1\r\nA:   x y  \r\nB:\tz\t\r\nC:\r\nD: \t \r\n\r\n", "GET", "/", 1,
         {{"A", "x y"}, {"B", "z"}, {"C", ""}, {"D", ""}}},
        // obs-text (bytes >= 0x80) and HTAB inside values are allowed.
        {"GET / HTTP/1.1\r\nX: caf\xc3\xa9\tbar\r\n\r\n", "GET", "/", 1, {{"X", "caf\xc3\xa9\tbar"}}},
        // Colons after the first belong to the value.
        {"GET / HTTP/1.1\r\nHost: h:8080\r\n\r\n", "GET", "/", 1, {{"Host", "h:8080"}}},
        // Duplicate names are kept in order.
        {"GET / HTTP/1.1\r\nA: 1\r\nA: 2\r\n\r\n", "GET", "/", 1, {{"A", "1"}, {"A", "2"}}},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.text);
        const Parsed p = parse(c.text);
        ASSERT_EQ(p.r.kind, ParseResult::complete);
        EXPECT_EQ(p.r.consumed, std::string_view(c.text).size());
        EXPECT_EQ(p.req->method, c.method);
        EXPECT_EQ(p.req->target, c.target);
        EXPECT_EQ(p.req->version_minor, c.minor);
        ASSERT_EQ(p.req->header_count, static_cast<int>(c.fields.size()));
        for (std::size_t i = 0; i < c.fields.size(); ++i) {
            EXPECT_EQ(p.req->headers[i].name, c.fields[i].first);
            EXPECT_EQ(p.req->headers[i].value, c.fields[i].second);
        }
    }
}

// Empty lines (CRLF or LF) before the request line are skipped and counted in `consumed`.
TEST(RequestParser, LeadingEmptyLinesSkipped) {
    for (std::string prefix : {"\r\n", "\n", "\r\n\r\n\n", "\n\r\n"}) {
        const std::string text = prefix + "GET /x HTTP/1.1\r\n\r\n";
        const Parsed p = parse(text);
        ASSERT_EQ(p.r.kind, ParseResult::complete) << prefix.size();
        EXPECT_EQ(p.r.consumed, text.size());
        EXPECT_EQ(p.req->method, "GET");
        EXPECT_EQ(p.req->target, "/x");
    }
    // Only empty lines so far: more is needed.
    EXPECT_EQ(kind("\r\n\r\n"), ParseResult::incomplete);
    EXPECT_EQ(kind("\r"), ParseResult::incomplete);
    // But a CR not followed by LF among them is an error.
    EXPECT_EQ(status("\r\rGET / HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(status("\rGET / HTTP/1.1\r\n\r\n"), 400);
}

// Bare LF line endings are accepted, also mixed with CRLF.
TEST(RequestParser, BareLfAccepted) {
    for (std::string text : {"GET / HTTP/1.1\nHost: a\n\n", "GET / HTTP/1.1\r\nHost: a\n\r\n",
                             "GET / HTTP/1.1\nHost: a\r\n\n"}) {
        const Parsed p = parse(text);
        ASSERT_EQ(p.r.kind, ParseResult::complete);
        EXPECT_EQ(p.r.consumed, text.size());
        ASSERT_EQ(p.req->header_count, 1);
        EXPECT_EQ(p.req->headers[0].value, "a");
    }
}

// A request split at every byte offset: every proper prefix is incomplete, and the full buffer
// parses to the same result as in one piece.
TEST(RequestParser, EveryPrefixIncomplete) {
    const std::string texts[] = {
        "GET /some/path?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1.0\r\nAccept: */*\r\n\r\n",
        "\r\n\r\nPOST /p HTTP/1.0\nContent-Length: 0\n\n",
        "GET / HTTP/1.1\r\nX:\r\n\r\n",
    };
    for (const std::string& text : texts) {
        for (std::size_t n = 0; n < text.size(); ++n) {
            const Parsed p = parse(std::string_view(text).substr(0, n));
            ASSERT_EQ(p.r.kind, ParseResult::incomplete) << "prefix " << n << " of " << text;
        }
        const Parsed whole = parse(text);
        ASSERT_EQ(whole.r.kind, ParseResult::complete);
        EXPECT_EQ(whole.r.consumed, text.size());
        // Bytes after the head (a body or the next request) change nothing.
        const Parsed more = parse(text + "GET /next HTTP/1.1\r\n");
        ASSERT_EQ(more.r.kind, ParseResult::complete);
        EXPECT_EQ(more.r.consumed, text.size());
        EXPECT_EQ(more.req->method, whole.req->method);
        EXPECT_EQ(more.req->target, whole.req->target);
        ASSERT_EQ(more.req->header_count, whole.req->header_count);
        for (int i = 0; i < whole.req->header_count; ++i) {
            EXPECT_EQ(more.req->headers[i].name, whole.req->headers[i].name);
            EXPECT_EQ(more.req->headers[i].value, whole.req->headers[i].value);
        }
    }
}

// 50 pipelined requests in one buffer are parsed one after another using `consumed`.
TEST(RequestParser, FiftyPipelinedRequests) {
    std::string buf;
    for (int i = 0; i < 50; ++i)
        buf += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\nX-N: " + std::to_string(i) + "\r\n\r\n";
    std::string_view rest = buf;
    auto req = std::make_unique<Request>();
    for (int i = 0; i < 50; ++i) {
        const ParseResult r = http::parse_request(rest, *req);
        ASSERT_EQ(r.kind, ParseResult::complete) << i;
        EXPECT_EQ(req->target, "/r" + std::to_string(i));
        EXPECT_EQ(req->header("x-n"), std::to_string(i));
        ASSERT_GT(r.consumed, 0u);
        ASSERT_LE(r.consumed, rest.size());
        rest.remove_prefix(r.consumed);
    }
    EXPECT_TRUE(rest.empty());
    EXPECT_EQ(http::parse_request(rest, *req).kind, ParseResult::incomplete);
}

// ---------------------------------------------------------------------------------------------
// Rejected heads

// Malformed heads answer 400; unsupported major versions 505.
// The status of a rejected head does not depend on how it was cut (fuzzer findings): endless
// empty lines are refused as soon as they pass the limit, and a line already over its limit
// answers 414/431 even when a bad byte follows later.
TEST(RequestParser, SameErrorWhateverTheCut) {
    const std::string lines(8256, '\n');
    const std::string req = lines + "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    EXPECT_EQ(status(req), 400);
    EXPECT_EQ(status(std::string_view(req).substr(0, 8208)), 400);
    const std::string long_line = "GET /" + std::string(9000, 'a') + "\r\rX HTTP/1.1\r\n\r\n";
    EXPECT_EQ(status(long_line), 414);
    EXPECT_EQ(status(std::string_view(long_line).substr(0, 8500)), 414);
    const std::string long_head = "GET / HTTP/1.1\r\nA: " + std::string(17000, 'b') + "\r\rB\r\n\r\n";
    EXPECT_EQ(status(long_head), 431);
    EXPECT_EQ(status(std::string_view(long_head).substr(0, 16500)), 431);
}

TEST(RequestParser, ErrorTable) {
    struct Case {
        std::string text;
        int status;
    };
    using namespace std::string_literals;
    const Case cases[] = {
        // Field syntax.
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},     // space before colon
        {"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},    // tab before colon
        {"GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 400},     // invalid char in name
        {"GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400},     // space in name
        {"GET / HTTP/1.1\r\n: a\r\n\r\n", 400},          // empty name
        {"GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},       // no colon
        {"GET / HTTP/1.1\r\nHost\r\n\r\n", 400},         // name only
        {"GET / HTTP/1.1\r\nA: x\rB: y\r\n\r\n", 400},   // CR without LF inside a field line
        {"GET / HTTP/1.1\r\nA: x\r\r\n\r\n", 400},       // CR CR LF
        {"GET / HTTP/1.1\r\n\r\r\n", 400},               // CR without LF as the empty line
        {"GET / HTTP/1.1\rHost: a\r\n\r\n", 400},        // CR without LF after the request line
        {"GET / HTTP/1.1\r\nA: x\0y\r\n\r\n"s, 400},     // NUL in value
        {"GET / HTTP/1.1\r\nA: \x01\r\n\r\n", 400},      // control byte in value
        {"GET / HTTP/1.1\r\nA: x\x7fy\r\n\r\n", 400},    // DEL in value
        {"GET / HTTP/1.1\r\nA: x\x1b[0m\r\n\r\n", 400},  // ESC in value
        {"GET / HTTP/1.1\r\nA: x\r\n b\r\n\r\n", 400},   // obs-fold with space
        {"GET / HTTP/1.1\r\nA: x\r\n\tb\r\n\r\n", 400},  // obs-fold with tab
        {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},     // first field starts with whitespace
        // Request line.
        {"GET\r\n\r\n", 400},                        // method only
        {"GET /\r\n\r\n", 400},                      // no version
        {"GET / \r\n\r\n", 400},                     // empty version
        {"/ HTTP/1.1\r\n\r\n", 400},                 // no method
        {" GET / HTTP/1.1\r\n\r\n", 400},            // leading space
        {"GET  / HTTP/1.1\r\n\r\n", 400},            // two spaces
        {"GET / HTTP/1.1 \r\n\r\n", 400},            // trailing space
        {"GET /  HTTP/1.1\r\n\r\n", 400},            // two spaces before version
        {"GET\t/ HTTP/1.1\r\n\r\n", 400},            // tab separator
        {"G(T / HTTP/1.1\r\n\r\n", 400},             // non-token method
        {"GET /a\x7f HTTP/1.1\r\n\r\n", 400},        // DEL in target
        {"GET /a\x01 HTTP/1.1\r\n\r\n", 400},        // control in target
        {"GET / http/1.1\r\n\r\n", 400},             // lower-case protocol name
        {"GET / HTTP/1.10\r\n\r\n", 400},            // two-digit minor
        {"GET / HTTP/11\r\n\r\n", 400},              // no dot
        {"GET / HTTP/1,1\r\n\r\n", 400},             // comma
        {"GET / HTTP/a.1\r\n\r\n", 400},             // non-digit major
        {"GET / HTTP/1.x\r\n\r\n", 400},             // non-digit minor
        {"GET / HTTPS/1.1\r\n\r\n", 400},            // wrong protocol
        {"GET / HTTP/1.1\n\r\r\n", 400},             // CR CR in the empty line
        // Versions.
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"GET / HTTP/0.9\r\n\r\n", 505},
        {"GET / HTTP/1.2\r\n\r\n", 505},
        {"GET / HTTP/1.9\r\n\r\n", 505},
        {"GET / HTTP/3.0\r\n\r\n", 505},
        {"GET / HTTP/9.9\r\n\r\n", 505},
    };
    for (const Case& c : cases) {
        const Parsed p = parse(c.text);
        EXPECT_EQ(p.r.kind, ParseResult::error) << testing::PrintToString(c.text);
        EXPECT_EQ(p.r.status, c.status) << testing::PrintToString(c.text);
    }
}

// An error is reported as soon as the bad byte is seen, before the head is complete.
TEST(RequestParser, ErrorsBeforeHeadComplete) {
    EXPECT_EQ(status("GET / HTTP/1.1\r\nHost : a\r\n"), 400);
    EXPECT_EQ(status("GET / HTTP/2.0\r\n"), 505);
    EXPECT_EQ(status("GET / HTTP/1.1\rX"), 400);
}

// Request line over 8 KiB → 414, both when complete and when still incomplete but already longer.
TEST(RequestParser, RequestLineTooLong) {
    const std::string prefix = "GET /";
    const std::string suffix = " HTTP/1.1";
    auto line_of = [&](std::size_t len) { return prefix + std::string(len - prefix.size() - suffix.size(), 'a') + suffix; };
    ASSERT_EQ(line_of(http::kMaxRequestLine).size(), http::kMaxRequestLine);

    // Exactly the limit: fine.
    EXPECT_EQ(kind(line_of(http::kMaxRequestLine) + "\r\n\r\n"), ParseResult::complete);
    EXPECT_EQ(kind(line_of(http::kMaxRequestLine) + "\n\n"), ParseResult::complete);
    // One byte over: 414 once the line is complete.
    EXPECT_EQ(status(line_of(http::kMaxRequestLine + 1) + "\r\n\r\n"), 414);
    EXPECT_EQ(status(line_of(http::kMaxRequestLine + 1) + "\r\n"), 414);
    // Incomplete: up to the limit more is needed; beyond it 414 without waiting for the end.
    const std::string unterminated = "GET /" + std::string(2 * http::kMaxRequestLine, 'a');
    EXPECT_EQ(kind(unterminated.substr(0, http::kMaxRequestLine)), ParseResult::incomplete);
    EXPECT_EQ(status(unterminated.substr(0, http::kMaxRequestLine + 1)), 414);
    EXPECT_EQ(status(unterminated), 414);
    // A pending CR does not hide a line that is already too long.
    EXPECT_EQ(status(unterminated.substr(0, http::kMaxRequestLine + 1) + "\r"), 414);
    // Leading empty lines do not count toward the limit.
    EXPECT_EQ(kind("\r\n\r\n" + line_of(http::kMaxRequestLine) + "\r\n\r\n"), ParseResult::complete);
}

// A request line of exactly 8 KiB must be accepted however the read splits it: with its CR
// received but not yet its LF, the parser must wait, not answer 414 (regression: it did).
TEST(RequestParser, RequestLineAtLimitSplitBetweenCrAndLf) {
    const std::string line = "GET /" + std::string(http::kMaxRequestLine - 14, 'a') + " HTTP/1.1";
    ASSERT_EQ(line.size(), http::kMaxRequestLine);
    const std::string text = line + "\r\n\r\n";
    ASSERT_EQ(kind(text), ParseResult::complete);
    for (std::size_t n = text.size() - 8; n < text.size(); ++n) {
        const Parsed p = parse(std::string_view(text).substr(0, n));
        EXPECT_EQ(p.r.kind, ParseResult::incomplete) << "prefix of " << n << " bytes, status " << p.r.status;
    }
}

// Head (request line + fields) over 16 KiB → 431; exactly 16 KiB is fine, however split.
TEST(RequestParser, HeadTooLarge) {
    // Build a head of exactly kMaxHeadBytes bytes, empty line included.
    std::string head = "GET / HTTP/1.1\r\n";
    const std::string field_prefix = "X-Big: ";
    const std::size_t fill = http::kMaxHeadBytes - head.size() - field_prefix.size() - 2 - 2;
    head += field_prefix + std::string(fill, 'v') + "\r\n\r\n";
    ASSERT_EQ(head.size(), http::kMaxHeadBytes);
    EXPECT_EQ(kind(head), ParseResult::complete);
    for (std::size_t n = head.size() - 6; n < head.size(); ++n)
        EXPECT_EQ(kind(std::string_view(head).substr(0, n)), ParseResult::incomplete) << n;

    // One more byte in the value: 431.
    std::string over = "GET / HTTP/1.1\r\n" + field_prefix + std::string(fill + 1, 'v') + "\r\n\r\n";
    EXPECT_EQ(status(over), 431);
    // Already over while incomplete (the field line is not even finished): 431 without waiting.
    const std::string unfinished = "GET / HTTP/1.1\r\n" + field_prefix + std::string(2 * http::kMaxHeadBytes, 'v');
    EXPECT_EQ(kind(unfinished.substr(0, http::kMaxHeadBytes)), ParseResult::incomplete);
    EXPECT_EQ(status(unfinished.substr(0, http::kMaxHeadBytes + 1)), 431);
    EXPECT_EQ(status(unfinished), 431);
    // Many ordinary fields adding up past the limit.
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 60; ++i) many += "X-" + std::to_string(i) + ": " + std::string(300, 'x') + "\r\n";
    EXPECT_EQ(status(many + "\r\n"), 431);
    EXPECT_EQ(status(many), 431);
}

// 100 fields are accepted; the 101st → 431.
TEST(RequestParser, TooManyHeaders) {
    const Parsed ok = parse(head_with_fields(http::kMaxHeaders));
    ASSERT_EQ(ok.r.kind, ParseResult::complete);
    EXPECT_EQ(ok.req->header_count, http::kMaxHeaders);
    EXPECT_EQ(ok.req->headers[99].name, "X-99");
    EXPECT_EQ(status(head_with_fields(http::kMaxHeaders + 1)), 431);
    EXPECT_EQ(status(head_with_fields(500)), 431);
}

// ---------------------------------------------------------------------------------------------
// Helpers

// header() finds the first field of a name, case-insensitively; a missing one has null data().
// Every byte, in a method and in a header name: accepted exactly when RFC 9110 §5.6.2 makes it a
// tchar ("!#$%&'*+-.^_`|~", digits, letters), refused with 400 otherwise.
TEST(RequestParser, TokenCharactersExactly) {
    const std::string_view specials = "!#$%&'*+-.^_`|~";
    for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        const bool tchar = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                           specials.find(c) != std::string_view::npos;
        const std::string method = std::string("G") + c + "T / HTTP/1.1\r\nHost: h\r\n\r\n";
        const Parsed m = parse(method);
        EXPECT_EQ(m.r.kind, tchar ? ParseResult::complete : ParseResult::error) << "method byte " << b;
        if (!tchar) EXPECT_EQ(m.r.status, 400) << "method byte " << b;
        if (c == ':') continue;  // ends the name: "X:Y" is the field X with value Y
        const std::string header = std::string("GET / HTTP/1.1\r\nHost: h\r\nX") + c + "Y: v\r\n\r\n";
        const Parsed h = parse(header);
        EXPECT_EQ(h.r.kind, tchar ? ParseResult::complete : ParseResult::error) << "name byte " << b;
        if (!tchar) EXPECT_EQ(h.r.status, 400) << "name byte " << b;
    }
}

// The head is scanned eight bytes at a time: every byte value, at every offset of a word and at
// the ragged end, is judged as one byte at a time would (HTAB, SP, VCHAR and obs-text allowed in
// a value; other controls and DEL refused, and a CR not before LF).
TEST(RequestParser, ValueBytesAtEveryOffset) {
    for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        const bool allowed = b == '\t' || (b >= 0x20 && b != 0x7f);
        for (std::size_t at = 0; at < 19; ++at) {
            std::string value(18, 'v');
            value.insert(at, 1, c);
            if (b == '\n') continue;  // ends the line: a different request
            const std::string head = "GET / HTTP/1.1\r\nHost: h\r\nX: " + value + "\r\n\r\n";
            const Parsed p = parse(head);
            ASSERT_EQ(p.r.kind, allowed ? ParseResult::complete : ParseResult::error) << "byte " << b << " at " << at;
            if (!allowed) EXPECT_EQ(p.r.status, 400) << "byte " << b << " at " << at;
            if (allowed && at != 0 && at != 18) EXPECT_EQ(p.req->header("X"), value) << "byte " << b << " at " << at;
        }
    }
}

TEST(RequestParser, HeaderLookup) {
    const Parsed p = parse("GET / HTTP/1.1\r\nHost: a\r\ncontent-LENGTH: 5\r\nX-Dup: 1\r\nx-dup: 2\r\nEmpty:\r\n\r\n");
    ASSERT_EQ(p.r.kind, ParseResult::complete);
    EXPECT_EQ(p.req->header("host"), "a");
    EXPECT_EQ(p.req->header("HOST"), "a");
    EXPECT_EQ(p.req->header("Content-Length"), "5");
    EXPECT_EQ(p.req->header("x-DUP"), "1");  // the first one
    EXPECT_EQ(p.req->header("Missing"), "");
    EXPECT_EQ(p.req->header("Missing").data(), nullptr);
    EXPECT_EQ(p.req->header("Hos"), "");   // no prefix match
    EXPECT_EQ(p.req->header("Hostx"), "");
    EXPECT_EQ(p.req->header("empty"), "");
    EXPECT_NE(p.req->header("empty").data(), nullptr);  // present but empty differs from missing
}

// equals_ignore_case folds ASCII letters only.
// has_token reads a list over all its lines: "Connection: keep-alive" then "Connection: close" is
// "keep-alive, close" (RFC 9110 §5.3).
TEST(RequestParser, HasTokenOverEveryLine) {
    const Parsed p = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nX: close\r\n"
                           "connection: Upgrade, CLOSE \r\n\r\n");
    ASSERT_EQ(p.r.kind, ParseResult::complete);
    EXPECT_TRUE(p.req->has_token("Connection", "keep-alive"));
    EXPECT_TRUE(p.req->has_token("Connection", "close"));
    EXPECT_TRUE(p.req->has_token("CONNECTION", "upgrade"));
    EXPECT_FALSE(p.req->has_token("Connection", "x"));
    EXPECT_FALSE(p.req->has_token("Upgrade", "close"));
    EXPECT_TRUE(p.req->has_token("X", "close"));
}

TEST(RequestParser, EqualsIgnoreCase) {
    EXPECT_TRUE(http::equals_ignore_case("", ""));
    EXPECT_TRUE(http::equals_ignore_case("Keep-Alive", "keep-alive"));
    EXPECT_TRUE(http::equals_ignore_case("UPGRADE", "upgrade"));
    EXPECT_TRUE(http::equals_ignore_case("a1-_Z", "A1-_z"));
    EXPECT_FALSE(http::equals_ignore_case("abc", "abd"));
    EXPECT_FALSE(http::equals_ignore_case("abc", "abcd"));
    EXPECT_FALSE(http::equals_ignore_case("abc", ""));
    EXPECT_FALSE(http::equals_ignore_case("@", "`"));  // 0x40 vs 0x60: not letters
    EXPECT_FALSE(http::equals_ignore_case("[", "{"));
    EXPECT_FALSE(http::equals_ignore_case("\xc3\x89", "\xc3\xa9"));  // no Unicode folding
}

// list_has_token finds a whole element of a comma list, trimmed, case-insensitive.
TEST(RequestParser, ListHasToken) {
    EXPECT_TRUE(http::list_has_token("keep-alive, Upgrade", "upgrade"));
    EXPECT_TRUE(http::list_has_token("Upgrade", "upgrade"));
    EXPECT_TRUE(http::list_has_token("  upgrade  ", "Upgrade"));
    EXPECT_TRUE(http::list_has_token(",,upgrade,,", "upgrade"));
    EXPECT_TRUE(http::list_has_token("a,\tupgrade\t,b", "upgrade"));
    EXPECT_TRUE(http::list_has_token("close,keep-alive", "keep-alive"));
    EXPECT_FALSE(http::list_has_token("keep-alive, Upgrade2", "upgrade"));
    EXPECT_FALSE(http::list_has_token("upgrades", "upgrade"));
    EXPECT_FALSE(http::list_has_token("up grade", "upgrade"));
    EXPECT_FALSE(http::list_has_token("", "upgrade"));
    EXPECT_FALSE(http::list_has_token("keep-alive", "keep"));
    EXPECT_FALSE(http::list_has_token(", ,", ""));
    EXPECT_FALSE(http::list_has_token("a, b", ""));
}

}  // namespace

// Empty lines before a request are skipped, but an endless stream of them is refused (400)
// instead of waiting for a request line forever.
TEST(RequestParser, EndlessLeadingEmptyLinesRefused) {
    http::Request req;
    const std::string few = std::string(100, '\n');
    EXPECT_EQ(http::parse_request(few, req).kind, http::ParseResult::incomplete);
    std::string many;
    while (many.size() <= http::kMaxRequestLine) many += "\r\n";
    const auto r = http::parse_request(many, req);
    EXPECT_EQ(r.kind, http::ParseResult::error);
    EXPECT_EQ(r.status, 400);
}
