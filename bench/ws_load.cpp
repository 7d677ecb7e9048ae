// bench/ws_load.cpp — the WebSocket load client of bench/bench.py (hosted C++, Linux).
//
//   ws_load load --port P [--host 127.0.0.1] [--path /ws] -c CONNS -s BYTES [--binary]
//                -d SECONDS [-w WARMUP_SECONDS]
//   ws_load idle --port P [--host 127.0.0.1] [--path /ws] -n CONNS [--hold SECONDS]
//   ws_load chat --port P [--host 127.0.0.1] [--path /chat] -n MEMBERS [--senders K] [--window W]
//                [--next all|own] [-s BYTES] -d SECONDS [-w WARMUP_SECONDS] [--drain SECONDS]
//
// One thread, one level-triggered epoll loop over every connection: on the project's 2-core
// machine the client shares the CPU with the server under test, so it spends as little as it can
// (per message: one write, one read, a share of one epoll_wait, two vDSO clock reads).
//
// load: opens CONNS connections (at most 256 handshakes in flight) and completes each opening
// handshake, checking the 101 and Sec-WebSocket-Accept. When all are open, each runs a closed loop:
// send one masked message of BYTES bytes (text, or binary with --binary), wait for its whole echo,
// send the next. After WARMUP seconds with every connection open it measures for SECONDS:
// messages echoed in the window, and the round trip of each (send to last byte of the echo).
// Every echo is checked: one unmasked final frame, the opcode sent, the length sent, and the
// contents (the payload is ASCII; its first 16 bytes carry the message's sequence number, so a
// stale or crossed echo is caught, and the whole payload is compared with memcmp). A mismatch,
// a connection the server closed, a failed connect or handshake, and a message outstanding for
// more than 2 s when the window ends, are errors.
//
// idle: opens CONNS connections the same way, prints one "ready" line, and holds them open,
// sending nothing but a pong for each ping the server sends, until standard input is closed,
// SIGTERM or SIGINT arrives, or --hold seconds (default 600) pass; then prints its result line
// and exits.
//
// chat: a broadcast room (async-nostd's GET /chat: every text message goes to every member, the
// sender too). Opens MEMBERS connections the same way; K of them (default 10), spread evenly over
// the members, are senders. When all are open, each sender sends W (default 1) text messages of
// BYTES bytes (default 64, at least 43), and one more each time one of them is done: a closed
// loop, so the load clocks itself. With --next all (the default) a message is done when every
// open member has it, so at most K x W messages are on their way anywhere; with --next own, when
// it came back to its sender, which does not bound the load when the server has more than one
// thread: the senders whose copies come back first go on while another thread's members fall
// behind (their queues on the server are then bounded only by its slow-member limit). A message carries
// its sender's number, a sequence number and its send time (CLOCK_MONOTONIC ns, in hex; the
// clock is this process's, so every member's latency is receipt - send time). Every member reads
// and parses every frame (one shared 256 KiB read buffer; only the tail of a frame cut by a read
// is kept per connection) and checks each message: its size and filler, a sender and sequence
// number that were sent, and per sender at each member the sequence numbers 0, 1, 2, ... in turn
// (a lower or repeated one is an ordering violation; a skipped one is lost). Pings get pongs.
// After WARMUP it measures for SECONDS: deliveries (messages received, by every member) and
// messages sent in the window, and the latency of each delivery. Then the senders stop and it
// waits (up to --drain seconds, default 5) until every open member has every message sent; what
// is still missing then is lost too. A member the server closes (close frame or EOF) is dropped.
//
// Output: JSON lines on standard output. Progress lines carry "event" ("open", "measuring",
// "ready"); the last line is the result: {"mode":..., "messages", "seconds", "msg_s", "p50_us",
// "p99_us", "max_us", "errors", "error_kinds":{...}, ...}; chat mode adds an "event":"measured"
// line when the window ends (before the drain) and its result has "deliveries_s", "sent_s",
// "order_violations", "lost", "dropped", "close_codes" and the client's own CPU seconds. Exit
// status 0 when it ran (errors are counted in the result, not in the status), 2 for bad usage, 1
// when it could not run at all.
//
// It raises its own RLIMIT_NOFILE (soft to hard, and the hard limit too when it may).
//
// Build: g++ -std=c++20 -O2 -o ws_load bench/ws_load.cpp (bench.py does it into build/bench/).

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

// ------------------------------------------------------------------------------------------
// SHA-1 and base64, for the handshake's Sec-WebSocket-Accept.
// ------------------------------------------------------------------------------------------

std::uint32_t rol(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

void sha1(const std::string& msg, std::uint8_t out[20]) {
    std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    std::string m = msg;
    const std::uint64_t bits = static_cast<std::uint64_t>(msg.size()) * 8;
    m += static_cast<char>(0x80);
    while (m.size() % 64 != 56) m += '\0';
    for (int i = 7; i >= 0; --i) m += static_cast<char>(bits >> (i * 8));
    for (std::size_t off = 0; off < m.size(); off += 64) {
        std::uint32_t w[80];
        for (int i = 0; i < 16; ++i) {
            const auto* p = reinterpret_cast<const std::uint8_t*>(m.data() + off + i * 4);
            w[i] = std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
        }
        for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; ++i) {
            std::uint32_t f, k;
            if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
            else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
            else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
            else f = b ^ c ^ d, k = 0xCA62C1D6;
            const std::uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d, d = c, c = rol(b, 30), b = a, a = t;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    }
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 4; ++j) out[i * 4 + j] = static_cast<std::uint8_t>(h[i] >> (24 - j * 8));
}

