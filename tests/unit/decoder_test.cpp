// decoder_test.cpp: ws::Decoder (websocket/decoder.h), the RFC 6455 receive state machine — echo
// of single frames in all three length forms, fragmented messages with control frames between
// the fragments, every rule that fails with 1002, the message limit (1009) at its exact boundary,
// UTF-8 of text (1007, failing as soon as the bad byte arrives), close payloads, the spill buffer
// for a header cut anywhere, data_payload_left(), and a stream of many frames fed whole, a byte at
// a time and cut at every point, which must give the same events and fail at the same byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "websocket/decoder.h"

namespace {

using Bytes = std::vector<std::uint8_t>;
using Key = std::array<std::uint8_t, 4>;
using ws::Event;

constexpr std::uint64_t kNoLimit = ~std::uint64_t{0};
constexpr Key kKey = {0x37, 0xfa, 0x21, 0x3d};

Bytes b(const std::string& s) { return Bytes(s.begin(), s.end()); }
Bytes operator+(Bytes a, const Bytes& c) {
    a.insert(a.end(), c.begin(), c.end());
    return a;
}

// ---------------------------------------------------------------------------------------------
// Client frames.

struct Opt {
    bool masked = true;
    int form = 0;                       // header length field: 0 the shortest, or 2, 4 or 10 bytes
    std::optional<std::uint64_t> length;  // announced length, when not the payload's
    Key key = kKey;
};

// A frame with first byte `b0` (FIN, RSV, opcode), `payload` masked with the key.
Bytes raw_frame(std::uint8_t b0, const Bytes& payload, const Opt& o = {}) {
    const std::uint64_t len = o.length ? *o.length : payload.size();
    const int form = o.form ? o.form : len < 126 ? 2 : len <= 0xffff ? 4 : 10;
    const std::uint8_t mask_bit = o.masked ? 0x80 : 0;
    Bytes f = {b0};
    if (form == 2) {
        f.push_back(static_cast<std::uint8_t>(mask_bit | len));
    } else if (form == 4) {
        f.push_back(mask_bit | 126);
        f.push_back(static_cast<std::uint8_t>(len >> 8));
        f.push_back(static_cast<std::uint8_t>(len));
    } else {
        f.push_back(mask_bit | 127);
        for (int i = 7; i >= 0; --i) f.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
    }
    if (o.masked) f.insert(f.end(), o.key.begin(), o.key.end());
    for (std::size_t i = 0; i < payload.size(); ++i)
        f.push_back(o.masked ? static_cast<std::uint8_t>(payload[i] ^ o.key[i % 4]) : payload[i]);
    return f;
}

Opt with_key(const Key& k) {
    Opt o;
    o.key = k;
    return o;
}
Opt unmasked() {
    Opt o;
    o.masked = false;
    return o;
}
Opt in_form(int form) {
    Opt o;
    o.form = form;
    return o;
}

Bytes frame(std::uint8_t opcode, const Bytes& payload, bool fin = true, const Opt& o = {}) {
    return raw_frame(static_cast<std::uint8_t>((fin ? 0x80 : 0) | opcode), payload, o);
}
Bytes text(const std::string& s, bool fin = true, const Opt& o = {}) { return frame(ws::kText, b(s), fin, o); }
Bytes binary(const Bytes& p, bool fin = true, const Opt& o = {}) { return frame(ws::kBinary, p, fin, o); }
Bytes cont(const std::string& s, bool fin = true, const Opt& o = {}) { return frame(ws::kContinuation, b(s), fin, o); }
Bytes ping(const std::string& s = "", const Opt& o = {}) { return frame(ws::kPing, b(s), true, o); }
Bytes pong(const std::string& s = "", const Opt& o = {}) { return frame(ws::kPong, b(s), true, o); }
Bytes close_payload(unsigned code, const std::string& reason = "") {
    return Bytes{static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)} + b(reason);
}
Bytes close(unsigned code, const std::string& reason = "") { return frame(ws::kClose, close_payload(code, reason)); }

// `payload` masked as the frame's bytes `offset` bytes into its payload.
Bytes masked(const Bytes& payload, std::size_t offset = 0, const Key& key = kKey) {
    Bytes m(payload.size());
    for (std::size_t i = 0; i < payload.size(); ++i) m[i] = static_cast<std::uint8_t>(payload[i] ^ key[(offset + i) % 4]);
    return m;
}

// A header alone (no payload), announcing `length`.
Bytes header(std::uint8_t b0, std::uint64_t length, const Opt& o = {}) {
    Opt h = o;
    h.length = length;
    return raw_frame(b0, {}, h);
}

// Valid UTF-8 of exactly `n` bytes, mixing 1- to 4-byte characters.
std::string utf8_text(std::size_t n) {
    static const char* chars[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "z", "\xd0\x96", "\xe4\xb8\xad"};
    std::string s;
    for (std::size_t i = 0; s.size() < n; ++i) {
        const std::string c = chars[i % 7];
        s += s.size() + c.size() <= n ? c : "x";
    }
    return s;
}

Bytes pattern(std::size_t n, unsigned seed = 1) {
    Bytes p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(i * 131 + seed * 7 + (i >> 8));
    return p;
}

// ---------------------------------------------------------------------------------------------
// What the decoder reports, gathered: messages (their data events concatenated) and control
// frames in order, the message still open at the end, and the failure.

