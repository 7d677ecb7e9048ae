#!/usr/bin/python3
"""Soak test of async-nostd (`make soak`): about 10 minutes of mixed load on one server, watching
its memory and file descriptors for leaks and every answer for correctness.

The server runs with 2 workers on 127.0.0.1 and a free port, serving a temporary document root
(index.html, 2k.html, 1m.bin: 1 MiB) with its log, access log included, in the same temporary
directory. It is started and stopped by PID (SIGTERM, then SIGKILL after 5 s), whatever happens.

The load, all of it at once and moderate (the machine has 2 cores; the point is leaks, not speed):
  keepalive  wrk, 4 keep-alive connections, GET of index.html and 2k.html, 1m.bin every 100th
  close      wrk, 2 connections, `Connection: close` GETs (a TCP connection per request)
  range      wrk, 2 connections, byte ranges of 1m.bin and 2k.html (a-b, a-, -n, past the end,
             some with If-Range): 206 with the right Content-Range and bytes
  304        wrk, 2 connections, If-None-Match with the file's ETag (or a list holding it) and
             If-Modified-Since with its Last-Modified: 304, no body, the ETag again
  ws         Python, 2 WebSockets at a time, each a closed loop of text (UTF-8) and binary
             messages of 0 B to 256 KiB, some fragmented (a ping between the pieces), some pings,
             then a close handshake and a new connection every 50-500 messages
  misc       Python, one operation at a time: HEAD, 404, 400, a POST with a sized or chunked
             body (405, then a GET on the same connection), HTTP/1.0, three pipelined requests, a
             1 MiB download cut after 32 KiB, a request head cut short, a bad WebSocket
             handshake, a WebSocket cut mid-frame, invalid UTF-8 (close 1007)
wrk runs each kind with one connection per wrk thread, so every response is checked against the
request it answers (status, headers, and the bytes against the file on disk), in the Lua script.
Every Python answer is checked too; each mismatch, socket error or timeout counts as an error.

Timeline: the run is cut into intervals (--interval, 30 s). In each, the load runs for the
interval less a pause (--pause, 3 s); then everything stops, and once the server's fd count has
settled (all connections closed) its RSS (VmRSS) and open fds are sampled: with no load, so one
interval compares with another exactly. The table also shows the largest RSS and fd count seen
under load (sampled every second) and the requests or messages each kind completed.

Verdict (exit status 1 when a check fails, 0 when all pass, 2 for bad usage):
  - the server ran throughout, and exited 0 on the final SIGTERM;
  - no errors (status, contents, socket errors and timeouts, WebSocket echoes);
  - every kind of load completed work in every interval;
  - RSS flat after warm-up: the largest idle RSS over the last half of the samples exceeds the
    warm-up sample (the first at or after --warmup seconds, or the second, whichever comes
    first) by less than max(--rss-tolerance-pct of it, --rss-tolerance-mib);
  - fds flat after warm-up: every idle fd count over the last half within --fd-tolerance of the
    warm-up sample, and the last one within --fd-tolerance of the count before any load.

    /usr/bin/python3 bench/soak.py                          # 600 s, a row every 30 s
    /usr/bin/python3 bench/soak.py --seconds 90 --interval 15   # a quick check
    /usr/bin/python3 bench/soak.py --seconds 60 --interval 10 --only misc   # one kind of load alone

Standard library only, plus wrk (installed with apt-get when missing, unless --no-install); it
reuses bench/bench.py's server handling (start, readiness, stop) and tool installation.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402 - bench/bench.py, beside this file

REPO = bench.REPO
KIB = 1024
MIB = bench.MIB

SMALL_NAME = bench.SMALL_NAME  # 2k.html: the readiness check of bench.Server fetches it
INDEX_BODY = (b"<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>async-nostd soak</title>"
              b"</head>\n<body>\n<h1>async-nostd soak test</h1>\n<p>A small page, served as / and /index.html."
              b"</p>\n</body>\n</html>\n")
BIG_NAME = "1m.bin"
BIG_SIZE = MIB

# wrk loads: kind, connections (one wrk thread each), delay between a response and the next
# request on a connection (ms). Roughly 2,000 keep-alive, 200 close, 400 range and 400 304
# requests per second at most.
WRK_LOADS = [
    ("keepalive", 4, 2),
    ("close", 2, 10),
    ("range", 2, 5),
    ("304", 2, 5),
]
WS_CLIENTS = 2          # WebSockets open at a time
WS_GAP = 0.004          # seconds between a verified echo and the next message
MISC_GAP = 0.05         # seconds between two misc operations
SOCKET_TIMEOUT = 5.0    # any single wait for the server
KINDS = [k for k, _, _ in WRK_LOADS] + ["ws", "misc"]
COLUMN = {"keepalive": "keepalive", "close": "close", "range": "range 206", "304": "cond 304",
          "ws": "ws msgs", "misc": "misc"}

log = bench.log


# ---------------------------------------------------------------------------------------------
# Counters shared by the load threads
# ---------------------------------------------------------------------------------------------

class Counts:
    """Completed operations and errors per kind, for the current interval and in total."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = {k: 0 for k in KINDS}
        self.errors = {k: 0 for k in KINDS}
        self.total_done = {k: 0 for k in KINDS}
        self.total_errors = {k: 0 for k in KINDS}
        self.messages = []  # (elapsed, kind, text) of errors not yet printed
        self.first = []     # the first few errors of the run, for the summary
        self.t0 = time.monotonic()
        self.extra = {"ws connections": 0, "ws bytes echoed": 0}

    def ok(self, kind, n=1):
        with self.lock:
            self.done[kind] += n
            self.total_done[kind] += n

    def add_extra(self, key, n):
        with self.lock:
            self.extra[key] = self.extra.get(key, 0) + n

    def error(self, kind, text, n=1):
        with self.lock:
            self.errors[kind] += n
            self.total_errors[kind] += n
            entry = (time.monotonic() - self.t0, kind, text)
            if len(self.messages) < 50:
                self.messages.append(entry)
            if len(self.first) < 10:
                self.first.append(entry)

    def take(self):
        """This interval's counts (and its error texts), starting the next interval at zero."""
        with self.lock:
            done, errors, msgs = dict(self.done), dict(self.errors), self.messages
            self.done = {k: 0 for k in KINDS}
            self.errors = {k: 0 for k in KINDS}
            self.messages = []
            return done, errors, msgs


