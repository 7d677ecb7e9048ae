// runtime/io_epoll.cpp — the epoll backend of the IO registry; see io_registry.h.
//
// Each armed wait is an Entry: registered EPOLLONESHOT with the entry as its data, so the event
// that ends it also disables it and no stale event can name a freed entry. An entry that ends
// another way (deadline, disarm, cancel) is disabled with EPOLL_CTL_MOD before it is freed.
// Entries with a deadline sit in a binary min-heap; each knows its heap index.
#include "runtime/clock.h"
#include "runtime/io_registry.h"
#include "runtime/memory.h"
#include "sys/syscall.h"

namespace rt {

struct EpollRegistry::Entry {
    Waiter* waiter;
    int fd;
    int heap_index;  // -1: no deadline
    std::int64_t deadline;
    Entry* prev;
    Entry* next;
};

namespace {
constexpr int kEventsPerWait = 256;
}  // namespace

bool EpollRegistry::init(int wake_fd) {
    epoll_fd_ = sys::epoll_create1(sys::EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return false;
    wake_fd_ = wake_fd;
    sys::epoll_event ev{sys::EPOLLIN, nullptr};  // level-triggered: the caller drains it
    return sys::epoll_ctl(epoll_fd_, sys::EPOLL_CTL_ADD, wake_fd, &ev) == 0;
}

bool EpollRegistry::arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns) {
    auto* e = static_cast<Entry*>(mem_alloc(sizeof(Entry)));
    if (!e) return false;
    *e = {waiter, fd, -1, deadline_ns, nullptr, live_};
    if (fd >= 0) {
        if (fd >= known_capacity_) {  // one byte per descriptor number: cheap, grows rarely
            int capacity = known_capacity_ ? known_capacity_ : 1024;
            while (capacity <= fd) capacity *= 2;
            auto* known = static_cast<std::uint8_t*>(mem_alloc(static_cast<std::size_t>(capacity)));
            if (!known) return mem_free(e), false;
            for (int i = 0; i < capacity; ++i) known[i] = i < known_capacity_ ? known_[i] : 0;
            mem_free(known_);
            known_ = known, known_capacity_ = capacity;
        }
        sys::epoll_event ev{static_cast<std::uint32_t>(events) | sys::EPOLLONESHOT, e};
        // A descriptor closed since it was last added left the set: MOD says ENOENT, then ADD.
        int r = known_[fd] ? sys::epoll_ctl(epoll_fd_, sys::EPOLL_CTL_MOD, fd, &ev) : -sys::ENOENT;
        if (r == -sys::ENOENT) r = sys::epoll_ctl(epoll_fd_, sys::EPOLL_CTL_ADD, fd, &ev);
        if (r < 0) return mem_free(e), false;
        known_[fd] = 1;
    }
    if (live_) live_->prev = e;
    live_ = e;
    if (deadline_ns != kNoDeadline) heap_push(e);
    return true;
}

void EpollRegistry::poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready) {
    std::int64_t wait = max_wait_ns;
    if (heap_size_ && heap_[0]->deadline - now_ns < wait) wait = heap_[0]->deadline - now_ns;
    if (wait < 0) wait = 0;
    // Milliseconds, rounded up so that a deadline is never reported early.
    const int timeout_ms = wait == kNoDeadline ? -1 : wait > 86'400'000'000'000 ? 86'400'000 : static_cast<int>((wait + 999'999) / 1'000'000);
    sys::epoll_event events[kEventsPerWait];
    const int n = sys::epoll_wait(epoll_fd_, events, kEventsPerWait, timeout_ms);
    clock_refresh();
    for (int i = 0; i < n; ++i) {
        auto* e = static_cast<Entry*>(events[i].data);
        if (!e) {
            std::uint64_t counter;
            sys::read(wake_fd_, &counter, sizeof counter);  // reset; the caller drains its inbox next
            continue;
        }
        e->fd = -1;  // its one-shot registration has fired: nothing to disable
        finish(e, 0, ready);
    }
    const std::int64_t now = thread_clock().monotonic_ns;
    while (heap_size_ && heap_[0]->deadline <= now) finish(heap_[0], -sys::ETIMEDOUT, ready);
}

void EpollRegistry::finish(Entry* e, int result, Waiter*& ready) {
    if (e->fd >= 0) {  // still armed in the kernel: disable it before the entry goes
        sys::epoll_event ev{0, nullptr};
        sys::epoll_ctl(epoll_fd_, sys::EPOLL_CTL_MOD, e->fd, &ev);
    }
    if (e->heap_index >= 0) heap_remove(e);
    (e->prev ? e->prev->next : live_) = e->next;
    if (e->next) e->next->prev = e->prev;
    if (Waiter* w = e->waiter) {
        w->result = result;
        w->next = ready;
        ready = w;
    }
    mem_free(e);
}

bool EpollRegistry::disarm(const Waiter* waiter) {
    for (Entry* e = live_; e; e = e->next) {
        if (e->waiter != waiter) continue;
        Waiter* none = nullptr;
        e->waiter = nullptr;  // gone without being reported
        finish(e, 0, none);
        return true;
    }
    return false;
}

void EpollRegistry::cancel_idle(Waiter*& ready) {
    for (Entry* e = live_; e;) {
        Entry* next = e->next;
        if (e->waiter->idle) finish(e, -sys::ECANCELED, ready);
        e = next;
    }
}

// The heap: heap_[0] has the earliest deadline; children of i are 2i+1 and 2i+2.

void EpollRegistry::heap_push(Entry* e) {
    if (heap_size_ == heap_capacity_) {
        const int capacity = heap_capacity_ ? heap_capacity_ * 2 : 64;
        auto* heap = static_cast<Entry**>(mem_alloc(static_cast<std::size_t>(capacity) * sizeof(Entry*)));
        if (!heap) return;  // no deadline then: the wait still ends on its event
        for (int i = 0; i < heap_size_; ++i) heap[i] = heap_[i];
        mem_free(heap_);
        heap_ = heap, heap_capacity_ = capacity;
    }
    e->heap_index = heap_size_;
    heap_[heap_size_++] = e;
    heap_sift(e->heap_index);
}

void EpollRegistry::heap_remove(Entry* e) {
    const int i = e->heap_index;
    e->heap_index = -1;
    Entry* last = heap_[--heap_size_];
    if (last == e) return;
    heap_[i] = last;
    last->heap_index = i;
    heap_sift(i);
}

// Moves the entry at i up or down to its place.
void EpollRegistry::heap_sift(int i) {
    Entry* e = heap_[i];
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
