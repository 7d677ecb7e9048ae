// net/socket.cpp — see socket.h.
#include "net/socket.h"

#include "net/address.h"
#include "runtime/clock.h"
#include "sys/syscall.h"

namespace net {

int listen_tcp(const std::uint8_t addr[4], std::uint16_t port, int backlog) {
    const int fd = sys::socket(sys::AF_INET, sys::SOCK_STREAM | sys::SOCK_NONBLOCK | sys::SOCK_CLOEXEC, 0);
    if (fd < 0) return fd;
    const int one = 1;
    sys::setsockopt(fd, sys::SOL_SOCKET, sys::SO_REUSEADDR, &one, sizeof one);
    // Accepted sockets inherit TCP_NODELAY on Linux: set once here, not once per connection.
    // Responses leave in whole writes (MSG_MORE joins a head to its sendfile body), so Nagle's
    // delay would only ever hold back the last segment of a response.
    sys::setsockopt(fd, sys::IPPROTO_TCP, sys::TCP_NODELAY, &one, sizeof one);
    sys::sockaddr_in sa{};
    sa.family = sys::AF_INET;
    sa.port = static_cast<std::uint16_t>(port << 8 | port >> 8);
    for (int i = 0; i < 4; ++i) sa.addr[i] = addr[i];
    int r = sys::bind(fd, &sa, sizeof sa);
    if (r == 0) r = sys::listen(fd, backlog);
    if (r < 0) {
        sys::close(fd);
        return r;
    }
    return fd;
}

void put_peer(rt::Writer& w, const sys::sockaddr_any& peer) {
    if (peer.family != sys::AF_INET) {
        w.put('-');
        return;
    }
    put_ipv4(w, peer.v4.addr);
    w.put(':').put_uint(static_cast<std::uint16_t>(peer.v4.port << 8 | peer.v4.port >> 8));
}

ex::Task<long> recv(int fd, char* buf, std::size_t len, std::int64_t deadline, bool idle) {
    for (;;) {
        const long n = sys::recv(fd, buf, len);
        if (n != -sys::EAGAIN && n != -sys::EINTR) co_return n;
        if (const int w = co_await WaitReady{fd, sys::POLLIN, deadline, idle}; w < 0) co_return w;
    }
}

namespace {
std::int64_t deadline_after(std::int64_t ns) { return rt::thread_clock().monotonic_ns + ns; }
}  // namespace

ex::Task<long> send_all(int fd, sys::iovec* iov, int count, std::int64_t stall_ns, bool more) {
    long total = 0;
    const int flags = sys::MSG_NOSIGNAL | (more ? sys::MSG_MORE : 0);
    while (count > 0) {
        sys::msghdr msg{};
        msg.iov = iov;
        msg.iovlen = static_cast<std::size_t>(count);
        const long n = sys::sendmsg(fd, &msg, flags);
        if (n == -sys::EAGAIN || n == -sys::EINTR) {
            if (const int w = co_await WaitReady{fd, sys::POLLOUT, deadline_after(stall_ns)}; w < 0) co_return w;
            continue;
        }
        if (n < 0) co_return n;
        total += n;
        // Drop what went out: whole iovecs first, then the front of a partly written one.
        auto left = static_cast<std::size_t>(n);
        while (count > 0 && left >= iov->len) left -= iov->len, ++iov, --count;
        if (count > 0) iov->base = static_cast<const char*>(iov->base) + left, iov->len -= left;
    }
    co_return total;
}

ex::Task<long> send_file(int fd, int file, long offset, std::size_t count, std::int64_t stall_ns, std::uint64_t& sent) {
    while (count > 0) {
        const long n = sys::sendfile(fd, file, &offset, count);
        if (n == -sys::EAGAIN || n == -sys::EINTR) {
            if (const int w = co_await WaitReady{fd, sys::POLLOUT, deadline_after(stall_ns)}; w < 0) co_return w;
            continue;
        }
        if (n < 0) co_return n;
        // The file shrank under us: the Content-Length already sent cannot be honoured.
        if (n == 0) co_return -sys::EPIPE;
        sent += static_cast<std::uint64_t>(n);
        count -= static_cast<std::size_t>(n);
    }
    co_return 0;
}

}  // namespace net

