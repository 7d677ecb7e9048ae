// heap_test.cpp: rt::BumpAllocator, rt::Arena and rt::Heap (runtime/bump_allocator.h,
// runtime/heap.h) — size classes, block placement and reuse, exhaustion, remote (cross-heap)
// frees, and behaviour under real threads.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/bump_allocator.h"
#include "runtime/heap.h"

namespace {

using rt::kMaxBlock;
using rt::kSlabSize;

// An mmap'd reservation whose usable part is aligned to kSlabSize, as the server makes it.
class Reservation {
public:
    explicit Reservation(std::size_t size) : size_(size), raw_size_(size + kSlabSize) {
        raw_ = mmap(nullptr, raw_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (raw_ == MAP_FAILED) raw_ = nullptr;
        const auto a = reinterpret_cast<std::uintptr_t>(raw_);
        base_ = reinterpret_cast<char*>((a + kSlabSize - 1) & ~(kSlabSize - 1));
    }
    ~Reservation() {
        if (raw_) munmap(raw_, raw_size_);
    }
    Reservation(const Reservation&) = delete;
    bool ok() const { return raw_ != nullptr; }
    char* base() const { return base_; }
    std::size_t size() const { return size_; }

private:
    std::size_t size_, raw_size_;
    void* raw_ = nullptr;
    char* base_ = nullptr;
};

constexpr std::size_t kGiB = std::size_t{1} << 30;
constexpr std::size_t kMiB = std::size_t{1} << 20;

// The bytes the slab table takes at the front of an arena of `size` bytes.
constexpr std::size_t table_span(std::size_t size) {
    const std::size_t bytes = (size >> rt::kSlabShift) * 8;  // an entry of the slab table
    return (bytes + kSlabSize - 1) & ~(kSlabSize - 1);
}

// An arena over its own reservation.
struct TestArena {
    explicit TestArena(std::size_t size = kGiB) : res(size) {
        EXPECT_TRUE(res.ok());
        EXPECT_TRUE(arena.init(res.base(), res.size()));
    }
    bool contains(const void* p, std::size_t n) const {
        const char* c = static_cast<const char*>(p);
        return c >= res.base() && c + n <= res.base() + res.size();
    }
    Reservation res;
    rt::Arena arena;
};

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

void fill(void* p, std::size_t n, std::uint8_t tag) { std::memset(p, tag, n); }
bool check(const void* p, std::size_t n, std::uint8_t tag) {
    const auto* c = static_cast<const std::uint8_t*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (c[i] != tag) return false;
    return true;
}

// ---------------------------------------------------------------------------------------------
// Size classes

// size_class()/class_size() at the boundaries: 32 B is the smallest class, powers of two after.
TEST(SizeClass, Boundaries) {
    struct Case {
        std::size_t bytes;
        int cls;
        std::size_t size;
    };
    const Case cases[] = {
        {0, 0, 32},          {1, 0, 32},           {31, 0, 32},          {32, 0, 32},
        {33, 1, 64},         {64, 1, 64},          {65, 2, 128},         {128, 2, 128},
        {4095, 7, 4096},     {4096, 7, 4096},      {4097, 8, 8192},      {65536, 11, 65536},
        {65537, 12, 131072}, {kMaxBlock - 1, 15, kMaxBlock},             {kMaxBlock, 15, kMaxBlock},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(rt::size_class(c.bytes), c.cls) << "bytes=" << c.bytes;
        EXPECT_EQ(rt::class_size(rt::size_class(c.bytes)), c.size) << "bytes=" << c.bytes;
    }
    EXPECT_EQ(rt::size_class(kMaxBlock), rt::kClassCount - 1);
    EXPECT_EQ(rt::class_size(0), 32u);
    EXPECT_EQ(rt::class_size(rt::kClassCount - 1), kMaxBlock);
}

// For every size 1..kMaxBlock the class is the smallest that fits: class_size >= n > previous.
TEST(SizeClass, SmallestFittingClassForEverySize) {
    for (std::size_t n = 1; n <= kMaxBlock; ++n) {
        const int cls = rt::size_class(n);
        ASSERT_GE(cls, 0);
        ASSERT_LT(cls, rt::kClassCount);
        ASSERT_GE(rt::class_size(cls), n) << n;
        if (cls > 0) {
            ASSERT_LT(rt::class_size(cls - 1), n) << n;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// BumpAllocator on its own

// take() aligns, moves the top by exactly what it hands out, and a failure leaves the top alone.
TEST(BumpAllocator, AlignsAndFailsWithoutMovingTop) {
    alignas(4096) static char region[8192];
    rt::BumpAllocator bump;
    bump.init(region, sizeof region);
    EXPECT_EQ(bump.size(), sizeof region);
    EXPECT_EQ(bump.used(), 0u);

    void* a = bump.take(1, 1);
    EXPECT_EQ(a, region);
    void* b = bump.take(16, 64);  // top 1 -> aligned to 64
    EXPECT_EQ(b, region + 64);
    EXPECT_EQ(bump.used(), 80u);

    EXPECT_EQ(bump.take(sizeof region, 1), nullptr);  // too big: top unmoved
    EXPECT_EQ(bump.used(), 80u);
    void* c = bump.take(sizeof region - 80, 1);  // exactly the rest fits
    EXPECT_EQ(c, region + 80);
    EXPECT_EQ(bump.used(), sizeof region);
    EXPECT_EQ(bump.take(1, 1), nullptr);

    EXPECT_TRUE(bump.contains(region));
    EXPECT_TRUE(bump.contains(region + sizeof region - 1));
    EXPECT_FALSE(bump.contains(region + sizeof region));
    EXPECT_FALSE(bump.contains(region - 1));
}

// A request whose size wraps the address space is refused, not handed out.
TEST(BumpAllocator, HugeRequestDoesNotWrap) {
    alignas(64) static char region[256];
    rt::BumpAllocator bump;
    bump.init(region, sizeof region);
    EXPECT_EQ(bump.take(SIZE_MAX, 1), nullptr);
    EXPECT_EQ(bump.take(SIZE_MAX - 8, 16), nullptr);
    EXPECT_EQ(bump.used(), 0u);
}

// 8 threads take() concurrently until exhaustion: every range is aligned, inside the arena,
// disjoint from every other, and together they fill the arena to within one request.
TEST(BumpAllocator, ConcurrentTakesAreDisjoint) {
    constexpr int kThreads = 8;
    constexpr std::size_t kSize = 8 * kMiB;
    constexpr std::size_t kMaxRequest = 256, kMaxAlign = 64;
    Reservation res(kSize);
    ASSERT_TRUE(res.ok());
    rt::BumpAllocator bump;
    bump.init(res.base(), kSize);

    struct Range {
        std::uintptr_t start;
        std::size_t bytes, align;
    };
    std::vector<std::vector<Range>> got(kThreads);
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937_64 rng(t + 1);
            while (!go.load()) std::this_thread::yield();
            for (;;) {
                const std::size_t bytes = 1 + rng() % kMaxRequest;
                const std::size_t align = std::size_t{1} << (rng() % 7);  // 1..64
                void* p = bump.take(bytes, align);
                if (!p) break;
                got[t].push_back({addr(p), bytes, align});
            }
        });
    }
    go.store(true);
    for (auto& th : threads) th.join();

    std::vector<Range> all;
    for (auto& v : got) all.insert(all.end(), v.begin(), v.end());
    ASSERT_GT(all.size(), 10000u);
    std::sort(all.begin(), all.end(), [](const Range& a, const Range& b) { return a.start < b.start; });
    const std::uintptr_t base = addr(res.base()), end = base + kSize;
    std::size_t total = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
        ASSERT_EQ(all[i].start % all[i].align, 0u);
        ASSERT_GE(all[i].start, base);
        ASSERT_LE(all[i].start + all[i].bytes, end);
        if (i > 0) {
            ASSERT_LE(all[i - 1].start + all[i - 1].bytes, all[i].start) << "overlap at " << i;
        }
        total += all[i].bytes;
    }
    EXPECT_LE(total, kSize);
    EXPECT_LE(bump.used(), kSize);
    // Each thread stopped when the rest was smaller than its request (the rest only shrinks).
    EXPECT_GT(bump.used(), kSize - (kMaxRequest + kMaxAlign));
    // The top is exactly the end of the last range handed out.
    EXPECT_EQ(base + bump.used(), all.back().start + all.back().bytes);
}

// ---------------------------------------------------------------------------------------------
// Arena

// init() refuses a reservation too small for the slab table plus one largest block.
TEST(Arena, InitRejectsTooSmallReservation) {
    Reservation res(4 * kMiB);
    ASSERT_TRUE(res.ok());
    rt::Arena small;
    EXPECT_FALSE(small.init(res.base(), kMaxBlock));  // no room left for the table
    rt::Arena exact;  // one table slab + exactly one 1 MiB block
    const std::size_t need = table_span(kSlabSize + kMaxBlock) + kMaxBlock;
    EXPECT_TRUE(exact.init(res.base(), need));
    EXPECT_EQ(exact.used_bytes(), table_span(need));
    rt::Heap h;
    h.init(exact, 0);
    void* big = h.alloc(kMaxBlock);
    EXPECT_EQ(big, res.base() + kSlabSize);
    EXPECT_EQ(h.alloc(1), nullptr);  // nothing left
}

// The slab table occupies the first slab(s); allocations start after it.
TEST(Arena, TableTakesFrontSlabs) {
    TestArena t(kGiB);
    EXPECT_EQ(t.arena.used_bytes(), table_span(kGiB));
    EXPECT_TRUE(t.arena.contains(t.res.base()));
    EXPECT_TRUE(t.arena.contains(t.res.base() + kGiB - 1));
    EXPECT_FALSE(t.arena.contains(t.res.base() + kGiB));
    rt::Heap h;
    h.init(t.arena, 0);
    void* p = h.alloc(10);
    EXPECT_EQ(p, t.res.base() + table_span(kGiB));
}

// ---------------------------------------------------------------------------------------------
// Heap, one thread

// Blocks are non-null, 16-byte aligned, inside the arena, at least as large as asked, and never
// overlap: each is filled with its own pattern and every pattern survives all later allocations.
TEST(Heap, BlocksAreAlignedSizedAndDisjoint) {
    TestArena t;
    rt::Heap h;
    h.init(t.arena, 3);
    std::mt19937 rng(42);
    struct Block {
        void* p;
        std::size_t n;
        std::uint8_t tag;
    };
    std::vector<Block> blocks;
    std::vector<std::size_t> sizes = {1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 4095, 4096, 4097,
                                      65535, 65536, 65537, 300000, kMaxBlock - 1, kMaxBlock};
    for (int i = 0; i < 3000; ++i) sizes.push_back(1 + rng() % (i % 50 == 0 ? 200000 : 5000));
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const std::size_t n = sizes[i];
        void* p = h.alloc(n);
        ASSERT_NE(p, nullptr) << n;
        ASSERT_EQ(addr(p) % 16, 0u) << n;
        ASSERT_TRUE(t.contains(p, n));
        // The whole class size is usable, not just n.
        const std::size_t usable = rt::class_size(rt::size_class(n));
        ASSERT_TRUE(t.contains(p, usable));
        const auto tag = static_cast<std::uint8_t>(i * 131 + 7);
        fill(p, usable, tag);
        blocks.push_back({p, usable, tag});
    }
    for (const Block& b : blocks) ASSERT_TRUE(check(b.p, b.n, b.tag)) << b.p;
    std::sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) { return a.p < b.p; });
    for (std::size_t i = 1; i < blocks.size(); ++i)
        ASSERT_LE(addr(blocks[i - 1].p) + blocks[i - 1].n, addr(blocks[i].p)) << "overlap";
}

