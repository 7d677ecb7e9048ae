// runtime/io_epoll.cpp — the epoll backend of the IO registry; see io_registry.h.
//
// Each socket is added to the epoll set once, edge-triggered, for input (and for output too the
// first time a wait wants it), with its descriptor number as its data; a wait costs no epoll_ctl. The events of a descriptor with a wait
// armed on it end that wait if they are among the ones it wants. The others, in the same report
// or not, are remembered (`seen`), and a later wait that wants one of them ends at once, without
// sleeping: an edge is reported only once, so forgetting it could leave a wait asleep on bytes
// that are already there.
//
// This relies on what the callers of a readiness registry do anyway: they wait for input only
// after a receive found the socket empty (EAGAIN, or a short read), and for output only after a
// send found it full, so every event they wait for is an edge still to come, or one seen.
//
// A short read leaves one thing behind: the peer's end of stream, which recv(2) reports only
// after the data before it, and whose edge may have come in the report that woke the reader.
// So the peer's shutdown (EPOLLRDHUP) is remembered for good: once it has come, every wait for
// input ends at once, as ppoll's would on a socket at end of stream.
#include "runtime/clock.h"
#include "runtime/io_registry.h"
#include "runtime/memory.h"
#include "sys/syscall.h"

namespace rt {

namespace {
constexpr int kEventsPerWait = 256;

// EPOLLRDHUP, folded into the byte the other events fit in (its bit would be EPOLLRDBAND, which
// is never asked for, so never reported).
constexpr std::uint8_t kPeerClosed = 0x80;
std::uint8_t fold(unsigned events) {
    return static_cast<std::uint8_t>((events & 0x7f) | (events & sys::EPOLLRDHUP ? kPeerClosed : 0));
}

void* data_of(int fd) { return reinterpret_cast<void*>(static_cast<unsigned long>(fd) + 1); }
int fd_of(void* data) { return static_cast<int>(reinterpret_cast<unsigned long>(data) - 1); }
}  // namespace

int EpollRegistry::init(int wake_fd) {
    epoll_fd_ = sys::epoll_create1(sys::EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return epoll_fd_;
    wake_fd_ = wake_fd;
    sys::epoll_event ev{sys::EPOLLIN, nullptr};  // level-triggered: the caller drains it
    return sys::epoll_ctl(epoll_fd_, sys::EPOLL_CTL_ADD, wake_fd, &ev);
}

bool EpollRegistry::grow(int fd) {  // 16 bytes per descriptor number, grown by doubling
    int capacity = fds_capacity_ ? fds_capacity_ : 64;
    while (capacity <= fd) capacity *= 2;
    auto* fds = static_cast<FdState*>(mem_alloc(static_cast<std::size_t>(capacity) * sizeof(FdState)));
    if (!fds) return false;
    for (int i = 0; i < capacity; ++i) fds[i] = i < fds_capacity_ ? fds_[i] : FdState{};
    mem_free(fds_);
    fds_ = fds, fds_capacity_ = capacity;
    return true;
}

void EpollRegistry::adopt(int fd) {
    if (fd < fds_capacity_) fds_[fd] = {};
}

bool EpollRegistry::arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns) {
    if (fd < 0) return entries_.add(fd, waiter, deadline_ns) != nullptr;  // a timer
    if (fd >= fds_capacity_ && !grow(fd)) return false;
    FdState& s = fds_[fd];
    const auto wanted = static_cast<std::uint8_t>(static_cast<std::uint16_t>(events) | sys::EPOLLERR | sys::EPOLLHUP);
    if ((wanted & ~s.added) & (sys::EPOLLIN | sys::EPOLLOUT)) {
        // Output is added only once a wait wants it (few connections ever fill their socket).
        // Adding reports at once what is already ready. EEXIST: a descriptor number not adopted.
        const std::uint8_t add = s.added | (wanted & (sys::EPOLLIN | sys::EPOLLOUT)) | sys::EPOLLIN;
        sys::epoll_event ev{add | sys::EPOLLRDHUP | sys::EPOLLET, data_of(fd)};
        int r = sys::epoll_ctl(epoll_fd_, s.added ? sys::EPOLL_CTL_MOD : sys::EPOLL_CTL_ADD, fd, &ev);
        if (r == -sys::EEXIST) r = sys::epoll_ctl(epoll_fd_, sys::EPOLL_CTL_MOD, fd, &ev);
        if (r < 0) return false;
        s.added = add;
    }
    // It came while nobody waited for it (the peer's end of stream stays: see the top).
    if (s.seen & (wanted & sys::EPOLLIN ? wanted | kPeerClosed : wanted)) {
        s.seen &= static_cast<std::uint8_t>(~wanted);  // the rest stays for a wait that wants it
        waiter->next = ready_now_;
        ready_now_ = waiter;
        return true;
    }
    IoEntry* e = entries_.add(fd, waiter, deadline_ns);
    if (!e) return false;
    s.armed = e, s.wanted = wanted;
    return true;
}

bool EpollRegistry::disarm(const Waiter* waiter) {
    for (Waiter** p = &ready_now_; *p; p = &(*p)->next) {
        if (*p != waiter) continue;
        *p = waiter->next;
        return true;
    }
    return EntryRegistry::disarm(waiter);
}

void EpollRegistry::poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready) {
    std::int64_t wait = ready_now_ ? 0 : max_wait_ns;
    if (const IoEntry* e = entries_.earliest(); e && e->deadline - now_ns < wait) wait = e->deadline - now_ns;
    if (wait < 0) wait = 0;
    // Milliseconds, rounded up so that a deadline is never reported early.
    const int timeout_ms = wait == kNoDeadline ? -1 : wait > 86'400'000'000'000 ? 86'400'000 : static_cast<int>((wait + 999'999) / 1'000'000);
    sys::epoll_event events[kEventsPerWait];
    const int n = sys::epoll_wait(epoll_fd_, events, kEventsPerWait, timeout_ms);
    clock_refresh();
    for (int i = 0; i < n; ++i) {
        if (!events[i].data) {
            std::uint64_t counter;
            sys::read(wake_fd_, &counter, sizeof counter);  // reset; the caller drains its inbox next
            continue;
        }
        FdState& s = fds_[fd_of(events[i].data)];
        const std::uint8_t got = fold(events[i].events);
        const std::uint8_t wanted = s.armed ? s.wanted : 0;
        // What the wait does not want is kept even when the same report ends it: input that
        // comes with room for a response under way is the next request.
        s.seen |= static_cast<std::uint8_t>(got & ~wanted);
        if (got & wanted) finish(s.armed, 0, ready);
    }
    while (Waiter* w = ready_now_) {
        ready_now_ = w->next;
        report(w, 0, ready);
    }
    const std::int64_t now = thread_clock().monotonic_ns;
    while (IoEntry* e = entries_.earliest()) {
        if (e->deadline > now) break;
        finish(e, -sys::ETIMEDOUT, ready);
    }
}

void EpollRegistry::finish(IoEntry* e, int result, Waiter*& ready) {
    if (e->fd >= 0 && fds_[e->fd].armed == e) fds_[e->fd].armed = nullptr;
    entries_.unlink(e);
    report(e->waiter, result, ready);
    mem_free(e);
}

}  // namespace rt
