// sha1.h: incremental SHA-1 (FIPS 180-4) for the WebSocket opening handshake.
//
// Promises: pure computation only; no allocation, no syscalls, no libc, no
// exceptions; safe to build freestanding. SHA-1 is not collision resistant and
// is used here solely because RFC 6455 §4.2.2 requires it for
// Sec-WebSocket-Accept; do not use it for anything security-relevant.
#pragma once
#include <cstddef>
#include <cstdint>
#include <array>

namespace ws {

using Sha1Digest = std::array<std::uint8_t, 20>;

// Incremental SHA-1 (FIPS 180-4). Used only for the WebSocket handshake (RFC 6455 §4.2.2).
// Feed bytes with update() in any split; finish() yields the same digest as
// hashing the concatenation in one go.
class Sha1 {
public:
    Sha1();                                   // constexpr-friendly init of state
    void update(const void* data, std::size_t len);
    Sha1Digest finish();                      // pads and returns the digest; object is spent after
private:
    std::uint32_t h_[5]; std::uint64_t length_bytes_; std::uint8_t block_[64]; std::size_t used_;
    void compress(const std::uint8_t* block);
};

Sha1Digest sha1(const void* data, std::size_t len);  // one-shot

}  // namespace ws