// A block of class c is aligned to min(c, 64 KiB): slabs are slab-aligned and cut evenly.
TEST(Heap, BlocksAreNaturallyAligned) {
    TestArena t;
    rt::Heap h;
    h.init(t.arena, 0);
    for (int cls = 0; cls < rt::kClassCount; ++cls) {
        const std::size_t size = rt::class_size(cls);
        for (int k = 0; k < 5; ++k) {
            void* p = h.alloc(size);
            ASSERT_NE(p, nullptr);
            EXPECT_EQ(addr(p) % std::min(size, kSlabSize), 0u) << "class " << cls;
        }
    }
}

// A freed block is the next one handed out in its class, last freed first (LIFO).
TEST(Heap, FreedBlockIsReusedLifo) {
    TestArena t;
    rt::Heap h;
    h.init(t.arena, 1);
    void* a = h.alloc(100);
    void* b = h.alloc(120);  // same class (128)
    void* c = h.alloc(128);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(h.free_count(rt::size_class(100)), 0u);
    h.free(a);
    EXPECT_EQ(h.free_count(rt::size_class(100)), 1u);
    ASSERT_EQ(h.alloc(97), a);  // any size of the class gets it back (else stop: a is free)
    EXPECT_EQ(h.free_count(rt::size_class(100)), 0u);

    h.free(a);
    h.free(c);
    h.free(b);
    EXPECT_EQ(h.free_count(rt::size_class(100)), 3u);
    const std::size_t used = t.arena.used_bytes();
    EXPECT_EQ(h.alloc(128), b);
    EXPECT_EQ(h.alloc(128), c);
    EXPECT_EQ(h.alloc(128), a);
    EXPECT_EQ(t.arena.used_bytes(), used);  // all reuse, no new slab
    void* d = h.alloc(128);  // free list empty: carved fresh, distinct from all three
    EXPECT_TRUE(d != a && d != b && d != c);

    // Large classes recycle the same way.
    void* big = h.alloc(kMaxBlock);
    ASSERT_NE(big, nullptr);
    h.free(big);
    EXPECT_EQ(h.alloc(kMaxBlock - 12345), big);
}