# ---------------------------------------------------------------------------------------------
# The server and /proc
# ---------------------------------------------------------------------------------------------

class SoakServer(bench.AsyncNostd):
    """async-nostd as bench.py starts it (a copy of the binary, by PID, SIGTERM then SIGKILL),
    with its log, access log included unless --no-access-log, in its temporary directory."""

    def __init__(self, args):
        super().__init__(args, no_access_log=False)

    def command(self, docroot):
        self.logfile = os.path.join(self.dir, "async-nostd.log")
        self.error_files = [self.logfile]
        cmd = [self.binary, str(self.args.workers), "127.0.0.1", str(self.port), "--root", docroot,
               "--log", self.logfile, "--io", self.args.io]
        return cmd + (["--no-access-log"] if self.args.no_access_log else [])


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# The document root
# ---------------------------------------------------------------------------------------------

def make_docroot(base):
    root = os.path.join(base, "www")
    os.mkdir(root)
    chunk = bytes(range(256)) * 4096  # 1 MiB, not sparse, every offset's byte differs from its neighbours
    files = {"index.html": INDEX_BODY, SMALL_NAME: bench.small_body(), BIG_NAME: chunk[:BIG_SIZE]}
    for name, body in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(body)
        os.chmod(os.path.join(root, name), 0o644)
    os.chmod(base, 0o755)
    os.chmod(root, 0o755)
    return root, files


# ---------------------------------------------------------------------------------------------
# wrk and its Lua script
# ---------------------------------------------------------------------------------------------

WRK_LUA = r"""
-- The rest of the script written by async-nostd bench/soak.py. One connection per wrk thread,
-- so the response a thread gets answers the request it made last: `pending` says what it must be.
soak_ok, soak_bad, soak_first = 0, 0, nil
local n, pending = 0, nil
local threads = {}

setup = function(thread)
  table.insert(threads, thread)
  thread:set("soak_id", #threads)
end

init = function(args)
  for _, f in ipairs(FILES) do
    local h = assert(io.open(f.disk, "rb"))
    f.body = h:read("*a")
    h:close()
    f.size = #f.body
  end
  math.randomseed(os.time() * 1000 + (wrk.thread:get("soak_id") or 0) * 7919)
end

delay = function()
  return DELAY_MS
end

local function pick(...)
  local t = {...}
  return t[math.random(#t)]
end

request = function()
  n = n + 1
  local index, small, big = FILES[1], FILES[2], FILES[3]
  local f, headers = nil, {}
  local want = {status = 200}
  if KIND == "keepalive" or KIND == "close" then
    if KIND == "keepalive" and n % 100 == 0 then f = big
    elseif n % 2 == 0 then f = small
    else f = index end
    if KIND == "close" then headers["Connection"] = "close" end
    want.first, want.last = 0, f.size - 1
  elseif KIND == "range" then
    want.status = 206
    if n % 4 == 0 then f = small else f = big end
    local size = f.size
    local form = math.random(4)
    local first, last
    if form == 1 then      -- bytes=a-b
      first = math.random(0, size - 1)
      last = math.min(size - 1, first + math.random(0, 65535))
      headers["Range"] = "bytes=" .. first .. "-" .. last
    elseif form == 2 then  -- bytes=a-: to the end
      first, last = size - math.random(1, math.min(size, 65536)), size - 1
      headers["Range"] = "bytes=" .. first .. "-"
    elseif form == 3 then  -- bytes=-k: the last k bytes
      local k = math.random(1, math.min(size, 65536))
      first, last = size - k, size - 1
      headers["Range"] = "bytes=-" .. k
    else                   -- bytes=a-b with b past the end: up to the end
      first, last = math.random(0, size - 1), size - 1
      headers["Range"] = "bytes=" .. first .. "-" .. (size + math.random(0, 100000))
    end
    if n % 5 == 0 then headers["If-Range"] = f.etag end
    want.first, want.last = first, last
  else                     -- "304"
    want.status = 304
    f = FILES[math.random(#FILES)]
    local form = math.random(3)
    if form == 1 then headers["If-None-Match"] = f.etag
    elseif form == 2 then headers["If-None-Match"] = '"0-0", W/' .. f.etag
    else headers["If-Modified-Since"] = f.lastmod end
  end
  want.file = f
  want.what = "GET " .. f.url .. (headers["Range"] and (" Range: " .. headers["Range"]) or "")
  pending = want
  return wrk.format("GET", f.url, headers)
end

local function fail(why)
  soak_bad = soak_bad + 1
  if not soak_first then soak_first = why end
end

response = function(status, headers, body)
  local w = pending
  pending = nil
  if not w then return fail("a response with no request outstanding (status " .. status .. ")") end
  local f = w.file
  if status ~= w.status then
    return fail(w.what .. ": status " .. status .. ", wanted " .. w.status)
  end
  if headers["ETag"] ~= f.etag then
    return fail(w.what .. ": ETag " .. tostring(headers["ETag"]) .. ", wanted " .. f.etag)
  end
  if w.status == 304 then
    if #body ~= 0 then return fail(w.what .. ": 304 with " .. #body .. " bytes of body") end
  else
    if #body ~= w.last - w.first + 1 then
      return fail(w.what .. ": " .. #body .. " bytes, wanted " .. (w.last - w.first + 1))
    end
    if body ~= f.body:sub(w.first + 1, w.last + 1) then
      return fail(w.what .. ": the bytes differ from the file on disk")
    end
    if w.status == 206 then
      local cr = "bytes " .. w.first .. "-" .. w.last .. "/" .. f.size
      if headers["Content-Range"] ~= cr then
        return fail(w.what .. ": Content-Range " .. tostring(headers["Content-Range"]) .. ", wanted " .. cr)
      end
    end
    if KIND == "close" and headers["Connection"] ~= "close" then
      return fail(w.what .. ": no Connection: close in the answer")
    end
  end
  soak_ok = soak_ok + 1
end

done = function(summary, latency, requests)
  local ok, bad, first = 0, 0, ""
  for _, t in ipairs(threads) do
    ok = ok + (t:get("soak_ok") or 0)
    bad = bad + (t:get("soak_bad") or 0)
    local why = t:get("soak_first")
    if why and first == "" then first = why end
  end
  first = first:gsub('["\\]', "'")
  first = (first:gsub("[^%w%s%-%./:=,()*']", '?'))
  local e = summary.errors
  io.write(string.format(
    'SOAK-JSON {"requests":%d,"ok":%d,"bad":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"first":"%s"}\n',
    summary.requests, ok, bad, e.connect, e.read, e.write, e.status, e.timeout, first))
end
"""