std::string base64(const std::uint8_t* p, std::size_t n) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < n; i += 3) {
        const std::uint32_t v = std::uint32_t(p[i]) << 16 | (i + 1 < n ? std::uint32_t(p[i + 1]) << 8 : 0) |
                                (i + 2 < n ? p[i + 2] : 0);
        out += t[v >> 18 & 63];
        out += t[v >> 12 & 63];
        out += i + 1 < n ? t[v >> 6 & 63] : '=';
        out += i + 2 < n ? t[v & 63] : '=';
    }
    return out;
}

// ------------------------------------------------------------------------------------------
// Options and state
// ------------------------------------------------------------------------------------------

struct Options {
    bool idle = false;
    std::string host = "127.0.0.1", path = "/ws";
    int port = 0;
    long conns = 0;
    std::size_t size = 32;
    bool binary = false;
    double duration = 10, warmup = 2, hold = 600;
    double connect_timeout = 60;  // for all the connections to be open
    bool chat = false;
    bool size_given = false;
    long senders = 10, window = 1;  // chat: senders, and messages each has in flight
    bool next_all = true;           // chat: a message is done when every member has it (else: its sender)
    double drain = 5;               // chat: seconds to wait for the last deliveries
};

std::int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

enum class State : std::uint8_t { connecting, handshaking, open, dead };

struct Conn {
    int fd = -1;
    State state = State::connecting;
    std::uint8_t mask[4];
    bool want_out = false;
    std::string accept;         // the Sec-WebSocket-Accept the server must send
    std::string request;        // the handshake request
    std::size_t sent = 0;       // bytes of the current outgoing buffer already written
    std::vector<std::uint8_t> out;   // the current masked frame
    std::vector<std::uint8_t> in;    // received bytes
    std::size_t have = 0;
    std::uint64_t seq = 0;
    std::int64_t sent_at = 0;   // when the outstanding message's first byte was written
};

struct ErrorKinds {
    long connect = 0, handshake = 0, closed = 0, mismatch = 0, stalled = 0;
    long total() const { return connect + handshake + closed + mismatch + stalled; }
};

Options opt;
ErrorKinds err;
int ep = -1;
std::vector<Conn> conns;
std::vector<std::uint8_t> payload_template;  // the unmasked payload, before the sequence number
std::size_t frame_header_len = 0, frame_len = 0;
std::uint8_t echo_header[10];
std::size_t echo_header_len = 0;
std::size_t seq_digits = 0;  // payload bytes that carry the sequence number (hex)
volatile sig_atomic_t stop_signal = 0;
sockaddr_in server_addr;
std::mt19937_64 rng{0x5eed};
std::string last_error;     // the first error of each kind is kept, for a clue
long opened = 0, failed = 0, started = 0;
const int kMaxInFlightHandshakes = 256;

void note_error(long& counter, const std::string& what) {
    ++counter;
    if (last_error.empty()) last_error = what;
}

void put_seq(std::uint8_t* dst, std::uint64_t seq) {
    static const char hex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < seq_digits; ++i) dst[i] = hex[(seq >> (4 * (seq_digits - 1 - i))) & 15];
}

// Builds conn's next message: the template with its sequence number, masked with its key.
void build_frame(Conn& c) {
    std::uint8_t* p = c.out.data() + frame_header_len;
    if (c.seq == 0) {  // the first message: mask the whole payload once
        for (std::size_t i = 0; i < opt.size; ++i) p[i] = payload_template[i] ^ c.mask[i & 3];
    }
    std::uint8_t digits[16];
    put_seq(digits, c.seq);
    for (std::size_t i = 0; i < seq_digits; ++i) p[i] = digits[i] ^ c.mask[i & 3];
    c.sent = 0;
}

void kill_conn(Conn& c) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    c.state = State::dead;
    c.out.clear(), c.out.shrink_to_fit();
    c.in.clear(), c.in.shrink_to_fit();
}

void set_out_interest(Conn& c, bool want) {
    if (c.want_out == want) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? static_cast<std::uint32_t>(EPOLLOUT) : 0u);
    ev.data.u64 = static_cast<std::uint64_t>(&c - conns.data());
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = want;
}

bool start_connect(Conn& c) {
    ++started;
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        note_error(err.connect, std::string("socket: ") + strerror(errno));
        c.state = State::dead;
        ++failed;
        return false;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&server_addr), sizeof server_addr) < 0 && errno != EINPROGRESS) {
        note_error(err.connect, std::string("connect: ") + strerror(errno));
        kill_conn(c);
        ++failed;
        return false;
    }
    std::uint8_t key[16];
    for (auto& b : key) b = static_cast<std::uint8_t>(rng());
    const std::string key64 = base64(key, 16);
    std::uint8_t digest[20];
    sha1(key64 + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", digest);
    c.accept = base64(digest, 20);
    c.request = "GET " + opt.path + " HTTP/1.1\r\nHost: " + opt.host + ":" + std::to_string(opt.port) +
                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key64 +
                "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    c.sent = 0;
    c.state = State::connecting;
    c.in.assign(1024, 0);
    c.have = 0;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = static_cast<std::uint64_t>(&c - conns.data());
    c.want_out = true;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    return true;
}

