// The long-running worker (SPEC §1, §6, §7, §8, §12): it keeps jobs current
// without any client asking, applies webhook deliveries, dispatches the
// submission queue, and feeds the SSE server.
// worker/main.cc is a thin shell around Worker::Run. See worker.cc for the
// design (where work comes from, ordering, retries, shutdown, visibility).
//
// Thread-safety: Run() and RunOnce() on one thread; RequestStop() from any
// thread or a signal handler (it only writes to a pipe).
#ifndef JOBPULSE_LIB_WORKER_H_
#define JOBPULSE_LIB_WORKER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "lib/config.h"
#include "lib/cost.h"
#include "lib/delivery_intake.h"
#include "lib/dispatcher.h"
#include "lib/notify.h"
#include "lib/poller.h"
#include "lib/provider.h"
#include "lib/provider_registry.h"
#include "lib/sse_server.h"
#include "lib/status.h"
#include "lib/store.h"

namespace jobpulse {

struct WorkerOptions {
  std::string events_socket;  // SSE unix socket; empty = no SSE server
  std::string poke_socket;    // datagram socket handlers poke
  bool serve_events = true;
  // Store the handlers' webhook deliveries in batches (lib/delivery_intake.h);
  // false for `--once`.
  bool take_deliveries = true;
  // Keep retrying a database that cannot be opened (the service); false for
  // `--once`, which a cron job runs and should fail at once.
  bool wait_for_database = true;
};

// The default socket paths: next to the database file.
std::string DefaultEventsSocket(const std::string& database_path);

class Worker {
 public:
  // The providers and prices of ProviderRegistry::FromConfig(config).
  Worker(Config config, WorkerOptions options);
  // These providers and prices instead (tests: fake providers). Nothing is
  // opened before Start().
  Worker(Config config, WorkerOptions options, ProviderRegistry providers);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens the store (one connection for the whole run; while the database
  // cannot be opened it retries with backoff up to 30 s, until it can or
  // RequestStop() is called), the poke socket and the SSE server, and logs the
  // polling decision. Errors: kUnavailable (also when stopped while waiting).
  Status Start();
  // Loops until RequestStop(); finishes the step in progress, then closes.
  // Failures inside a step are logged and retried at the next one.
  void Run();
  // One poll cycle (whatever the polling decision), one inbox pass and one
  // queue pass (whatever background.queue_processing says); failures are
  // logged, as in Run().
  void RunOnce();
  // Async-signal-safe.
  void RequestStop();

 private:
  struct Cycle {
    int jobs = 0;
    int refreshed = 0;
    int failed = 0;
  };
  // Fetches `jobs` (active cloud jobs of one provider), max_concurrent_requests
  // at a time, honouring the provider's pause and circuit.
  Cycle FetchJobs(Provider& provider, const std::vector<Job>& jobs);
  // Stores one fetched run (or its failure: backoff, pause, circuit) into
  // `cycle`'s counts; true when the store changed.
  bool StoreFetched(Provider& provider, ProviderCircuit& circuit, const Job& job,
                    Result<Observation>& run, Cycle* cycle);
  Cycle PollCycle();
  // These two return true when they wrote.
  bool DemandRefresh();
  void SafetyNet();
  bool InboxPass();
  void PruneInbox();
  void IndexSearch();
  void CheckpointWal();
  void Housekeeping();
  void Heartbeat();
  // The queue loop (lib/worker_queue.cc): a pass when something may have
  // changed (`poked`: a handler's write, or one of ours) or the interval is
  // up, or when a caller asked for one (POST /api/queue/process); then the
  // queue_changed event.
  void QueueStep(bool poked);
  // How long the loop may sleep before a pass QueueStep put off is due.
  int64_t QueueWakeIn(int64_t now) const;
  int QueuePass();
  void AnnounceQueue();
  void WriteStatus(const std::string& last_error);
  // The counters this process counted, and the event stream's client count,
  // into the database (lib/worker_metrics.cc): every second, or now when
  // `now_please` (stopping, --once).
  void FlushMetrics(bool now_please);
  int64_t Now() const;
  Status OpenStoreUntilStopped();
  // Leadership and wake-ups across machines (lib/worker_lead.cc).
  // True while this worker leads (Store::TryLead): only the leader polls,
  // runs the safety net, the demand refreshes, the queue loop and the
  // housekeeping; every worker applies the inbox and serves events. On taking
  // the lead it recovers the queue's interrupted dispatches and polls at once.
  bool Lead();
  // The work channel's feed (PostgreSQL): true when it announced a change.
  // A broken feed is reopened at most once a second; until then the loop's
  // one-second wake-up stands in for it.
  bool DrainWorkFeed();
  int WorkFeedFd() const;

  Config config_;
  WorkerOptions options_;
  ProviderRegistry providers_;
  PollingDecision polling_;
  std::unique_ptr<Store> store_;
  std::map<std::string, ProviderCircuit> circuits_;
  PokeListener poke_;
  std::unique_ptr<SseServer> sse_;
  std::unique_ptr<IntakeServer> intake_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<ChangeFeed> work_feed_;  // null: SQLite, or reopening
  int64_t work_feed_retry_at_ = 0;
  bool leading_ = false;
  std::mt19937_64 rng_;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stop_{false};

  int64_t next_poll_at_ = 0;
  int64_t next_safety_net_at_ = 0;
  int64_t next_housekeeping_at_ = 0;
  int64_t last_checkpoint_at_ = 0;
  int64_t last_search_index_at_ = 0;
  int64_t last_cycle_at_ = 0;
  int64_t last_heartbeat_at_ = 0;
  int64_t last_inbox_prune_at_ = 0;
  int64_t last_metrics_flush_at_ = 0;
  int64_t sse_clients_written_ = -1;  // what the database has; -1: nothing yet
  bool inbox_applied_since_prune_ = false;
  bool inbox_backlog_ = false;  // the last inbox pass took a full batch
  int last_cycle_jobs_ = 0;
  static constexpr int64_t kQueuePassGap = 20000;  // microseconds
  int64_t next_queue_pass_at_ = 0;
  int64_t last_queue_pass_at_ = 0;
  bool queue_poked_ = false;  // a pass is owed since the last one
  int64_t served_queue_ticket_ = 0;
  // The queue_changed event: what was last announced, and when.
  QueueLoad announced_load_;
  int64_t last_queue_announce_at_ = 0;
  bool queue_announce_due_ = false;
  std::string last_error_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_WORKER_H_
