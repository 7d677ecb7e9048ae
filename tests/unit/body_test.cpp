// Request body framing (RFC 9112 §6) and the chunked decoder (§7.1).
#include <gtest/gtest.h>

#include <string>

#include "http/body.h"

namespace {

using http::BodyFraming;
using http::ChunkedDecoder;

BodyFraming framing_of(const std::string& head) {
    static http::Request req;  // large; keep it off the stack
    const auto r = http::parse_request(head, req);
    EXPECT_EQ(r.kind, http::ParseResult::complete) << head;
    return http::check_framing(req);
}

// Each row: a request head and the framing (or refusal) it must get.
TEST(Framing, Table) {
    struct Row {
        const char* head;
        BodyFraming::Kind kind;
        int status;
        std::uint64_t length;
    } rows[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", BodyFraming::none, 0, 0},
        {"GET / HTTP/1.0\r\n\r\n", BodyFraming::none, 0, 0},                      // 1.0 needs no Host
        {"GET / HTTP/1.1\r\n\r\n", BodyFraming::none, 400, 0},                    // 1.1 without Host
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", BodyFraming::none, 400, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", BodyFraming::none, 0, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", BodyFraming::sized, 0, 12},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", BodyFraming::sized, 0, 7},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\n\r\n", BodyFraming::sized, 0, 7},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n", BodyFraming::none, 400, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 8\r\n\r\n", BodyFraming::none, 400, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\n", BodyFraming::none, 400, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", BodyFraming::none, 400, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", BodyFraming::none, 400, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", BodyFraming::none, 400, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", BodyFraming::none, 400, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n", BodyFraming::sized, 0, 1048576},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", BodyFraming::none, 413, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", BodyFraming::chunked, 0, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n", BodyFraming::chunked, 0, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", BodyFraming::none, 501, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", BodyFraming::none, 501, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", BodyFraming::none, 501, 0},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", BodyFraming::none, 400, 0},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", BodyFraming::none, 400, 0},
        // Host must be a valid uri-host [":" port] (RFC 9112 §3.2): else 400, in 1.0 too.
        {"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", BodyFraming::none, 0, 0},
        {"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", BodyFraming::none, 0, 0},
        {"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", BodyFraming::none, 0, 0},
        {"GET / HTTP/1.1\r\nHost: xn--caf-dma.example\r\n\r\n", BodyFraming::none, 0, 0},
        {"GET / HTTP/1.1\r\nHost:\r\n\r\n", BodyFraming::none, 0, 0},  // empty reg-name
        {"GET / HTTP/1.1\r\nHost: local host\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: localhost/evil\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: user@host\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: h?x\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.0\r\nHost: a b\r\n\r\n", BodyFraming::none, 400, 0},
        // RFC 9112 §3.2: an invalid Host is a 400. A port is digits; a literal is bracketed.
        {"GET / HTTP/1.1\r\nHost: a:\r\n\r\n", BodyFraming::none, 0, 0},  // empty port: allowed
        {"GET / HTTP/1.1\r\nHost: a%2Db.example\r\n\r\n", BodyFraming::none, 0, 0},
        {"GET / HTTP/1.1\r\nHost: [v1.x:y]\r\n\r\n", BodyFraming::none, 0, 0},  // IPvFuture
        {"GET / HTTP/1.1\r\nHost: [::ffff:127.0.0.1]:8080\r\n\r\n", BodyFraming::none, 0, 0},
        {"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: a:80:80\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: ::::\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: a]\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: []\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: [g::1]\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: a%2\r\n\r\n", BodyFraming::none, 400, 0},
        {"GET / HTTP/1.1\r\nHost: a[b\r\n\r\n", BodyFraming::none, 400, 0},
    };
    for (const auto& row : rows) {
        const BodyFraming f = framing_of(row.head);
        EXPECT_EQ(f.status, row.status) << row.head;
        if (row.status == 0) {
            EXPECT_EQ(f.kind, row.kind) << row.head;
            EXPECT_EQ(f.length, row.length) << row.head;
        }
    }
}