def lua_string(s):
    out = []
    for ch in s.encode():
        c = chr(ch)
        out.append(c if 32 <= ch < 127 and c not in '"\\' else "\\%03d" % ch)
    return '"' + "".join(out) + '"'


def write_wrk_scripts(base, docroot, meta):
    """One script per wrk kind: a generated header (the kind, its delay, the files with their
    ETag and Last-Modified) and WRK_LUA. FILES[1..3] are index.html (as /), 2k.html, 1m.bin."""
    scripts = {}
    entries = [("/", "index.html"), ("/" + SMALL_NAME, SMALL_NAME), ("/" + BIG_NAME, BIG_NAME)]
    files = ",\n".join(
        "  {url=%s, disk=%s, etag=%s, lastmod=%s}" % (
            lua_string(url), lua_string(os.path.join(docroot, name)), lua_string(meta[name]["etag"]),
            lua_string(meta[name]["last_modified"]))
        for url, name in entries)
    for kind, _, delay_ms in WRK_LOADS:
        path = os.path.join(base, "soak-%s.lua" % kind)
        with open(path, "w") as f:
            f.write("-- Written by async-nostd bench/soak.py\nKIND = %s\nDELAY_MS = %d\nFILES = {\n%s\n}\n%s"
                    % (lua_string(kind), delay_ms, files, WRK_LUA))
        scripts[kind] = path
    return scripts


def start_wrk(kind, conns, seconds, port, script):
    cmd = [bench.which("wrk"), "-t%d" % conns, "-c%d" % conns, "-d%ds" % seconds, "--timeout", "%ds" % SOCKET_TIMEOUT,
           "-s", script, "http://127.0.0.1:%d/" % port]
    out = tempfile.TemporaryFile()
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT), out


def finish_wrk(kind, proc, out, counts, timeout):
    """Waits for one wrk run (killing it past `timeout`) and adds its counts."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        counts.error(kind, "wrk did not finish in time")
    out.seek(0)
    text = out.read().decode(errors="replace")
    out.close()
    m = re.search(r"^SOAK-JSON (\{.*\})$", text, re.M)
    if proc.returncode != 0 or not m:
        counts.error(kind, "wrk exited with %s without its result: %s" % (proc.returncode, text.strip()[-300:]))
        return
    try:
        data = json.loads(m.group(1))
    except ValueError:
        counts.error(kind, "wrk's result line is not JSON: %s" % m.group(1)[:300])
        return
    counts.ok(kind, data["ok"])
    if data["bad"]:
        counts.error(kind, "%d wrong answers; the first: %s" % (data["bad"], data["first"]), data["bad"])
    sock_errors = {k: data[k] for k in ("connect", "read", "write", "timeout") if data.get(k)}
    if sock_errors:
        counts.error(kind, "wrk socket errors: %s" % ", ".join("%s %d" % kv for kv in sock_errors.items()),
                     sum(sock_errors.values()))


# ---------------------------------------------------------------------------------------------
# Python clients: raw HTTP and WebSocket
# ---------------------------------------------------------------------------------------------

class Conn:
    """A TCP connection to the server with a read buffer, every wait bounded by SOCKET_TIMEOUT."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def fill(self):
        chunk = self.sock.recv(256 * KIB)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buf += chunk

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def at_eof(self):
        """True if the server closes the connection next (nothing more arrives)."""
        if self.buf:
            return False
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            if len(self.buf) > 64 * KIB:
                raise ValueError("a response head over 64 KiB")
            self.fill()
        text = bytes(self.buf[:i]).decode("latin-1")
        del self.buf[:i + 4]
        lines = text.split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0] + " ")
        if not m:
            raise ValueError("bad status line %r" % lines[0][:80])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return int(m.group(1)), headers

    def response(self, head_only=False):
        status, headers = self.head()
        length = int(headers.get("content-length", "0"))
        body = b"" if head_only or status in (204, 304) or status < 200 else self.exact(length)
        return status, headers, body


