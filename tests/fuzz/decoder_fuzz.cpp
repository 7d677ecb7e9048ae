// tests/fuzz/decoder_fuzz.cpp — libFuzzer target for ws::Decoder (websocket/decoder.h), the
// RFC 6455 receive state machine the session feeds whatever each read brought.
//
// Input: byte 0 flags (bit 0: the rest is a script of frames to mask, see below), bytes 1-2
// max_message (little-endian; 0xffff means no limit), bytes 3-4 a cut seed, then the bytes.
// Without bit 0 the bytes are the stream as received. With it they are frames as a server would
// write them (first byte, length byte, extended length, payload), which the harness turns into
// client frames: it sets the MASK bit (a script frame with the MASK bit set is sent unmasked
// instead), inserts a masking key and masks the payload, so mutations get past the
// masking rule and the fuzzer spends its time on fragmentation, control frames, limits and UTF-8.
// A length longer than the script left is a frame cut short.
//
// A reference decoder written here, non-incremental (it sees the whole stream at once and walks
// it frame by frame), says which messages and control frames the stream holds, whether and with
// which code it fails, and at which byte the failure becomes certain. The decoder is then fed the
// stream whole, a byte at a time, in two pieces cut at the seed, and in pieces of sizes the seed
// picks; each piece an exactly-sized copy at the end of a heap block (the decoder unmasks in
// place; ASan catches a read or write past the piece). Invariants checked:
//  - every way: the messages (data events concatenated) and control frames (opcode, payload,
//    close code) are the reference's, in order; the failure code is the reference's; the data
//    of a message left open at the end is the reference's (a prefix of it after a failure);
//  - the failure comes while feeding the piece that holds the reference's failure byte;
//  - each call consumes at most what it was given; need_more only once all of it is consumed;
//    a data event is the run of input just consumed (so within the piece), nonempty unless it
//    ends the message, of the message's opcode; the data of one message never exceeds
//    max_message; control payloads are at most 125 bytes and a close's code is its first two
//    bytes (1000 when empty);
//  - while data_payload_left() is nonzero a call consumes only payload (at most that many bytes,
//    and the count goes down by exactly what it consumed);
//  - after a failure every call fails with the same code, consumes nothing and writes nothing,
//    and data_payload_left() is 0.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "websocket/decoder.h"

namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::size_t kNone = ~std::size_t{0};
constexpr std::size_t kMaxStream = 1 << 16;

// ---------------------------------------------------------------------------------------------
// What a decoding produced.

struct Item {
    bool control;
    std::uint8_t opcode;
    Bytes bytes;
    std::uint16_t code;
    bool operator==(const Item&) const = default;
};

struct Trace {
    std::vector<Item> items;      // whole messages and control frames, in order
    Bytes open;                   // data of the message open at the end
    std::uint16_t fail = 0;
    std::size_t fail_from = 0, fail_to = 0;  // the piece being fed at the failure (decoder);
                                             // the failure byte (reference: fail_from)
};

// ---------------------------------------------------------------------------------------------
// The reference.

// UTF-8, as a plain code-point decoder: the index of the first byte no valid text can have there
// (kNone if none); `complete` when the text ends on a character boundary.
bool completable(std::uint32_t cp, int have, int len) {
    static const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    const int rest = 6 * (len - have);
    std::uint32_t lo = cp << rest, hi = lo | ((1u << rest) - 1);
    if (lo < smallest[len]) lo = smallest[len];
    if (hi > 0x10ffff) hi = 0x10ffff;
    return lo <= hi && !(lo >= 0xd800 && hi <= 0xdfff);
}
std::size_t utf8_fail_at(const Bytes& t, bool& complete) {
    complete = false;
    const std::size_t n = t.size();
    for (std::size_t i = 0; i < n;) {
        const std::uint8_t b = t[i];
        const int len = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0) return i;
        std::uint32_t cp = len == 1 ? b : b & (0x7fu >> len);
        if (!completable(cp, 1, len)) return i;
        for (int k = 1; k < len; ++k) {
            if (i + k >= n) return kNone;
            const std::uint8_t c = t[i + k];
            if ((c & 0xc0) != 0x80) return i + k;
            cp = cp << 6 | (c & 0x3f);
            if (!completable(cp, k + 1, len)) return i + k;
        }
        i += len;
    }
    complete = true;
    return kNone;
}

