// The worker's loop. (About 500 lines: the loop and its steps; the queue,
// metrics and leadership steps already live in worker_queue.cc,
// worker_metrics.cc and worker_lead.cc.)
//
// Where work comes from. Everything the worker does is found in the database,
// so nothing is lost when it restarts:
//  - the poll cycle: every active cloud job, every interval, when polling is
//    on (SPEC §6); jobs in backoff (next_poll_at in the future) wait;
//  - demand: running jobs someone watches (progress_wanted_at in the last
//    30 s) whose cache is older than inline_progress.max_age_seconds;
//  - the webhook inbox: deliveries the handlers stored and acknowledged;
//  - the safety net, when polling is off: active jobs not heard of for 10 min
//    (Replicate never retries non-terminal webhooks);
//  - the submission queue: waiting entries to dispatch when a slot is free
//    (lib/dispatcher.h, lib/worker_queue.cc);
//  - jobs written since the last round, whose search rows it writes.
// Handlers poke a datagram socket after storing a delivery or demand; the
// loop also wakes at least every second, so a lost poke only delays.
//
// Ordering. One thread does it all, in this order per wake-up: heartbeat,
// inbox, demand, poll or safety net, the queue, the search index, pruning,
// the WAL checkpoint, housekeeping. Provider calls happen
// outside any transaction; each result is merged through Store::Apply (one
// BEGIN IMMEDIATE transaction per job), and the SSE server is notified after
// writes. The SSE server runs on its own thread with its own connection.
//
// Retries. A job whose fetch fails backs off exponentially with jitter (cap 10
// min); five consecutive failures open the provider's circuit for 30 s; a 429
// pauses every call to that provider until its Retry-After. A delivery that
// cannot be applied is retried three times, then rejected with its error.
//
// Shutdown. SIGTERM requests a stop; the step in progress finishes (a poll
// chunk is bounded by the request timeouts), then the SSE server and the
// sockets close. supervisord restarts the worker if it dies.
//
// Visibility. The startup line "job status polling: ..."; a heartbeat row
// that GET /api/cloud/health reads; a poller_status row (last cycle, jobs,
// last error) behind GET /api/cloud/polling/status; the circuit state; log
// lines on stderr for every failure.
#include "lib/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "lib/counters.h"
#include "lib/heartbeat.h"
#include "lib/http_client.h"
#include "lib/log.h"
#include "lib/provider_sync.h"
#include "lib/timestamp.h"
#include "lib/webhook_inbox.h"

