// runtime/io_uring.cpp — the io_uring backend of the IO registry; see io_registry.h.
//
// One ring per worker, set up by the worker itself (single issuer, task work deferred to its own
// io_uring_enter). Each submission's user data is its IoEntry: a wait is a one-shot
// IORING_OP_POLL_ADD, an operation an IORING_OP_RECV or IORING_OP_SENDMSG. What a whole loop
// turn queued goes to the kernel in the same io_uring_enter that then sleeps for completions, so
// a turn costs one system call however many sockets it re-arms, reads and writes.
//
// Every submission yields exactly one completion, and its entry is freed only then. A wait that
// ends another way (deadline, disarm, cancel) is reported at once; an operation is not, because
// the kernel may still be writing its buffer, which lives in the waiting coroutine's frame.
// Either way the entry is queued for an IORING_OP_ASYNC_CANCEL and freed when its completion
// (-ECANCELED, or what it did meanwhile) arrives; an operation's waiter is reported then.
//
// The ring is restricted before it is enabled: it can only poll, receive, send and cancel.
// Operations on a ring are not system calls, so seccomp never sees them; without this a ring
// would be a way around the sandbox.
#include "runtime/clock.h"
#include "runtime/io_registry.h"
#include "runtime/memory.h"
#include "sys/syscall.h"

