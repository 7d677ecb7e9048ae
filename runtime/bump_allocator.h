// runtime/bump_allocator.h — the shared arena: one big reservation handed out front to back by
// compare-and-swap on its top pointer. Lock-free, never frees; the size-class heaps on top of it
// (runtime/heap.h) recycle what they take, so the top only moves while the working set grows.
#pragma once

#include "runtime/atomic.h"
#include <cstddef>
#include <cstdint>

namespace rt {

class BumpAllocator {
public:
    void init(void* base, std::size_t size) {
        base_ = reinterpret_cast<std::uintptr_t>(base);
        end_ = base_ + size;
        top_.store(base_, relaxed);
    }

    // Returns `bytes` of memory aligned to `align` (a power of two), or nullptr when the arena
    // is exhausted. A failed request leaves the top unmoved, so smaller requests may still fit.
    void* take(std::size_t bytes, std::size_t align) {
        // relaxed everywhere: the top pointer publishes no data — each caller only needs a range
        // nobody else got, which the CAS's atomicity alone guarantees.
        std::uintptr_t top = top_.load(relaxed);
        std::uintptr_t start, next;
        do {
            start = (top + align - 1) & ~(align - 1);
            next = start + bytes;
            if (next < start || next > end_) return nullptr;
        } while (!top_.compare_exchange_weak(top, next, relaxed, relaxed));
        return reinterpret_cast<void*>(start);
    }

    bool contains(const void* p) const {
        auto a = reinterpret_cast<std::uintptr_t>(p);
        return a >= base_ && a < end_;
    }
    std::uintptr_t base() const { return base_; }
    std::size_t size() const { return end_ - base_; }
    std::size_t used() const { return top_.load(relaxed) - base_; }

private:
    Atomic<std::uintptr_t> top_{0};
    std::uintptr_t base_ = 0, end_ = 0;
};

}  // namespace rt