// A well-formed chunked body ends exactly at its last CRLF, however it is split.
TEST(Chunked, ValidBodiesAtEverySplit) {
    const std::string bodies[] = {
        "0\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
        "5;name=value;x\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n",
        "3\r\nabc\r\n0\r\nTrailer-One: 1\r\nTrailer-Two: 2\r\n\r\n",
        "00000010\r\n0123456789abcdef\r\n0\r\n\r\n",
        "5 \t;x\r\nhello\r\n0 \r\n\r\n",              // whitespace before an extension or the CRLF
        "0\r\nX-T:\r\nY:\tv a l\xff\r\n\r\n",           // empty and odd (but legal) trailer values
    };
    for (const std::string& body : bodies) {
        const std::string stream = body + "GET /next HTTP/1.1\r\n";
        for (std::size_t split = 0; split <= body.size(); ++split) {
            ChunkedDecoder d;
            const auto a = d.feed(stream.data(), split);
            ASSERT_EQ(a.status, 0) << body << " split " << split;
            std::size_t used = a.consumed;
            if (!a.done) {
                ASSERT_EQ(a.consumed, split);
                const auto b = d.feed(stream.data() + split, stream.size() - split);
                ASSERT_EQ(b.status, 0) << body << " split " << split;
                ASSERT_TRUE(b.done) << body << " split " << split;
                used += b.consumed;
            }
            EXPECT_EQ(used, body.size()) << body << " split " << split;
        }
    }
}

// Malformed chunk framing is refused with 400.
TEST(Chunked, MalformedIs400) {
    const char* bad[] = {
        "zz\r\n", "\r\n", "5\nhello\r\n", "5\r\nhelloX\r\n", "5\r\nhello\rX",
        "1234567890abcdef0\r\n", "5;ext\nhello", "0\r\nbad\ntrailer\r\n\r\n", "-1\r\n",
        "5 junk\r\n", "5 5\r\n",                                  // RFC 9112 §7.1.1: only ';' may follow
        // Trailer lines (§7.1.2) are field lines: a bare LF may not end the trailers (a peer that
        // takes it for the end would see the next request where this decoder saw a trailer).
        "0\r\n\nGET / HTTP/1.1\r\n\r\n", "0\r\nno colon\r\n\r\n", "0\r\n: no name\r\n\r\n",
        "0\r\nA: 1\r\n folded\r\n\r\n", "0\r\nA b: 1\r\n\r\n", "0\r\nA: x\x01y\r\n\r\n",
        "0\r\nA: x\x7fy\r\n\r\n",
    };
    for (const char* body : bad) {
        ChunkedDecoder d;
        const auto r = d.feed(body, std::char_traits<char>::length(body));
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_FALSE(r.done) << body;
    }
}

// A chunk or a body over the limit is refused with 413 before its bytes arrive.
TEST(Chunked, OversizedIs413) {
    ChunkedDecoder one;
    const std::string huge = "200000\r\n";  // 2 MiB chunk
    EXPECT_EQ(one.feed(huge.data(), huge.size()).status, 413);

    ChunkedDecoder many;
    const std::string chunk = "FFFF\r\n" + std::string(0xFFFF, 'x') + "\r\n";
    int status = 0;
    for (int i = 0; i < 40 && status == 0; ++i) status = many.feed(chunk.data(), chunk.size()).status;
    EXPECT_EQ(status, 413);
}

// The data limit is the Content-Length one, exactly: 1 MiB of data in chunks passes, one byte
// more is refused at the size line that announces it, before the byte arrives.
TEST(Chunked, DataLimitMatchesContentLength) {
    const std::string half = "80000\r\n" + std::string(http::kMaxBodyBytes / 2, 'a') + "\r\n";
    ChunkedDecoder at;
    const std::string full = half + half + "0\r\n\r\n";
    const auto a = at.feed(full.data(), full.size());
    EXPECT_EQ(a.status, 0);
    EXPECT_TRUE(a.done);
    ChunkedDecoder over;
    const std::string more = half + half + "1\r\n";
    const auto b = over.feed(more.data(), more.size());
    EXPECT_EQ(b.status, 413);
    EXPECT_EQ(b.consumed, more.size() - 1);  // at the LF that ends the announcing line
}

// The limit falls at the same byte whether the data arrives whole or cut anywhere (a fuzzer
// found it checked only after a whole run of chunk data).
TEST(Chunked, LimitAtTheSameByteAtEverySplit) {
    const std::string body = "100000;" + std::string(200704, 'x') + "\r\n" + std::string(1 << 20, 'a') + "\r\n0\r\n\r\n";
    ChunkedDecoder whole;
    const auto w = whole.feed(body.data(), body.size());
    ASSERT_EQ(w.status, 413);
    for (std::size_t cut : {std::size_t{1000}, std::size_t{210000}, std::size_t{1100000}, w.consumed - 1, w.consumed}) {
        ChunkedDecoder split;
        const auto a = split.feed(body.data(), cut);
        ASSERT_EQ(a.status, 0) << cut;
        const auto b = split.feed(body.data() + cut, body.size() - cut);
        EXPECT_EQ(b.status, 413) << cut;
        EXPECT_EQ(a.consumed + b.consumed, w.consumed) << cut;
    }
}

}  // namespace
