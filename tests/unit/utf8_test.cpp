// utf8_test.cpp: ws::Utf8Validator (websocket/utf8.h), the incremental UTF-8 check for text
// messages — tables of valid and invalid texts, each fed whole, a byte at a time and cut at every
// point (same verdict, failing at the same byte); the 8-byte ASCII fast path at every alignment;
// and a comparison with an independent reference decoder over every 1-, 2- and 3-byte sequence
// and many 4-byte ones.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "websocket/utf8.h"

namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::size_t kNone = ~std::size_t{0};

Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Feeds [p, p+n) from an exactly-sized heap copy so ASan catches a read past `n`.
bool feed(ws::Utf8Validator& v, const std::uint8_t* p, std::size_t n) {
    std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[n ? n : 1]);
    if (n) std::memcpy(copy.get(), p, n);
    return v.feed(copy.get(), n);
}

// ---------------------------------------------------------------------------------------------
// The reference: a plain code-point decoder, written from RFC 3629 §3-4 without the validator's
// per-lead-byte ranges. A sequence's lead byte gives its length; each byte read so far fixes the
// top bits of the code point, which leaves an interval of candidates; a byte is invalid as soon as
// no candidate is left that is neither overlong, nor a surrogate, nor above U+10FFFF.

// Whether a sequence of `len` bytes whose first `have` bytes gave the bits `cp` can still end valid.
bool completable(std::uint32_t cp, int have, int len) {
    static const std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    const int rest_bits = 6 * (len - have);
    std::uint32_t lo = cp << rest_bits, hi = lo | ((1u << rest_bits) - 1);
    if (lo < min_for_len[len]) lo = min_for_len[len];
    if (hi > 0x10ffff) hi = 0x10ffff;
    if (lo > hi) return false;
    return !(lo >= 0xd800 && hi <= 0xdfff);
}

struct Verdict {
    std::size_t fail_at;  // index of the first invalid byte, kNone when there is none
    bool complete;        // no sequence left open at the end (meaningless after a failure)
};

Verdict reference(const std::uint8_t* p, std::size_t n) {
    std::size_t i = 0;
    while (i < n) {
        const std::uint8_t b = p[i];
        const int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (len == 0) return {i, false};
        std::uint32_t cp = len == 1 ? b : b & (0x7fu >> len);
        if (!completable(cp, 1, len)) return {i, false};
        for (int k = 1; k < len; ++k) {
            if (i + k >= n) return {kNone, false};
            const std::uint8_t c = p[i + k];
            if ((c & 0xc0) != 0x80) return {i + k, false};
            cp = cp << 6 | (c & 0x3f);
            if (!completable(cp, k + 1, len)) return {i + k, false};
        }
        i += len;
    }
    return {kNone, true};
}

// The validator's verdict, fed one byte at a time: where the first false came (kNone if none),
// checking that every feed after it is false too.
Verdict byte_by_byte(const std::uint8_t* p, std::size_t n) {
    ws::Utf8Validator v;
    std::size_t fail_at = kNone;
    for (std::size_t i = 0; i < n; ++i) {
        const bool ok = v.feed(p + i, 1);
        if (fail_at == kNone && !ok) fail_at = i;
        if (fail_at != kNone) {
            EXPECT_FALSE(ok) << "byte " << i << " accepted after a failure at " << fail_at;
        }
    }
    return {fail_at, fail_at == kNone && v.complete()};
}

std::string hex(const Bytes& b) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < b.size() && i < 64; ++i) {
        if (i) s += ' ';
        s += digits[b[i] >> 4];
        s += digits[b[i] & 15];
    }
    if (b.size() > 64) s += " ...";
    return s;
}

