// runtime/clock.cpp — see clock.h.
#include "runtime/clock.h"

#include "sys/syscall.h"

namespace rt {
namespace {
thread_local ThreadClock clock;
}

const ThreadClock& thread_clock() { return clock; }

const ThreadClock& clock_refresh() {
    sys::timespec ts;
    sys::clock_gettime(sys::CLOCK_MONOTONIC, &ts);
    clock.monotonic_ns = ts.sec * 1'000'000'000 + ts.nsec;
    sys::clock_gettime(sys::CLOCK_REALTIME, &ts);
    clock.wall_seconds = ts.sec;
    return clock;
}

}  // namespace rt
