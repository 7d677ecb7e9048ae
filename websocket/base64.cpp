// base64.cpp: RFC 4648 §4 base64 encode/strict decode, and the RFC 6455
// Sec-WebSocket-Accept computation built on it.
//
// Promises: pure code only (no libc, no allocation, no globals with
// constructors). Decoding accepts exactly one spelling per byte string (the
// canonical one) and never writes to out past the decoded length; on failure
// out may hold a partial result.
#include "websocket/base64.h"

#include <cstdint>

#include "websocket/sha1.h"

namespace ws {

namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Maps an alphabet character to its 6-bit value, or -1 for anything else
// (including '=', which callers handle explicitly). Computed by ranges rather
// than a 256-entry table to keep the code small and obviously right.
int sextet_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

}  // namespace

std::size_t base64_encode(const void* data, std::size_t len, char* out) {
    const auto* in = static_cast<const std::uint8_t*>(data);
    char* cursor = out;
    std::size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        const std::uint32_t group = (std::uint32_t{in[i]} << 16) |
                                    (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
        *cursor++ = kAlphabet[(group >> 18) & 63];
        *cursor++ = kAlphabet[(group >> 12) & 63];
        *cursor++ = kAlphabet[(group >> 6) & 63];
        *cursor++ = kAlphabet[group & 63];
    }
    const std::size_t rest = len - i;  // 0, 1 or 2 trailing bytes
    if (rest != 0) {
        std::uint32_t group = std::uint32_t{in[i]} << 16;
        if (rest == 2) group |= std::uint32_t{in[i + 1]} << 8;
        *cursor++ = kAlphabet[(group >> 18) & 63];
        *cursor++ = kAlphabet[(group >> 12) & 63];
        *cursor++ = rest == 2 ? kAlphabet[(group >> 6) & 63] : '=';
        *cursor++ = '=';
    }
    return static_cast<std::size_t>(cursor - out);
}

long base64_decode(std::string_view text, unsigned char* out) {
    if (text.size() % 4 != 0) return -1;
    long written = 0;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last_quad = i + 4 == text.size();
        // '=' is only legal as the last one or two characters of the text.
        std::size_t padding = 0;
        if (last_quad && text[i + 3] == '=') padding = text[i + 2] == '=' ? 2 : 1;

        std::uint32_t group = 0;
        for (std::size_t j = 0; j < 4 - padding; ++j) {
            const int value = sextet_value(text[i + j]);
            if (value < 0) return -1;
            group = (group << 6) | static_cast<std::uint32_t>(value);
        }
        group <<= 6 * padding;

        // Canonical form: the bits that fall into the padding must be zero,
        // otherwise e.g. "Zh==" and "Zg==" would both decode to "f".
        if (padding == 2 && (group & 0xFFFFu) != 0) return -1;
        if (padding == 1 && (group & 0xFFu) != 0) return -1;

        out[written++] = static_cast<unsigned char>(group >> 16);
        if (padding < 2) out[written++] = static_cast<unsigned char>(group >> 8);
        if (padding < 1) out[written++] = static_cast<unsigned char>(group);
    }
    return written;
}

void websocket_accept_key(std::string_view client_key, char out[kAcceptKeySize]) {
    constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    Sha1 hasher;
    hasher.update(client_key.data(), client_key.size());
    hasher.update(kWebSocketGuid.data(), kWebSocketGuid.size());
    const Sha1Digest digest = hasher.finish();
    static_assert(base64_encoded_size(Sha1Digest{}.size()) == kAcceptKeySize);
    base64_encode(digest.data(), digest.size(), out);
}

}  // namespace ws