// Classes never share a slab, and a block freed in one class is never handed out for another.
TEST(Heap, ClassesNeverShareBlocksOrSlabs) {
    TestArena t;
    rt::Heap h;
    h.init(t.arena, 0);
    void* first[rt::kClassCount];
    std::set<std::uintptr_t> slab_of_class[rt::kClassCount];
    for (int round = 0; round < 3; ++round)
        for (int cls = 0; cls < rt::kClassCount; ++cls) {
            void* p = h.alloc(rt::class_size(cls));
            ASSERT_NE(p, nullptr);
            if (round == 0) first[cls] = p;
            const std::size_t size = rt::class_size(cls);
            for (std::uintptr_t s = addr(p) >> rt::kSlabShift; s <= (addr(p) + size - 1) >> rt::kSlabShift; ++s)
                slab_of_class[cls].insert(s);
        }
    for (int a = 0; a < rt::kClassCount; ++a)
        for (int b = a + 1; b < rt::kClassCount; ++b)
            for (std::uintptr_t s : slab_of_class[a]) EXPECT_EQ(slab_of_class[b].count(s), 0u) << a << " vs " << b;

    // Free one block of class 0 only; allocating any other class must not return it.
    h.free(first[0]);
    for (int cls = 1; cls < rt::kClassCount; ++cls) {
        void* p = h.alloc(rt::class_size(cls));
        EXPECT_NE(p, first[0]) << "class " << cls;
        EXPECT_EQ(h.free_count(cls), 0u);
    }
    EXPECT_EQ(h.free_count(0), 1u);
    EXPECT_EQ(h.alloc(1), first[0]);

    // And freeing one of every class gives each class back exactly its own block.
    for (int cls = 0; cls < rt::kClassCount; ++cls) h.free(first[cls]);
    for (int cls = rt::kClassCount - 1; cls >= 0; --cls) EXPECT_EQ(h.alloc(rt::class_size(cls)), first[cls]);
}

// Requests above kMaxBlock fail cleanly and take nothing from the arena.
TEST(Heap, OversizeReturnsNull) {
    TestArena t;
    rt::Heap h;
    h.init(t.arena, 0);
    const std::size_t used = t.arena.used_bytes();
    EXPECT_EQ(h.alloc(kMaxBlock + 1), nullptr);
    EXPECT_EQ(h.alloc(2 * kMaxBlock), nullptr);
    EXPECT_EQ(h.alloc(SIZE_MAX), nullptr);
    EXPECT_EQ(t.arena.used_bytes(), used);
    EXPECT_NE(h.alloc(kMaxBlock), nullptr);
}

