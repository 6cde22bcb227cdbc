// Operational counters for GET /api/cloud/metrics/prometheus (lib/prometheus.h).
//
// A handler lives for a few hundred requests and the worker for days, and a
// scrape may reach any handler: so no count lives only in a process's memory.
// Each process adds to its own Counters (cheap: a mutex and a map) and
// writes the deltas into the database's `counters` table now and then
// (FlushCounters: the worker from its loop every second, a handler from a
// CounterFlushThread every second and when it exits); a scrape reads the
// sums there. A flush that
// fails keeps its deltas for the next one, so nothing is counted twice or lost
// while the database is busy; a process killed outright loses at most its
// last second.
//
// A series is a metric name and its labels, rendered once as Prometheus label
// text (`endpoint="get_prediction",outcome="ok"`, see Labels()). The names are
// the constants below, shared by the code that counts and the renderer.
//
// Thread-safety: Counters is thread-safe; ProcessCounters() is the one
// instance of a process (the provider client counts in it from whichever
// thread calls it). FlushCounters uses the store from the calling thread.
#ifndef JOBPULSE_LIB_COUNTERS_H_
#define JOBPULSE_LIB_COUNTERS_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "lib/status.h"

namespace jobpulse {

// Counter names (the `_total` of Prometheus counters included).
inline constexpr std::string_view kProviderRequestsTotal = "jobpulse_provider_requests_total";
inline constexpr std::string_view kDemandRefreshesTotal = "jobpulse_demand_refreshes_total";
inline constexpr std::string_view kWebhookDeliveriesTotal = "jobpulse_webhook_deliveries_total";
inline constexpr std::string_view kHandlerRecyclesTotal = "jobpulse_handler_recycles_total";
// A histogram: its series are <name>_bucket{le="..."}, <name>_sum, <name>_count.
inline constexpr std::string_view kPollCycleSeconds = "jobpulse_poll_cycle_duration_seconds";
// The poll cycle's bucket bounds, seconds (+Inf is implied).
inline constexpr double kPollCycleBuckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

// One series' value: a delta in a process, a sum in the database.
struct CounterValue {
  std::string name;
  std::string labels;  // Prometheus label text without braces; "" for none
  double value = 0;
};

// `name="value",...` with each value escaped as the Prometheus text format
// asks (backslash, double quote and newline), in the order given.
std::string Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels);

// A bound as Prometheus writes it in `le` ("0.25", "1", "+Inf").
std::string FormatBound(double bound);

class Counters {
 public:
  // Adds `delta` (>= 0; counters never go down) to the series.
  void Add(std::string_view name, std::string_view labels, double delta = 1);
  // One observation of a histogram with these bucket bounds (ascending): every
  // bucket whose bound is >= `value` and +Inf gain one, _sum gains `value`,
  // _count one.
  void Observe(std::string_view histogram, std::span<const double> bounds, double value);

  // The pending deltas (name, labels order); the counters start again from nothing.
  std::vector<CounterValue> Take();
  // Puts deltas that could not be written back, to be written next time.
  void Restore(const std::vector<CounterValue>& deltas);
  bool empty() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, double, std::less<>> pending_;
};

// The process's counters.
Counters& ProcessCounters();

// The database's side: the sums every process has written.
// Errors: as lib/job_store.h (kBusy, kUnavailable, kInternal).
class CounterStore {
 public:
  virtual ~CounterStore() = default;
  // Adds each delta to its series' sum, all in one transaction.
  virtual Status AddCounters(const std::vector<CounterValue>& deltas, int64_t now) = 0;
  // Every series' sum, by name and labels.
  virtual Result<std::vector<CounterValue>> ReadCounters() = 0;
};

// Writes `counters`' pending deltas to `store` (nothing to do: no write).
// On failure the deltas stay pending and the store's error is returned.
Status FlushCounters(Counters& counters, CounterStore& store, int64_t now);

// A thread that writes ProcessCounters() to the database once a second when
// something is pending, through a connection of its own (opened on first
// need; a failed open is tried again a second later), and once more when
// destroyed. For a process whose own thread may sit blocked (a FastCGI
// handler waiting in accept) while its counts wait; the worker flushes from
// its loop instead. Failures are logged, never thrown.
class CounterFlushThread {
 public:
  using Opener = std::function<Result<std::unique_ptr<CounterStore>>()>;
  using Clock = std::function<int64_t()>;  // microseconds
  CounterFlushThread(Opener open, Clock clock);
  ~CounterFlushThread();  // stops the thread, then writes what is left
  CounterFlushThread(const CounterFlushThread&) = delete;
  CounterFlushThread& operator=(const CounterFlushThread&) = delete;

 private:
  void Run();
  void FlushOnce();

  Opener open_;
  Clock clock_;
  std::unique_ptr<CounterStore> store_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_COUNTERS_H_