bool close_code_allowed(unsigned c) {
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

Trace reference(const std::uint8_t* s, std::size_t n, std::uint64_t max) {
    Trace t;
    auto fail = [&t](std::uint16_t code, std::size_t at) {
        t.fail = code, t.fail_from = at, t.fail_to = at + 1;
        return t;
    };
    std::uint8_t open_op = 0;          // of the open message
    std::uint64_t announced = 0;       // its frames' lengths so far
    std::vector<std::size_t> where;    // the stream offset of each byte of t.open
    for (std::size_t pos = 0;;) {
        const std::size_t avail = n - pos;
        if (avail < 2) return t;
        const std::uint8_t b0 = s[pos], b1 = s[pos + 1];
        const unsigned len7 = b1 & 0x7f;
        const bool masked = b1 & 0x80;
        const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        if (len7 == 127 && avail >= 10 && (s[pos + 2] & 0x80)) return fail(1002, pos + 9);  // §5.2
        // §5.2 again: a length in the shortest form only, judged once its bytes are in.
        if (len7 == 126 && avail >= 4 && (s[pos + 2] << 8 | s[pos + 3]) < 126) return fail(1002, pos + 3);
        if (len7 == 127 && avail >= 10 && !(s[pos + 2] | s[pos + 3] | s[pos + 4] | s[pos + 5] | s[pos + 6] | s[pos + 7]))
            return fail(1002, pos + 9);
        const std::size_t head = 2 + ext + (masked ? 4 : 0);
        if (avail < head) return t;
        std::uint64_t len = ext ? 0 : len7;
        for (std::size_t i = 0; i < ext; ++i) len = len << 8 | s[pos + 2 + i];
        const bool fin = b0 & 0x80;
        const unsigned rsv = (b0 >> 4) & 7, op = b0 & 15;
        const std::size_t head_end = pos + head - 1;
        if (!masked || rsv || (op >= 3 && op <= 7) || op >= 11) return fail(1002, head_end);
        const bool control = op >= 8;
        if (control) {
            if (!fin || len > 125) return fail(1002, head_end);
        } else {
            if ((op == 0) != (open_op != 0)) return fail(1002, head_end);
            if (len > max - announced) return fail(1009, head_end);
        }
        const std::uint8_t* key = s + pos + head - 4;
        const std::size_t have = static_cast<std::size_t>(len < avail - head ? len : avail - head);
        Bytes payload(have);
        for (std::size_t i = 0; i < have; ++i) payload[i] = s[pos + head + i] ^ key[i % 4];
        const std::size_t last_byte = pos + head + static_cast<std::size_t>(len) - 1;  // if whole
        if (control) {
            if (have < len) return t;
            std::uint16_t code = 0;
            if (op == 8) {
                code = 1000;
                if (len == 1) return fail(1002, last_byte);
                if (len >= 2) {
                    code = static_cast<std::uint16_t>(payload[0] << 8 | payload[1]);
                    if (!close_code_allowed(code)) return fail(1002, last_byte);
                    bool complete;
                    if (utf8_fail_at(Bytes(payload.begin() + 2, payload.end()), complete) != kNone || !complete)
                        return fail(1007, last_byte);
                }
            }
            t.items.push_back({true, static_cast<std::uint8_t>(op), payload, code});
        } else {
            if (op != 0) open_op = static_cast<std::uint8_t>(op);
            announced += len;
            for (std::size_t i = 0; i < have; ++i) t.open.push_back(payload[i]), where.push_back(pos + head + i);
            bool complete = true;
            if (open_op == 1) {
                const std::size_t bad = utf8_fail_at(t.open, complete);
                if (bad != kNone) return fail(1007, where[bad]);
            }
            if (have < len) return t;
            if (fin) {
                if (!complete) return fail(1007, last_byte);
                t.items.push_back({false, open_op, t.open, 0});
                t.open.clear(), where.clear();
                open_op = 0, announced = 0;
            }
        }
        pos += head + static_cast<std::size_t>(len);
    }
}

// ---------------------------------------------------------------------------------------------
// The decoder, fed in pieces.

// One heap block; each piece is copied to its end, so a read or write past the piece lands in
// ASan's redzone.
class Block {
public:
    std::uint8_t* place(const std::uint8_t* p, std::size_t n) {
        std::uint8_t* at = buf_.get() + kMaxStream - n;
        if (n) std::memcpy(at, p, n);
        return at;
    }

private:
    std::unique_ptr<std::uint8_t[]> buf_{new std::uint8_t[kMaxStream]};
};

struct Run {
    ws::Decoder dec;
    std::uint64_t max;
    Trace t;
    std::uint8_t open_op = 0;
    std::size_t fed = 0;

    explicit Run(std::uint64_t m) : dec(m), max(m) {}

    // Feeds one piece; false once failed.
    bool feed(const std::uint8_t* src, std::size_t n) {
        static Block block;
        const std::size_t from = fed;
        fed += n;
        std::uint8_t* const p = block.place(src, n);
        std::size_t off = 0;
        for (;;) {
            const std::uint64_t left = dec.data_payload_left();
            std::size_t used = kNone;
            const ws::Event e = dec.next(p + off, n - off, used);
            FUZZ_CHECK(used <= n - off);
            if (e.kind != ws::Event::fail && left) {
                FUZZ_CHECK(used <= left && dec.data_payload_left() == left - used);
                FUZZ_CHECK(e.kind == ws::Event::data ? e.size == used : used == 0);
            }
            off += used;
            if (e.kind == ws::Event::need_more) {
                FUZZ_CHECK(off == n);
                return true;
            }
            if (e.kind == ws::Event::fail) {
                FUZZ_CHECK(e.close_code == 1002 || e.close_code == 1007 || e.close_code == 1009);
                t.fail = e.close_code, t.fail_from = from, t.fail_to = from + n;
                // Final: the rest of this piece, and any other bytes, fail the same way untouched.
                static const std::uint8_t frame[] = {0x81, 0x81, 1, 2, 3, 4, 'a' ^ 1};
                std::uint8_t copy[sizeof frame];
                std::memcpy(copy, frame, sizeof frame);
                std::size_t u = kNone;
                ws::Event again = dec.next(p + off, n - off, u);
                FUZZ_CHECK(again.kind == ws::Event::fail && again.close_code == t.fail && u == 0);
                again = dec.next(copy, sizeof copy, u);
                FUZZ_CHECK(again.kind == ws::Event::fail && again.close_code == t.fail && u == 0);
                FUZZ_CHECK(std::memcmp(copy, frame, sizeof frame) == 0);
                FUZZ_CHECK(dec.data_payload_left() == 0);
                return false;
            }
            if (e.kind == ws::Event::control) {
                FUZZ_CHECK(e.opcode == ws::kClose || e.opcode == ws::kPing || e.opcode == ws::kPong);
                FUZZ_CHECK(e.last && e.size <= ws::kMaxControlPayload && (e.size == 0 || e.bytes != nullptr));
                std::uint16_t code = 0;
                if (e.opcode == ws::kClose) code = e.size >= 2 ? static_cast<std::uint16_t>(e.bytes[0] << 8 | e.bytes[1]) : 1000;
                FUZZ_CHECK(e.close_code == code);
                t.items.push_back({true, e.opcode, Bytes(e.bytes, e.bytes + e.size), e.close_code});
                continue;
            }
            FUZZ_CHECK(e.kind == ws::Event::data);
            FUZZ_CHECK(e.opcode == ws::kText || e.opcode == ws::kBinary);
            FUZZ_CHECK(e.size > 0 || e.last);
            FUZZ_CHECK(e.bytes == p + off - e.size);  // the bytes just consumed, so within the piece
            if (open_op) FUZZ_CHECK(e.opcode == open_op);
            open_op = e.opcode;
            t.open.insert(t.open.end(), e.bytes, e.bytes + e.size);
            FUZZ_CHECK(t.open.size() <= max);
            if (e.last) {
                t.items.push_back({false, e.opcode, t.open, 0});
                t.open.clear();
                open_op = 0;
            }
        }
    }
};

// Feeds `s` cut before each offset in `cuts` (ascending).
Trace decode(const Bytes& s, const std::vector<std::size_t>& cuts, std::uint64_t max) {
    Run r(max);
    std::size_t from = 0;
    for (std::size_t k = 0; k <= cuts.size(); ++k) {
        const std::size_t to = k < cuts.size() ? cuts[k] : s.size();
        if (!r.feed(s.data() + from, to - from)) break;
        from = to;
    }
    return r.t;
}

bool is_prefix(const Bytes& a, const Bytes& b) {
    return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

void check_against(const Trace& got, const Trace& ref) {
    FUZZ_CHECK(got.items == ref.items);
    FUZZ_CHECK(got.fail == ref.fail);
    if (ref.fail) {
        FUZZ_CHECK(is_prefix(got.open, ref.open));
        FUZZ_CHECK(got.fail_from <= ref.fail_from && ref.fail_from < got.fail_to);
    } else {
        FUZZ_CHECK(got.open == ref.open);
    }
}

// ---------------------------------------------------------------------------------------------
// The script: server-style frames made client frames.

Bytes masked_stream(const std::uint8_t* p, std::size_t n) {
    Bytes out;
    std::uint32_t frame = 0;
    for (std::size_t pos = 0; pos + 2 <= n && out.size() < kMaxStream / 2; ++frame) {
        const std::uint8_t b0 = p[pos], b1 = p[pos + 1];
        pos += 2;
        const unsigned len7 = b1 & 0x7f;
        const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        const bool mask = !(b1 & 0x80);
        out.push_back(b0);
        out.push_back(static_cast<std::uint8_t>(b1 ^ 0x80));
        std::uint64_t len = ext ? 0 : len7;
        for (std::size_t i = 0; i < ext; ++i) {
            const std::uint8_t x = pos < n ? p[pos++] : 0;
            out.push_back(x);
            len = len << 8 | x;
        }
        std::uint8_t key[4] = {0, 0, 0, 0};
        if (mask) {
            if (frame % 5 != 4) {  // every fifth key is zero
                const std::uint32_t k = (frame + 1) * 0x9e3779b9u;
                for (int i = 0; i < 4; ++i) key[i] = static_cast<std::uint8_t>(k >> (8 * i));
            }
            out.insert(out.end(), key, key + 4);
        }
        const std::size_t have = static_cast<std::size_t>(len < n - pos ? len : n - pos);
        for (std::size_t i = 0; i < have; ++i) out.push_back(p[pos + i] ^ key[i % 4]);
        pos += have;
    }
    if (out.size() > kMaxStream) out.resize(kMaxStream);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 5) return 0;
    const bool script = data[0] & 1;
    const std::uint64_t m16 = fuzz::load_le(data + 1, 2);
    const std::uint64_t max = m16 == 0xffff ? ~std::uint64_t{0} : m16;
    const std::uint32_t seed = static_cast<std::uint32_t>(fuzz::load_le(data + 3, 2));
    Bytes s = script ? masked_stream(data + 5, size - 5) : Bytes(data + 5, data + size);
    if (s.size() > kMaxStream) s.resize(kMaxStream);
    const std::size_t n = s.size();

    const Trace ref = reference(s.data(), n, max);
    if (ref.fail) FUZZ_CHECK(ref.fail_from < n);

    // Whole.
    check_against(decode(s, {}, max), ref);

    // A byte at a time (the failure byte exactly).
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < n; ++i) cuts.push_back(i);
    const Trace one = decode(s, cuts, max);
    check_against(one, ref);
    if (ref.fail) FUZZ_CHECK(one.fail_from == ref.fail_from);

    // Two pieces.
    const std::size_t cut = seed % (n + 1);
    check_against(decode(s, {cut}, max), ref);

    // Pieces of pseudo-random sizes up to a bound the seed picks (some empty).
    cuts.clear();
    std::uint32_t x = seed * 2654435761u + 1;
    const std::uint32_t bound = 1u << (seed >> 12);  // 1 to 32768
    for (std::size_t at = 0;;) {
        x = x * 1664525u + 1013904223u;
        at += (x >> 8) % (bound + 1);
        if (at > n) break;
        cuts.push_back(at);
    }
    check_against(decode(s, cuts, max), ref);
    return 0;
}
