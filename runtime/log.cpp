// runtime/log.cpp — see log.h.
#include "runtime/log.h"

#include "runtime/civil_time.h"
#include "runtime/clock.h"
#include "runtime/memory.h"
#include "sys/syscall.h"

namespace rt {
namespace {
int log_fd = 2;
const char* log_path = "-";

struct Batch {
    char* data = nullptr;
    std::size_t len = 0;
};
thread_local Batch batch;

void write_all(const char* p, std::size_t n) {
    while (n) {
        const long r = sys::write(log_fd, p, n);
        if (r == -sys::EINTR) continue;
        if (r <= 0) return;  // a full disk must not stop the server; the line is lost
        p += r, n -= static_cast<std::size_t>(r);
    }
}
}  // namespace

int log_open(const char* path) {
    log_path = path;
    if (path[0] == '-' && path[1] == 0) {
        log_fd = 2;
        return 0;
    }
    const int fd = sys::openat(sys::AT_FDCWD, path,
                               sys::O_WRONLY | sys::O_CREAT | sys::O_APPEND | sys::O_CLOEXEC, 0644);
    if (fd < 0) return fd;
    log_fd = fd;
    return 0;
}

int log_reopen() {
    if (log_fd == 2) return 0;
    const int fd = sys::openat(sys::AT_FDCWD, log_path,
                               sys::O_WRONLY | sys::O_CREAT | sys::O_APPEND | sys::O_CLOEXEC, 0644);
    if (fd < 0) return fd;
    const int r = sys::dup3(fd, log_fd, sys::O_CLOEXEC);
    sys::close(fd);
    return r < 0 ? r : 0;
}

bool log_batch_thread() {
    batch.data = static_cast<char*>(mem_alloc(kLogBatchBytes));
    return batch.data != nullptr;
}

void log_flush() {
    if (batch.len) write_all(batch.data, batch.len);
    batch.len = 0;
}

LogLine::LogLine(std::string_view event) : Writer(storage_, sizeof storage_ - 4) {
    if (event.empty()) return;
    // A worker's clock was read this loop turn; other threads read it now.
    put_iso_time(*this, batch.data ? thread_clock().wall_seconds : clock_refresh().wall_seconds);
    put(' ').put(event);
}

LogLine::~LogLine() {
    // The Writer's capacity left 4 bytes spare for the ending.
    char* end = data() + size();
    std::size_t n = size();
    if (overflowed()) *end++ = '.', *end++ = '.', *end++ = '.', n += 3;
    *end = '\n', ++n;
    if (!batch.data) {
        write_all(data(), n);
        return;
    }
    if (batch.len + n > kLogBatchBytes) log_flush();
    __builtin_memcpy(batch.data + batch.len, data(), n);
    batch.len += n;
}

}  // namespace rt