// Checks `text` fed whole, a byte at a time, and in two pieces cut at every point: the same
// verdict, and each piece fails exactly when it holds the first invalid byte.
void check_every_way(const Bytes& text, std::size_t fail_at, bool complete) {
    SCOPED_TRACE(hex(text));
    const std::size_t n = text.size();
    const bool valid = fail_at == kNone;
    {
        ws::Utf8Validator v;
        EXPECT_EQ(feed(v, text.data(), n), valid) << "whole";
        if (valid) {
            EXPECT_EQ(v.complete(), complete) << "whole";
        }
        else EXPECT_FALSE(v.complete()) << "whole, after a failure";
    }
    const Verdict one = byte_by_byte(text.data(), n);
    EXPECT_EQ(one.fail_at, fail_at) << "byte by byte";
    if (valid) {
        EXPECT_EQ(one.complete, complete) << "byte by byte";
    }
    for (std::size_t cut = 0; cut <= n; ++cut) {
        ws::Utf8Validator v;
        const bool a = feed(v, text.data(), cut);
        const bool b = feed(v, text.data() + cut, n - cut);
        EXPECT_EQ(a, valid || fail_at >= cut) << "cut " << cut;
        EXPECT_EQ(b, valid) << "cut " << cut;
        if (valid) {
            EXPECT_EQ(v.complete(), complete) << "cut " << cut;
        }
    }
    // And the reference agrees with the table.
    const Verdict ref = reference(text.data(), n);
    EXPECT_EQ(ref.fail_at, fail_at) << "reference";
    if (valid) {
        EXPECT_EQ(ref.complete, complete) << "reference";
    }
}

// ---------------------------------------------------------------------------------------------

TEST(Utf8, ValidTexts) {
    std::string all_ascii;
    for (int c = 0; c < 128; ++c) all_ascii += static_cast<char>(c);
    const std::string valid[] = {
        "",
        "a",
        std::string(1, '\0'),
        all_ascii,
        "\xc2\x80",                  // U+0080, the smallest 2-byte form
        "\xdf\xbf",                  // U+07FF
        "\xe0\xa0\x80",              // U+0800, the smallest 3-byte form
        "\xed\x9f\xbf",              // U+D7FF, just below the surrogates
        "\xee\x80\x80",              // U+E000, just above them
        "\xef\xb7\x90",              // U+FDD0, a noncharacter (still valid UTF-8)
        "\xef\xbf\xbe",              // U+FFFE
        "\xef\xbf\xbf",              // U+FFFF
        "\xf0\x90\x80\x80",          // U+10000, the smallest 4-byte form
        "\xf3\xbf\xbf\xbf",          // U+FFFFF
        "\xf4\x80\x80\x80",          // U+100000
        "\xf4\x8f\xbf\xbf",          // U+10FFFF, the largest
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",  // "κόσμε"
        "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
        "\xf0\x9f\x98\x80 smile \xe2\x82\xac euro \xe4\xb8\xad\xe6\x96\x87",
        std::string(100, 'x') + "\xe2\x82\xac" + std::string(13, 'y') + "\xf0\x9f\x98\x80",
    };
    for (const std::string& s : valid) check_every_way(bytes(s), kNone, true);
}

// A text that stops inside a sequence is not wrong yet: feed says true, complete() says false.
TEST(Utf8, TruncatedSequencesAreIncomplete) {
    const std::string open[] = {
        "\xc2", "\xdf", "\xe0", "\xe0\xa0", "\xed\x9f", "\xef\xbf", "\xf0", "\xf0\x90", "\xf0\x90\x80",
        "\xf4\x8f\xbf", "abc\xe2\x82", "\xe2\x82\xac\xf0\x9f\x98",
    };
    for (const std::string& s : open) check_every_way(bytes(s), kNone, false);
}