// A small arena runs out: alloc returns nullptr (repeatedly, without corrupting anything), and
// once a block is freed the same class can allocate again.
TEST(Heap, ExhaustionReturnsNullAndRecovers) {
    constexpr std::size_t kSize = 4 * kMiB;  // 64 slabs, the first holds the table
    TestArena t(kSize);
    rt::Heap h;
    h.init(t.arena, 0);
    std::vector<void*> blocks;
    for (;;) {
        void* p = h.alloc(4096);
        if (!p) break;
        fill(p, 4096, static_cast<std::uint8_t>(blocks.size()));
        blocks.push_back(p);
        ASSERT_LE(blocks.size(), kSize / 4096);
    }
    // 63 data slabs of 16 blocks each: every byte after the table was used.
    EXPECT_EQ(blocks.size(), (kSize - kSlabSize) / 4096);
    EXPECT_EQ(t.arena.used_bytes(), kSize);
    EXPECT_EQ(h.alloc(4096), nullptr);  // still failing, cleanly
    EXPECT_EQ(h.alloc(1), nullptr);     // another class has no slab to take either
    EXPECT_EQ(h.alloc(kMaxBlock), nullptr);
    for (std::size_t i = 0; i < blocks.size(); ++i)
        ASSERT_TRUE(check(blocks[i], 4096, static_cast<std::uint8_t>(i)));

    h.free(blocks[500]);
    void* again = h.alloc(3000);
    EXPECT_EQ(again, blocks[500]);
    EXPECT_EQ(h.alloc(4096), nullptr);
    EXPECT_EQ(t.arena.used_bytes(), kSize);
}

// Once the arena cannot fit a big run, smaller classes still get the slabs that are left.
TEST(Heap, SmallClassesUseWhatBigOnesCannot) {
    constexpr std::size_t kSize = 4 * kMiB;
    TestArena t(kSize);
    rt::Heap h;
    h.init(t.arena, 0);
    int big = 0;
    while (h.alloc(kMaxBlock)) ++big;
    EXPECT_EQ(big, 3);  // 63 slabs: three 16-slab runs, 15 slabs left over
    int slabs = 0;
    while (h.alloc(kSlabSize)) ++slabs;
    EXPECT_EQ(slabs, 15);
    EXPECT_EQ(t.arena.used_bytes(), kSize);
}

// One heap alone on an arena of `size` bytes.
struct SmallArenaHeap {
    explicit SmallArenaHeap(std::size_t size) : t(size) { h.init(t.arena, 0); }
    // Every block of `bytes` the heap can still have, in the order it gives them.
    std::vector<void*> take_all(std::size_t bytes) {
        std::vector<void*> got;
        while (void* p = h.alloc(bytes)) got.push_back(p);
        return got;
    }
    TestArena t;
    rt::Heap h;
};

// A used-up arena is not stuck with the classes that used it up: once every block of a slab is
// free, the heap gives the slab back and any class can have it (here the smallest and the
// largest, from slabs that held 4 KiB blocks). A class keeps its newest slab.
TEST(HeapReclaim, FreeSlabsServeOtherClasses) {
    constexpr std::size_t kSize = 4 * kMiB;
    SmallArenaHeap one(kSize);
    auto& [t, h] = one;
    const std::vector<void*> blocks = one.take_all(4096);
    ASSERT_EQ(blocks.size(), (kSize - kSlabSize) / 4096);
    ASSERT_EQ(h.alloc(1), nullptr);
    for (void* p : blocks) h.free(p);
    EXPECT_EQ(h.free_count(rt::size_class(4096)), blocks.size());
    void* small = h.alloc(1);
    ASSERT_NE(small, nullptr);
    EXPECT_TRUE(t.contains(small, 32));
    void* big = h.alloc(kMaxBlock);
    ASSERT_NE(big, nullptr);
    EXPECT_TRUE(t.contains(big, kMaxBlock));
    EXPECT_EQ(h.free_count(rt::size_class(4096)), kSlabSize / 4096);  // the newest slab's blocks
    EXPECT_EQ(t.arena.used_bytes(), kSize);  // all without a fresh slab
    // 63 slabs: one kept, one for the 32 B block, 16 for the 1 MiB one, 45 still spare.
    int slabs = 0;
    while (h.alloc(kSlabSize)) ++slabs;
    EXPECT_EQ(slabs, 45);
}

// A slab with one block still in use is never given back, and that block keeps its bytes.
TEST(HeapReclaim, SlabsInUseStayWithTheirClass) {
    SmallArenaHeap one(4 * kMiB);
    rt::Heap& h = one.h;
    const std::vector<void*> blocks = one.take_all(4096);
    constexpr std::size_t kPerSlab = kSlabSize / 4096;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (i % kPerSlab == 3) fill(blocks[i], 4096, static_cast<std::uint8_t>(i));
        else h.free(blocks[i]);
    }
    EXPECT_EQ(h.alloc(1), nullptr);  // no slab is wholly free
    void* reused = h.alloc(4096);    // its own class still has the free blocks
    ASSERT_NE(reused, nullptr);
    const std::size_t at = std::find(blocks.begin(), blocks.end(), reused) - blocks.begin();
    ASSERT_LT(at, blocks.size());
    EXPECT_NE(at % kPerSlab, 3u);
    h.free(reused);
    for (std::size_t i = 3; i < blocks.size(); i += kPerSlab)
        ASSERT_TRUE(check(blocks[i], 4096, static_cast<std::uint8_t>(i)));
    h.free(blocks[3]);  // now the first slab is wholly free
    // Two frees since a walk that found ~950 free blocks: too few for another walk to pay...
    EXPECT_EQ(h.alloc(100), nullptr);
    EXPECT_EQ(h.reclaim(), 0u);
    // ...unless asked for, and then the slab goes back; or once an eighth as many came back.
    EXPECT_EQ(h.reclaim(true), kSlabSize);
    void* small = h.alloc(100);
    ASSERT_NE(small, nullptr);
    EXPECT_EQ(addr(small) & ~(kSlabSize - 1), addr(blocks[0]) & ~(kSlabSize - 1));
    EXPECT_EQ(h.alloc(kSlabSize), nullptr);
}

