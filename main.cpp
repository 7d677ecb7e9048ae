// main.cpp — the command line and the wiring: memory, limits, the document root, the log, the
// listening socket, the workers; then the main thread becomes the acceptor.
#include <cstdint>
#include <string_view>

#include "executor/worker.h"
#include "http/file_cache.h"
#include "http/server.h"
#include "net/address.h"
#include "net/socket.h"
#include "runtime/acceptor.h"
#include "runtime/signals.h"
#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/memory.h"
#include "runtime/sandbox.h"
#include "runtime/start.h"
#include "sys/syscall.h"
#include "websocket/session.h"

namespace {

constexpr int kExitUsage = 2;    // a bad command line
constexpr int kExitFailure = 1;  // the environment refused (port in use, log unwritable, …)
constexpr int kListenBacklog = 4096;
constexpr int kFirstInheritedFd = 3;  // SD_LISTEN_FDS_START

constexpr std::string_view kVersion = "async-nostd 0.5.0\n";

constexpr std::string_view kUsage =
    "usage: async-nostd WORKERS IP PORT [options]\n"
    "       async-nostd WORKERS [options]   (socket activation: LISTEN_FDS/LISTEN_PID)\n"
    "\n"
    "Serves the files under a directory over HTTP/1.1 and echoes WebSocket messages on /ws.\n"
    "SIGTERM or SIGINT stops it gracefully (a second one at once); SIGHUP reopens the log.\n"
    "\n"
    "  WORKERS       worker threads, 1-256 (one more thread accepts connections)\n"
    "  IP            address to listen on: IPv4 (127.0.0.1, 0.0.0.0) or IPv6 (::1, or ::\n"
    "                for every address of both families)\n"
    "  PORT          TCP port, 1-65535\n"
    "\n"
    "When systemd passes a listening socket (LISTEN_PID is this process, LISTEN_FDS >= 1),\n"
    "the server accepts on it (the first one, fd 3) and IP and PORT may be left out.\n"
    "\n"
    "options:\n"
    "  --root DIR               directory to serve (default: www)\n"
    "  --log FILE               log file, appended to; - for standard error\n"
    "                           (default: /tmp/async-nostd.log)\n"
    "  --no-access-log          log errors and events only, not every request\n"
    "  --max-connections N      open connections at once; more get 503 (default: 10000)\n"
    "  --max-heap BYTES         heap for connections' tasks and buffers, reserved as address\n"
    "                           space (pages cost memory once used); used up, a request\n"
    "                           gets 503, a WebSocket close 1011 (default: 17179869184)\n"
    "  --header-timeout SECS    time to send a whole request head; then 408 (default: 10)\n"
    "  --body-timeout SECS      the same for a request body (default: 60)\n"
    "  --keepalive-timeout SECS idle time allowed between requests (default: 60)\n"
    "  --send-timeout SECS      time a client may stall reading a response (default: 60)\n"
    "  --linger-timeout SECS    after an error or a large file that ends a connection, time\n"
    "                           to read and drop what the client still sends, so it reads\n"
    "                           the answer, not a reset; 0 closes at once (default: 5)\n"
    "  --ws-max-message BYTES   largest WebSocket message, else 1009 (default: 16777216)\n"
    "  --ws-ping-interval SECS  ping a silent WebSocket; 1001 if no answer (default: 30)\n"
    "  --ws-max-backlog BYTES   unread replies before 1008 (default: 1048576)\n"
    "  --drain-timeout SECS     on SIGTERM/SIGINT, time to finish open responses (default: 10)\n"
    "  --defer-accept SECS      leave a new connection to the kernel until its first bytes\n"
    "                           arrive, or about SECS have passed; 0 accepts at once (default:\n"
    "                           1; a socket from systemd keeps its unit's DeferAcceptSec=)\n"
    "  --io ppoll|epoll|uring   how workers wait: ppoll scans every connection per wake-up,\n"
    "                           epoll and uring (io_uring) only ready ones (default: ppoll;\n"
    "                           see README, IO backends)\n"
    "  --user UID[:GID]         started as root: after binding, run as this user and group\n"
    "                           (GID defaults to UID; supplementary groups are dropped)\n"
    "  --no-sandbox             do not install the seccomp filter (default: installed once\n"
    "                           serving; a system call outside its list kills the process)\n"
    "  --version                print the version and exit\n"
    "  --help                   show this help and exit\n"
    "\n"
    "exit status: 0 stopped cleanly (or --help, --version); 1 the environment refused (address\n"
    "in use, log or root unusable, privilege drop failed) or a stop cut connections short;\n"
    "2 a bad command line.\n";

void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const long n = sys::write(fd, s.data(), s.size());
        if (n <= 0) return;
        s.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string_view errno_text(int err) {
    switch (-err) {
    case sys::ENOENT: return "no such file or directory";
    case sys::ENOTDIR: return "not a directory";
    case sys::EACCES: return "permission denied";
    case sys::EPERM: return "operation not permitted";
    case sys::EADDRINUSE: return "address already in use";
    case sys::EADDRNOTAVAIL: return "address not available on this machine";
    case sys::ENOMEM: return "out of memory";
    case sys::EMFILE: return "too many open files";
    case sys::ENOSPC: return "no space left on device";
    case sys::EINVAL: return "invalid argument";
    case sys::ENOTSOCK: return "not a socket";
    case sys::ENOSYS: return "not supported by this kernel";
    default: return "system error";
    }
}

// Prints "async-nostd: <a><b><c>" (and ": <errno text>" if err < 0) as one line; returns `code`.
int fail(int code, std::string_view a, std::string_view b = "", std::string_view c = "", int err = 0) {
    rt::FixedWriter<1024> w;
    w.put("async-nostd: ").put(a).put(b).put(c);
    if (err < 0) w.put(": ").put(errno_text(err)).put(" (errno ").put_int(-err).put(')');
    if (code == kExitUsage) w.put(" (see --help)");
    w.put('\n');
    write_all(2, w.view());
    return code;
}

struct Options {
    http::Config http;
    ws::Config ws;
    int workers = 0;
    std::string_view ip_text;
    std::uint16_t port = 0;
    bool sandbox = true;
    rt::IoBackend io = rt::IoBackend::ppoll;
    bool drop_user = false;
    unsigned uid = 0, gid = 0;
    const char* root = "www";
    const char* log = "/tmp/async-nostd.log";
    std::int64_t drain_ns = 10 * http::kSecond;
    std::size_t heap_bytes = rt::kDefaultArenaBytes;
    int defer_accept_s = 1;  // see net::listen_tcp
};

// A decimal from `min` to `max` (at most 18 digits, so it cannot overflow).
bool parse_number(std::string_view s, std::int64_t min, std::int64_t max, std::int64_t& out) {
    if (s.empty() || s.size() > 18) return false;
    std::int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return v >= min && v <= max;
}

constexpr std::int64_t kMiB = 1 << 20, kGiB = 1 << 30;

struct NumberFlag {
    std::string_view name;
    std::int64_t min, max;
};
constexpr NumberFlag kNumberFlags[] = {
    {"--max-connections", 1, 1'000'000},
    {"--header-timeout", 1, 86400},
    {"--body-timeout", 1, 86400},
    {"--keepalive-timeout", 1, 86400},
    {"--send-timeout", 1, 86400},
    {"--ws-max-message", 1, kGiB},
    {"--ws-ping-interval", 1, 86400},
    {"--ws-max-backlog", 1, kGiB},
    {"--drain-timeout", 1, 86400},
    {"--defer-accept", 0, 3600},
    {"--linger-timeout", 0, 86400},
    {"--max-heap", 4 * kMiB, kGiB << 10},
};
constexpr int kNumberFlagCount = sizeof kNumberFlags / sizeof kNumberFlags[0];

// "UID" or "UID:GID"; GID defaults to UID. (uid_t)-1 means "unchanged" to the kernel, so it
// is not a user.
bool parse_user(std::string_view s, unsigned& uid, unsigned& gid) {
    constexpr std::int64_t kMaxId = 4294967294;
    const std::size_t colon = s.find(':');
    std::int64_t u, g;
    if (!parse_number(s.substr(0, colon), 0, kMaxId, u)) return false;
    g = u;
    if (colon != std::string_view::npos && !parse_number(s.substr(colon + 1), 0, kMaxId, g)) return false;
    uid = static_cast<unsigned>(u), gid = static_cast<unsigned>(g);
    return true;
}

// Returns -1 to go on, or an exit code.
int parse_args(int argc, char** argv, Options& o) {
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            write_all(1, kUsage);
            return 0;
        }
        if (arg == "--version") {
            write_all(1, kVersion);
            return 0;
        }
        if (arg == "--no-access-log" || arg == "--no-sandbox") {
            (arg == "--no-sandbox" ? o.sandbox : o.http.access_log) = false;
            continue;
        }
        if (arg == "--io") {
            const std::string_view v = i + 1 < argc ? argv[i + 1] : "";
            if (v != "ppoll" && v != "epoll" && v != "uring") return fail(kExitUsage, "--io needs ppoll, epoll or uring");
            o.io = v == "epoll" ? rt::IoBackend::epoll : v == "uring" ? rt::IoBackend::uring : rt::IoBackend::ppoll;
            ++i;
            continue;
        }
        if (arg == "--user") {
            if (i + 1 == argc || !parse_user(argv[i + 1], o.uid, o.gid))
                return fail(kExitUsage, "--user needs UID or UID:GID, numbers from 0 to 4294967294");
            o.drop_user = true;
            ++i;
            continue;
        }
        if (arg == "--root" || arg == "--log") {
            if (i + 1 == argc) return fail(kExitUsage, arg, " needs a value");
            (arg == "--root" ? o.root : o.log) = argv[++i];
            continue;
        }
        int flag = 0;
        while (flag < kNumberFlagCount && arg != kNumberFlags[flag].name) ++flag;
        if (flag < kNumberFlagCount) {
            const NumberFlag& f = kNumberFlags[flag];
            std::int64_t v;
            if (i + 1 == argc || !parse_number(argv[i + 1], f.min, f.max, v)) {
                rt::FixedWriter<64> range;
                range.put(" needs a number from ").put_int(f.min).put(" to ").put_int(f.max);
                return fail(kExitUsage, arg, range.view());
            }
            ++i;
            switch (flag) {
            case 0: o.http.max_connections = static_cast<int>(v); break;
            case 1: o.http.header_timeout_ns = v * http::kSecond; break;
            case 2: o.http.body_timeout_ns = v * http::kSecond; break;
            case 3: o.http.keep_alive_timeout_ns = v * http::kSecond; break;
            case 4: o.http.send_timeout_ns = v * http::kSecond; break;
            case 5: o.ws.max_message = static_cast<std::uint64_t>(v); break;
            case 6: o.ws.ping_interval_ns = v * http::kSecond; break;
            case 7: o.ws.max_backlog = static_cast<std::uint64_t>(v); break;
            case 8: o.drain_ns = v * http::kSecond; break;
            case 9: o.defer_accept_s = static_cast<int>(v); break;
            case 10: o.http.linger_ns = v * http::kSecond; break;
            default: o.heap_bytes = static_cast<std::size_t>(v); break;
            }
            continue;
        }
        if (arg.size() > 1 && arg[0] == '-') return fail(kExitUsage, "unknown option '", arg, "'");
        switch (positional++) {
        case 0:
            if (std::int64_t v; parse_number(arg, 1, ex::kMaxWorkers, v)) o.workers = static_cast<int>(v);
            else return fail(kExitUsage, "WORKERS must be a number from 1 to 256, not '", arg, "'");
            break;
        case 1:
            if (sys::sockaddr_any a; !net::socket_address(arg, 0, a))
                return fail(kExitUsage, "IP must be an IPv4 or IPv6 address like 127.0.0.1 or ::1, not '", arg, "'");
            o.ip_text = arg;
            break;
        case 2:
            if (!net::parse_port(arg, o.port)) return fail(kExitUsage, "PORT must be a number from 1 to 65535, not '", arg, "'");
            break;
        default:
            return fail(kExitUsage, "unexpected argument '", arg, "'");
        }
    }
    if (positional == 0) return fail(kExitUsage, "missing arguments: WORKERS IP PORT");
    if (positional == 2) return fail(kExitUsage, "missing argument: PORT");
    return -1;
}

