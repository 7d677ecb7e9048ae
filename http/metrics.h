// http/metrics.h — what the server counts, and GET /metrics: the counters in the Prometheus text
// exposition format (version 0.0.4).
//
// Every counter belongs to one worker, which alone writes it (rt::Counter: no lock, no locked
// instruction on the hot path); a scrape reads every worker's and sums them. Each family comes
// twice: the total (asyncnostd_…) and per worker (asyncnostd_worker_…{worker="N"}), so a sum()
// over one family never counts anything twice.
#pragma once

#include <cstdint>

#include "http/request_parser.h"
#include "runtime/atomic.h"
#include "runtime/format.h"

namespace http {

inline constexpr int kMethodKinds = 3;   // GET, HEAD, any other
inline constexpr int kStatusClasses = 5; // 1xx … 5xx

struct alignas(64) HttpStats {
    rt::Counter responses[kMethodKinds][kStatusClasses];
    rt::Counter body_bytes;  // response body bytes sent
    rt::Counter accepted;    // connections handed to this worker
};

// The calling worker's counters.
HttpStats& stats();

// Counts one response (from the access log's call site: every response passes there).
void count_response(const Request* req, int status, std::uint64_t body_bytes);

// Writes another layer's families (WebSocket) into a scrape.
using MetricsWriter = void (*)(rt::Writer& w);

// The bytes a scrape may need, for `workers` workers.
std::size_t metrics_capacity(int workers);

// Writes the whole exposition: HTTP and connection families, then `more`'s.
void write_metrics(rt::Writer& w, MetricsWriter more);

// For a layer writing its own families: a family asyncnostd_NAME with the sum of `values` (one
// per worker) and a family asyncnostd_worker_NAME with each, labelled worker="N".
void put_per_worker(rt::Writer& w, std::string_view name, std::string_view help, bool counter,
                    const std::uint64_t* values, int workers);

}  // namespace http
