// runtime/memory.cpp — see memory.h.
#include "runtime/memory.h"

#include <cstdint>
#include <new>

#include "runtime/heap.h"
#include "sys/syscall.h"

namespace rt {
namespace {
Arena arena;
Heap heaps[kMaxHeaps];
thread_local Heap* this_heap;

// Blocks above kMaxBlock live in their own mapping, preceded by a 16-byte header holding the
// mapping's length (16 keeps the block aligned like every other).
constexpr std::size_t kLargeHeader = 16;
}  // namespace

int memory_init(std::size_t arena_bytes) {
    const long r = sys::mmap(nullptr, arena_bytes + kSlabSize, sys::PROT_READ | sys::PROT_WRITE,
                             sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_NORESERVE);
    if (sys::mmap_failed(r)) return static_cast<int>(r);
    const auto base = (static_cast<std::uintptr_t>(r) + kSlabSize - 1) & ~(kSlabSize - 1);
    if (!arena.init(reinterpret_cast<void*>(base), arena_bytes)) return -sys::EINVAL;
    for (int i = 0; i < kMaxHeaps; ++i) heaps[i].init(arena, i);
    return 0;
}

void memory_attach_thread(int heap_id) { this_heap = &heaps[heap_id]; }

void* mem_alloc(std::size_t bytes) {
    if (bytes <= kMaxBlock) return this_heap->alloc(bytes);
    const std::size_t len = (bytes + kLargeHeader + 4095) & ~std::size_t{4095};
    const long r = sys::mmap(nullptr, len, sys::PROT_READ | sys::PROT_WRITE,
                             sys::MAP_PRIVATE | sys::MAP_ANONYMOUS);
    if (sys::mmap_failed(r)) return nullptr;
    *reinterpret_cast<std::size_t*>(r) = len;
    return reinterpret_cast<char*>(r) + kLargeHeader;
}

void mem_free(void* p) {
    if (!p) return;
    if (arena.contains(p)) {
        this_heap->free(p);
        return;
    }
    char* mapping = static_cast<char*>(p) - kLargeHeader;
    sys::munmap(mapping, *reinterpret_cast<std::size_t*>(mapping));
}

void memory_maintain() { this_heap->maintain(); }

std::size_t arena_used_bytes() { return arena.used_bytes(); }

}  // namespace rt

// The C++ allocation functions all route to the thread's heap. No exceptions exist in this build,
// so the throwing forms return null on exhaustion like the nothrow ones; callers that can fail
// (coroutine frames) use the nothrow path explicitly.
void* operator new(std::size_t n) { return rt::mem_alloc(n); }
void* operator new[](std::size_t n) { return rt::mem_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return rt::mem_alloc(n); }
void operator delete(void* p) noexcept { rt::mem_free(p); }
void operator delete[](void* p) noexcept { rt::mem_free(p); }
void operator delete(void* p, std::size_t) noexcept { rt::mem_free(p); }
void operator delete[](void* p, std::size_t) noexcept { rt::mem_free(p); }
// Over-aligned types (alignas(64) workers): a size-class block is aligned to its own size, so
// asking for at least `align` bytes gives that alignment (up to the 64 KiB slab).
void* operator new(std::size_t n, std::align_val_t a) {
    const auto align = static_cast<std::size_t>(a);
    return rt::mem_alloc(n < align ? align : n);
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p, std::align_val_t) noexcept { rt::mem_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { rt::mem_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { rt::mem_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { rt::mem_free(p); }
