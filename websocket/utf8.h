// websocket/utf8.h — incremental UTF-8 validation (RFC 3629 §4), for text messages that arrive in
// pieces: a sequence may be split across reads and fragments, and the first byte that cannot be
// part of valid UTF-8 is reported at once, not at the end of the message. Pure code.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ws {

class Utf8Validator {
public:
    // Checks the next bytes of the text. Returns false at the first invalid byte (and from then
    // on): an unexpected continuation byte, C0/C1/F5-FF, an overlong form, a surrogate, a code
    // point above U+10FFFF, or a lead byte where a continuation byte was due.
    bool feed(const std::uint8_t* p, std::size_t n);

    // True when the bytes so far end on a character boundary (no sequence left open).
    bool complete() const { return need_ == 0; }

    void reset() { *this = Utf8Validator{}; }

private:
    bool fail();

    // Three bytes of state: continuation bytes still due, and the range the next one must be in
    // (narrower than 80-BF only right after E0, ED, F0 and F4, which is how overlong forms,
    // surrogates and code points above U+10FFFF are refused).
    std::uint8_t need_ = 0;
    std::uint8_t lo_ = 0x80, hi_ = 0xbf;
};

}  // namespace ws
