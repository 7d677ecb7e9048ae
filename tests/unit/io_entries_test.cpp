// io_entries_test.cpp: rt::IoEntries (runtime/io_entries.h), the live list and deadline heap the
// epoll and io_uring backends keep — ordering by deadline, removal from anywhere, entries
// without a deadline, and running out of memory — checked against a std::multiset.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "runtime/io_entries.h"

// The server's allocator, here malloc, with a switch to make it fail.
namespace {
int allocations_left = -1;  // -1: no limit
}  // namespace

namespace rt {
void* mem_alloc(std::size_t bytes) {
    if (allocations_left == 0) return nullptr;
    if (allocations_left > 0) --allocations_left;
    return std::malloc(bytes);
}
void mem_free(void* p) { std::free(p); }
}  // namespace rt

namespace {

using rt::IoEntries;
using rt::IoEntry;
using rt::kNoDeadline;

std::vector<IoEntry*> live_list(const IoEntries& entries) {
    std::vector<IoEntry*> out;
    for (IoEntry* e = entries.first(); e; e = e->next) out.push_back(e);
    return out;
}

void remove(IoEntries& entries, IoEntry* e) {
    entries.unlink(e);
    rt::mem_free(e);
}

TEST(IoEntries, EmptyHasNothing) {
    IoEntries entries;
    EXPECT_EQ(entries.first(), nullptr);
    EXPECT_EQ(entries.earliest(), nullptr);
}

TEST(IoEntries, EarliestDeadlineFirstAndNoDeadlineNeverInHeap) {
    IoEntries entries;
    rt::Waiter w[4];
    IoEntry* late = entries.add(5, &w[0], 300);
    IoEntry* none = entries.add(6, &w[1], kNoDeadline);
    IoEntry* early = entries.add(-1, &w[2], 100);
    IoEntry* mid = entries.add(7, &w[3], 200);
    ASSERT_TRUE(late && none && early && mid);
    EXPECT_EQ(none->heap_index, -1);
    EXPECT_EQ(early->fd, -1);
    EXPECT_EQ(mid->waiter, &w[3]);
    EXPECT_EQ(live_list(entries).size(), 4u);
    EXPECT_EQ(entries.earliest(), early);
    remove(entries, early);
    EXPECT_EQ(entries.earliest(), mid);
    remove(entries, late);  // from the heap's middle or end, not its top
    EXPECT_EQ(entries.earliest(), mid);
    remove(entries, mid);
    EXPECT_EQ(entries.earliest(), nullptr);  // only the one without a deadline is left
    EXPECT_EQ(live_list(entries), std::vector<IoEntry*>{none});
    remove(entries, none);
    EXPECT_EQ(entries.first(), nullptr);
}

TEST(IoEntries, EqualDeadlinesAllCome) {
    IoEntries entries;
    rt::Waiter w;
    std::set<IoEntry*> added;
    for (int i = 0; i < 10; ++i) added.insert(entries.add(i, &w, 42));
    std::set<IoEntry*> taken;
    while (IoEntry* e = entries.earliest()) {
        EXPECT_EQ(e->deadline, 42);
        taken.insert(e);
        remove(entries, e);
    }
    EXPECT_EQ(taken, added);
    EXPECT_EQ(entries.first(), nullptr);
}

// Random adds and removals (of the earliest, or of any live entry) against a multiset of
// deadlines; the heap grows past its first capacity several times.
TEST(IoEntries, RandomOperationsMatchAMultiset) {
    std::mt19937_64 rng(20261121);
    IoEntries entries;
    rt::Waiter w;
    std::vector<IoEntry*> live;
    std::multiset<std::int64_t> deadlines;
    for (int step = 0; step < 200'000; ++step) {
        const unsigned op = rng() % 10;
        if (op < 5 || live.empty()) {
            const std::int64_t deadline = rng() % 8 == 0 ? kNoDeadline : static_cast<std::int64_t>(rng() % 1000);
            IoEntry* e = entries.add(static_cast<int>(step), &w, deadline);
            ASSERT_NE(e, nullptr);
            live.push_back(e);
            if (deadline != kNoDeadline) deadlines.insert(deadline);
        } else if (op < 7) {
            IoEntry* e = entries.earliest();
            if (!e) {
                ASSERT_TRUE(deadlines.empty());
                continue;
            }
            ASSERT_EQ(e->deadline, *deadlines.begin()) << "step " << step;
            deadlines.erase(deadlines.begin());
            std::erase(live, e);
            remove(entries, e);
        } else {
            const std::size_t i = rng() % live.size();
            IoEntry* e = live[i];
            if (e->deadline != kNoDeadline) deadlines.erase(deadlines.find(e->deadline));
            live[i] = live.back();
            live.pop_back();
            remove(entries, e);
        }
        if (step % 1000 == 0) ASSERT_EQ(live_list(entries).size(), live.size());
    }
    for (IoEntry* e : live) remove(entries, e);
    EXPECT_EQ(entries.first(), nullptr);
    EXPECT_EQ(entries.earliest(), nullptr);
}

// Out of memory: add says so and leaves the list and heap as they were, whether the entry or the
// heap's growth is what failed.
TEST(IoEntries, OutOfMemoryLeavesNoTrace) {
    IoEntries entries;
    rt::Waiter w;
    allocations_left = 0;
    EXPECT_EQ(entries.add(3, &w, 10), nullptr);
    allocations_left = 1;  // the entry, not the heap it needs
    EXPECT_EQ(entries.add(3, &w, 10), nullptr);
    allocations_left = -1;
    EXPECT_EQ(entries.first(), nullptr);
    EXPECT_EQ(entries.earliest(), nullptr);
    IoEntry* e = entries.add(3, &w, 10);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(entries.earliest(), e);
    remove(entries, e);
}

}  // namespace
