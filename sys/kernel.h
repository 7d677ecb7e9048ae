// sys/kernel.h — the x86-64 Linux ABI this program speaks: syscall numbers, constants and the
// kernel's own struct layouts (not glibc's, where they differ: sigaction, stat).
//
// Only freestanding code includes this; hosted tests of pure code never need it, so the names
// here (EAGAIN, O_RDONLY, …) cannot collide with libc's macros.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sys {

namespace nr {
inline constexpr long read = 0, write = 1, close = 3, fstat = 5, mmap = 9, mprotect = 10, pread64 = 17,
                      munmap = 11, rt_sigaction = 13, rt_sigprocmask = 14, writev = 20, nanosleep = 35, getpid = 39,
                      sendfile = 40, socket = 41, sendto = 44, recvfrom = 45, sendmsg = 46, shutdown = 48,
                      bind = 49, listen = 50, getsockname = 51, setsockopt = 54, getsockopt = 55, clone = 56, exit = 60, fcntl = 72,
                      arch_prctl = 158, futex = 202, clock_gettime = 228, exit_group = 231,
                      openat = 257, ppoll = 271, epoll_wait = 232, epoll_ctl = 233, epoll_create1 = 291, accept4 = 288, eventfd2 = 290, dup3 = 292, prlimit64 = 302,
                      rt_sigreturn = 15, prctl = 157, restart_syscall = 219, seccomp = 317,
                      setgroups = 116, setresuid = 117, getresuid = 118, setresgid = 119, getresgid = 120,
                      openat2 = 437, io_uring_setup = 425, io_uring_enter = 426, io_uring_register = 427;
}

// errno values (asm-generic/errno-base.h, errno.h)
inline constexpr int EPERM = 1, ENOENT = 2, EINTR = 4, EBADF = 9, EAGAIN = 11, ENOMEM = 12,
                     EACCES = 13, EEXIST = 17, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23,
                     EMFILE = 24, ENOSPC = 28, EPIPE = 32, ENAMETOOLONG = 36, ELOOP = 40,
                     ENOSYS = 38, EFAULT = 14, ENOTSOCK = 88, EOPNOTSUPP = 95, EADDRINUSE = 98, EADDRNOTAVAIL = 99, ECONNABORTED = 103, ECONNRESET = 104,
                     ENOBUFS = 105, ETIMEDOUT = 110, EXDEV = 18, ECANCELED = 125;

// open(2)
inline constexpr int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0100, O_APPEND = 02000,
                     O_NONBLOCK = 04000, O_DIRECTORY = 0200000, O_NOFOLLOW = 0400000,
                     O_CLOEXEC = 02000000, O_PATH = 010000000;
inline constexpr int AT_FDCWD = -100;
inline constexpr int F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, FD_CLOEXEC = 1;
inline constexpr std::uint64_t RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_BENEATH = 0x08;
struct open_how {
    std::uint64_t flags, mode, resolve;
};

// stat(2), the kernel's x86-64 layout
struct stat {
    std::uint64_t st_dev, st_ino, st_nlink;
    std::uint32_t st_mode, st_uid, st_gid, pad0;
    std::uint64_t st_rdev;
    std::int64_t st_size, st_blksize, st_blocks;
    std::int64_t st_atime_sec, st_atime_nsec, st_mtime_sec, st_mtime_nsec, st_ctime_sec, st_ctime_nsec;
    std::int64_t unused[3];
};
inline constexpr std::uint32_t S_IFMT = 0170000, S_IFDIR = 0040000, S_IFREG = 0100000;

struct iovec {
    const void* base;
    std::size_t len;
};
struct msghdr {
    void* name;
    unsigned namelen;
    iovec* iov;
    std::size_t iovlen;
    void* control;
    std::size_t controllen;
    int flags;
};
struct timespec {
    long sec, nsec;
};
inline constexpr int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1;

// sockets
inline constexpr int AF_INET = 2, AF_INET6 = 10;
inline constexpr int SOCK_STREAM = 1, SOCK_NONBLOCK = 04000, SOCK_CLOEXEC = 02000000;
inline constexpr int SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_ACCEPTCONN = 30, IPPROTO_TCP = 6, TCP_NODELAY = 1, TCP_DEFER_ACCEPT = 9, TCP_INFO = 11,
                     IPPROTO_IPV6 = 41, IPV6_V6ONLY = 26;
inline constexpr int MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000, MSG_MORE = 0x8000, SHUT_WR = 1;
struct sockaddr_in {
    std::uint16_t family, port;  // port in network byte order
    std::uint8_t addr[4];
    std::uint8_t zero[8];
};
struct sockaddr_in6 {
    std::uint16_t family, port;
    std::uint32_t flowinfo;
    std::uint8_t addr[16];
    std::uint32_t scope_id;
};
union sockaddr_any {
    std::uint16_t family;
    sockaddr_in v4;
    sockaddr_in6 v6;
};

// poll(2)
struct pollfd {
    int fd;
    short events, revents;
};
inline constexpr short POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;

// epoll(7)
inline constexpr unsigned EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLRDHUP = 0x2000,
                          EPOLLONESHOT = 1u << 30,
                          EPOLLET = 1u << 31;
