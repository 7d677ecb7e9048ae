// websocket/frame.h — the RFC 6455 §5.2 frame format: header decode and encode, masking.
// Pure: no IO, no allocation; the session (websocket/session.cpp) feeds it bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ws {

enum Opcode : std::uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

inline constexpr std::size_t kMaxFrameHeader = 14;  // 2 + 8 (length) + 4 (mask)
inline constexpr std::size_t kMaxControlPayload = 125;

struct FrameHeader {
    bool fin;
    std::uint8_t rsv;     // the three reserved bits, 0 unless an extension says otherwise
    std::uint8_t opcode;
    bool masked;
    std::uint8_t mask[4];
    std::uint64_t length;
    std::uint8_t size;    // bytes of header
};

enum class DecodeStatus : std::uint8_t { ok, incomplete, bad_length };

// Decodes the header at the start of `p`. `bad_length`: a 64-bit length with its top bit set, or
// a length not in its shortest form (§5.2: the most significant bit MUST be 0, and "the minimal
// number of bytes MUST be used to encode the length").
DecodeStatus decode_frame_header(const std::uint8_t* p, std::size_t n, FrameHeader& h);

// Writes an unmasked (server) frame header; returns its size: 2, 4 or 10 bytes.
std::size_t encode_frame_header(std::uint8_t* out, bool fin, std::uint8_t opcode, std::uint64_t length);

// XORs `data` with the masking key as if it started `offset` bytes into the payload, eight bytes
// at a time where it can.
void apply_mask(std::uint8_t* data, std::size_t n, const std::uint8_t mask[4], std::uint64_t offset);

// True for opcodes RFC 6455 defines (0-2, 8-10).
constexpr bool opcode_known(std::uint8_t op) { return op <= 2 || (op >= 8 && op <= 10); }
constexpr bool is_control(std::uint8_t op) { return op >= 8; }

// §7.4: the close codes an endpoint may send and receive.
constexpr bool close_code_valid(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

}  // namespace ws
