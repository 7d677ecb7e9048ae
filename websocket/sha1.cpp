// sha1.cpp: SHA-1 per FIPS 180-4 §6.1, written for clarity over speed.
//
// Promises: pure code only (no libc, no allocation, no globals with
// constructors). Bytes are buffered one at a time into block_ rather than
// copied in bulk, so the compiler has no bulk copy/fill loop to turn into a
// memcpy/memset call, which a freestanding build could not link.
#include "websocket/sha1.h"

#include <bit>

namespace ws {

namespace {

// Reads 4 bytes as a big-endian word (SHA-1 is defined on big-endian words).
std::uint32_t load_be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
           (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

}  // namespace

// Initial hash value H(0), FIPS 180-4 §5.3.1. block_ is left unset: every
// byte of it is written before compress() reads it.
Sha1::Sha1()
    : h_{0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u},
      length_bytes_(0),
      used_(0) {}

void Sha1::update(const void* data, std::size_t len) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    length_bytes_ += len;
    for (std::size_t i = 0; i < len; ++i) {
        block_[used_++] = bytes[i];
        if (used_ == 64) {
            compress(block_);
            used_ = 0;
        }
    }
}

// Padding per FIPS 180-4 §5.1.1: a 1 bit, zeros up to 56 mod 64 bytes, then
// the message length in bits as a 64-bit big-endian integer.
Sha1Digest Sha1::finish() {
    const std::uint64_t length_bits = length_bytes_ * 8;

    block_[used_++] = 0x80;
    if (used_ > 56) {                       // no room for the length: spill a block
        while (used_ < 64) block_[used_++] = 0;
        compress(block_);
        used_ = 0;
    }
    while (used_ < 56) block_[used_++] = 0;
    for (int i = 7; i >= 0; --i)
        block_[used_++] = static_cast<std::uint8_t>(length_bits >> (8 * i));
    compress(block_);
    used_ = 0;

    Sha1Digest digest;
    for (std::size_t i = 0; i < 5; ++i) {
        digest[4 * i + 0] = static_cast<std::uint8_t>(h_[i] >> 24);
        digest[4 * i + 1] = static_cast<std::uint8_t>(h_[i] >> 16);
        digest[4 * i + 2] = static_cast<std::uint8_t>(h_[i] >> 8);
        digest[4 * i + 3] = static_cast<std::uint8_t>(h_[i]);
    }
    return digest;
}

// One 512-bit block, FIPS 180-4 §6.1.2. Uses the 16-word circular schedule
// (§6.1.3 alternative) so the working set stays at 64 bytes.
void Sha1::compress(const std::uint8_t* block) {
    std::uint32_t w[16];
    for (int t = 0; t < 16; ++t) w[t] = load_be32(block + 4 * t);

    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
    for (int t = 0; t < 80; ++t) {
        if (t >= 16) {
            w[t & 15] = std::rotl(w[(t - 3) & 15] ^ w[(t - 8) & 15] ^
                                  w[(t - 14) & 15] ^ w[t & 15], 1);
        }
        std::uint32_t f, k;
        if (t < 20)      { f = (b & c) | (~b & d);          k = 0x5A827999u; }
        else if (t < 40) { f = b ^ c ^ d;                   k = 0x6ED9EBA1u; }
        else if (t < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
        else             { f = b ^ c ^ d;                   k = 0xCA62C1D6u; }
        const std::uint32_t temp = std::rotl(a, 5) + f + e + k + w[t & 15];
        e = d;
        d = c;
        c = std::rotl(b, 30);
        b = a;
        a = temp;
    }
    h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d; h_[4] += e;
}

Sha1Digest sha1(const void* data, std::size_t len) {
    Sha1 hasher;
    hasher.update(data, len);
    return hasher.finish();
}

}  // namespace ws