def expect(cond, text):
    if not cond:
        raise AssertionError(text)


WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def ws_open(port, path="/ws"):
    c = Conn(port)
    key = base64.b64encode(os.urandom(16))
    c.send(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path.encode(), port, key))
    status, headers = c.head()
    expect(status == 101, "WebSocket handshake answered %d" % status)
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
    expect(headers.get("sec-websocket-accept") == accept, "wrong Sec-WebSocket-Accept %r" % headers.get("sec-websocket-accept"))
    return c


def ws_mask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = int.from_bytes((key * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ k).to_bytes(n, "little")


def ws_frame(opcode, payload, fin=True):
    """A client frame (masked)."""
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        head = struct.pack("!BB", first, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    key = os.urandom(4)
    return head + key + ws_mask(payload, key)


def ws_read(c):
    """One server frame: (fin, opcode, payload). A server frame is unmasked, RSV bits clear."""
    b0, b1 = c.exact(2)
    expect(b0 & 0x70 == 0, "RSV bits set in a server frame (%02x)" % b0)
    expect(b1 & 0x80 == 0, "a masked server frame")
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", c.exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", c.exact(8))[0]
    return bool(b0 & 0x80), b0 & 0x0F, c.exact(n)


def ws_next(c):
    """The next frame that is not a ping from the server (which is answered)."""
    while True:
        fin, op, payload = ws_read(c)
        if op == OP_PING:
            c.send(ws_frame(OP_PONG, payload))
            continue
        return fin, op, payload


def ws_close(c, code=1000):
    """The closing handshake: our close, the server's (the same code), then its EOF."""
    c.send(ws_frame(OP_CLOSE, struct.pack("!H", code) + b"soak"))
    fin, op, payload = ws_next(c)
    expect(op == OP_CLOSE and fin, "wanted a close frame, got opcode %d" % op)
    expect(payload[:2] == struct.pack("!H", code), "close code %r, wanted %d" % (payload[:2], code))
    expect(c.at_eof(), "data after the server's close frame")


# Text for messages: valid UTF-8 of 1 to 4 bytes a character.
_TEXT = ("soak async-nostd é ü ß Ω ж ع 中文 日本語 € ∑ → 😀 🚀 𝄞 " * 9000)


def text_payload(rng, size):
    start = rng.randrange(0, len(_TEXT) - size - 1)
    return _TEXT[start:start + max(0, size // 2)].encode()[:max(0, size)].decode("utf-8", "ignore").encode()


def message_size(rng):
    r = rng.random()
    if r < 0.60:
        return rng.randrange(0, 126)
    if r < 0.90:
        return rng.randrange(126, 16 * KIB)
    if r < 0.99:
        return rng.randrange(16 * KIB, 64 * KIB)
    return rng.randrange(64 * KIB, 256 * KIB)


def ws_worker(port, deadline, stop, counts, seed):
    """WebSocket echo until the deadline: one connection at a time, renewed with a close handshake
    every 50-500 messages."""
    rng = random.Random(seed)
    while time.monotonic() < deadline and not stop.is_set():
        c = None
        try:
            c = ws_open(port)
            counts.add_extra("ws connections", 1)
            budget = rng.randrange(50, 500)
            while budget > 0 and time.monotonic() < deadline and not stop.is_set():
                budget -= 1
                r = rng.random()
                if r < 0.03:  # a ping with a payload: a pong with the same
                    data = os.urandom(rng.randrange(0, 126))
                    c.send(ws_frame(OP_PING, data))
                    fin, op, payload = ws_next(c)
                    expect(op == OP_PONG and fin and payload == data, "ping: got opcode %d, %d bytes" % (op, len(payload)))
                    continue
                binary = rng.random() < 0.5
                size = message_size(rng)
                data = os.urandom(size) if binary else text_payload(rng, size)
                opcode = OP_BINARY if binary else OP_TEXT
                ping = None
                if r < 0.13 and len(data) >= 2:  # fragmented, cut anywhere (mid-character too)
                    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randrange(1, 4))))
                    pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
                    out = []
                    for i, piece in enumerate(pieces):
                        out.append(ws_frame(opcode if i == 0 else OP_CONT, piece, fin=i == len(pieces) - 1))
                        if i == 0 and rng.random() < 0.5:
                            ping = os.urandom(8)
                            out.append(ws_frame(OP_PING, ping))
                    c.send(b"".join(out))
                else:
                    c.send(ws_frame(opcode, data))
                if ping is not None:
                    fin, op, payload = ws_next(c)
                    expect(op == OP_PONG and payload == ping, "ping amid fragments: got opcode %d" % op)
                fin, op, payload = ws_next(c)
                expect(fin and op == opcode, "echo: fin %s opcode %d, wanted a final opcode %d" % (fin, op, opcode))
                expect(payload == data, "echo of %d bytes differs (%d bytes back)" % (len(data), len(payload)))
                counts.ok("ws")
                counts.add_extra("ws bytes echoed", len(data))
                if WS_GAP:
                    time.sleep(WS_GAP)
            ws_close(c)
        except (OSError, EOFError, ValueError, AssertionError, struct.error) as e:
            counts.error("ws", "%s: %s" % (type(e).__name__, e))
            time.sleep(0.1)
        finally:
            if c:
                c.close()