TEST(Utf8, InvalidTexts) {
    struct Case {
        std::string text;
        std::size_t fail_at;
    };
    const Case cases[] = {
        {"\xc0\x80", 0},              // overlong NUL
        {"\xc0\xaf", 0},              // overlong '/'
        {"\xc1\xbf", 0},              // overlong U+007F
        {"\xe0\x80\x80", 1},          // overlong 3-byte NUL
        {"\xe0\x9f\xbf", 1},          // overlong U+07FF
        {"\xed\xa0\x80", 1},          // U+D800, a surrogate
        {"\xed\xbf\xbf", 1},          // U+DFFF
        {"\xed\xad\xbf\xed\xb0\x80", 1},  // a surrogate pair (CESU-8)
        {"\xf0\x80\x80\x80", 1},      // overlong 4-byte NUL
        {"\xf0\x8f\xbf\xbf", 1},      // overlong U+FFFF
        {"\xf4\x90\x80\x80", 1},      // U+110000
        {"\xf7\xbf\xbf\xbf", 0},      // U+1FFFFF
        {"\x80", 0},                  // stray continuation bytes
        {"\xbf", 0},
        {"a\x80", 1},
        {"\xc2\x80\x80", 2},          // one continuation too many
        {"\xc2\xc2", 1},              // a lead byte where a continuation was due
        {"\xe2\x82\xe2\x82\xac", 2},
        {"\xf0\x9f\x98\xf0", 3},
        {"\xc2" "A", 1},              // ASCII where a continuation was due
        {"\xe1\x80" "A", 2},
        {"\xf1\x80\x80" "A", 3},
        {"\xe2\x82\xac\xff", 3},
        {"\xfe\xfe\xff\xff", 0},      // no byte order mark in UTF-8's byte values
        {std::string(37, 'a') + "\xc3\x28", 38},
        {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited", 12},
    };
    for (const Case& c : cases) check_every_way(bytes(c.text), c.fail_at, false);
    for (int b = 0xf5; b <= 0xff; ++b) {
        check_every_way({static_cast<std::uint8_t>(b)}, 0, false);
        check_every_way({'a', 'b', static_cast<std::uint8_t>(b), 0x80, 0x80, 0x80}, 2, false);
    }
}

// After the first invalid byte every later feed is false, whatever it holds, and complete() stays
// false; reset() starts afresh.
TEST(Utf8, FailureIsStickyUntilReset) {
    ws::Utf8Validator v;
    const std::uint8_t bad[] = {0xc0, 0x80};
    const std::uint8_t good[] = {'o', 'k', 0xe2, 0x82, 0xac};
    EXPECT_FALSE(feed(v, bad, 2));
    EXPECT_FALSE(v.complete());
    EXPECT_FALSE(feed(v, good, 5));
    EXPECT_FALSE(feed(v, good, 1));
    EXPECT_FALSE(feed(v, std::vector<std::uint8_t>(64, 'a').data(), 64));
    EXPECT_FALSE(v.complete());
    v.reset();
    EXPECT_TRUE(v.complete());
    EXPECT_TRUE(feed(v, good, 5));
    EXPECT_TRUE(v.complete());
    // reset() in the middle of a sequence forgets it.
    EXPECT_TRUE(feed(v, good + 2, 2));
    EXPECT_FALSE(v.complete());
    v.reset();
    EXPECT_TRUE(v.complete());
    EXPECT_TRUE(feed(v, good, 2));
}

// "Returns false at the first invalid byte (and from then on)" (utf8.h): an empty feed after a
// failure too (it used to return true).
TEST(Utf8, EmptyFeedAfterFailureIsFalse) {
    ws::Utf8Validator v;
    const std::uint8_t bad[] = {0xff};
    ASSERT_FALSE(v.feed(bad, 1));
    EXPECT_FALSE(v.feed(bad, 0));
    EXPECT_FALSE(v.complete());
}

// Empty feeds change nothing, inside a sequence or not.
TEST(Utf8, EmptyFeeds) {
    ws::Utf8Validator v;
    const std::uint8_t euro[] = {0xe2, 0x82, 0xac};
    EXPECT_TRUE(v.feed(nullptr, 0));
    EXPECT_TRUE(v.complete());
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(feed(v, euro + i, 1));
        EXPECT_TRUE(feed(v, euro, 0));
        EXPECT_EQ(v.complete(), i == 2);
    }
}