// A heap that stays full and fragmented (one block in use in every slab) walks its free lists
// again only after an eighth as many frees as the last walk found free blocks: a few steps per
// free, not a walk of everything per allocation or per turn.
TEST(HeapReclaim, WalksAreAmortised) {
    SmallArenaHeap one(16 * kMiB);
    rt::Heap& h = one.h;
    const std::vector<void*> blocks = one.take_all(256);
    constexpr std::size_t kPerSlab = kSlabSize / 256;
    std::vector<void*> kept;
    for (std::size_t i = 0; i < blocks.size(); ++i) (i % kPerSlab == 0 ? kept.push_back(blocks[i]) : h.free(blocks[i]));
    const std::size_t free_blocks = blocks.size() - kept.size();
    EXPECT_EQ(h.reclaim(), 0u);  // walks all of them, finds nothing to give
    for (std::size_t i = 0; i < free_blocks / 8 - 2; ++i) h.free(h.alloc(256));
    EXPECT_EQ(h.reclaim(), 0u);  // (no walk: too few frees)
    h.free(kept[5]);             // a whole slab, and the frees now add up to an eighth
    h.free(h.alloc(256));
    EXPECT_EQ(h.reclaim(), kSlabSize);
}

// A freed 1 MiB run serves sixteen 64 KiB blocks; a run is cut, never joined.
TEST(HeapReclaim, RunsAreCutToLength) {
    SmallArenaHeap one(4 * kMiB);
    rt::Heap& h = one.h;
    const std::vector<void*> big = one.take_all(kMaxBlock);
    ASSERT_EQ(big.size(), 3u);
    while (h.alloc(kSlabSize)) {}
    h.free(big[1]);
    std::set<std::uintptr_t> got;
    for (int i = 0; i < 16; ++i) {
        void* p = h.alloc(kSlabSize);
        ASSERT_NE(p, nullptr) << i;
        EXPECT_GE(addr(p), addr(big[1]));
        EXPECT_LT(addr(p), addr(big[1]) + kMaxBlock);
        got.insert(addr(p));
    }
    EXPECT_EQ(got.size(), 16u);
    EXPECT_EQ(h.alloc(kSlabSize), nullptr);
}

// Only a heap's own thread walks its free lists, so memory another heap freed reaches the arena
// when that heap calls maintain(): at once while the arena is full, never while it is not.
TEST(HeapReclaim, MaintainGivesBackForOtherHeaps) {
    constexpr std::size_t kSize = 4 * kMiB;
    TestArena t(kSize);
    rt::Heap a, b;
    a.init(t.arena, 1);
    b.init(t.arena, 2);
    std::vector<void*> blocks;
    while (void* p = a.alloc(2048)) blocks.push_back(p);
    // half freed by a, half by b (remote frees, adopted by a when it reclaims)
    for (std::size_t i = 0; i < blocks.size(); ++i) (i % 2 ? b : a).free(blocks[i]);
    EXPECT_EQ(b.alloc(64), nullptr);
    a.maintain();
    void* p = b.alloc(64);
    ASSERT_NE(p, nullptr);
    b.free(p);

    TestArena roomy(64 * kMiB);
    rt::Heap c;
    c.init(roomy.arena, 3);
    void* q = c.alloc(2048);
    c.free(q);
    c.maintain();  // the arena is not full: the block stays in its class
    EXPECT_EQ(c.free_count(rt::size_class(2048)), 1u);
}

// A block allocated by heap A and freed by heap B goes back to A (via A's remote stack): A's next
// allocation of that class returns it; B never sees it.
TEST(Heap, CrossHeapFreeReturnsToOwner) {
    TestArena t;
    rt::Heap a, b;
    a.init(t.arena, 7);
    b.init(t.arena, 8);
    const int cls64k = rt::size_class(kSlabSize);

    // 64 KiB blocks: one per slab, so A has nothing to carve and must adopt the remote free.
    void* p = a.alloc(kSlabSize);
    ASSERT_NE(p, nullptr);
    b.free(p);
    EXPECT_EQ(b.free_count(cls64k), 0u);
    EXPECT_EQ(a.free_count(cls64k), 0u);  // waiting on A's remote stack, not adopted yet
    const std::size_t used = t.arena.used_bytes();
    EXPECT_EQ(a.alloc(kSlabSize), p);
    EXPECT_EQ(t.arena.used_bytes(), used);
    void* q = b.alloc(kSlabSize);  // B takes its own fresh slab
    EXPECT_NE(q, p);
    EXPECT_GT(t.arena.used_bytes(), used);

    // 32 B blocks: exhaust A's first slab (2048 blocks), then B frees one of them.
    std::vector<void*> small;
    for (std::size_t i = 0; i < kSlabSize / 32; ++i) small.push_back(a.alloc(32));
    EXPECT_EQ(addr(small.front()) >> rt::kSlabShift, addr(small.back()) >> rt::kSlabShift);
    b.free(small[5]);
    EXPECT_EQ(b.free_count(0), 0u);
    void* from_b = b.alloc(32);
    EXPECT_NE(from_b, small[5]);
    EXPECT_EQ(a.alloc(32), small[5]);

    // Several classes freed remotely in one batch are each adopted into their own class.
    void* x = a.alloc(kMaxBlock);
    void* y = a.alloc(kSlabSize);
    ASSERT_TRUE(x && y);
    b.free(y);
    b.free(x);
    EXPECT_EQ(a.alloc(kMaxBlock), x);  // runs short in the 1 MiB class, adopts both
    EXPECT_EQ(a.free_count(cls64k), 1u);
    EXPECT_EQ(a.alloc(kSlabSize), y);
    EXPECT_EQ(b.free_count(cls64k), 0u);
    EXPECT_EQ(b.free_count(rt::size_class(kMaxBlock)), 0u);

    // A block B owns, freed by B, stays with B.
    b.free(q);
    EXPECT_EQ(b.free_count(cls64k), 1u);
    EXPECT_EQ(b.alloc(kSlabSize), q);
}

