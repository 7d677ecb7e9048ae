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
    if (!p) return nullptr;
    // Only the first slab of a run is ever looked up: blocks of classes >= kSlabSize start there.
    // Plain stores suffice: a block reaches another thread only through a release/acquire
    // handoff (a Treiber stack), which also publishes this entry.
    auto& entry = slabs_[(reinterpret_cast<std::uintptr_t>(p) - bump_.base()) >> kSlabShift];
    for (std::size_t off = 0; off < bytes; off += kSlabSize)
        (&entry)[off >> kSlabShift] = {static_cast<std::uint16_t>(owner), static_cast<std::uint8_t>(cls), 0};
    return p;
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
        b = next;
    }
}

std::size_t Heap::free_count(int cls) const {
    std::size_t n = 0;
    for (FreeBlock* b = free_[cls]; b; b = b->next) ++n;
    return n;
}

}  // namespace rt