namespace jobpulse {
namespace {

// The heartbeat is written at least every second; declaring a 10 s cycle
// keeps the worker "live" through a long poll chunk.
constexpr int kHeartbeatCycleSeconds = 10;
constexpr int64_t kDemandWindow = 30 * kMicrosPerSecond;
constexpr int64_t kSafetyNetAge = 600 * kMicrosPerSecond;
constexpr int64_t kSafetyNetEvery = 60 * kMicrosPerSecond;
constexpr int64_t kHousekeepingEvery = 60 * kMicrosPerSecond;
// The time a poll cycle may take per max_concurrent_requests jobs.
constexpr long kChunkBudgetMs = 20000;
// Deliveries applied per transaction: the webhook intake's commits wait behind
// each one, and with 500 the handlers waited on it (B5 at pool 8: 4,924/s
// with 500, 5,593/s with 64).
constexpr int kInboxBatch = 64;
constexpr int64_t kInboxRowRetention = 7 * 86400 * kMicrosPerSecond;
constexpr int64_t kInboxPruneDuringFlood = 5 * kMicrosPerSecond;
constexpr int64_t kCheckpointEvery = kMicrosPerSecond / 10;
constexpr int64_t kSearchIndexEvery = kMicrosPerSecond / 10;
constexpr int kSearchIndexBatch = 1000;
// How long the worker's checkpoint may hold other writers back while it waits
// for readers to leave the log (they take microseconds each).
constexpr int kCheckpointMaxWaitMs = 50;
// Opening the database at start: never give up (supervisord would mark a
// worker that exits quickly FATAL and leave it down after the disk is back),
// but back off so a broken disk is not hammered.
constexpr int64_t kOpenRetryFirst = kMicrosPerSecond;
constexpr int64_t kOpenRetryMax = 30 * kMicrosPerSecond;

}  // namespace

std::string DefaultEventsSocket(const std::string& database_path) {
  const auto dir = std::filesystem::path(database_path).parent_path();
  return (dir.empty() ? std::filesystem::path(".") : dir).string() + "/events.sock";
}

Worker::Worker(Config config, WorkerOptions options)
    : Worker(config, std::move(options), ProviderRegistry::FromConfig(config)) {}

Worker::Worker(Config config, WorkerOptions options, ProviderRegistry providers)
    : config_(std::move(config)),
      options_(std::move(options)),
      providers_(std::move(providers)),
      rng_(std::random_device{}()) {
  polling_ = DecidePolling(config_);
  for (const auto& entry : providers_.providers()) circuits_[entry.first] = ProviderCircuit();
}

Worker::~Worker() {
  if (intake_) intake_->Stop();
  if (sse_) sse_->Stop();
  for (int fd : stop_pipe_) {
    if (fd >= 0) close(fd);
  }
}

int64_t Worker::Now() const { return NowMicros(); }

void Worker::RequestStop() {
  stop_ = true;
  if (stop_pipe_[1] >= 0) {
    const char byte = 1;
    const ssize_t n = write(stop_pipe_[1], &byte, 1);
    (void)n;  // a full pipe already holds a wake-up
  }
}

Status Worker::Start() {
  if (pipe2(stop_pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
    return Status::Error(Status::Code::kUnavailable, "worker_unavailable", "pipe failed");
  }
  if (Status s = OpenStoreUntilStopped(); !s.ok()) return s;
  if (Status s = poke_.Open(options_.poke_socket); !s.ok()) return s;
  LogInfo(DescribePolling(polling_));
  dispatcher_ = std::make_unique<Dispatcher>(*store_, providers_, DispatchSettingsFrom(config_),
                                             [this] { return Now(); });
  LogInfo(DescribeQueueProcessing(config_));
  DrainWorkFeed();  // opens it
  Lead();           // the leader recovers the queue's interrupted dispatches
  if (options_.serve_events && !options_.events_socket.empty()) {
    SseOptions sse;
    sse.socket_path = options_.events_socket;
    sse.socket_mode = config_.sse_socket_mode.value == "0660" ? 0660 : 0600;
    sse.database_path = config_.database_path.value;
    sse.database_url = config_.database_url.value.value_or("");
    sse.max_connections = config_.sse_max_connections.value;
    sse.max_per_ip = config_.sse_max_connections_per_ip.value;
    sse.heartbeat_seconds = config_.sse_heartbeat_seconds.value;
    sse.api_token = config_.api_token.value;  // SPEC §11
    sse_ = std::make_unique<SseServer>(sse);
    if (Status s = sse_->Start(); !s.ok()) return s;
    LogInfo("serving events on " + options_.events_socket);
  }
  if (options_.take_deliveries) {
    // Not fatal: without the intake every handler stores its deliveries itself.
    const std::string& db = config_.database_path.value;
    intake_ = std::make_unique<IntakeServer>(IntakeSocketPath(db), db,
                                             config_.database_url.value.value_or(""),
                                             [poke = options_.poke_socket] { PokeWorker(poke); });
    if (Status s = intake_->Start(); !s.ok()) {
      LogWarning("webhook intake off, handlers store deliveries themselves: " + s.ToString());
      intake_.reset();
    }
  }
  const int64_t now = Now();
  next_poll_at_ = now;
  next_safety_net_at_ = now + kSafetyNetEvery;
  next_housekeeping_at_ = now;
  Heartbeat();
  WriteStatus("");
  return Status::Ok();
}

Status Worker::OpenStoreUntilStopped() {
  int64_t wait = kOpenRetryFirst;
  for (;;) {
    auto store = Store::Open(config_);
    if (store.ok()) {
      store_ = std::move(store.value());
      return Status::Ok();
    }
    if (!options_.wait_for_database) return store.status();
    LogError("cannot open the database, retrying in " + std::to_string(wait / kMicrosPerSecond) +
             " s: " + store.status().ToString());
    pollfd stop{stop_pipe_[0], POLLIN, 0};
    ::poll(&stop, 1, static_cast<int>(wait / 1000));
    if (stop_) return store.status();
    wait = std::min(kOpenRetryMax, wait * 2);
  }
}

void Worker::Run() {
  while (!stop_) {
    pollfd fds[3] = {
        {poke_.fd(), POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}, {WorkFeedFd(), POLLIN, 0}};
    const int64_t now = Now();
    int64_t wait = kMicrosPerSecond;
    if (polling_.enabled && leading_) {
      wait = std::min(wait, std::max<int64_t>(0, next_poll_at_ - now));
    }
    if (leading_) wait = std::min(wait, QueueWakeIn(now));  // a queue pass put off for its gap
    if (inbox_backlog_) wait = 0;  // a full batch was applied: more may be waiting
    ::poll(fds, fds[2].fd >= 0 ? 3 : 2, static_cast<int>((wait + 999) / 1000));
    if (stop_) break;
    // A poke means a handler wrote something (a delivery, demand, a sync, a
    // submission): its events can go out now rather than at the SSE server's
    // next poll, and a queue pass may have work. On PostgreSQL the work
    // channel says the same for every machine's handlers.
    bool poked = poke_.Drain();
    poked |= DrainWorkFeed();
    if (poked && sse_) sse_->Notify();
    Heartbeat();
    poked |= InboxPass();
    if (Lead()) {
      poked |= DemandRefresh();
      if (polling_.enabled) {
        if (Now() >= next_poll_at_) {
          next_poll_at_ = Now() + int64_t{polling_.interval_seconds} * kMicrosPerSecond;
          poked |= PollCycle().refreshed > 0;
        }
      } else if (Now() >= next_safety_net_at_) {
        next_safety_net_at_ = Now() + kSafetyNetEvery;
        SafetyNet();
        poked = true;
      }
      QueueStep(poked);
      IndexSearch();
      PruneInbox();
      Housekeeping();
    }
    CheckpointWal();
    FlushMetrics(false);
  }
  LogInfo("worker stopping");
  if (sse_) sse_->Stop();
  FlushMetrics(true);
}

void Worker::RunOnce() {
  InboxPass();
  if (!Lead()) {
    LogInfo("another worker leads: it polls and runs the queue; nothing more to do");
    FlushMetrics(true);
    return;
  }
  const Cycle cycle = PollCycle();
  LogInfo("one poll cycle: " + std::to_string(cycle.jobs) + " active jobs, " +
          std::to_string(cycle.refreshed) + " refreshed, " + std::to_string(cycle.failed) +
          " failed");
  const int dispatched = QueuePass();
  LogInfo("one queue pass: " + std::to_string(dispatched) + " dispatched");
  AnnounceQueue();
  IndexSearch();
  FlushMetrics(true);
}

void Worker::Heartbeat() {
  // At most once a second: under a burst of pokes this would be a write each.
  const int64_t now = Now();
  if (now - last_heartbeat_at_ < kMicrosPerSecond) return;
  last_heartbeat_at_ = now;
  if (Status s = WriteWorkerHeartbeat(*store_, kHeartbeatCycleSeconds, now); !s.ok()) {
    LogWarning("heartbeat: " + s.ToString());
  }
}

void Worker::WriteStatus(const std::string& last_error) {
  PollerStatusRecord record;
  if (last_cycle_at_) record.last_cycle_at = FormatTimestamp(last_cycle_at_);
  record.last_cycle_jobs = last_cycle_jobs_;
  if (!last_error.empty()) record.last_error = last_error;
  if (Status s = WritePollerStatus(*store_, record, Now()); !s.ok()) {
    LogWarning("poller status: " + s.ToString());
  }
  for (const auto& [name, circuit] : circuits_) {
    if (Status s = WriteCircuitState(*store_, name, circuit.open(Now()), Now()); !s.ok()) {
      LogWarning("circuit state: " + s.ToString());
    }
  }
}

Worker::Cycle Worker::FetchJobs(Provider& provider, const std::vector<Job>& jobs) {
  Cycle cycle;
  cycle.jobs = static_cast<int>(jobs.size());
  ProviderCircuit& circuit = circuits_[provider.name()];
  if (!provider.configured()) return cycle;
  const int parallel = std::max(1, config_.replicate.max_concurrent_requests.value);
  std::vector<std::string> ids;
  ids.reserve(jobs.size());
  for (const Job& job : jobs) ids.push_back(*job.external_id);
  // A sliding window of `parallel` requests: each answer is stored while the
  // others wait at the provider, so the store's time hides in their latency.
  const long rounds = static_cast<long>((jobs.size() + parallel - 1) / parallel);
  bool wrote = false;
  provider.GetEach(
      ids, parallel, kChunkBudgetMs * rounds,
      [&] { return !stop_ && circuit.AllowsCalls(Now()); },  // paused or open: the rest waits
      [&](size_t index, Result<Observation> run) {
        if (StoreFetched(provider, circuit, jobs[index], run, &cycle)) wrote = true;
      });
  if (wrote && sse_) sse_->Notify();
  return cycle;
}

bool Worker::StoreFetched(Provider& provider, ProviderCircuit& circuit, const Job& job,
                          Result<Observation>& run, Cycle* cycle) {
  if (run.ok()) {
    circuit.RecordSuccess();
    Observation obs = std::move(*run);
    obs.job_id = job.job_id;
    obs.fetched = true;
    auto outcome = store_->Apply(obs, providers_.prices(), Now());
    if (!outcome.ok()) {
      ++cycle->failed;
      last_error_ = outcome.status().ToString();
      LogWarning("job " + job.job_id + ": " + last_error_);
      return false;
    }
    ++cycle->refreshed;
    if (outcome->unknown_status) {
      LogWarning("job " + job.job_id + ": unknown " + provider.name() + " status '" +
                 *outcome->unknown_status + "' ignored");
    }
    return true;
  }
  const Status& error = run.status();
  if (IsNotReached(error)) return false;  // budget spent or paused; next cycle
  if (error.code() == Status::Code::kNotFound) {
    // An answer, not a failure: no backoff and no circuit, so a lost run
    // is counted at the poll interval until the rule of SPEC §4 ends it.
    circuit.RecordSuccess();
    auto lost = ApplyNotFound(*store_, job, providers_.prices(), Now());
    if (!lost.ok()) LogWarning("job " + job.job_id + ": " + lost.status().ToString());
    return lost.ok();
  }
  ++cycle->failed;
  last_error_ = error.ToString();
  if (error.code() == Status::Code::kRateLimited) {
    circuit.PauseFor(error.retry_after_seconds(), Now());
    LogWarning(provider.display_name() + " rate limited us; pausing " +
               std::to_string(error.retry_after_seconds()) + " s");
    return false;
  }
  const int failures = job.poll_failures + 1;
  const int64_t backoff = PollBackoffMicros(failures, polling_.interval_seconds, rng_);
  if (Status s = store_->RecordPollFailure(job.job_id, failures, Now() + backoff); !s.ok()) {
    LogWarning("backoff of " + job.job_id + ": " + s.ToString());
  }
  LogWarning("job " + job.job_id + ": " + error.ToString() + " (failure " +
             std::to_string(failures) + ", next try in " +
             std::to_string(backoff / kMicrosPerSecond) + " s)");
  if (circuit.RecordFailure(Now())) {
    LogWarning(provider.display_name() + " circuit open for 30 s after repeated failures");
  }
  return false;
}

Worker::Cycle Worker::PollCycle() {
  Cycle total;
  last_error_.clear();
  const int64_t now = Now();
  for (auto& [name, provider] : providers_.providers()) {
    auto jobs = store_->ListActiveJobs(name);
    if (!jobs.ok()) {
      last_error_ = jobs.status().ToString();
      LogWarning("poll cycle: " + last_error_);
      continue;
    }
    std::vector<Job> due;
    for (Job& job : *jobs) {
      if (!job.next_poll_at || *job.next_poll_at <= now) due.push_back(std::move(job));
    }
    const Cycle cycle = FetchJobs(*provider, due);
    total.jobs += static_cast<int>(jobs->size());
    total.refreshed += cycle.refreshed;
    total.failed += cycle.failed;
  }
  last_cycle_at_ = Now();
  last_cycle_jobs_ = total.jobs;
  ProcessCounters().Observe(kPollCycleSeconds, kPollCycleBuckets,
                            static_cast<double>(last_cycle_at_ - now) / kMicrosPerSecond);
  WriteStatus(last_error_);
  return total;
}

bool Worker::DemandRefresh() {
  const int64_t now = Now();
  const int64_t max_age = int64_t{config_.inline_progress_max_age_seconds.value} * kMicrosPerSecond;
  auto watched = store_->ListWatchedJobs(now - kDemandWindow);
  if (!watched.ok()) {
    LogWarning("demand refresh: " + watched.status().ToString());
    return false;
  }
  std::map<std::string, std::vector<Job>> wanted;
  for (Job& job : *watched) {
    const bool stale = !job.logs_fetched_at || now - *job.logs_fetched_at >= max_age;
    const bool backing_off = job.next_poll_at && *job.next_poll_at > now;
    if (stale && !backing_off && job.provider) wanted[*job.provider].push_back(std::move(job));
  }
  int refreshed = 0;
  for (auto& [name, jobs] : wanted) {
    if (Provider* provider = providers_.Find(name))
      refreshed += FetchJobs(*provider, jobs).refreshed;
  }
  ProcessCounters().Add(kDemandRefreshesTotal, Labels({{"by", "worker"}}), refreshed);
  return refreshed > 0;
}

void Worker::SafetyNet() {
  const int64_t now = Now();
  for (auto& [name, provider] : providers_.providers()) {
    auto jobs = store_->ListActiveJobs(name);
    if (!jobs.ok()) continue;
    std::vector<Job> quiet;
    for (Job& job : *jobs) {
      const int64_t heard = std::max(job.updated_at, job.logs_fetched_at.value_or(0));
      if (now - heard >= kSafetyNetAge) quiet.push_back(std::move(job));
    }
    if (!quiet.empty()) {
      LogInfo("safety net: reconciling " + std::to_string(quiet.size()) +
              " active jobs not heard of for 10 minutes");
      FetchJobs(*provider, quiet);
    }
  }
}

bool Worker::InboxPass() {
  auto report = ApplyPendingDeliveries(
      *store_, providers_.prices(), [this] { return Now(); }, kInboxBatch);
  if (!report.ok()) {
    inbox_backlog_ = false;  // the next try waits for the loop's wake-up
    LogWarning("webhook inbox: " + report.status().ToString());
    // The pass may have applied part of its batch before failing: prune as
    // soon as during a flood, or those bodies wait for the hourly round.
    inbox_applied_since_prune_ = true;
    return true;
  }
  // Nothing wakes the loop for deliveries stored during a flood that has
  // stopped: without this it would apply one batch a second.
  inbox_backlog_ = report->applied + report->failed >= kInboxBatch;
  if (report->applied > 0) {
    inbox_applied_since_prune_ = true;
    if (sse_) sse_->Notify();
  }
  return report->applied > 0;
}

// SPEC §7: bodies of applied deliveries go after webhooks.retention_hours,
// rows (and their ids' dedupe) after 7 days, so a webhook flood cannot fill
// the disk. Every minute, and every few seconds while deliveries pour in.
void Worker::PruneInbox() {
  const int64_t now = Now();
  const int64_t every = inbox_applied_since_prune_ ? kInboxPruneDuringFlood : kHousekeepingEvery;
  if (now < last_inbox_prune_at_ + every) return;
  last_inbox_prune_at_ = now;
  inbox_applied_since_prune_ = false;
  const int64_t bodies_before =
      now - int64_t{config_.webhooks_retention_hours.value} * 3600 * kMicrosPerSecond;
  auto pruned = store_->PruneDeliveries(bodies_before, now - kInboxRowRetention);
  if (!pruned.ok()) {
    LogWarning("webhook inbox pruning: " + pruned.status().ToString());
    inbox_applied_since_prune_ = true;  // try again in a few seconds, not a minute
  } else if (*pruned > 0) {
    LogInfo("pruned " + std::to_string(*pruned) + " webhook deliveries");
  }
}

// Jobs written since the last round get their search rows, a batch per
// transaction (lib/job_store.h IndexPendingSearches): every 100 ms, so a
// search finds a fresh job at once (it indexes what is left itself) and the
// writes that made the jobs never paid for the index.
void Worker::IndexSearch() {
  const int64_t now = Now();
  if (now - last_search_index_at_ < kSearchIndexEvery) return;
  last_search_index_at_ = now;
  auto indexed = store_->IndexPendingSearches(kSearchIndexBatch);
  if (!indexed.ok() && indexed.status().code() != Status::Code::kBusy) {
    LogWarning("search index: " + indexed.status().ToString());
  }
}

void Worker::CheckpointWal() {
  // Every 100 ms the log restarts (Store::Checkpoint): it stays a few MB under
  // a flood of webhooks, and the handlers' commits no longer pay for SQLite's
  // automatic checkpoint, which took a fifth of a handler's time.
  const int64_t now = Now();
  if (now - last_checkpoint_at_ < kCheckpointEvery) return;
  last_checkpoint_at_ = now;
  // Busy: another connection is checkpointing, or readers stayed; next time.
  auto wal = store_->Checkpoint(kCheckpointMaxWaitMs);
  if (!wal.ok() && wal.status().code() != Status::Code::kBusy) {
    LogWarning("checkpoint: " + wal.status().ToString());
  }
}

void Worker::Housekeeping() {
  const int64_t now = Now();
  if (now < next_housekeeping_at_) return;
  next_housekeeping_at_ = now + kHousekeepingEvery;
  const int64_t cutoff = now - int64_t{config_.sse_retention_hours.value} * 3600 * kMicrosPerSecond;
  auto pruned = store_->PruneEvents(config_.sse_retention_events.value, cutoff);
  if (!pruned.ok()) {
    LogWarning("event pruning: " + pruned.status().ToString());
  } else if (*pruned > 0) {
    LogInfo("pruned " + std::to_string(*pruned) + " old events");
  }

  WriteStatus(last_error_);
}

}  // namespace jobpulse
