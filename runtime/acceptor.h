// runtime/acceptor.h — the acceptor thread: blocks in accept4() and deals each new connection
// to the workers' inboxes in turn.
#pragma once

#include "runtime/inbox.h"

namespace rt {

inline constexpr long kAcceptBackoffNs = 100'000'000;  // after EMFILE/ENFILE/ENOMEM: 100 ms

// Runs on the calling thread until accept4() fails for a reason other than the transient ones
// (EINTR, ECONNABORTED, descriptor or memory exhaustion, which are logged and waited out without
// spinning). Returns that error as -errno.
int run_acceptor(int listen_fd, Inbox* const* inboxes, int count);

}  // namespace rt
