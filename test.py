"""End-to-end tests for the async-nostd server.

Run from the repository root (after `make`):

    /usr/bin/python3 -m pytest -q test.py

Only the Python standard library and pytest are used: HTTP/1.1 and WebSocket
(RFC 6455) are spoken over raw sockets.  Every socket has a timeout and every
load loop is bounded in count and time, so a hung server fails fast.

Each test starts its own server (binary ./async-nostd next to this file) on a
free 127.0.0.1 port with a temporary --root and --log, and stops it (SIGTERM,
then SIGKILL after 3 s) by PID when the test ends.  A server that dies during
a test is reported as an error at teardown.
"""

import base64
import collections
import concurrent.futures
import datetime
import errno
import hashlib
import os
import re
import resource
import selectors
import signal
import socket
import struct
import subprocess
import threading
import time
import zlib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# ASYNC_NOSTD_BIN overrides the binary under test (e.g. a sanitizer build).
BINARY = Path(os.environ.get("ASYNC_NOSTD_BIN", HERE / "async-nostd"))
HOST = "127.0.0.1"
SOCK_TIMEOUT = 5.0
WORKER_COUNTS = [2, 4, 8, 16]
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# --------------------------------------------------------------------------
# Document root contents
# --------------------------------------------------------------------------

def _png_bytes():
    """A real 2x2 RGB PNG image."""

    def chunk(tag, data):
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes([255, 0, 0, 0, 255, 0]) for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _big_bytes():
    """100 KiB of deterministic, non-repeating-looking content."""
    data = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(3200))
    assert len(data) == 100 * 1024
    return data


FILES = {
    "index.html": (b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                   b"<title>async-nostd</title><link rel=\"stylesheet\" href=\"/style.css\">"
                   b"</head>\n<body><h1>It works \xe2\x9c\x93</h1><img src=\"/logo.png\">"
                   b"<script src=\"/app.js\"></script></body></html>\n"),
    "style.css": b"body { font-family: sans-serif; margin: 2em; }\nh1 { color: #336; }\n",
    "app.js": b"'use strict';\nconsole.log('hello from app.js');\nexport const answer = 42;\n",
    "logo.png": _png_bytes(),
    "data.json": b'{"name": "async-nostd", "workers": [2, 4, 8, 16], "ok": true}\n',
    "notes.txt": b"These are notes.\nLine two.\nLine three: caf\xc3\xa9.\n",
    "sub/index.html": b"<!DOCTYPE html>\n<html><body><p>sub directory index</p></body></html>\n",
    "big.bin": _big_bytes(),
}

CONTENT_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "logo.png": "image/png",
    "data.json": "application/json",
    "notes.txt": "text/plain; charset=utf-8",
    "sub/index.html": "text/html; charset=utf-8",
    "big.bin": "application/octet-stream",
}

# URL path -> file key under the root
TARGETS = {
    "/": "index.html",
    "/index.html": "index.html",
    "/style.css": "style.css",
    "/app.js": "app.js",
    "/logo.png": "logo.png",
    "/data.json": "data.json",
    "/notes.txt": "notes.txt",
    "/sub/": "sub/index.html",
    "/sub/index.html": "sub/index.html",
    "/big.bin": "big.bin",
}
SMALL_TARGETS = [t for t, f in TARGETS.items() if f != "big.bin"]


# --------------------------------------------------------------------------
# Generic helpers
# --------------------------------------------------------------------------

class ProtocolError(AssertionError):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def assert_bytes_equal(actual, expected, what):
    """Byte comparison with a short message (no 100 KiB diffs)."""
    if actual == expected:
        return
    n = min(len(actual), len(expected))
    first = next((i for i in range(n) if actual[i] != expected[i]), n)
    raise AssertionError(
        f"{what}: got {len(actual)} bytes, expected {len(expected)}; first difference at "
        f"offset {first}: got {bytes(actual[first:first + 24])!r}, "
        f"expected {bytes(expected[first:first + 24])!r}")


def norm_ctype(value):
    return None if value is None else value.replace(" ", "").lower()


def run_parallel(n, fn, timeout=60):
    """Run fn(i) for i in range(n) in n threads that start together; fail on any error."""
    barrier = threading.Barrier(n, timeout=15)

    def wrapper(i):
        barrier.wait()
        return fn(i)

    errors = []
    results = [None] * n
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
        futures = {ex.submit(wrapper, i): i for i in range(n)}
        done, not_done = concurrent.futures.wait(futures, timeout=timeout)
        for f in done:
            try:
                results[futures[f]] = f.result()
            except BaseException as e:  # noqa: BLE001 - report everything
                errors.append((futures[f], e))
    assert not not_done, f"{len(not_done)}/{n} parallel clients did not finish within {timeout}s"
    if errors:
        errors.sort(key=lambda x: x[0])
        i, e = errors[0]
        raise AssertionError(f"{len(errors)}/{n} parallel clients failed; first (client {i}): "
                             f"{type(e).__name__}: {e}")
    return results


def read_tail(path, limit=3000):
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return data[-limit:].decode("utf-8", "replace")


# --------------------------------------------------------------------------
# Server process management
# --------------------------------------------------------------------------

def require_binary():
    if not BINARY.exists():
        pytest.fail(f"{BINARY} does not exist; build it with `make -C {HERE}`")


