// runtime/waiter.h — what a suspended task leaves in an IO registry or run queue.
#pragma once

#include <coroutine>
#include <cstdint>

namespace rt {

inline constexpr std::int64_t kNoDeadline = INT64_MAX;

// Something suspended until an event. Lives in the suspended coroutine's frame.
struct Waiter {
    Waiter* next = nullptr;
    std::coroutine_handle<> handle;
    int result = 0;  // 0 or a negative errno, set before the handle is resumed
    bool idle = false;  // waiting for a new request or message: may be cut short by cancel_idle
};

// Puts `waiter` (if any) on the `ready` list with `result`.
inline void report(Waiter* waiter, int result, Waiter*& ready) {
    if (!waiter) return;
    waiter->result = result;
    waiter->next = ready;
    ready = waiter;
}

}  // namespace rt