// The 8-byte ASCII fast path: ASCII runs of every length 0-40 at every buffer alignment, with one
// valid sequence, one invalid byte, or one truncated sequence put at every position. The run sits
// at the end of its heap block, so a word read past the end is caught by ASan.
TEST(Utf8, AsciiRunsAtEveryAlignment) {
    const Bytes inserts[] = {{0xc3, 0xa9}, {0xe2, 0x82, 0xac}, {0xf0, 0x9f, 0x98, 0x80}, {0x80}, {0xff}, {0xe2, 0x82}};
    const bool insert_ok[] = {true, true, true, false, false, true};
    const bool insert_complete[] = {true, true, true, false, false, false};
    for (std::size_t len = 0; len <= 40; ++len)
        for (std::size_t align = 0; align < 8; ++align) {
            // Plain ASCII, including 0x7f and 0x00 (the high bit is what matters).
            Bytes ascii(len);
            for (std::size_t i = 0; i < len; ++i) ascii[i] = static_cast<std::uint8_t>((i * 37 + align) & 0x7f);
            std::unique_ptr<std::uint8_t[]> block(new std::uint8_t[align + len]);
            {
                std::uint8_t* p = block.get() + align;
                if (len) std::memcpy(p, ascii.data(), len);
                ws::Utf8Validator v;
                EXPECT_TRUE(v.feed(p, len)) << len << " " << align;
                EXPECT_TRUE(v.complete());
            }
            for (std::size_t k = 0; k < std::size(inserts); ++k)
                for (std::size_t at = 0; at <= len; ++at) {
                    Bytes text(ascii.begin(), ascii.begin() + at);
                    text.insert(text.end(), inserts[k].begin(), inserts[k].end());
                    text.insert(text.end(), ascii.begin() + at, ascii.end());
                    // The truncated sequence only stays open when nothing follows it.
                    const bool ok = insert_ok[k] && (insert_complete[k] || at == len);
                    const bool complete = insert_complete[k];
                    std::unique_ptr<std::uint8_t[]> exact(new std::uint8_t[align + text.size()]);
                    std::uint8_t* p = exact.get() + align;
                    std::memcpy(p, text.data(), text.size());
                    ws::Utf8Validator v;
                    ASSERT_EQ(v.feed(p, text.size()), ok) << "len " << len << " align " << align << " insert " << k
                                                           << " at " << at;
                    if (ok) {
                        ASSERT_EQ(v.complete(), complete);
                    }
                    ASSERT_EQ(byte_by_byte(text.data(), text.size()).fail_at, reference(text.data(), text.size()).fail_at);
                }
        }
}

