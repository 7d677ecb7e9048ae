// http/metrics.cpp — see metrics.h.
#include "http/metrics.h"

#include "executor/worker.h"
#include "runtime/memory.h"

namespace http {

using namespace std::string_view_literals;

namespace {

HttpStats per_worker[ex::kMaxWorkers];

constexpr std::string_view kMethodNames[kMethodKinds] = {"GET", "HEAD", "other"};
constexpr std::string_view kClassNames[kStatusClasses] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

int method_kind(const Request* req) {
    if (req && req->method == "GET"sv) return 0;
    if (req && req->method == "HEAD"sv) return 1;
    return 2;  // other methods, and answers given before a request could be parsed
}

// The responses of one method and class: of `worker`, or of all when worker < 0.
std::uint64_t responses(int workers, int worker, int method, int cls) {
    std::uint64_t n = 0;
    for (int i = worker < 0 ? 0 : worker; i < (worker < 0 ? workers : worker + 1); ++i)
        n += per_worker[i].responses[method][cls].get();
    return n;
}

}  // namespace

HttpStats& stats() { return per_worker[ex::this_worker().index]; }

void count_response(const Request* req, int status, std::uint64_t body_bytes) {
    HttpStats& s = stats();
    const int cls = status >= 100 && status < 600 ? status / 100 - 1 : 4;
    s.responses[method_kind(req)][cls].add();
    s.body_bytes.add(body_bytes);
}

std::size_t metrics_capacity(int workers) { return 4096 + static_cast<std::size_t>(workers + 1) * 3072; }

void put_per_worker(rt::Writer& w, std::string_view name, std::string_view help, bool counter,
                    const std::uint64_t* values, int workers) {
    std::uint64_t total = 0;
    for (int i = 0; i < workers; ++i) total += values[i];
    for (int per = 0; per < 2; ++per) {
        const std::string_view prefix = per ? "asyncnostd_worker_" : "asyncnostd_";
        w.put("# HELP ").put(prefix).put(name).put(' ').put(help).put("\n# TYPE ").put(prefix).put(name);
        w.put(counter ? " counter\n" : " gauge\n");
        for (int i = per ? 0 : -1; i < (per ? workers : 0); ++i) {
            w.put(prefix).put(name);
            if (per) w.put("{worker=\"").put_int(i).put("\"}");
            w.put(' ').put_uint(per ? values[i] : total).put('\n');
        }
    }
}

void write_metrics(rt::Writer& w, MetricsWriter more) {
    int workers;
    ex::Worker* all = ex::workers(workers);
    // Requests by method and status class.
    for (int per = 0; per < 2; ++per) {
        const std::string_view name = per ? "asyncnostd_worker_http_requests_total" : "asyncnostd_http_requests_total";
        w.put("# HELP ").put(name).put(" HTTP responses sent, by request method and status class.\n# TYPE ").put(name).put(" counter\n");
        for (int worker = per ? 0 : -1; worker < (per ? workers : 0); ++worker)
            for (int m = 0; m < kMethodKinds; ++m)
                for (int c = 0; c < kStatusClasses; ++c) {
                    w.put(name).put('{');
                    if (per) w.put("worker=\"").put_int(worker).put("\",");
                    w.put("method=\"").put(kMethodNames[m]).put("\",class=\"").put(kClassNames[c]).put("\"} ");
                    w.put_uint(responses(workers, worker, m, c)).put('\n');
                }
    }
    // One value per worker: body bytes, connections accepted, connections open.
    std::uint64_t values[ex::kMaxWorkers];
    for (int i = 0; i < workers; ++i) values[i] = per_worker[i].body_bytes.get();
    put_per_worker(w, "http_response_bytes_total", "Response body bytes sent.", true, values, workers);
    for (int i = 0; i < workers; ++i) values[i] = per_worker[i].accepted.get();
    put_per_worker(w, "connections_accepted_total", "Connections accepted.", true, values, workers);
    for (int i = 0; i < workers; ++i) values[i] = static_cast<std::uint64_t>(__atomic_load_n(&all[i].open_connections, __ATOMIC_RELAXED));
    put_per_worker(w, "connections_open", "Connections open now, HTTP and WebSocket.", false, values, workers);
    // The heap's high-water mark: slabs are reused, never given back, so this only grows.
    w.put("# HELP asyncnostd_heap_arena_bytes Bytes of the heap's reservation taken so far (a high-water mark).\n"
          "# TYPE asyncnostd_heap_arena_bytes gauge\nasyncnostd_heap_arena_bytes ")
        .put_uint(rt::arena_used_bytes()).put('\n');
    if (more) more(w);
}

}  // namespace http
