// sys/syscall.h — the only door to the kernel.
//
// Three thin layers, as in Linux's tools/include/nolibc:
//   1. syscall0..6 bind arguments to the registers of the x86-64 syscall ABI;
//   2. typed wrappers, one per system call, each under its man(2) prototype;
//   3. nothing else: every wrapper returns the kernel's value unchanged, a result or a
//      negative errno. There is no global errno anywhere in this program.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sys/kernel.h"

namespace sys {

// The kernel clobbers rcx (return rip) and r11 (rflags); "memory" because buffers we pass by
// pointer are read or written behind the compiler's back.
inline long syscall0(long n) {
    long r;
    asm volatile("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
    return r;
}
inline long syscall1(long n, long a) {
    long r;
    asm volatile("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
    return r;
}
inline long syscall2(long n, long a, long b) {
    long r;
    asm volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}
inline long syscall3(long n, long a, long b, long c) {
    long r;
    asm volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
inline long syscall4(long n, long a, long b, long c, long d) {
    long r;
    register long r10 asm("r10") = d;
    asm volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return r;
}
inline long syscall5(long n, long a, long b, long c, long d, long e) {
    long r;
    register long r10 asm("r10") = d;
    register long r8 asm("r8") = e;
    asm volatile("syscall"
                 : "=a"(r)
                 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                 : "rcx", "r11", "memory");
    return r;
}
inline long syscall6(long n, long a, long b, long c, long d, long e, long f) {
    long r;
    register long r10 asm("r10") = d;
    register long r8 asm("r8") = e;
    register long r9 asm("r9") = f;
    asm volatile("syscall"
                 : "=a"(r)
                 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                 : "rcx", "r11", "memory");
    return r;
}

template <class T> inline long L(T v) { return (long)v; }

// ssize_t read(int fd, void *buf, size_t count);
inline long read(int fd, void* buf, std::size_t n) { return syscall3(nr::read, fd, L(buf), L(n)); }
// ssize_t pread(int fd, void *buf, size_t count, off_t offset);
inline long pread(int fd, void* buf, std::size_t n, long offset) { return syscall4(nr::pread64, fd, L(buf), L(n), offset); }
// ssize_t write(int fd, const void *buf, size_t count);
inline long write(int fd, const void* buf, std::size_t n) { return syscall3(nr::write, fd, L(buf), L(n)); }
// ssize_t writev(int fd, const struct iovec *iov, int iovcnt);
inline long writev(int fd, const iovec* iov, int n) { return syscall3(nr::writev, fd, L(iov), n); }
// int close(int fd);
inline int close(int fd) { return (int)syscall1(nr::close, fd); }
// int openat(int dirfd, const char *pathname, int flags, mode_t mode);
inline int openat(int dirfd, const char* path, int flags, unsigned mode = 0) {
    return (int)syscall4(nr::openat, dirfd, L(path), flags, mode);
}
// long openat2(int dirfd, const char *pathname, struct open_how *how, size_t size);
inline int openat2(int dirfd, const char* path, const open_how* how) {
    return (int)syscall4(nr::openat2, dirfd, L(path), L(how), sizeof(open_how));
}
// int fstat(int fd, struct stat *statbuf);
inline int fstat(int fd, struct stat* st) { return (int)syscall2(nr::fstat, fd, L(st)); }
// ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count);
inline long sendfile(int out, int in, long* offset, std::size_t n) {
    return syscall4(nr::sendfile, out, in, L(offset), L(n));
}
// ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *src, socklen_t *addrlen);
inline long recv(int fd, void* buf, std::size_t n, int flags = 0) {
    return syscall6(nr::recvfrom, fd, L(buf), L(n), flags, 0, 0);
}
// ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *dest, socklen_t addrlen);
inline long send(int fd, const void* buf, std::size_t n, int flags) {
    return syscall6(nr::sendto, fd, L(buf), L(n), flags, 0, 0);
}
// ssize_t sendmsg(int fd, const struct msghdr *msg, int flags);
inline long sendmsg(int fd, const msghdr* msg, int flags) { return syscall3(nr::sendmsg, fd, L(msg), flags); }
// int socket(int domain, int type, int protocol);
inline int socket(int domain, int type, int protocol) { return (int)syscall3(nr::socket, domain, type, protocol); }
// int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen);
inline int setsockopt(int fd, int level, int name, const void* val, unsigned len) {
    return (int)syscall5(nr::setsockopt, fd, level, name, L(val), len);
}
// int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen);
inline int getsockopt(int fd, int level, int name, void* val, unsigned* len) {
    return (int)syscall5(nr::getsockopt, fd, level, name, L(val), L(len));
}
// int getsockname(int fd, struct sockaddr *addr, socklen_t *addrlen);
inline int getsockname(int fd, void* addr, unsigned* len) { return (int)syscall3(nr::getsockname, fd, L(addr), L(len)); }
// int fcntl(int fd, int cmd, long arg);
inline int fcntl(int fd, int cmd, long arg) { return (int)syscall3(nr::fcntl, fd, cmd, arg); }
// int bind(int fd, const struct sockaddr *addr, socklen_t addrlen);
inline int bind(int fd, const void* addr, unsigned len) { return (int)syscall3(nr::bind, fd, L(addr), len); }
// int listen(int fd, int backlog);
inline int listen(int fd, int backlog) { return (int)syscall2(nr::listen, fd, backlog); }
// int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
inline int accept4(int fd, void* addr, unsigned* len, int flags) {
    return (int)syscall4(nr::accept4, fd, L(addr), L(len), flags);
}
// int shutdown(int fd, int how);
inline int shutdown(int fd, int how) { return (int)syscall2(nr::shutdown, fd, how); }
// int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *sigmask, size_t sigsetsize);
inline int ppoll(pollfd* fds, unsigned long n, const timespec* timeout) {
    return (int)syscall5(nr::ppoll, L(fds), L(n), L(timeout), 0, 8);
}
// int epoll_create1(int flags);
inline int epoll_create1(int flags) { return (int)syscall1(nr::epoll_create1, flags); }
// int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
inline int epoll_ctl(int epfd, int op, int fd, epoll_event* ev) { return (int)syscall4(nr::epoll_ctl, epfd, op, fd, L(ev)); }
// int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout_ms);
inline int epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) {
    return (int)syscall4(nr::epoll_wait, epfd, L(events), max, timeout_ms);
}
// int io_uring_setup(u32 entries, struct io_uring_params *p);
inline int io_uring_setup(unsigned entries, io_uring_params* p) { return (int)syscall2(nr::io_uring_setup, entries, L(p)); }
// int io_uring_enter2(int fd, u32 to_submit, u32 min_complete, u32 flags, const void *arg, size_t argsz);
inline int io_uring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags, const void* arg, std::size_t argsz) {
    return (int)syscall6(nr::io_uring_enter, fd, to_submit, min_complete, flags, L(arg), (long)argsz);
}
// int io_uring_register(int fd, unsigned opcode, void *arg, unsigned nr_args);
inline int io_uring_register(int fd, unsigned opcode, const void* arg, unsigned count) {
    return (int)syscall4(nr::io_uring_register, fd, opcode, L(arg), count);
}
// int rt_sigprocmask(int how, const sigset_t *set, sigset_t *old, size_t sigsetsize);
inline int rt_sigprocmask(int how, const std::uint64_t* set, std::uint64_t* old) {
    return (int)syscall4(nr::rt_sigprocmask, how, L(set), L(old), 8);
}
// int dup3(int oldfd, int newfd, int flags);
inline int dup3(int oldfd, int newfd, int flags) { return (int)syscall3(nr::dup3, oldfd, newfd, flags); }
// int eventfd2(unsigned int initval, int flags);
inline int eventfd2(unsigned initval, int flags) { return (int)syscall2(nr::eventfd2, initval, flags); }
// void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
// Returns the address, or a negative errno (addresses above -4096 are errors).
inline long mmap(void* addr, std::size_t len, int prot, int flags, int fd = -1, long off = 0) {
    return syscall6(nr::mmap, L(addr), L(len), prot, flags, fd, off);
}
// int munmap(void *addr, size_t length);
inline int munmap(void* addr, std::size_t len) { return (int)syscall2(nr::munmap, L(addr), L(len)); }
// int mprotect(void *addr, size_t len, int prot);
inline int mprotect(void* addr, std::size_t len, int prot) { return (int)syscall3(nr::mprotect, L(addr), L(len), prot); }
// int clock_gettime(clockid_t clockid, struct timespec *tp);
inline int clock_gettime(int clock, timespec* ts) { return (int)syscall2(nr::clock_gettime, clock, L(ts)); }
// int nanosleep(const struct timespec *req, struct timespec *rem);
inline int nanosleep(const timespec* req) { return (int)syscall2(nr::nanosleep, L(req), 0); }
// int prlimit64(pid_t pid, int resource, const struct rlimit *new, struct rlimit *old);
inline int prlimit(int resource, const rlimit* new_limit, rlimit* old_limit) {
    return (int)syscall4(nr::prlimit64, 0, resource, L(new_limit), L(old_limit));
}
// What sa_restorer points to (sys/signal.cpp): makes rt_sigreturn when a handler returns.
extern "C" void signal_return();

// int rt_sigaction(int sig, const struct kernel_sigaction *act, struct kernel_sigaction *old, size_t sigsetsize);
inline int rt_sigaction(int sig, const kernel_sigaction* act, kernel_sigaction* old) {
    return (int)syscall4(nr::rt_sigaction, sig, L(act), L(old), 8);
}
// int arch_prctl(int code, unsigned long addr);
inline int arch_prctl(int code, unsigned long addr) { return (int)syscall2(nr::arch_prctl, code, L(addr)); }
// pid_t getpid(void);
// int prctl(int option, unsigned long arg2, ...);
inline int prctl(int option, unsigned long arg) { return (int)syscall5(nr::prctl, option, L(arg), 0, 0, 0); }
// int seccomp(unsigned int operation, unsigned int flags, void *args);
inline long seccomp(unsigned op, unsigned flags, const sock_fprog* prog) { return syscall3(nr::seccomp, op, flags, L(prog)); }
// Credentials, set on the calling thread only (the kernel's view; libc broadcasts to all threads).
inline int setgroups(int n, const unsigned* groups) { return (int)syscall2(nr::setgroups, n, L(groups)); }
inline int setresuid(unsigned r, unsigned e, unsigned s) { return (int)syscall3(nr::setresuid, r, e, s); }
inline int setresgid(unsigned r, unsigned e, unsigned s) { return (int)syscall3(nr::setresgid, r, e, s); }
inline int getresuid(unsigned* r, unsigned* e, unsigned* s) { return (int)syscall3(nr::getresuid, L(r), L(e), L(s)); }
inline int getresgid(unsigned* r, unsigned* e, unsigned* s) { return (int)syscall3(nr::getresgid, L(r), L(e), L(s)); }

inline int getpid() { return (int)syscall0(nr::getpid); }
// int futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *timeout, ...);
inline int futex_wait(const volatile int* addr, int expected) {
    return (int)syscall4(nr::futex, L(addr), FUTEX_WAIT, expected, 0);
}
// [[noreturn]] void exit(int status);  — ends the calling thread only.
[[noreturn]] inline void exit_thread(int code) {
    for (;;) syscall1(nr::exit, code);
}
// [[noreturn]] void exit_group(int status);  — ends the whole process.
[[noreturn]] inline void exit_group(int code) {
    for (;;) syscall1(nr::exit_group, code);
}

// Starts a thread: clone(flags, stack_top, parent_tid, child_tid, tls) in asm, after which the
// child, already on its own stack, calls fn(arg) and then exit()s. The child never returns into
// the parent's frames. Returns the child's tid or a negative errno. Defined in sys/clone.cpp.
extern "C" long clone_thread(unsigned long flags, void* stack_top, int* parent_tid, int* child_tid,
                             void* tls, int (*fn)(void*), void* arg);

// True if a value returned by mmap() is an error.
inline bool mmap_failed(long r) { return r < 0 && r > -4096; }

}  // namespace sys