// Writes what is left of the current buffer. Returns false if the connection died.
bool flush(Conn& c, const std::uint8_t* data, std::size_t len) {
    while (c.sent < len) {
        const ssize_t n = write(c.fd, data + c.sent, len - c.sent);
        if (n > 0) {
            c.sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            set_out_interest(c, true);
            return true;
        }
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
    set_out_interest(c, false);
    return true;
}

bool send_message(Conn& c) {
    build_frame(c);
    c.sent_at = now_ns();
    return flush(c, c.out.data(), frame_len);
}

// The handshake response is complete in c.in[0, have). Returns true if it accepts the upgrade.
bool check_response(Conn& c, std::size_t head_len, std::string& why) {
    std::string head(reinterpret_cast<char*>(c.in.data()), head_len);
    if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
        why = "handshake answered: " + head.substr(0, head.find('\r'));
        return false;
    }
    std::string lower = head;
    for (auto& ch : lower) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
    const std::size_t at = lower.find("\r\nsec-websocket-accept:");
    if (at == std::string::npos) {
        why = "101 without Sec-WebSocket-Accept";
        return false;
    }
    std::size_t v = at + 23;
    while (v < head.size() && (head[v] == ' ' || head[v] == '\t')) ++v;
    const std::size_t end = head.find('\r', v);
    std::string value = head.substr(v, end - v);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    if (value != c.accept) {
        why = "wrong Sec-WebSocket-Accept";
        return false;
    }
    return true;
}

// Latency samples of the measured window, in ns.
std::vector<std::uint32_t> samples;
bool measuring = false;
long measured_messages = 0;

// Called when bytes arrived on an open connection in load mode. Returns false if it died.
bool on_echo_bytes(Conn& c, std::int64_t& now) {
    if (c.have < 2) return true;
    // A whole frame is frame_len bytes; anything that cannot start it is a mismatch.
    if (std::memcmp(c.in.data(), echo_header, std::min(c.have, echo_header_len)) != 0) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "unexpected frame header %02x %02x (wanted %02x %02x)", c.in[0], c.in[1],
                      echo_header[0], echo_header[1]);
        note_error(err.mismatch, buf);
        return false;
    }
    if (c.have < echo_header_len + opt.size) return true;
    if (c.have > echo_header_len + opt.size) {
        note_error(err.mismatch, "more bytes than one echo");
        return false;
    }
    const std::uint8_t* p = c.in.data() + echo_header_len;
    std::uint8_t digits[16];
    put_seq(digits, c.seq);
    if (std::memcmp(p, digits, seq_digits) != 0 ||
        std::memcmp(p + seq_digits, payload_template.data() + seq_digits, opt.size - seq_digits) != 0) {
        note_error(err.mismatch, "echoed payload differs from the message sent");
        return false;
    }
    now = now_ns();
    if (measuring) {
        ++measured_messages;
        const std::int64_t rtt = now - c.sent_at;
        samples.push_back(rtt > 0xffffffffLL ? 0xffffffffu : static_cast<std::uint32_t>(rtt));
    }
    c.have = 0;
    ++c.seq;
    return send_message(c);
}

// Idle mode: `b` holds whole unmasked pings (as a server sends them when a connection has been
// silent a while). Answers each with its masked pong; false if `b` is anything else.
long pings = 0;
bool answer_pings(Conn& c, const std::uint8_t* b, std::size_t n) {
    for (std::size_t at = 0; at < n;) {
        if (n - at < 2 || b[at] != 0x89 || (b[at + 1] & 0x80) || (b[at + 1] & 0x7f) > 125) return false;
        const std::size_t len = b[at + 1] & 0x7f;
        if (n - at - 2 < len) return false;
        std::uint8_t pong[2 + 4 + 125];
        pong[0] = 0x8A, pong[1] = static_cast<std::uint8_t>(0x80 | len);
        std::memcpy(pong + 2, c.mask, 4);
        for (std::size_t i = 0; i < len; ++i) pong[6 + i] = b[at + 2 + i] ^ c.mask[i & 3];
        if (write(c.fd, pong, 6 + len) != static_cast<ssize_t>(6 + len)) return false;
        ++pings;
        at += 2 + len;
    }
    return true;
}

// ------------------------------------------------------------------------------------------
// Chat mode
// ------------------------------------------------------------------------------------------

// A chat message's payload: "SSSSSSSS QQQQQQQQQQQQQQQQ TTTTTTTTTTTTTTTT " then filler (the
// template's), in hex: sender, sequence number, send time (ns).
constexpr std::size_t kIdAt = 0, kSeqAt = 9, kTsAt = 26, kChatFixed = 43;

struct Sender {
    std::size_t conn;                // its member
    std::uint64_t sent = 0;          // messages sent (the next one's sequence number)
    std::uint64_t done = 0;          // --next all: messages every open member has
    std::vector<std::uint32_t> got;  // --next all: members that have message `seq`, at seq % W
};
std::vector<Sender> senders;
std::vector<std::int32_t> sender_of;      // per member: the sender it is, or -1
std::vector<std::uint64_t> last_seen;     // [member * K + sender]: the last sequence number it got
std::vector<std::uint8_t> read_buf(256 * 1024);
bool chat_sending = false;
long open_members = 0;
bool recheck = false;  // a member went: --next all must look again at what is done
long chat_measured_sent = 0, chat_sent = 0, chat_deliveries = 0;
long order_violations = 0, lost = 0, dropped = 0;
std::vector<std::pair<int, long>> close_code_counts;  // of dropped members, in order of first sight

void put_hex(std::uint8_t* dst, std::uint64_t v, std::size_t digits) {
    static const char hex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < digits; ++i) dst[i] = hex[(v >> (4 * (digits - 1 - i))) & 15];
}

bool get_hex(const std::uint8_t* src, std::size_t digits, std::uint64_t& v) {
    v = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        const std::uint8_t ch = src[i];
        const int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) return false;
        v = v << 4 | static_cast<std::uint64_t>(d);
    }
    return true;
}

// A member was closed by the server (code 0: without a close frame).
void chat_dropped(int code, const std::string& what) {
    ++dropped;
    note_error(err.closed, what);
    for (auto& [k, n] : close_code_counts)
        if (k == code) return void(++n);
    close_code_counts.emplace_back(code, 1);
}

