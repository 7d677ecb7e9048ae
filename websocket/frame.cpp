// websocket/frame.cpp — see frame.h.
#include "websocket/frame.h"

namespace ws {

DecodeStatus decode_frame_header(const std::uint8_t* p, std::size_t n, FrameHeader& h) {
    if (n < 2) return DecodeStatus::incomplete;
    h.fin = p[0] & 0x80;
    h.rsv = (p[0] >> 4) & 7;
    h.opcode = p[0] & 0x0f;
    h.masked = p[1] & 0x80;
    std::size_t size = 2;
    std::uint64_t len = p[1] & 0x7f;
    if (len == 126) {
        if (n < 4) return DecodeStatus::incomplete;
        len = std::uint64_t{p[2]} << 8 | p[3];
        if (len < 126) return DecodeStatus::bad_length;
        size = 4;
    } else if (len == 127) {
        if (n < 10) return DecodeStatus::incomplete;
        len = 0;
        for (int i = 2; i < 10; ++i) len = len << 8 | p[i];
        if (len >> 63 || len <= 0xffff) return DecodeStatus::bad_length;
        size = 10;
    }
    if (h.masked) {
        if (n < size + 4) return DecodeStatus::incomplete;
        for (int i = 0; i < 4; ++i) h.mask[i] = p[size + i];
        size += 4;
    }
    h.length = len;
    h.size = static_cast<std::uint8_t>(size);
    return DecodeStatus::ok;
}

std::size_t encode_frame_header(std::uint8_t* out, bool fin, std::uint8_t opcode, std::uint64_t length) {
    out[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | opcode);
    if (length < 126) {
        out[1] = static_cast<std::uint8_t>(length);
        return 2;
    }
    if (length <= 0xffff) {
        out[1] = 126;
        out[2] = static_cast<std::uint8_t>(length >> 8);
        out[3] = static_cast<std::uint8_t>(length);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(length >> (56 - 8 * i));
    return 10;
}

void apply_mask(std::uint8_t* data, std::size_t n, const std::uint8_t mask[4], std::uint64_t offset) {
    std::uint8_t key[8];
    for (int i = 0; i < 8; ++i) key[i] = mask[(offset + i) & 3];
    std::uint64_t key64;
    __builtin_memcpy(&key64, key, 8);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t word;
        __builtin_memcpy(&word, data + i, 8);
        word ^= key64;
        __builtin_memcpy(data + i, &word, 8);
    }
    for (; i < n; ++i) data[i] ^= key[i & 7];
}

}  // namespace ws