struct Item {
    bool control;
    std::uint8_t opcode;
    Bytes bytes;
    std::uint16_t code;  // a close's close_code
    bool operator==(const Item&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Item& it) {
    os << (it.control ? "control " : "message ") << int(it.opcode) << " [" << it.bytes.size() << "]";
    if (it.code) os << " code " << it.code;
    return os;
}

struct Trace {
    std::vector<Item> items;
    Bytes open;                   // data of the message still open at the end
    std::uint16_t fail = 0;
    std::size_t fail_from = 0, fail_to = 0;  // the piece [from, to) of the stream being fed at the failure
    std::size_t consumed = 0;     // bytes consumed before the end or the failure
};

std::ostream& operator<<(std::ostream& os, const Trace& t) {
    for (const Item& it : t.items) os << it << "; ";
    os << "open [" << t.open.size() << "]";
    if (t.fail) os << " fail " << t.fail << " in [" << t.fail_from << ", " << t.fail_to << ")";
    return os;
}

// The expected trace, built up.
struct Expect {
    Trace t;
    Expect& msg(std::uint8_t op, const Bytes& data) {
        t.items.push_back({false, op, data, 0});
        return *this;
    }
    Expect& msg(std::uint8_t op, const std::string& data) { return msg(op, b(data)); }
    Expect& ctl(std::uint8_t op, const Bytes& payload, std::uint16_t code = 0) {
        t.items.push_back({true, op, payload, code});
        return *this;
    }
    Expect& ctl(std::uint8_t op, const std::string& payload = "") { return ctl(op, b(payload)); }
    Expect& open(const Bytes& data) {
        t.open = data;
        return *this;
    }
    Expect& fail(std::uint16_t code) {
        t.fail = code;
        return *this;
    }
};

// Feeds a decoder piece after piece, each from an exactly-sized heap copy (the decoder unmasks in
// place, and ASan catches a read or write past the piece), checking every event on the way and
// gathering them into a Trace.
struct Feeder {
    ws::Decoder dec;
    std::uint64_t max;
    Trace t;
    std::uint8_t open_op = 0;
    bool open_seen = false;
    std::size_t fed = 0;

    explicit Feeder(std::uint64_t max_message) : dec(max_message), max(max_message) {}

    // False once the decoder failed.
    bool feed(const std::uint8_t* data, std::size_t n) {
        const std::size_t from = fed;
        fed += n;
        if (t.fail) return false;
        std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[n]);
        if (n) std::memcpy(buf.get(), data, n);
        std::size_t off = 0;
        for (;;) {
            const std::uint64_t left = dec.data_payload_left();
            std::size_t used = 12345;
            const Event e = dec.next(buf.get() + off, n - off, used);
            EXPECT_LE(used, n - off);
            if (e.kind != Event::fail && left) {
                // In a data frame's payload: only payload is consumed, and the count goes down by it.
                EXPECT_LE(used, left);
                EXPECT_EQ(dec.data_payload_left(), left - used);
                if (e.kind == Event::data) {
                    EXPECT_EQ(e.size, used);
                }
                else EXPECT_EQ(used, 0u);
            }
            off += used;
            t.consumed += used;
            switch (e.kind) {
            case Event::need_more:
                EXPECT_EQ(off, n) << "need_more with input left";
                return true;
            case Event::fail: {
                EXPECT_TRUE(e.close_code == 1002 || e.close_code == 1007 || e.close_code == 1009) << e.close_code;
                t.fail = e.close_code, t.fail_from = from, t.fail_to = from + n;
                // Final: every later call fails the same way, consumes nothing, writes nothing.
                const Bytes more = text("more") + ping();
                Bytes copy = more;
                for (int i = 0; i < 2; ++i) {
                    std::size_t u = 99;
                    const Event again = i ? dec.next(copy.data(), copy.size(), u) : dec.next(buf.get() + off, n - off, u);
                    EXPECT_EQ(again.kind, Event::fail);
                    EXPECT_EQ(again.close_code, t.fail);
                    EXPECT_EQ(u, 0u);
                }
                EXPECT_EQ(copy, more) << "wrote to its input after failing";
                EXPECT_EQ(dec.data_payload_left(), 0u) << "payload still wanted after failing";
                return false;
            }
            case Event::control: {
                EXPECT_TRUE(e.opcode == ws::kClose || e.opcode == ws::kPing || e.opcode == ws::kPong) << int(e.opcode);
                EXPECT_LE(e.size, ws::kMaxControlPayload);
                EXPECT_TRUE(e.last);
                std::uint16_t code = 0;
                if (e.opcode == ws::kClose) code = e.size >= 2 ? static_cast<std::uint16_t>(e.bytes[0] << 8 | e.bytes[1]) : 1000;
                EXPECT_EQ(e.close_code, code);
                t.items.push_back({true, e.opcode, Bytes(e.bytes, e.bytes + e.size), e.close_code});
                continue;
            }
            case Event::data:
                break;
            }
            // data: a run of the input just consumed, unmasked where it lies.
            EXPECT_TRUE(e.opcode == ws::kText || e.opcode == ws::kBinary) << int(e.opcode);
            EXPECT_TRUE(e.size > 0 || e.last) << "empty data event that does not end the message";
            EXPECT_EQ(e.bytes, buf.get() + off - e.size) << "data is not the bytes just consumed";
            if (open_seen) {
                EXPECT_EQ(e.opcode, open_op) << "opcode changed inside a message";
            }
            open_op = e.opcode, open_seen = true;
            t.open.insert(t.open.end(), e.bytes, e.bytes + e.size);
            EXPECT_LE(t.open.size(), max) << "more data than max_message";
            if (e.last) {
                t.items.push_back({false, e.opcode, t.open, 0});
                t.open.clear();
                open_seen = false;
            }
        }
    }
    bool feed(const Bytes& piece) { return feed(piece.data(), piece.size()); }
};

// Feeds `stream` to a fresh decoder in pieces cut at `cuts` (ascending; repeats make empty pieces).
Trace run(const Bytes& stream, const std::vector<std::size_t>& cuts, std::uint64_t max = kNoLimit) {
    Feeder f(max);
    std::size_t from = 0;
    for (std::size_t k = 0; k <= cuts.size(); ++k) {
        const std::size_t to = k < cuts.size() ? cuts[k] : stream.size();
        if (!f.feed(stream.data() + from, to - from)) break;
        from = to;
    }
    return f.t;
}

Trace whole(const Bytes& stream, std::uint64_t max = kNoLimit) { return run(stream, {}, max); }

// Two traces of the same stream must match: the same messages and controls, the same failure; the
// message open at the end the same (when one run failed inside it, the data before the bad byte
// may have been reported in one run and not the other, so only as a prefix).
void expect_same(const Trace& got, const Trace& want, const std::string& how) {
    EXPECT_EQ(got.items, want.items) << how << "\n got  " << got << "\n want " << want;
    EXPECT_EQ(got.fail, want.fail) << how << "\n got  " << got << "\n want " << want;
    if (!got.fail && !want.fail) {
        EXPECT_EQ(got.open, want.open) << how;
    } else {
        const std::size_t m = std::min(got.open.size(), want.open.size());
        EXPECT_TRUE(std::equal(got.open.begin(), got.open.begin() + m, want.open.begin())) << how;
    }
}

