#!/usr/bin/python3
"""HTTP and WebSocket benchmark of async-nostd against nginx, h2o and Node's ws (`make bench`).

HTTP: runs wrk against async-nostd, nginx (Debian nginx-light) and h2o (Debian h2o), each started
here with its own configuration in a temporary directory, the same number of workers, access logs
off, serving the same temporary document root, in one run. For every scenario it prints requests
per second, p50 and p99 latency, requests per server CPU-second (utime+stime of all the server's
processes over the load, from /proc), the share of that CPU time spent in the server's own code
(utime; the rest is the kernel's) and each figure's ratio to the better peer; then idle RSS and
the targets from the issue with PASS/FAIL. A per-CPU-second target also shows the ratio
async-nostd would reach if its own code took no time at all (its kernel time alone against the
peer's whole CPU time): when that is below the target, no change to async-nostd's code alone
can meet it with the same system calls.

async-nostd takes part once per IO backend, each a server of its own in every table: async-nostd
(no --io: the default, ppoll), async-nostd-epoll (--io epoll) and async-nostd-uring (--io uring),
the same binary. Each has its own
"vs best peer" row (the best of the other servers, never the other backend) and its own target
lines, prefixed with its name.

HTTP scenarios: keep-alive 2 KiB at 100, 1,000 and 10,000 connections (c10000: wrk needs a
descriptor per connection, so RLIMIT_NOFILE must allow 10,000 and more: it is raised to the hard
limit), Connection: close, a 100 MiB file, and idle10k: wrk -c100 keep-alive on the 2 KiB file
while this process holds 10,000 other keep-alive connections open and silent (each after one
answered GET), on freshly started servers; it shows what a wait costs when most connections
are idle (ppoll hands the kernel all of them on every wait). Every server is configured for
more than 10,000 connections (async-nostd --max-connections 20000, h2o max-connections 20000,
nginx worker_connections half the descriptor limit per worker).

WebSocket: the peer is Node's ws package (bench/ws_echo.js: an echo server on /ws, permessage-
deflate off, one Node process unless --node-workers says otherwise; ws is installed with npm
into bench/.node). The load client is bench/ws_load.cpp, compiled here with g++ into
build/bench/ when missing or stale: one epoll thread, C connections, each a closed loop of one
masked message of S bytes and its verified echo. Scenarios: 100 connections x 32 B text, 1,000 x
32 B text, 50 x 16 KiB binary (messages/s, p50/p99 round trip, messages per server CPU-second,
over the measured window after a warm-up on the same connections), and 10,000 idle WebSockets
on a freshly started server (RSS per connection: the server's RSS with them open less its RSS
before, over the count). Chat (chat1000): 1,000 members of the broadcast room on /chat (ws_load
chat; ws_echo.js serves the same room), 10 of them senders, each a closed loop (its next 64 B
message when every member has its last one): deliveries per second over all members, p50/p99
latency from send to receipt, deliveries per server CPU-second; every delivery is checked for
per-sender order, nothing lost, no member dropped. async-nostd runs with --max-connections 20000
throughout.

    /usr/bin/python3 bench/bench.py                 # everything, 10 s per run (a few minutes)
    /usr/bin/python3 bench/bench.py --quick         # 2 s runs: a smoke check
    /usr/bin/python3 bench/bench.py --only keepalive --only close --workers 2
    /usr/bin/python3 bench/bench.py --only ws100,ws1000,ws16k,wsidle,chat1000  # the WebSocket part alone

Standard library only. Missing tools (wrk, nginx-light, h2o; ws from npm) are installed unless
--no-install is given (apt-get as root, or through sudo); a peer that cannot be installed or
started is reported and skipped, and only the tools and servers the chosen scenarios need are
set up. Exit status: 0 when the bench ran (a missed target is printed, not an error); 1 when a
server could not be started or the load tool failed against async-nostd; 2 for bad usage.

New scenarios are entries of SCENARIOS (a `runner` replaces the wrk one, as for WebSocket echo);
new servers or IO backends are entries of make_servers().
"""

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

SMALL_NAME = "2k.html"
SMALL_SIZE = 2048
BIG_NAME = "100m.bin"
BIG_SIZE = 100 * 1024 * 1024
MIB = 1024 * 1024

# ---------------------------------------------------------------------------------------------
# Scenarios. Each is one measured load per server, after a short warm-up with the same load.
#   name, title    --only NAME selects it; the title heads its table
#   path           the file fetched
#   connections    wrk -c
#   headers        extra request headers (wrk -H)
#   timeout        wrk --timeout, seconds
#   mbps           also report MiB/s (large files)
#   targets        (metric, minimum ratio to the better peer, label); metric is a key of METRICS
#   kind           "http" (the default) or "ws": which servers take part (Server.kinds)
#   runner         optional: a function(scenario, server, args, ctx) -> result dict (see run_wrk)
#   metrics        optional: the table's columns (default: scenario_metrics()); the first one
#                  picks the median run with --rounds
#   unit           optional: what the count column counts ("requests")
#   report         optional: a function(scenario, results, servers) printing the table
#   fresh          optional: restart each server before the scenario (memory figures)
#   limits         optional: absolute targets (metric, maximum, label, unit) -> PASS/FAIL
#   idle_connections  optional (wrk scenarios): this many other keep-alive connections, each after
#                  one answered GET of idle_path, are held open and silent through the warm-up and
#                  the measured run (IdleConnections); one the server closed meanwhile is an error
# WebSocket scenarios (kind "ws"): ws_connections, ws_size (bytes), ws_binary; or ws_idle (count);
# or chat_members, chat_senders, chat_next ("all" or "own": see ws_load.cpp), ws_size (the chat room).
# ---------------------------------------------------------------------------------------------
SCENARIOS = [
    dict(name="keepalive", title="keep-alive, 2 KiB file, 100 connections",
         path="/" + SMALL_NAME, connections=100, headers=[], timeout=5,
         targets=[("req_s", 1.0, "keep-alive 2 KiB, 100 conns: req/s"),
                  ("req_per_cpu", 1.3, "keep-alive 2 KiB, 100 conns: requests per server CPU-second")]),
    dict(name="close", title="Connection: close, 2 KiB file, 100 connections",
         path="/" + SMALL_NAME, connections=100, headers=["Connection: close"], timeout=5,
         targets=[("req_s", 1.0, "Connection: close 2 KiB, 100 conns: req/s")]),
    dict(name="c1000", title="keep-alive, 2 KiB file, 1,000 connections",
         path="/" + SMALL_NAME, connections=1000, headers=[], timeout=10,
         targets=[("req_s", 1.0, "keep-alive 2 KiB, 1,000 conns: req/s")]),
    dict(name="c10000", title="keep-alive, 2 KiB file, 10,000 connections",
         path="/" + SMALL_NAME, connections=10000, headers=[], timeout=15),
    dict(name="idle10k", title="keep-alive, 2 KiB file, 100 connections, with 10,000 idle keep-alive connections open",
         path="/" + SMALL_NAME, connections=100, headers=[], timeout=10, idle_connections=10000,
         idle_path="/" + SMALL_NAME, fresh=True),
    dict(name="100m", title="100 MiB file, 4 connections",
         path="/" + BIG_NAME, connections=4, headers=[], timeout=60, mbps=True,
         targets=[("mib_s", 1.0, "100 MiB file, 4 conns: MiB/s")]),
]

IDLE_RSS_TARGET_MIB = 1.0
WS_IDLE_RSS_TARGET = 1024  # bytes of server RSS per idle WebSocket
WS_MAX_CONNECTIONS = 20000  # async-nostd's --max-connections (h2o's max-connections is the same)
WS_METRICS = ["msg_s", "p50", "p99", "msg_per_cpu"]

# What each metric means: (column header, higher is better?)
METRICS = {
    "req_s": ("req/s", True),
    "mib_s": ("MiB/s", True),
    "p50": ("p50", False),
    "p99": ("p99", False),
    "req_per_cpu": ("req/CPU-s", True),
    "msg_s": ("msg/s", True),
    "msg_per_cpu": ("msg/CPU-s", True),
    "rss_per_conn": ("RSS/conn", False),
}


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------

def which(name):
    path = shutil.which(name)
    if path:
        return path
    for d in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


TOOLS = [("wrk", "wrk"), ("nginx", "nginx-light"), ("h2o", "h2o"), ("node", "nodejs")]
POLICY_RC_D = "/usr/sbin/policy-rc.d"


