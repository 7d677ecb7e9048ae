// base64.h: strict base64 (RFC 4648 §4) and the WebSocket accept key (RFC 6455 §4.2.2).
//
// Promises: pure computation into caller-provided buffers; no allocation,
// no syscalls, no libc, no exceptions; safe to build freestanding. Outputs
// are not NUL-terminated.
#pragma once
#include <cstddef>
#include <string_view>

namespace ws {

// Standard alphabet with '=' padding (RFC 4648 §4).
constexpr std::size_t base64_encoded_size(std::size_t n) { return (n + 2) / 3 * 4; }

// Writes base64_encoded_size(len) chars to out; returns that count.
std::size_t base64_encode(const void* data, std::size_t len, char* out);

// Strict decode: rejects characters outside the alphabet, wrong padding, length not a multiple of 4,
// and non-zero bits in the padding position. Returns bytes written to out (out must hold
// text.size()/4*3 bytes), or -1 if the text is not canonical base64.
long base64_decode(std::string_view text, unsigned char* out);

// RFC 6455 §4.2.2: Sec-WebSocket-Accept = base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
// Writes exactly 28 chars to out.
constexpr std::size_t kAcceptKeySize = 28;
void websocket_accept_key(std::string_view client_key, char out[kAcceptKeySize]);

}  // namespace ws
