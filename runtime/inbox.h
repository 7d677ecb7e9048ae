// runtime/inbox.h — how other threads hand work to a worker: a Treiber stack of items plus the
// worker's eventfd, written only when the stack was empty (the worker, if asleep, is then in
// ppoll on that fd; if the stack was not empty, a wake-up is already on its way).
#pragma once

#include <cstdint>

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

struct Inbox {
    TreiberStack<InboxItem> items;
    int wake_fd = -1;

    void post(InboxItem* item) {
        if (items.push(item)) wake();
    }
    void wake() {
        const std::uint64_t one = 1;
        sys::write(wake_fd, &one, sizeof one);
    }
};

}  // namespace rt
