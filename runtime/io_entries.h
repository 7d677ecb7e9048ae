// runtime/io_entries.h — the armed waits of a registry that keeps one record per wait (the
// epoll and io_uring backends): a list of every live entry, for disarm and cancel_idle, and a
// binary min-heap of those with a deadline, earliest first.
#pragma once

#include <cstdint>

#include "runtime/waiter.h"
#include "sys/kernel.h"

namespace rt {

struct IoEntry {
    Waiter* waiter;  // nullptr once reported or given up, while the kernel may still name it
    int fd;          // -1: a pure timer, or no longer registered in the kernel
    int heap_index;  // -1: not in the heap
    std::int64_t deadline;
    IoEntry* prev;
    IoEntry* next;
};

class IoEntries {
public:
    // A new live entry (in the heap if it has a deadline); nullptr when memory runs out.
    IoEntry* add(int fd, Waiter* waiter, std::int64_t deadline_ns);
    // Takes `e` out of the list and the heap. Its memory stays the caller's (mem_free).
    void unlink(IoEntry* e);

    IoEntry* first() const { return live_; }
    // The entry with the earliest deadline, or nullptr.
    IoEntry* earliest() const { return heap_size_ ? heap_[0] : nullptr; }

private:
    bool heap_push(IoEntry* e);
    void heap_remove(IoEntry* e);
    void heap_sift(int i);

    IoEntry* live_ = nullptr;
    IoEntry** heap_ = nullptr;
    int heap_size_ = 0, heap_capacity_ = 0;
};

// What the two entry-keeping backends share: ending entries before their event. `Backend`
// provides finish(entry, result, ready), which takes the entry out of the kernel's hands.
template <class Backend>
class EntryRegistry {
public:
    bool disarm(const Waiter* waiter) {
        for (IoEntry* e = entries_.first(); e; e = e->next) {
            if (e->waiter != waiter) continue;
            e->waiter = nullptr;  // gone without being reported
            Waiter* none = nullptr;
            static_cast<Backend*>(this)->finish(e, 0, none);
            return true;
        }
        return false;
    }

    void cancel_idle(Waiter*& ready) {
        for (IoEntry* e = entries_.first(); e;) {
            IoEntry* next = e->next;
            if (e->waiter->idle) static_cast<Backend*>(this)->finish(e, -sys::ECANCELED, ready);
            e = next;
        }
    }

protected:
    IoEntries entries_;
};

}  // namespace rt
