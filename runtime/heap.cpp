// runtime/heap.cpp — see heap.h.
#include "runtime/heap.h"

namespace rt {

bool Arena::init(void* base, std::size_t size) {
    const std::size_t table_bytes = (size >> kSlabShift) * sizeof(SlabInfo);
    const std::size_t table_span = (table_bytes + kSlabSize - 1) & ~(kSlabSize - 1);
    if (size < table_span + kMaxBlock) return false;
    slabs_ = static_cast<SlabInfo*>(base);
    bump_.init(base, size);
    // The table describes the whole reservation, itself included; take its own slabs first.
    return bump_.take(table_span, kSlabSize) == base;
}

char* Arena::take_slabs(std::size_t bytes, int cls, int owner) {
    auto* p = static_cast<char*>(bump_.take(bytes, kSlabSize));
    if (!p) p = take_spare(bytes);
    if (!p) return nullptr;
    // Only the first slab of a run is ever looked up: blocks of classes >= kSlabSize start there.
    // Plain stores suffice: a block reaches another thread only through a release/acquire
    // handoff (a Treiber stack), which also publishes this entry.
    auto& entry = slabs_[(reinterpret_cast<std::uintptr_t>(p) - bump_.base()) >> kSlabShift];
    for (std::size_t off = 0; off < bytes; off += kSlabSize)
        (&entry)[off >> kSlabShift] = {static_cast<std::uint16_t>(owner), static_cast<std::uint8_t>(cls), 0, 0};
    return p;
}

namespace {
using SpareRun = Arena::SpareRun;

// Sorts a list of runs by address (merge sort: the list may be long).
SpareRun* sort_by_address(SpareRun* list) {
    if (!list || !list->next) return list;
    SpareRun *slow = list, *fast = list->next;
    while (fast && fast->next) slow = slow->next, fast = fast->next->next;
    SpareRun* second = slow->next;
    slow->next = nullptr;
    SpareRun *a = sort_by_address(list), *b = sort_by_address(second);
    SpareRun head{nullptr, 0}, *tail = &head;
    while (a && b) {
        SpareRun*& least = reinterpret_cast<std::uintptr_t>(a) < reinterpret_cast<std::uintptr_t>(b) ? a : b;
        tail = tail->next = least;
        least = least->next;
    }
    tail->next = a ? a : b;
    return head.next;
}

// The first run of at least `slabs`, taken out of `list`; nullptr if none.
SpareRun* unlink_fitting(SpareRun*& list, std::size_t slabs) {
    for (SpareRun** link = &list; *link; link = &(*link)->next) {
        if ((*link)->slabs >= slabs) {
            SpareRun* r = *link;
            *link = r->next;
            return r;
        }
    }
    return nullptr;
}
}  // namespace

// The spare runs are a plain list under a spin lock: taking one means searching it, and a
// lock-free take-everything would leave it empty to every other heap meanwhile, which would then
// fail with memory to spare. Only heaps that ran out of fresh slabs come here.
void Arena::lock_spare() {
    while (spare_locked_.exchange(true, acquire)) __builtin_ia32_pause();
}
void Arena::unlock_spare() { spare_locked_.store(false, release); }

// The first spare run long enough, cut to length. If none is, the runs are sorted and
// neighbours joined first: slabs that held small blocks can then serve a large one.
char* Arena::take_spare(std::size_t bytes) {
    const std::size_t want = bytes >> kSlabShift;
    lock_spare();
    SpareRun* found = unlink_fitting(spare_, want);
    if (!found && spare_) {
        spare_ = sort_by_address(spare_);
        for (SpareRun* r = spare_; r && r->next;) {
            if (reinterpret_cast<char*>(r) + (r->slabs << kSlabShift) == reinterpret_cast<char*>(r->next))
                r->slabs += r->next->slabs, r->next = r->next->next;
            else
                r = r->next;
        }
        found = unlink_fitting(spare_, want);
    }
    if (found && found->slabs > want) {
        auto* rest = reinterpret_cast<SpareRun*>(reinterpret_cast<char*>(found) + bytes);
        *rest = {spare_, found->slabs - want};
        spare_ = rest;
    }
    unlock_spare();
    return reinterpret_cast<char*>(found);
}

void Arena::give_spare(char* run, std::size_t slabs) {
    auto* r = reinterpret_cast<SpareRun*>(run);
    lock_spare();
    *r = {spare_, slabs};
    spare_ = r;
    unlock_spare();
}

void Heap::init(Arena& arena, int id) {
    arena_ = &arena;
    id_ = static_cast<std::uint16_t>(id);
    arena.heaps_[id] = this;
}

void* Heap::alloc(std::size_t bytes) {
    if (bytes > kMaxBlock) return nullptr;
    const int cls = size_class(bytes);
    const std::size_t size = class_size(cls);
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (FreeBlock* b = free_[cls]) {
            free_[cls] = b->next;
            return b;
        }
        if (carve_[cls] != carve_end_[cls]) {
            char* p = carve_[cls];
            carve_[cls] += size;
            return p;
        }
        if (attempt == 0) adopt_remote_frees();
    }
    const std::size_t run = size > kSlabSize ? size : kSlabSize;
    char* p = arena_->take_slabs(run, cls, id_);
    if (!p && reclaim()) p = arena_->take_slabs(run, cls, id_);
    if (!p) return nullptr;
    carve_[cls] = p + size;
    carve_end_[cls] = p + run;
    return p;
}

