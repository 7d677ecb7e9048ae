// runtime/signals.h — the stop and reopen signals, taken by the acceptor's thread.
//
// The acceptor sleeps in a blocking accept4(), and a signal is what must wake it. SIGTERM, SIGINT
// and SIGHUP are blocked before the workers start (they inherit the mask, so none of them is ever
// interrupted); then the acceptor's thread installs handlers without SA_RESTART and unblocks them
// for itself alone, so each one interrupts its accept4() with EINTR. A handler only records the
// signal. A stop signal also puts `not_a_socket` in the listening socket's place (dup3): that
// closes our listening socket at once, and an accept4() entered between the acceptor's look at
// the flags and the signal fails with ENOTSOCK instead of sleeping until the next connection.
#pragma once

namespace rt {

// Call on the acceptor's thread, after the workers exist. Returns 0 or -errno.
int signals_take_on_this_thread(int listen_fd, int not_a_socket);

// The first stop signal (SIGTERM or SIGINT) received, or 0; how many have come.
int stop_signal();
int stop_signals();

// True once per SIGHUP (a burst of them counts once).
bool take_reopen_request();

// True when a signal waits for the acceptor's caller: a stop, or a reopen not yet taken.
bool signal_pending();

}  // namespace rt
