// runtime/io_registry.h — one worker's IO registry, over ppoll(2), epoll(7) or io_uring(7).
//
// arm() is one-shot: an entry leaves the registry when its fd is ready or its deadline passes,
// and its waiter goes to the caller's ready list with result 0 (ready) or -ETIMEDOUT. An entry
// with fd -1 is a pure timer. The worker's eventfd is always watched, so another thread can
// interrupt a wait.
//
// Three backends behind one interface (IoRegistry), chosen per process with --io:
//  - ppoll (the default): a dense pollfd array with parallel arrays of waiters and deadlines,
//    handed whole to ppoll on every wait. Nothing to register, nothing to undo; the kernel scans
//    every descriptor on every wake-up, which is cheap for hundreds and not for tens of thousands.
//  - epoll: an epoll instance per worker, each descriptor added once, edge-triggered, so a wait
//    costs no system call of its own; deadlines in a binary heap. A wake-up costs what is
//    ready, not what is open.
//  - uring: a ring per worker, and the proactor model: besides waits (one-shot polls), the
//    registry takes operations, a receive or a send that the kernel carries out and completes
//    (submit). Everything queued in a loop turn goes to the kernel in the same io_uring_enter
//    that then sleeps for completions, so neither a re-arm nor a receive nor a send costs a
//    system call of its own. Deadlines in a binary heap, as for epoll.
//
// ppoll and epoll are readiness registries: receives and sends are non-blocking system calls
// made after a wait. net/ asks proactor() which way to go; the layers above it never learn which
// backend served them.
#pragma once

#include <cstdint>

#include "runtime/io_entries.h"
#include "runtime/waiter.h"
#include "sys/kernel.h"

namespace rt {

enum class IoBackend { ppoll, epoll, uring };

// A receive or send for the kernel to carry out (a proactor registry only).
struct IoOp {
    enum Kind : std::uint8_t { recv, send, sendmsg } kind;
    int fd;
    void* addr;          // recv, send: the buffer; sendmsg: the sys::msghdr
    std::uint32_t len;   // recv, send: the buffer's size
    std::uint32_t flags; // MSG_*
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

// Each backend: init returns 0 or -errno; the rest as IoRegistry's members below.
class PollRegistry {
public:
    int init(int wake_fd);
    bool arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns);
    void poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready);
    void cancel_idle(Waiter*& ready);
    bool disarm(const Waiter* waiter);

private:
    void finish(int i, int result, Waiter*& ready);
    void remove(int i);
    bool grow();

    sys::pollfd* fds_ = nullptr;
    Waiter** waiters_ = nullptr;
    std::int64_t* deadlines_ = nullptr;
    int count_ = 0, capacity_ = 0;
};

class EpollRegistry : public EntryRegistry<EpollRegistry> {
public:
    int init(int wake_fd);
    bool arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns);
    void poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready);
    void adopt(int fd);
    bool disarm(const Waiter* waiter);

private:
    friend EntryRegistry<EpollRegistry>;
    void finish(IoEntry* e, int result, Waiter*& ready);
    bool grow(int fd);

    // What the registry knows of one descriptor number (16 bytes). The events it is added for,
    // and those always reported (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, and EPOLLRDHUP folded
    // into the top bit: see io_epoll.cpp), fit in a byte.
    struct FdState {
        IoEntry* armed;       // the wait on it, if any
        std::uint8_t wanted;  // that wait's events, with EPOLLERR and EPOLLHUP
        std::uint8_t seen;    // events reported while no wait on it wanted them
        std::uint8_t added;   // the events it is in the epoll set for (closing it takes it out)
    };

    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    FdState* fds_ = nullptr;
    int fds_capacity_ = 0;
    Waiter* ready_now_ = nullptr;  // armed for an event already seen: reported by the next poll
};

class UringRegistry : public EntryRegistry<UringRegistry> {
public:
    int init(int wake_fd);
    bool arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns);
    bool submit(const IoOp& op, Waiter* waiter, std::int64_t deadline_ns);
    void poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready);

