// runtime/treiber_stack.h — an intrusive lock-free stack (Treiber, 1986) for many producers and
// one consumer.
//
// Any thread may push(); only the owning thread takes, and it always takes *everything* with one
// atomic exchange. That is what makes it ABA-free: the classic ABA failure needs a pop that reads
// head, then head->next, then CASes head — if head was popped, freed and pushed again in between,
// the CAS succeeds with a stale next. Here nothing ever reads a node's next while the node is on
// the stack except its own pusher, so a stale next can never be installed.
//
// Node must have a `Node* next` member. The stack does not own nodes.
#pragma once

#include "runtime/atomic.h"

namespace rt {

template <class Node>
class TreiberStack {
public:
    // Pushes from any thread. Returns true if the stack was empty, so a producer knows whether
    // the consumer may be asleep and needs a wake-up.
    bool push(Node* node) {
        // relaxed load: the value is only a guess that the CAS below verifies.
        Node* head = head_.load(relaxed);
        do {
            node->next = head;
            // release: the node's contents (and next) happen-before the consumer's acquire in
            // take_all(). On failure, `head` is reloaded and we retry.
        } while (!head_.compare_exchange_weak(head, node, release,
                                              relaxed));
        return head == nullptr;
    }

    // Takes every node, newest first. Consumer only.
    Node* take_all() {
        // acquire pairs with push's release: every node we get is fully written.
        return head_.exchange(nullptr, acquire);
    }

    // Takes every node, oldest first.
    Node* take_all_fifo() { return reverse(take_all()); }

    bool empty() const { return head_.load(relaxed) == nullptr; }

    static Node* reverse(Node* list) {
        Node* out = nullptr;
        while (list) {
            Node* next = list->next;
            list->next = out;
            out = list;
            list = next;
        }
        return out;
    }

private:
    Atomic<Node*> head_{nullptr};
};

}  // namespace rt