// Appends bytes to the connection's outgoing queue (c.out, c.sent of it written) and writes what
// the socket takes. False if the connection broke.
bool queue_out(Conn& c, const std::uint8_t* data, std::size_t len) {
    c.out.insert(c.out.end(), data, data + len);
    if (!flush(c, c.out.data(), c.out.size())) {
        chat_dropped(0, std::string("a member's write: ") + strerror(errno));
        return false;
    }
    if (c.sent == c.out.size()) c.out.clear(), c.sent = 0;
    return true;
}

// A member is done with (the error is noted).
void member_gone(Conn& c) {
    if (c.state == State::open) --open_members, recheck = true;
    kill_conn(c);
}

// Sender `id` sends its next message.
void chat_send(std::size_t id) {
    Sender& s = senders[id];
    Conn& c = conns[s.conn];
    std::uint8_t frame[14 + 65536];
    std::memcpy(frame, echo_header, echo_header_len);
    frame[1] |= 0x80;  // masked
    std::memcpy(frame + echo_header_len, c.mask, 4);
    std::uint8_t* p = frame + frame_header_len;
    std::memcpy(p, payload_template.data(), opt.size);
    put_hex(p + kIdAt, id, 8);
    put_hex(p + kSeqAt, s.sent, 16);
    put_hex(p + kTsAt, static_cast<std::uint64_t>(now_ns()), 16);
    for (std::size_t i = 0; i < opt.size; ++i) p[i] ^= c.mask[i & 3];
    ++s.sent, ++chat_sent;
    if (measuring) ++chat_measured_sent;
    if (!queue_out(c, frame, frame_len)) member_gone(c);
}

// --next all: sender `id` sends one message for each of its messages every open member now has.
void chat_advance(std::size_t id) {
    Sender& s = senders[id];
    while (s.done < s.sent && s.got[s.done % s.got.size()] >= open_members) {
        s.got[s.done % s.got.size()] = 0;
        ++s.done;
        if (chat_sending && conns[s.conn].state == State::open) chat_send(id);
    }
}

// One chat message received by member `m` at `now`. False if it is not one that was sent.
bool chat_message(std::size_t m, const std::uint8_t* p, std::size_t len, std::int64_t now) {
    std::uint64_t id, seq, ts;
    if (len != opt.size || p[kSeqAt - 1] != ' ' || p[kTsAt - 1] != ' ' || !get_hex(p + kIdAt, 8, id) ||
        !get_hex(p + kSeqAt, 16, seq) || !get_hex(p + kTsAt, 16, ts) || id >= senders.size() ||
        seq >= senders[id].sent ||
        std::memcmp(p + kChatFixed - 1, payload_template.data() + kChatFixed - 1, opt.size - kChatFixed + 1) != 0) {
        note_error(err.mismatch, "a chat message that was not sent (size, sender, sequence number or contents)");
        return false;
    }
    std::uint64_t& last = last_seen[m * senders.size() + id];
    if (seq == last + 1) {  // also the first one: last starts at ~0
        last = seq;
    } else if (seq > last + 1) {
        lost += static_cast<long>(seq - last - 1);
        last = seq;
    } else {
        ++order_violations;
    }
    ++chat_deliveries;
    if (measuring) {
        ++measured_messages;
        const std::int64_t lat = now - static_cast<std::int64_t>(ts);
        samples.push_back(lat < 0 ? 0 : lat > 0xffffffffLL ? 0xffffffffu : static_cast<std::uint32_t>(lat));
    }
    if (opt.next_all) {
        Sender& s = senders[id];
        if (seq >= s.done) ++s.got[seq % s.got.size()];
        chat_advance(id);
    } else if (sender_of[m] == static_cast<std::int32_t>(id) && chat_sending) {
        chat_send(id);  // its own came back: the next
    }
    return true;
}

// Member `m` is readable: reads into the shared buffer (after the tail it kept), handles every
// whole frame, keeps the tail. False when the connection is done with (the error is noted).
bool chat_read(Conn& c, std::size_t m) {
    std::uint8_t* b = read_buf.data();
    for (int round = 0; round < 4; ++round) {
        const std::size_t have = c.have;
        if (have) std::memcpy(b, c.in.data(), have);
        const ssize_t n = read(c.fd, b + have, read_buf.size() - have);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
        if (n <= 0) {
            chat_dropped(0, n == 0 ? "the server closed a member without a close frame"
                                   : std::string("a member's read: ") + strerror(errno));
            return false;
        }
        const std::int64_t now = now_ns();
        const std::size_t total = have + static_cast<std::size_t>(n);
        std::size_t pos = 0;
        while (total - pos >= 2) {
            const std::uint8_t* f = b + pos;
            const std::size_t avail = total - pos;
            std::uint64_t len = f[1] & 0x7f;
            std::size_t hl = 2;
            if (len == 126) {
                if (avail < 4) break;
                len = std::uint64_t(f[2]) << 8 | f[3], hl = 4;
            } else if (len == 127) {
                if (avail < 10) break;
                len = 0, hl = 10;
                for (int i = 2; i < 10; ++i) len = len << 8 | f[i];
            }
            if ((f[1] & 0x80) || (f[0] & 0x70) || len > read_buf.size() / 2) {
                note_error(err.mismatch, "a masked, reserved-bit or oversized frame from the server");
                return false;
            }
            if (avail < hl + len) break;
            const std::uint8_t* p = f + hl;
            const int opcode = f[0] & 0x0f;
            const bool fin = f[0] & 0x80;
            if (opcode == 1 && fin) {
                if (!chat_message(m, p, len, now)) return false;
                if (c.state != State::open) return true;  // its own next message could not be sent
            } else if (opcode == 9 && fin && len <= 125) {  // ping: pong
                std::uint8_t pong[2 + 4 + 125];
                pong[0] = 0x8A, pong[1] = static_cast<std::uint8_t>(0x80 | len);
                std::memcpy(pong + 2, c.mask, 4);
                for (std::size_t i = 0; i < len; ++i) pong[6 + i] = p[i] ^ c.mask[i & 3];
                ++pings;
                if (!queue_out(c, pong, 6 + len)) return false;
            } else if (opcode == 8) {
                const int code = len >= 2 ? p[0] << 8 | p[1] : 1005;
                chat_dropped(code, "the server closed a member with " + std::to_string(code));
                return false;
            } else if (opcode != 10) {
                note_error(err.mismatch, "an unexpected frame from the server (opcode " + std::to_string(opcode) + ")");
                return false;
            }
            pos += hl + len;
        }
        c.have = total - pos;
        if (c.have) c.in.assign(b + pos, b + total);
        if (static_cast<std::size_t>(n) < read_buf.size() - have) return true;  // nothing more waiting
    }
    return true;
}

