// runtime/inbox.h — how other threads hand work to a worker: a Treiber stack of items plus the
// worker's eventfd. The eventfd is written only when the worker may be asleep in ppoll and the
// stack was empty (otherwise a wake-up is already on its way): a busy worker finds its new
// items on its next turn, and costs its producers no system call.
#pragma once

#include <cstdint>

#include "runtime/atomic.h"

#include "runtime/treiber_stack.h"
#include "sys/kernel.h"
#include "sys/syscall.h"

namespace rt {

// A new connection for a worker. Allocated by the acceptor, freed by the worker (the heap sends
// the block back to the acceptor's free lists).
struct InboxItem {
    InboxItem* next;
    int fd;
    sys::sockaddr_any peer;
};

// Work another worker hands over (a chat message to fan out to this worker's members): `run`
// is called on this worker and then owns the task.
struct InboxTask {
    InboxTask* next;
    void (*run)(InboxTask* task);
};

struct Inbox {
    TreiberStack<InboxItem> items;
    TreiberStack<InboxTask> tasks;
    int wake_fd = -1;
    // Set by the worker before it blocks and cleared after; with the fences below this is the
    // classic store-then-check handshake: either the producer sees `sleeping` and writes the
    // eventfd, or the worker sees the new item and does not block.
    Atomic<int> sleeping{0};

    void post(InboxItem* item) {
        if (items.push(item)) wake_if_sleeping();
    }
    void post(InboxTask* task) {
        if (tasks.push(task)) wake_if_sleeping();
    }
    void wake_if_sleeping() {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!sleeping.load(relaxed)) return;
        const std::uint64_t one = 1;
        sys::write(wake_fd, &one, sizeof one);
    }
    // The worker, before blocking: returns true if it may block (nothing was posted meanwhile).
    template <class Queue>
    bool prepare_to_sleep(const Queue& other) {
        sleeping.store(1, relaxed);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        return items.empty() && tasks.empty() && other.empty();
    }
    void awake() { sleeping.store(0, relaxed); }
};

}  // namespace rt