inline constexpr int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3, EPOLL_CLOEXEC = 02000000;
struct [[gnu::packed]] epoll_event {  // packed on x86-64: 12 bytes
    std::uint32_t events;
    void* data;
};

// mmap(2)
inline constexpr int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
inline constexpr int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000,
                     MAP_POPULATE = 0x8000, MAP_STACK = 0x20000;

// io_uring(7), linux/io_uring.h
struct io_sqring_offsets {
    std::uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
    std::uint64_t user_addr;
};
struct io_cqring_offsets {
    std::uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
    std::uint64_t user_addr;
};
struct io_uring_params {
    std::uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd, resv[3];
    io_sqring_offsets sq_off;
    io_cqring_offsets cq_off;
};
static_assert(sizeof(io_uring_params) == 120);
struct io_uring_sqe {
    std::uint8_t opcode, flags;
    std::uint16_t ioprio;
    std::int32_t fd;
    std::uint64_t off;
    std::uint64_t addr;
    std::uint32_t len;
    std::uint32_t op_flags;  // poll32_events for POLL_ADD, msg_flags for RECV and SENDMSG
    std::uint64_t user_data;
    std::uint64_t tail[3];   // buf_index, personality, splice_fd_in, addr3, pad: unused here
};
static_assert(sizeof(io_uring_sqe) == 64);
struct io_uring_cqe {
    std::uint64_t user_data;
    std::int32_t res;
    std::uint32_t flags;
};
struct io_uring_getevents_arg {
    std::uint64_t sigmask;
    std::uint32_t sigmask_sz, min_wait_usec;
    std::uint64_t ts;  // a kernel timespec*, relative; 0 waits without limit
};
struct io_uring_restriction {
    std::uint16_t opcode;
    std::uint8_t value;  // the register op, SQE op or SQE flags the rule names
    std::uint8_t resv;
    std::uint32_t resv2[3];
};
inline constexpr std::uint32_t IORING_SETUP_R_DISABLED = 1u << 6, IORING_SETUP_SUBMIT_ALL = 1u << 7,
                               IORING_SETUP_SINGLE_ISSUER = 1u << 12, IORING_SETUP_DEFER_TASKRUN = 1u << 13;
inline constexpr std::uint32_t IORING_FEAT_SINGLE_MMAP = 1u << 0, IORING_FEAT_NODROP = 1u << 1,
                               IORING_FEAT_EXT_ARG = 1u << 8;
inline constexpr std::uint32_t IORING_ENTER_GETEVENTS = 1u << 0, IORING_ENTER_EXT_ARG = 1u << 3;
inline constexpr std::uint8_t IORING_OP_POLL_ADD = 6, IORING_OP_SENDMSG = 9, IORING_OP_ASYNC_CANCEL = 14,
                              IORING_OP_SEND = 26, IORING_OP_RECV = 27;
inline constexpr unsigned IORING_REGISTER_RESTRICTIONS = 11, IORING_REGISTER_ENABLE_RINGS = 12;
inline constexpr std::uint16_t IORING_RESTRICTION_SQE_OP = 1;
inline constexpr long IORING_OFF_SQ_RING = 0, IORING_OFF_CQ_RING = 0x8000000, IORING_OFF_SQES = 0x10000000;

// clone(2)
inline constexpr unsigned long CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400,
                               CLONE_SIGHAND = 0x800, CLONE_THREAD = 0x10000,
                               CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000,
                               CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000;

// misc
inline constexpr int EFD_NONBLOCK = 04000, EFD_CLOEXEC = 02000000;
inline constexpr int RLIMIT_NOFILE = 7;
struct rlimit {
    std::uint64_t cur, max;
};
inline constexpr int ARCH_SET_FS = 0x1002;
inline constexpr int FUTEX_WAIT = 0;
inline constexpr int SIGHUP = 1, SIGINT = 2, SIGPIPE = 13, SIGTERM = 15;
inline constexpr int SIG_BLOCK = 0, SIG_UNBLOCK = 1;
inline constexpr unsigned long SA_RESTORER = 0x04000000;
constexpr std::uint64_t sigbit(int sig) { return std::uint64_t{1} << (sig - 1); }
// The kernel's struct sigaction (not glibc's): handler, flags, restorer, one 64-bit mask.
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    std::uint64_t mask;
};
inline void (*const SIG_IGN)(int) = reinterpret_cast<void (*)(int)>(1);

// seccomp(2), prctl(2)
inline constexpr int PR_SET_NO_NEW_PRIVS = 38;
inline constexpr unsigned SECCOMP_SET_MODE_FILTER = 1, SECCOMP_FILTER_FLAG_TSYNC = 1;
struct sock_fprog {
    unsigned short len;
    const void* filter;  // struct sock_filter[len]
};

// auxv / ELF
inline constexpr unsigned long AT_NULL = 0, AT_PHDR = 3, AT_PHNUM = 5;
inline constexpr std::uint32_t PT_TLS = 7;
struct Elf64_Phdr {
    std::uint32_t type, flags;
    std::uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

}  // namespace sys