# Misc operations: each returns when the server answered as it should, else raises.

def op_head(port, files, rng):
    with Conn(port) as c:
        c.send(b"HEAD /%s HTTP/1.1\r\nHost: x\r\n\r\nGET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % (BIG_NAME.encode(), SMALL_NAME.encode()))
        status, headers, _ = c.response(head_only=True)
        expect(status == 200 and headers.get("content-length") == str(BIG_SIZE),
               "HEAD /%s: %d, Content-Length %s" % (BIG_NAME, status, headers.get("content-length")))
        status, _, body = c.response()  # no stray body bytes after the HEAD answer
        expect(status == 200 and body == files[SMALL_NAME], "GET after HEAD: %d, %d bytes" % (status, len(body)))


def op_404(port, files, rng):
    with Conn(port) as c:
        c.send(b"GET /no-such-file-%d.html HTTP/1.1\r\nHost: x\r\n\r\n" % rng.randrange(10 ** 6))
        status, _, _ = c.response()
        expect(status == 404, "a missing file answered %d" % status)


def op_400(port, files, rng):
    with Conn(port) as c:
        c.send(b"THIS IS NOT HTTP\r\n\r\n")
        status, headers, _ = c.response()
        expect(status == 400, "a malformed request answered %d" % status)
        expect(c.at_eof(), "the connection stayed open after 400")


def op_post(port, files, rng):
    with Conn(port) as c:
        body = os.urandom(rng.randrange(1, 64 * KIB))
        if rng.random() < 0.5:
            c.send(b"POST /%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (SMALL_NAME.encode(), len(body), body))
        else:
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000]) for i in range(0, len(body), 1000))
            c.send(b"POST /%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s0\r\n\r\n" % (SMALL_NAME.encode(), chunks))
        status, headers, _ = c.response()
        expect(status == 405 and "GET" in headers.get("allow", ""), "POST answered %d" % status)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, got = c.response()
        expect(status == 200 and got == files["index.html"], "GET after a POST: %d, %d bytes" % (status, len(got)))


def op_http10(port, files, rng):
    with Conn(port) as c:
        c.send(b"GET /%s HTTP/1.0\r\n\r\n" % SMALL_NAME.encode())
        status, _, body = c.response()
        expect(status == 200 and body == files[SMALL_NAME], "HTTP/1.0 GET: %d, %d bytes" % (status, len(body)))
        expect(c.at_eof(), "an HTTP/1.0 connection stayed open")


def op_pipelined(port, files, rng):
    with Conn(port) as c:
        c.send(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\nGET /index.html?x=%d HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % (SMALL_NAME.encode(), rng.randrange(1000)))
        for want in (files[SMALL_NAME], files["index.html"], files["index.html"]):
            status, _, body = c.response()
            expect(status == 200 and body == want, "pipelined GET: %d, %d bytes" % (status, len(body)))
        expect(c.at_eof(), "the connection stayed open after Connection: close")


def op_cut_download(port, files, rng):
    with Conn(port) as c:
        c.send(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % BIG_NAME.encode())
        status, _ = c.head()
        expect(status == 200, "GET /%s answered %d" % (BIG_NAME, status))
        c.exact(32 * KIB)  # then close with most of it unread (a reset)


def op_cut_head(port, files, rng):
    with Conn(port) as c:
        c.send(b"GET /%s HTTP/1.1\r\nHost: x\r\nUser-Agent: soak" % SMALL_NAME.encode())


