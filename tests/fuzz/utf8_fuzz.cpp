// tests/fuzz/utf8_fuzz.cpp — libFuzzer target for ws::Utf8Validator (websocket/utf8.h), the
// incremental UTF-8 check of text messages and close reasons.
//
// Input: bytes 0-1 and 2-3 two cut points (little-endian, taken modulo the text's length + 1),
// then the text.
//
// Invariants checked against a reference written here (a plain code-point decoder: the lead
// byte gives the sequence's length, each byte read narrows the code points it can still encode,
// and a byte is invalid once none of them is allowed — not overlong, not a surrogate, at most
// U+10FFFF):
//  - fed whole (from an exactly-sized copy, at the buffer alignment byte 0 picks, so the 8-byte
//    ASCII path meets every alignment and ASan sees a word read past the end), feed is true
//    exactly when the reference finds no invalid byte, and complete() exactly when it also
//    ends on a character boundary;
//  - fed a byte at a time, the first false comes at the byte the reference names, and every
//    feed after it is false;
//  - fed in three pieces cut at the two cut points, each piece's result is true exactly when
//    the invalid byte (if any) lies after it; complete() the same as whole;
//  - after a failure, complete() is false and every further feed is refused, an empty one too;
//    reset() starts over.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "websocket/utf8.h"

namespace {

constexpr std::size_t kNone = ~std::size_t{0};

struct Verdict {
    std::size_t fail_at;  // the first invalid byte, or kNone
    bool complete;        // ends on a character boundary (when valid)
};

// Whether `have` bytes of a `len`-byte sequence, which gave the top bits `cp`, can still make an
// allowed code point.
bool completable(std::uint32_t cp, int have, int len) {
    static const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    const int rest = 6 * (len - have);
    std::uint32_t lo = cp << rest, hi = lo | ((1u << rest) - 1);
    if (lo < smallest[len]) lo = smallest[len];
    if (hi > 0x10ffff) hi = 0x10ffff;
    return lo <= hi && !(lo >= 0xd800 && hi <= 0xdfff);
}

Verdict reference(const std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n;) {
        const std::uint8_t b = p[i];
        const int len = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
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

// Feeds [p, p+n) from its own exactly-sized copy placed `align` bytes into a heap block.
bool feed(ws::Utf8Validator& v, const std::uint8_t* p, std::size_t n, std::size_t align = 0) {
    std::unique_ptr<std::uint8_t[]> block(new std::uint8_t[align + n]);
    if (n) std::memcpy(block.get() + align, p, n);
    return v.feed(block.get() + align, n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    const std::uint8_t* p = data + 4;
    const std::size_t n = size - 4;
    std::size_t c1 = static_cast<std::size_t>(fuzz::load_le(data, 2) % (n + 1));
    std::size_t c2 = static_cast<std::size_t>(fuzz::load_le(data + 2, 2) % (n + 1));
    if (c1 > c2) {
        const std::size_t t = c1;
        c1 = c2, c2 = t;
    }
    const Verdict ref = reference(p, n);
    const bool valid = ref.fail_at == kNone;

    // Whole.
    ws::Utf8Validator whole;
    FUZZ_CHECK(whole.feed(p, 0) && whole.complete());
    FUZZ_CHECK(feed(whole, p, n, data[0] & 7) == valid);
    FUZZ_CHECK(whole.complete() == (valid && ref.complete));

    // A byte at a time.
    ws::Utf8Validator one;
    std::size_t char_end = 0;  // where the character holding byte i ends (before the failure)
    static const std::unique_ptr<std::uint8_t[]> single(new std::uint8_t[1]);  // one block, not one per byte
    for (std::size_t i = 0; i < n; ++i) {
        single[0] = p[i];
        const bool ok = one.feed(single.get(), 1);
        FUZZ_CHECK(ok == (i < ref.fail_at));
        if (i >= ref.fail_at) {
            FUZZ_CHECK(!one.complete());
            continue;
        }
        if (i == char_end) char_end = i + (p[i] < 0x80 ? 1 : p[i] < 0xe0 ? 2 : p[i] < 0xf0 ? 3 : 4);
        FUZZ_CHECK(one.complete() == (i + 1 == char_end));
    }
    FUZZ_CHECK(one.complete() == (valid && ref.complete));

    // Three pieces.
    ws::Utf8Validator three;
    const std::size_t from[3] = {0, c1, c2}, to[3] = {c1, c2, n};
    for (int k = 0; k < 3; ++k) {
        const std::size_t len = to[k] - from[k];
        const bool ok = feed(three, p + from[k], len, (data[1] + k) & 7);
        // Failed by the end of this piece iff the invalid byte is before its end.
        FUZZ_CHECK(ok == (to[k] <= ref.fail_at));
    }
    FUZZ_CHECK(three.complete() == (valid && ref.complete));

    // After a failure everything is refused; reset() forgets it.
    if (!valid) {
        const std::uint8_t ascii[9] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'};
        FUZZ_CHECK(!feed(whole, ascii, 9) && !feed(whole, ascii, 1) && !feed(whole, ascii, 0) && !whole.complete());
        whole.reset();
        FUZZ_CHECK(whole.complete() && feed(whole, ascii, 9) && whole.complete());
        FUZZ_CHECK(feed(whole, p, ref.fail_at) && !feed(whole, p + ref.fail_at, n - ref.fail_at));
    }
    return 0;
}
