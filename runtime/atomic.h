// runtime/atomic.h — the few atomic operations this program needs, over the compiler's
// __atomic builtins (GCC and Clang).
//
// NOTE: not <atomic>: in GCC 12 that header pulls in C++20's atomic wait, and with it glibc's
// errno.h, pthread.h and unistd.h — hosted headers a freestanding binary must not depend on.
// The semantics here are exactly std::atomic's for the orders named.
#pragma once

namespace rt {

enum MemoryOrder : int {
    relaxed = __ATOMIC_RELAXED,
    acquire = __ATOMIC_ACQUIRE,
    release = __ATOMIC_RELEASE,
    acq_rel = __ATOMIC_ACQ_REL,
    seq_cst = __ATOMIC_SEQ_CST,
};

template <class T>
class Atomic {
public:
    constexpr Atomic(T v = T{}) : value_(v) {}
    Atomic(const Atomic&) = delete;

    T load(MemoryOrder o) const { return __atomic_load_n(&value_, o); }
    void store(T v, MemoryOrder o) { __atomic_store_n(&value_, v, o); }
    T exchange(T v, MemoryOrder o) { return __atomic_exchange_n(&value_, v, o); }
    T fetch_add(T v, MemoryOrder o) { return __atomic_fetch_add(&value_, v, o); }
    // On failure `expected` receives the current value.
    bool compare_exchange_weak(T& expected, T desired, MemoryOrder success, MemoryOrder failure) {
        return __atomic_compare_exchange_n(&value_, &expected, desired, true, success, failure);
    }

private:
    T value_;
};

// A statistic that one thread counts and any thread may read (a per-worker counter summed at
// scrape time). Only its owner adds, so an add is a relaxed load and store, not a locked
// read-modify-write; a reader sees some recent value, never a torn one.
class Counter {
public:
    void add(unsigned long n = 1) { __atomic_store_n(&value_, __atomic_load_n(&value_, relaxed) + n, relaxed); }
    unsigned long get() const { return __atomic_load_n(&value_, relaxed); }

private:
    unsigned long value_ = 0;
};

}  // namespace rt
