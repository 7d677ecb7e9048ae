// runtime/log.h — the server log: access lines in the Combined Log Format and event lines
// ("<ISO time> <event> key=value …") in one file opened O_APPEND.
//
// A worker batches: its lines collect in a per-thread buffer that goes out with one write() per
// loop turn, so workers never lock and a line is never torn (O_APPEND makes each write land
// whole at the end). Any other thread writes each line as it ends.
#pragma once

#include <cstddef>
#include <string_view>

#include "runtime/format.h"

namespace rt {

inline constexpr std::size_t kLogLineMax = 2048;       // longer lines are cut and end in "..."
inline constexpr std::size_t kLogBatchBytes = 32 * 1024;

// Opens the log ("-" means standard error). Returns 0 or -errno.
int log_open(const char* path);

// Opens the log's path again and puts the new file in the old one's place (dup3), so that every
// thread writes to the new file from its next write on: what logrotate needs after moving the
// file away. Returns 0 or -errno (then the old file stays in use).
int log_reopen();

// Makes the calling thread batch its lines until log_flush(). Returns false if out of memory
// (the thread then writes line by line).
bool log_batch_thread();
// Writes the calling thread's batched lines.
void log_flush();

// One log line, handed to the log when it goes out of scope.
class LogLine : public Writer {
public:
    // An event line: "<ISO time> <event>". An empty event starts a bare line (access lines).
    explicit LogLine(std::string_view event);
    ~LogLine();
    LogLine(const LogLine&) = delete;

private:
    char storage_[kLogLineMax];
};

}  // namespace rt