// After warm-up, 100,000 alloc/free cycles of mixed sizes take no new memory from the arena.
TEST(Heap, UsedBytesStayFlatWhenRecycling) {
    TestArena t;
    rt::Heap h;
    h.init(t.arena, 2);
    const std::size_t sizes[] = {24, 100, 333, 1500, 4096, 20000, 70000, 500000};
    constexpr int kLive = 8;
    void* live[kLive] = {};
    std::mt19937 rng(7);
    auto step = [&](int i) {
        const int slot = static_cast<int>(rng() % kLive);
        if (live[slot]) h.free(live[slot]);
        const std::size_t n = sizes[(i + slot) % 8];
        live[slot] = h.alloc(n);
        if (!live[slot]) return false;
        static_cast<char*>(live[slot])[0] = 1;
        static_cast<char*>(live[slot])[n - 1] = 2;
        return true;
    };
    // Warm-up: make every (size, slot) combination resident at least once.
    for (int i = 0; i < 5000; ++i) ASSERT_TRUE(step(i));
    for (int cls = 0; cls < rt::kClassCount; ++cls) {
        // Fill each used class's free list deep enough for all live slots.
        void* tmp[kLive];
        for (int k = 0; k < kLive; ++k) tmp[k] = h.alloc(rt::class_size(cls));
        for (int k = 0; k < kLive; ++k) h.free(tmp[k]);
    }
    const std::size_t baseline = t.arena.used_bytes();
    for (int i = 0; i < 100000; ++i) {
        ASSERT_TRUE(step(i));
        ASSERT_EQ(t.arena.used_bytes(), baseline) << "iteration " << i;
    }
    for (void* p : live) h.free(p);
    EXPECT_EQ(t.arena.used_bytes(), baseline);
}

// ---------------------------------------------------------------------------------------------
// Heap, several threads

// A tagged block: the first and last 8 bytes (and, if small, all bytes) carry the owner's tag.
struct Tagged {
    void* p = nullptr;
    std::size_t n = 0;
    std::uint64_t tag = 0;
};
void stamp(const Tagged& b) {
    const std::size_t whole = b.n <= 512 ? b.n : 8;
    std::memset(b.p, static_cast<int>(b.tag & 0xff), whole);
    if (b.n >= 16) {
        std::memcpy(b.p, &b.tag, 8);
        std::memcpy(static_cast<char*>(b.p) + b.n - 8, &b.tag, 8);
    }
}
bool intact(const Tagged& b) {
    if (b.n >= 16) {
        std::uint64_t head, tail;
        std::memcpy(&head, b.p, 8);
        std::memcpy(&tail, static_cast<char*>(b.p) + b.n - 8, 8);
        if (head != b.tag || tail != b.tag) return false;
        if (b.n <= 512) return check(static_cast<char*>(b.p) + 8, b.n - 16, static_cast<std::uint8_t>(b.tag & 0xff));
        return true;
    }
    return check(b.p, b.n, static_cast<std::uint8_t>(b.tag & 0xff));
}
// Allocates from `h` in every class until it would need a fresh slab, and returns the bytes so
// recovered. With nothing live, the sum over all heaps must equal everything the heaps took from
// the arena: any block lost on the way (say, a remote free never adopted) breaks the equality.
std::size_t recoverable_bytes(rt::Heap& h, const rt::Arena& arena) {
    std::size_t recovered = 0;
    for (int cls = 0; cls < rt::kClassCount; ++cls) {
        for (;;) {
            const std::size_t before = arena.used_bytes();
            void* p = h.alloc(rt::class_size(cls));
            if (!p || arena.used_bytes() != before) break;
            recovered += rt::class_size(cls);
        }
    }
    return recovered;
}

std::size_t random_size(std::mt19937_64& rng) {
    switch (rng() % 16) {
    case 0: return 1 + rng() % 300000;  // large, whole slab runs
    case 1: case 2: return 1 + rng() % 65536;
    default: return 1 + rng() % 1024;
    }
}

