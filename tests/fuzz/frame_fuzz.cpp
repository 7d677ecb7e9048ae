// tests/fuzz/frame_fuzz.cpp — libFuzzer target for the WebSocket frame codec
// (websocket/frame.h): decode_frame_header, encode_frame_header, apply_mask.
//
// Input: bytes 0-3 a masking key, 4-11 a payload offset (little-endian), 12-13 a split point,
// then bytes as received: a frame header and whatever follows it.
//
// Invariants checked (every decode reads from an exactly-sized copy, so ASan catches a read
// past the bytes given):
//  - ok: the header is 2, 4 or 10 bytes plus 4 when masked, no more than given, and its fields
//    are the bits of the first bytes; every shorter prefix is incomplete and every longer one
//    decodes to the same header; bad_length exactly for a 64-bit length with its top bit set and
//    for a length not in its shortest form (a 16-bit one under 126, a 64-bit one under 65536);
//    incomplete only when fewer bytes than the header needs were given;
//  - encode(decode(x)) decodes back to the same fin, opcode and length, unmasked, is as long as
//    x without its mask, and is x's own bytes when x was unmasked with reserved bits clear;
//  - apply_mask XORs byte i with key[(offset + i) % 4], so applying it twice restores the data,
//    and masking in two pieces (the second at offset + split) equals masking in one.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "websocket/frame.h"

namespace {

ws::DecodeStatus decode(std::string_view bytes, ws::FrameHeader& h) {
    const fuzz::Bytes copy(bytes);
    return ws::decode_frame_header(copy.u8(), copy.size, h);
}

// The header size the first two bytes call for.
std::size_t needed(const std::uint8_t* p) {
    const unsigned len7 = p[1] & 0x7f;
    return (len7 == 126 ? 4 : len7 == 127 ? 10 : 2) + ((p[1] & 0x80) ? 4 : 0);
}

bool same(const ws::FrameHeader& a, const ws::FrameHeader& b) {
    return a.fin == b.fin && a.rsv == b.rsv && a.opcode == b.opcode && a.masked == b.masked && a.length == b.length &&
           a.size == b.size && (!a.masked || std::memcmp(a.mask, b.mask, 4) == 0);
}

void check_header(std::string_view in) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(in.data());
    const std::size_t n = in.size();
    ws::FrameHeader h;
    const ws::DecodeStatus st = decode(in, h);
    if (n < 2) {
        FUZZ_CHECK(st == ws::DecodeStatus::incomplete);
        return;
    }
    const std::size_t need = needed(p);
    const bool long_form = (p[1] & 0x7f) == 127;
    if (st == ws::DecodeStatus::incomplete) {
        FUZZ_CHECK(n < need);
        return;
    }
    const bool mid_form = (p[1] & 0x7f) == 126;
    const bool not_minimal = (mid_form && n >= 4 && (p[2] << 8 | p[3]) < 126) ||
                             (long_form && n >= 10 && !(p[2] | p[3] | p[4] | p[5] | p[6] | p[7]));
    if (st == ws::DecodeStatus::bad_length) {
        FUZZ_CHECK((long_form && n >= 10 && (p[2] & 0x80)) || not_minimal);
        return;
    }
    FUZZ_CHECK(!not_minimal);
    FUZZ_CHECK(st == ws::DecodeStatus::ok);
    FUZZ_CHECK(n >= need && h.size == need);
    FUZZ_CHECK(h.size >= 2 && h.size <= ws::kMaxFrameHeader);
    FUZZ_CHECK(h.fin == ((p[0] & 0x80) != 0) && h.rsv == ((p[0] >> 4) & 7) && h.opcode == (p[0] & 15));
    FUZZ_CHECK(h.masked == ((p[1] & 0x80) != 0));
    if (h.masked) FUZZ_CHECK(std::memcmp(h.mask, p + h.size - 4, 4) == 0);
    std::uint64_t len = p[1] & 0x7f;
    if (len == 126) len = std::uint64_t{p[2]} << 8 | p[3];
    else if (len == 127) {
        len = 0;
        for (int i = 2; i < 10; ++i) len = len << 8 | p[i];
    }
    FUZZ_CHECK(h.length == len && (len >> 63) == 0);

    // Split reads: shorter prefixes wait, longer ones see the same header.
    for (std::size_t k = 0; k <= n && k <= h.size + 2; ++k) {
        ws::FrameHeader hk;
        const ws::DecodeStatus sk = decode(in.substr(0, k), hk);
        if (k < h.size) FUZZ_CHECK(sk == ws::DecodeStatus::incomplete);
        else FUZZ_CHECK(sk == ws::DecodeStatus::ok && same(hk, h));
    }

    // encode(decode(x)): the server's own header for the same frame.
    std::uint8_t out[ws::kMaxFrameHeader];
    const std::size_t e = ws::encode_frame_header(out, h.fin, h.opcode, h.length);
    FUZZ_CHECK(e == (h.length < 126 ? 2u : h.length <= 0xffff ? 4u : 10u));
    ws::FrameHeader back;
    FUZZ_CHECK(decode(std::string_view(reinterpret_cast<const char*>(out), e), back) == ws::DecodeStatus::ok);
    FUZZ_CHECK(back.size == e && back.fin == h.fin && back.opcode == h.opcode && back.length == h.length);
    FUZZ_CHECK(!back.masked && back.rsv == 0);
    FUZZ_CHECK(h.size == e + (h.masked ? 4 : 0));  // every header accepted is minimal
    if (!h.masked && h.rsv == 0) FUZZ_CHECK(std::memcmp(out, p, e) == 0);
}

void check_mask(std::string_view in, const std::uint8_t key[4], std::uint64_t offset, std::size_t split) {
    const std::size_t n = in.size();
    fuzz::Bytes once(in), twice(in), a(in.substr(0, split)), b(in.substr(split));
    auto* o = reinterpret_cast<std::uint8_t*>(once.data());
    ws::apply_mask(o, n, key, offset);
    for (std::size_t i = 0; i < n; ++i)
        FUZZ_CHECK(o[i] == (static_cast<std::uint8_t>(in[i]) ^ key[(offset + i) & 3]));
    auto* t = reinterpret_cast<std::uint8_t*>(twice.data());
    ws::apply_mask(t, n, key, offset);
    ws::apply_mask(t, n, key, offset);
    FUZZ_CHECK(n == 0 || std::memcmp(t, in.data(), n) == 0);
    ws::apply_mask(reinterpret_cast<std::uint8_t*>(a.data()), a.size, key, offset);
    ws::apply_mask(reinterpret_cast<std::uint8_t*>(b.data()), b.size, key, offset + split);
    FUZZ_CHECK(a.size == 0 || std::memcmp(a.data(), o, a.size) == 0);
    FUZZ_CHECK(b.size == 0 || std::memcmp(b.data(), o + split, b.size) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 14) return 0;
    std::uint8_t key[4];
    std::memcpy(key, data, 4);
    const std::uint64_t offset = fuzz::load_le(data + 4, 8);
    const std::string_view in(reinterpret_cast<const char*>(data) + 14, size - 14);
    const std::size_t split = static_cast<std::size_t>(fuzz::load_le(data + 12, 2) % (in.size() + 1));

    check_header(in);
    // Mask the payload after a valid header (as the session does), and the raw bytes too.
    ws::FrameHeader h;
    if (decode(in, h) == ws::DecodeStatus::ok) {
        const std::string_view payload = in.substr(h.size);
        check_mask(payload, h.masked ? h.mask : key, offset, split % (payload.size() + 1));
    }
    check_mask(in, key, offset, split);
    return 0;
}