void chat_event(Conn& c, std::uint32_t events) {
    if ((events & EPOLLOUT) && !c.out.empty() && !queue_out(c, nullptr, 0)) return member_gone(c);
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !chat_read(c, static_cast<std::size_t>(&c - conns.data())))
        member_gone(c);
}

// The messages every open member should have from each sender: all it sent, or, when the
// server dropped the sender, all that any open member got (the rest may not have been written).
std::vector<std::uint64_t> chat_expected() {
    const std::size_t k = senders.size();
    std::vector<std::uint64_t> want(k, 0);
    for (std::size_t id = 0; id < k; ++id) {
        if (conns[senders[id].conn].state == State::open) {
            want[id] = senders[id].sent;
            continue;
        }
        for (std::size_t m = 0; m < conns.size(); ++m)
            if (conns[m].state == State::open) want[id] = std::max(want[id], last_seen[m * k + id] + 1);
    }
    return want;
}

// How many messages the open members still miss.
long chat_missing() {
    const std::size_t k = senders.size();
    const std::vector<std::uint64_t> want = chat_expected();
    long missing = 0;
    for (std::size_t m = 0; m < conns.size(); ++m) {
        if (conns[m].state != State::open) continue;
        for (std::size_t id = 0; id < k; ++id) missing += static_cast<long>(want[id] - (last_seen[m * k + id] + 1));
    }
    return missing;
}

void on_event(Conn& c, std::uint32_t events, bool load) {
    std::int64_t now = 0;
    if (c.state == State::connecting) {
        if (events & (EPOLLERR | EPOLLHUP)) {
            int e = 0;
            socklen_t len = sizeof e;
            getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &e, &len);
            note_error(err.connect, std::string("connect: ") + strerror(e ? e : ECONNRESET));
            kill_conn(c);
            ++failed;
            return;
        }
        if (!(events & EPOLLOUT)) return;
        c.state = State::handshaking;
        c.sent = 0;
    }
    if (c.state == State::handshaking) {
        if (c.sent < c.request.size()) {
            if (!flush(c, reinterpret_cast<const std::uint8_t*>(c.request.data()), c.request.size())) {
                note_error(err.handshake, std::string("sending the handshake: ") + strerror(errno));
                kill_conn(c);
                ++failed;
                return;
            }
            if (c.sent < c.request.size()) return;
        }
        if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
        const ssize_t n = read(c.fd, c.in.data() + c.have, c.in.size() - c.have);
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {
            note_error(err.handshake, n == 0 ? "closed during the handshake" : std::string("handshake read: ") + strerror(errno));
            kill_conn(c);
            ++failed;
            return;
        }
        c.have += static_cast<std::size_t>(n);
        const std::string_view got(reinterpret_cast<char*>(c.in.data()), c.have);
        const std::size_t end = got.find("\r\n\r\n");
        if (end == std::string_view::npos) {
            if (c.have == c.in.size()) {
                note_error(err.handshake, "handshake response head over 1 KiB");
                kill_conn(c);
                ++failed;
            }
            return;
        }
        std::string why;
        if (!check_response(c, end + 4, why)) {
            note_error(err.handshake, why);
            kill_conn(c);
            ++failed;
            return;
        }
        const std::size_t rest = c.have - (end + 4);
        if (rest) std::memmove(c.in.data(), c.in.data() + end + 4, rest);
        c.have = rest;
        c.state = State::open;
        ++opened;
        c.request.clear(), c.request.shrink_to_fit();
        c.accept.clear(), c.accept.shrink_to_fit();
        if (opt.chat) {  // the tail, if any, is the start of the first frames
            if (rest) c.in.resize(rest);
            c.sent = 0;  // of c.out, the outgoing queue, from now on
            return;  // the senders start when every member is open (run_chat)
        }
        if (!load) {
            c.in.clear(), c.in.shrink_to_fit();
            if (rest) note_error(err.mismatch, "data from the server on an idle WebSocket");
            return;
        }
        c.in.assign(frame_len + 16, 0);
        c.out.assign(frame_len, 0);
        c.out[0] = static_cast<std::uint8_t>(0x80 | (opt.binary ? 2 : 1));
        std::memcpy(c.out.data() + 1, echo_header + 1, echo_header_len - 1);
        c.out[1] |= 0x80;  // masked
        std::memcpy(c.out.data() + echo_header_len, c.mask, 4);
        if (rest) {
            note_error(err.mismatch, "data from the server before the first message");
            kill_conn(c);
        }
        return;  // the first message goes when every connection is open (run_load)
    }
    if (c.state != State::open) return;
    if (opt.chat) return chat_event(c, events);
    if (!load) {  // idle: a ping gets its pong (a keep-alive); anything else is unexpected
        std::uint8_t b[256];
        const ssize_t n = read(c.fd, b, sizeof b);
        if (n < 0 && errno == EAGAIN) return;
        if (n > 0 && answer_pings(c, b, static_cast<std::size_t>(n))) return;
        if (n > 0) note_error(err.mismatch, "data from the server on an idle WebSocket (not a ping)");
        else note_error(err.closed, "the server closed an idle WebSocket");
        kill_conn(c);
        --opened, ++failed;  // failed too: open_all() waits for opened + failed to reach the count
        return;
    }
    if (events & EPOLLOUT) {
        if (!flush(c, c.out.data(), frame_len)) {
            note_error(err.closed, std::string("write: ") + strerror(errno));
            kill_conn(c);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        const ssize_t n = read(c.fd, c.in.data() + c.have, c.in.size() - c.have);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            note_error(err.closed, n == 0 ? "the server closed a connection" : std::string("read: ") + strerror(errno));
            kill_conn(c);
            return;
        }
        c.have += static_cast<std::size_t>(n);
        if (!on_echo_bytes(c, now)) kill_conn(c);
    }
}

