// tests/fuzz/fuzz_check.h — what the libFuzzer targets in tests/fuzz/ share: an invariant check
// that names the broken invariant and traps, exactly-sized heap copies (so ASan sees any read or
// write one byte past the end), and the run-length expansion that lets a short fuzzer input reach
// the parsers' size limits (8 KiB request line, 16 KiB head, 1 MiB body).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

// Traps (libFuzzer then prints the stack and saves the input) when `cond` is false.
#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            std::fprintf(stderr, "\n*** invariant failed: %s\n    at %s:%d\n", #cond, __FILE__, \
                         __LINE__);                                                             \
            __builtin_trap();                                                                   \
        }                                                                                       \
    } while (0)

namespace fuzz {

// A heap copy of exactly `n` bytes (no slack for ASan to miss); n == 0 still gets a distinct,
// zero-sized allocation, so dereferencing it is caught too.
struct Bytes {
    std::unique_ptr<char[]> buf;
    std::size_t size = 0;

    Bytes() = default;
    explicit Bytes(std::string_view s) : buf(new char[s.size()]), size(s.size()) {
        if (s.size()) std::memcpy(buf.get(), s.data(), s.size());
    }
    char* data() { return buf.get(); }
    const char* data() const { return buf.get(); }
    std::string_view view() const { return {buf.get(), size}; }
    const std::uint8_t* u8() const { return reinterpret_cast<const std::uint8_t*>(buf.get()); }
};

// Little-endian integer from up to 8 bytes (missing bytes are zero).
inline std::uint64_t load_le(const std::uint8_t* p, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = v << 8 | p[i];
    return v;
}

// The byte 0xFF followed by `count` and `c` stands for `c` repeated (count + 1) * unit times;
// everything else stands for itself. So "\xff\x7f\n" is 8192 newlines when unit is 64. Bytes
// and runs that would take the result past `max_total` are dropped.
inline void expand_into(std::string& out, std::string_view in, std::size_t unit, std::size_t max_total) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (static_cast<unsigned char>(in[i]) == 0xff && i + 2 < in.size()) {
            const std::size_t run = (static_cast<unsigned char>(in[i + 1]) + 1) * unit;
            if (out.size() + run <= max_total) out.append(run, in[i + 2]);
            i += 2;
        } else if (out.size() < max_total) {
            out += in[i];
        }
    }
}
inline std::string expand(std::string_view in, std::size_t unit, std::size_t max_total) {
    std::string out;
    expand_into(out, in, unit, max_total);
    return out;
}

// One heap block reused across runs, for inputs too large to copy afresh each time (a fresh
// multi-megabyte block costs an mmap and munmap per run under ASan). place() copies bytes to the
// block's end, so a read past them still lands in ASan's redzone.
class Arena {
public:
    explicit Arena(std::size_t capacity) : buf_(new char[capacity]), cap_(capacity) {}
    const char* place(std::string_view s) {
        if (s.size() > cap_) __builtin_trap();
        char* p = buf_.get() + cap_ - s.size();
        if (s.size()) std::memcpy(p, s.data(), s.size());
        return p;
    }

private:
    std::unique_ptr<char[]> buf_;
    std::size_t cap_;
};

}  // namespace fuzz
