// runtime/io_registry.h — one worker's readiness registry over ppoll(2).
//
// A dense pollfd array with parallel arrays of waiters and deadlines. Slot 0 is always the
// worker's eventfd, so another thread can interrupt a wait. arm() is one-shot: an entry leaves
// the registry when its fd is ready or its deadline passes, and its waiter goes to the caller's
// ready list with result 0 (ready) or -ETIMEDOUT. An entry with fd -1 is a pure timer (ppoll
// ignores negative fds).
//
// Kept behind this narrow interface (arm, poll) so that other backends can replace it without
// touching the code that waits.
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

class IoRegistry {
public:
    // Returns false if the arrays cannot be allocated.
    bool init(int wake_fd);

    // Wakes `waiter` when `fd` has any of `events` (POLLIN/POLLOUT; errors and hang-ups always
    // count), or when the monotonic clock reaches `deadline_ns`. Returns false only when memory
    // for the entry cannot be found.
    bool arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns);

    // Blocks until an armed entry is ready, the earliest deadline passes, the wake fd fires or
    // `max_wait_ns` elapses; then appends every finished waiter to `ready` (a singly linked list
    // through Waiter::next). `now_ns` is the caller's clock reading taken just before.
    void poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready);

    // Finishes every entry whose waiter is idle with -ECANCELED, appending it to `ready`: how a
    // graceful stop reaches connections that are only waiting for their next request.
    void cancel_idle(Waiter*& ready);

    // Takes `waiter`'s entry out of the registry before its event, so its owner can wake it
    // another way (a task that must wait for something else now). A linear search: for rare use.
    // Returns false if it was not armed.
    bool disarm(const Waiter* waiter);

    int armed() const { return count_ - 1; }

private:
    void finish(int i, int result, Waiter*& ready);
    void remove(int i);

    bool grow();

    sys::pollfd* fds_ = nullptr;
    Waiter** waiters_ = nullptr;
    std::int64_t* deadlines_ = nullptr;
    int count_ = 0, capacity_ = 0;
};

}  // namespace rt