void json_string(std::string& out, const std::string& s) {
    out += '"';
    for (const char ch : s) {
        if (ch == '"' || ch == '\\') out += '\\', out += ch;
        else if (static_cast<unsigned char>(ch) < 0x20) out += ' ';
        else out += ch;
    }
    out += '"';
}

std::string errors_json() {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "\"errors\":%ld,\"error_kinds\":{\"connect\":%ld,\"handshake\":%ld,\"closed\":%ld,\"mismatch\":%ld,"
                  "\"stalled\":%ld},\"first_error\":",
                  err.total(), err.connect, err.handshake, err.closed, err.mismatch, err.stalled);
    std::string out = buf;
    json_string(out, last_error);
    return out;
}

void on_signal(int) { stop_signal = 1; }

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "%s\nusage: ws_load load --port P [--host IP] [--path /ws] -c CONNS -s BYTES [--binary] -d SECS [-w SECS]\n"
                 "       ws_load idle --port P [--host IP] [--path /ws] -n CONNS [--hold SECS]\n"
                 "       ws_load chat --port P [--host IP] [--path /chat] -n MEMBERS [--senders K] [--window W]\n"
                 "                    [--next all|own] [-s BYTES] -d SECS [-w SECS] [--drain SECS]\n",
                 why);
    std::exit(2);
}

void raise_nofile(long need) {
    rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
    const rlim_t want = static_cast<rlim_t>(need + 64);
    if (r.rlim_max != RLIM_INFINITY && r.rlim_max < want) {
        rlimit more{want, want};
        if (setrlimit(RLIMIT_NOFILE, &more) == 0) return;  // root may raise the hard limit
    }
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
}

// Opens every connection, keeping at most kMaxInFlightHandshakes in progress; the open ones wait
// (in load mode they start their loops together afterwards, so the opening is not slowed by the
// load). Returns when all are open or failed, or on timeout.
void open_all(bool load) {
    const std::int64_t deadline = now_ns() + static_cast<std::int64_t>(opt.connect_timeout * 1e9);
    std::vector<epoll_event> events(1024);
    std::size_t next = 0;
    while (opened + failed < opt.conns && !stop_signal) {
        while (next < conns.size() && started - opened - failed < kMaxInFlightHandshakes) start_connect(conns[next++]);
        const std::int64_t now = now_ns();
        if (now > deadline) break;
        const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
        for (int i = 0; i < n; ++i) on_event(conns[events[i].data.u64], events[i].events, load);
    }
    for (auto& c : conns) {
        if (c.state == State::connecting || c.state == State::handshaking) {
            note_error(err.handshake, "handshake not done in time");
            kill_conn(c);
            ++failed;
        }
    }
    // In idle mode a connection the server closed while others were still opening is gone.
    if (!load) opened = std::count_if(conns.begin(), conns.end(), [](const Conn& c) { return c.state == State::open; });
}

// p50, p99 and max of the samples, in microseconds (0 without samples).
void latency_us(double& p50, double& p99, double& mx) {
    p50 = p99 = mx = 0;
    if (samples.empty()) return;
    auto pct = [&](double q) {
        std::size_t k = static_cast<std::size_t>(q * (samples.size() - 1) + 0.5);
        std::nth_element(samples.begin(), samples.begin() + k, samples.end());
        return samples[k] / 1000.0;
    };
    p50 = pct(0.50);
    p99 = pct(0.99);
    mx = *std::max_element(samples.begin(), samples.end()) / 1000.0;
}

