// treiber_stack_test.cpp: rt::TreiberStack (runtime/treiber_stack.h) — the many-producer,
// one-consumer intrusive stack behind remote frees and cross-thread wake-ups.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "runtime/treiber_stack.h"

namespace {

struct Node {
    Node* next = nullptr;
    int producer = 0;
    std::uint32_t seq = 0;  // position in its producer's push order
    std::uint32_t id = 0;   // unique over all nodes
};

using Stack = rt::TreiberStack<Node>;

std::vector<int> ids(Node* list) {
    std::vector<int> out;
    for (Node* n = list; n; n = n->next) out.push_back(static_cast<int>(n->id));
    return out;
}

// A fresh stack is empty; take_all() on it returns null.
TEST(TreiberStack, StartsEmpty) {
    Stack s;
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.take_all(), nullptr);
    EXPECT_EQ(s.take_all_fifo(), nullptr);
    EXPECT_TRUE(s.empty());
}

// push() returns true exactly when the stack was empty before it (the wake-up signal).
TEST(TreiberStack, PushReportsWasEmpty) {
    Stack s;
    Node a, b, c;
    EXPECT_TRUE(s.push(&a));
    EXPECT_FALSE(s.empty());
    EXPECT_FALSE(s.push(&b));
    EXPECT_FALSE(s.push(&c));
    EXPECT_NE(s.take_all(), nullptr);
    EXPECT_TRUE(s.empty());
    EXPECT_TRUE(s.push(&b));  // empty again after take_all
    EXPECT_FALSE(s.push(&a));
}