void Heap::free(void* p) {
    const auto& slab = arena_->info(p);
    auto* b = static_cast<FreeBlock*>(p);
    if (slab.owner == id_) {
        b->next = free_[slab.cls];
        free_[slab.cls] = b;
        ++freed_;
    } else {
        arena_->heaps_[slab.owner]->remote_.push(b);
    }
}

void Heap::adopt_remote_frees() {
    for (FreeBlock* b = remote_.take_all(); b;) {
        FreeBlock* next = b->next;
        const int cls = arena_->info(b).cls;
        b->next = free_[cls];
        free_[cls] = b;
        ++freed_;
        b = next;
    }
}

std::size_t Heap::reclaim(bool always) {
    adopt_remote_frees();
    // The walk costs a step per free block. Only blocks freed since the last one can have made a
    // run all free, so it waits for an eighth as many as it walked then: a heap that stays full
    // and fragmented pays a few steps per free, not a walk of everything per turn.
    if (!freed_ || (!always && freed_ < walked_ / 8)) return 0;
    freed_ = walked_ = 0;
    // 1. Count each run's free blocks (in its first slab's table entry: a block of a class below
    //    kSlabSize lies in a one-slab run, and a larger block is a run by itself).
    for (int cls = 0; cls < kClassCount; ++cls)
        for (FreeBlock* b = free_[cls]; b; b = b->next) ++arena_->info(b).tally, ++walked_;
    // 2. Unlink the blocks of every run that is all free; the first one seen of each holds the
    //    run's place in a list until step 3 (the run's own first bytes may be a block still to
    //    be walked). Reset the other tallies. A small class keeps its newest slab (the one it
    //    cuts blocks from), so one that is busy now and then is not left with nothing at all.
    constexpr std::uint32_t kGiven = ~std::uint32_t{0};
    struct Given {
        Given* next;
        char* run;
        std::size_t slabs;
    };
    static_assert(sizeof(Given) <= class_size(0));
    Given* given = nullptr;
    for (int cls = 0; cls < kClassCount; ++cls) {
        const std::size_t size = class_size(cls), run = size > kSlabSize ? size : kSlabSize;
        const auto whole = static_cast<std::uint32_t>(run / size);
        const std::uintptr_t kept = size < kSlabSize && carve_end_[cls] ? reinterpret_cast<std::uintptr_t>(carve_end_[cls] - 1) & ~(kSlabSize - 1) : 0;
        for (FreeBlock** link = &free_[cls]; FreeBlock* b = *link;) {
            auto& entry = arena_->info(b);
            if ((reinterpret_cast<std::uintptr_t>(b) & ~(kSlabSize - 1)) == kept) {
                link = &b->next;
            } else if (entry.tally == whole || entry.tally == kGiven) {
                *link = b->next;
                if (entry.tally == whole) {
                    entry.tally = kGiven;
                    auto* g = reinterpret_cast<Given*>(b);
                    const auto start = reinterpret_cast<std::uintptr_t>(b) & ~(kSlabSize - 1);
                    *g = {given, reinterpret_cast<char*>(start), run >> kSlabShift};
                    given = g;
                }
            } else {
                entry.tally = 0;
                link = &b->next;
            }
        }
    }
    for (int cls = 0; cls < kClassCount; ++cls)
        if (carve_end_[cls] && class_size(cls) < kSlabSize) arena_->info(carve_end_[cls] - 1).tally = 0;
    // 3. Hand them to the arena. Its table entries are rewritten when a heap takes them again.
    std::size_t bytes = 0;
    for (Given* g = given; g;) {
        Given next_copy = *g;  // give_spare writes over the run, which holds *g
        arena_->give_spare(next_copy.run, next_copy.slabs);
        bytes += next_copy.slabs << kSlabShift;
        g = next_copy.next;
    }
    return bytes;
}

void Heap::maintain() {
    if ((freed_ || !remote_.empty()) && arena_->full()) reclaim();
}

std::size_t Heap::free_count(int cls) const {
    std::size_t n = 0;
    for (FreeBlock* b = free_[cls]; b; b = b->next) ++n;
    return n;
}

}  // namespace rt
