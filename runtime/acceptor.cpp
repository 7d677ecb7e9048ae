// runtime/acceptor.cpp — see acceptor.h.
#include "runtime/acceptor.h"

#include "runtime/log.h"
#include "runtime/memory.h"

namespace rt {
namespace {
void back_off(const char* what, int err) {
    LogLine("error").put(" acceptor: ").put(what).put(" (errno ").put_int(-err).put("), pausing accepts");
    const sys::timespec pause{0, kAcceptBackoffNs};
    sys::nanosleep(&pause);
}
}  // namespace

int run_acceptor(int listen_fd, int wake_fd, Inbox* const* inboxes, int count) {
    for (int next = 0;;) {
        sys::sockaddr_any peer;
        unsigned peer_len = sizeof peer;
        const int fd = sys::accept4(listen_fd, &peer, &peer_len, sys::SOCK_NONBLOCK | sys::SOCK_CLOEXEC);
        if (fd < 0) {
            switch (-fd) {
            case sys::EINTR:
            case sys::ECONNABORTED:
                continue;
            case sys::EAGAIN: {
                sys::pollfd fds[2] = {{listen_fd, sys::POLLIN, 0}, {wake_fd, sys::POLLIN, 0}};
                if (sys::ppoll(fds, 2, nullptr) > 0 && fds[1].revents) return 0;
                continue;
            }
            case sys::EMFILE:
            case sys::ENFILE:
                back_off("out of file descriptors", fd);
                continue;
            case sys::ENOBUFS:
            case sys::ENOMEM:
                back_off("out of kernel memory", fd);
                continue;
            default:
                return fd;
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