class ServerProcess:
    def __init__(self, workers, root, log_path, workdir, port=None, extra_args=(),
                 nofile_soft=None):
        require_binary()
        self.workers = workers
        self.root = Path(root)
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.workdir = Path(workdir)
        self.args = [str(BINARY), str(workers), HOST, str(self.port),
                     "--root", str(self.root), "--log", str(self.log_path), *extra_args]
        self.stdout_path = self.workdir / f"server-{self.port}.stdout"
        self.stderr_path = self.workdir / f"server-{self.port}.stderr"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        old = None
        if nofile_soft is not None:
            # Start the child with a low soft limit so that raising it is observable.
            old = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile_soft, old[1]))
        try:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self._out,
                                         stderr=self._err, cwd=str(self.workdir))
        finally:
            if old is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, old)
        self.pid = self.proc.pid
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def diagnostics(self):
        return (f"\n--- server stderr ---\n{read_tail(self.stderr_path)}"
                f"\n--- server log ---\n{read_tail(self.log_path)}")

    def _wait_ready(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                pytest.fail(f"server exited with status {rc} during start-up: "
                            f"{' '.join(self.args)}{self.diagnostics()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError as e:
                last = e
                time.sleep(0.02)
        pytest.fail(f"server not accepting connections on {HOST}:{self.port} after {timeout}s "
                    f"({last}){self.diagnostics()}")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """Stop the server; return its exit status if it had already exited, else None."""
        early = self.proc.poll()
        if early is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._out.close()
        self._err.close()
        return early

    def proc_status(self, field):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return line.split(":", 1)[1].strip()
        raise AssertionError(f"{field} not found in /proc/{self.pid}/status")

    def rss_kb(self):
        value = self.proc_status("VmRSS")
        assert value.endswith("kB"), value
        return int(value.split()[0])

    def thread_count(self):
        return len(os.listdir(f"/proc/{self.pid}/task"))


@pytest.fixture(scope="session")
def www(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    for name, data in FILES.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def _start_fixture_server(request, www, tmp_path, workers, **kw):
    srv = ServerProcess(workers, www, tmp_path / "server.log", tmp_path, **kw)

    def finalize():
        early = srv.stop()
        if early is not None:
            pytest.fail(f"server (workers={workers}) exited unexpectedly during the test "
                        f"with status {early}{srv.diagnostics()}")

    request.addfinalizer(finalize)
    return srv


@pytest.fixture(params=WORKER_COUNTS, ids=lambda w: f"w{w}")
def server(request, www, tmp_path):
    return _start_fixture_server(request, www, tmp_path, request.param)


@pytest.fixture
def server4(request, www, tmp_path):
    return _start_fixture_server(request, www, tmp_path, 4)


# --------------------------------------------------------------------------
# HTTP/1.1 client
# --------------------------------------------------------------------------

class Response:
    def __init__(self, status_line, headers):
        self.status_line = status_line
        parts = status_line.split(" ", 2)
        self.version = parts[0]
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = headers  # list of (name, value) in wire order
        self.body = b""

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def get(self, name, default=None):
        values = self.get_all(name)
        return values[0] if values else default

    def __repr__(self):
        return f"<Response {self.status_line!r} {self.headers!r} body={len(self.body)} bytes>"


def build_request(method, target, port, headers=()):
    lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class ResponseParser:
    """Incremental HTTP/1.1 response parser.

    Call expect(method) once per request sent (in order), feed() received data and
    next() to pop complete responses.  The body is exactly Content-Length bytes
    (none for HEAD, 1xx, 204, 304); chunked and read-until-close are also handled.
    """

    MAX_HEAD = 64 * 1024

    def __init__(self):
        self.buf = bytearray()
        self.methods = collections.deque()
        self.eof = False
        self._resp = None
        self._need = None

    def expect(self, method):
        self.methods.append(method)

    def feed(self, data):
        self.buf += data

    def feed_eof(self):
        self.eof = True

    def _parse_head(self):
        i = self.buf.find(b"\r\n\r\n")
        if i < 0:
            if len(self.buf) > self.MAX_HEAD:
                raise ProtocolError(f"response header block larger than {self.MAX_HEAD} bytes")
            if self.eof:
                raise ProtocolError(
                    "server closed the connection before a complete response header"
                    + (f" (got {bytes(self.buf[:200])!r})" if self.buf else ""))
            return False
        head = bytes(self.buf[:i]).decode("latin-1")
        del self.buf[:i + 4]
        lines = head.split("\r\n")
        if not re.fullmatch(r"HTTP/\d\.\d \d{3}( .*)?", lines[0]):
            raise ProtocolError(f"malformed status line {lines[0]!r}")
        headers = []
        for line in lines[1:]:
            if ":" not in line:
                raise ProtocolError(f"malformed header line {line!r}")
            k, v = line.split(":", 1)
            headers.append((k.strip(), v.strip()))
        resp = Response(lines[0], headers)
        method = self.methods.popleft() if self.methods else "GET"
        te = resp.get("transfer-encoding")
        cl = resp.get_all("content-length")
        if method == "HEAD" or 100 <= resp.status < 200 or resp.status in (204, 304):
            need = 0
        elif te and "chunked" in te.lower():
            need = "chunked"
        elif cl:
            if len(set(cl)) != 1 or not cl[0].isdigit():
                raise ProtocolError(f"bad Content-Length header(s) {cl!r}")
            need = int(cl[0])
        else:
            need = "close"
        self._resp, self._need = resp, need
        return True

    def _parse_chunked(self):
        buf, pos, out = self.buf, 0, bytearray()
        while True:
            j = buf.find(b"\r\n", pos)
            if j < 0:
                return None
            try:
                size = int(bytes(buf[pos:j]).split(b";")[0], 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line {bytes(buf[pos:j])!r}") from None
            pos = j + 2
            if size == 0:
                while True:
                    j = buf.find(b"\r\n", pos)
                    if j < 0:
                        return None
                    empty = j == pos
                    pos = j + 2
                    if empty:
                        del buf[:pos]
                        return bytes(out)
            if len(buf) < pos + size + 2:
                return None
            out += buf[pos:pos + size]
            pos += size + 2

    def next(self):
        if self._resp is None and not self._parse_head():
            return None
        resp, need = self._resp, self._need
        if need == "close":
            if not self.eof:
                return None
            body = bytes(self.buf)
            self.buf.clear()
        elif need == "chunked":
            body = self._parse_chunked()
            if body is None:
                if self.eof:
                    raise ProtocolError("server closed the connection inside a chunked body")
                return None
        else:
            if len(self.buf) < need:
                if self.eof:
                    raise ProtocolError(f"server closed the connection after {len(self.buf)} "
                                        f"of {need} body bytes ({resp.status_line!r})")
                return None
            body = bytes(self.buf[:need])
            del self.buf[:need]
        resp.body = body
        self._resp = self._need = None
        return resp


def read_response(sock, parser):
    """Blocking read of one complete response (socket must have a timeout)."""
    while True:
        resp = parser.next()
        if resp is not None:
            return resp
        if parser.eof:
            raise ProtocolError("server closed the connection before a complete response")
        try:
            data = sock.recv(262144)
        except socket.timeout:
            raise ProtocolError(f"timed out after {sock.gettimeout()}s waiting for a response "
                                f"(have {len(parser.buf)} buffered bytes)") from None
        if data:
            parser.feed(data)
        else:
            parser.feed_eof()


class HttpClient:
    """One raw keep-alive connection; never reconnects."""

    def __init__(self, port, timeout=SOCK_TIMEOUT):
        self.port = port
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.local = self.sock.getsockname()
        self.parser = ResponseParser()

    def send(self, method, target, headers=()):
        self.parser.expect(method)
        self.sock.sendall(build_request(method, target, self.port, headers))

    def read(self):
        return read_response(self.sock, self.parser)

    def request(self, method, target, headers=()):
        self.send(method, target, headers)
        return self.read()

    def wait_closed(self, timeout=2.0):
        """True if the server closes the connection (EOF) within timeout."""
        assert not self.parser.buf, f"unexpected extra bytes {bytes(self.parser.buf[:100])!r}"
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return False
        assert data == b"", f"unexpected extra bytes from server: {data[:100]!r}"
        return True

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_file_response(resp, target, method="GET"):
    key = TARGETS[target]
    expected = FILES[key]
    where = f"{method} {target}"
    assert resp.status_line == "HTTP/1.1 200 OK", f"{where}: {resp!r}"
    assert resp.get_all("content-length") == [str(len(expected))], \
        f"{where}: Content-Length {resp.get_all('content-length')!r}, expected [{len(expected)}]"
    assert norm_ctype(resp.get("content-type")) == norm_ctype(CONTENT_TYPES[key]), \
        f"{where}: Content-Type {resp.get('content-type')!r}, expected {CONTENT_TYPES[key]!r}"
    if method == "HEAD":
        assert resp.body == b""
    else:
        assert_bytes_equal(resp.body, expected, f"{where} body")


# --------------------------------------------------------------------------
# WebSocket client (RFC 6455)
# --------------------------------------------------------------------------

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def ws_accept(key):
    if isinstance(key, str):
        key = key.encode("ascii")
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode("ascii")


def mask_bytes(data, key):
    n = len(data)
    if n == 0:
        return b""
    reps = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(reps, "little")).to_bytes(n, "little")


def encode_frame(opcode, payload, fin=True, mask=True):
    b0 = (0x80 if fin else 0) | opcode
    m = 0x80 if mask else 0
    n = len(payload)
    if n <= 125:
        hdr = struct.pack("!BB", b0, m | n)
    elif n <= 0xFFFF:
        hdr = struct.pack("!BBH", b0, m | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, m | 127, n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    return hdr + key + mask_bytes(payload, key)


class Frame(collections.namedtuple("Frame", "fin opcode payload")):
    pass


class WsClient:
    def __init__(self, port, target="/ws", key=None, headers=(), timeout=SOCK_TIMEOUT):
        self.port = port
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.local = self.sock.getsockname()
        self.key = key or base64.b64encode(os.urandom(16)).decode("ascii")
        try:
            req = build_request("GET", target, port, [
                ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", self.key), ("Sec-WebSocket-Version", "13"), *headers])
            parser = ResponseParser()
            parser.expect("GET")
            self.sock.sendall(req)
            resp = read_response(self.sock, parser)
            self.handshake = resp
            assert resp.status_line == "HTTP/1.1 101 Switching Protocols", \
                f"WebSocket handshake for {target}: {resp!r} body={resp.body[:200]!r}"
            assert resp.get("sec-websocket-accept") == ws_accept(self.key), \
                f"Sec-WebSocket-Accept {resp.get('sec-websocket-accept')!r} for key {self.key!r}, " \
                f"expected {ws_accept(self.key)!r}"
            assert (resp.get("upgrade") or "").lower() == "websocket", resp
            conn_tokens = [t.strip().lower() for t in (resp.get("connection") or "").split(",")]
            assert "upgrade" in conn_tokens, resp
            self.buf = parser.buf  # bytes after the handshake belong to the frame stream
        except BaseException:
            self.sock.close()
            raise

    # -- sending
    def send(self, opcode, payload, fin=True):
        self.sock.sendall(encode_frame(opcode, payload, fin=fin))

    def send_raw(self, data):
        self.sock.sendall(data)

    # -- receiving
    def _recv_exact(self, n):
        while len(self.buf) < n:
            try:
                data = self.sock.recv(max(262144, n - len(self.buf)))
            except socket.timeout:
                raise ProtocolError(f"timed out waiting for WebSocket data ({len(self.buf)}/{n} "
                                    f"bytes buffered)") from None
            if not data:
                raise ProtocolError(f"server closed the connection mid-frame "
                                    f"({len(self.buf)}/{n} bytes buffered)")
            self.buf += data
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def recv_frame(self):
        b0, b1 = self._recv_exact(2)
        fin, rsv, opcode = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F
        masked, n = bool(b1 & 0x80), b1 & 0x7F
        assert rsv == 0, f"server frame has RSV bits {rsv:#x}"
        assert not masked, "server-to-client frames must not be masked"
        assert opcode in (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG), \
            f"unknown opcode {opcode}"
        if n == 126:
            (n,) = struct.unpack("!H", self._recv_exact(2))
            assert n >= 126, f"non-minimal 16-bit length {n}"
        elif n == 127:
            (n,) = struct.unpack("!Q", self._recv_exact(8))
            assert n > 0xFFFF, f"non-minimal 64-bit length {n}"
            assert n < (1 << 63)
        if opcode >= 8:
            assert fin and n <= 125, f"bad control frame opcode={opcode} fin={fin} len={n}"
        return Frame(fin, opcode, self._recv_exact(n))

    def recv_message(self):
        """(opcode, payload) of the next message, reassembling fragments.

        A control frame outside a fragmented message is returned as its own message."""
        first, parts = None, []
        while True:
            f = self.recv_frame()
            if f.opcode >= 8:
                if first is None:
                    return f.opcode, f.payload
                raise ProtocolError(f"control frame {f.opcode} inside a fragmented echo")
            if first is None:
                assert f.opcode in (OP_TEXT, OP_BINARY), \
                    f"message starts with continuation frame (opcode {f.opcode})"
                first = f.opcode
            else:
                assert f.opcode == OP_CONT, f"expected continuation frame, got opcode {f.opcode}"
            parts.append(f.payload)
            if f.fin:
                return first, b"".join(parts)

    def echo(self, opcode, payload):
        self.send(opcode, payload)
        self.expect_message(opcode, payload)

    def expect_message(self, opcode, payload, what="echo"):
        op, data = self.recv_message()
        assert op == opcode, f"{what}: opcode {op}, expected {opcode} (payload {data[:60]!r})"
        assert_bytes_equal(data, payload, f"{what} of {len(payload)}-byte opcode-{opcode} message")

    def close(self, code=1000, reason=b""):
        """Closing handshake: send close, expect close with `code`, then TCP EOF."""
        self.send(OP_CLOSE, struct.pack("!H", code) + reason)
        op, data = self.recv_message()
        assert op == OP_CLOSE, f"expected close frame, got opcode {op} ({data[:60]!r})"
        assert len(data) >= 2, f"close frame without status code: {data!r}"
        (got,) = struct.unpack("!H", data[:2])
        assert got == code, f"close code {got}, expected {code}"
        self.expect_tcp_eof()
        return data

    def expect_tcp_eof(self, timeout=3.0):
        assert not self.buf, f"unexpected bytes after close frame: {bytes(self.buf[:60])!r}"
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            raise ProtocolError(f"server did not close the TCP connection within {timeout}s "
                                f"after the close handshake") from None
        assert data == b"", f"unexpected bytes after close frame: {data[:60]!r}"

    def abort(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


def text_payload(n, seed=0):
    alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789 "
    return (alphabet * (n // len(alphabet) + 2))[seed % len(alphabet):][:n]


def binary_payload(n, seed=0):
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


# --------------------------------------------------------------------------
# Non-blocking multi-connection HTTP driver (for the load tests)
# --------------------------------------------------------------------------

class NbConn:
    __slots__ = ("idx", "sock", "parser", "remaining", "out", "target", "served")

    def __init__(self, idx, sock):
        self.idx, self.sock = idx, sock
        self.parser = ResponseParser()
        self.remaining = 0
        self.out = b""
        self.target = None
        self.served = 0


def drive_requests(conns, per_conn, port, deadline, targets=SMALL_TARGETS):
    """Each connection makes `per_conn` GET requests, one in flight at a time, all
    connections concurrently from one thread.  Every response is checked."""
    sel = selectors.DefaultSelector()
    total = 0
    active = 0

    def start_next(c):
        c.target = targets[(c.idx + c.served) % len(targets)]
        c.parser.expect("GET")
        req = build_request("GET", c.target, port)
        try:
            n = c.sock.send(req)
        except BlockingIOError:
            n = 0
        c.out = req[n:]

    try:
        for c in conns:
            c.remaining = per_conn
            if per_conn:
                start_next(c)
                sel.register(c.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0), c)
                active += 1
        while active:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out: {active} connections still waiting for a "
                                     f"response; {total} responses received in this phase")
            for key, mask in sel.select(min(left, 1.0)):
                c = key.data
                if mask & selectors.EVENT_WRITE and c.out:
                    try:
                        n = c.sock.send(c.out)
                    except BlockingIOError:
                        n = 0
                    c.out = c.out[n:]
                    if not c.out:
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                if not mask & selectors.EVENT_READ:
                    continue
                try:
                    data = c.sock.recv(262144)
                except BlockingIOError:
                    continue
                except OSError as e:
                    raise AssertionError(f"connection #{c.idx} (after {c.served} responses): "
                                         f"{type(e).__name__}: {e}") from None
                if not data:
                    raise AssertionError(f"server closed keep-alive connection #{c.idx} after "
                                         f"{c.served} responses while a request was pending")
                c.parser.feed(data)
                while True:
                    resp = c.parser.next()
                    if resp is None:
                        break
                    check_file_response(resp, c.target)
                    total += 1
                    c.served += 1
                    c.remaining -= 1
                    if c.remaining:
                        start_next(c)
                        if c.out:
                            sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
                    else:
                        assert not c.parser.buf, \
                            f"connection #{c.idx}: unexpected extra bytes {bytes(c.parser.buf[:80])!r}"
                        sel.unregister(c.sock)
                        active -= 1
                        break
    finally:
        sel.close()
    return total


# --------------------------------------------------------------------------
# 1. Single requests, content types, 404, sub-directory index
# --------------------------------------------------------------------------

def test_one_request(server):
    with HttpClient(server.port) as c:
        resp = c.request("GET", "/")
    check_file_response(resp, "/")


def test_get_and_head_content_types(server):
    with HttpClient(server.port) as c:
        for target in TARGETS:
            get = c.request("GET", target)
            check_file_response(get, target)
            head = c.request("HEAD", target)
            check_file_response(head, target, "HEAD")
            assert head.get_all("content-length") == get.get_all("content-length")
            assert head.get("content-type") == get.get("content-type")
        # If a HEAD response had carried a body, this response would be misparsed.
        check_file_response(c.request("GET", "/notes.txt"), "/notes.txt")
        assert c.sock.getsockname() == c.local


def test_missing_file_404(server):
    with HttpClient(server.port) as c:
        for method, target in [("GET", "/does-not-exist.html"), ("GET", "/sub/nope.txt"),
                               ("HEAD", "/missing.css"), ("GET", "/nodir/")]:
            resp = c.request(method, target)
            assert resp.status_line == "HTTP/1.1 404 Not Found", f"{method} {target}: {resp!r}"
            if method == "HEAD":
                assert resp.body == b""
        # the connection stays usable after a 404
        check_file_response(c.request("GET", "/data.json"), "/data.json")


def test_subdirectory_index(server):
    with HttpClient(server.port) as c:
        check_file_response(c.request("GET", "/sub/"), "/sub/")
        check_file_response(c.request("HEAD", "/sub/"), "/sub/", "HEAD")
        check_file_response(c.request("GET", "/sub/index.html"), "/sub/index.html")


def test_connection_close(server):
    with HttpClient(server.port) as c:
        resp = c.request("GET", "/notes.txt", [("Connection", "close")])
        check_file_response(resp, "/notes.txt")
        assert c.wait_closed(2.0), "server kept the connection open after Connection: close"


# --------------------------------------------------------------------------
# 2. 50 parallel requests
# --------------------------------------------------------------------------

def test_parallel_requests(server):
    targets = list(TARGETS)

    def one(i):
        target = targets[i % len(targets)]
        with HttpClient(server.port) as c:
            check_file_response(c.request("GET", target), target)

    run_parallel(50, one)


# --------------------------------------------------------------------------
# 3. 500 sequential keep-alive requests on one connection
# --------------------------------------------------------------------------

def test_keepalive_500_sequential(server):
    targets = list(TARGETS)
    with HttpClient(server.port) as c:
        fd = c.sock.fileno()
        for i in range(500):
            target = targets[i % len(targets)]
            method = "HEAD" if i % 7 == 3 else "GET"
            resp = c.request(method, target)
            try:
                check_file_response(resp, target, method)
            except AssertionError as e:
                raise AssertionError(f"request #{i}: {e}") from None
            conn = [t.strip().lower() for t in (resp.get("connection") or "").split(",")]
            assert "close" not in conn, f"request #{i}: server announced Connection: close"
        assert c.sock.fileno() == fd and c.sock.getsockname() == c.local
        assert not c.parser.buf


# --------------------------------------------------------------------------
# 4. WebSocket handshake and echo
# --------------------------------------------------------------------------

# RFC 6455 section 1.3 example.  NB: the correct accept value for this key is
# "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" (base64 of SHA-1 b37a4f2c...c4ea); the value
# "s3pPLMBiTxaQ9kBXoGbzoO+xOo0=" that circulated in the task brief is wrong.
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_ws_accept_helper_rfc_example():
    assert ws_accept(RFC_KEY) == RFC_ACCEPT


def test_ws_handshake(server):
    # RFC 6455 section 1.3 example key; WsClient checks the 101 status line,
    # Upgrade/Connection headers and Sec-WebSocket-Accept.
    with WsClient(server.port, key=RFC_KEY) as ws:
        assert ws.handshake.get("sec-websocket-accept") == RFC_ACCEPT
        ws.echo(OP_TEXT, b"hi")
        ws.close(1000)
    with WsClient(server.port) as ws:  # random key
        ws.echo(OP_TEXT, b"hello")
        ws.close(1000)


def test_ws_echo_text_and_binary(server):
    with WsClient(server.port) as ws:
        ws.echo(OP_TEXT, "héllo wörld ✓".encode())
        ws.echo(OP_BINARY, bytes(range(256)))
        ws.echo(OP_TEXT, b"second text")
        # three messages written in one TCP send come back in order
        msgs = [(OP_TEXT, b"one"), (OP_BINARY, b"\x00two\xff"), (OP_TEXT, b"three")]
        ws.send_raw(b"".join(encode_frame(op, p) for op, p in msgs))
        for op, p in msgs:
            ws.expect_message(op, p, "pipelined echo")
        ws.close(1000)


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, 200 * 1024])
def test_ws_echo_lengths(server, length):
    with WsClient(server.port) as ws:
        ws.echo(OP_TEXT, text_payload(length, seed=length))
        ws.echo(OP_BINARY, binary_payload(length, seed=length))
        ws.close(1000)


def test_ws_fragmented(server):
    with WsClient(server.port) as ws:
        parts = [b"Hello, ", b"fragmented ", b"world"]
        ws.send(OP_TEXT, parts[0], fin=False)
        ws.send(OP_CONT, parts[1], fin=False)
        ws.send(OP_CONT, parts[2], fin=True)
        ws.expect_message(OP_TEXT, b"".join(parts), "fragmented text echo")

        parts = [binary_payload(1000, 1), binary_payload(70000, 2), binary_payload(5, 3)]
        ws.send(OP_BINARY, parts[0], fin=False)
        ws.send(OP_CONT, parts[1], fin=False)
        ws.send(OP_CONT, parts[2], fin=True)
        ws.expect_message(OP_BINARY, b"".join(parts), "fragmented binary echo")

        # two fragments written in a single TCP send
        ws.send_raw(encode_frame(OP_TEXT, b"ab", fin=False) + encode_frame(OP_CONT, b"cd"))
        ws.expect_message(OP_TEXT, b"abcd", "fragmented text echo (one send)")

        ws.echo(OP_TEXT, b"unfragmented after fragments")
        ws.close(1000)


def test_ws_ping_pong(server):
    with WsClient(server.port) as ws:
        for payload in [b"are you there?", b"", binary_payload(125, 9)]:
            ws.send(OP_PING, payload)
            ws.expect_message(OP_PONG, payload, "pong")
        ws.echo(OP_TEXT, b"still echoing after ping")
        ws.close(1000)


def test_ws_close(server):
    with WsClient(server.port) as ws:
        ws.echo(OP_TEXT, b"before close")
        ws.close(1000, b"normal closure")
    with WsClient(server.port) as ws:
        ws.close(1000)  # close without any prior message, no reason


# --------------------------------------------------------------------------
# 5. 50 parallel WebSocket echo sessions
# --------------------------------------------------------------------------

def test_ws_parallel_sessions(server):
    def session(i):
        with WsClient(server.port, target=f"/ws?client={i}") as ws:
            for j in range(10):
                n = (i * 131 + j * 977) % 5000
                if j % 2:
                    ws.echo(OP_BINARY, binary_payload(n, seed=i * 100 + j))
                else:
                    ws.echo(OP_TEXT, f"client {i} message {j} ".encode() + text_payload(n, seed=j))
            ws.send(OP_PING, f"ping {i}".encode())
            ws.expect_message(OP_PONG, f"ping {i}".encode(), "pong")
            ws.close(1000)

    run_parallel(50, session)


# --------------------------------------------------------------------------
# 6. 200 WebSockets open at once
# --------------------------------------------------------------------------

def test_ws_200_open_at_once(server):
    clients = []
    try:
        for i in range(200):
            try:
                clients.append(WsClient(server.port, target=f"/ws?n={i}"))
            except (OSError, AssertionError) as e:
                raise AssertionError(f"opening WebSocket #{i} (with {i} already open): "
                                     f"{type(e).__name__}: {e}") from None
        deadline = time.monotonic() + 60
        for r in range(20):
            assert time.monotonic() < deadline, f"round {r}: out of time"
            sent = []
            for i, ws in enumerate(clients):
                op = OP_TEXT if (i + r) % 2 == 0 else OP_BINARY
                payload = f"ws {i} round {r} ".encode() + (
                    text_payload((i * 37 + r * 11) % 300, seed=r) if op == OP_TEXT
                    else binary_payload((i * 37 + r * 11) % 300, seed=i * 1000 + r))
                ws.send(op, payload)
                sent.append((op, payload))
            for i, ws in enumerate(clients):
                try:
                    ws.expect_message(*sent[i], what=f"ws #{i} round {r}")
                except (OSError, AssertionError) as e:
                    raise AssertionError(f"ws #{i} round {r}: {type(e).__name__}: {e}") from None
        for ws in clients[:20]:
            ws.close(1000)
    finally:
        for ws in clients:
            ws.abort()


# --------------------------------------------------------------------------
# 7. Browser-like client: keep-alive connection idle for 2 s between requests
# --------------------------------------------------------------------------

BROWSER_HEADERS = [
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Language", "en-US,en;q=0.5"),
    ("Accept-Encoding", "identity"),
    ("Connection", "keep-alive"),
    ("Upgrade-Insecure-Requests", "1"),
    ("Sec-Fetch-Dest", "document"),
    ("Sec-Fetch-Mode", "navigate"),
]


def browser_session(port):
    with HttpClient(port) as c:
        check_file_response(c.request("GET", "/", BROWSER_HEADERS), "/")
        time.sleep(2.0)
        css_headers = [(k, v) for k, v in BROWSER_HEADERS if not k.startswith(("Sec-", "Upgrade"))]
        css_headers = [(k, "text/css,*/*;q=0.1") if k == "Accept" else (k, v) for k, v in css_headers]
        css_headers.append(("Referer", f"http://{HOST}:{port}/"))
        try:
            resp = c.request("GET", "/style.css", css_headers)
        except (OSError, AssertionError) as e:
            raise AssertionError(f"second request on the idle keep-alive connection failed: "
                                 f"{type(e).__name__}: {e}") from None
        check_file_response(resp, "/style.css")
        assert c.sock.getsockname() == c.local


def test_browser_like_idle_keepalive(server):
    browser_session(server.port)
    run_parallel(3, lambda i: browser_session(server.port))


# --------------------------------------------------------------------------
# 8. Log file
# --------------------------------------------------------------------------

ISO_TS = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"
CLF_TS = r"\[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\]"


def _check_time(stamp, fmt):
    t = datetime.datetime.strptime(stamp, fmt)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - t).total_seconds()) < 600, f"log timestamp {stamp!r} is not close to now ({now})"


def test_log_file(server):
    token = base64.b32encode(os.urandom(5)).decode().lower()
    notes = FILES["notes.txt"]
    http_ids, ws_ports = [], {}
    for i in range(5):
        hid = f"h{i}{token}"
        headers = [("User-Agent", f"test-agent/{hid}")]
        if i % 2 == 0:
            headers.append(("Referer", f"http://example.test/{hid}"))
        with HttpClient(server.port) as c:
            check_file_response(c.request("GET", f"/notes.txt?id={hid}", headers), "/notes.txt")
        http_ids.append(hid)
        time.sleep(0.3)
        wid = f"w{i}{token}"
        with WsClient(server.port, target=f"/ws?id={wid}",
                      headers=[("User-Agent", f"test-agent/{wid}")]) as ws:
            ws.echo(OP_TEXT, f"hello {wid}".encode())
            ws.close(1000)
            ws_ports[wid] = ws.local[1]
        time.sleep(0.3)

    W = server.workers
    patterns = {}
    for i, hid in enumerate(http_ids):
        ref = f"http://example\\.test/{hid}" if i % 2 == 0 else "-"
        patterns[f"access 200 {hid}"] = re.compile(
            rf'127\.0\.0\.1 - - {CLF_TS} "GET /notes\.txt\?id={hid} HTTP/1\.1" 200 {len(notes)} '
            rf'"{ref}" "test-agent/{hid}"')
    for wid, port in ws_ports.items():
        patterns[f"access 101 {wid}"] = re.compile(
            rf'127\.0\.0\.1 - - {CLF_TS} "GET /ws\?id={wid} HTTP/1\.1" 101 (?:\d+|-) '
            rf'"-" "test-agent/{wid}"')
        patterns[f"ws-open {wid}"] = re.compile(
            rf'{ISO_TS} ws-open client=127\.0\.0\.1:{port} worker=(\d+) target="/ws\?id={wid}"')
        patterns[f"ws-close {wid}"] = re.compile(
            rf'{ISO_TS} ws-close client=127\.0\.0\.1:{port} worker=(\d+) code=1000 '
            rf'in=(\d+) out=(\d+)')
    patterns["start"] = re.compile(
        rf"{ISO_TS} start workers={W} listen=127\.0\.0\.1:{server.port} root=(\S+) "
        rf"pid={server.pid}")

    deadline = time.monotonic() + 2.0
    while True:
        text = server.log_path.read_text("utf-8", "replace") if server.log_path.exists() else ""
        lines = [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()]
        matches = {name: [m for m in (p.fullmatch(ln) for ln in lines) if m]
                   for name, p in patterns.items()}
        missing = [name for name, ms in matches.items() if not ms]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    tail = "\n".join(lines[-40:])
    assert not missing, f"log lines missing for: {missing}\n--- log tail ---\n{tail}"
    dupes = [name for name, ms in matches.items() if len(ms) != 1]
    assert not dupes, f"expected exactly one log line each, got several for: {dupes}\n{tail}"

    m = matches["start"][0]
    _check_time(m.group(1), "%Y-%m-%dT%H:%M:%SZ")
    assert os.path.realpath(m.group(2)) == os.path.realpath(server.root), m.group(0)
    for name, (m,) in matches.items():
        if name.startswith("access"):
            _check_time(m.group(1), "%d/%b/%Y:%H:%M:%S %z")
        elif name.startswith("ws-"):
            _check_time(m.group(1), "%Y-%m-%dT%H:%M:%SZ")
            worker = int(m.group(2))
            assert 0 <= worker <= W, f"worker={worker} out of range for {W} workers: {m.group(0)}"
            if name.startswith("ws-close"):
                assert int(m.group(3)) >= 1 and int(m.group(4)) >= 1, \
                    f"one message was echoed, expected in>=1 out>=1: {m.group(0)}"


# --------------------------------------------------------------------------
# 9. Command line
# --------------------------------------------------------------------------

def test_help():
    require_binary()
    t0 = time.monotonic()
    p = subprocess.run([str(BINARY), "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=5)
    assert time.monotonic() - t0 < 2.0
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, f"--help exit status {p.returncode}; stderr={p.stderr!r}"
    for word in ("WORKERS", "--root", "--log"):
        assert word in out, f"--help output does not mention {word}: {out!r}"


BAD_ARGS = [
    # id, workers, ip, root-override, extra args, expected exit status (None: any non-zero)
    ("workers-0", "0", HOST, None, [], 2),
    ("workers-257", "257", HOST, None, [], 2),
    ("ip-3-octets", "2", "1.2.3", None, [], 2),
    ("ip-octet-300", "2", "300.1.1.1", None, [], 2),
    ("ip-abc", "2", "abc", None, [], 2),
    ("missing-root", "2", HOST, "/nonexistent/async-nostd-root", [], None),
    ("unknown-flag", "2", HOST, None, ["--bogus"], 2),
    ("port-in-use", "2", HOST, None, [], 1),
]


@pytest.mark.parametrize("case_id,workers,ip,root,extra,code", BAD_ARGS,
                         ids=[c[0] for c in BAD_ARGS])
def test_bad_arguments(www, tmp_path, case_id, workers, ip, root, extra, code):
    require_binary()
    holder = None
    try:
        if case_id == "port-in-use":
            holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            holder.bind((HOST, 0))
            holder.listen(16)
            port = holder.getsockname()[1]
        else:
            port = free_port()
        args = [str(BINARY), workers, ip, str(port), "--root", root or str(www),
                "--log", str(tmp_path / "log.txt"), *extra]
        t0 = time.monotonic()
        try:
            p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=5,
                               cwd=str(tmp_path))
        except subprocess.TimeoutExpired:
            pytest.fail(f"{' '.join(args)} did not exit within 5s")
        elapsed = time.monotonic() - t0
    finally:
        if holder is not None:
            holder.close()
    err = p.stderr.decode("utf-8", "replace")
    lines = err.splitlines()
    assert elapsed < 2.0, f"took {elapsed:.2f}s to reject the arguments"
    assert p.returncode != 0, f"exit status 0 for {args}; stderr={err!r}"
    if code is not None:
        assert p.returncode == code, f"exit status {p.returncode}, expected {code}; stderr={err!r}"
    else:
        assert p.returncode in (1, 2), f"exit status {p.returncode}; stderr={err!r}"
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}: {err!r}"
    assert lines[0].startswith("async-nostd: "), f"stderr line {lines[0]!r}"


def test_log_to_stderr(www, tmp_path):
    """--log - sends the log to stderr (and creates no file named '-')."""
    srv = ServerProcess(2, www, "-", tmp_path)
    try:
        with HttpClient(srv.port) as c:
            check_file_response(c.request("GET", "/notes.txt?id=stderrlog"), "/notes.txt")
        deadline = time.monotonic() + 2.0
        while True:
            err = srv.stderr_path.read_text("utf-8", "replace")
            if "stderrlog" in err or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        early = srv.stop()
    assert early is None, f"server exited during the test with status {early}{srv.diagnostics()}"
    assert re.search(rf"^{ISO_TS} start workers=2 listen=127\.0\.0\.1:{srv.port} ", err, re.M), err
    assert re.search(r'"GET /notes\.txt\?id=stderrlog HTTP/1\.1" 200 ', err), err
    assert not (tmp_path / "-").exists(), "--log - created a file named '-'"


# --------------------------------------------------------------------------
# 10. Thread count and open-file limit
# --------------------------------------------------------------------------

@pytest.mark.parametrize("workers", [1, 3, 16, 256], ids=lambda w: f"w{w}")
def test_thread_count(request, www, tmp_path, workers):
    srv = _start_fixture_server(request, www, tmp_path, workers)
    deadline = time.monotonic() + 2.0
    while srv.thread_count() != workers + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.thread_count() == workers + 1, \
        f"/proc/{srv.pid}/task has {srv.thread_count()} entries, expected {workers + 1}"
    # serving traffic must not create threads
    def one(i):
        with HttpClient(srv.port) as c:
            check_file_response(c.request("GET", "/notes.txt"), "/notes.txt")

    run_parallel(8, one)
    with WsClient(srv.port) as ws:
        ws.echo(OP_TEXT, b"x")
        assert srv.thread_count() == workers + 1
        ws.close(1000)
    assert srv.thread_count() == workers + 1


def _nofile_limits(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return soft, hard
    raise AssertionError("no 'Max open files' line")


def test_open_file_limit_raised(request, www, tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 1024 if hard == resource.RLIM_INFINITY or hard > 1024 else max(hard // 2, 64)
    srv = _start_fixture_server(request, www, tmp_path, 2, nofile_soft=low)
    s, h = _nofile_limits(srv.pid)
    assert s == h, f"Max open files soft={s} hard={h} (started with soft={low}); expected soft == hard"


# --------------------------------------------------------------------------
# 11. Memory stays flat under keep-alive load
# --------------------------------------------------------------------------

def test_memory_stable(server4):
    srv = server4
    deadline = time.monotonic() + 120
    conns = []
    try:
        for i in range(200):
            s = socket.create_connection((HOST, srv.port), timeout=SOCK_TIMEOUT)
            s.setblocking(False)
            conns.append(NbConn(i, s))
        n1 = drive_requests(conns, 10, srv.port, deadline)
        assert n1 == 2000
        time.sleep(0.2)
        rss1 = srv.rss_kb()
        n2 = drive_requests(conns, 90, srv.port, deadline)
        assert n2 == 18000
        time.sleep(0.2)
        rss2 = srv.rss_kb()
    finally:
        for c in conns:
            c.sock.close()
    assert rss2 - rss1 <= 2048, \
        f"VmRSS grew from {rss1} kB (after 2,000 requests) to {rss2} kB (after 20,000): " \
        f"+{rss2 - rss1} kB > 2048 kB"


# --------------------------------------------------------------------------
# 12. 5,000 simultaneous connections
# --------------------------------------------------------------------------

def test_5000_connections(server4):
    srv = server4
    N = 5000
    old = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = N + 500
    if old[1] != resource.RLIM_INFINITY and old[1] < want:
        pytest.fail(f"hard RLIMIT_NOFILE {old[1]} is below {want}; cannot open {N} sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (old[1], old[1]))
    socks = []
    deadline = time.monotonic() + 60
    try:
        sel = selectors.DefaultSelector()
        try:
            for batch_start in range(0, N, 500):
                pending = {}
                for i in range(batch_start, min(N, batch_start + 500)):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(s)
                    s.setblocking(False)
                    rc = s.connect_ex((HOST, srv.port))
                    if rc == 0:
                        continue
                    assert rc == errno.EINPROGRESS, f"connect #{i}: {os.strerror(rc)}"
                    sel.register(s, selectors.EVENT_WRITE, i)
                    pending[i] = s
                while pending:
                    left = deadline - time.monotonic()
                    assert left > 0, f"timed out connecting: {len(pending)} of batch pending, " \
                                     f"{len(socks) - len(pending)} connected"
                    for key, _ in sel.select(min(left, 1.0)):
                        s, i = key.fileobj, key.data
                        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        assert err == 0, f"connect #{i} failed: {os.strerror(err)}"
                        sel.unregister(s)
                        del pending[i]
        finally:
            sel.close()
        assert len(socks) == N
        assert srv.alive(), f"server died while accepting connections{srv.diagnostics()}"
        conns = [NbConn(i, s) for i, s in enumerate(socks)]
        total = drive_requests(conns, 1, srv.port, deadline,
                               targets=["/notes.txt", "/index.html", "/data.json", "/style.css"])
        assert total == N
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, old)


# --------------------------------------------------------------------------
# 13. Request bodies: framed strictly (RFC 9112 §6), read and discarded
# --------------------------------------------------------------------------

def _raw_exchange(c, raw, methods):
    """Sends raw bytes on client c and reads one response per method, in order."""
    c.sock.sendall(raw)
    out = []
    for m in methods:
        c.parser.expect(m)
        out.append(c.read())
    return out


@pytest.mark.parametrize("body", [
    b"Content-Length: 5\r\n\r\nhello",
    b"Content-Length: 5, 5\r\n\r\nhello",
    b"Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n",
    b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n",
], ids=["length", "length-list", "chunked-ext", "chunked-trailer"])
def test_body_is_skipped_before_next_request(server4, body):
    """A request body is consumed exactly, so the pipelined request after it is answered."""
    with HttpClient(server4.port) as c:
        raw = b"POST /notes.txt HTTP/1.1\r\nHost: x\r\n" + body + build_request("GET", "/notes.txt", server4.port)
        post, get = _raw_exchange(c, raw, ["POST", "GET"])
        assert post.status == 405 and post.get("Allow") == "GET, HEAD"
        check_file_response(get, "/notes.txt")


def test_body_split_across_writes(server4):
    """A body arriving in pieces, slower than the head, is still skipped exactly."""
    with HttpClient(server4.port) as c:
        c.sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab")
        time.sleep(0.2)
        c.sock.sendall(b"cd\r\n0\r")
        time.sleep(0.2)
        (post, get) = _raw_exchange(c, b"\n\r\n" + build_request("GET", "/style.css", server4.port), ["POST", "GET"])
        assert post.status == 405
        check_file_response(get, "/style.css")


@pytest.mark.parametrize("head,status", [
    (b"GET / HTTP/1.1\r\n\r\n", 400),                                         # no Host in 1.1
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),                  # two Hosts
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", 413),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", 413),
], ids=["no-host", "two-hosts", "bad-length", "two-lengths", "length-and-chunked", "bad-chunk",
        "unknown-coding", "length-over-limit", "chunk-over-limit"])
def test_bad_framing_rejected_and_closed(server4, head, status):
    """Framing in doubt: the right status, then the connection closes; the server stays healthy."""
    with HttpClient(server4.port) as c:
        (resp,) = _raw_exchange(c, head, ["POST"])
        assert resp.status == status
        assert c.wait_closed(2.0), "connection left open after a framing error"
    with HttpClient(server4.port) as c:
        check_file_response(c.request("GET", "/notes.txt"), "/notes.txt")


def test_body_at_limit_accepted(server4):
    """A body of exactly the limit (1 MiB) is read and the connection stays usable."""
    with HttpClient(server4.port) as c:
        body = b"x" * (1024 * 1024)
        raw = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        (resp,) = _raw_exchange(c, raw, ["POST"])
        assert resp.status == 405
        check_file_response(c.request("GET", "/data.json"), "/data.json")