def op_bad_handshake(port, files, rng):
    with Conn(port) as c:
        c.send(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, _ = c.response()
        expect(status == 400, "a WebSocket request without Upgrade answered %d" % status)


def op_ws_cut(port, files, rng):
    c = ws_open(port)
    try:
        c.send(ws_frame(OP_BINARY, os.urandom(1000))[:rng.randrange(1, 600)])
    finally:
        c.close()


def op_ws_bad_utf8(port, files, rng):
    c = ws_open(port)
    try:
        c.send(ws_frame(OP_TEXT, b"soak \xff\xfe"))
        fin, op, payload = ws_next(c)
        expect(op == OP_CLOSE and payload[:2] == struct.pack("!H", 1007),
               "invalid UTF-8: opcode %d %r, wanted close 1007" % (op, payload[:2]))
        c.send(ws_frame(OP_CLOSE, struct.pack("!H", 1007)))
        expect(c.at_eof(), "data after the server's close frame")
    finally:
        c.close()


MISC_OPS = [op_head, op_404, op_400, op_post, op_http10, op_pipelined, op_cut_download, op_cut_head,
            op_bad_handshake, op_ws_cut, op_ws_bad_utf8]


def misc_worker(port, files, deadline, stop, counts, seed):
    rng = random.Random(seed)
    i = rng.randrange(len(MISC_OPS))
    while time.monotonic() < deadline and not stop.is_set():
        op = MISC_OPS[i % len(MISC_OPS)]
        i += 1
        try:
            op(port, files, rng)
            counts.ok("misc")
        except (OSError, EOFError, ValueError, AssertionError, struct.error) as e:
            counts.error("misc", "%s: %s: %s" % (op.__name__[3:], type(e).__name__, e))
        time.sleep(MISC_GAP)


def guarded(fn, kind, counts):
    """Runs a load thread's body; an unexpected exception is an error, not a silent end."""
    def run(*a):
        try:
            fn(*a)
        except Exception as e:  # noqa: BLE001 - counted and reported
            counts.error(kind, "the %s client failed: %s: %s" % (kind, type(e).__name__, e))
    return run


# ---------------------------------------------------------------------------------------------
# The log
# ---------------------------------------------------------------------------------------------

def summarize_log(path):
    """Counts of the server log's lines: access lines, and event lines by kind (error lines by
    their message, client and worker left out)."""
    access, events, errors = 0, {}, {}
    ws_close_codes = {}
    try:
        with open(path, "rb") as f:
            for raw in f:
                line = raw.decode(errors="replace").rstrip("\n")
                m = re.match(r"^\d{4}-\d\d-\d\dT[\d:]+Z (\S+)(.*)$", line)
                if not m:
                    access += 1
                    continue
                kind, rest = m.group(1), m.group(2)
                events[kind] = events.get(kind, 0) + 1
                if kind == "ws-close":
                    code = re.search(r"code=(\d+)", rest)
                    if code:
                        ws_close_codes[code.group(1)] = ws_close_codes.get(code.group(1), 0) + 1
                if kind == "error":
                    msg = re.sub(r" (client|worker)=\S+", "", rest).strip()
                    errors[msg] = errors.get(msg, 0) + 1
    except OSError as e:
        return None, str(e)
    return dict(access=access, events=events, errors=errors, ws_close_codes=ws_close_codes), None


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

HEADER = ["t s", "RSS KiB", "fds", "RSS@load", "fds@load"] + [COLUMN[k] for k in KINDS] + ["errors"]
WIDTHS = [6, 8, 4, 8, 8, 9, 6, 9, 8, 7, 5, 6]


def row_text(cells):
    return "  ".join(str(c).rjust(w) for c, w in zip(cells, WIDTHS))


def settle(pid, target, limit):
    """Waits until the server's fd count is `target`, or unchanged for a second, at most `limit`
    seconds. Returns the count."""
    end = time.monotonic() + limit
    last, since = fd_count(pid), time.monotonic()
    while time.monotonic() < end:
        if last == target or last is None:
            return last
        time.sleep(0.1)
        n = fd_count(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= 1.0:
            return last
    return last


def rss_slope(samples):
    """The least-squares slope of RSS over time, KiB per minute (None for fewer than 3 samples)."""
    if len(samples) < 3:
        return None
    ts = [s["t"] for s in samples]
    rs = [s["rss"] for s in samples]
    mt, mr = sum(ts) / len(ts), sum(rs) / len(rs)
    den = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (r - mr) for t, r in zip(ts, rs)) / den * 60 if den > 0 else None


def verdict(args, samples, baseline, died, stop_status, counts, intervals_short):
    """Prints the checks; returns True when all pass."""
    checks = []  # (ok, text)
    if died:
        checks.append((False, "the server died: %s" % died))
    else:
        ok = stop_status == 0
        checks.append((ok, "the server ran throughout and %s" % (
            "exited 0 on SIGTERM" if ok else "did not exit 0 on SIGTERM (status %s)" % stop_status)))
    total_errors = sum(counts.total_errors.values())
    total_done = sum(counts.total_done.values())
    checks.append((total_errors == 0, "answers checked: {:,} completed, {:,} errors{}".format(
        total_done, total_errors,
        " (%s)" % ", ".join("%s %d" % (k, v) for k, v in counts.total_errors.items() if v) if total_errors else "")))
    checks.append((not intervals_short, "every kind of load completed work in every interval" if not intervals_short
                   else "some load did nothing: " + "; ".join(intervals_short[:5])))
    if len(samples) < 2:
        checks.append((False, "too few samples to judge RSS and fds (%d)" % len(samples)))
    else:
        ref_i = min(next((i for i, s in enumerate(samples) if s["t"] >= args.warmup - 0.5), len(samples) - 1), 1)
        ref = samples[ref_i]
        last_half = samples[len(samples) // 2:]
        peak = max(s["rss"] for s in last_half)
        tol = max(ref["rss"] * args.rss_tolerance_pct / 100.0, args.rss_tolerance_mib * KIB)
        growth = peak - ref["rss"]
        trend = ""
        for label, part in (("after warm-up", samples[ref_i:]), ("over the last half", last_half)):
            slope = rss_slope(part)
            if slope is not None:
                trend += "; trend %s %+.1f KiB/min" % (label, slope)
        checks.append((growth < tol, "RSS flat after warm-up: {:,} KiB at {:.0f} s (warm-up end), at most {:,} KiB over "
                       "the last half ({} samples from {:.0f} s): {:+,} KiB, tolerance < {:,.0f} KiB = max({}%, {} MiB){}".format(
                           ref["rss"], ref["t"], peak, len(last_half), last_half[0]["t"], growth, tol,
                           args.rss_tolerance_pct, args.rss_tolerance_mib, trend)))
        lo, hi = min(s["fds"] for s in last_half), max(s["fds"] for s in last_half)
        ok = max(abs(lo - ref["fds"]), abs(hi - ref["fds"])) <= args.fd_tolerance
        checks.append((ok, "fds flat after warm-up (sampled with the load paused): %d at %.0f s, %s over the last half, "
                       "tolerance +-%d" % (ref["fds"], ref["t"], str(lo) if lo == hi else "%d..%d" % (lo, hi), args.fd_tolerance)))
        end = samples[-1]["fds"]
        checks.append((abs(end - baseline["fds"]) <= args.fd_tolerance,
                       "fds back to the count before any load: %d at the end, %d before" % (end, baseline["fds"])))
    log("")
    log("== verdict ==")
    for ok, text in checks:
        log("%s  %s" % ("PASS" if ok else "FAIL", text))
    passed = all(ok for ok, _ in checks)
    log("result: %s" % ("PASS" if passed else "FAIL (%d of %d checks)" % (sum(not ok for ok, _ in checks), len(checks))))
    return passed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=600, help="length of the run (600)")
    ap.add_argument("--interval", type=int, default=30, help="seconds between samples, a row each (30)")
    ap.add_argument("--pause", type=float, default=3.0,
                    help="seconds at the end of each interval with the load stopped, before the sample (3)")
    ap.add_argument("--warmup", type=float, default=60,
                    help="warm-up: the reference sample is the first at or after this many seconds, or the "
                         "second, whichever comes first (60)")
    ap.add_argument("--workers", type=int, default=2, help="server workers (2)")
    ap.add_argument("--io", default="ppoll", choices=("ppoll", "epoll", "uring"),
                    help="the server's IO backend, --io (ppoll)")
    ap.add_argument("--rss-tolerance-pct", type=float, default=10, help="RSS growth allowed, %% of warm-up RSS (10)")
    ap.add_argument("--rss-tolerance-mib", type=float, default=2, help="RSS growth allowed, MiB, if larger (2)")
    ap.add_argument("--fd-tolerance", type=int, default=2, help="fd count difference allowed (2)")
    ap.add_argument("--no-access-log", action="store_true", help="run the server with --no-access-log")
    ap.add_argument("--binary", default=os.path.join(REPO, "async-nostd"), help="the async-nostd binary")
    ap.add_argument("--no-install", action="store_true", help="do not install wrk when it is missing")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (log, document root)")
    ap.add_argument("--only", metavar="KINDS",
                    help="run only these kinds of load, a comma list of: %s (to find what drives a growth)"
                         % ",".join(KINDS))
    args = ap.parse_args()
    active = KINDS if not args.only else [k for k in args.only.split(",") if k]
    if set(active) - set(KINDS) or not active:
        ap.error("--only takes a comma list of: %s" % ",".join(KINDS))
    wrk_loads = [w for w in WRK_LOADS if w[0] in active]
    ws_clients = WS_CLIENTS if "ws" in active else 0
    if args.interval < 5 or args.seconds < 2 * args.interval:
        ap.error("--interval must be at least 5 and --seconds at least two intervals")
    if not 0.5 <= args.pause <= args.interval - 2:
        ap.error("--pause must be between 0.5 and --interval - 2")
    if args.workers < 1:
        ap.error("--workers must be at least 1")

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if not args.no_install:
        failed = bench.install_missing({"wrk"})
        if failed:
            log("error: %s" % failed["wrk"])
            return 1
    if not bench.which("wrk"):
        log("error: wrk is not installed (--no-install)")
        return 1

    base = tempfile.mkdtemp(prefix="async-nostd-soak-")
    server = SoakServer(args)
    counts = Counts()
    stop = threading.Event()
    wrks, threads = [], []
    samples, died, stop_status = [], None, None
    intervals_short = []
    passed = False
    try:
        docroot, files = make_docroot(base)
        if server.missing():
            log("error: %s" % server.missing())
            return 1
        why = server.start(docroot, base)
        if why:
            log("error: async-nostd did not start: %s" % why)
            return 1
        pid, port = server.proc.pid, server.port
        meta = {}
        for name in files:
            status, body, headers = bench.http_get("127.0.0.1", port, "/" + name)
            if status != 200 or body != files[name] or not headers.get("ETag") or not headers.get("Last-Modified"):
                log("error: GET /%s answered %d with %d bytes, ETag %s" % (name, status, len(body), headers.get("ETag")))
                return 1
            meta[name] = {"etag": headers["ETag"], "last_modified": headers["Last-Modified"]}
        ok, why = bench.ws_echo_check(port)
        if not ok:
            log("error: WebSocket echo check failed: %s" % why)
            return 1
        scripts = write_wrk_scripts(base, docroot, meta)
        time.sleep(0.5)
        baseline = {"t": 0.0, "rss": rss_kib(pid), "fds": settle(pid, None, 3)}

        intervals = -(-args.seconds // args.interval)
        log("async-nostd soak: %d s (%d intervals of %d s: load, then %.1f s paused and a sample), %d workers, "
            "pid %d, port %d, %d CPUs" % (intervals * args.interval, intervals, args.interval, args.pause,
                                         args.workers, pid, port, os.cpu_count()))
        log("server: %s, --io %s; log: %s (%s)" % (server.version, args.io, server.logfile,
                                                    "no access log" if args.no_access_log else "access log on"))
        log("load: %s; ws: %d WebSockets, %.0f ms between messages; misc: one operation every %.0f ms; %s"
            % (", ".join("%s wrk -t%d -c%d delay %d ms" % (k, c, c, d) for k, c, d in wrk_loads) or "no wrk", ws_clients,
               WS_GAP * 1e3, MISC_GAP * 1e3, bench.tool_version([bench.which("wrk"), "-v"])))
        busy = bench.machine_busy(0.5)
        if busy > 0.15:
            log("note: the machine was %.0f%% busy before the load (other processes, niced ones included)" % (busy * 100))
        if args.only:
            log("only: %s" % ", ".join(active))
        log("RSS KiB, fds: the server's VmRSS and open fds with the load paused; RSS@load, fds@load: the largest "
            "seen under load (every second); then what each kind completed in the interval; errors: all kinds")
        log("")
        log(row_text(HEADER))
        log(row_text(["-" * w for w in WIDTHS]))
        log(row_text(["0", "{:,}".format(baseline["rss"]), baseline["fds"], "-", "-"] + ["-"] * len(KINDS) + ["-"]))

        t0 = time.monotonic()
        counts.t0 = t0
        rng = random.Random()
        for i in range(intervals):
            interval_end = t0 + (i + 1) * args.interval
            load_s = max(1, int(round(interval_end - args.pause - time.monotonic())))
            deadline = time.monotonic() + load_s
            wrks = [(kind, start_wrk(kind, conns, load_s, port, scripts[kind])) for kind, conns, _ in wrk_loads]
            threads = [threading.Thread(target=guarded(ws_worker, "ws", counts),
                                        args=(port, deadline, stop, counts, rng.random()), daemon=True)
                       for _ in range(ws_clients)]
            if "misc" in active:
                threads.append(threading.Thread(target=guarded(misc_worker, "misc", counts),
                                                args=(port, files, deadline, stop, counts, rng.random()), daemon=True))
            for t in threads:
                t.start()
            rss_max, fds_max = 0, 0
            while time.monotonic() < deadline:
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                if not server.alive():
                    died = "at %.0f s, exit status %s; log tail: %s" % (
                        time.monotonic() - t0, server.proc.returncode, server.output_tail()[-600:])
                    break
                rss_max = max(rss_max, rss_kib(pid) or 0)
                fds_max = max(fds_max, fd_count(pid) or 0)
            if died:
                stop.set()
                for _, (p, out) in wrks:
                    p.kill()
            for kind, (p, out) in wrks:
                finish_wrk(kind, p, out, counts, timeout=30)
            wrks = []
            for t in threads:
                t.join(timeout=SOCKET_TIMEOUT * 3)
            threads = []
            if died or not server.alive():
                if not died:
                    died = "at %.0f s, exit status %s; log tail: %s" % (
                        time.monotonic() - t0, server.proc.returncode, server.output_tail()[-600:])
                done, errors, msgs = counts.take()
                log(row_text(["%.0f" % (time.monotonic() - t0), "DEAD", "-", "-", "-"]
                             + ["{:,}".format(done[k]) for k in KINDS] + [sum(errors.values())]))
                break
            # The pause: the load has stopped; wait for the server to close every connection.
            left = interval_end - time.monotonic()
            fds = settle(pid, baseline["fds"], max(left, 0) + 10)
            left = interval_end - time.monotonic()
            if left > 0:
                time.sleep(left)
                fds = fd_count(pid)
            sample = {"t": time.monotonic() - t0, "rss": rss_kib(pid), "fds": fds}
            if sample["rss"] is None or fds is None:
                died = "at %.0f s (gone from /proc)" % sample["t"]
                break
            samples.append(sample)
            done, errors, msgs = counts.take()
            for k in active:
                if done[k] == 0:
                    intervals_short.append("%s at %.0f s" % (k, sample["t"]))
            log(row_text(["%.0f" % sample["t"], "{:,}".format(sample["rss"]), fds, "{:,}".format(rss_max), fds_max]
                         + ["{:,}".format(done[k]) for k in KINDS] + [sum(errors.values())]))
            for t_err, kind, text in msgs[:3]:
                log("         error at %.1f s, %s: %s" % (t_err, kind, text[:300]))
            if len(msgs) > 3:
                log("         ... %d more error(s) in this interval" % (len(msgs) - 3))

        # Totals
        elapsed = time.monotonic() - t0
        log("")
        log("totals over %.0f s: %s" % (elapsed, ", ".join(
            "{} {:,} ({:,.0f}/s)".format(k, counts.total_done[k], counts.total_done[k] / elapsed) for k in KINDS)))
        log("  WebSocket connections opened by the echo clients: {:,}; bytes echoed: {:,}".format(
            counts.extra["ws connections"], counts.extra["ws bytes echoed"]))
        if counts.first:
            log("  the first errors:")
            for t_err, kind, text in counts.first:
                log("    %.1f s, %s: %s" % (t_err, kind, text[:300]))
        cpu = bench.read_stat(pid)
        if cpu:
            log("  server CPU time: %.1f s (%.0f%% of one core over the run)" % (
                cpu[1] / bench.CLK_TCK, 100.0 * cpu[1] / bench.CLK_TCK / max(elapsed, 1)))
    except KeyboardInterrupt:
        log("\ninterrupted")
        stop.set()
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop.set()
        for _, (p, out) in wrks:
            try:
                p.kill()
                p.wait()
            except OSError:
                pass
        for t in threads:
            t.join(timeout=SOCKET_TIMEOUT * 2)
        if server.proc is not None:
            was_alive = server.alive()
            server.stop()
            stop_status = server.proc.returncode if was_alive else None
            if was_alive and stop_status != 0:
                log("note: the server's status after SIGTERM: %s (negative: killed by that signal)" % stop_status)
        if getattr(server, "logfile", None) and os.path.exists(server.logfile) and samples:
            summary, why = summarize_log(server.logfile)
            if summary:
                log("  server log: {:,} bytes, {:,} access lines; events: {}".format(
                    os.path.getsize(server.logfile), summary["access"],
                    ", ".join("%s %d" % kv for kv in sorted(summary["events"].items())) or "none"))
                if summary["ws_close_codes"]:
                    log("  ws-close codes: %s" % ", ".join("%s %d" % kv for kv in sorted(summary["ws_close_codes"].items())))
                for msg, n in sorted(summary["errors"].items(), key=lambda kv: -kv[1])[:8]:
                    log("  log errors: {:,} x {}".format(n, msg))
        if args.keep:
            log("kept: %s" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    passed = verdict(args, samples, baseline, died, stop_status, counts, intervals_short)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
