// runtime/clock.h — each thread's view of the time, read once per loop turn.
//
// A worker refreshes its clock when it wakes; everything in that turn (deadlines, log
// timestamps, the Date header) uses the same reading. That costs two clock_gettime calls a turn
// instead of several per request.
#pragma once

#include <cstdint>

namespace rt {

struct ThreadClock {
    std::int64_t monotonic_ns = 0;  // CLOCK_MONOTONIC, for deadlines
    std::int64_t wall_seconds = 0;  // CLOCK_REALTIME, for logs and HTTP dates
};

// The calling thread's last reading.
const ThreadClock& thread_clock();
// Reads the clocks now and returns the new reading.
const ThreadClock& clock_refresh();

}  // namespace rt
