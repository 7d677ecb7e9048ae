// runtime/acceptor.h — the acceptor thread: accepts connections and deals each one to the
// workers' inboxes in turn; when none is waiting it sleeps in ppoll() on the listening socket and
// a second descriptor (a signalfd) that ends the loop.
#pragma once

#include "runtime/inbox.h"

namespace rt {

inline constexpr long kAcceptBackoffNs = 100'000'000;  // after EMFILE/ENFILE/ENOMEM: 100 ms

// Runs on the calling thread until `wake_fd` becomes readable (returns 0; the caller reads it) or
// accept4() fails for a reason other than the transient ones (EINTR, ECONNABORTED, descriptor or
// memory exhaustion, which are logged and waited out without spinning; returns -errno).
// `listen_fd` is non-blocking.
int run_acceptor(int listen_fd, int wake_fd, Inbox* const* inboxes, int count);

}  // namespace rt