// take_all() returns newest first; take_all_fifo() oldest first; both leave the stack empty.
TEST(TreiberStack, TakeAllOrder) {
    Stack s;
    Node n[5];
    for (int i = 0; i < 5; ++i) {
        n[i].id = i;
        s.push(&n[i]);
    }
    EXPECT_EQ(ids(s.take_all()), (std::vector<int>{4, 3, 2, 1, 0}));
    EXPECT_TRUE(s.empty());
    for (int i = 0; i < 5; ++i) s.push(&n[i]);
    EXPECT_EQ(ids(s.take_all_fifo()), (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_TRUE(s.empty());
    // A single node works both ways and ends the list.
    s.push(&n[2]);
    Node* one = s.take_all_fifo();
    EXPECT_EQ(one, &n[2]);
    EXPECT_EQ(one->next, nullptr);
}

// reverse() reverses any list in place, null and single nodes included, and is its own inverse.
TEST(TreiberStack, Reverse) {
    EXPECT_EQ(Stack::reverse(nullptr), nullptr);
    Node single;
    single.id = 9;
    EXPECT_EQ(Stack::reverse(&single), &single);
    EXPECT_EQ(single.next, nullptr);

    Node n[6];
    for (int i = 0; i < 6; ++i) {
        n[i].id = i;
        n[i].next = i + 1 < 6 ? &n[i + 1] : nullptr;
    }
    Node* r = Stack::reverse(&n[0]);
    EXPECT_EQ(ids(r), (std::vector<int>{5, 4, 3, 2, 1, 0}));
    EXPECT_EQ(ids(Stack::reverse(r)), (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

// Nodes can be pushed again after being taken (the stack keeps no reference to them).
TEST(TreiberStack, NodesAreReusable) {
    Stack s;
    Node a, b;
    a.id = 1;
    b.id = 2;
    for (int round = 0; round < 3; ++round) {
        s.push(&a);
        s.push(&b);
        EXPECT_EQ(ids(s.take_all()), (std::vector<int>{2, 1}));
    }
}

constexpr int kProducers = 4;
constexpr std::uint32_t kPerProducer = 100000;
constexpr std::uint32_t kTotal = kProducers * kPerProducer;
constexpr std::uint32_t kBurst = 1024;

// Runs 4 producers × 100,000 pushes against one consumer that takes batches (FIFO or LIFO)
// until it has all 400,000 nodes, checking as it goes.
void run_concurrent(bool fifo) {
    std::vector<Node> nodes(kTotal);
    for (int p = 0; p < kProducers; ++p)
        for (std::uint32_t k = 0; k < kPerProducer; ++k) {
            Node& n = nodes[p * kPerProducer + k];
            n.producer = p;
            n.seq = k;
            n.id = p * kPerProducer + k;
        }
    Stack s;
    std::atomic<bool> go{false};
    std::atomic<long> was_empty_pushes{0};
    std::atomic<int> producers_done{0};
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p)
        producers.emplace_back([&, p] {
            while (!go.load()) std::this_thread::yield();
            long empties = 0;
            for (std::uint32_t k = 0; k < kPerProducer; ++k) {
                empties += s.push(&nodes[p * kPerProducer + k]);
                // Yield often so producers interleave even on few cores, and after each burst
                // wait for the consumer to drain the stack, which forces many batches.
                if (k % 32 == 31) std::this_thread::yield();
                if (k % kBurst == kBurst - 1)
                    while (!s.empty()) std::this_thread::yield();
            }
            was_empty_pushes.fetch_add(empties);
            producers_done.fetch_add(1, std::memory_order_release);
        });

    std::vector<std::uint8_t> seen(kTotal, 0);
    std::uint32_t received = 0, duplicates = 0, bad_ids = 0, order_errors = 0, cross_batch_errors = 0;
    long nonempty_batches = 0, batches_with_several_producers = 0;
    std::int64_t last_seq[kProducers];
    for (auto& l : last_seq) l = -1;
    go.store(true);
    for (;;) {
        // Read before taking: if all producers were done before an empty take, nothing more
        // can come, and a shortfall means lost nodes (fail rather than wait forever).
        const bool all_done = producers_done.load(std::memory_order_acquire) == kProducers;
        Node* batch = fifo ? s.take_all_fifo() : s.take_all();
        if (!batch) {
            if (all_done) break;
            std::this_thread::yield();  // let producers run (matters when cores are few)
            continue;
        }
        ++nonempty_batches;
        std::int64_t prev[kProducers];
        for (auto& v : prev) v = -1;
        std::int64_t batch_min[kProducers], batch_max[kProducers], count[kProducers];
        for (int p = 0; p < kProducers; ++p) batch_min[p] = INT64_MAX, batch_max[p] = -1, count[p] = 0;
        int producers_in_batch = 0;
        for (Node* n = batch; n; n = n->next) {
            if (n->id >= kTotal) {
                ++bad_ids;
                break;
            }
            if (seen[n->id]++) ++duplicates;
            ++received;
            const int p = n->producer;
            // Within a batch a producer's nodes appear in push order (FIFO) or its reverse (LIFO).
            if (prev[p] >= 0 && (fifo ? n->seq <= prev[p] : n->seq >= prev[p])) ++order_errors;
            prev[p] = n->seq;
            if (batch_max[p] < 0) ++producers_in_batch;
            batch_min[p] = std::min<std::int64_t>(batch_min[p], n->seq);
            batch_max[p] = std::max<std::int64_t>(batch_max[p], n->seq);
            ++count[p];
        }
        // Across batches too: everything a producer pushed earlier was taken in an earlier batch
        // or this one, and nothing in between is missing (the batch is a contiguous run).
        for (int p = 0; p < kProducers; ++p) {
            if (batch_max[p] < 0) continue;
            if (batch_min[p] != last_seq[p] + 1) ++cross_batch_errors;
            if (count[p] != batch_max[p] - last_seq[p]) ++cross_batch_errors;
            last_seq[p] = batch_max[p];
        }
        if (producers_in_batch > 1) ++batches_with_several_producers;
    }
    for (auto& t : producers) t.join();

    EXPECT_EQ(bad_ids, 0u);
    EXPECT_EQ(received, kTotal);
    EXPECT_EQ(duplicates, 0u);
    std::uint32_t missing = 0;
    for (std::uint8_t v : seen) missing += v != 1;
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(order_errors, 0u);
    EXPECT_EQ(cross_batch_errors, 0u);
    for (int p = 0; p < kProducers; ++p) EXPECT_EQ(last_seq[p], kPerProducer - 1);
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.take_all(), nullptr);
    // The stack went empty -> non-empty exactly once per non-empty batch taken, so the
    // "was empty" pushes (the wake-ups) match the batches one for one: none lost, none extra.
    EXPECT_EQ(was_empty_pushes.load(), nonempty_batches);
    // Each producer's bursts were taken in distinct batches, so there were at least this many.
    EXPECT_GE(nonempty_batches, static_cast<long>(kPerProducer / kBurst));
    testing::Test::RecordProperty("batches_with_several_producers", static_cast<int>(batches_with_several_producers));
}

// Every node pushed by 4 concurrent producers is received exactly once by a consumer calling
// take_all_fifo(), each producer's nodes in increasing sequence within and across batches.
TEST(TreiberStackThreads, FourProducersOneConsumerFifo) { run_concurrent(true); }

// The same with take_all(): each producer's nodes arrive in decreasing sequence within a batch.
TEST(TreiberStackThreads, FourProducersOneConsumerLifo) { run_concurrent(false); }

}  // namespace