// Feeds `stream` whole, a byte at a time, in two pieces cut at every point, and in random pieces:
// every way gives `want` (when given) or the whole run's trace, and a failure comes while feeding
// the piece that holds the byte at which it came when fed a byte at a time.
void check_every_split(const Bytes& stream, std::uint64_t max = kNoLimit, const Trace* want = nullptr,
                       std::size_t max_splits = ~std::size_t{0}) {
    const std::size_t n = stream.size();
    const Trace w = whole(stream, max);
    if (want) {
        expect_same(w, *want, "whole");
        EXPECT_EQ(w.open, want->open);
    }
    std::vector<std::size_t> every(n > 1 ? n - 1 : 0);
    for (std::size_t i = 0; i + 1 < n; ++i) every[i] = i + 1;
    const Trace one = run(stream, every, max);
    expect_same(one, w, "byte by byte");
    if (w.fail) {
        ASSERT_EQ(one.fail_to, one.fail_from + 1);
    }
    const std::size_t fail_byte = one.fail_from;
    auto check_fail_piece = [&](const Trace& t, const std::string& how) {
        if (t.fail) {
            EXPECT_TRUE(t.fail_from <= fail_byte && fail_byte < t.fail_to)
                << how << ": failed in [" << t.fail_from << ", " << t.fail_to << "), byte by byte at " << fail_byte;
        }
    };
    const std::size_t step = max_splits > n ? 1 : n / max_splits + 1;
    for (std::size_t cut = 0; cut <= n; cut += step) {
        const Trace two = run(stream, {cut}, max);
        expect_same(two, w, "cut at " + std::to_string(cut));
        check_fail_piece(two, "cut at " + std::to_string(cut));
        if (::testing::Test::HasFailure()) return;
    }
    std::mt19937 rng(static_cast<unsigned>(n));
    for (int trial = 0; trial < 30; ++trial) {
        std::vector<std::size_t> cuts;
        for (std::size_t at = 0;;) {
            at += rng() % (trial % 3 == 0 ? 4 : trial % 3 == 1 ? 20 : 300);
            if (at > n) break;
            cuts.push_back(at);  // repeats make empty pieces
        }
        const Trace r = run(stream, cuts, max);
        expect_same(r, w, "random cuts, trial " + std::to_string(trial));
        check_fail_piece(r, "random cuts, trial " + std::to_string(trial));
        if (::testing::Test::HasFailure()) return;
    }
}

void check_every_split(const Bytes& stream, const Expect& want, std::uint64_t max = kNoLimit) {
    check_every_split(stream, max, &want.t);
}