// Socket activation (sd_listen_fds(3)): the first socket systemd passed when LISTEN_PID names
// this process; 0 when none was passed; -errno when the one passed cannot be served.
int inherited_listener() {
    std::int64_t pid, count;
    if (!parse_number(rt::getenv("LISTEN_PID"), 1, 1 << 22, pid) || pid != sys::getpid()) return 0;
    if (!parse_number(rt::getenv("LISTEN_FDS"), 1, 1 << 16, count)) return 0;
    if (const int r = net::adopt_listener(kFirstInheritedFd); r < 0) return r;
    return kFirstInheritedFd;
}

// --user: gives up root for good, before any other thread or any client exists (credentials
// belong to a thread, and the workers inherit these). Each step is checked, then the result is
// read back, and regaining root must fail.
int drop_privileges(unsigned uid, unsigned gid) {
    if (const int r = sys::setgroups(0, nullptr); r < 0) return r;
    if (const int r = sys::setresgid(gid, gid, gid); r < 0) return r;
    if (const int r = sys::setresuid(uid, uid, uid); r < 0) return r;
    unsigned real, effective, saved;
    if (sys::getresuid(&real, &effective, &saved) < 0 || real != uid || effective != uid || saved != uid) return -sys::EPERM;
    if (sys::getresgid(&real, &effective, &saved) < 0 || real != gid || effective != gid || saved != gid) return -sys::EPERM;
    if (uid != 0 && sys::setresuid(0, 0, 0) == 0) return -sys::EPERM;
    return 0;
}

