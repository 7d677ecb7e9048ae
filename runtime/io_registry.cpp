// runtime/io_registry.cpp — the registry's dispatch to its backend, and the ppoll backend; see
// io_registry.h.
#include "runtime/io_registry.h"


#include "runtime/clock.h"
#include "runtime/memory.h"
#include "sys/syscall.h"

namespace rt {

// The dispatch is out of line: a switch inlined at every wait would cost more bytes than the
// call costs time.

int IoRegistry::init(int wake_fd, IoBackend backend) {
    backend_ = backend;
    switch (backend) {
        case IoBackend::epoll: return epoll_.init(wake_fd);
        case IoBackend::uring: return uring_.init(wake_fd);
        default: return poll_.init(wake_fd);
    }
}

bool IoRegistry::arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns) {
    switch (backend_) {
        case IoBackend::epoll: return epoll_.arm(fd, events, waiter, deadline_ns);
        case IoBackend::uring: return uring_.arm(fd, events, waiter, deadline_ns);
        default: return poll_.arm(fd, events, waiter, deadline_ns);
    }
}

bool IoRegistry::submit(const IoOp& op, Waiter* waiter, std::int64_t deadline_ns) {
    return backend_ == IoBackend::uring && uring_.submit(op, waiter, deadline_ns);
}

void IoRegistry::poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready) {
    switch (backend_) {
        case IoBackend::epoll: return epoll_.poll(now_ns, max_wait_ns, ready);
        case IoBackend::uring: return uring_.poll(now_ns, max_wait_ns, ready);
        default: return poll_.poll(now_ns, max_wait_ns, ready);
    }
}

void IoRegistry::cancel_idle(Waiter*& ready) {
    switch (backend_) {
        case IoBackend::epoll: return epoll_.cancel_idle(ready);
        case IoBackend::uring: return uring_.cancel_idle(ready);
        default: return poll_.cancel_idle(ready);
    }
}

bool IoRegistry::disarm(const Waiter* waiter) {
    switch (backend_) {
        case IoBackend::epoll: return epoll_.disarm(waiter);
        case IoBackend::uring: return uring_.disarm(waiter);
        default: return poll_.disarm(waiter);
    }
}

int PollRegistry::init(int wake_fd) {
    if (!grow()) return -sys::ENOMEM;
    fds_[0] = {wake_fd, sys::POLLIN, 0};
    waiters_[0] = nullptr;
    deadlines_[0] = kNoDeadline;
    count_ = 1;
    return 0;
}

bool PollRegistry::grow() {
    const int capacity = capacity_ ? capacity_ * 2 : 64;
    auto* fds = static_cast<sys::pollfd*>(mem_alloc(capacity * sizeof(sys::pollfd)));
    auto* waiters = static_cast<Waiter**>(mem_alloc(capacity * sizeof(Waiter*)));
    auto* deadlines = static_cast<std::int64_t*>(mem_alloc(capacity * sizeof(std::int64_t)));
    if (!fds || !waiters || !deadlines) {
        mem_free(fds), mem_free(waiters), mem_free(deadlines);
        return false;
    }
    if (count_) {
        __builtin_memcpy(fds, fds_, count_ * sizeof *fds);
        __builtin_memcpy(waiters, waiters_, count_ * sizeof *waiters);
        __builtin_memcpy(deadlines, deadlines_, count_ * sizeof *deadlines);
    }
    mem_free(fds_), mem_free(waiters_), mem_free(deadlines_);
    fds_ = fds, waiters_ = waiters, deadlines_ = deadlines, capacity_ = capacity;
    return true;
}

bool PollRegistry::arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns) {
    if (count_ == capacity_ && !grow()) return false;
    fds_[count_] = {fd, events, 0};
    waiters_[count_] = waiter;
    deadlines_[count_] = deadline_ns;
    ++count_;
    return true;
}

void PollRegistry::poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready) {
    std::int64_t wait = max_wait_ns;
    for (int i = 1; i < count_; ++i)
        if (deadlines_[i] - now_ns < wait) wait = deadlines_[i] - now_ns;
    if (wait < 0) wait = 0;
    const sys::timespec timeout{wait / 1'000'000'000, wait % 1'000'000'000};

    const int n = sys::ppoll(fds_, count_, &timeout);
    if (n > 0 && fds_[0].revents) {
        std::uint64_t counter;
        sys::read(fds_[0].fd, &counter, sizeof counter);  // reset; the caller drains its inbox next
    }
    const std::int64_t now = clock_refresh().monotonic_ns;
    // One pass: finished entries leave by swap-remove (the last entry moves into slot i, which
    // is then examined again).
    for (int i = 1; i < count_;) {
        int result;
        if (n > 0 && fds_[i].revents)
            result = 0;
        else if (deadlines_[i] <= now)
            result = -sys::ETIMEDOUT;
        else {
            ++i;
            continue;
        }
        finish(i, result, ready);
    }
}

void PollRegistry::finish(int i, int result, Waiter*& ready) {
    report(waiters_[i], result, ready);
    remove(i);
}

void PollRegistry::remove(int i) {
    --count_;
    fds_[i] = fds_[count_];
    waiters_[i] = waiters_[count_];
    deadlines_[i] = deadlines_[count_];
}

bool PollRegistry::disarm(const Waiter* waiter) {
    for (int i = 1; i < count_; ++i) {
        if (waiters_[i] != waiter) continue;
        remove(i);
        return true;
    }
    return false;
}

void PollRegistry::cancel_idle(Waiter*& ready) {
    for (int i = 1; i < count_;) {
        if (waiters_[i]->idle) finish(i, -sys::ECANCELED, ready);
        else ++i;
    }
}

}  // namespace rt
