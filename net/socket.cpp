// net/socket.cpp — see socket.h.
#include "net/socket.h"

#include "net/address.h"
#include "runtime/clock.h"
#include "sys/syscall.h"

namespace net {

namespace {
std::uint16_t swap16(std::uint16_t v) { return static_cast<std::uint16_t>(v << 8 | v >> 8); }

// Accepted sockets inherit TCP_NODELAY on Linux: set once on the listener, not once per
// connection. Responses leave in whole writes (MSG_MORE joins a head to its sendfile body), so
// Nagle's delay would only ever hold back the last segment of a response.
void set_nodelay(int fd) {
    const int one = 1;
    sys::setsockopt(fd, sys::IPPROTO_TCP, sys::TCP_NODELAY, &one, sizeof one);
}
}  // namespace

bool socket_address(std::string_view ip, std::uint16_t port, sys::sockaddr_any& out) {
    out = {};
    if (parse_ipv4(ip, out.v4.addr)) {
        out.v4.family = sys::AF_INET;
        out.v4.port = swap16(port);
        return true;
    }
    if (parse_ipv6(ip, out.v6.addr)) {
        out.v6.family = sys::AF_INET6;
        out.v6.port = swap16(port);
        return true;
    }
    return false;
}

int listen_tcp(const sys::sockaddr_any& addr, int backlog, int defer_accept_s) {
    const int fd = sys::socket(addr.family, sys::SOCK_STREAM | sys::SOCK_CLOEXEC, 0);
    if (fd < 0) return fd;
    const int one = 1, zero = 0;
    sys::setsockopt(fd, sys::SOL_SOCKET, sys::SO_REUSEADDR, &one, sizeof one);
    // Dual stack whatever net.ipv6.bindv6only says: "::" means IPv4 clients too.
    if (addr.family == sys::AF_INET6) sys::setsockopt(fd, sys::IPPROTO_IPV6, sys::IPV6_V6ONLY, &zero, sizeof zero);
    set_nodelay(fd);
    if (defer_accept_s > 0) sys::setsockopt(fd, sys::IPPROTO_TCP, sys::TCP_DEFER_ACCEPT, &defer_accept_s, sizeof defer_accept_s);
    int r = sys::bind(fd, &addr, addr.family == sys::AF_INET ? sizeof addr.v4 : sizeof addr.v6);
    if (r == 0) r = sys::listen(fd, backlog);
    if (r < 0) {
        sys::close(fd);
        return r;
    }
    return fd;
}

int adopt_listener(int fd) {
    int listening = 0;
    unsigned len = sizeof listening;
    if (const int r = sys::getsockopt(fd, sys::SOL_SOCKET, sys::SO_ACCEPTCONN, &listening, &len); r < 0) return r;
    if (!listening) return -sys::EINVAL;
    const int flags = sys::fcntl(fd, sys::F_GETFL, 0);
    if (flags < 0) return flags;
    if (const int r = sys::fcntl(fd, sys::F_SETFL, flags & ~sys::O_NONBLOCK); r < 0) return r;
    sys::fcntl(fd, sys::F_SETFD, sys::FD_CLOEXEC);
    set_nodelay(fd);
    return 0;
}

void put_peer_address(rt::Writer& w, const sys::sockaddr_any& peer) {
    if (peer.family == sys::AF_INET) put_ipv4(w, peer.v4.addr);
    else if (peer.family == sys::AF_INET6) put_ipv6(w, peer.v6.addr);
    else w.put('-');
}

void put_peer(rt::Writer& w, const sys::sockaddr_any& peer) {
    // An IPv4-mapped peer prints as IPv4 (see put_ipv6), so it takes IPv4's form here too.
    const bool bracket = peer.family == sys::AF_INET6 && !is_ipv4_mapped(peer.v6.addr);
    if (bracket) w.put('[');
    put_peer_address(w, peer);
    if (bracket) w.put(']');
    if (peer.family == sys::AF_INET) w.put(':').put_uint(swap16(peer.v4.port));
    if (peer.family == sys::AF_INET6) w.put(':').put_uint(swap16(peer.v6.port));
}

ex::Task<long> recv(int fd, char* buf, std::size_t len, std::int64_t deadline, bool idle) {
    if (ex::this_worker().io.proactor()) {
        co_return co_await Complete{{rt::IoOp::recv, fd, buf, static_cast<std::uint32_t>(len), 0}, deadline, idle};
    }
    for (;;) {
        const long n = sys::recv(fd, buf, len);
        if (n != -sys::EAGAIN && n != -sys::EINTR) co_return n;
        if (const int w = co_await WaitReady{fd, sys::POLLIN, deadline, idle}; w < 0) co_return w;
    }
}

namespace {
std::int64_t deadline_after(std::int64_t ns) { return rt::thread_clock().monotonic_ns + ns; }

// A sender's wait for room (see socket.h). After a send that found none: give up with -ETIMEDOUT
// if last_chance, else co_await next(fd), then after(result) says whether to send again.
struct RoomWait {
    std::int64_t stall_ns;
    std::int64_t until = 0;    // when the stall ends it; 0: the last send made progress
    std::int64_t pause = 0;    // the last pause after a false wake-up, doubled for the next
    bool woke = false;         // the last wait reported room
    bool pausing = false;      // the wait under way is a pause
    bool last_chance = false;  // the stall has run out: this send decides