// The server may hold many sockets: take the whole open-file allowance the hard limit permits.
void raise_fd_limit() {
    sys::rlimit lim;
    if (sys::prlimit(sys::RLIMIT_NOFILE, nullptr, &lim) == 0 && lim.cur < lim.max) {
        lim.cur = lim.max;
        sys::prlimit(sys::RLIMIT_NOFILE, &lim, nullptr);
    }
}

// Reopens the log if a SIGHUP asked for it.
void reopen_log_if_asked() {
    if (!rt::take_reopen_request()) return;
    const int e = rt::log_reopen();
    rt::LogLine("log-reopened").put(" errno=").put_int(-e);
}

// Graceful stop: no new connections; responses under way finish, idle connections close,
// WebSockets get 1001; the process exits once every worker has drained, when the drain time is
// up, or at a second stop signal. Exit status 0 when everything finished, 1 when some was cut.
[[noreturn]] void stop(int listen_fd, ex::Worker* workers, int count, std::int64_t drain_ns) {
    sys::close(listen_fd);  // already no longer the listening socket: see rt::signals_take_on_this_thread
    const int signo = rt::stop_signal();
    ex::stop_workers(workers, count);
    rt::LogLine("stopping").put(" signal=").put_int(signo).put(" drain-timeout=").put_int(drain_ns / http::kSecond).put('s');
    const std::int64_t until = rt::clock_refresh().monotonic_ns + drain_ns;
    const char* cut = "drain timeout";
    while (rt::clock_refresh().monotonic_ns < until) {
        int drained = 0;
        while (drained < count && workers[drained].drained.load(rt::acquire)) ++drained;
        if (drained == count) {
            rt::LogLine("stop").put(" drained");
            sys::exit_group(0);
        }
        const sys::timespec tick{0, 20'000'000};
        sys::nanosleep(&tick);  // a signal cuts it short
        reopen_log_if_asked();
        if (rt::stop_signals() > 1) {
            cut = "second signal";
            break;
        }
    }
    int open = 0;
    for (int i = 0; i < count; ++i) open += __atomic_load_n(&workers[i].open_connections, __ATOMIC_RELAXED);
    rt::LogLine("stop").put(" cut=").put_int(open).put(" reason=\"").put(cut).put('"');
    sys::exit_group(1);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;  // parsing takes no memory from the heap, which is sized by it
    if (const int code = parse_args(argc, argv, o); code >= 0) return code;
    if (const int r = rt::memory_init(o.heap_bytes); r < 0)
        return fail(kExitFailure, "cannot reserve the heap", "", "", r);
    rt::memory_attach_thread(0);

    const int root_fd = sys::openat(sys::AT_FDCWD, o.root, sys::O_PATH | sys::O_DIRECTORY | sys::O_CLOEXEC);
    if (root_fd < 0) return fail(kExitFailure, "cannot use root '", o.root, "'", root_fd);
    if (const int r = rt::log_open(o.log); r < 0) return fail(kExitFailure, "cannot open log '", o.log, "'", r);

    raise_fd_limit();
    // Stop and reopen signals interrupt the acceptor (runtime/signals.h). They are blocked before
    // the workers start, so every worker inherits the mask and none is interrupted; until the
    // acceptor takes them, they wait.
    const std::uint64_t handled = sys::sigbit(sys::SIGTERM) | sys::sigbit(sys::SIGINT) | sys::sigbit(sys::SIGHUP);
    sys::rt_sigprocmask(sys::SIG_BLOCK, &handled, nullptr);
    // A peer that closes while we write must cost an EPIPE, not the process.
    const sys::kernel_sigaction ignore{sys::SIG_IGN, 0, nullptr, 0};
    sys::rt_sigaction(sys::SIGPIPE, &ignore, nullptr);

    int listen_fd = inherited_listener();
    const bool inherited = listen_fd > 0;
    if (listen_fd < 0) return fail(kExitFailure, "cannot use the socket passed in LISTEN_FDS (fd 3)", "", "", listen_fd);
    if (!inherited) {
        if (o.port == 0) return fail(kExitUsage, "missing arguments: IP PORT (no socket was passed in LISTEN_FDS)");
        sys::sockaddr_any addr;
        net::socket_address(o.ip_text, o.port, addr);
        listen_fd = net::listen_tcp(addr, kListenBacklog, o.defer_accept_s);
        if (listen_fd < 0) {
            rt::FixedWriter<32> port;
            port.put(" port ").put_uint(o.port);
            return fail(kExitFailure, "cannot listen on ", o.ip_text, port.view(), listen_fd);
        }
    }
    sys::sockaddr_any bound{};  // for the log: the address and port actually listened on
    unsigned bound_len = sizeof bound;
    sys::getsockname(listen_fd, &bound, &bound_len);
    if (o.drop_user) {
        if (const int r = drop_privileges(o.uid, o.gid); r < 0) {
            rt::FixedWriter<64> ids;
            ids.put_uint(o.uid).put(':').put_uint(o.gid);
            return fail(kExitFailure, "cannot drop privileges to ", ids.view(), "", r);
        }
    }

    o.http.root_fd = root_fd;
    o.http.upgrade_paths[0] = ws::kEchoPath;
    o.http.upgrade_paths[1] = ws::kChatPath;
    o.http.upgrade = ws::upgrade;
    o.http.metrics = ws::write_metrics;
    http::configure(o.http);
    ws::configure(o.ws);
    ex::Worker* workers = nullptr;
    if (const int r = ex::start_workers(o.workers, o.io, http::on_connection, http::file_cache_end_turn, &workers); r < 0) {
        if (r == -sys::ENOMEM && rt::arena_used_bytes() + (1 << 20) > o.heap_bytes)
            return fail(kExitFailure, "cannot start the workers: --max-heap is too small for them", "", "", r);
        if (o.io == rt::IoBackend::uring)
            return fail(kExitFailure, "cannot set up io_uring (disabled, or Linux before 5.11? --io epoll works without it)", "", "", r);
        return fail(kExitFailure, "cannot start the workers", "", "", r);
    }

    // The root's descriptor is the non-socket a stop signal puts in the listening socket's place.
    if (const int r = rt::signals_take_on_this_thread(listen_fd, root_fd); r < 0)
        return fail(kExitFailure, "cannot handle signals", "", "", r);
    const int pid = sys::getpid();
    if (o.sandbox) {
        if (const int r = rt::sandbox_install(); r < 0)
            return fail(kExitFailure, "cannot install the seccomp sandbox (--no-sandbox runs without it)", "", "", r);
    }
    {
        rt::clock_refresh();
        rt::LogLine line("start");
        line.put(" workers=").put_int(o.workers).put(" listen=");
        net::put_peer(line, bound);
        if (inherited) line.put(" inherited-fd=").put_int(listen_fd);
        line.put(" root=").put(o.root).put(" pid=").put_int(pid).put(" sandbox=").put(o.sandbox ? "seccomp" : "off");
        line.put(" io=").put(o.io == rt::IoBackend::epoll ? "epoll" : o.io == rt::IoBackend::uring ? "uring" : "ppoll");
        if (o.drop_user) line.put(" user=").put_uint(o.uid).put(':').put_uint(o.gid);
    }
    rt::Inbox* inboxes[ex::kMaxWorkers];
    for (int i = 0; i < o.workers; ++i) inboxes[i] = &workers[i].inbox;
    for (;;) {
        const int r = rt::run_acceptor(listen_fd, inboxes, o.workers);
        if (r < 0) {
            rt::LogLine("error").put(" acceptor stopped (errno ").put_int(-r).put(')');
            return kExitFailure;
        }
        reopen_log_if_asked();
        if (rt::stop_signals()) stop(listen_fd, workers, o.workers, o.drain_ns);
    }
}
