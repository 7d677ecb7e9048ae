#!/usr/bin/env python3
"""tests/fuzz/make_corpus.py — writes the seed corpora tests/fuzz/corpus/<target>/ (and the
dictionaries tests/fuzz/dict/) for the libFuzzer targets. Run from the repository root; it
replaces the seed files it knows and leaves any other file in the corpus directories alone.
Each target's input layout is described at the top of its tests/fuzz/<target>.cpp."""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)))


def write(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("latin-1"))


# request_parser_fuzz: flags (bit 0: expand "\xff N c"), split (u16 LE), bytes.
def req(name, text, split=0, flags=0):
    write("request_parser_fuzz", name, bytes([flags]) + struct.pack("<H", split) + text.encode("latin-1"))

req("get-simple", "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n", split=20)
req("get-browser", "GET /docs/guide.html?lang=en HTTP/1.1\r\nHost: localhost:8080\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\nIf-None-Match: \"5f3a-1b2c\"\r\n"
    "If-Modified-Since: Sat, 21 Nov 2026 12:00:00 GMT\r\nRange: bytes=0-1023\r\n\r\n", split=131)
req("pipelined-3", "GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
    "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", split=40)
req("post-sized-then-get", "POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n\r\nname=value&GET / HTTP/1.1\r\nHost: h\r\n\r\n", split=60)
req("post-chunked-then-get", "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", split=55)
req("http10-no-host", "GET / HTTP/1.0\r\n\r\n", split=17)
req("absolute-form", "GET http://example.com:8080/a/../b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", split=9)
req("bare-lf", "GET / HTTP/1.1\nHost: h\nX-Empty:\n\n", split=15)
req("leading-crlf", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", split=1)
req("websocket-upgrade", "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Origin: http://localhost\r\n\r\n", split=100)
req("content-length-list", "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", split=50)
req("te-and-cl", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
req("te-gzip-chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
req("two-hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n")
req("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n")
req("space-before-colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n")
req("http2-version", "GET / HTTP/2.0\r\nHost: h\r\n\r\n")
req("bare-cr", "GET / HTTP/1.1\rHost: h\r\n\r\n")
req("obs-text-value", "GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xe9 \t\r\n\r\n", split=30)
req("long-target-expanded", "GET /\xff\x7fa HTTP/1.1\r\nHost: h\r\n\r\n", split=8000, flags=1)
req("big-head-expanded", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: \xff\xf0b\r\n\r\n", split=16000, flags=1)
req("empty-lines-expanded", "\xff\x10\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", split=1000, flags=1)

# path_fuzz: the target itself.
for i, t in enumerate([
    "/", "/index.html", "/a/b/../c", "/../etc/passwd", "/%2e%2e/x", "/a/%2e%2e/%2e%2e/b", "/%00",
    "/a%2fb/..%2f..", "/.hidden/x", "/dir/.git/config", "http://host/a/../b?q=1", "http://host?x",
    "https://h:8080", "//a//b/./c/", "/a?b=../..", "/%zz", "/%", "/a%4", "/a#frag", "*",
    "/caf%C3%A9%20menu.html", "/a/./b/./", "/a/b/c/../../..", "/%2E%2E%2F", "/..%5c..%5cwin.ini",
    "/%252e%252e/", "/a/..", "/a/b/%2e/c%3fd",
]):
    write("path_fuzz", "t%02d" % i, t)

# range_fuzz: size, size2, mtime (u64/u64/i64 LE), flags (bit 0: sizes mod 4096), then
# "method\netag\nName: value\n..." (a one-digit name is a known header, see kNames).
MTIME = 1795780800  # 2026-11-27T12:00:00Z


def rng(name, lines, size=1000, size2=50, mtime=MTIME, flags=0):
    write("range_fuzz", name, struct.pack("<QQqB", size, size2, mtime, flags) + "\n".join(lines).encode("latin-1"))

ETAG = '"5f3a-3e8"'
rng("first-last", ["GET", ETAG, "Range: bytes=0-99"])
rng("suffix", ["GET", ETAG, "Range: bytes=-500"])
rng("open-ended", ["GET", ETAG, "Range: bytes=900-"])
rng("past-end", ["GET", ETAG, "Range: bytes=1000-2000"])
rng("reversed", ["GET", ETAG, "Range: bytes=5-3"])
rng("multi", ["GET", ETAG, "Range: bytes=0-0, -1"])
rng("other-unit", ["GET", ETAG, "Range: items=0-1"])
rng("empty-file", ["GET", ETAG, "Range: bytes=0-"], size=0)
rng("huge-file", ["GET", ETAG, "Range: bytes=18446744073709551614-"], size=2**64 - 1)
rng("head-range", ["HEAD", ETAG, "Range: bytes=0-1"])
rng("if-range-etag", ["GET", ETAG, "Range: bytes=10-19", "If-Range: " + ETAG])
rng("if-range-weak", ["GET", 'W/"5f3a-3e8"', "Range: bytes=10-19", 'If-Range: W/"5f3a-3e8"'])
rng("if-range-date", ["GET", ETAG, "Range: bytes=10-19", "If-Range: Fri, 27 Nov 2026 12:00:00 GMT"])
rng("if-none-match", ["GET", ETAG, 'If-None-Match: W/"other", "5f3a-3e8"'])
rng("if-none-match-star", ["GET", ETAG, "If-None-Match: *", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT"])
rng("if-modified-since", ["GET", ETAG, "If-Modified-Since: Sunday, 29-Nov-26 12:00:00 GMT"])
rng("if-match-fails", ["GET", ETAG, 'If-Match: "nope"', "Range: bytes=0-1"])
rng("if-unmodified-since", ["GET", ETAG, "If-Unmodified-Since: Sun Nov  1 08:49:37 2026"])
rng("accept-encoding", ["GET", ETAG, "Accept-Encoding: gzip;q=0, *;q=0.5, br", "6: x-gzip; q=1.0"])
rng("digit-names", ["GET", ETAG, "0: bytes=1-2", "1: " + ETAG, "3: *"], flags=1)

# date_fuzz: the text; its first 8 bytes also pick an instant.
for i, d in enumerate([
    "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
    "Wednesday, 09-Nov-05 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
    "Thu, 29 Feb 2024 12:00:00 GMT", "Sat, 21 Nov 2026 12:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 UTC",
    "Mon Jan 31 00:00:00 2000", "Tue, 30 Jun 2015 23:59:60 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
    "\x00\x00\x00\x80\x01\x00\x00\x00",
]):
    write("date_fuzz", "d%02d" % i, d)


# chunked_fuzz: flags (bits 0-3: cut count, bit 4: expand "\xff N c" in 4 KiB units), cuts (u16
# LE each), body.
def chunked(name, body, cuts=(), flags=0):
    write("chunked_fuzz", name, bytes([len(cuts) | flags]) + b"".join(struct.pack("<H", c) for c in cuts)
          + body.encode("latin-1"))

chunked("one-chunk", "5\r\nhello\r\n0\r\n\r\n", cuts=[3, 9])
chunked("extensions", "5;name=value;x\r\nhello\r\n6 ; y\r\n world\r\n0\r\n\r\n", cuts=[7])
chunked("trailers", "3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\nGET / HTTP/1.1\r\n", cuts=[12, 13, 30])
chunked("hex-sizes", "a\r\n0123456789\r\nF\r\n0123456789abcde\r\n000\r\n\r\n", cuts=[1, 2, 3, 4])
chunked("bad-digit", "g\r\nabc\r\n")
chunked("missing-crlf", "5\r\nhelloX0\r\n\r\n", cuts=[8])
chunked("too-many-digits", "0000000000000001\r\nx\r\n0\r\n\r\n")
chunked("too-large", "FFFFFFFFFFFFFFF\r\n", cuts=[5])
chunked("bare-lf", "5\nhello\n0\n\n")
chunked("one-mib-expanded", "100000\r\n\xff\xffa\r\n0\r\n\r\n", cuts=[100], flags=16)

# frame_fuzz: key (4), offset (u64 LE), split (u16 LE), then the bytes received.
def frame(name, data, key=b"\x37\xfa\x21\x3d", offset=0, split=3):
    write("frame_fuzz", name, key + struct.pack("<QH", offset, split) + data)

def masked(payload, key=b"\x37\xfa\x21\x3d"):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))

K = b"\x37\xfa\x21\x3d"
frame("client-text", b"\x81\x85" + K + masked(b"Hello"))
frame("server-text", b"\x81\x05Hello", offset=5)
frame("client-126", b"\x82\xfe\x01\x00" + K + masked(bytes(range(256))), offset=3, split=100)
frame("server-126", b"\x82\x7e\x00\x7e" + bytes(126))
frame("client-127", b"\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00" + K + masked(b"x" * 64), offset=65530, split=13)
frame("server-127", b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00")
frame("close-1000", b"\x88\x82" + K + masked(b"\x03\xe8"))
frame("ping-empty", b"\x89\x80" + K)
frame("pong", b"\x8a\x84" + K + masked(b"ping"))
frame("fragment-start", b"\x01\x83" + K + masked(b"abc") + b"\x80\x83" + K + masked(b"def"))
frame("rsv-set", b"\xc1\x85" + K + masked(b"Hello"))
frame("bad-length", b"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00" + K)
frame("non-minimal", b"\x82\x7e\x00\x05hello")
frame("truncated", b"\x81\xfe\x00")

# Dictionaries: tokens the mutator would take long to invent.
DICTS = {
    "request_parser": ["GET", "HEAD", "POST", " HTTP/1.1", " HTTP/1.0", "\\x0d\\x0a", "\\x0d\\x0a\\x0d\\x0a", "Host: ",
                       "Content-Length: ", "Transfer-Encoding: ", "chunked", "Connection: ", "keep-alive",
                       "Upgrade", "0\\x0d\\x0a\\x0d\\x0a", "\\xff\\x7f", "\\xff\\xff", ";ext=", ", "],
    "path": ["%2e", "%2E", "%2f", "%2F", "%00", "%5c", "..", "/../", "/./", "://", "?", "#", "%25", "//"],
    "range": ["bytes=", "Range: ", "If-Range: ", "If-Match: ", "If-None-Match: ", "If-Modified-Since: ",
              "If-Unmodified-Since: ", "Accept-Encoding: ", "W/", "\\\"", "*", "gzip", "x-gzip", ";q=0", ";q=0.000",
              "18446744073709551615", "GMT", "Nov"],
    "date": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", " GMT",
             "Sun, ", "Wednesday, ", "23:59:60", "9999", "1970", "-99 "],
    "chunked": ["\\x0d\\x0a", "0\\x0d\\x0a\\x0d\\x0a", ";", "FFFFFFFFFFFFFFF", "100000", "\\xff\\xff", "\\xff\\x0f"],
    "frame": ["\\x7e", "\\x7f", "\\xfe", "\\xff", "\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x00", "\\x80\\x00\\x00\\x00"],
}
os.makedirs(os.path.join(ROOT, "dict"), exist_ok=True)
for name, tokens in DICTS.items():
    with open(os.path.join(ROOT, "dict", name + ".dict"), "w") as f:
        f.write("# libFuzzer dictionary for tests/fuzz/%s_fuzz.cpp (written by make_corpus.py)\n" % name)
        for i, t in enumerate(tokens):
            f.write('t%d="%s"\n' % (i, t))