// Runs `threads` threads, thread i on heaps[i], each doing `ops` random allocations and frees of
// tagged blocks over `slots` slots (sizes from `size(rng, op)`, maintain() every 64 operations
// when `maintain`). Returns the blocks found damaged or misplaced; `refused` counts allocations
// that returned null (a failure unless `may_refuse`).
template <class Size>
int hammer(TestArena& t, rt::Heap* heaps, int threads, int ops, int slots, std::uint64_t seed, Size size,
           bool maintain, bool may_refuse, long& refused) {
    std::atomic<int> failures{0};
    std::atomic<long> nulls{0};
    std::vector<std::thread> pool;
    for (int id = 0; id < threads; ++id) {
        pool.emplace_back([&, id] {
            rt::Heap& h = heaps[id];
            std::mt19937_64 rng(id * seed + 1);
            std::vector<Tagged> slot(static_cast<std::size_t>(slots));
            std::uint64_t counter = 0;
            for (int op = 0; op < ops; ++op) {
                Tagged& s = slot[rng() % slot.size()];
                if (s.p) {
                    if (!intact(s)) failures.fetch_add(1);
                    h.free(s.p);
                    s.p = nullptr;
                } else {
                    s.n = size(rng, op);
                    s.p = h.alloc(s.n);
                    if (!s.p) nulls.fetch_add(1);
                    if (!s.p && may_refuse) continue;
                    if (!s.p || addr(s.p) % 16 || !t.contains(s.p, s.n)) {
                        failures.fetch_add(1);
                        s.p = nullptr;
                        continue;
                    }
                    s.tag = (std::uint64_t(id + 1) << 56) | ++counter;
                    stamp(s);
                }
                if (maintain && op % 64 == 0) h.maintain();
            }
            for (Tagged& s : slot)
                if (s.p) {
                    if (!intact(s)) failures.fetch_add(1);
                    h.free(s.p);
                }
        });
    }
    for (auto& th : pool) th.join();
    refused = nulls.load();
    return failures.load();
}

// 4 threads, each with its own Heap, hammer alloc/free over mixed sizes: no block is ever handed
// to two owners (every tag survives until its owner frees it) and memory is recycled.
TEST(HeapThreads, FourHeapsMixedSizes) {
    TestArena t;
    constexpr int kThreads = 4;
    std::unique_ptr<rt::Heap[]> heaps(new rt::Heap[kThreads]);
    for (int i = 0; i < kThreads; ++i) heaps[i].init(t.arena, 10 + i);
    long refused = 0;
    auto size = [](std::mt19937_64& rng, int) { return random_size(rng); };
    EXPECT_EQ(hammer(t, heaps.get(), kThreads, 300000, 128, 977, size, false, false, refused), 0);
    // At most 128 live blocks per thread, mostly small: far below what 600,000 unrecycled
    // allocations (averaging ~ 14 KiB) would need.
    const std::size_t used = t.arena.used_bytes();
    EXPECT_LT(used, 64 * kMiB);  // deterministic per seed: ~30 MiB today
    // Nothing is live now: every byte the heaps took can be allocated again without a new slab.
    std::size_t recovered = 0;
    for (int i = 0; i < kThreads; ++i) recovered += recoverable_bytes(heaps[i], t.arena);
    EXPECT_EQ(recovered, used - table_span(kGiB));
}