// A stream of every kind of frame: lengths in every form, keys, fragments with controls between
// them and UTF-8 cut across them, empty frames, a close and a frame after it.
Bytes long_stream(Expect& want) {
    Bytes s;
    auto add = [&](const Bytes& f) { s = s + f; };
    add(text("Hello", true, with_key({0, 0, 0, 0})));
    want.msg(ws::kText, "Hello");
    add(binary(pattern(300), true, with_key({0xde, 0xad, 0xbe, 0xef})));
    want.msg(ws::kBinary, pattern(300));
    add(ping("p1"));
    want.ctl(ws::kPing, "p1");
    add(text("\xce\xba\xe1", false) + ping() + cont("\xbd\xb9\xcf", false) + pong("x") + cont("\x83\xce\xbc\xce\xb5!"));
    want.ctl(ws::kPing).ctl(ws::kPong, "x").msg(ws::kText, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5!");
    add(binary({}, false) + frame(0, pattern(5), false) + frame(0, {}, true));
    want.msg(ws::kBinary, pattern(5));
    add(text(""));
    want.msg(ws::kText, "");
    add(text(utf8_text(126)));
    want.msg(ws::kText, utf8_text(126));
    add(pong(std::string(125, 'q')));
    want.ctl(ws::kPong, std::string(125, 'q'));
    add(text("\xf0\x9f", false) + cont("\x98", false) + cont("\x80\xf0\x9f\x98\x81"));
    want.msg(ws::kText, "\xf0\x9f\x98\x80\xf0\x9f\x98\x81");
    add(binary(pattern(20)));
    want.msg(ws::kBinary, pattern(20));
    add(text(utf8_text(200), true, in_form(4)));
    want.msg(ws::kText, utf8_text(200));
    add(close(1000, "bye"));
    want.ctl(ws::kClose, close_payload(1000, "bye"), 1000);
    add(text("after"));
    want.msg(ws::kText, "after");
    return s;
}

// ---------------------------------------------------------------------------------------------
// Whole messages

// One frame, fed whole: one data event (last) with the payload unmasked where it lies, the whole
// frame consumed; at the lengths on each side of the three length forms.
TEST(Decoder, SingleFrameAtEveryLengthForm) {
    for (std::size_t len : {0, 1, 125, 126, 127, 65535, 65536, 70000})
        for (std::uint8_t op : {ws::kText, ws::kBinary}) {
            SCOPED_TRACE(std::to_string(len) + (op == ws::kText ? " text" : " binary"));
            const Bytes payload = op == ws::kText ? b(utf8_text(len)) : pattern(len);
            const Bytes f = frame(op, payload);
            const std::size_t head = len < 126 ? 6 : len <= 0xffff ? 8 : 14;
            ASSERT_EQ(f.size(), head + len);
            Bytes buf = f;
            ws::Decoder dec(70000);
            std::size_t used;
            const Event e = dec.next(buf.data(), buf.size(), used);
            ASSERT_EQ(e.kind, Event::data);
            EXPECT_EQ(e.opcode, op);
            EXPECT_TRUE(e.last);
            EXPECT_EQ(used, f.size());
            EXPECT_EQ(e.bytes, buf.data() + head);
            EXPECT_EQ(e.size, len);
            EXPECT_TRUE(std::equal(payload.begin(), payload.end(), buf.begin() + head)) << "not unmasked in place";
            EXPECT_EQ(dec.data_payload_left(), 0u);
            const Event after = dec.next(buf.data() + used, 0, used);
            EXPECT_EQ(after.kind, Event::need_more);
            EXPECT_EQ(used, 0u);
            if (len <= 300) check_every_split(f, Expect().msg(op, payload), 70000);
        }
}

// The RFC's own examples (§5.7): a masked "Hello", and the same text in two fragments.
TEST(Decoder, RfcExamples) {
    check_every_split({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, Expect().msg(ws::kText, "Hello"));
    check_every_split(text("Hel", false) + cont("lo"), Expect().msg(ws::kText, "Hello"));
    check_every_split(ping("Hello"), Expect().ctl(ws::kPing, "Hello"));
}

// Control frames between fragments are reported at once, the message continues after them.
TEST(Decoder, FragmentsWithControlFramesBetween) {
    const Bytes s = text("Hel", false, with_key({1, 2, 3, 4})) + ping("p1") + cont("lo", false) + pong() +
                    ping(std::string(125, 'P')) + cont(", world", true, with_key({0, 0, 0, 0})) +
                    binary(pattern(5), false) + ping() + cont("", false) + pong("x") + frame(0, pattern(200, 2), true);
    check_every_split(s, Expect()
                             .ctl(ws::kPing, "p1")
                             .ctl(ws::kPong)
                             .ctl(ws::kPing, std::string(125, 'P'))
                             .msg(ws::kText, "Hello, world")
                             .ctl(ws::kPing)
                             .ctl(ws::kPong, "x")
                             .msg(ws::kBinary, pattern(5) + pattern(200, 2)));
}

// Empty frames: an empty message is one empty data event; empty non-final fragments report
// nothing; an empty final fragment ends the message with an empty event.
TEST(Decoder, EmptyFrames) {
    check_every_split(text(""), Expect().msg(ws::kText, ""));
    check_every_split(binary({}), Expect().msg(ws::kBinary, Bytes{}));
    check_every_split(text("", false) + cont("", false) + cont(""), Expect().msg(ws::kText, ""));
    check_every_split(text("", false) + ping() + cont("ab", false) + cont("", false) + cont(""),
                      Expect().ctl(ws::kPing).msg(ws::kText, "ab"));

    // Fed whole: the empty fragments are passed over within one call.
    Bytes s = text("", false) + cont("", false) + cont("ab", false) + cont("");
    ws::Decoder dec(100);
    std::size_t used;
    Event e = dec.next(s.data(), s.size(), used);
    ASSERT_EQ(e.kind, Event::data);
    EXPECT_EQ(e.size, 2u);
    EXPECT_FALSE(e.last);
    std::size_t pos = used;
    e = dec.next(s.data() + pos, s.size() - pos, used);
    ASSERT_EQ(e.kind, Event::data);
    EXPECT_EQ(e.size, 0u);
    EXPECT_TRUE(e.last);
    EXPECT_EQ(e.opcode, ws::kText);
    EXPECT_EQ(pos + used, s.size());
}

// Many messages in a row, each starting afresh (opcode, UTF-8 state, size).
TEST(Decoder, MessagesInARow) {
    Bytes s;
    Expect want;
    for (int i = 0; i < 20; ++i) {
        const std::string t = utf8_text(static_cast<std::size_t>(i * 7));
        if (i % 3 == 0) s = s + text(t), want.msg(ws::kText, t);
        else if (i % 3 == 1) s = s + binary(pattern(i, i)), want.msg(ws::kBinary, pattern(i, i));
        else s = s + binary(pattern(i, i), false) + cont(t), want.msg(ws::kBinary, pattern(i, i) + b(t));
    }
    check_every_split(s, want, 200);
}

// ---------------------------------------------------------------------------------------------
// 1002: protocol errors

TEST(Decoder, ProtocolErrors) {
    struct Case {
        const char* what;
        Bytes stream;
        Expect want;
    };
    std::vector<Case> cases = {
        {"unmasked text", text("Hello", true, unmasked()), Expect()},
        {"unmasked empty close", frame(ws::kClose, {}, true, unmasked()), Expect()},
        {"unmasked continuation", text("a", false) + cont("b", true, unmasked()), Expect().open(b("a"))},
        {"RSV1", raw_frame(0xc1, b("Hello")), Expect()},
        {"RSV2", raw_frame(0xa1, b("Hello")), Expect()},
        {"RSV3", raw_frame(0x91, b("Hello")), Expect()},
        {"RSV1 on a ping", raw_frame(0xc9, {}), Expect()},
        {"RSV3 on a continuation", binary(pattern(3), false) + raw_frame(0x90, pattern(3)), Expect().open(pattern(3))},
        {"ping without FIN", frame(ws::kPing, b("x"), false), Expect()},
        {"pong without FIN", frame(ws::kPong, {}, false), Expect()},
        {"close without FIN", frame(ws::kClose, close_payload(1000), false), Expect()},
        {"ping of 126 bytes", ping(std::string(126, 'p')), Expect()},
        {"close of 126 bytes", close(1000, std::string(124, 'r')), Expect()},
        {"ping announcing 126, no payload", header(0x89, 126), Expect()},
        {"pong, 64-bit length 2^32", header(0x8a, 1ull << 32), Expect()},
        {"continuation without a message", cont("x"), Expect()},
        {"non-final continuation without a message", cont("x", false), Expect()},
        {"continuation after a finished message", text("a") + cont("b"), Expect().msg(ws::kText, "a")},
        {"text while a text message is open", text("a", false) + text("b"), Expect().open(b("a"))},
        {"binary while a text message is open", text("a", false) + ping() + binary(pattern(1)), Expect().ctl(ws::kPing).open(b("a"))},
        {"text while a binary message is open", binary(pattern(1), false) + text("b", false), Expect().open(pattern(1))},
        {"64-bit length with the top bit set", header(0x82, 0x8000000000000000ull), Expect()},
        {"64-bit length all ones", header(0x82, ~0ull), Expect()},
        {"64-bit length with the top bit set, unmasked", header(0x82, 0x8000000000000001ull, unmasked()), Expect()},
        {"64-bit length with the top bit set on a ping", header(0x89, 0x8000000000000000ull), Expect()},
        {"close with a 1-byte payload", frame(ws::kClose, {0x03}), Expect()},
        // §5.2: "the minimal number of bytes MUST be used to encode the length"
        {"length 5 in 16 bits", binary(pattern(5), true, in_form(4)), Expect()},
        {"length 0 in 16 bits, on a ping", frame(ws::kPing, {}, true, in_form(4)), Expect()},
        {"length 125 in 64 bits", text(std::string(125, 'x'), true, in_form(10)), Expect()},
        {"length 126 in 64 bits", binary(pattern(126), true, in_form(10)), Expect()},
        {"length 126 in 64 bits, inside a message", text("a", false) + cont(std::string(126, 'b'), true, in_form(10)),
         Expect().open(b("a"))},
    };
    for (int op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
        cases.push_back({"reserved opcode", raw_frame(static_cast<std::uint8_t>(0x80 | op), b("x")), Expect()});
        cases.push_back({"reserved opcode, no FIN", raw_frame(static_cast<std::uint8_t>(op), {}), Expect()});
        cases.push_back({"reserved opcode inside a message", text("a", false) + raw_frame(static_cast<std::uint8_t>(0x80 | op), {}),
                         Expect().open(b("a"))});
    }
    const Bytes prefix = text("ok") + ping("p");
    for (Case& c : cases) {
        SCOPED_TRACE(c.what);
        check_every_split(c.stream, c.want.fail(1002));
        // And after other frames.
        Expect after;
        after.msg(ws::kText, "ok").ctl(ws::kPing, "p");
        for (const Item& it : c.want.t.items) after.t.items.push_back(it);
        after.t.open = c.want.t.open;
        check_every_split(prefix + c.stream, after.fail(1002));
        if (HasFailure()) return;
    }
}

// The header is judged once it is whole, mask included: a bad header cut short only waits.
TEST(Decoder, BadHeaderWaitsUntilWhole) {
    for (const Bytes& bad : {raw_frame(0xc1, {}), cont(""), header(0x89, 126), frame(ws::kPing, {}, false)}) {
        for (std::size_t k = 0; k < bad.size(); ++k) {
            Feeder f(kNoLimit);
            EXPECT_TRUE(f.feed(bad.data(), k)) << k;
            EXPECT_EQ(f.t.consumed, k);
        }
    }
    // Except a 64-bit length with its top bit set, refused once its 10th byte is in.
    const Bytes top = header(0x82, 0x8000000000000000ull);
    for (std::size_t k = 0; k <= top.size(); ++k) {
        Feeder f(kNoLimit);
        EXPECT_EQ(f.feed(top.data(), k), k < 10) << k;
    }
}

// ---------------------------------------------------------------------------------------------
// 1009: the message limit, checked on the length a header announces.

TEST(Decoder, MessageLimitAtTheExactBoundary) {
    for (std::uint64_t max : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{125}, std::uint64_t{126},
                              std::uint64_t{1000}, std::uint64_t{65536}}) {
        SCOPED_TRACE(max);
        for (std::uint8_t op : {ws::kText, ws::kBinary}) {
            // One byte over, announced with no payload given: fails at the header.
            const Bytes over = header(static_cast<std::uint8_t>(0x80 | op), max + 1);
            check_every_split(over, Expect().fail(1009), max);
            // Exactly the limit: accepted, its payload awaited.
            const Bytes at = header(static_cast<std::uint8_t>(0x80 | op), max);
            const Trace t = whole(at, max);
            EXPECT_EQ(t.fail, 0);
            ws::Decoder dec(max);
            Bytes copy = at;
            std::size_t used;
            const Event e = dec.next(copy.data(), copy.size(), used);
            EXPECT_EQ(e.kind, max ? Event::need_more : Event::data);
            EXPECT_EQ(used, at.size());
            EXPECT_EQ(dec.data_payload_left(), max);
        }
        if (max <= 1000) {
            const std::string t = std::string(max, 'a');
            check_every_split(text(t) + binary(pattern(max)), Expect().msg(ws::kText, t).msg(ws::kBinary, pattern(max)), max);
        }
    }
}

// Across fragments: the sum of the announced lengths counts, controls between do not, and each
// message starts from zero.
TEST(Decoder, MessageLimitAcrossFragments) {
    const std::uint64_t max = 1000;
    const Bytes a = pattern(600), c = pattern(400, 3), d = pattern(401, 3);
    check_every_split(binary(a, false) + ping(std::string(125, 'x')) + cont(std::string(c.begin(), c.end())) + binary(pattern(1000)),
                      Expect().ctl(ws::kPing, std::string(125, 'x')).msg(ws::kBinary, a + c).msg(ws::kBinary, pattern(1000)), max);
    // 600 + 401: refused at the second fragment's header, before its payload.
    check_every_split(binary(a, false) + ping() + header(0x80, 401), Expect().ctl(ws::kPing).open(a).fail(1009), max);
    check_every_split(binary(a, false) + frame(0, d), Expect().open(a).fail(1009), max);
    // Many small fragments up to exactly the limit, then one byte more.
    Bytes s = text(std::string(100, 'x'), false);
    for (int i = 0; i < 8; ++i) s = s + cont(std::string(100, 'y'), false);
    check_every_split(s + cont(std::string(100, 'z')), Expect().msg(ws::kText, std::string(100, 'x') + std::string(800, 'y') + std::string(100, 'z')), max);
    check_every_split(s + cont(std::string(100, 'z'), false) + cont("!"),
                      Expect().open(b(std::string(100, 'x') + std::string(800, 'y') + std::string(100, 'z'))).fail(1009), max);
    check_every_split(s + cont(std::string(100, 'z'), false) + cont(""), Expect().msg(ws::kText, std::string(100, 'x') + std::string(800, 'y') + std::string(100, 'z')), max);
}

// With no practical limit the largest length a header can carry (2^63 - 1) is accepted.
TEST(Decoder, HugeLengthWithoutALimit) {
    Bytes h = header(0x82, 0x7fffffffffffffffull);
    ws::Decoder dec(kNoLimit);
    std::size_t used;
    Event e = dec.next(h.data(), h.size(), used);
    EXPECT_EQ(e.kind, Event::need_more);
    EXPECT_EQ(dec.data_payload_left(), 0x7fffffffffffffffull);
    Bytes more = pattern(10);
    e = dec.next(more.data(), more.size(), used);
    EXPECT_EQ(e.kind, Event::data);
    EXPECT_EQ(e.size, 10u);
    EXPECT_FALSE(e.last);
    EXPECT_EQ(dec.data_payload_left(), 0x7fffffffffffffffull - 10);
    // And one such frame plus one byte more is over even that limit.
    check_every_split(binary(pattern(1), false) + header(0x00, 0x7fffffffffffffffull), Expect().open(pattern(1)).fail(1009),
                      0x7fffffffffffffffull);
}

// ---------------------------------------------------------------------------------------------
// 1007: UTF-8 of text

// The failure comes as soon as the piece with the bad byte is fed, before the rest of the frame.
TEST(Decoder, InvalidUtf8FailsFast) {
    Bytes payload = b(std::string(100, 'a'));
    payload[40] = 0xff;
    const Bytes f = frame(ws::kText, payload);  // header: 6 bytes
    // The first 40 payload bytes are data; the 41st fails.
    Trace t = run(f, {6 + 40, 6 + 41});
    ASSERT_EQ(t.fail, 1007);
    EXPECT_EQ(t.fail_from, 6u + 40);
    EXPECT_EQ(t.open, b(std::string(40, 'a')));
    // Fed up to and including the bad byte only: the failure is already there.
    Bytes part(f.begin(), f.begin() + 6 + 41);
    t = whole(part);
    EXPECT_EQ(t.fail, 1007);
    check_every_split(f, Expect().fail(1007));
    // The same in a later fragment, and in a huge frame whose payload has barely begun.
    check_every_split(text("ok", false) + ping() + cont("\xc3\xa9\xc0\x80..."), Expect().ctl(ws::kPing).open(b("ok")).fail(1007));
    const Bytes big = header(0x81, 1 << 20) + masked({'a', 0x00, 0xed, 0xa0});
    check_every_split(big, Expect().fail(1007));
    EXPECT_EQ(whole(Bytes(big.begin(), big.end() - 1)).fail, 0);
}

TEST(Decoder, Utf8AcrossFragments) {
    // Valid sequences cut at every point across fragments (with a ping between) are accepted.
    for (const std::string& ch : {std::string("\xc3\xa9"), std::string("\xe2\x82\xac"), std::string("\xf0\x9f\x98\x80"),
                                  std::string("\xf4\x8f\xbf\xbf"), std::string("\xed\x9f\xbf")}) {
        const std::string s = "x" + ch + "y";
        for (std::size_t cut = 1; cut < 1 + ch.size(); ++cut) {
            SCOPED_TRACE(cut);
            check_every_split(text(s.substr(0, cut), false) + ping("!") + cont(s.substr(cut)),
                              Expect().ctl(ws::kPing, "!").msg(ws::kText, s));
            // One byte per fragment.
            Bytes each;
            for (std::size_t i = 0; i < s.size(); ++i)
                each = each + frame(i ? ws::kContinuation : ws::kText, b(s.substr(i, 1)), i + 1 == s.size());
            check_every_split(each, Expect().msg(ws::kText, s));
        }
    }
    // A sequence begun in one fragment and broken in the next: 1007 at the breaking byte.
    struct Bad {
        std::string first, second;
    };
    const Bad bad[] = {
        {"ab\xe0", "\x80\x80"},           // overlong, broken at E0 80
        {"ab\xed", "\xa0\x80"},           // surrogate
        {"ab\xf4", "\x90\x80\x80"},       // above U+10FFFF
        {"ab\xf0\x9f", "\x98" "A"},       // ASCII where a continuation was due
        {"ab\xe2\x82", "\xe2\x82\xac"},   // a lead byte where a continuation was due
        {"ab\xc3", ""},                   // cut off by an empty final fragment
    };
    for (const Bad& c : bad) {
        SCOPED_TRACE(c.first + "|" + c.second);
        check_every_split(text(c.first, false) + pong() + cont(c.second), Expect().ctl(ws::kPong).open(b(c.first)).fail(1007));
    }
    // A message that ends inside a sequence: 1007 when its last byte arrives.
    check_every_split(text("ab\xe2\x82"), Expect().fail(1007));
    check_every_split(text("ab", false) + cont("\xf0\x9f\x98"), Expect().open(b("ab")).fail(1007));
    check_every_split(text("ab\xf0", false) + cont("\x9f", false) + cont("\x98"), Expect().open(b("ab\xf0\x9f")).fail(1007));
    Trace t = whole(text("ab\xe2\x82"));
    EXPECT_EQ(t.fail, 1007);
    // Binary messages are not UTF-8 checked.
    check_every_split(binary(b("\xff\xc0\x80\xed\xa0\x80"), false) + cont("\xe2\x82"),
                      Expect().msg(ws::kBinary, b("\xff\xc0\x80\xed\xa0\x80\xe2\x82")));
    // Each text message starts afresh: an open sequence does not leak into the next message...
    check_every_split(text("\xe2\x82\xac") + text("\x82\xac"), Expect().msg(ws::kText, "\xe2\x82\xac").fail(1007));
    // ...nor into a binary one, nor does a binary message's bytes leak into the next text.
    check_every_split(binary(b("\xe2")) + text("\xac"), Expect().msg(ws::kBinary, b("\xe2")).fail(1007));
}

// ---------------------------------------------------------------------------------------------
// Close frames

TEST(Decoder, ClosePayloads) {
    // Empty: answer 1000.
    check_every_split(frame(ws::kClose, {}), Expect().ctl(ws::kClose, Bytes{}, 1000));
    // One byte: 1002.
    check_every_split(frame(ws::kClose, {0x03}), Expect().fail(1002));
    check_every_split(frame(ws::kClose, {0xe8}), Expect().fail(1002));
    // Codes.
    for (unsigned code : {1000u, 1001u, 1002u, 1003u, 1007u, 1008u, 1009u, 1010u, 1011u, 3000u, 3001u, 3999u, 4000u, 4999u})
        check_every_split(close(code), Expect().ctl(ws::kClose, close_payload(code), static_cast<std::uint16_t>(code)));
    for (unsigned code : {0u, 1u, 999u, 1004u, 1005u, 1006u, 1012u, 1013u, 1014u, 1015u, 1016u, 1100u, 2000u, 2999u,
                          5000u, 0x8000u, 65535u}) {
        SCOPED_TRACE(code);
        check_every_split(close(code), Expect().fail(1002));
        check_every_split(close(code, "\xff"), Expect().fail(1002));  // the code is judged first
    }
    // Reasons: UTF-8, up to 123 bytes.
    for (const std::string& reason : {std::string("bye"), std::string("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
                                      std::string(123, 'r'), utf8_text(123), std::string("\0", 1)})
        check_every_split(close(1001, reason), Expect().ctl(ws::kClose, close_payload(1001, reason), 1001));
    for (const std::string& reason : {std::string("\xff"), std::string("ab\xe2\x82"), std::string("\xed\xa0\x80"),
                                      std::string("\xc0\x80"), std::string("\x80"), std::string(122, 'r') + "\xc3"}) {
        SCOPED_TRACE(reason);
        check_every_split(close(1000, reason), Expect().fail(1007));
    }
    // A close between fragments, and frames after a close are still decoded (the session stops).
    check_every_split(text("a", false) + close(1001, "x") + cont("b") + ping(),
                      Expect().ctl(ws::kClose, close_payload(1001, "x"), 1001).msg(ws::kText, "ab").ctl(ws::kPing));
    // Ping and pong payloads are not checked.
    check_every_split(ping("\xff") + pong("\xc0"), Expect().ctl(ws::kPing, "\xff").ctl(ws::kPong, "\xc0"));
}

// ---------------------------------------------------------------------------------------------
// The spill buffer: a header cut anywhere, in two or three pieces, in each length form.

TEST(Decoder, HeaderSplitAtEveryPoint) {
    struct Case {
        Bytes frame;
        std::size_t head;
        Bytes payload;
        std::uint8_t opcode;
    };
    const Bytes p5 = b("Hello"), p300 = pattern(300), p65536 = pattern(65536);
    const Case cases[] = {
        {text("Hello"), 6, p5, ws::kText},
        {binary(p300, true, with_key({0xff, 0, 0x80, 1})), 8, p300, ws::kBinary},
        {binary(p65536), 14, p65536, ws::kBinary},
        {ping("Hello"), 6, p5, ws::kPing},
        {frame(ws::kClose, {}), 6, {}, ws::kClose},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.head);
        const bool data = !ws::is_control(c.opcode);
        const Item want = {!data, c.opcode, c.payload, static_cast<std::uint16_t>(c.opcode == ws::kClose ? 1000 : 0)};
        for (std::size_t i = 0; i <= c.head; ++i)
            for (std::size_t j = i; j <= std::min(c.head + 3, c.frame.size()); ++j) {
                Feeder f(kNoLimit);
                ASSERT_TRUE(f.feed(c.frame.data(), i));
                if (i < c.head) {
                    EXPECT_EQ(f.t.consumed, i) << "a partial header is taken into the spill whole";
                    EXPECT_EQ(f.dec.data_payload_left(), 0u) << i;
                }
                ASSERT_TRUE(f.feed(c.frame.data() + i, j - i));
                // Once the header is whole the payload count is the frame's rest.
                const std::size_t rest = c.frame.size() - j;
                EXPECT_EQ(f.dec.data_payload_left(), j >= c.head && data ? rest : 0) << i << " " << j;
                ASSERT_TRUE(f.feed(c.frame.data() + j, c.frame.size() - j));
                ASSERT_EQ(f.t.items.size(), 1u) << i << " " << j;
                EXPECT_EQ(f.t.items[0], want) << i << " " << j;
                EXPECT_EQ(f.t.consumed, c.frame.size());
            }
    }
}

// A header waiting in the spill survives empty reads, and a stream fed a byte at a time with
// empty reads between gives the same events.
TEST(Decoder, SpillSurvivesEmptyReads) {
    Expect want;
    const Bytes s = long_stream(want);
    Feeder f(1000);
    for (std::size_t pos = 0; pos < s.size(); ++pos) {
        ASSERT_TRUE(f.feed(s.data() + pos, 0));
        ASSERT_TRUE(f.feed(s.data() + pos, 1));
        ASSERT_TRUE(f.feed(s.data() + pos, 0));
    }
    EXPECT_EQ(f.t.items, want.t.items);
    EXPECT_EQ(f.t.consumed, s.size());
}

// ---------------------------------------------------------------------------------------------
// data_payload_left()

TEST(Decoder, DataPayloadLeft) {
    ws::Decoder dec(kNoLimit);
    std::size_t used;
    EXPECT_EQ(dec.data_payload_left(), 0u);
    Bytes f = binary(pattern(1000), false);  // 8-byte header
    Event e = dec.next(f.data(), 5, used);
    EXPECT_EQ(e.kind, Event::need_more);
    EXPECT_EQ(dec.data_payload_left(), 0u);
    e = dec.next(f.data() + 5, 3, used);
    EXPECT_EQ(e.kind, Event::need_more);
    EXPECT_EQ(dec.data_payload_left(), 1000u);
    e = dec.next(f.data() + 8, 300, used);
    EXPECT_EQ(e.kind, Event::data);
    EXPECT_EQ(e.size, 300u);
    EXPECT_EQ(dec.data_payload_left(), 700u);
    e = dec.next(f.data() + 308, 700, used);
    EXPECT_EQ(e.kind, Event::data);
    EXPECT_FALSE(e.last);
    EXPECT_EQ(dec.data_payload_left(), 0u);  // the frame is over, the message is not
    // A control frame in the middle: never counted, whole or in part.
    Bytes p = ping("abcdef");
    e = dec.next(p.data(), 8, used);
    EXPECT_EQ(e.kind, Event::need_more);
    EXPECT_EQ(dec.data_payload_left(), 0u);
    e = dec.next(p.data() + 8, p.size() - 8, used);
    EXPECT_EQ(e.kind, Event::control);
    EXPECT_EQ(dec.data_payload_left(), 0u);
    // The last fragment, received "straight into its destination" after its header.
    const Bytes last = cont(std::string(200, 'z'));
    Bytes hdr(last.begin(), last.begin() + 8), body(last.begin() + 8, last.end());
    e = dec.next(hdr.data(), hdr.size(), used);
    EXPECT_EQ(e.kind, Event::need_more);
    ASSERT_EQ(dec.data_payload_left(), 200u);
    e = dec.next(body.data(), body.size(), used);
    EXPECT_EQ(e.kind, Event::data);
    EXPECT_TRUE(e.last);
    EXPECT_EQ(e.bytes, body.data());
    EXPECT_EQ(Bytes(e.bytes, e.bytes + e.size), b(std::string(200, 'z')));
    EXPECT_EQ(dec.data_payload_left(), 0u);
    // After a failure: nothing.
    Bytes bad = text("\xff" + std::string(50, 'a'));
    e = dec.next(bad.data(), 8, used);
    EXPECT_EQ(e.kind, Event::fail);
    EXPECT_EQ(e.close_code, 1007);
}

// Unmasking follows the payload offset across reads, with every key byte mattering.
TEST(Decoder, UnmaskAcrossReads) {
    const Bytes payload = pattern(37, 5);
    for (const Key& key : {Key{0x37, 0xfa, 0x21, 0x3d}, Key{0, 0, 0, 0}, Key{0xff, 0xff, 0xff, 0xff}, Key{1, 2, 4, 8}}) {
        const Bytes f = binary(payload, true, with_key(key));
        for (std::size_t c1 = 6; c1 <= f.size(); ++c1)
            for (std::size_t c2 = c1; c2 <= f.size(); c2 += 3) {
                const Trace t = run(f, {c1, c2});
                ASSERT_EQ(t.items, Expect().msg(ws::kBinary, payload).t.items) << c1 << " " << c2;
            }
    }
}

// ---------------------------------------------------------------------------------------------
// The long stream, fed every way.

TEST(Decoder, SameEventsWhateverTheCut) {
    Expect want;
    const Bytes s = long_stream(want);
    check_every_split(s, want, 1000);
    // Cut short at every point: the same events up to there, and the open message's data so far.
    Expect w2;
    const Bytes s2 = long_stream(w2);
    for (std::size_t end = 0; end <= s2.size(); end += 7) {
        const Bytes part(s2.begin(), s2.begin() + end);
        const Trace t = whole(part, 1000);
        EXPECT_EQ(t.fail, 0) << end;
        EXPECT_LE(t.items.size(), w2.t.items.size());
        EXPECT_TRUE(std::equal(t.items.begin(), t.items.end(), w2.t.items.begin())) << end;
        if (end % 49 == 0) check_every_split(part, 1000, nullptr, 40);
    }
}

// The same with each kind of failure at the end: the same failure at the same byte every way.
TEST(Decoder, SameFailureWhateverTheCut) {
    const Bytes prefix = text("Hel", false) + ping("p") + cont("lo") + binary(pattern(130));
    const Expect before = Expect().ctl(ws::kPing, "p").msg(ws::kText, "Hello").msg(ws::kBinary, pattern(130));
    struct Case {
        Bytes tail;
        std::uint16_t code;
    };
    const Case cases[] = {
        {text("x", true, unmasked()), 1002},
        {raw_frame(0xe1, b("x")), 1002},
        {raw_frame(0x83, {}), 1002},
        {frame(ws::kPing, {}, false), 1002},
        {cont("x"), 1002},
        {text("a", false) + binary(pattern(2)), 1002},
        {header(0x82, 0x8000000000000000ull), 1002},
        {frame(ws::kClose, {1}), 1002},
        {close(1005), 1002},
        {header(0x81, 1001), 1009},
        {text(std::string(500, 'a'), false) + pong() + header(0x00, 501), 1009},
        {text(std::string(60, 'a') + "\xff" + std::string(60, 'a')), 1007},
        {text("a\xe2", false) + cont("\x82"), 1007},
        {close(1000, "\xed\xbf\xbf"), 1007},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.code);
        const Trace t = whole(prefix + c.tail, 1000);
        EXPECT_EQ(t.fail, c.code);
        EXPECT_TRUE(t.items.size() >= before.t.items.size() &&
                    std::equal(before.t.items.begin(), before.t.items.end(), t.items.begin()));
        check_every_split(prefix + c.tail, 1000);
        check_every_split(prefix + c.tail + text("never"), 1000);
        if (HasFailure()) return;
    }
}

