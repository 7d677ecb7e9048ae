// runtime/sandbox.cpp — see sandbox.h.
#include "runtime/sandbox.h"

#include "runtime/seccomp_filter.h"
#include "sys/syscall.h"

namespace rt {
namespace {
// What a serving process calls, by the code that calls it. A new system call anywhere past
// start-up needs its line here; the end-to-end suite runs under this filter and finds a
// missing one at once (the process dies with SIGSYS).
constexpr AllowedCall kAllowed[] = {
    // Sockets: accept, receive, send, files to sockets, half-close after a WebSocket close, what
    // a silent WebSocket peer has acknowledged (TCP_INFO).
    {sys::nr::accept4}, {sys::nr::recvfrom}, {sys::nr::sendto}, {sys::nr::sendmsg},
    {sys::nr::sendfile}, {sys::nr::shutdown}, {sys::nr::getsockopt},
    // Waiting: the IO registry; the stop loop and the acceptor's back-off; the clock.
    {sys::nr::ppoll}, {sys::nr::nanosleep}, {sys::nr::clock_gettime}, {sys::nr::restart_syscall},
    // The epoll and io_uring backends (--io). Their instances exist before the filter does, so
    // creating or reconfiguring one (io_uring_setup, io_uring_register) stays forbidden: each
    // ring keeps the restrictions it was enabled with (polls only).
    {sys::nr::epoll_wait}, {sys::nr::epoll_ctl}, {sys::nr::io_uring_enter},
    // Files: the file cache (openat2 beneath the root, fstat, pread), the log and its reopening
    // (openat, dup3), eventfd reads and writes, close.
    {sys::nr::openat2}, {sys::nr::openat}, {sys::nr::fstat}, {sys::nr::pread64}, {sys::nr::read},
    {sys::nr::write}, {sys::nr::dup3}, {sys::nr::close},
    // Memory: large blocks are their own mappings; never executable ones.
    {sys::nr::mmap, 2, static_cast<std::uint32_t>(sys::PROT_EXEC)}, {sys::nr::munmap},
    // Returning from the acceptor's signal handler (runtime/signals.h); leaving.
    {sys::nr::rt_sigreturn}, {sys::nr::exit}, {sys::nr::exit_group},
};
constexpr int kAllowedCount = sizeof kAllowed / sizeof kAllowed[0];

// Built by the compiler.
struct Program {
    BpfInsn insns[seccomp_filter_size(kAllowed, kAllowedCount)];
    int size;
};
constexpr Program build_program() {
    Program p{};
    p.size = build_seccomp_filter(kAllowed, kAllowedCount, p.insns, sizeof p.insns / sizeof p.insns[0]);
    return p;
}
constexpr Program kProgram = build_program();
static_assert(kProgram.size > 0, "the allow list does not fit one BPF program");
}  // namespace

int sandbox_install() {
    if (const int r = sys::prctl(sys::PR_SET_NO_NEW_PRIVS, 1); r < 0) return r;
    const sys::sock_fprog prog{static_cast<unsigned short>(kProgram.size), kProgram.insns};
    const long r = sys::seccomp(sys::SECCOMP_SET_MODE_FILTER, sys::SECCOMP_FILTER_FLAG_TSYNC, &prog);
    // With TSYNC, a positive result is a thread that could not take the filter.
    return r > 0 ? -sys::EAGAIN : static_cast<int>(r);
}

}  // namespace rt
