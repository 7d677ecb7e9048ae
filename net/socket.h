// net/socket.h — sockets for coroutines. With a readiness registry (ppoll, epoll) every
// operation tries the system call first and only on -EAGAIN parks the task in its worker's IO
// registry until the socket is ready or the deadline (monotonic ns, rt::kNoDeadline for none)
// passes. With a proactor registry (uring) receives and sends are submitted to the kernel as
// operations and the task is parked until they complete. Results are byte counts or negative
// errno; a passed deadline is -ETIMEDOUT.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "executor/task.h"
#include "executor/worker.h"
#include "runtime/format.h"
#include "sys/kernel.h"

namespace net {

// The socket address for IP text (IPv4 or IPv6, see net/address.h) and a port; false if the
// text is neither.
bool socket_address(std::string_view ip, std::uint16_t port, sys::sockaddr_any& out);

// Opens a listening TCP socket (SO_REUSEADDR, blocking, as the acceptor wants it; backlog
// `backlog`). An IPv6 socket takes IPv4 clients too, so "::" is every address of both families.
// Returns the fd or -errno.
//
// With `defer_accept_s` > 0 (TCP_DEFER_ACCEPT) the kernel holds a new connection until its first
// bytes arrive: an HTTP client speaks first, so the worker that gets the connection finds the
// request already there instead of waiting for it. A connection that stays silent is accepted
// when the kernel's SYN-ACK retransmissions span the period (after about 1 s for 1), so it still
// meets the idle timeout, later.
int listen_tcp(const sys::sockaddr_any& addr, int backlog, int defer_accept_s);

// Readies an inherited listening socket (socket activation): blocking, TCP_NODELAY.
// -ENOTSOCK (or another -errno) if `fd` is not a listening TCP socket.
int adopt_listener(int fd);

// A peer's address, "a.b.c.d" or an IPv6 address in its canonical form ("-" if neither).
void put_peer_address(rt::Writer& w, const sys::sockaddr_any& peer);
// The address and port, "a.b.c.d:port" or "[v6]:port".
void put_peer(rt::Writer& w, const sys::sockaddr_any& peer);

// What the kernel holds for a TCP peer (TCP_INFO): whether bytes sent to it are still queued or
// unacknowledged, and how many it has acknowledged in all. A peer that reads what it is sent
// moves `acked`; one that does not, or is gone, leaves it. Zeros when the kernel does not say.
struct SendQueue {
    bool pending;
    std::uint64_t acked;
};
SendQueue send_queue(int fd);

// Suspends until `fd` has `events` or the deadline passes: 0 or -ETIMEDOUT (-ENOMEM if the
// registry could not grow).
struct WaitReady {
    int fd;
    short events;
    std::int64_t deadline;
    bool idle = false;  // see rt::Waiter::idle
    rt::Waiter waiter{};

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        waiter.handle = h;
        waiter.idle = idle;
        if (ex::this_worker().arm(fd, events, &waiter, deadline)) return true;
        waiter.result = ex::kAllocFailed;
        return false;
    }
    int await_resume() const noexcept { return waiter.result; }
};

// Suspends while the kernel carries out `op` (a proactor registry only): bytes or -errno, or
// -ETIMEDOUT / -ECANCELED as rt::IoRegistry::submit says.
struct Complete {
    rt::IoOp op;
    std::int64_t deadline;
    bool idle = false;
    rt::Waiter waiter{};

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        waiter.handle = h;
        waiter.idle = idle;
        if (ex::this_worker().io.submit(op, &waiter, deadline)) return true;
        waiter.result = ex::kAllocFailed;
        return false;
    }
    int await_resume() const noexcept { return waiter.result; }
};

// Some bytes (> 0), 0 at end of stream, or -errno. An `idle` wait (for a new request) ends with
// -ECANCELED when the server stops.
ex::Task<long> recv(int fd, char* buf, std::size_t len, std::int64_t deadline, bool idle = false);

// The sends below wait for a full socket at most `stall_ns` at a time: the timeout is for a
// client that stopped reading, so it restarts whenever the socket takes more bytes, and a long
// download that keeps moving is never cut. The kernel reports room only once a third of the send
// buffer is free (up to 4 MiB of it, autotuned), which a slow but steady reader may not free
// within `stall_ns`; so when a wait runs out, one more send decides: the client is stalled only
// if the socket takes nothing.
//
// A socket can also poll writable while a send still finds no room: when the kernel is short of
// TCP memory, its poll and its send disagree. ppoll, level-triggered, then reports the socket at
// once, again and again, and a sender that asked it each time would spin. So after a wake-up that
// the next send proves false, the sender pauses (kRoomPauseMinNs, doubling up to
// kRoomPauseMaxNs) before it sends again; the stall timeout runs on through the pauses.
inline constexpr std::int64_t kRoomPauseMinNs = 1'000'000, kRoomPauseMaxNs = 256'000'000;

// Writes every byte described by iov (which it updates as it goes). Total written or -errno.
// `more` (MSG_MORE) holds a short tail back for what follows, e.g. a sendfile body, so a response
// head and body leave in one segment.
ex::Task<long> send_all(int fd, sys::iovec* iov, int count, std::int64_t stall_ns, bool more = false);

// Sends `count` bytes of `file` from `offset` with sendfile(2), adding each to `sent`. Returns
// 0 when all went out, or -errno (then `sent` says how far it got). At most kSendfileChunk goes
// per call: a client that reads as fast as we send never fills its socket, so one sendfile of a
// large file would hold the worker, and every other connection on it, until the end. After a
// whole chunk the worker's other tasks run first (as nginx's sendfile_max_chunk does).
inline constexpr std::size_t kSendfileChunk = 1 << 20;
ex::Task<long> send_file(int fd, int file, long offset, std::size_t count, std::int64_t stall_ns, std::uint64_t& sent);

// Reads and drops what the peer has sent, for a connection that is closing: at most
// kDrainReads reads at a time, so a peer that floods cannot hold the worker. False once the
// peer has ended its side (or the socket failed); `more`: it stopped with bytes left, so the
// caller should let the worker's other tasks run and call again.
inline constexpr int kDrainReads = 16;
bool drain_input(int fd, bool& more);

}  // namespace net