private:
    friend EntryRegistry<UringRegistry>;
    sys::io_uring_sqe* next_sqe();
    IoEntry* queue(std::uint8_t opcode, int fd, Waiter* waiter, std::int64_t deadline_ns);
    bool queue_poll(int fd, short events, std::uint64_t user_data);
    bool queue_wake_poll();
    void enter(unsigned min_complete, const sys::timespec* timeout);
    void finish(IoEntry* e, int result, Waiter*& ready);

    int ring_fd_ = -1;
    int wake_fd_ = -1;
    bool wake_armed_ = false;
    // The submission queue: the kernel's head and tail, and ours, ahead of the kernel's until
    // the next io_uring_enter.
    std::uint32_t* sq_head_ = nullptr;
    std::uint32_t* sq_tail_ = nullptr;
    std::uint32_t sq_local_tail_ = 0, sq_mask_ = 0, sq_entries_ = 0;
    sys::io_uring_sqe* sqes_ = nullptr;
    // The completion queue.
    std::uint32_t* cq_head_ = nullptr;
    std::uint32_t* cq_tail_ = nullptr;
    std::uint32_t cq_mask_ = 0;
    sys::io_uring_cqe* cqes_ = nullptr;
    IoEntry* orphans_ = nullptr;  // ended before their completion; still to be cancelled in the kernel
};

// A worker's registry; its backend is chosen once, at init.
class IoRegistry {
public:
    // 0, or -errno if the backend cannot be set up (memory, or a kernel without it).
    int init(int wake_fd, IoBackend backend);

    // Wakes `waiter` when `fd` has any of `events` (POLLIN/POLLOUT; errors and hang-ups always
    // count), or when the monotonic clock reaches `deadline_ns`. Returns false only when memory
    // (or the kernel) refuses the entry. Wait for POLLIN only once a receive has found the socket
    // empty, and for POLLOUT once a send has found it full: the epoll backend is edge-triggered.
    bool arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns);

    // True when receives and sends should be submitted as operations (the uring backend) rather
    // than made as system calls after a wait.
    bool proactor() const { return backend_ == IoBackend::uring; }

    // Hands `op` to the kernel with the next wait; `waiter` gets its result (bytes or -errno).
    // If the deadline passes first (-ETIMEDOUT) or a graceful stop cancels an idle waiter
    // (-ECANCELED), the operation is cancelled in the kernel and the waiter resumed only once
    // the kernel has let go of its buffer, and with the bytes instead if it completed meanwhile.
    // Returns false only when memory or the kernel refuses it. A proactor registry only.
    bool submit(const IoOp& op, Waiter* waiter, std::int64_t deadline_ns);

    // Blocks until an armed entry is ready, the earliest deadline passes, the wake fd fires or
    // `max_wait_ns` elapses; then appends every finished waiter to `ready` (a singly linked list
    // through Waiter::next). `now_ns` is the caller's clock reading taken just before.
    void poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready);

    // Finishes every entry whose waiter is idle with -ECANCELED, appending it to `ready`: how a
    // graceful stop reaches connections that are only waiting for their next request.
    void cancel_idle(Waiter*& ready);

    // A new connection on `fd`: whatever the registry remembers of an earlier descriptor with
    // that number is stale. Every socket a worker waits on comes through here first.
    void adopt(int fd) {
        if (backend_ == IoBackend::epoll) epoll_.adopt(fd);
    }

    // Takes `waiter`'s entry out of the registry before its event, so its owner can wake it
    // another way (a task that must wait for something else now). A linear search: for rare use.
    // Returns false if it was not armed. For waits only: an operation's buffer is the kernel's
    // until it completes.
    bool disarm(const Waiter* waiter);

private:
    IoBackend backend_ = IoBackend::ppoll;
    PollRegistry poll_;
    EpollRegistry epoll_;
    UringRegistry uring_;
};

}  // namespace rt