// After a failure every call fails with the same code and consumes nothing.
TEST(Decoder, FailureIsFinal) {
    ws::Decoder dec(100);
    Bytes bad = raw_frame(0xc2, {});
    std::size_t used;
    Event e = dec.next(bad.data(), bad.size(), used);
    ASSERT_EQ(e.kind, Event::fail);
    EXPECT_EQ(e.close_code, 1002);
    for (const Bytes& next : {text("ok"), Bytes{}, close(1000), header(0x82, 1000)}) {
        Bytes copy = next;
        e = dec.next(copy.data(), copy.size(), used);
        EXPECT_EQ(e.kind, Event::fail);
        EXPECT_EQ(e.close_code, 1002);
        EXPECT_EQ(used, 0u);
        EXPECT_EQ(copy, next);
    }
    EXPECT_EQ(dec.data_payload_left(), 0u);
}

// data_payload_left() says how many payload bytes the caller may receive straight into their
// destination and hand to next(); after a failure next() takes none, so it is 0, also when the
// failure came in the middle of a frame's payload (it used to keep that frame's count).
TEST(Decoder, NoPayloadLeftAfterFailure) {
    ws::Decoder dec(kNoLimit);
    Bytes f = text("a\xff" + std::string(58, 'b'));  // 6-byte header, 60 bytes of payload
    std::size_t used;
    const Event e = dec.next(f.data(), 8, used);
    ASSERT_EQ(e.kind, Event::fail);
    ASSERT_EQ(e.close_code, 1007);
    EXPECT_EQ(dec.data_payload_left(), 0u);
}

}  // namespace
