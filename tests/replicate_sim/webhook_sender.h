// Replicate's webhooks for runs that have a `webhook` URL (replicate.md §4),
// sent by background threads: a change to a run (by the runner, the control API
// or a /v1 cancel) queues a delivery of the run's full object here, and a worker
// POSTs it, signed like /_sim/runs/{id}/webhook, outside every request handler
// and without the state lock.
//
// Per run: the non-terminal events (start, output, logs) are throttled to one
// delivery per 500 ms and coalesce while they wait (the newest object wins); the
// terminal one (completed) replaces anything still waiting, is sent at once and
// is the only one retried, on a non-2xx answer or a transport error, with the
// same webhook-id: up to kMaxAttempts attempts, kFirstRetryMs apart and then
// doubling. One delivery per run is in flight at a time, so a receiver sees a
// run's deliveries in order.
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_WEBHOOK_SENDER_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_WEBHOOK_SENDER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/replicate_sim/model.h"
#include "tests/replicate_sim/webhook.h"

namespace replicate_sim {

// What webhook_events_filter may name, and what a run without one gets.
inline constexpr const char* kWebhookEvents[] = {"start", "output", "logs", "completed"};

struct WebhookStats {
  uint64_t sent = 0;     // attempts answered 2xx
  uint64_t failed = 0;   // attempts answered otherwise, or not at all
  uint64_t retried = 0;  // attempts after the first (terminal deliveries only)
  uint64_t dropped = 0;  // deliveries not sent: the URL is not a loopback one
};

// One attempt, for GET /_sim/webhooks.
struct DeliveryRecord {
  std::string run_id;
  std::string event;
  long status = 0;  // the receiver's HTTP status; 0 when it did not answer
  int attempt = 1;
  std::string webhook_id;
  std::string error;  // curl's message when status is 0
};

class WebhookSender {
 public:
  static constexpr int kMaxAttempts = 5;
  static constexpr int kFirstRetryMs = 200;
  static constexpr int kThrottleMs = 500;
  static constexpr long kTimeoutMs = 5000;
  static constexpr size_t kLogSize = 1000;

  WebhookSender() = default;
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  void Start(int threads);
  // Stops the workers, abandoning deliveries in flight, and waits up to
  // `grace_ms` for them. False when some are still running (the caller must
  // then leave without destroying this object).
  bool Stop(int grace_ms);

  // Queues `payload` (the run's JSON object) for `url` after the run went
  // through `events` (already filtered, most recent change). Counts a
  // non-loopback URL as dropped instead.
  void Enqueue(const std::string& run_id, const std::string& url, const std::string& secret,
               const std::vector<std::string>& events, std::string payload);

  WebhookStats stats();
  std::vector<DeliveryRecord> log();  // oldest first, the newest kLogSize
  void ClearLog();
  void ResetStats();
  // Forgets everything queued, the log and the counts; a delivery in flight
  // finishes but is neither logged nor retried.
  void Reset();

 private:
  using Clock = std::chrono::steady_clock;
  struct Item {
    std::string run_id;
    std::string event;
    std::string url;
    std::string secret;
    std::string payload;
    std::string webhook_id;
    int attempt = 1;
    Clock::time_point due;
  };
  struct RunQueue {
    std::optional<Item> pending;   // non-terminal, coalesced
    std::optional<Item> terminal;  // "completed", maybe waiting for a retry
    Clock::time_point last_sent;   // of the last non-terminal delivery
    bool in_flight = false;
  };

  void Work();
  // Under mu_: takes the next due item, or sets *wake to when one falls due.
  bool TakeDue(Item* item, Clock::time_point* wake);
  void Finish(Item item, const DeliveryResult& result, uint64_t generation);  // under mu_
  DeliveryResult Deliver(const Item& item);

  std::mutex mu_;
  std::condition_variable cv_;    // work queued, or stopping
  std::condition_variable done_;  // a worker left
  std::map<std::string, RunQueue> queues_;
  std::deque<DeliveryRecord> log_;
  WebhookStats stats_;
  uint64_t generation_ = 0;  // bumped by Reset()
  bool stop_ = false;
  int running_ = 0;  // workers not yet returned
  std::vector<std::thread> threads_;
  std::atomic<bool> cancel_{false};  // aborts transfers in flight on Stop()
};

// What the events watch, taken before a change.
struct RunDigest {
  std::string status;
  size_t logs_size = 0;
  std::optional<std::string> output_json;
};
RunDigest Digest(const Run& run);

struct SimState;
// Queues the webhook deliveries for `run`'s change since `before`: start when
// it turned processing, output when its output changed, logs when its logs
// grew, completed when it turned terminal; only the events of its filter. No-op
// for a run without a webhook. Caller holds state.mu.
void NotifyChange(SimState& state, const RunDigest& before, const Run& run);

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_WEBHOOK_SENDER_H_
