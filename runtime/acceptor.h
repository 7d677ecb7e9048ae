// runtime/acceptor.h — the acceptor thread: accepts connections and deals each one to the
// workers' inboxes in turn; when none is waiting it sleeps in accept4() itself, which a stop or
// reopen signal interrupts (see signals.h).
#pragma once

#include "runtime/inbox.h"

namespace rt {

inline constexpr long kAcceptBackoffNs = 100'000'000;  // after EMFILE, ENOMEM, EPERM ...: 100 ms

// Runs on the calling thread until a signal is pending (returns 0; the caller acts on it) or
// accept4() finds the listening socket itself unusable (EBADF, EINVAL, EFAULT, EOPNOTSUPP;
// returns -errno). Any other failure is one connection's or passes (descriptor or memory
// exhaustion, a firewall's EPERM, a pending network error): logged and waited out without
// spinning.
// `listen_fd` is blocking: one accept4() per connection, and a sleep in it when none is waiting.
int run_acceptor(int listen_fd, Inbox* const* inboxes, int count);

}  // namespace rt