// 4 threads allocate (1 B - 4 KiB) and hand some blocks to a neighbour, which checks and frees
// them (remote frees) while the owner keeps allocating: tags survive, no block is lost, and the
// arena stays bounded by what can be in flight.
TEST(HeapThreads, FourHeapsWithRemoteFrees) {
    TestArena t;
    constexpr int kThreads = 4, kOps = 200000, kSlots = 64;
    constexpr std::size_t kMailbox = 128;
    std::unique_ptr<rt::Heap[]> heaps(new rt::Heap[kThreads]);
    for (int i = 0; i < kThreads; ++i) heaps[i].init(t.arena, 20 + i);
    struct Mailbox {
        std::mutex m;
        std::vector<Tagged> items;
    };
    std::unique_ptr<Mailbox[]> boxes(new Mailbox[kThreads]);
    std::atomic<int> failures{0}, finished{0};
    std::vector<std::thread> threads;
    for (int id = 0; id < kThreads; ++id) {
        threads.emplace_back([&, id] {
            rt::Heap& h = heaps[id];
            std::mt19937_64 rng(id * 31 + 5);
            Tagged slots[kSlots];
            std::uint64_t counter = 0;
            auto drain = [&] {
                std::vector<Tagged> mine;
                {
                    std::lock_guard<std::mutex> lock(boxes[id].m);
                    mine.swap(boxes[id].items);
                }
                for (const Tagged& b : mine) {
                    if (!intact(b)) failures.fetch_add(1);
                    h.free(b.p);  // a remote free: b came from another heap
                }
            };
            for (int op = 0; op < kOps; ++op) {
                Tagged& s = slots[rng() % kSlots];
                if (s.p) {
                    if (!intact(s)) failures.fetch_add(1);
                    bool sent = false;
                    if (rng() % 2) {
                        Mailbox& to = boxes[(id + 1) % kThreads];
                        std::lock_guard<std::mutex> lock(to.m);
                        if (to.items.size() < kMailbox) {
                            to.items.push_back(s);
                            sent = true;
                        }
                    }
                    if (!sent) h.free(s.p);
                    s.p = nullptr;
                } else {
                    s.n = 1 + rng() % 4096;
                    s.p = h.alloc(s.n);
                    if (!s.p) {
                        failures.fetch_add(1);
                        continue;
                    }
                    s.tag = (std::uint64_t(id + 1) << 56) | ++counter;
                    stamp(s);
                }
                if (op % 64 == 0) drain();
            }
            for (Tagged& s : slots)
                if (s.p) h.free(s.p);
            finished.fetch_add(1);
            while (finished.load() < kThreads) {
                drain();
                std::this_thread::yield();
            }
            drain();
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    // A thread's blocks are live in its slots (64), a neighbour's mailbox (128) or that
    // neighbour's hands mid-drain (128): at most 320 per class, ~2.6 MiB over classes 32 B-4 KiB,
    // plus a partly carved slab per class. Unrecycled, 400,000 allocations would need ~800 MiB.
    const std::size_t used = t.arena.used_bytes();
    EXPECT_LT(used, table_span(kGiB) + kThreads * (320 * 8160 + 8 * kSlabSize));
    // Every block, including those freed remotely, made it back to its owner.
    std::size_t recovered = 0;
    for (int i = 0; i < kThreads; ++i) recovered += recoverable_bytes(heaps[i], t.arena);
    EXPECT_EQ(recovered, used - table_span(kGiB));
}

// Thread A allocates, thread B frees everything A allocated (all remote frees), for 1,000,000
// blocks: A keeps reusing what B gives back, so its arena use stays bounded by what is in flight.
TEST(HeapThreads, ProducerAllocatesConsumerFrees) {
    TestArena t;
    rt::Heap a, b;
    a.init(t.arena, 1);
    b.init(t.arena, 2);
    constexpr std::size_t kItems = 1000000, kRing = 256;
    const std::size_t sizes[] = {48, 200, 1000, 3000};
    Tagged ring[kRing];
    std::atomic<std::size_t> head{0}, tail{0};  // single producer, single consumer
    std::atomic<int> failures{0};
    std::atomic<std::size_t> peak{0};

    std::thread producer([&] {
        for (std::size_t i = 0; i < kItems; ++i) {
            while (head.load(std::memory_order_relaxed) - tail.load(std::memory_order_acquire) == kRing)
                std::this_thread::yield();
            Tagged blk;
            blk.n = sizes[i % 4];
            blk.p = a.alloc(blk.n);
            if (!blk.p) {
                failures.fetch_add(1);
                return;
            }
            blk.tag = i * 2654435761u + 1;
            stamp(blk);
            ring[head.load(std::memory_order_relaxed) % kRing] = blk;
            head.store(head.load(std::memory_order_relaxed) + 1, std::memory_order_release);
            const std::size_t used = t.arena.used_bytes();
            if (used > peak.load(std::memory_order_relaxed)) peak.store(used, std::memory_order_relaxed);
        }
    });
    std::thread consumer([&] {
        for (std::size_t i = 0; i < kItems; ++i) {
            while (tail.load(std::memory_order_relaxed) == head.load(std::memory_order_acquire)) {
                if (failures.load()) return;
                std::this_thread::yield();
            }
            const Tagged blk = ring[tail.load(std::memory_order_relaxed) % kRing];
            tail.store(tail.load(std::memory_order_relaxed) + 1, std::memory_order_release);
            if (!intact(blk)) failures.fetch_add(1);
            b.free(blk.p);
        }
    });
    producer.join();
    consumer.join();
    EXPECT_EQ(failures.load(), 0);
    // B allocated nothing and kept nothing: every block went back to A.
    for (int cls = 0; cls < rt::kClassCount; ++cls) EXPECT_EQ(b.free_count(cls), 0u);
    // Without recycling this would be ~ 1,000,000 × 1.3 KiB ≈ 1.3 GiB. In flight at most kRing
    // blocks (+ one slab per class being carved): a few MiB.
    EXPECT_LT(peak.load(), table_span(kGiB) + 4 * kMiB);
    // Everything is back with A: all the arena A took can be allocated again without a new slab.
    const std::size_t used = t.arena.used_bytes();
    EXPECT_EQ(recoverable_bytes(b, t.arena), 0u);
    EXPECT_EQ(recoverable_bytes(a, t.arena), used - table_span(kGiB));
}

// 4 threads on an arena small enough to run out again and again: allocations fail cleanly,
// runs move between heaps and classes through reclaim and maintain, and no block is ever given
// to two owners (every tag survives until its owner frees it).
TEST(HeapThreads, ReclaimUnderPressure) {
    constexpr std::size_t kSize = 8 * kMiB;
    TestArena t(kSize);
    constexpr int kThreads = 4;
    std::unique_ptr<rt::Heap[]> heaps(new rt::Heap[kThreads]);
    for (int i = 0; i < kThreads; ++i) heaps[i].init(t.arena, 30 + i);
    // a phase of large blocks, then one of small: classes must trade slabs
    auto size = [](std::mt19937_64& rng, int op) -> std::size_t {
        return (op / 20000) % 2 == 0 ? 1 + rng() % 200000 : 1 + rng() % 2048;
    };
    long refused = 0;
    EXPECT_EQ(hammer(t, heaps.get(), kThreads, 200000, 96, 7919, size, true, true, refused), 0);
    EXPECT_GT(refused, 0) << "the arena never ran out: the test proves nothing";
    EXPECT_EQ(t.arena.used_bytes(), kSize);
    // Nothing is live: every slab can be had again by one heap, but for the newest slab each
    // heap keeps of each small class.
    for (int i = 0; i < kThreads; ++i) heaps[i].reclaim(true);
    std::size_t small = 0;
    while (heaps[0].alloc(4096)) ++small;
    constexpr std::size_t kSmallClasses = rt::kSlabShift - rt::kMinClassShift;
    EXPECT_GE(small * 4096, kSize - table_span(kSize) - (kThreads * kSmallClasses - 1) * kSlabSize);
}

}  // namespace
