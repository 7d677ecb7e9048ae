// executor/worker.h — the fixed pool of worker threads.
//
// Each worker is a clone()d thread on its own guarded mmap stack, with its own TLS, heap,
// IO registry, inbox and log batch. A connection lives and dies on one worker, so nothing a
// connection touches is shared: no locks on the hot path.
//
// The loop: wait in the IO registry (timeout = nearest deadline) → resume every task whose event
// came → run the inbox's tasks from other workers → start a task for each new connection from
// the inbox (taken before the tasks, so a task handed over earlier runs first) → resume tasks
// other threads made ready → write the log batch → repeat.
#pragma once

#include <cstdint>

#include "runtime/inbox.h"
#include "runtime/io_registry.h"
#include "sys/kernel.h"

namespace ex {

inline constexpr std::size_t kWorkerStackBytes = 256 * 1024;
inline constexpr int kMaxWorkers = 256;

// Starts a connection's task. Called on the worker that owns the connection.
using ConnectionHandler = void (*)(int fd, const sys::sockaddr_any& peer);
// Called by each worker at the end of every loop turn.
using TurnHandler = void (*)();

struct alignas(64) Worker {
    int index = 0;          // 0-based
    int tid = 0;            // kernel thread id; cleared by the kernel when the thread ends
    rt::Inbox inbox;
    rt::IoRegistry io;
    rt::TreiberStack<rt::Waiter> run_queue;  // tasks made ready by other threads
    ConnectionHandler on_connection = nullptr;
    TurnHandler on_turn_end = nullptr;
    int open_connections = 0;
    rt::Atomic<int> setup{1};        // 1 while setting up, then 0 or -errno
    bool stop_seen = false;          // this worker has acted on stop_workers()
    rt::Atomic<bool> drained{false};  // stopping, no connection left, its log written

    // Arms `waiter` in this worker's registry. Worker thread only.
    bool arm(int fd, short events, rt::Waiter* waiter, std::int64_t deadline_ns) {
        return io.arm(fd, events, waiter, deadline_ns);
    }
    // Makes `waiter` ready from any thread.
    void schedule(rt::Waiter* waiter) {
        if (run_queue.push(waiter)) inbox.wake_if_sleeping();
    }
};

// The worker running the calling thread.
Worker& this_worker();
// Every worker (for fan-out and for summing per-worker counters), once they are started.
Worker* workers(int& count);

// Graceful stop, from the main thread: every worker wakes, finishes (rt::Waiter::idle) waits for
// a new request or message at once, and sets `drained` once its last connection has closed.
// Connections check stopping() to finish what they are doing and then close.
void stop_workers(Worker* workers, int count);
bool stopping();

// Starts `count` workers (1 … kMaxWorkers), each waiting with `backend`, and returns once every
// one has set up its registry: 0, or the first -errno (a kernel without the backend). Nothing
// is created later, so a sandbox installed after this need not allow setting up a registry.
// Heap ids 1 … count are theirs (0 is the main thread's). `workers` receives the array.
int start_workers(int count, rt::IoBackend backend, ConnectionHandler handler, TurnHandler turn_end, Worker** workers);

}  // namespace ex
