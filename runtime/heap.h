// runtime/heap.h — size-class heaps over the shared bump arena.
//
// The arena (runtime/bump_allocator.h) is cut into 64 KiB slabs. A slab serves one size class
// (powers of two, 32 B … 1 MiB; classes of 64 KiB and up take whole runs of slabs) and belongs to
// the heap that took it; a side table records both, so blocks need no header and a 4 KiB buffer
// costs 4 KiB.
//
// Every thread that allocates owns one Heap. alloc() and a free() of the thread's own block touch
// only that heap: no atomics on the hot path. A block freed by another thread is pushed onto its
// owner's `remote` Treiber stack and adopted by the owner the next time it runs short (mimalloc's
// scheme), so memory always flows back to where it is reused and an allocate-here,
// free-there pattern (acceptor → worker) cannot leak. At a steady load the heap reaches a steady
// size.
//
// Freed blocks stay in their class, which is cheap but would make a used-up arena permanent:
// memory freed as 32 KiB buffers could never serve a 64 B frame. So when the arena runs out, a
// heap gives back its runs whose blocks are all free (reclaim()): they join the arena's spare
// runs, which any heap takes before failing. While the arena is full, every heap does the same
// after it frees (maintain()), since only a heap's own thread may walk its free lists.
//
// Pure: no system calls. The caller supplies the reservation.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "runtime/bump_allocator.h"
#include "runtime/treiber_stack.h"

namespace rt {

inline constexpr std::size_t kSlabShift = 16;
inline constexpr std::size_t kSlabSize = std::size_t{1} << kSlabShift;  // 64 KiB
inline constexpr int kMinClassShift = 5;                                // 32 B
inline constexpr int kMaxClassShift = 20;                               // 1 MiB
inline constexpr int kClassCount = kMaxClassShift - kMinClassShift + 1;
inline constexpr std::size_t kMaxBlock = std::size_t{1} << kMaxClassShift;
inline constexpr int kMaxHeaps = 260;  // up to 256 workers, the main thread, spare

// The size class that serves `bytes` (1 … kMaxBlock).
constexpr int size_class(std::size_t bytes) {
    const int shift = bytes <= 1 ? 0 : static_cast<int>(std::bit_width(bytes - 1));
    return shift <= kMinClassShift ? 0 : shift - kMinClassShift;
}
constexpr std::size_t class_size(int cls) { return std::size_t{1} << (cls + kMinClassShift); }

struct FreeBlock {
    FreeBlock* next;
};

class Arena;

class Heap {
public:
    // Registers this heap with `arena` under `id` (0 … kMaxHeaps-1, unique).
    void init(Arena& arena, int id);

    // A block of at least `bytes` (16-byte aligned), or nullptr if bytes > kMaxBlock or the
    // arena is exhausted.
    void* alloc(std::size_t bytes);

    // Takes back any block of this arena, whichever heap it came from. Must not be null.
    void free(void* p);

    // Gives the arena every run of this heap whose blocks are all free. Returns the bytes given.
    // Unless `always`, it does nothing until an eighth as many blocks as its last walk found
    // free have been freed since (see heap.cpp).
    std::size_t reclaim(bool always = false);
    // Reclaims if the arena is full and blocks came back since the last reclaim. Cheap: call
    // it often.
    void maintain();

    // Blocks waiting in this heap's free lists, by class (for tests and metrics).
    std::size_t free_count(int cls) const;

private:
    friend class Arena;
    void adopt_remote_frees();

    Arena* arena_ = nullptr;
    std::uint16_t id_ = 0;
    FreeBlock* free_[kClassCount] = {};
    char* carve_[kClassCount] = {};      // next uncut block in the class's newest slab
    char* carve_end_[kClassCount] = {};
    TreiberStack<FreeBlock> remote_;     // freed here by other threads
    std::size_t freed_ = 0;              // blocks freed since the last reclaim
    std::size_t walked_ = 0;             // free blocks the last reclaim walked
};

class Arena {
public:
    // `base`/`size`: a reservation aligned to kSlabSize. Its first slabs hold the slab table.
    // Returns false if the reservation is too small to be useful.
    bool init(void* base, std::size_t size);

    // A run of free slabs, kept in its own first bytes.
    struct SpareRun {
        SpareRun* next;
        std::size_t slabs;
    };

    bool contains(const void* p) const { return bump_.contains(p); }
    // Too little is left for the largest run a block needs.
    bool full() const { return bump_.used() + kMaxBlock > bump_.size(); }
    std::size_t used_bytes() const { return bump_.used(); }

private:
    friend class Heap;
    struct SlabInfo {
        std::uint16_t owner;  // heap id
        std::uint8_t cls;
        std::uint8_t pad;
        std::uint32_t tally;  // reclaim()'s count of the run's free blocks; 0 otherwise
    };
    // Takes `bytes` (a multiple of kSlabSize) of slabs for heap `owner`, class `cls`: fresh
    // ones, else spare ones.
    char* take_slabs(std::size_t bytes, int cls, int owner);
    char* take_spare(std::size_t bytes);
    void give_spare(char* run, std::size_t slabs);
    SlabInfo& info(const void* p) const {
        return slabs_[(reinterpret_cast<std::uintptr_t>(p) - bump_.base()) >> kSlabShift];
    }

    BumpAllocator bump_;
    SlabInfo* slabs_ = nullptr;
    Heap* heaps_[kMaxHeaps] = {};
    void lock_spare();
    void unlock_spare();
    SpareRun* spare_ = nullptr;  // under spare_locked_
    Atomic<bool> spare_locked_{false};
};

}  // namespace rt
