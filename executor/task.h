// executor/task.h — C++20 coroutine tasks, after cppcoro's task and libcoro's self-deleting task,
// without the exception machinery (this build has none).
//
// Task<T>: lazy (starts when awaited), move-only, resumes its awaiter by symmetric transfer when
// it finishes, so a chain of awaits never grows the stack. T is an integer or enum status value
// (STYLE 3: results are errno-style), which lets a frame that could not be allocated report
// -ENOMEM through the normal result instead of crashing.
//
// DetachedTask: a top-level task (one per connection). Starts at once, frees its own frame when
// it ends; `started` is false if its frame could not be allocated.
#pragma once

#include <coroutine>
#include <cstddef>
#include <new>
#include <type_traits>

#include "runtime/memory.h"

namespace ex {

inline constexpr int kAllocFailed = -12;  // -ENOMEM

// Frames come from the thread's size-class heap. The nothrow form plus
// get_return_object_on_allocation_failure() turns exhaustion into a value, not a crash.
struct FrameAllocation {
    static void* operator new(std::size_t n) noexcept { return rt::mem_alloc(n); }
    static void operator delete(void* p) noexcept { rt::mem_free(p); }
};

template <class T>
class [[nodiscard]] Task {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>, "Task results are status values");

public:
    struct promise_type : FrameAllocation {
        T value{};
        std::coroutine_handle<> continuation;

        Task get_return_object() noexcept { return Task{Handle::from_promise(*this)}; }
        static Task get_return_object_on_allocation_failure() noexcept { return Task{nullptr}; }
        std::suspend_always initial_suspend() noexcept { return {}; }
        auto final_suspend() noexcept {
            struct Final {
                bool await_ready() noexcept { return false; }
                // Symmetric transfer to whoever awaited us: no stack growth along a chain.
                std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                    return h.promise().continuation;
                }
                void await_resume() noexcept {}
            };
            return Final{};
        }
        void return_value(T v) noexcept { value = v; }
        void unhandled_exception() noexcept { __builtin_trap(); }
    };
    using Handle = std::coroutine_handle<promise_type>;

    Task(Task&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
    Task& operator=(Task&&) = delete;
    ~Task() {
        if (handle_) handle_.destroy();
    }

    bool await_ready() const noexcept { return !handle_; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
        handle_.promise().continuation = awaiter;
        return handle_;  // start (or continue) the task on this thread, now
    }
    T await_resume() noexcept { return handle_ ? handle_.promise().value : static_cast<T>(kAllocFailed); }

private:
    explicit Task(Handle h) : handle_(h) {}
    Handle handle_;
};

struct DetachedTask {
    struct promise_type : FrameAllocation {
        DetachedTask get_return_object() noexcept { return {true}; }
        static DetachedTask get_return_object_on_allocation_failure() noexcept { return {false}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }  // the frame frees itself
        void return_void() noexcept {}
        void unhandled_exception() noexcept { __builtin_trap(); }
    };
    bool started;
};

}  // namespace ex
