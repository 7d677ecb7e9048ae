// runtime/io_registry.h — one worker's readiness registry, over ppoll(2) or epoll(7).
//
// arm() is one-shot: an entry leaves the registry when its fd is ready or its deadline passes,
// and its waiter goes to the caller's ready list with result 0 (ready) or -ETIMEDOUT. An entry
// with fd -1 is a pure timer. The worker's eventfd is always watched, so another thread can
// interrupt a wait.
//
// Two backends behind one interface (IoRegistry), chosen per process with --io:
//  - ppoll (the default): a dense pollfd array with parallel arrays of waiters and deadlines,
//    handed whole to ppoll on every wait. Nothing to register, nothing to undo; the kernel scans
//    every descriptor on every wake-up, which is cheap for hundreds and not for tens of thousands.
//  - epoll: an epoll instance per worker, each wait an EPOLLONESHOT registration re-armed with
//    one epoll_ctl; deadlines in a binary heap. A wake-up costs what is ready, not what is open.
#pragma once

#include <coroutine>
#include <cstdint>

#include "sys/kernel.h"

namespace rt {

inline constexpr std::int64_t kNoDeadline = INT64_MAX;

// Something suspended until an event. Lives in the suspended coroutine's frame.
struct Waiter {
    Waiter* next = nullptr;
    std::coroutine_handle<> handle;
    int result = 0;  // 0 or a negative errno, set before the handle is resumed
    bool idle = false;  // waiting for a new request or message: may be cut short by cancel_idle
};

enum class IoBackend { ppoll, epoll };

class PollRegistry {
public:
    bool init(int wake_fd);
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

class EpollRegistry {
public:
    bool init(int wake_fd);
    bool arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns);
    void poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready);
    void cancel_idle(Waiter*& ready);
    bool disarm(const Waiter* waiter);

    struct Entry;

private:
    void finish(Entry* e, int result, Waiter*& ready);
    void heap_push(Entry* e);
    void heap_remove(Entry* e);
    void heap_sift(int i);

    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    Entry* live_ = nullptr;      // every armed entry, for disarm and cancel_idle
    Entry** heap_ = nullptr;     // entries with a deadline, earliest first
    int heap_size_ = 0, heap_capacity_ = 0;
    std::uint8_t* known_ = nullptr;  // fds added to the epoll set (closing one removes it there)
    int known_capacity_ = 0;
};

// A worker's registry; its backend is chosen once, at init.
class IoRegistry {
public:
    // Returns false if the backend cannot be set up (memory, or no epoll).
    bool init(int wake_fd, IoBackend backend) {
        backend_ = backend;
        return backend == IoBackend::epoll ? epoll_.init(wake_fd) : poll_.init(wake_fd);
    }

    // Wakes `waiter` when `fd` has any of `events` (POLLIN/POLLOUT; errors and hang-ups always
    // count), or when the monotonic clock reaches `deadline_ns`. Returns false only when memory
    // (or the kernel) refuses the entry.
    bool arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns) {
        return backend_ == IoBackend::epoll ? epoll_.arm(fd, events, waiter, deadline_ns)
                                            : poll_.arm(fd, events, waiter, deadline_ns);
    }

    // Blocks until an armed entry is ready, the earliest deadline passes, the wake fd fires or
    // `max_wait_ns` elapses; then appends every finished waiter to `ready` (a singly linked list
    // through Waiter::next). `now_ns` is the caller's clock reading taken just before.
    void poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready) {
        if (backend_ == IoBackend::epoll) epoll_.poll(now_ns, max_wait_ns, ready);
        else poll_.poll(now_ns, max_wait_ns, ready);
    }

    // Finishes every entry whose waiter is idle with -ECANCELED, appending it to `ready`: how a
    // graceful stop reaches connections that are only waiting for their next request.
    void cancel_idle(Waiter*& ready) {
        if (backend_ == IoBackend::epoll) epoll_.cancel_idle(ready);
        else poll_.cancel_idle(ready);
    }

    // Takes `waiter`'s entry out of the registry before its event, so its owner can wake it
    // another way (a task that must wait for something else now). A linear search: for rare use.
    // Returns false if it was not armed.
    bool disarm(const Waiter* waiter) {
        return backend_ == IoBackend::epoll ? epoll_.disarm(waiter) : poll_.disarm(waiter);
    }

private:
    IoBackend backend_ = IoBackend::ppoll;
    PollRegistry poll_;
    EpollRegistry epoll_;
};

}  // namespace rt
