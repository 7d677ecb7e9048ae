// runtime/io_epoll.cpp — the epoll backend of the IO registry; see io_registry.h.
//
// Each armed wait is an IoEntry, registered EPOLLONESHOT with the entry as its data, so the event
// that ends it also disables it and no stale event can name a freed entry. An entry that ends
// another way (deadline, disarm, cancel) is disabled with EPOLL_CTL_MOD before it is freed.
#include "runtime/clock.h"
#include "runtime/io_registry.h"
#include "runtime/memory.h"
#include "sys/syscall.h"

namespace rt {

namespace {
constexpr int kEventsPerWait = 256;
}  // namespace

int EpollRegistry::init(int wake_fd) {
    epoll_fd_ = sys::epoll_create1(sys::EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return epoll_fd_;
    wake_fd_ = wake_fd;
    sys::epoll_event ev{sys::EPOLLIN, nullptr};  // level-triggered: the caller drains it
    return sys::epoll_ctl(epoll_fd_, sys::EPOLL_CTL_ADD, wake_fd, &ev);
}

bool EpollRegistry::arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns) {
    if (fd >= known_capacity_) {  // one byte per descriptor number: cheap, grows rarely
        int capacity = known_capacity_ ? known_capacity_ : 1024;
        while (capacity <= fd) capacity *= 2;
        auto* known = static_cast<std::uint8_t*>(mem_alloc(static_cast<std::size_t>(capacity)));
        if (!known) return false;
        for (int i = 0; i < capacity; ++i) known[i] = i < known_capacity_ ? known_[i] : 0;
        mem_free(known_);
        known_ = known, known_capacity_ = capacity;
    }
    IoEntry* e = entries_.add(fd, waiter, deadline_ns);
    if (!e || fd < 0) return e != nullptr;
    sys::epoll_event ev{static_cast<std::uint32_t>(events) | sys::EPOLLONESHOT, e};
    // A descriptor closed since it was last added left the set: MOD says ENOENT, then ADD.
    int r = known_[fd] ? sys::epoll_ctl(epoll_fd_, sys::EPOLL_CTL_MOD, fd, &ev) : -sys::ENOENT;
    if (r == -sys::ENOENT) r = sys::epoll_ctl(epoll_fd_, sys::EPOLL_CTL_ADD, fd, &ev);
    if (r < 0) {
        entries_.unlink(e);
        mem_free(e);
        return false;
    }
    known_[fd] = 1;
    return true;
}

void EpollRegistry::poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready) {
    std::int64_t wait = max_wait_ns;
    if (const IoEntry* e = entries_.earliest(); e && e->deadline - now_ns < wait) wait = e->deadline - now_ns;
    if (wait < 0) wait = 0;
    // Milliseconds, rounded up so that a deadline is never reported early.
    const int timeout_ms = wait == kNoDeadline ? -1 : wait > 86'400'000'000'000 ? 86'400'000 : static_cast<int>((wait + 999'999) / 1'000'000);
    sys::epoll_event events[kEventsPerWait];
    const int n = sys::epoll_wait(epoll_fd_, events, kEventsPerWait, timeout_ms);
    clock_refresh();
    for (int i = 0; i < n; ++i) {
        auto* e = static_cast<IoEntry*>(events[i].data);
        if (!e) {
            std::uint64_t counter;
            sys::read(wake_fd_, &counter, sizeof counter);  // reset; the caller drains its inbox next
            continue;
        }
        e->fd = -1;  // its one-shot registration has fired: nothing to disable
        finish(e, 0, ready);
    }
    const std::int64_t now = thread_clock().monotonic_ns;
    while (IoEntry* e = entries_.earliest()) {
        if (e->deadline > now) break;
        finish(e, -sys::ETIMEDOUT, ready);
    }
}

void EpollRegistry::finish(IoEntry* e, int result, Waiter*& ready) {
    if (e->fd >= 0) {  // still armed in the kernel: disable it before the entry goes
        sys::epoll_event ev{0, nullptr};
        sys::epoll_ctl(epoll_fd_, sys::EPOLL_CTL_MOD, e->fd, &ev);
    }
    entries_.unlink(e);
    report(e->waiter, result, ready);
    mem_free(e);
}

}  // namespace rt