    void progress() { until = pause = 0, woke = last_chance = false; }

    WaitReady next(int fd) {
        const std::int64_t now = rt::thread_clock().monotonic_ns;
        if (!until) until = now + stall_ns;
        pausing = woke;  // it said there was room, and there was none
        woke = false;
        if (!pausing) return {fd, sys::POLLOUT, until};
        pause = pause ? (pause * 2 < kRoomPauseMaxNs ? pause * 2 : kRoomPauseMaxNs) : kRoomPauseMinNs;
        return {-1, 0, now + pause < until ? now + pause : until};  // a timer
    }
    bool after(int result) {
        if (result == -sys::ETIMEDOUT) {
            last_chance = !pausing || rt::thread_clock().monotonic_ns >= until;
            return true;
        }
        woke = result == 0;
        return woke;
    }
};
}  // namespace

ex::Task<long> send_all(int fd, sys::iovec* iov, int count, std::int64_t stall_ns, bool more) {
    long total = 0;
    const int flags = sys::MSG_NOSIGNAL | (more ? sys::MSG_MORE : 0);
    const bool proactor = ex::this_worker().io.proactor();
    RoomWait room{stall_ns};
    while (count > 0) {
        // One buffer goes out with send(2): the kernel then copies in no msghdr and no iovecs.
        sys::msghdr msg{};
        msg.iov = iov;
        msg.iovlen = static_cast<std::size_t>(count);
        const rt::IoOp op = count == 1 ? rt::IoOp{rt::IoOp::send, fd, const_cast<void*>(iov->base), static_cast<std::uint32_t>(iov->len), static_cast<std::uint32_t>(flags)}
                                       : rt::IoOp{rt::IoOp::sendmsg, fd, &msg, 0, static_cast<std::uint32_t>(flags)};
        const bool ring = proactor && !room.last_chance;
        const long n = ring ? co_await Complete{op, deadline_after(stall_ns)}
                       : count == 1 ? sys::send(fd, iov->base, iov->len, flags)
                                    : sys::sendmsg(fd, &msg, flags);
        if (n == -sys::ETIMEDOUT && ring) {  // the ring's send waited out the stall
            room.last_chance = true;
            continue;
        }
        if (n == -sys::EAGAIN || n == -sys::EINTR) {
            if (room.last_chance) co_return -sys::ETIMEDOUT;
            if (const int w = co_await room.next(fd); !room.after(w)) co_return w;
            continue;
        }
        if (n < 0) co_return n;
        room.progress();
        total += n;
        // Drop what went out: whole iovecs first, then the front of a partly written one.
        auto left = static_cast<std::size_t>(n);
        while (count > 0 && left >= iov->len) left -= iov->len, ++iov, --count;
        if (count > 0) iov->base = static_cast<const char*>(iov->base) + left, iov->len -= left;
    }
    co_return total;
}

ex::Task<long> send_file(int fd, int file, long offset, std::size_t count, std::int64_t stall_ns, std::uint64_t& sent) {
    RoomWait room{stall_ns};
    while (count > 0) {
        const std::size_t chunk = count < kSendfileChunk ? count : kSendfileChunk;
        const long n = sys::sendfile(fd, file, &offset, chunk);
        if (n == -sys::EAGAIN || n == -sys::EINTR) {
            if (room.last_chance) co_return -sys::ETIMEDOUT;
            if (const int w = co_await room.next(fd); !room.after(w)) co_return w;
            continue;
        }
        if (n < 0) co_return n;
        room.progress();
        // The file shrank under us: the Content-Length already sent cannot be honoured.
        if (n == 0) co_return -sys::EPIPE;
        sent += static_cast<std::uint64_t>(n);
        count -= static_cast<std::size_t>(n);
        if (count > 0 && static_cast<std::size_t>(n) == chunk) co_await WaitReady{-1, 0, 0};  // a turn for the others
    }
    co_return 0;
}

SendQueue send_queue(int fd) {
    // struct tcp_info (linux/tcp.h): tcpi_unacked (segments) at byte 24, tcpi_bytes_acked at 120
    // (Linux 4.1), tcpi_notsent_bytes at 144 (4.6).
    constexpr unsigned kUnacked = 24, kBytesAcked = 120, kNotSent = 144;
    alignas(8) unsigned char info[kNotSent + 4] = {};
    unsigned len = sizeof info;
    if (sys::getsockopt(fd, sys::IPPROTO_TCP, sys::TCP_INFO, info, &len) < 0 || len < sizeof info) return {};
    std::uint32_t unacked, not_sent;
    std::uint64_t acked;
    __builtin_memcpy(&unacked, info + kUnacked, sizeof unacked);
    __builtin_memcpy(&acked, info + kBytesAcked, sizeof acked);
    __builtin_memcpy(&not_sent, info + kNotSent, sizeof not_sent);
    return {unacked > 0 || not_sent > 0, acked};
}

bool drain_input(int fd, bool& more) {
    char sink[4096];
    for (int i = 0; i < kDrainReads; ++i) {
        const long n = sys::recv(fd, sink, sizeof sink, sys::MSG_DONTWAIT);
        if (n <= 0) return more = false, n == -sys::EAGAIN;
    }
    return more = true;
}

}  // namespace net