int run_load() {
    open_all(true);
    std::printf("{\"event\":\"open\",\"open\":%ld,%s}\n", opened, errors_json().c_str());
    std::fflush(stdout);
    if (opened == 0) opt.warmup = 0, opt.duration = 0.001;  // nothing to measure: say so at once
    for (auto& c : conns) {
        if (c.state == State::open && !send_message(c)) {
            note_error(err.closed, std::string("write: ") + strerror(errno));
            kill_conn(c);
        }
    }
    std::vector<epoll_event> events(1024);
    auto run_until = [&](std::int64_t end) {
        for (;;) {
            const std::int64_t now = now_ns();
            if (now >= end || stop_signal) return now;
            const int ms = static_cast<int>(std::min<std::int64_t>((end - now) / 1000000 + 1, 100));
            const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), ms);
            for (int i = 0; i < n; ++i) on_event(conns[events[i].data.u64], events[i].events, true);
        }
    };
    run_until(now_ns() + static_cast<std::int64_t>(opt.warmup * 1e9));
    samples.reserve(1 << 20);
    measuring = true;
    const std::int64_t t0 = now_ns();
    std::printf("{\"event\":\"measuring\"}\n");
    std::fflush(stdout);
    const std::int64_t t1 = run_until(t0 + static_cast<std::int64_t>(opt.duration * 1e9));
    measuring = false;
    long open_now = 0;
    for (auto& c : conns) {
        if (c.state != State::open) continue;
        ++open_now;
        if (t1 - c.sent_at > 2000000000LL) note_error(err.stalled, "an echo outstanding for over 2 s");
    }
    const double secs = (t1 - t0) / 1e9;
    double p50 = 0, p99 = 0, mx = 0;
    latency_us(p50, p99, mx);
    std::printf("{\"mode\":\"load\",\"connections\":%ld,\"size\":%zu,\"opcode\":\"%s\",\"open_at_end\":%ld,"
                "\"messages\":%ld,\"seconds\":%.4f,\"msg_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,%s}\n",
                opt.conns, opt.size, opt.binary ? "binary" : "text", open_now, measured_messages, secs,
                secs > 0 ? measured_messages / secs : 0.0, p50, p99, mx, errors_json().c_str());
    std::fflush(stdout);
    return 0;
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int run_chat() {
    // The senders, spread evenly over the members, and over the server's workers too: a server
    // that hands its connections to its workers in turn (as async-nostd does) has member i on
    // worker i mod W, so the senders' indexes step through the residues as well (0, N/K + 1,
    // 2 (N/K + 1), ...; all on one worker, they would not see the others lag).
    sender_of.assign(conns.size(), -1);
    const bool offset = opt.senders * opt.senders <= opt.conns;
    for (long id = 0; id < opt.senders; ++id) {
        const std::size_t m = static_cast<std::size_t>(id * opt.conns / opt.senders + (offset ? id : 0));
        senders.push_back(Sender{m, 0, 0, {}});
        sender_of[m] = static_cast<std::int32_t>(id);
    }
    last_seen.assign(conns.size() * senders.size(), ~0ull);
    open_all(true);
    std::printf("{\"event\":\"open\",\"open\":%ld,%s}\n", opened, errors_json().c_str());
    std::fflush(stdout);
    if (opened == 0) opt.warmup = 0, opt.duration = 0.001, opt.drain = 0;  // nothing to measure: say so at once
    open_members = opened;
    chat_sending = true;
    for (std::size_t id = 0; id < senders.size(); ++id) {
        senders[id].got.assign(static_cast<std::size_t>(opt.window), 0);
        for (long w = 0; w < opt.window && conns[senders[id].conn].state == State::open; ++w) chat_send(id);
    }
    std::vector<epoll_event> events(1024);
    auto run_until = [&](std::int64_t end, bool draining) {
        for (;;) {
            const std::int64_t now = now_ns();
            if (now >= end || stop_signal || (draining && chat_missing() == 0)) return now;
            const int ms = static_cast<int>(std::min<std::int64_t>((end - now) / 1000000 + 1, draining ? 10 : 100));
            const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), ms);
            for (int i = 0; i < n; ++i) on_event(conns[events[i].data.u64], events[i].events, true);
            if (recheck && opt.next_all)
                for (std::size_t id = 0; id < senders.size(); ++id) chat_advance(id);
            recheck = false;
        }
    };
    run_until(now_ns() + static_cast<std::int64_t>(opt.warmup * 1e9), false);
    samples.reserve(1 << 22);
    measuring = true;
    const std::int64_t t0 = now_ns();
    const double cpu0 = cpu_seconds();
    std::printf("{\"event\":\"measuring\"}\n");
    std::fflush(stdout);
    const std::int64_t t1 = run_until(t0 + static_cast<std::int64_t>(opt.duration * 1e9), false);
    const double client_cpu = cpu_seconds() - cpu0;
    measuring = false;
    chat_sending = false;
    std::printf("{\"event\":\"measured\"}\n");
    std::fflush(stdout);
    // The senders have stopped: every open member should get every message sent.
    const std::int64_t t2 = run_until(t1 + static_cast<std::int64_t>(opt.drain * 1e9), true);
    const long missing = chat_missing();
    const long open_now = std::count_if(conns.begin(), conns.end(), [](const Conn& c) { return c.state == State::open; });
    const std::size_t k = senders.size();
    if (missing) {
        lost += missing;
        note_error(err.stalled, "deliveries still missing " + std::to_string(opt.drain) + " s after the senders stopped");
    }
    const double secs = (t1 - t0) / 1e9;
    double p50, p99, mx;
    latency_us(p50, p99, mx);
    std::string codes = "{";
    for (const auto& [code, n] : close_code_counts)
        codes += (codes.size() > 1 ? ",\"" : "\"") + std::to_string(code) + "\":" + std::to_string(n);
    codes += "}";
    std::printf("{\"mode\":\"chat\",\"members\":%ld,\"senders\":%zu,\"next\":\"%s\",\"window\":%ld,\"size\":%zu,\"open_at_end\":%ld,"
                "\"seconds\":%.4f,\"deliveries\":%ld,\"deliveries_s\":%.1f,\"sent\":%ld,\"sent_s\":%.1f,"
                "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"order_violations\":%ld,\"lost\":%ld,"
                "\"dropped\":%ld,\"close_codes\":%s,\"pings_answered\":%ld,\"deliveries_total\":%ld,"
                "\"sent_total\":%ld,\"drain_ms\":%.1f,\"client_cpu_s\":%.3f,%s}\n",
                opt.conns, k, opt.next_all ? "all" : "own", opt.window, opt.size, open_now, secs, measured_messages,
                secs > 0 ? measured_messages / secs : 0.0, chat_measured_sent, secs > 0 ? chat_measured_sent / secs : 0.0,
                p50, p99, mx, order_violations, lost, dropped, codes.c_str(), pings, chat_deliveries, chat_sent,
                (t2 - t1) / 1e6, client_cpu, errors_json().c_str());
    std::fflush(stdout);
    return 0;
}

