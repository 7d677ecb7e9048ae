// tests/fuzz/chunked_fuzz.cpp — libFuzzer target for http::ChunkedDecoder (http/body.h), which
// the connection loop feeds whatever each read brought.
//
// Input: byte 0 flags (bits 0-3: number of cut points m; bit 4: expand "\xff N c" runs in units
// of 4 KiB, see fuzz_check.h, so bodies can pass the 1 MiB limit), then m cut points (2 bytes
// each, little-endian, scaled to the body and sorted), then the bytes after the head.
//
// Invariants checked, the decoder fed in one piece, in the fuzzer's pieces, and (for bodies up
// to 1 KiB) one byte at a time:
//  - each feed consumes at most what it was given; without done or an error it consumes all;
//    done and an error never come together; the status is 0, 400 or 413;
//  - the total consumed, done and status are the same however the bytes are cut;
//  - a finished body ends in LF and is at least "0\r\n\r\n".
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/body.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr std::size_t kMaxBody = 5 << 18;  // 1.25 MiB: just past the 1 MiB + 64 KiB limit

struct Outcome {
    std::size_t consumed;
    bool done;
    std::uint16_t status;
};

// Feeds `body` cut at `cuts` (sorted, each <= size), each piece from its own copy,
// stopping at the end of the body or the first error as the server does. Each piece
// is placed at the end of a heap block, so ASan catches a read past it.
Outcome feed_in_pieces(std::string_view body, const std::vector<std::size_t>& cuts) {
    static fuzz::Arena arena(kMaxBody);
    http::ChunkedDecoder dec;
    Outcome o{0, false, 0};
    std::size_t start = 0;
    for (std::size_t k = 0; k <= cuts.size(); ++k) {
        const std::size_t end = k < cuts.size() ? cuts[k] : body.size();
        if (end < start) continue;
        const std::string_view piece = body.substr(start, end - start);
        start = end;
        if (piece.empty()) continue;  // the server never feeds an empty read
        const auto r = dec.feed(arena.place(piece), piece.size());
        FUZZ_CHECK(r.consumed <= piece.size());
        FUZZ_CHECK(r.status == 0 || r.status == 400 || r.status == 413);
        FUZZ_CHECK(!(r.done && r.status));
        if (!r.done && !r.status) FUZZ_CHECK(r.consumed == piece.size());
        o.consumed += r.consumed;
        if (r.done || r.status) {
            o.done = r.done, o.status = r.status;
            break;
        }
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t flags = data[0];
    const std::size_t m = flags & 15;
    if (size < 1 + 2 * m) return 0;
    const std::string_view raw(reinterpret_cast<const char*>(data) + 1 + 2 * m, size - 1 - 2 * m);
    static std::string expanded;
    if (flags & 16) fuzz::expand_into(expanded, raw, 4096, kMaxBody);
    const std::string_view body = (flags & 16) ? std::string_view(expanded) : raw;

    const Outcome one = feed_in_pieces(body, {});
    if (one.done) {
        FUZZ_CHECK(one.consumed >= 5 && body[one.consumed - 1] == '\n');
    }

    const std::size_t scale = body.size() / 65536 + 1;
    std::vector<std::size_t> cuts;
    for (std::size_t k = 0; k < m; ++k)
        cuts.push_back(fuzz::load_le(data + 1 + 2 * k, 2) * scale % (body.size() + 1));
    std::sort(cuts.begin(), cuts.end());
    const Outcome pieces = feed_in_pieces(body, cuts);
    FUZZ_CHECK(pieces.consumed == one.consumed);
    FUZZ_CHECK(pieces.done == one.done);
    FUZZ_CHECK(pieces.status == one.status);

    if (body.size() <= 1024) {
        std::vector<std::size_t> every(body.size());
        for (std::size_t k = 0; k < every.size(); ++k) every[k] = k;
        const Outcome bytes = feed_in_pieces(body, every);
        FUZZ_CHECK(bytes.consumed == one.consumed);
        FUZZ_CHECK(bytes.done == one.done);
        FUZZ_CHECK(bytes.status == one.status);
    }
    return 0;
}