def install_missing(wanted):
    """Installs the Debian packages of the missing tools in `wanted` (binary names). Returns
    {binary: reason} for those still missing. Services the packages would start are blocked with
    a policy-rc.d that answers 101, created only if there is none and removed afterwards."""
    missing = [(b, p) for b, p in TOOLS if b in wanted and not which(b)]
    if not missing:
        return {}
    root = os.geteuid() == 0
    sudo = [] if root else ["sudo"]
    if not root and not shutil.which("sudo"):
        return {b: "not installed, and not root and no sudo to install %s" % p for b, p in missing}
    log("installing: %s (apt-get)" % " ".join(p for _, p in missing))
    created_policy = False
    failed = {}
    try:
        if not os.path.exists(POLICY_RC_D):
            script = "#!/bin/sh\n# written by async-nostd bench/bench.py while it installs packages\nexit 101\n"
            if root:
                with open(POLICY_RC_D, "w") as f:
                    f.write(script)
                os.chmod(POLICY_RC_D, 0o755)
            else:
                subprocess.run(sudo + ["sh", "-c", "cat > %s && chmod 755 %s" % (POLICY_RC_D, POLICY_RC_D)],
                               input=script.encode(), check=True)
            created_policy = True
        env_cmd = sudo + ["env", "DEBIAN_FRONTEND=noninteractive"]
        r = subprocess.run(env_cmd + ["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            log("warning: apt-get update failed: %s" % r.stderr.decode(errors="replace").strip()[-300:])
        for binary, pkg in missing:
            r = subprocess.run(env_cmd + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if not which(binary):
                failed[binary] = "apt-get install %s failed (status %d): %s" % (
                    pkg, r.returncode, r.stderr.decode(errors="replace").strip()[-300:])
    finally:
        if created_policy:
            if root:
                os.unlink(POLICY_RC_D)
            else:
                subprocess.run(sudo + ["rm", "-f", POLICY_RC_D])
    return failed


def tool_version(cmd):
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        return r.stdout.decode(errors="replace").strip().splitlines()[0]
    except Exception as e:  # noqa: BLE001 - only a label
        return "? (%s)" % e


# ---------------------------------------------------------------------------------------------
# /proc
# ---------------------------------------------------------------------------------------------

def read_stat(pid):
    """Returns (ppid, utime+stime ticks, starttime, state, utime ticks) of a process, or None if it
    is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    # rest[0] is field 3 (state): field n is rest[n - 3].
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[19]), rest[0], int(rest[11])


def process_tree(root_pid):
    """The root and all its descendants: {pid: (cpu ticks, starttime, user cpu ticks)}."""
    children = {}
    stats = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        st = read_stat(pid)
        if st is None:
            continue
        stats[pid] = st
        children.setdefault(st[0], []).append(pid)
    out = {}
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        if pid in stats and pid not in out:
            out[pid] = (stats[pid][1], stats[pid][2], stats[pid][4])
            todo.extend(children.get(pid, []))
    return out


def cpu_seconds(before, after, user_only=False):
    """CPU seconds (utime+stime, or utime alone) the tree used between two process_tree()
    snapshots. A process that appeared counts from zero; one that vanished counts until its last
    snapshot."""
    i = 2 if user_only else 0
    ticks = 0
    for pid, entry in after.items():
        b = before.get(pid)
        ticks += entry[i] - (b[i] if b and b[1] == entry[1] else 0)
    return ticks / CLK_TCK


def rss_bytes(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------

def machine_busy(seconds=1.0):
    """The share of the machine's CPU time not idle over `seconds` (0..1), from /proc/stat."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 1 - (i1 - i0) / (t1 - t0) if t1 > t0 else 0.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    # The server's main process gets SIGKILL if the bench dies without its `finally` (SIGKILL).
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


class Server:
    """One server under test. Subclasses write their configuration and command line."""
    name = "?"
    ours = False
    tool = None  # the binary that must exist (None: checked by the subclass)
    kinds = ("http",)  # the kinds of scenario it takes part in

    def __init__(self, args):
        self.args = args
        self.proc = None
        self.port = None
        self.dir = None
        self.known = {}  # pid -> starttime of every process of the tree seen so far
        self.note = ""
        self.version = ""
        self.error_files = []

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def command(self, docroot):
        raise NotImplementedError

    def missing(self):
        """A reason this server cannot run, or None."""
        return None

    def start(self, docroot, base_tmp):
        self.docroot, self.base_tmp = docroot, base_tmp
        self.dir = tempfile.mkdtemp(prefix=self.name + "-", dir=base_tmp)
        self.port = free_port()
        cmd = self.command(docroot)
        self.cmdline = cmd
        self.out = open(os.path.join(self.dir, "stdout-stderr.txt"), "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT,
                                     cwd=self.dir, preexec_fn=_die_with_parent, start_new_session=True)
        return self.wait_ready()

    def restart(self):
        """Stops the server and starts it again afresh (new directory and port)."""
        self.stop()
        return self.start(self.docroot, self.base_tmp)

    def ready(self):
        """Whether the server answers as it should yet: (True, None) or (False, why not)."""
        status, body, _ = http_get("127.0.0.1", self.port, "/" + SMALL_NAME)
        if status == 200 and body == small_body():
            return True, None
        return False, "GET /%s answered %d with %d bytes" % (SMALL_NAME, status, len(body))

    def wait_ready(self, timeout=15.0):
        """Waits until the server answers GET of the small file with the expected body. Returns
        None when it does, or why not."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "exited with status %d: %s" % (self.proc.returncode, self.output_tail())
            try:
                ok, last = self.ready()
                if ok:
                    self.snapshot()
                    return None
            except OSError as e:
                last = str(e)
            time.sleep(0.05)
        return "not ready after %.0f s (%s): %s" % (timeout, last, self.output_tail())

    def output_tail(self):
        texts = []
        for path in [os.path.join(self.dir, "stdout-stderr.txt")] + self.error_files:
            try:
                with open(path, "rb") as f:
                    t = f.read().decode(errors="replace").strip()
                if t:
                    texts.append("%s: %s" % (os.path.basename(path), t[-600:]))
            except OSError:
                pass
        return " | ".join(texts) or "(no output)"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def snapshot(self):
        tree = process_tree(self.proc.pid) if self.alive() else {}
        for pid, entry in tree.items():
            self.known[pid] = entry[1]
        return tree

    def stop(self):
        """SIGTERM to the main process, a wait, then SIGKILL to whatever of its tree is left.
        Only processes this bench started (the main one and its descendants, checked by start
        time so a reused PID is never hit) are signalled."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.snapshot()
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        deadline = time.monotonic() + 3
        for pid, start in self.known.items():
            if pid == self.proc.pid:
                continue
            while True:
                st = read_stat(pid)
                if st is None or st[2] != start or st[3] in ("Z", "X"):
                    break
                if time.monotonic() > deadline:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    break
                time.sleep(0.05)
        self.out.close()


class AsyncNostd(Server):
    """async-nostd with one IO backend: `io` None runs the binary's default (ppoll; no --io on the
    command line, as before the backends existed, so an older binary runs too), "epoll" or "uring"
    adds --io. Each backend is a server of its own in the tables (async-nostd, async-nostd-epoll,
    async-nostd-uring)."""
    ours = True
    kinds = ("http", "ws")

    def __init__(self, args, io=None, no_access_log=True):
        super().__init__(args)
        self.io = io
        self.name = "async-nostd" + ("-" + io if io else "")
        self.binary = os.path.abspath(args.binary)
        self.no_access_log = no_access_log

    def missing(self):
        if not os.access(self.binary, os.X_OK):
            return "%s not found: run make first" % self.binary
        return None

    def command(self, docroot):
        cmd = [self.binary, str(self.args.workers), "127.0.0.1", str(self.port), "--root", docroot,
               "--max-connections", str(WS_MAX_CONNECTIONS)]
        if self.io:
            cmd += ["--io", self.io]
        if self.no_access_log:
            logfile = os.path.join(self.dir, "async-nostd.log")
            self.error_files = [logfile]
            return cmd + ["--log", logfile, "--no-access-log"]
        return cmd + ["--log", "/dev/null"]

    def start(self, docroot, base_tmp):
        # Run a copy, so a rebuild of the binary in the work tree during the bench changes nothing
        # (a restart runs the same copy). Every backend runs the same copy: the first to start
        # makes it (copying over a running executable would fail with ETXTBSY).
        copy = os.path.join(base_tmp, "async-nostd")
        if self.binary != copy:
            if not os.path.exists(copy):
                shutil.copy2(self.binary, copy)
            self.version = "%s (%d bytes)" % (self.binary, os.path.getsize(copy))
            self.binary = copy
        io = "--io " + self.io if self.io else "default IO backend (ppoll)"
        why = super().start(docroot, base_tmp)
        if why and self.no_access_log and self.proc.returncode == 2:
            # A binary from before --no-access-log: the access log goes to /dev/null instead.
            self.note = "%s; --no-access-log rejected (%s); used --log /dev/null" % (io, self.output_tail())
            self.out.close()
            self.no_access_log = False
            why = super().start(docroot, base_tmp)
        elif not why:
            self.note = "%s, --no-access-log" % io if self.no_access_log else io
        return why


class Nginx(Server):
    name = "nginx"
    tool = "nginx"

    def missing(self):
        return None if which("nginx") else "nginx not installed"

    def command(self, docroot):
        d = self.dir
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if nofile == resource.RLIM_INFINITY:
            nofile = 65536
        conns = max(1024, min(65536, nofile // 2))
        user = "user root root;  # the bench runs as root: no switch to nobody\n" if os.geteuid() == 0 else ""
        temps = "".join("    %s_temp_path %s/%s;\n" % (t, d, t)
                        for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = f"""# nginx for async-nostd bench/bench.py
{user}worker_processes {self.args.workers};
worker_rlimit_nofile {nofile};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
    worker_connections {conns};
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000000;
    keepalive_timeout 75s;
    types {{
        text/html html;
        text/plain txt;
        application/octet-stream bin;
    }}
    default_type application/octet-stream;
{temps}    server {{
        listen 127.0.0.1:{self.port} backlog=4096;  # async-nostd's and h2o's (net.core.somaxconn caps all)
        root {docroot};
    }}
}}
"""
        path = os.path.join(d, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.error_files = [os.path.join(d, "error.log")]
        self.note = "%d workers, sendfile, tcp_nopush" % self.args.workers
        return [which("nginx"), "-c", path, "-p", d + "/", "-g", "daemon off;"]


class H2o(Server):
    name = "h2o"
    tool = "h2o"

    def missing(self):
        return None if which("h2o") else "h2o not installed"

    def command(self, docroot):
        d = self.dir
        user = "user: root  # the bench runs as root: no switch to nobody\n" if os.geteuid() == 0 else ""
        conf = f"""# h2o for async-nostd bench/bench.py (no access-log directive: no access log)
{user}num-threads: {self.args.workers}
max-connections: 20000
http1-request-timeout: 75  # idle keep-alive (10 s by default) as nginx's keepalive_timeout: idle10k holds them longer
pid-file: {d}/h2o.pid
error-log: {d}/error.log
listen:
  host: 127.0.0.1
  port: {self.port}
hosts:
  default:
    paths:
      /:
        file.dir: {docroot}
"""
        path = os.path.join(d, "h2o.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.error_files = [os.path.join(d, "error.log")]
        self.note = "%d threads" % self.args.workers
        return [which("h2o"), "-c", path]


class WsNode(Server):
    """Node's ws package echoing on /ws (bench/ws_echo.js), the WebSocket peer."""
    name = "ws"
    tool = "node"
    kinds = ("ws",)

    def missing(self):
        if not which("node"):
            return "node not installed"
        if not os.path.isfile(os.path.join(WS_MODULE, "package.json")):
            return "the ws package is not installed in %s" % os.path.dirname(WS_MODULE)
        return None

    def command(self, docroot):
        n = self.args.node_workers
        self.note = ("1 Node process (single-threaded, as ws is normally run)" if n == 1 else
                     "%d Node processes (cluster module)" % n)
        self.version = "ws %s on node %s" % (ws_version(), tool_version([which("node"), "--version"]))
        return [which("node"), os.path.join(HERE, "ws_echo.js"), str(self.port), str(n)]

    def ready(self):
        return ws_echo_check(self.port)


def make_servers(args):
    return [AsyncNostd(args), AsyncNostd(args, io="epoll"), AsyncNostd(args, io="uring"), Nginx(args), H2o(args),
            WsNode(args)]


# ---------------------------------------------------------------------------------------------
# HTTP helpers and the document root
# ---------------------------------------------------------------------------------------------

_small = None


def small_body():
    global _small
    if _small is None:
        line = b"async-nostd benchmark file, 2 KiB of text.\n"
        _small = (line * (SMALL_SIZE // len(line) + 1))[:SMALL_SIZE - 1] + b"\n"
    return _small


def make_docroot(base, big=True):
    """The document root: the small file, and the big one unless `big` is false (WebSocket
    scenarios alone need only the small one, which async-nostd's readiness check fetches)."""
    root = os.path.join(base, "www")
    os.mkdir(root)
    with open(os.path.join(root, SMALL_NAME), "wb") as f:
        f.write(small_body())
    if big:
        chunk = bytes(range(256)) * 4096  # 1 MiB, not sparse, not zeros
        with open(os.path.join(root, BIG_NAME), "wb") as f:
            for _ in range(BIG_SIZE // len(chunk)):
                f.write(chunk)
    # Readable by any worker user; the files stay in the page cache for every server alike.
    os.chmod(base, 0o755)
    os.chmod(root, 0o755)
    for name in (SMALL_NAME, BIG_NAME) if big else (SMALL_NAME,):
        os.chmod(os.path.join(root, name), 0o644)
    return root


def http_get(host, port, path, method="GET"):
    c = http.client.HTTPConnection(host, port, timeout=5)
    try:
        c.request(method, path)
        r = c.getresponse()
        body = r.read()
        return r.status, body, r.msg  # headers, looked up case-insensitively
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------------

WRK_LUA = r"""
-- Written by async-nostd bench/bench.py: the summary as one JSON line after wrk's own report.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""

_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def parse_duration_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError("bad latency %r" % text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk_text(out):
    """wrk's own report: requests, duration, percentiles from "Latency Distribution", errors."""
    r = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h),\s*([\d.]+)([KMGT]?B) read", out)
    if m:
        r["requests"] = int(m.group(1))
        r["duration_us"] = float(m.group(2)) * _UNITS[m.group(3)]
        r["bytes"] = float(m.group(4)) * {"B": 1, "KB": 1024, "MB": MIB, "GB": 1024 * MIB, "TB": MIB * MIB}[m.group(5)]
    dist = out.split("Latency Distribution", 1)
    if len(dist) == 2:
        for pct, val in re.findall(r"^\s*(\d+)%\s+(\S+)\s*$", dist[1], re.M):
            if pct in ("50", "99"):
                r["p%s_us" % pct] = parse_duration_us(val)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    for k in ("connect", "read", "write", "timeout"):
        r[k] = int(m.group(("connect", "read", "write", "timeout").index(k) + 1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["status"] = int(m.group(1)) if m else 0
    return r


def run_child(cmd, timeout, capture=True):
    """subprocess.run, but the child is killed and reaped before any exception (Ctrl-C, SIGTERM,
    timeout) goes on. Returns (status, stdout, stderr)."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        o, e = p.communicate(timeout=timeout)
        return p.returncode, (o or b"").decode(errors="replace"), (e or b"").decode(errors="replace")
    except BaseException:
        p.kill()
        p.wait()
        raise


def wrk_command(args, scenario, server, seconds, script):
    conns = scenario["connections"]
    cmd = [which("wrk"), "-t%d" % min(args.threads, conns), "-c%d" % conns, "-d%ds" % seconds,
           "--latency", "--timeout", "%ds" % scenario.get("timeout", 5), "-s", script]
    for h in scenario.get("headers", []):
        cmd += ["-H", h]
    return cmd + [server.url(scenario["path"])]


class IdleConnections:
    """N keep-alive HTTP connections held open by this process: each sends one GET and reads its
    whole answer (head and Content-Length bytes), then stays silent, so the server has it waiting
    for a next request that never comes. Opened through one epoll loop, at most `window` connects
    in flight (the servers' listen backlogs are 4,096 or less). Needs one descriptor each: main()
    raises RLIMIT_NOFILE to its hard limit."""

    def __init__(self, port, n, path, window=512):
        self.port, self.n, self.path, self.window = port, n, path, window
        self.socks = []  # the connections answered and held
        self.errors = {}
        self.first_error = ""
        self.open_seconds = 0.0

    def _error(self, kind, text):
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if not self.first_error:
            self.first_error = text

    def open(self, timeout=60.0):
        import errno
        import select
        request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (self.path, self.port)).encode()
        ep = select.epoll()
        pending = {}  # fd -> [socket, received bytes]
        started = 0
        t0 = time.monotonic()
        deadline = t0 + timeout
        try:
            while (started < self.n or pending) and time.monotonic() < deadline:
                while started < self.n and len(pending) < self.window:
                    started += 1
                    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    c.setblocking(False)
                    rc = c.connect_ex(("127.0.0.1", self.port))
                    if rc not in (0, errno.EINPROGRESS):
                        c.close()
                        self._error("connect", "connect: %s" % os.strerror(rc))
                        continue
                    pending[c.fileno()] = [c, b""]
                    ep.register(c.fileno(), select.EPOLLOUT)
                for fd, ev in ep.poll(0.5):
                    c, buf = pending[fd]
                    done = failed = None
                    if ev & select.EPOLLOUT:
                        rc = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if rc:
                            failed = ("connect", "connect: %s" % os.strerror(rc))
                        else:
                            try:
                                c.send(request)  # a few dozen bytes: one send on a fresh socket
                                ep.modify(fd, select.EPOLLIN)
                            except OSError as e:
                                failed = ("write", "send: %s" % e)
                    elif ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                        try:
                            chunk = c.recv(65536)
                        except BlockingIOError:
                            chunk = None
                        except OSError as e:
                            chunk, failed = None, ("read", "recv: %s" % e)
                        if chunk == b"":
                            failed = ("read", "closed before the answer was complete (%d bytes)" % len(buf))
                        elif chunk:
                            buf = pending[fd][1] = buf + chunk
                            head, sep, body = buf.partition(b"\r\n\r\n")
                            if sep:
                                m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
                                status = head[9:12]
                                if not m:
                                    failed = ("read", "answer without Content-Length: %r" % head[:80])
                                elif len(body) >= int(m.group(1)):
                                    if not status.startswith(b"2"):
                                        failed = ("status", "answered %r" % head.split(b"\r\n", 1)[0])
                                    elif len(body) > int(m.group(1)):
                                        failed = ("read", "more than the answer: %d bytes" % len(body))
                                    else:
                                        done = True
                    if done or failed:
                        ep.unregister(fd)
                        del pending[fd]
                        if done:
                            self.socks.append(c)
                        else:
                            c.close()
                            self._error(*failed)
            for c, _ in pending.values():
                c.close()
                self._error("timeout", "not answered in %.0f s" % timeout)
            pending.clear()
        finally:
            ep.close()
            for c, _ in pending.values():
                c.close()
        self.open_seconds = time.monotonic() - t0
        return len(self.socks)

    def check(self):
        """How many of the held connections the server has closed (or sent anything on) since."""
        gone = 0
        for c in self.socks:
            try:
                data = c.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                gone += 1
                if data and not self.first_error:
                    self.first_error = "data on an idle connection"
                elif not self.first_error:
                    self.first_error = "the server closed an idle connection"
            except BlockingIOError:
                pass
            except OSError as e:
                gone += 1
                if not self.first_error:
                    self.first_error = "idle connection: %s" % e
        return gone

    def close(self):
        for c in self.socks:
            c.close()
        self.socks = []


def run_wrk(scenario, server, args, ctx):
    """One scenario against one server: warm-up, then the measured run with CPU accounting; with
    `idle_connections`, while that many idle keep-alive connections are held open. Returns a result
    dict, with "error" set when it failed."""
    n = scenario.get("idle_connections")
    if not n:
        return run_wrk_load(scenario, server, args, ctx)
    idle = IdleConnections(server.port, n, scenario.get("idle_path", "/" + SMALL_NAME))
    http_get("127.0.0.1", server.port, "/" + SMALL_NAME)  # the baseline after one request, as idle RSS
    time.sleep(0.3)
    rss_before = rss_bytes(server.snapshot())
    try:
        opened = idle.open()
        if not server.alive():
            return {"error": "server died opening %d idle connections: %s" % (n, server.output_tail())}
        if not opened:
            return {"error": "no idle connection opened: %s" % idle.first_error}
        time.sleep(0.3)
        rss_idle = rss_bytes(server.snapshot())
        res = run_wrk_load(scenario, server, args, ctx)
        gone = idle.check()
    finally:
        idle.close()
    if "error" in res:
        return res
    errors = dict(res["errors"])
    for kind, count in idle.errors.items():
        errors["idle " + kind] = count
    if gone:
        errors["idle closed"] = gone
    res["errors"] = errors
    res["idle"] = dict(wanted=n, opened=opened, held=opened - gone, seconds=idle.open_seconds,
                       rss_before=rss_before, rss=rss_idle, first_error=idle.first_error)
    return res


def run_wrk_load(scenario, server, args, ctx):
    script = ctx["wrk_lua"]
    if args.warmup > 0:
        try:
            run_child(wrk_command(args, scenario, server, args.warmup, script),
                      args.warmup + scenario.get("timeout", 5) + 30, capture=False)
        except subprocess.TimeoutExpired:
            return {"error": "the warm-up wrk did not finish in time"}
        time.sleep(0.3)
    if not server.alive():
        return {"error": "server died during warm-up: " + server.output_tail()}
    cmd = wrk_command(args, scenario, server, args.duration, script)
    before = server.snapshot()
    try:
        status, out, err = run_child(cmd, args.duration + scenario.get("timeout", 5) + 60)
    except subprocess.TimeoutExpired:
        return {"error": "wrk did not finish in time"}
    after = server.snapshot()
    res = {"cmd": " ".join(cmd), "raw": out}
    if not server.alive():
        res["error"] = "server died during the run: " + server.output_tail()
        return res
    if status != 0:
        res["error"] = "wrk exited with %d: %s" % (status, (err + out)[-400:])
        return res
    m = re.search(r"^BENCH-JSON (\{.*\})$", out, re.M)
    data = json.loads(m.group(1)) if m else parse_wrk_text(out)
    if not data.get("requests") or not data.get("duration_us"):
        res["error"] = "no requests completed: " + out[-400:]
        return res
    secs = data["duration_us"] / 1e6
    good = data["requests"] - data["status"]
    cpu = cpu_seconds(before, after)
    res.update(
        requests=data["requests"], good=good, seconds=secs, cpu_s=cpu, cpu_user_s=cpu_seconds(before, after, True),
        req_s=good / secs,
        mib_s=data["bytes"] / secs / MIB,
        p50=data["p50_us"], p99=data["p99_us"],
        req_per_cpu=(good / cpu) if cpu > 0 else None,
        errors={k: data[k] for k in ("status", "connect", "read", "write", "timeout") if data.get(k)},
    )
    return res


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def fmt_latency(us):
    if us is None:
        return "-"
    if us < 1000:
        return "%.0fus" % us
    if us < 1e6:
        return "%.2fms" % (us / 1e3)
    return "%.2fs" % (us / 1e6)


def fmt_value(metric, v):
    if v is None:
        return "-"
    if metric in ("p50", "p99"):
        return fmt_latency(v)
    if metric == "mib_s":
        return "%.0f" % v
    return "{:,.0f}".format(v)


def fmt_user_share(r):
    """The part of a server's CPU time spent in its own code (utime), the rest being the kernel's."""
    if not r.get("cpu_s") or r.get("cpu_user_s") is None:
        return "-"
    return "%.0f%%" % (100.0 * r["cpu_user_s"] / r["cpu_s"])


def kernel_bound(ours, peer_per_cpu):
    """For a per-CPU-second metric: the ratio async-nostd would reach against a peer that does
    `peer_per_cpu` units per CPU-second if its own code took no time at all, i.e. with only the
    kernel time it spent on the same units. None without the figures."""
    kernel_s = (ours.get("cpu_s") or 0) - (ours.get("cpu_user_s") or 0)
    units = ours.get("good", ours.get("requests"))
    if not units or kernel_s <= 0 or not peer_per_cpu:
        return None
    return units / kernel_s / peer_per_cpu


def fmt_ratio(r):
    return "-" if r is None else "%.2fx" % r


def ratio(metric, ours, peer):
    """> 1 means ours is better, whichever way the metric goes."""
    if ours is None or peer is None or ours <= 0 or peer <= 0:
        return None
    return ours / peer if METRICS[metric][1] else peer / ours


def best_peer(metric, results, servers):
    """(value, server name) of the better peer for a metric, or (None, None)."""
    higher = METRICS[metric][1]
    best = (None, None)
    for s in servers:
        r = results.get(s.name)
        if s.ours or not r or "error" in r or r.get(metric) is None:
            continue
        v = r[metric]
        if best[0] is None or (v > best[0] if higher else v < best[0]):
            best = (v, s.name)
    return best


def print_table(header, rows, left=(0,)):
    """Columns in `left` are aligned left, the others (numbers) right."""
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    line = lambda row: "  ".join(str(c).ljust(w) if i in left else str(c).rjust(w)
                                 for i, (c, w) in enumerate(zip(row, widths))).rstrip()
    log(line(header))
    log("  ".join("-" * w for w in widths))
    for row in rows:
        log(line(row))


def scenario_metrics(scenario):
    if scenario.get("metrics"):
        return scenario["metrics"]
    return (["req_s"] + (["mib_s"] if scenario.get("mbps") else []) + ["p50", "p99", "req_per_cpu"])


def report_scenario(scenario, results, servers):
    metrics = scenario_metrics(scenario)
    header = ["server"] + [METRICS[m][0] for m in metrics] + [scenario.get("unit", "requests"), "CPU s", "user",
                                                            "errors"]
    rows = []
    for s in servers:
        r = results.get(s.name)
        if r is None:
            continue
        if "error" in r:
            rows.append([s.name] + ["-"] * (len(header) - 2) + ["FAILED"])
            continue
        errs = ", ".join("%s %d" % kv for kv in r["errors"].items()) or "0"
        rows.append([s.name] + [fmt_value(m, r.get(m)) for m in metrics]
                    + ["{:,}".format(r["requests"]), "%.2f" % r["cpu_s"], fmt_user_share(r), errs])
    for s in servers:
        r = results.get(s.name)
        if not s.ours or not r or "error" in r:
            continue
        row = ["%s vs best peer" % s.name]
        for m in metrics:
            v, who = best_peer(m, results, servers)
            row.append("%s %s" % (fmt_ratio(ratio(m, r.get(m), v)), who[:5]) if who else "-")
        rows.append(row + ["", "", "", ""])
    print_table(header, rows)
    report_notes(results, servers)


def report_notes(results, servers):
    for s in servers:
        r = results.get(s.name)
        if r and r.get("idle"):
            d = r["idle"]
            log("  %s: %s of %s idle connections opened in %.1f s, %s still open after the load; server RSS "
                "%.2f MiB before them, %.2f MiB with them open (%s each)%s"
                % (s.name, "{:,}".format(d["opened"]), "{:,}".format(d["wanted"]), d["seconds"],
                   "{:,}".format(d["held"]), d["rss_before"] / MIB, d["rss"] / MIB,
                   fmt_bytes((d["rss"] - d["rss_before"]) / d["opened"]),
                   "; first idle error: " + d["first_error"] if d["first_error"] else ""))
    for s in servers:
        r = results.get(s.name)
        if r and "error" in r:
            log("  %s: %s" % (s.name, r["error"]))
        elif r and r["errors"] and "first_error" in r:
            log("  %s: the load client saw errors (%s); the first: %s"
                % (s.name, ", ".join("%s %d" % kv for kv in r["errors"].items()), r["first_error"] or "-"))
        elif r and r["errors"]:
            log("  %s: wrk saw errors (%s); req/s counts 2xx/3xx answers only"
                % (s.name, ", ".join("%s %d" % kv for kv in r["errors"].items())))


# ---------------------------------------------------------------------------------------------
# WebSocket: Node's ws as the peer, bench/ws_load.cpp as the load client
# ---------------------------------------------------------------------------------------------

WS_PREFIX = os.path.join(HERE, ".node")  # npm --prefix; bench/.node/ is in .gitignore
WS_MODULE = os.path.join(WS_PREFIX, "node_modules", "ws")
WS_LOAD_SRC = os.path.join(HERE, "ws_load.cpp")
WS_LOAD_BIN = os.path.join(REPO, "build", "bench", "ws_load")


def ws_version():
    try:
        with open(os.path.join(WS_MODULE, "package.json")) as f:
            return json.load(f).get("version", "?")
    except (OSError, ValueError):
        return "?"


def install_ws_module():
    """npm install ws into bench/.node when it is missing. Returns None, or why it failed."""
    if os.path.isfile(os.path.join(WS_MODULE, "package.json")):
        return None
    npm = which("npm")
    if not npm:
        return "npm not installed"
    log("installing: ws (npm install --no-save --prefix %s ws)" % os.path.relpath(WS_PREFIX, REPO))
    os.makedirs(WS_PREFIX, exist_ok=True)
    try:
        status, out, err = run_child([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", WS_PREFIX, "ws"], 300)
    except subprocess.TimeoutExpired:
        return "npm install ws did not finish in 300 s"
    if not os.path.isfile(os.path.join(WS_MODULE, "package.json")):
        return "npm install ws failed (status %d): %s" % (status, (err + out).strip()[-300:])
    return None


def build_ws_load():
    """Compiles bench/ws_load.cpp into build/bench/ when missing or older than its source.
    Returns (path, None) or (None, why not)."""
    try:
        if os.path.getmtime(WS_LOAD_BIN) >= os.path.getmtime(WS_LOAD_SRC):
            return WS_LOAD_BIN, None
    except OSError:
        pass
    cxx = which("g++")
    if not cxx:
        return None, "g++ not installed"
    os.makedirs(os.path.dirname(WS_LOAD_BIN), exist_ok=True)
    tmp = "%s.%d.tmp" % (WS_LOAD_BIN, os.getpid())
    cmd = [cxx, "-std=c++20", "-O2", "-Wall", "-o", tmp, WS_LOAD_SRC]
    log("building %s: %s" % (os.path.relpath(WS_LOAD_BIN, REPO), " ".join(cmd[:-3] + [os.path.relpath(WS_LOAD_SRC, REPO)])))
    try:
        status, out, err = run_child(cmd, 300)
    except subprocess.TimeoutExpired:
        return None, "g++ did not finish in 300 s"
    if status != 0:
        return None, "g++ failed (status %d): %s" % (status, (err + out).strip()[-600:])
    os.replace(tmp, WS_LOAD_BIN)  # atomic: a concurrent bench never runs half a binary
    return WS_LOAD_BIN, None


def ws_echo_check(port, timeout=2.0):
    """One opening handshake on /ws and one text message echoed: (True, None) or (False, why)."""
    key = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample key
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (port, key)).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                return False, "closed during the handshake: %r" % data[:80]
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101") or b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" not in head:
            return False, "handshake answered %r" % head[:80]
        payload = b"async-nostd bench"
        mask = b"\x12\x34\x56\x78"
        c.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        want = bytes([0x81, len(payload)]) + payload
        while len(rest) < len(want):
            chunk = c.recv(4096)
            if not chunk:
                break
            rest += chunk
        if rest != want:
            return False, "echo %r, wanted %r" % (rest[:40], want)
        return True, None


class LineReader:
    """Lines of a child's pipe, each awaited with a deadline (no thread, no blocking read)."""

    def __init__(self, f):
        self.fd = f.fileno()
        self.buf = b""
        self.eof = False

    def readline(self, deadline):
        """The next line (without its newline), or None at end of stream or past the deadline."""
        import select
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    self.eof = True
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def json(self, deadline, want):
        """The next JSON line with key `want` (progress lines of other kinds are skipped)."""
        while True:
            line = self.readline(deadline)
            if line is None:
                return None
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if want in obj:
                return obj


def ws_client(cmd, stdin=subprocess.DEVNULL):
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=err)
    return p, LineReader(p.stdout), err


def ws_load_failure(server, p, data, stderr, count_key, nothing):
    """Why a ws_load run gave no usable result (the server died, no JSON, no `count_key`), or None."""
    if not server.alive():
        return "server died during the run: " + server.output_tail()
    if data is None:
        return "ws_load gave no result (status %s): %s" % (p.returncode, stderr[-400:])
    if not data.get(count_key):
        return nothing + json.dumps(data)[-400:]
    return None


def ws_client_end(p, err, timeout=10):
    """Reaps the client (killing it if it does not end in time); returns its standard error."""
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.stdout.close()
    err.seek(0)
    text = err.read().decode(errors="replace").strip()
    err.close()
    return text


def ws_errors(data):
    return {k: v for k, v in data.get("error_kinds", {}).items() if v}


def run_ws_load(scenario, server, args, ctx):
    """One WebSocket echo load against one server: ws_load opens the connections, warms up on them
    for --warmup seconds, then measures for --duration; the server's CPU time is taken over the
    measured window (from the client's "measuring" line to its result line)."""
    conns = scenario["ws_connections"]
    cmd = [ctx["ws_load"], "load", "--port", str(server.port), "--path", "/ws", "-c", str(conns),
           "-s", str(scenario["ws_size"]), "-d", str(args.duration), "-w", str(args.warmup)]
    if scenario.get("ws_binary"):
        cmd.append("--binary")
    p, out, err = ws_client(cmd)
    res = {"cmd": " ".join(cmd)}
    try:
        opened = out.json(time.monotonic() + 90, "event")  # the client gives up opening after 60 s
        if opened is None or opened.get("open", 0) == 0:
            p.kill()
            res["error"] = "no WebSocket opened: %s" % (json.dumps(opened) if opened else "no answer from ws_load")
            return res
        if not out.json(time.monotonic() + args.warmup + 30, "event"):  # "measuring"
            p.kill()
            res["error"] = "ws_load did not start measuring"
            return res
        before = server.snapshot()
        data = out.json(time.monotonic() + args.duration + 30, "mode")
        after = server.snapshot()
    except BaseException:
        p.kill()
        raise
    finally:
        stderr = ws_client_end(p, err)
    res["raw"] = json.dumps(data) if data else stderr
    failure = ws_load_failure(server, p, data, stderr, "messages", "no message echoed: ")
    if failure:
        res["error"] = failure
        return res
    cpu = cpu_seconds(before, after)
    msgs = data["messages"]
    res.update(requests=msgs, seconds=data["seconds"], cpu_s=cpu, cpu_user_s=cpu_seconds(before, after, True),
               msg_s=data["msg_s"],
               p50=data["p50_us"], p99=data["p99_us"], msg_per_cpu=(msgs / cpu) if cpu > 0 else None,
               errors=ws_errors(data), first_error=data.get("first_error", ""),
               open_at_end=data.get("open_at_end"))  # the client's error counts include the opening
    return res


def run_ws_idle(scenario, server, args, ctx):
    """N idle WebSockets against a freshly started server: its RSS (summed over its processes)
    before and with them open, and the difference per connection."""
    n = scenario["ws_idle"]
    # The baseline: after one WebSocket echo, so the WebSocket code has run once, as after the
    # two requests of the HTTP idle figure.
    ok, why = ws_echo_check(server.port)
    if not ok:
        return {"error": "WebSocket echo check failed: %s" % why}
    settle = 0.5 if args.quick else 1.0
    time.sleep(settle)
    tree = server.snapshot()
    rss_before = rss_bytes(tree)
    cmd = [ctx["ws_load"], "idle", "--port", str(server.port), "--path", "/ws", "-n", str(n), "--hold", "120"]
    p, out, err = ws_client(cmd, stdin=subprocess.PIPE)
    res = {"cmd": " ".join(cmd)}
    try:
        ready = out.json(time.monotonic() + 90, "event")
        if ready is not None:
            time.sleep(settle)  # let the server finish what each accept set going
            tree = server.snapshot()
            rss_open = rss_bytes(tree)
        p.stdin.close()  # the client's cue to let go
        data = out.json(time.monotonic() + 20, "mode")
    except BaseException:
        p.kill()
        raise
    finally:
        stderr = ws_client_end(p, err)
    res["raw"] = json.dumps(data) if data else stderr
    if ready is None:
        res["error"] = "ws_load never had its WebSockets open (status %s): %s" % (p.returncode, stderr[-400:])
        return res
    if not server.alive():
        res["error"] = "server died with %d WebSockets open: %s" % (n, server.output_tail())
        return res
    opened = ready.get("open", 0)
    if not opened:
        res["error"] = "no WebSocket opened: " + json.dumps(ready)
        return res
    errors = ws_errors(data or ready)  # the client's counts are cumulative
    if opened < n:
        errors["not opened"] = n - opened
    res.update(requests=opened, rss_before=rss_before, rss_open=rss_open, processes=len(tree),
               rss_per_conn=(rss_open - rss_before) / opened, errors=errors,
               first_error=ready.get("first_error") or (data or {}).get("first_error", ""),
               open_at_end=(data or {}).get("open_at_end"))
    return res


def report_ws_idle(scenario, results, servers):
    header = ["server", "open", "RSS before", "RSS with them open", "RSS/conn", "processes", "errors"]
    rows = []
    for s in servers:
        r = results.get(s.name)
        if r is None:
            continue
        if "error" in r:
            rows.append([s.name] + ["-"] * (len(header) - 2) + ["FAILED"])
            continue
        rows.append([s.name, "{:,}".format(r["requests"]), "%.2f MiB" % (r["rss_before"] / MIB),
                     "%.2f MiB" % (r["rss_open"] / MIB), fmt_bytes(r["rss_per_conn"]), str(r["processes"]),
                     ", ".join("%s %d" % kv for kv in r["errors"].items()) or "0"])
    print_table(header, rows)
    report_notes(results, servers)


def run_ws_chat(scenario, server, args, ctx):
    """The chat room: ws_load chat opens the members, warms up for --warmup seconds, measures for
    --duration (the server's CPU time from its "measuring" line to its "measured" one), then waits
    for the last deliveries and checks that every open member has every message."""
    if server.name == "ws" and args.node_workers > 1:
        return {"error": "the ws peer's chat room is per Node process: run it with --node-workers 1"}
    cmd = [ctx["ws_load"], "chat", "--port", str(server.port), "--path", "/chat", "-n", str(scenario["chat_members"]),
           "--senders", str(scenario["chat_senders"]), "--next", scenario["chat_next"], "-s", str(scenario["ws_size"]),
           "-d", str(args.duration), "-w", str(args.warmup)]
    p, out, err = ws_client(cmd)
    res = {"cmd": " ".join(cmd)}
    try:
        opened = out.json(time.monotonic() + 90, "event")
        if opened is None or opened.get("open", 0) == 0:
            p.kill()
            res["error"] = "no WebSocket opened: %s" % (json.dumps(opened) if opened else "no answer from ws_load")
            return res
        if not out.json(time.monotonic() + args.warmup + 30, "event"):  # "measuring"
            p.kill()
            res["error"] = "ws_load did not start measuring"
            return res
        before = server.snapshot()
        measured = out.json(time.monotonic() + args.duration + 30, "event")  # "measured"
        after = server.snapshot()
        data = out.json(time.monotonic() + 30, "mode") if measured else None
    except BaseException:
        p.kill()
        raise
    finally:
        stderr = ws_client_end(p, err)
    res["raw"] = json.dumps(data) if data else stderr
    failure = ws_load_failure(server, p, data, stderr, "deliveries", "no message delivered: ")
    if failure:
        res["error"] = failure
        return res
    cpu = cpu_seconds(before, after)
    errors = {k: v for k, v in ws_errors(data).items() if k not in ("closed", "stalled")}  # as dropped, lost
    errors.update((k, data[k]) for k in ("order_violations", "lost", "dropped") if data.get(k))
    res.update(requests=data["deliveries"], seconds=data["seconds"], cpu_s=cpu,
               cpu_user_s=cpu_seconds(before, after, True), msg_s=data["deliveries_s"],
               p50=data["p50_us"], p99=data["p99_us"], msg_per_cpu=(data["deliveries"] / cpu) if cpu > 0 else None,
               errors=errors, first_error=data.get("first_error", ""), open_at_end=data.get("open_at_end"),
               chat=data)
    return res


def report_ws_chat(scenario, results, servers):
    report_scenario(scenario, results, servers)
    for s in servers:
        d = results.get(s.name, {}).get("chat")
        if d:
            log("  %s: %s messages sent/s, max latency %s, %d/%d members open at the end, order violations %d, "
                "lost %d, dropped %d%s; ws_load used %.2f CPU-s of the %.1f s window"
                % (s.name, "{:,.0f}".format(d["sent_s"]), fmt_latency(d["max_us"]), d["open_at_end"], d["members"],
                   d["order_violations"], d["lost"], d["dropped"],
                   " (close codes %s)" % d["close_codes"] if d["close_codes"] else "", d["client_cpu_s"],
                   d["seconds"]))


def fmt_bytes(b):
    if b is None:
        return "-"
    return "%.0f B" % b if abs(b) < 10 * 1024 else "%.1f KiB" % (b / 1024)


WS_SCENARIOS = [
    dict(name="ws100", kind="ws", title="WebSocket echo, 100 connections x 32 B text",
         ws_connections=100, ws_size=32, runner=run_ws_load, metrics=WS_METRICS, unit="messages",
         targets=[("msg_s", 1.4, "WS 100 conns x 32 B text: messages/s"),
                  ("msg_per_cpu", 2.0, "WS 100 conns x 32 B text: messages per server CPU-second")]),
    dict(name="ws1000", kind="ws", title="WebSocket echo, 1,000 connections x 32 B text",
         ws_connections=1000, ws_size=32, runner=run_ws_load, metrics=WS_METRICS, unit="messages",
         targets=[("msg_s", 1.6, "WS 1,000 conns x 32 B text: messages/s"),
                  ("msg_per_cpu", 2.0, "WS 1,000 conns x 32 B text: messages per server CPU-second")]),
    dict(name="ws16k", kind="ws", title="WebSocket echo, 50 connections x 16 KiB binary",
         ws_connections=50, ws_size=16 * 1024, ws_binary=True, runner=run_ws_load, metrics=WS_METRICS,
         unit="messages",
         targets=[("msg_s", 3.0, "WS 50 conns x 16 KiB binary: messages/s"),
                  ("msg_per_cpu", 2.0, "WS 50 conns x 16 KiB binary: messages per server CPU-second")]),
    dict(name="chat1000", kind="ws", title="chat room, 1,000 members, 10 senders x 64 B text, msg/s = deliveries/s",
         chat_members=1000, chat_senders=10, chat_next="all", ws_size=64, runner=run_ws_chat, report=report_ws_chat,
         metrics=WS_METRICS, unit="deliveries"),
    dict(name="wsidle", kind="ws", title="10,000 idle WebSockets, RSS per connection (freshly started servers)",
         ws_idle=10000, runner=run_ws_idle, report=report_ws_idle, fresh=True, metrics=["rss_per_conn"],
         unit="connections",
         limits=[("rss_per_conn", WS_IDLE_RSS_TARGET, "RSS per idle WebSocket (10,000 open)", "B")]),
]
SCENARIOS.extend(WS_SCENARIOS)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="workers (threads/processes) per server (2)")
    ap.add_argument("--duration", type=int, default=10, help="seconds of each measured run (10)")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each run (2; 0: none)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measured runs per scenario and server, interleaved across servers; the run "
                         "with the median req/s (msg/s) is reported (1)")
    ap.add_argument("--quick", action="store_true", help="2 s runs, 1 s warm-ups: a smoke check")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only this scenario (repeatable; comma lists too): " + ", ".join(s["name"] for s in SCENARIOS))
    ap.add_argument("--servers", default=None,
                    help="comma list of servers to run (default: all): async-nostd,async-nostd-epoll,"
                         "async-nostd-uring,nginx,h2o,ws (async-nostd runs the default IO backend, ppoll; "
                         "the others add --io epoll or --io uring)")
    ap.add_argument("--node-workers", type=int, default=1,
                    help="Node processes of the ws peer (1: Node as it comes, single-threaded; more: the "
                         "cluster module)")
    ap.add_argument("--binary", default=os.path.join(REPO, "async-nostd"), help="the async-nostd binary")
    ap.add_argument("--no-install", action="store_true", help="do not install missing tools (apt-get, npm)")
    ap.add_argument("--verbose", action="store_true", help="print each wrk report and ws_load result")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.warmup = 2, 1
    if min(args.workers, args.duration, args.threads, args.rounds, args.node_workers) < 1 or args.warmup < 0:
        ap.error("--workers, --duration, --threads, --rounds and --node-workers must be at least 1, --warmup at least 0")

    scenarios = SCENARIOS
    if args.only:
        names = [n for o in args.only for n in o.split(",") if n]
        unknown = [n for n in names if n not in {s["name"] for s in SCENARIOS}]
        if unknown:
            ap.error("unknown scenario %s; there are: %s" % (", ".join(unknown), ", ".join(s["name"] for s in SCENARIOS)))
        scenarios = [s for s in SCENARIOS if s["name"] in names]

    servers = make_servers(args)
    if args.servers:
        keep = [n.strip() for n in args.servers.split(",") if n.strip()]
        unknown = [n for n in keep if n not in {s.name for s in servers}]
        if unknown:
            ap.error("unknown server %s" % ", ".join(unknown))
        servers = [s for s in servers if s.name in keep]
    # Only the servers the chosen scenarios need.
    kinds = {sc.get("kind", "http") for sc in scenarios}
    servers = [s for s in servers if kinds & set(s.kinds)]

    # Ctrl-C and SIGTERM end the bench through the `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = max([max(sc.get("ws_idle", 0), sc.get("idle_connections", 0), sc.get("connections", 0))
                for sc in scenarios] + [0]) + 1024
    if hard != resource.RLIM_INFINITY and hard < need:
        try:  # root may raise the hard limit too: the idle WebSockets need one descriptor each
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            soft = hard = need
        except (ValueError, OSError):
            pass
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # for wrk, ws_load and the servers

    wanted = ({"wrk"} if "http" in kinds else set()) | {s.tool for s in servers if s.tool}
    failed_install = {} if args.no_install else install_missing(wanted)
    if "http" in kinds and not which("wrk"):
        log("error: wrk is not available: %s" % failed_install.get("wrk", "not installed (--no-install)"))
        return 1
    ctx = {}
    if "ws" in kinds:
        why = None if args.no_install else install_ws_module()
        if why:
            failed_install["node"] = why
        ctx["ws_load"], why = build_ws_load()
        if why:
            log("error: the WebSocket load client cannot be built: %s" % why)
            return 1

    exit_status = 0
    base = tempfile.mkdtemp(prefix="async-nostd-bench-")
    started = []
    try:
        log("async-nostd %s benchmark: %d workers per server, %d s runs after %d s warm-ups, %s%d CPUs, "
            "access logs off" % ("/".join(k.upper() if k == "http" else "WebSocket" for k in sorted(kinds)),
                                 args.workers, args.duration, args.warmup,
                                 ("wrk -t%d, " % args.threads) if "http" in kinds else "", os.cpu_count()))
        if "http" in kinds:
            log("preparing the document root (%s: %d bytes, %s: %d MiB) in %s"
                % (SMALL_NAME, SMALL_SIZE, BIG_NAME, BIG_SIZE // MIB, base))
        else:
            log("preparing the document root (%s: %d bytes) in %s" % (SMALL_NAME, SMALL_SIZE, base))
        docroot = make_docroot(base, big="http" in kinds)
        if "http" in kinds:
            ctx["wrk_lua"] = os.path.join(base, "report.lua")
            with open(ctx["wrk_lua"], "w") as f:
                f.write(WRK_LUA)
            log("wrk: %s" % tool_version([which("wrk"), "-v"]))
        if "ws" in kinds:
            log("WebSocket load client: %s (one epoll thread; closed loop, every echo checked)"
                % os.path.relpath(ctx["ws_load"], REPO))
        busy = machine_busy()
        if busy > 0.15:
            log("note: the machine was %.0f%% busy before the bench started (other processes): expect noisy figures"
                % (busy * 100))

        idle_rss = {}
        for s in servers:
            why = s.missing()
            if why and s.tool in failed_install:
                why = failed_install[s.tool]
            if not why:
                started.append(s)  # before start(): an interrupt inside it still stops it
                why = s.start(docroot, base)
            if why:
                log("%-17s NOT STARTED: %s" % (s.name, why))
                exit_status = 1
                continue
            if "http" not in s.kinds or "http" not in kinds:
                log("%-17s port %d, pid %d, %d process(es): %s; %s"
                    % (s.name, s.port, s.proc.pid, len(s.snapshot()), s.version, s.note))
                continue
            # Idle footprint: after start-up and a couple of requests, before any load.
            for _ in range(2):
                _, _, small_headers = http_get("127.0.0.1", s.port, "/" + SMALL_NAME)
            status, _, headers = http_get("127.0.0.1", s.port, "/" + BIG_NAME, method="HEAD")
            length = int(headers.get("Content-Length", "-1"))
            if status != 200 or length != BIG_SIZE:
                log("%-17s warning: HEAD /%s answered %d, Content-Length %d" % (s.name, BIG_NAME, status, length))
            time.sleep(0.5)
            tree = s.snapshot()
            idle_rss[s.name] = (rss_bytes(tree), len(tree), rss_bytes([s.proc.pid]))
            if s.name == "nginx":
                s.version = tool_version([which("nginx"), "-v"])
            elif s.name == "h2o":
                s.version = tool_version([which("h2o"), "--version"])
            log("%-17s port %d, pid %d, %d process(es): %s; %s; %s is %s"
                % (s.name, s.port, s.proc.pid, len(tree), s.version, s.note, SMALL_NAME,
                   small_headers.get("Content-Type", "sent without Content-Type")))
        running = [s for s in servers if s.alive()]
        if not any(s.ours for s in running):
            log("error: async-nostd did not start")
            return 1

        all_results = {}
        scenario_servers = {}
        for sc in scenarios:
            log("")
            if sc.get("ws_idle"):
                log("== %s: %s (ws_load idle -n %d) ==" % (sc["name"], sc["title"], sc["ws_idle"]))
            elif sc.get("chat_members"):
                log("== %s: %s (ws_load chat -n %d --senders %d --next %s -s %d -d %d -w %d) =="
                    % (sc["name"], sc["title"], sc["chat_members"], sc["chat_senders"], sc["chat_next"],
                       sc["ws_size"], args.duration, args.warmup))
            elif sc.get("kind") == "ws":
                log("== %s: %s (ws_load load -c %d -s %d%s -d %d -w %d) =="
                    % (sc["name"], sc["title"], sc["ws_connections"], sc["ws_size"],
                       " --binary" if sc.get("ws_binary") else "", args.duration, args.warmup))
            else:
                conns = sc["connections"]
                log("== %s: %s (wrk -t%d -c%d -d%ds%s) =="
                    % (sc["name"], sc["title"], min(args.threads, conns), conns, args.duration,
                       "".join(" -H '%s'" % h for h in sc.get("headers", []))))
            sc_servers = [s for s in running if sc.get("kind", "http") in s.kinds]
            scenario_servers[sc["name"]] = sc_servers
            runs = {s.name: [] for s in sc_servers}
            for _ in range(args.rounds):
                for s in sc_servers:
                    if runs[s.name] and "error" in runs[s.name][-1]:
                        continue
                    if sc.get("fresh"):
                        why = s.restart()
                        if why:
                            runs[s.name].append({"error": "restart failed: " + why})
                            continue
                    if not s.alive():
                        runs[s.name].append({"error": "server is not running"})
                        continue
                    res = sc.get("runner", run_wrk)(sc, s, args, ctx)
                    runs[s.name].append(res)
                    if args.verbose and res.get("raw"):
                        log("--- %s\n%s" % (s.name, res["raw"].rstrip()))
            results = {}
            first = scenario_metrics(sc)[0]
            for s in sc_servers:
                bad = [r for r in runs[s.name] if "error" in r]
                if bad:
                    results[s.name] = bad[0]
                    if s.ours:
                        exit_status = 1
                else:
                    ordered = sorted(runs[s.name], key=lambda r: r[first])
                    results[s.name] = ordered[(len(ordered) - 1) // 2]
            all_results[sc["name"]] = results
            sc.get("report", report_scenario)(sc, results, sc_servers)
        if "ws" in kinds:
            ws_peer = [s for s in running if s.name == "ws"]
            log("")
            log("notes: the WebSocket peer is %s; ws_load shares the %d CPUs with the server (one epoll "
                "thread, about a core under load); msg/CPU-s counts the server's utime+stime over the "
                "measured window only; RSS/conn is user-space memory (kernel socket buffers are not in RSS)"
                % ("%s, %s" % (ws_peer[0].version, ws_peer[0].note) if ws_peer else "not running",
                   os.cpu_count()))

        # Idle RSS (of the HTTP servers, when an HTTP scenario ran)
        if idle_rss:
            log("")
            log("== idle RSS: sum of VmRSS over the server's processes after start-up and 2 requests ==")
            rows = [[s.name, "%.2f MiB" % (idle_rss[s.name][0] / MIB), str(idle_rss[s.name][1]),
                     "%.2f MiB" % (idle_rss[s.name][2] / MIB)]
                    for s in running if s.name in idle_rss]
            print_table(["server", "RSS", "processes", "main process alone"], rows)
            if any(s.name == "h2o" for s in running):
                log("  (h2o's second process is its crash-report helper, perl annotate-backtrace-symbols)")

        # Targets
        log("")
        log("== targets: each async-nostd backend (async-nostd: the default, ppoll; async-nostd-epoll, "
            "async-nostd-uring: --io epoll, --io uring) against the better peer in this run (ratio > 1 means async-nostd is better; latency "
            "and RSS: peer/ours; limits are absolute) ==")
        ours = [s for s in running if s.ours]
        rows = []
        for o in ours:
            prefix = "" if len(ours) == 1 else o.name + ": "
            for sc in scenarios:
                results = all_results[sc["name"]]
                r = results.get(o.name, {})
                for metric, minimum, label in sc.get("targets", []):
                    v, who = best_peer(metric, results, scenario_servers[sc["name"]])
                    if "error" in r:
                        rows.append(["FAIL", prefix + label, ">= %.1fx" % minimum, "async-nostd failed", ""])
                        continue
                    if who is None:
                        rows.append(["n/a", prefix + label, ">= %.1fx" % minimum, "no peer result", ""])
                        continue
                    q = ratio(metric, r.get(metric), v)
                    ok = q is not None and q >= minimum and not r.get("errors")
                    note = "vs %s: %s vs %s" % (who, fmt_value(metric, r.get(metric)), fmt_value(metric, v))
                    if metric in ("req_per_cpu", "msg_per_cpu") and kernel_bound(r, v):
                        note += "; %s with no user time" % fmt_ratio(kernel_bound(r, v))
                    if r.get("errors"):
                        note += "; async-nostd had errors"
                    shown = fmt_ratio(q)
                    if q is not None and q < minimum and shown == fmt_ratio(minimum):
                        shown = "%.3fx" % q  # a miss that rounds to the target shows it is one
                    rows.append(["PASS" if ok else "FAIL", prefix + label, ">= %.1fx" % minimum, shown, note])
                for metric, maximum, label, unit in sc.get("limits", []):
                    wanted = "<= %s" % (fmt_bytes(maximum) if unit == "B" else fmt_value(metric, maximum))
                    show = fmt_bytes if unit == "B" else (lambda x, m=metric: fmt_value(m, x))
                    if "error" in r:
                        rows.append(["FAIL", prefix + label, wanted, "async-nostd failed", ""])
                        continue
                    mine = r.get(metric)
                    ok = mine is not None and mine <= maximum and not r.get("errors")
                    peers = ["%s: %s" % (s.name, show(results[s.name].get(metric)))
                             for s in scenario_servers[sc["name"]]
                             if not s.ours and s.name in results and "error" not in results[s.name]]
                    note = ", ".join(peers) or "no peer result"
                    if r.get("errors"):
                        note += "; async-nostd had errors"
                    rows.append(["PASS" if ok else "FAIL", prefix + label, wanted, show(mine), note])
            if o.name in idle_rss:
                mine = idle_rss[o.name][0]
                peers = [(idle_rss[s.name][0], s.name) for s in running if not s.ours and s.name in idle_rss]
                best = min(peers) if peers else None
                rows.append(["PASS" if mine <= IDLE_RSS_TARGET_MIB * MIB else "FAIL", prefix + "idle RSS",
                             "<= %.0f MiB" % IDLE_RSS_TARGET_MIB, "%.2f MiB" % (mine / MIB),
                             ("%s: %.2f MiB, %s" % (best[1], best[0] / MIB, fmt_ratio(best[0] / mine)))
                             if best and mine else ""])
        print_table(["", "target", "wanted", "measured", "detail"], rows, left=(0, 1, 4))
        for s in servers:
            if s.note and s.ours and "rejected" in s.note:
                log("note: %s: %s" % (s.name, s.note))
        return exit_status
    except KeyboardInterrupt:
        log("\ninterrupted")
        return 130
    finally:
        # No second Ctrl-C or SIGTERM cuts the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for s in started:
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                log("warning: stopping %s: %s" % (s.name, e))
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
