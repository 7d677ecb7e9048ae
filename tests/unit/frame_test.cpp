// frame_test.cpp: the RFC 6455 §5.2 frame codec (websocket/frame.h) — header decode in all three
// length forms, masked and not, at every prefix length; encode/decode round trips; apply_mask
// against a byte-wise reference; and the opcode and close-code tables.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "websocket/frame.h"

namespace {

using Bytes = std::vector<std::uint8_t>;
using ws::DecodeStatus;

// Decodes from an exactly-sized heap copy so ASan catches a read past `n`.
DecodeStatus decode(const Bytes& bytes, std::size_t n, ws::FrameHeader& h) {
    std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[n ? n : 1]);
    if (n) std::memcpy(copy.get(), bytes.data(), n);
    return ws::decode_frame_header(copy.get(), n, h);
}

struct Expect {
    Bytes bytes;
    bool fin;
    std::uint8_t rsv, opcode;
    bool masked;
    std::uint8_t mask[4];
    std::uint64_t length;
    std::uint8_t size;
};

// Known headers in all three length forms, masked and unmasked, with fin/rsv/opcode bits.
const std::vector<Expect>& known_headers() {
    static const std::vector<Expect> v = {
        {{0x81, 0x05}, true, 0, ws::kText, false, {}, 5, 2},
        {{0x01, 0x00}, false, 0, ws::kText, false, {}, 0, 2},
        {{0x82, 0x7d}, true, 0, ws::kBinary, false, {}, 125, 2},
        {{0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d}, true, 0, ws::kPing, true, {0x37, 0xfa, 0x21, 0x3d}, 5, 6},
        {{0xf8, 0x80, 1, 2, 3, 4}, true, 7, ws::kClose, true, {1, 2, 3, 4}, 0, 6},
        {{0x40, 0x7e, 0x00, 0x7e}, false, 4, ws::kContinuation, false, {}, 126, 4},
        {{0x82, 0x7e, 0xff, 0xff}, true, 0, ws::kBinary, false, {}, 65535, 4},
        {{0x82, 0xfe, 0x01, 0x00, 9, 8, 7, 6}, true, 0, ws::kBinary, true, {9, 8, 7, 6}, 256, 8},
        {{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, true, 0, ws::kBinary, false, {}, 65536, 10},
        {{0x8a, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xbb, 0xcc, 0xdd},
         true, 0, ws::kPong, true, {0xaa, 0xbb, 0xcc, 0xdd}, 0x7fffffffffffffffull, 14},
        {{0x0f, 0x7f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, false, 0, 0x0f, false, {},
         0x0123456789abcdefull, 10},
    };
    return v;
}

// Each known header decodes to the expected fields; every shorter prefix is `incomplete`; extra
// payload bytes after the header change nothing.
TEST(FrameDecode, KnownHeadersAtEveryPrefix) {
    for (const Expect& e : known_headers()) {
        SCOPED_TRACE(testing::PrintToString(e.bytes));
        ASSERT_EQ(e.bytes.size(), e.size);
        for (std::size_t n = 0; n < e.bytes.size(); ++n) {
            ws::FrameHeader h{};
            EXPECT_EQ(decode(e.bytes, n, h), DecodeStatus::incomplete) << "prefix " << n;
        }
        Bytes with_payload = e.bytes;
        for (int i = 0; i < 20; ++i) with_payload.push_back(static_cast<std::uint8_t>(0xa0 + i));
        for (std::size_t n : {e.bytes.size(), with_payload.size()}) {
            ws::FrameHeader h{};
            ASSERT_EQ(decode(with_payload, n, h), DecodeStatus::ok);
            EXPECT_EQ(h.fin, e.fin);
            EXPECT_EQ(h.rsv, e.rsv);
            EXPECT_EQ(h.opcode, e.opcode);
            EXPECT_EQ(h.masked, e.masked);
            if (e.masked) {
                EXPECT_EQ(0, std::memcmp(h.mask, e.mask, 4));
            }
            EXPECT_EQ(h.length, e.length);
            EXPECT_EQ(h.size, e.size);
        }
    }
}

// A 64-bit length with its top bit set is `bad_length` (masked or not), once all 10 bytes are in.
TEST(FrameDecode, TopBitOfLongLengthIsBad) {
    const Bytes cases[] = {
        {0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0},
        {0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4},
    };
    for (const Bytes& b : cases) {
        ws::FrameHeader h{};
        for (std::size_t n = 0; n < 10; ++n) EXPECT_EQ(decode(b, n, h), DecodeStatus::incomplete) << n;
        for (std::size_t n = 10; n <= b.size(); ++n) EXPECT_EQ(decode(b, n, h), DecodeStatus::bad_length) << n;
    }
}

// A length not in its shortest form is `bad_length` too (§5.2: "the minimal number of bytes MUST
// be used"), as soon as the length bytes are in; the shortest forms at each boundary are fine.
TEST(FrameDecode, NonMinimalLengthIsBad) {
    const Bytes bad[] = {
        {0x82, 0x7e, 0x00, 0x00},                          // 0 in 16 bits
        {0x81, 0xfe, 0x00, 0x7d, 1, 2, 3, 4},              // 125 in 16 bits, masked
        {0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0x00, 0x05},        // 5 in 64 bits
        {0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff},        // 65535 in 64 bits
        {0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x00, 0x7e, 1, 2, 3, 4},
    };
    for (const Bytes& b : bad) {
        SCOPED_TRACE(testing::PrintToString(b));
        const std::size_t length_end = (b[1] & 0x7f) == 126 ? 4 : 10;
        ws::FrameHeader h{};
        for (std::size_t n = 0; n < length_end; ++n) EXPECT_EQ(decode(b, n, h), DecodeStatus::incomplete) << n;
        for (std::size_t n = length_end; n <= b.size(); ++n) EXPECT_EQ(decode(b, n, h), DecodeStatus::bad_length) << n;
    }
    const Bytes good[] = {
        {0x82, 0x7e, 0x00, 0x7e},                          // 126, the least in 16 bits
        {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0x00, 0x00},        // 65536, the least in 64 bits
    };
    for (const Bytes& b : good) {
        ws::FrameHeader h{};
        EXPECT_EQ(decode(b, b.size(), h), DecodeStatus::ok) << testing::PrintToString(b);
    }
}

// encode_frame_header writes the shortest form: exact bytes at each boundary.
TEST(FrameEncode, ExactBytes) {
    struct Case {
        bool fin;
        std::uint8_t opcode;
        std::uint64_t length;
        Bytes bytes;
    };
    const Case cases[] = {
        {true, ws::kText, 0, {0x81, 0x00}},
        {true, ws::kText, 5, {0x81, 0x05}},
        {false, ws::kBinary, 125, {0x02, 0x7d}},
        {true, ws::kBinary, 126, {0x82, 0x7e, 0x00, 0x7e}},
        {true, ws::kBinary, 65535, {0x82, 0x7e, 0xff, 0xff}},
        {true, ws::kBinary, 65536, {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}},
        {true, ws::kClose, 2, {0x88, 0x02}},
        {false, ws::kContinuation, std::uint64_t{1} << 32, {0x00, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0}},
        {true, ws::kPong, 0x0102030405060708ull, {0x8a, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8}},
    };
    for (const Case& c : cases) {
        std::uint8_t out[ws::kMaxFrameHeader + 4];
        std::memset(out, 0xee, sizeof out);
        const std::size_t n = ws::encode_frame_header(out, c.fin, c.opcode, c.length);
        EXPECT_EQ(Bytes(out, out + n), c.bytes) << c.length;
        EXPECT_EQ(out[n], 0xee) << "wrote past the header";
    }
}

// Encode then decode gives back fin, opcode and length, unmasked, for every length form.
TEST(FrameEncode, RoundTrip) {
    const std::uint64_t lengths[] = {0, 1, 125, 126, 127, 65535, 65536, 65537, 1ull << 32,
                                     (1ull << 32) + 1, 0x7fffffffffffffffull};
    for (std::uint64_t len : lengths)
        for (bool fin : {true, false})
            for (std::uint8_t op : {ws::kContinuation, ws::kText, ws::kBinary, ws::kClose, ws::kPing, ws::kPong}) {
                std::uint8_t buf[ws::kMaxFrameHeader];
                const std::size_t n = ws::encode_frame_header(buf, fin, op, len);
                EXPECT_EQ(n, len < 126 ? 2u : len <= 65535 ? 4u : 10u) << len;
                ws::FrameHeader h{};
                ASSERT_EQ(decode(Bytes(buf, buf + n), n, h), DecodeStatus::ok) << len;
                EXPECT_EQ(h.fin, fin);
                EXPECT_EQ(h.rsv, 0);
                EXPECT_EQ(h.opcode, op);
                EXPECT_FALSE(h.masked);
                EXPECT_EQ(h.length, len);
                EXPECT_EQ(h.size, n);
                // And one byte short is incomplete.
                EXPECT_EQ(decode(Bytes(buf, buf + n), n - 1, h), DecodeStatus::incomplete);
            }
}

// The byte-wise definition of masking (RFC 6455 §5.3).
void reference_mask(std::uint8_t* data, std::size_t n, const std::uint8_t mask[4], std::uint64_t offset) {
    for (std::size_t i = 0; i < n; ++i) data[i] ^= mask[(offset + i) % 4];
}

// apply_mask equals the byte-wise reference for offsets 0-7 (and huge ones), lengths 0-40, at
// every buffer alignment, touches nothing outside the range, and is its own inverse.
TEST(FrameMask, MatchesReferenceAndIsInvolution) {
    std::mt19937 rng(6455);
    const std::uint8_t masks[][4] = {{0x37, 0xfa, 0x21, 0x3d}, {0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {1, 2, 3, 4}};
    std::vector<std::uint64_t> offsets = {0, 1, 2, 3, 4, 5, 6, 7, 1000001, (1ull << 32) + 3, ~0ull - 2, ~0ull};
    for (const auto& mask : masks)
        for (std::uint64_t offset : offsets)
            for (std::size_t n = 0; n <= 40; ++n)
                for (std::size_t align = 0; align < 8; ++align) {
                    std::vector<std::uint8_t> original(n + 16);
                    for (auto& b : original) b = static_cast<std::uint8_t>(rng());
                    std::vector<std::uint8_t> got = original, want = original;
                    ws::apply_mask(got.data() + align, n, mask, offset);
                    reference_mask(want.data() + align, n, mask, offset);
                    ASSERT_EQ(got, want) << "offset " << offset << " n " << n << " align " << align;
                    ws::apply_mask(got.data() + align, n, mask, offset);
                    ASSERT_EQ(got, original) << "not an involution: offset " << offset << " n " << n;
                }
}

// Masking a payload in arbitrary pieces (offset = bytes already done) equals masking it whole.
TEST(FrameMask, PiecewiseEqualsWhole) {
    std::mt19937 rng(17);
    const std::uint8_t mask[4] = {0xde, 0xad, 0xbe, 0xef};
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<std::uint8_t> data(1 + rng() % 300);
        for (auto& b : data) b = static_cast<std::uint8_t>(rng());
        std::vector<std::uint8_t> whole = data, pieces = data;
        ws::apply_mask(whole.data(), whole.size(), mask, 0);
        for (std::size_t done = 0; done < pieces.size();) {
            const std::size_t n = std::min<std::size_t>(1 + rng() % 23, pieces.size() - done);
            ws::apply_mask(pieces.data() + done, n, mask, done);
            done += n;
        }
        ASSERT_EQ(pieces, whole);
    }
}

// RFC 6455 §5.7's example: "Hello" masked with 37 fa 21 3d.
TEST(FrameMask, RfcExample) {
    std::uint8_t data[] = {'H', 'e', 'l', 'l', 'o'};
    const std::uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    ws::apply_mask(data, 5, mask, 0);
    EXPECT_EQ(Bytes(data, data + 5), (Bytes{0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

// close_code_valid: 1000-1003, 1007-1011 and 3000-4999 only (Autobahn's expectations).
TEST(FrameCodes, CloseCodeValid) {
    for (unsigned c : {1000u, 1001u, 1002u, 1003u, 1007u, 1008u, 1009u, 1010u, 1011u, 3000u, 3999u, 4000u, 4999u})
        EXPECT_TRUE(ws::close_code_valid(c)) << c;
    for (unsigned c : {0u, 1u, 999u, 1004u, 1005u, 1006u, 1012u, 1013u, 1014u, 1015u, 1016u, 1100u, 2000u, 2999u,
                       5000u, 65535u, 0xffffffffu})
        EXPECT_FALSE(ws::close_code_valid(c)) << c;
}

// opcode_known / is_control over all 16 opcodes.
TEST(FrameCodes, Opcodes) {
    for (unsigned op = 0; op < 16; ++op) {
        const bool known = op <= 2 || (op >= 8 && op <= 10);
        EXPECT_EQ(ws::opcode_known(static_cast<std::uint8_t>(op)), known) << op;
        EXPECT_EQ(ws::is_control(static_cast<std::uint8_t>(op)), op >= 8) << op;
    }
}

}  // namespace
