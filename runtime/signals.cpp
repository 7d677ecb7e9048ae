// runtime/signals.cpp — see signals.h.
#include "runtime/signals.h"

#include "runtime/atomic.h"
#include "sys/syscall.h"

namespace rt {
namespace {

// Written by the handler, which runs on the acceptor's thread; read there and by nothing else
// but the stop loop on the same thread. Atomics all the same: a handler's stores must not be
// reordered or kept in registers across the interrupted code.
Atomic<int> first_stop{0};
Atomic<int> stops{0};
Atomic<int> reopen{0};
int listening = -1;
int replacement = -1;

void on_signal(int signo) {
    if (signo == sys::SIGHUP) return reopen.store(1, relaxed);
    if (stops.fetch_add(1, relaxed) == 0) {
        first_stop.store(signo, relaxed);
        sys::dup3(replacement, listening, sys::O_CLOEXEC);
    }
}

}  // namespace

int signals_take_on_this_thread(int listen_fd, int not_a_socket) {
    listening = listen_fd, replacement = not_a_socket;
    const std::uint64_t handled = sys::sigbit(sys::SIGTERM) | sys::sigbit(sys::SIGINT) | sys::sigbit(sys::SIGHUP);
    // Each handler runs with all three blocked, so the counts and the dup3 never interleave.
    const sys::kernel_sigaction action{on_signal, sys::SA_RESTORER, sys::signal_return, handled};
    constexpr int kSignals[] = {sys::SIGTERM, sys::SIGINT, sys::SIGHUP};
    for (const int signo : kSignals)
        if (const int r = sys::rt_sigaction(signo, &action, nullptr); r < 0) return r;
    return sys::rt_sigprocmask(sys::SIG_UNBLOCK, &handled, nullptr);
}

int stop_signal() { return first_stop.load(relaxed); }
int stop_signals() { return stops.load(relaxed); }
bool take_reopen_request() { return reopen.exchange(0, relaxed) != 0; }
bool signal_pending() { return stop_signals() || reopen.load(relaxed); }

}  // namespace rt