// A long mostly-ASCII text fed in random pieces: the fast path picks up again after each
// sequence and each cut.
TEST(Utf8, LongTextInRandomPieces) {
    std::mt19937 rng(3629);
    const char* pieces[] = {"plain ascii text ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "0123456789abcdef", " "};
    for (int trial = 0; trial < 100; ++trial) {
        Bytes text;
        while (text.size() < 2000) {
            const std::string s = pieces[rng() % std::size(pieces)];
            text.insert(text.end(), s.begin(), s.end());
        }
        const bool corrupt = trial % 2;
        const std::size_t bad_at = rng() % text.size();
        if (corrupt) text[bad_at] = 0xff;
        ws::Utf8Validator v;
        std::size_t done = 0, first_false = kNone;
        while (done < text.size()) {
            const std::size_t n = std::min<std::size_t>(1 + rng() % 40, text.size() - done);
            if (!feed(v, text.data() + done, n) && first_false == kNone) first_false = done;
            if (first_false == kNone) {
                ASSERT_FALSE(corrupt && bad_at < done + n) << "missed 0xff at " << bad_at;
            }
            done += n;
        }
        if (corrupt) {
            EXPECT_NE(first_false, kNone);
            EXPECT_LE(first_false, bad_at);
            EXPECT_FALSE(v.complete());
        } else {
            EXPECT_EQ(first_false, kNone);
            EXPECT_TRUE(v.complete());
        }
    }
}

// Every 1-, 2- and 3-byte input against the reference: the same verdict, complete() the same,
// and (fed a byte at a time) the first false at the byte the reference names.
TEST(Utf8, MatchesReferenceOnAllShortSequences) {
    for (std::uint32_t x = 0; x < (1u << 24); ++x) {
        const std::uint8_t b[3] = {static_cast<std::uint8_t>(x >> 16), static_cast<std::uint8_t>(x >> 8),
                                   static_cast<std::uint8_t>(x)};
        const std::uint8_t* p = b;
        std::size_t n = 3;
        // The 1- and 2-byte inputs ride along: when x < 2^16 its last two bytes, when x < 2^8 its last.
        for (int pass = 0; pass < 3; ++pass) {
            if (pass == 1) {
                if (x >= (1u << 16)) break;
                p = b + 1, n = 2;
            } else if (pass == 2) {
                if (x >= (1u << 8)) break;
                p = b + 2, n = 1;
            }
            const Verdict ref = reference(p, n);
            ws::Utf8Validator whole;
            const bool ok = whole.feed(p, n);
            if (ok != (ref.fail_at == kNone) || (ok && whole.complete() != ref.complete)) {
                FAIL() << "input " << hex(Bytes(p, p + n)) << ": validator " << ok << "/" << whole.complete()
                       << ", reference fails at " << static_cast<long long>(ref.fail_at) << ", complete " << ref.complete;
            }
            if (ok) continue;
            // Where it failed: the first prefix it refuses.
            std::size_t at = 0;
            for (std::size_t k = 1; k <= n; ++k) {
                ws::Utf8Validator v;
                if (!v.feed(p, k)) {
                    at = k - 1;
                    break;
                }
            }
            if (at != ref.fail_at) FAIL() << "input " << hex(Bytes(p, p + n)) << ": fails at " << at << ", reference at " << ref.fail_at;
        }
    }
}

// 4-byte inputs: every lead byte F0-F4 (and its neighbours) with every combination of the
// continuation bytes that sit on a range boundary, plus a million random ones.
TEST(Utf8, MatchesReferenceOnFourByteSequences) {
    const std::uint8_t edges[] = {0x00, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xf0, 0xf4, 0xff};
    std::vector<std::uint32_t> inputs;
    for (std::uint32_t lead = 0xee; lead <= 0xf6; ++lead)
        for (std::uint8_t b1 : edges)
            for (std::uint8_t b2 : edges)
                for (std::uint8_t b3 : edges) inputs.push_back(lead << 24 | b1 << 16 | b2 << 8 | b3);
    std::mt19937 rng(10646);
    for (int i = 0; i < 1000000; ++i) {
        std::uint32_t x = static_cast<std::uint32_t>(rng());
        if (i % 2) x = (x & 0x0fffffff) | 0xf0000000;               // half with a 4-byte lead
        if (i % 4 == 1) x = (x & 0xff3f3f3f) | 0x00808080;          // a quarter all continuations
        inputs.push_back(x);
    }
    for (std::uint32_t x : inputs) {
        const std::uint8_t b[4] = {static_cast<std::uint8_t>(x >> 24), static_cast<std::uint8_t>(x >> 16),
                                   static_cast<std::uint8_t>(x >> 8), static_cast<std::uint8_t>(x)};
        const Verdict ref = reference(b, 4);
        ws::Utf8Validator whole;
        const bool ok = whole.feed(b, 4);
        if (ok != (ref.fail_at == kNone) || (ok && whole.complete() != ref.complete))
            FAIL() << "input " << hex(Bytes(b, b + 4)) << ": validator " << ok << ", reference fails at "
                   << static_cast<long long>(ref.fail_at);
        const Verdict one = byte_by_byte(b, 4);
        if (one.fail_at != ref.fail_at)
            FAIL() << "input " << hex(Bytes(b, b + 4)) << ": fails at " << static_cast<long long>(one.fail_at)
                   << ", reference at " << static_cast<long long>(ref.fail_at);
    }
}

// The reference itself, on the boundaries RFC 3629 §4 names (so a mistake in it cannot hide a
// mistake in the validator by agreeing with it).
TEST(Utf8, ReferenceSanity) {
    auto fails = [](std::initializer_list<std::uint8_t> l) {
        const Bytes b(l);
        return reference(b.data(), b.size()).fail_at;
    };
    EXPECT_EQ(fails({0x7f}), kNone);
    EXPECT_EQ(fails({0xc1, 0xbf}), 0u);
    EXPECT_EQ(fails({0xc2, 0x80}), kNone);
    EXPECT_EQ(fails({0xe0, 0x9f}), 1u);
    EXPECT_EQ(fails({0xe0, 0xa0, 0x80}), kNone);
    EXPECT_EQ(fails({0xed, 0x9f, 0xbf}), kNone);
    EXPECT_EQ(fails({0xed, 0xa0}), 1u);
    EXPECT_EQ(fails({0xee, 0x80, 0x80}), kNone);
    EXPECT_EQ(fails({0xf0, 0x8f}), 1u);
    EXPECT_EQ(fails({0xf0, 0x90, 0x80, 0x80}), kNone);
    EXPECT_EQ(fails({0xf4, 0x8f, 0xbf, 0xbf}), kNone);
    EXPECT_EQ(fails({0xf4, 0x90}), 1u);
    EXPECT_EQ(fails({0xf5}), 0u);
    EXPECT_EQ(fails({0xf8}), 0u);
}

}  // namespace
