// websocket/chat.cpp — the chat room; see connection.h and session.h.
//
// GET /chat: a text message from any member goes to every member, on every
// worker. The sender's worker builds the server frame once, in a ChatMessage that carries one
// inbox task per worker; each worker hands the same bytes to its own members, and the last
// reference frees them. Messages from one sender reach each worker's inbox in the order sent,
// and each member's queue is first in, first out, so every member sees them in that order.
//
// A member that cannot keep up: frames its socket does not take wait in its queue as references
// to the shared message (only the unsent rest of a frame the socket took part of is copied, at
// most one frame of kChatMaxMessageBytes). When a message arrives while the queue already holds
// more than --ws-max-backlog bytes, the member is dropped (1008), like an echo client that does
// not read; the others never wait for it.
#include "runtime/inbox.h"
#include "sys/syscall.h"
#include "websocket/connection.h"
#include "websocket/frame.h"

namespace ws::detail {

struct ChatMessage;
struct ChatLink : rt::InboxTask {  // the message's way into one worker's inbox
    ChatMessage* message;
};
struct ChatMessage {
    rt::Atomic<int> refs;
    std::uint32_t size;     // of the frame
    std::uint8_t* frame;    // header and payload, after the links
    ChatLink* links() { return reinterpret_cast<ChatLink*>(this + 1); }
};

struct ChatMember {
    Session* session;
    ChatMember* prev;
    ChatMember* next;
    ChatMessage** queue;  // a ring of `capacity`; `count` from `head`
    std::uint32_t head, count, capacity;
    std::uint64_t queued;  // bytes
};

namespace {

void unref(ChatMessage* m) {
    if (m->refs.fetch_add(-1, rt::acq_rel) == 1) rt::mem_free(m);
}

thread_local ChatMember* members;  // this worker's

// Wakes a session that waits for input only, so that it waits for room in the socket too.
void wake(Session& s) {
    if (!s.parked || !ex::this_worker().io.disarm(s.parked)) return;
    s.parked->result = 0;
    ex::this_worker().schedule(s.parked);
    s.parked = nullptr;
}

// One message for one member of this worker.
void offer(Session& s, ChatMessage* m) {
    if (s.done) return;
    ChatMember& c = *s.chat;
    if (s.backlog.size == 0 && c.count == 0) {  // nothing before it: straight to the socket
        long n = sys::send(s.fd, m->frame, m->size, sys::MSG_DONTWAIT | sys::MSG_NOSIGNAL);
        if (n == -sys::EAGAIN || n == -sys::EINTR) n = 0;
        if (n < 0) return end(s, s.close_code), wake(s);
        ++s.messages_out;
        stats().messages_out.add();
        if (n == static_cast<long>(m->size)) return;
        if (!s.backlog.append(m->frame + n, m->size - static_cast<std::size_t>(n))) return end(s, 1011), wake(s);
        s.progress_ns = now();
        return wake(s);  // it must now wait for room in the socket too
    }
    if (c.queued > settings.max_backlog) return end(s, 1008), wake(s);  // it does not keep up
    if (c.count == c.capacity) {
        const std::uint32_t capacity = c.capacity ? c.capacity * 2 : 16;
        auto* grown = static_cast<ChatMessage**>(rt::mem_alloc(capacity * sizeof(ChatMessage*)));
        if (!grown) return end(s, 1011), wake(s);
        for (std::uint32_t i = 0; i < c.count; ++i) grown[i] = c.queue[(c.head + i) % c.capacity];
        rt::mem_free(c.queue);
        c.queue = grown, c.head = 0, c.capacity = capacity;
    }
    m->refs.fetch_add(1, rt::relaxed);
    c.queue[(c.head + c.count) % c.capacity] = m;
    ++c.count;
    c.queued += m->size;
}

// Runs on each worker for each message: hands it to the worker's members.
void deliver(rt::InboxTask* task) {
    ChatMessage* m = static_cast<ChatLink*>(task)->message;
    for (ChatMember* c = members; c; c = c->next) offer(*c->session, m);
    unref(m);
}

}  // namespace

// Sends the queue's frames while the socket takes them whole; the rest of one taken in part
// moves to the backlog. False on a broken connection.
bool flush_chat(Session& s) {
    ChatMember& c = *s.chat;
    while (c.count && s.backlog.size == 0) {
        ChatMessage* m = c.queue[c.head];
        const long n = sys::send(s.fd, m->frame, m->size, sys::MSG_DONTWAIT | sys::MSG_NOSIGNAL);
        if (n == -sys::EAGAIN) return true;
        if (n < 0 && n != -sys::EINTR) return end(s, s.close_code);
        if (n < 0) continue;
        if (n < static_cast<long>(m->size) && !s.backlog.append(m->frame + n, m->size - static_cast<std::size_t>(n)))
            return end(s, 1011);
        s.progress_ns = now();
        c.head = c.head + 1 == c.capacity ? 0 : c.head + 1;
        --c.count;
        c.queued -= m->size;
        unref(m);
        ++s.messages_out;
        stats().messages_out.add();
    }
    return true;
}

// A member's text message, to every member on every worker. False when out of memory.
bool publish(const std::uint8_t* text, std::size_t size) {
    int workers;
    ex::Worker* all = ex::workers(workers);
    std::uint8_t header[kMaxFrameHeader];
    const std::size_t header_len = encode_frame_header(header, true, kText, size);
    const std::size_t links = static_cast<std::size_t>(workers) * sizeof(ChatLink);
    auto* m = static_cast<ChatMessage*>(rt::mem_alloc(sizeof(ChatMessage) + links + header_len + size));
    if (!m) return false;
    m->refs.store(workers, rt::relaxed);
    m->size = static_cast<std::uint32_t>(header_len + size);
    m->frame = reinterpret_cast<std::uint8_t*>(m->links()) + links;
    __builtin_memcpy(m->frame, header, header_len);
    if (size) __builtin_memcpy(m->frame + header_len, text, size);
    for (int i = 0; i < workers; ++i) {
        ChatLink& link = m->links()[i];
        link.run = deliver;
        link.message = m;
        all[i].inbox.post(&link);
    }
    return true;
}

bool join_chat(Session& s) {
    auto* c = static_cast<ChatMember*>(rt::mem_alloc(sizeof(ChatMember)));
    if (!c) return false;
    *c = {&s, nullptr, members, nullptr, 0, 0, 0, 0};
    if (members) members->prev = c;
    members = c;
    s.chat = c;
    stats().chat_joined.add();
    return true;
}

void drop_chat_queue(Session& s) {
    ChatMember* c = s.chat;
    if (!c) return;
    for (std::uint32_t i = 0; i < c->count; ++i) unref(c->queue[(c->head + i) % c->capacity]);
    c->count = 0;
    c->queued = 0;
}

void leave_chat(Session& s) {
    ChatMember* c = s.chat;
    if (!c) return;
    (c->prev ? c->prev->next : members) = c->next;
    if (c->next) c->next->prev = c->prev;
    drop_chat_queue(s);
    rt::mem_free(c->queue);
    rt::mem_free(c);
    s.chat = nullptr;
    stats().chat_left.add();
}

// What the session still has to send.
bool sending(const Session& s) { return s.backlog.size || (s.chat && s.chat->count); }

}  // namespace ws::detail