int run_idle() {
    open_all(false);
    std::printf("{\"event\":\"ready\",\"open\":%ld,%s}\n", opened, errors_json().c_str());
    std::fflush(stdout);
    // Standard input joins the loop: its end (or any read error) ends the hold.
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = ~0ull;
    const bool watch_stdin = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) == 0;
    std::vector<epoll_event> events(1024);
    const std::int64_t end = now_ns() + static_cast<std::int64_t>(opt.hold * 1e9);
    bool done = false;
    while (!done && !stop_signal && now_ns() < end) {
        const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 200);
        for (int i = 0; i < n; ++i) {
            if (events[i].data.u64 == ~0ull) {
                char b[256];
                const ssize_t r = read(0, b, sizeof b);
                if (r <= 0 && !(r < 0 && errno == EINTR)) done = true;
                continue;
            }
            on_event(conns[events[i].data.u64], events[i].events, false);
        }
    }
    (void)watch_stdin;
    std::printf("{\"mode\":\"idle\",\"connections\":%ld,\"open_at_end\":%ld,\"pings_answered\":%ld,%s}\n",
                opt.conns, opened, pings, errors_json().c_str());
    std::fflush(stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) usage("no mode");
    const std::string mode = argv[1];
    if (mode == "idle") opt.idle = true;
    else if (mode == "chat") opt.chat = true, opt.path = "/chat";
    else if (mode != "load") usage("mode must be load, idle or chat");
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage(("missing value after " + a).c_str());
            return argv[++i];
        };
        if (a == "--host") opt.host = value();
        else if (a == "--port") opt.port = std::atoi(value());
        else if (a == "--path") opt.path = value();
        else if (a == "-c" || a == "-n") opt.conns = std::atol(value());
        else if (a == "-s") opt.size = static_cast<std::size_t>(std::atol(value())), opt.size_given = true;
        else if (a == "--senders") opt.senders = std::atol(value());
        else if (a == "--window") opt.window = std::atol(value());
        else if (a == "--drain") opt.drain = std::atof(value());
        else if (a == "--next") {
            const std::string v = value();
            if (v != "own" && v != "all") usage("--next must be own or all");
            opt.next_all = v == "all";
        }
        else if (a == "--binary") opt.binary = true;
        else if (a == "-d") opt.duration = std::atof(value());
        else if (a == "-w") opt.warmup = std::atof(value());
        else if (a == "--hold") opt.hold = std::atof(value());
        else if (a == "--connect-timeout") opt.connect_timeout = std::atof(value());
        else usage(("unknown option " + a).c_str());
    }
    if (opt.port <= 0 || opt.port > 65535 || opt.conns <= 0 || opt.duration <= 0 || opt.warmup < 0 ||
        (!opt.idle && (opt.size < 1 || opt.size > (64u << 20))))
        usage("bad values");
    if (opt.chat && !opt.size_given) opt.size = 64;
    if (opt.chat && (opt.senders < 1 || opt.senders > opt.conns || opt.senders > 0xffffffffL || opt.window < 1 ||
                     opt.size < kChatFixed || opt.size > 65536 || opt.drain < 0))
        usage("chat: --senders must be 1..MEMBERS, --window at least 1, -s 43..65536, --drain at least 0");
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons(static_cast<std::uint16_t>(opt.port));
    if (inet_pton(AF_INET, opt.host.c_str(), &server_addr.sin_addr) != 1) usage("--host must be an IPv4 address");

    raise_nofile(opt.conns);
    struct sigaction sa{};
    sa.sa_handler = on_signal;  // no SA_RESTART: epoll_wait returns EINTR
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    // The message: ASCII (valid UTF-8 for text), its first up to 16 bytes the sequence number.
    seq_digits = std::min<std::size_t>(opt.size, 16);
    payload_template.resize(opt.size);
    for (std::size_t i = 0; i < opt.size; ++i) payload_template[i] = static_cast<std::uint8_t>('a' + i % 26);
    if (opt.chat) payload_template[kSeqAt - 1] = payload_template[kTsAt - 1] = payload_template[kChatFixed - 1] = ' ';
    echo_header[0] = static_cast<std::uint8_t>(0x80 | (opt.binary ? 2 : 1));
    if (opt.size < 126) {
        echo_header[1] = static_cast<std::uint8_t>(opt.size);
        echo_header_len = 2;
    } else if (opt.size < 65536) {
        echo_header[1] = 126;
        echo_header[2] = static_cast<std::uint8_t>(opt.size >> 8);
        echo_header[3] = static_cast<std::uint8_t>(opt.size);
        echo_header_len = 4;
    } else {
        echo_header[1] = 127;
        for (int i = 0; i < 8; ++i) echo_header[2 + i] = static_cast<std::uint8_t>(std::uint64_t(opt.size) >> (56 - 8 * i));
        echo_header_len = 10;
    }
    frame_header_len = echo_header_len + 4;  // the client's frames carry a masking key
    frame_len = frame_header_len + opt.size;

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        std::perror("epoll_create1");
        return 1;
    }
    conns.resize(static_cast<std::size_t>(opt.conns));
    for (auto& c : conns) {
        std::uint32_t m;
        do m = static_cast<std::uint32_t>(rng()); while (m == 0);
        std::memcpy(c.mask, &m, 4);
    }
    return opt.idle ? run_idle() : opt.chat ? run_chat() : run_load();
}
