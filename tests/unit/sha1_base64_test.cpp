// sha1_base64_test.cpp: known-answer and property tests for ws::Sha1,
// ws::base64_encode/base64_decode and ws::websocket_accept_key.
//
// Vectors come from FIPS 180 (SHA-1), RFC 4648 §10 (base64) and
// RFC 6455 §1.3 (the handshake example).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "websocket/base64.h"
#include "websocket/sha1.h"

namespace {

std::string hex(const ws::Sha1Digest& digest) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    for (std::uint8_t byte : digest) {
        text += kDigits[byte >> 4];
        text += kDigits[byte & 15];
    }
    return text;
}

std::string sha1_hex(std::string_view message) {
    return hex(ws::sha1(message.data(), message.size()));
}

std::string encode(std::string_view bytes) {
    std::string text(ws::base64_encoded_size(bytes.size()), '\0');
    const std::size_t written = ws::base64_encode(bytes.data(), bytes.size(), text.data());
    EXPECT_EQ(written, text.size());
    return text;
}

// Decodes text into bytes; returns false if base64_decode rejected it.
bool decode(std::string_view text, std::string& bytes) {
    std::vector<unsigned char> buffer(text.size() / 4 * 3 + 1);
    const long written = ws::base64_decode(text, buffer.data());
    if (written < 0) return false;
    bytes.assign(reinterpret_cast<const char*>(buffer.data()), static_cast<std::size_t>(written));
    return true;
}

TEST(Sha1, Fips180Vectors) {
    EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    EXPECT_EQ(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST(Sha1, OneMillionA) {
    const std::string chunk(1000, 'a');
    ws::Sha1 hasher;
    for (int i = 0; i < 1000; ++i) hasher.update(chunk.data(), chunk.size());
    EXPECT_EQ(hex(hasher.finish()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");

    const std::string whole(1000000, 'a');
    EXPECT_EQ(sha1_hex(whole), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

// Lengths around the 55/56/64-byte padding boundaries (digests from sha1sum).
TEST(Sha1, PaddingBoundaries) {
    EXPECT_EQ(sha1_hex(std::string(55, 'a')), "c1c8bbdc22796e28c0e15163d20899b65621d65a");
    EXPECT_EQ(sha1_hex(std::string(56, 'a')), "c2db330f6083854c99d4b5bfb6e8f29f201be699");
    EXPECT_EQ(sha1_hex(std::string(64, 'a')), "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

TEST(Sha1, IncrementalSplitsMatchOneShot) {
    std::uint8_t input[100];
    for (int i = 0; i < 100; ++i) input[i] = static_cast<std::uint8_t>(i * 7 + 3);
    const ws::Sha1Digest expected = ws::sha1(input, sizeof input);

    for (std::size_t split = 0; split <= sizeof input; ++split) {
        ws::Sha1 hasher;
        hasher.update(input, split);
        hasher.update(input + split, sizeof input - split);
        EXPECT_EQ(hasher.finish(), expected) << "split at " << split;
    }
}

TEST(Base64, Rfc4648Vectors) {
    const std::pair<std::string_view, std::string_view> vectors[] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},     {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(encode(plain), encoded);
        std::string decoded;
        ASSERT_TRUE(decode(encoded, decoded)) << encoded;
        EXPECT_EQ(decoded, plain);
    }
}

TEST(Base64, EncodedSize) {
    EXPECT_EQ(ws::base64_encoded_size(0), 0u);
    EXPECT_EQ(ws::base64_encoded_size(1), 4u);
    EXPECT_EQ(ws::base64_encoded_size(3), 4u);
    EXPECT_EQ(ws::base64_encoded_size(4), 8u);
    EXPECT_EQ(ws::base64_encoded_size(20), 28u);
}

TEST(Base64, StrictDecodeRejects) {
    const std::string_view bad[] = {
        "Zm9v!A==",   // character outside the alphabet
        "Zm9-",       // base64url alphabet is not accepted
        "Zm 9",       // whitespace
        "Zm9",        // length not a multiple of 4
        "Zm9vY",      // length not a multiple of 4
        "Zg=",        // truncated padding
        "====",       // padding only
        "Z===",       // too much padding
        "=Zg=",       // '=' at the start
        "Zg=a",       // '=' followed by data
        "Zg==Zm9v",   // padding before the last quad
        "Zh==",       // non-zero bits under the padding (canonical is "Zg==")
        "Zm9=",       // non-zero bits under the padding (canonical is "Zm8=")
    };
    for (std::string_view text : bad) {
        std::string ignored;
        EXPECT_FALSE(decode(text, ignored)) << text;
    }
    std::string nul_inside;
    EXPECT_FALSE(decode(std::string_view("Zm\0v", 4), nul_inside));
}

TEST(Base64, RoundTripAllByteValues) {
    std::string all_bytes;
    for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);

    // Every length 0..256 exercises all three tail shapes with every byte value.
    for (std::size_t len = 0; len <= all_bytes.size(); ++len) {
        const std::string_view plain(all_bytes.data(), len);
        const std::string encoded = encode(plain);
        std::string decoded;
        ASSERT_TRUE(decode(encoded, decoded)) << "length " << len;
        EXPECT_EQ(decoded, plain) << "length " << len;
    }
}

// The expected value is the one printed in RFC 6455 §1.3; it also equals
// `printf '<key>258EAFA5-E914-47DA-95CA-C5AB0DC85B11' | sha1sum | xxd -r -p | base64`.
TEST(WebSocketAcceptKey, Rfc6455Example) {
    char accept[ws::kAcceptKeySize];
    ws::websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
    EXPECT_EQ(std::string_view(accept, sizeof accept), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

}  // namespace
