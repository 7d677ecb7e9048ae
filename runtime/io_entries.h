// runtime/io_entries.h — the armed waits of a registry that keeps one record per wait (the
// epoll and io_uring backends): a list of every live entry, for disarm and cancel_idle, and a
// binary min-heap of those with a deadline, earliest first. Pure code (memory from mem_alloc),
// unit-tested hosted.
#pragma once

#include <cstdint>

#include "runtime/memory.h"
#include "runtime/waiter.h"

namespace rt {

struct IoEntry {
    Waiter* waiter;  // nullptr once reported or given up, while the kernel may still name it
    int fd;          // -1: a pure timer, or no longer registered in the kernel
    int heap_index;  // -1: not in the heap
    std::int64_t deadline;
    IoEntry* prev;
    IoEntry* next;
    // The uring backend's: an entry that is an operation (a receive or send the kernel carries
    // out) rather than a wait, and one that ended before its completion came, with the result
    // its waiter gets if the kernel then reports the operation cancelled.
    bool operation;
    bool ended;
    int early_result;
};

class IoEntries {
public:
    IoEntries() = default;
    IoEntries(const IoEntries&) = delete;
    IoEntries& operator=(const IoEntries&) = delete;
    ~IoEntries() { mem_free(heap_); }  // the entries themselves are their owners'

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

}  // namespace rt
