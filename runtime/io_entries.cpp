// runtime/io_entries.cpp — see io_entries.h.
#include "runtime/io_entries.h"

#include "runtime/memory.h"

namespace rt {

IoEntry* IoEntries::add(int fd, Waiter* waiter, std::int64_t deadline_ns) {
    auto* e = static_cast<IoEntry*>(mem_alloc(sizeof(IoEntry)));
    if (!e) return nullptr;
    *e = {waiter, fd, -1, deadline_ns, nullptr, live_, false, false, 0};
    if (deadline_ns != kNoDeadline && !heap_push(e)) return mem_free(e), nullptr;
    if (live_) live_->prev = e;
    live_ = e;
    return e;
}

void IoEntries::unlink(IoEntry* e) {
    if (e->heap_index >= 0) heap_remove(e);
    (e->prev ? e->prev->next : live_) = e->next;
    if (e->next) e->next->prev = e->prev;
    e->prev = e->next = nullptr;
}

// The heap: heap_[0] has the earliest deadline; children of i are 2i+1 and 2i+2.

bool IoEntries::heap_push(IoEntry* e) {
    if (heap_size_ == heap_capacity_) {
        const int capacity = heap_capacity_ ? heap_capacity_ * 2 : 64;
        auto* heap = static_cast<IoEntry**>(mem_alloc(static_cast<std::size_t>(capacity) * sizeof(IoEntry*)));
        if (!heap) return false;
        for (int i = 0; i < heap_size_; ++i) heap[i] = heap_[i];
        mem_free(heap_);
        heap_ = heap, heap_capacity_ = capacity;
    }
    e->heap_index = heap_size_;
    heap_[heap_size_++] = e;
    heap_sift(e->heap_index);
    return true;
}

void IoEntries::heap_remove(IoEntry* e) {
    const int i = e->heap_index;
    e->heap_index = -1;
    IoEntry* last = heap_[--heap_size_];
    if (last == e) return;
    heap_[i] = last;
    last->heap_index = i;
    heap_sift(i);
}

// Moves the entry at i up or down to its place.
void IoEntries::heap_sift(int i) {
    IoEntry* e = heap_[i];
    while (i > 0 && heap_[(i - 1) / 2]->deadline > e->deadline) {
        heap_[i] = heap_[(i - 1) / 2];
        heap_[i]->heap_index = i;
        i = (i - 1) / 2;
    }
    for (;;) {
        int child = 2 * i + 1;
        if (child >= heap_size_) break;
        if (child + 1 < heap_size_ && heap_[child + 1]->deadline < heap_[child]->deadline) ++child;
        if (heap_[child]->deadline >= e->deadline) break;
        heap_[i] = heap_[child];
        heap_[i]->heap_index = i;
        i = child;
    }
    heap_[i] = e;
    e->heap_index = i;
}

}  // namespace rt
