// sys/mem.cpp — memcpy, memmove, memset, memcmp: the compiler emits calls to these for struct
// copies and zeroing even under -nostdlib, so they must exist. This file is built with
// -fno-builtin -fno-tree-loop-distribute-patterns so GCC cannot turn the loops below back into
// calls to themselves. `rep movsb`/`rep stosb` are fast on every x86-64 made since Ivy Bridge.
#include <cstddef>

extern "C" {

void* memcpy(void* dst, const void* src, std::size_t n) {
    void* d = dst;
    asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void* memmove(void* dst, const void* src, std::size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    if (d <= s || d >= s + n) return memcpy(dst, src, n);
    // Overlap with dst above src: copy backwards.
    while (n--) d[n] = s[n];
    return dst;
}

void* memset(void* dst, int c, std::size_t n) {
    void* d = dst;
    asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

int memcmp(const void* a, const void* b, std::size_t n) {
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (std::size_t i = 0; i < n; ++i)
        if (x[i] != y[i]) return x[i] - y[i];
    return 0;
}

std::size_t strlen(const char* s) {
    std::size_t n = 0;
    while (s[n]) ++n;
    return n;
}

}  // extern "C"

extern "C" void* memchr(const void* s, int c, std::size_t n) {
    auto* p = static_cast<const unsigned char*>(s);
    for (std::size_t i = 0; i < n; ++i)
        if (p[i] == static_cast<unsigned char>(c)) return const_cast<unsigned char*>(p + i);
    return nullptr;
}

// string_view::substr() reports a start beyond the end through this libstdc++ hook. Here that
// is a bug in the caller, and there are no exceptions to throw: stop at once.
namespace std {
[[noreturn]] void __throw_out_of_range_fmt(const char*, ...) { __builtin_trap(); }
}  // namespace std
