// executor/worker.cpp — see worker.h.
#include "executor/worker.h"

#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/memory.h"
#include "runtime/start.h"
#include "sys/syscall.h"

namespace ex {
namespace {
thread_local Worker* current;
Worker* all_workers;
int all_count;
rt::IoBackend io_backend;
rt::Atomic<bool> stop_requested{false};

void resume_all(rt::Waiter* list) {
    while (list) {
        rt::Waiter* next = list->next;  // read first: resuming may free the waiter's frame
        list->handle.resume();
        list = next;
    }
}

[[noreturn]] void run(Worker& w) {
    for (;;) {
        rt::Waiter* ready = nullptr;
        const bool may_sleep = w.inbox.prepare_to_sleep(w.run_queue);
        w.io.poll(rt::thread_clock().monotonic_ns, may_sleep ? rt::kNoDeadline : 0, ready);  // refreshes the clock
        w.inbox.awake();
        if (!w.stop_seen && stop_requested.load(rt::relaxed)) {
            w.stop_seen = true;
            w.io.cancel_idle(ready);
        }
        resume_all(rt::TreiberStack<rt::Waiter>::reverse(ready));
        // New connections are taken before the tasks and started after them: a task handed over
        // before a connection arrived (a chat message sent before a member connected) then runs
        // before that connection starts, even when a slow turn finds both waiting.
        rt::InboxItem* items = w.inbox.items.take_all_fifo();
        for (rt::InboxTask* task = w.inbox.tasks.take_all_fifo(); task;) {
            rt::InboxTask* next = task->next;  // read first: run() owns the task
            task->run(task);
            task = next;
        }
        while (rt::InboxItem* item = items) {
            items = item->next;
            w.io.adopt(item->fd);
            w.on_connection(item->fd, item->peer);
            rt::mem_free(item);
        }
        resume_all(w.run_queue.take_all_fifo());
        w.on_turn_end();
        rt::memory_maintain();
        rt::log_flush();
        if (w.stop_seen && w.open_connections == 0) w.drained.store(true, rt::release);
    }
}

int worker_main(void* arg) {
    auto& w = *static_cast<Worker*>(arg);
    current = &w;
    rt::memory_attach_thread(w.index + 1);
    rt::clock_refresh();
    const int r = rt::log_batch_thread() ? w.io.init(w.inbox.wake_fd, io_backend) : -sys::ENOMEM;
    w.setup.store(r, rt::release);
    if (r < 0) sys::exit_thread(0);  // start_workers reports it
    run(w);
}
}  // namespace

Worker& this_worker() { return *current; }
Worker* workers(int& count) {
    count = all_count;
    return all_workers;
}

bool stopping() { return stop_requested.load(rt::relaxed); }

void stop_workers(Worker* workers, int count) {
    stop_requested.store(true, rt::relaxed);
    const std::uint64_t one = 1;
    for (int i = 0; i < count; ++i) sys::write(workers[i].inbox.wake_fd, &one, sizeof one);
}

int start_workers(int count, rt::IoBackend backend, ConnectionHandler handler, TurnHandler turn_end, Worker** out) {
    io_backend = backend;
    auto* workers = new Worker[count];
    if (!workers) return -sys::ENOMEM;
    all_workers = workers, all_count = count;
    const std::size_t guard = 4096;
    const std::size_t tls = (rt::tls_area_size() + 4095) & ~std::size_t{4095};
    for (int i = 0; i < count; ++i) {
        Worker& w = workers[i];
        w.index = i;
        w.on_connection = handler;
        w.on_turn_end = turn_end;
        w.inbox.wake_fd = sys::eventfd2(0, sys::EFD_NONBLOCK | sys::EFD_CLOEXEC);
        if (w.inbox.wake_fd < 0) return w.inbox.wake_fd;
        // [guard page | stack … | TLS block]: an overflow hits the guard and faults at once
        // instead of silently corrupting another thread's memory.
        const std::size_t total = guard + kWorkerStackBytes + tls;
        const long base = sys::mmap(nullptr, total, sys::PROT_READ | sys::PROT_WRITE,
                                    sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_STACK);
        if (sys::mmap_failed(base)) return static_cast<int>(base);
        sys::mprotect(reinterpret_cast<void*>(base), guard, sys::PROT_NONE);
        char* stack_top = reinterpret_cast<char*>(base) + guard + kWorkerStackBytes;
        void* tp = rt::tls_setup(stack_top);
        const unsigned long flags = sys::CLONE_VM | sys::CLONE_FS | sys::CLONE_FILES | sys::CLONE_SIGHAND |
                                    sys::CLONE_THREAD | sys::CLONE_SYSVSEM | sys::CLONE_SETTLS |
                                    sys::CLONE_PARENT_SETTID | sys::CLONE_CHILD_CLEARTID;
        const long tid = sys::clone_thread(flags, stack_top, &w.tid, &w.tid, tp, worker_main, &w);
        if (tid < 0) return static_cast<int>(tid);
    }
    for (int i = 0; i < count; ++i) {
        int r;
        while ((r = workers[i].setup.load(rt::acquire)) == 1) {
            const sys::timespec pause{0, 1'000'000};
            sys::nanosleep(&pause);
        }
        if (r < 0) return r;
    }
    *out = workers;
    return 0;
}

}  // namespace ex
