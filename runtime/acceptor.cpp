// runtime/acceptor.cpp — see acceptor.h.
#include "runtime/acceptor.h"

#include "runtime/log.h"
#include "runtime/memory.h"
#include "runtime/signals.h"

namespace rt {
namespace {
void back_off(const char* what, int err) {
    LogLine("error").put(" acceptor: ").put(what).put(" (errno ").put_int(-err).put("), pausing accepts");
    const sys::timespec pause{0, kAcceptBackoffNs};
    sys::nanosleep(&pause);
}
}  // namespace

int run_acceptor(int listen_fd, Inbox* const* inboxes, int count) {
    for (int next = 0;;) {
        if (signal_pending()) return 0;
        sys::sockaddr_any peer;
        unsigned peer_len = sizeof peer;
        const int fd = sys::accept4(listen_fd, &peer, &peer_len, sys::SOCK_NONBLOCK | sys::SOCK_CLOEXEC);
        if (fd < 0) {
            switch (-fd) {
            case sys::EINTR:  // a signal: the loop's first line looks at it
            case sys::ECONNABORTED:
                continue;
            case sys::EAGAIN: {  // the socket was made non-blocking behind our back: wait, not spin
                sys::pollfd pfd{listen_fd, sys::POLLIN, 0};
                sys::ppoll(&pfd, 1, nullptr);
                continue;
            }
            case sys::ENOTSOCK:  // a stop signal took the socket's place (signals.h)
                if (stop_signals()) return 0;
                return fd;
            case sys::EMFILE:
            case sys::ENFILE:
                back_off("out of file descriptors", fd);
                continue;
            case sys::ENOBUFS:
            case sys::ENOMEM:
                back_off("out of kernel memory", fd);
                continue;
            case sys::EBADF:
            case sys::EINVAL:
            case sys::EFAULT:
            case sys::EOPNOTSUPP:
                return fd;  // the listening socket itself is unusable: nothing to wait for
            default:
                // The error of one connection, or one that passes: a firewall or security
                // module refusing it (EPERM), or a network error the kernel had pending for it
                // (EPROTO, ENETDOWN, EHOSTUNREACH ...), which accept(2) says to retry. Each
                // costs that connection only, never the server and the clients it serves.
                back_off("accept failed", fd);
                continue;
            }
        }
        auto* item = static_cast<InboxItem*>(mem_alloc(sizeof(InboxItem)));
        if (!item) {
            sys::close(fd);
            back_off("out of memory for a connection", -sys::ENOMEM);
            continue;
        }
        item->fd = fd;
        item->peer = peer;
        inboxes[next]->post(item);
        next = next + 1 == count ? 0 : next + 1;
    }
}

}  // namespace rt