namespace rt {

namespace {
constexpr unsigned kSubmissionEntries = 256;   // a full queue is handed over early, not lost
constexpr unsigned kCompletionEntries = 1024;  // more wait in the kernel (IORING_FEAT_NODROP)
constexpr std::uint32_t kCqSize = 1u << 3;     // IORING_SETUP_CQSIZE
constexpr std::uint64_t kCancelData = 0;       // the completion of an ASYNC_CANCEL itself
constexpr std::uint64_t kWakeData = 1;         // the poll on the worker's eventfd

std::uint32_t load_acquire(const std::uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void store_release(std::uint32_t* p, std::uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

template <class T> T* at(long base, std::uint32_t offset) { return reinterpret_cast<T*>(base + offset); }
}  // namespace

int UringRegistry::init(int wake_fd) {
    wake_fd_ = wake_fd;
    sys::io_uring_params p{};
    p.cq_entries = kCompletionEntries;
    p.flags = sys::IORING_SETUP_R_DISABLED | kCqSize | sys::IORING_SETUP_SINGLE_ISSUER | sys::IORING_SETUP_DEFER_TASKRUN;
    ring_fd_ = sys::io_uring_setup(kSubmissionEntries, &p);
    if (ring_fd_ == -sys::EINVAL) {  // before Linux 6.1: without the single-issuer optimisations
        p = {};
        p.cq_entries = kCompletionEntries;
        p.flags = sys::IORING_SETUP_R_DISABLED | kCqSize;
        ring_fd_ = sys::io_uring_setup(kSubmissionEntries, &p);
    }
    if (ring_fd_ < 0) return ring_fd_;
    constexpr std::uint32_t kNeeded = sys::IORING_FEAT_SINGLE_MMAP | sys::IORING_FEAT_NODROP | sys::IORING_FEAT_EXT_ARG;
    if ((p.features & kNeeded) != kNeeded) return -sys::ENOSYS;  // Linux before 5.11

    const std::size_t sq_bytes = p.sq_off.array + p.sq_entries * sizeof(std::uint32_t);
    const std::size_t cq_bytes = p.cq_off.cqes + p.cq_entries * sizeof(sys::io_uring_cqe);
    const long rings = sys::mmap(nullptr, sq_bytes > cq_bytes ? sq_bytes : cq_bytes, sys::PROT_READ | sys::PROT_WRITE,
                                 sys::MAP_SHARED | sys::MAP_POPULATE, ring_fd_, sys::IORING_OFF_SQ_RING);
    if (sys::mmap_failed(rings)) return static_cast<int>(rings);
    const long sqes = sys::mmap(nullptr, p.sq_entries * sizeof(sys::io_uring_sqe), sys::PROT_READ | sys::PROT_WRITE,
                                sys::MAP_SHARED | sys::MAP_POPULATE, ring_fd_, sys::IORING_OFF_SQES);
    if (sys::mmap_failed(sqes)) return static_cast<int>(sqes);
    sq_head_ = at<std::uint32_t>(rings, p.sq_off.head);
    sq_tail_ = at<std::uint32_t>(rings, p.sq_off.tail);
    sq_mask_ = *at<std::uint32_t>(rings, p.sq_off.ring_mask);
    sq_entries_ = p.sq_entries;
    sqes_ = reinterpret_cast<sys::io_uring_sqe*>(sqes);
    auto* array = at<std::uint32_t>(rings, p.sq_off.array);
    for (std::uint32_t i = 0; i < p.sq_entries; ++i) array[i] = i;  // slot i holds SQE i, always
    cq_head_ = at<std::uint32_t>(rings, p.cq_off.head);
    cq_tail_ = at<std::uint32_t>(rings, p.cq_off.tail);
    cq_mask_ = *at<std::uint32_t>(rings, p.cq_off.ring_mask);
    cqes_ = at<sys::io_uring_cqe>(rings, p.cq_off.cqes);
    sq_local_tail_ = *sq_tail_;

    const sys::io_uring_restriction allowed[] = {
        {sys::IORING_RESTRICTION_SQE_OP, sys::IORING_OP_POLL_ADD, 0, {}},
        {sys::IORING_RESTRICTION_SQE_OP, sys::IORING_OP_RECV, 0, {}},
        {sys::IORING_RESTRICTION_SQE_OP, sys::IORING_OP_SEND, 0, {}},
        {sys::IORING_RESTRICTION_SQE_OP, sys::IORING_OP_SENDMSG, 0, {}},
        {sys::IORING_RESTRICTION_SQE_OP, sys::IORING_OP_ASYNC_CANCEL, 0, {}},
    };
    if (const int r = sys::io_uring_register(ring_fd_, sys::IORING_REGISTER_RESTRICTIONS, allowed, sizeof allowed / sizeof allowed[0]); r < 0)
        return r;
    if (const int r = sys::io_uring_register(ring_fd_, sys::IORING_REGISTER_ENABLE_RINGS, nullptr, 0); r < 0) return r;
    return queue_wake_poll() ? 0 : -sys::ENOMEM;
}

// The next free submission slot, zeroed; nullptr only if the queue is full and the kernel will
// not take it now.
sys::io_uring_sqe* UringRegistry::next_sqe() {
    if (sq_local_tail_ - load_acquire(sq_head_) == sq_entries_) {
        enter(0, nullptr);
        if (sq_local_tail_ - load_acquire(sq_head_) == sq_entries_) return nullptr;
    }
    sys::io_uring_sqe* sqe = &sqes_[sq_local_tail_++ & sq_mask_];
    *sqe = {};
    return sqe;
}

bool UringRegistry::queue_poll(int fd, short events, std::uint64_t user_data) {
    sys::io_uring_sqe* sqe = next_sqe();
    if (!sqe) return false;
    sqe->opcode = sys::IORING_OP_POLL_ADD;
    sqe->fd = fd;
    sqe->op_flags = static_cast<std::uint16_t>(events);  // len 0: one-shot
    sqe->user_data = user_data;
    return true;
}

bool UringRegistry::queue_wake_poll() {
    wake_armed_ = queue_poll(wake_fd_, sys::POLLIN, kWakeData);
    return wake_armed_;
}

// Submits what is queued and, with `min_complete` 1, sleeps until a completion or `timeout`
// (nullptr: no limit).
void UringRegistry::enter(unsigned min_complete, const sys::timespec* timeout) {
    store_release(sq_tail_, sq_local_tail_);
    const sys::io_uring_getevents_arg arg{0, 0, 0, reinterpret_cast<std::uint64_t>(timeout)};
    sys::io_uring_enter(ring_fd_, sq_local_tail_ - load_acquire(sq_head_), min_complete,
                        sys::IORING_ENTER_GETEVENTS | sys::IORING_ENTER_EXT_ARG, &arg, sizeof arg);
}

// A new entry with its submission queued (the caller fills in the operation's fields).
IoEntry* UringRegistry::queue(std::uint8_t opcode, int fd, Waiter* waiter, std::int64_t deadline_ns) {
    IoEntry* e = entries_.add(fd, waiter, deadline_ns);
    if (!e || fd < 0) return e;  // a pure timer: nothing for the kernel
    sys::io_uring_sqe* sqe = next_sqe();
    if (!sqe) {
        entries_.unlink(e);
        mem_free(e);
        return nullptr;
    }
    sqe->opcode = opcode;
    sqe->fd = fd;
    sqe->user_data = reinterpret_cast<std::uint64_t>(e);
    return e;
}

bool UringRegistry::arm(int fd, short events, Waiter* waiter, std::int64_t deadline_ns) {
    IoEntry* e = queue(sys::IORING_OP_POLL_ADD, fd, waiter, deadline_ns);
    if (e && fd >= 0) sqes_[(sq_local_tail_ - 1) & sq_mask_].op_flags = static_cast<std::uint16_t>(events);  // len 0: one-shot
    return e != nullptr;
}

bool UringRegistry::submit(const IoOp& op, Waiter* waiter, std::int64_t deadline_ns) {
    constexpr std::uint8_t kOpcodes[] = {sys::IORING_OP_RECV, sys::IORING_OP_SEND, sys::IORING_OP_SENDMSG};
    IoEntry* e = queue(kOpcodes[op.kind], op.fd, waiter, deadline_ns);
    if (!e) return false;
    e->operation = true;
    sys::io_uring_sqe& sqe = sqes_[(sq_local_tail_ - 1) & sq_mask_];
    sqe.addr = reinterpret_cast<std::uint64_t>(op.addr);
    sqe.len = op.kind == IoOp::sendmsg ? 1 : op.len;  // SENDMSG: one msghdr
    sqe.op_flags = op.flags;
    return true;
}

void UringRegistry::poll(std::int64_t now_ns, std::int64_t max_wait_ns, Waiter*& ready) {
    // Cancellations that found no submission slot last time, and the wake poll if it found none.
    while (IoEntry* e = orphans_) {
        sys::io_uring_sqe* sqe = next_sqe();
        if (!sqe) break;
        sqe->opcode = sys::IORING_OP_ASYNC_CANCEL;
        sqe->addr = reinterpret_cast<std::uint64_t>(e);
        sqe->user_data = kCancelData;
        orphans_ = e->next;
        if (orphans_) orphans_->prev = nullptr;
        e->fd = -1;  // its cancellation is queued; the entry now waits only for its completion
    }
    std::int64_t wait = max_wait_ns;
    if (const IoEntry* e = entries_.earliest(); e && e->deadline - now_ns < wait) wait = e->deadline - now_ns;
    if (wait < 0) wait = 0;
    // Without its poll the eventfd cannot wake the wait: look again in a millisecond.
    if (!wake_armed_ && !queue_wake_poll() && wait > 1'000'000) wait = 1'000'000;
    const sys::timespec timeout{wait / 1'000'000'000, wait % 1'000'000'000};
    enter(wait > 0 ? 1 : 0, wait == kNoDeadline ? nullptr : &timeout);
    clock_refresh();

    std::uint32_t head = *cq_head_;
    const std::uint32_t tail = load_acquire(cq_tail_);
    for (; head != tail; ++head) {
        const sys::io_uring_cqe& cqe = cqes_[head & cq_mask_];
        if (cqe.user_data == kCancelData) continue;
        if (cqe.user_data == kWakeData) {
            std::uint64_t counter;
            sys::read(wake_fd_, &counter, sizeof counter);  // reset; the caller drains its inbox next
            queue_wake_poll();
            continue;
        }
        auto* e = reinterpret_cast<IoEntry*>(cqe.user_data);
        if (!e->ended) {  // its completion came first
            entries_.unlink(e);
        } else if (e->fd >= 0) {  // ended earlier, cancellation not yet queued: no longer needed
            (e->prev ? e->prev->next : orphans_) = e->next;
            if (e->next) e->next->prev = e->prev;
        }
        if (e->operation) report(e->waiter, e->ended && cqe.res == -sys::ECANCELED ? e->early_result : cqe.res, ready);
        else if (!e->ended) report(e->waiter, 0, ready);
        mem_free(e);
    }
    store_release(cq_head_, head);

    const std::int64_t now = thread_clock().monotonic_ns;
    while (IoEntry* e = entries_.earliest()) {
        if (e->deadline > now) break;
        finish(e, -sys::ETIMEDOUT, ready);
    }
}

// Ends a live entry before its completion. A wait is reported now, an operation when its
// completion comes (with `result` if that says it was cancelled). Freed when the kernel lets go.
void UringRegistry::finish(IoEntry* e, int result, Waiter*& ready) {
    entries_.unlink(e);
    e->ended = true;
    if (e->operation) {
        e->early_result = result;
    } else {
        report(e->waiter, result, ready);
        e->waiter = nullptr;
    }
    if (e->fd < 0) {  // a pure timer: nothing in the kernel
        mem_free(e);
        return;
    }
    e->prev = nullptr;  // onto the orphans, for an ASYNC_CANCEL at the start of the next poll()
    e->next = orphans_;
    if (orphans_) orphans_->prev = e;
    orphans_ = e;
}

}  // namespace rt
