// websocket/utf8.cpp — see utf8.h.
#include "websocket/utf8.h"

namespace ws {

bool Utf8Validator::fail() {
    need_ = 0xff, lo_ = 1, hi_ = 0;  // no byte is in [1, 0]: every later byte fails too
    return false;
}

bool Utf8Validator::feed(const std::uint8_t* p, std::size_t n) {
    if (lo_ > hi_) return false;  // failed before
    std::size_t i = 0;
    while (i < n) {
        if (need_ == 0) {
            // Text is mostly ASCII: pass it eight bytes at a time.
            std::uint64_t word;
            while (i + 8 <= n && (__builtin_memcpy(&word, p + i, 8), (word & 0x8080808080808080) == 0)) i += 8;
            if (i == n) break;
            const std::uint8_t b = p[i++];
            if (b < 0x80) continue;
            lo_ = 0x80, hi_ = 0xbf;
            if (b < 0xc2) return fail();  // a stray continuation, or overlong C0/C1
            if (b < 0xe0) need_ = 1;
            else if (b < 0xf0) need_ = 2, lo_ = b == 0xe0 ? 0xa0 : 0x80, hi_ = b == 0xed ? 0x9f : 0xbf;
            else if (b < 0xf5) need_ = 3, lo_ = b == 0xf0 ? 0x90 : 0x80, hi_ = b == 0xf4 ? 0x8f : 0xbf;
            else return fail();
        } else {
            const std::uint8_t b = p[i++];
            if (b < lo_ || b > hi_) return fail();
            --need_;
            lo_ = 0x80, hi_ = 0xbf;
        }
    }
    return true;
}

}  // namespace ws
