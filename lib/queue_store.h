// The submission queue's table (SPEC §12): one entry per submitted job,
// waiting -> dispatching -> dispatched -> closed. Submitting creates the job
// through the one merge (status pending) and its entry in one transaction;
// an entry closes in the transaction that makes its job terminal, whatever
// path made it so (the schema's trigger, sqlite_schema.cc v7).
//
// Position: rank among waiting entries by priority (higher first), then
// submission time, then job id; 1 is next.
//
// Errors: kNotFound for an unknown job or a job with no entry,
// kConflict for a change its entry's state does not allow; else as
// lib/job_store.h (kBusy, kUnavailable, kInternal).
// Thread-safety: an implementation is one connection; one thread at a time.
#ifndef JOBPULSE_LIB_QUEUE_STORE_H_
#define JOBPULSE_LIB_QUEUE_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/cost.h"
#include "lib/job_store.h"
#include "lib/status.h"

namespace jobpulse {

enum class QueueStatus { kWaiting, kDispatching, kDispatched, kClosed };

const char* QueueStatusName(QueueStatus status);
std::optional<QueueStatus> ParseQueueStatus(std::string_view name);

// SPEC §12's priority: 0..50, or a name.
constexpr int kMinPriority = 0;
constexpr int kMaxPriority = 50;
constexpr int kDefaultPriority = 10;  // "normal"
// low 0, normal 10, high 20, urgent 30; nullopt for another name.
std::optional<int> PriorityFromName(std::string_view name);

struct QueueEntry {
  std::string job_id;
  std::optional<std::string> user_id;
  std::string provider;
  std::optional<std::string> config_name;  // the job's
  int priority = kDefaultPriority;
  QueueStatus status = QueueStatus::kWaiting;
  std::optional<int64_t> position;  // waiting entries only
  int64_t queued_at = 0;
  std::optional<int64_t> dispatched_at;
  int attempts = 0;
  std::optional<std::string> error_message;
  // Dispatching entries: when this attempt's create was about to be sent;
  // unset while it was not (MarkSent).
  std::optional<int64_t> sent_at;
};

// SPEC §12's spending limit for a submission: refused when the dollars spent
// on jobs created since `since` (running estimates included) reach `limit_usd`.
struct CostLimit {
  double limit_usd = 0;
  int64_t since = 0;
  std::string period;  // "daily", "weekly", "monthly": for the message
};

// kConflict "cost_limit_exceeded" with spent_usd, limit_usd (two decimals) and
// period in its details.
Status CostLimitExceeded(double spent_usd, const CostLimit& limit);

// The queue's errors, the same from every engine: kNotFound
// "queue_entry_not_found" for a job without an entry; kConflict
// "invalid_queue_state" (job_id, current_state) for an entry not waiting
// where only waiting ones `what` (e.g. "can change priority"), or no longer
// dispatching.
Status QueueEntryNotFound(std::string_view job_id);
Status QueueEntryNotWaiting(const QueueEntry& entry, const std::string& what);
Status QueueEntryNotDispatching(const QueueEntry& entry);

// A validated submission (lib/submission.h builds it from the request body).
struct Submission {
  std::string job_id;  // the new job's id
  std::string provider;
  std::optional<std::string> user_id;
  std::optional<std::string> config_name;
  int priority = kDefaultPriority;
  // The job's metadata: model, kind, version, destination (SPEC §3).
  std::map<std::string, std::string> metadata;
  // What the dispatcher sends: the provider create, compact JSON, and the
  // SHA-256 of the input for reconciliation (SPEC §12).
  std::string request_json;
  std::string input_digest;
  // Same key within 24 h: the same job again (SPEC §12).
  std::optional<std::string> idempotency_key;
  // Checked when the submission is new (a replayed key gets its first answer).
  std::optional<CostLimit> cost_limit;
};

struct SubmitOutcome {
  Job job;
  QueueEntry entry;
  bool created = false;  // false: an earlier submission with the same key
};

struct QueueFilter {
  std::vector<QueueStatus> statuses;  // any of these; empty = all
  std::optional<std::string> user_id;
  int limit = 50;
  int64_t offset = 0;
};

struct QueuePage {
  // Waiting entries first, in position order; then the others, newest first.
  std::vector<QueueEntry> entries;
  int64_t total = 0;
};

// An entry the worker took for dispatch, with what to send.
struct DispatchClaim {
  QueueEntry entry;          // now dispatching, attempts counted
  std::string request_json;  // Submission::request_json
  std::string input_digest;
};

struct QueueCounts {
  int64_t waiting = 0;  // the queue's depth
  // Entries dispatching or dispatched whose job is still active.
  int64_t running = 0;
  std::map<QueueStatus, int64_t> by_status;
  // Mean seconds from submission to dispatch over the entries dispatched in
  // the last 24 h; nullopt when there were none.
  std::optional<double> avg_wait_seconds;
  // Mean seconds from dispatch to close over the last 30 days' closed
  // entries whose job completed; nullopt when there were none.
  std::optional<double> avg_run_seconds;
};

// The worker's cheap look at the queue before a pass, and the figures of
// the queue_changed event.
struct QueueLoad {
  int64_t waiting = 0;  // the depth
  int64_t ready = 0;    // waiting entries whose retry time has come
  int64_t running = 0;  // dispatching or dispatched
};

class QueueStore {
 public:
  virtual ~QueueStore() = default;

  // Creates the job (pending, through the merge; a job_created event) and its
  // waiting entry, in one transaction. With an idempotency key used within
  // the last 24 h, returns that submission's job and entry, created = false.
  // Errors: kConflict when submission.job_id already exists, or
  // CostLimitExceeded when the submission's cost limit is reached (checked in
  // the same transaction, so concurrent submissions cannot overspend it).
  virtual Result<SubmitOutcome> Submit(const Submission& submission, const PriceTable& prices,
                                       int64_t now) = 0;
  // The job's entry with its position; nullopt when it has none.
  virtual Result<std::optional<QueueEntry>> GetQueueEntry(std::string_view job_id) = 0;
  virtual Result<QueuePage> ListQueue(const QueueFilter& filter) = 0;
  virtual Result<QueueCounts> CountQueue(int64_t now) = 0;
  virtual Result<QueueLoad> ReadQueueLoad(int64_t now) = 0;
  // A waiting entry's new priority. kConflict once it left waiting.
  virtual Result<QueueEntry> SetQueuePriority(std::string_view job_id, int priority) = 0;
  // Cancels a waiting job locally: the job becomes cancelled through the
  // merge (its event included) and the entry closes; no provider is asked.
  // kConflict once the entry left waiting.
  virtual Result<ApplyOutcome> CancelWaiting(std::string_view job_id, const PriceTable& prices,
                                             int64_t now) = 0;
  // The worker's next dispatches: the best waiting entries (position order)
  // whose retry time has come, one after another while fewer than
  // `max_concurrent` entries are dispatching or dispatched in all and fewer
  // than `user_max` of the entry's user (entries without a user_id have only
  // the global limit), at most `limit`. Each becomes dispatching with one more
  // attempt, all in one transaction, so two workers never take the same
  // entry. Empty when nothing may start now.
  virtual Result<std::vector<DispatchClaim>> ClaimNextEntries(int max_concurrent, int user_max,
                                                              int64_t now, int limit) = 0;
  // ClaimNextEntries for one entry; nullopt when nothing may start now.
  Result<std::optional<DispatchClaim>> ClaimNextEntry(int max_concurrent, int user_max,
                                                      int64_t now) {
    auto claims = ClaimNextEntries(max_concurrent, user_max, now, 1);
    if (!claims.ok()) return claims.status();
    if (claims->empty()) return std::optional<DispatchClaim>();
    return std::optional<DispatchClaim>(std::move(claims->front()));
  }
  // The creates answered with `runs` (each names its job in job_id, and
  // carries its external id and status): each job takes its run through the
  // merge and its entry becomes dispatched, all in one transaction, one
  // result per run in order. A run whose entry is no longer dispatching (its
  // job was cancelled, or a webhook ended it first) gets kConflict and
  // changes nothing; the others are recorded all the same.
  virtual std::vector<Result<ApplyOutcome>> MarkDispatchedAll(const std::vector<Observation>& runs,
                                                              const PriceTable& prices,
                                                              int64_t now) = 0;
  // MarkDispatchedAll for one run of job `job_id`.
  Result<ApplyOutcome> MarkDispatched(std::string_view job_id, const Observation& run,
                                      const PriceTable& prices, int64_t now) {
    Observation named = run;
    named.job_id = std::string(job_id);
    return std::move(MarkDispatchedAll({std::move(named)}, prices, now).front());
  }
  // The creates of these entries are about to be sent: from now on a run may
  // exist, so an entry left dispatching by a dead worker is reconciled before
  // anything is sent again; one never marked sent made no run. One
  // transaction; returns the ids marked, in order: those still dispatching
  // (one cancelled meanwhile is left out, and must not be sent).
  virtual Result<std::vector<std::string>> MarkSent(const std::vector<std::string>& job_ids,
                                                    int64_t now) = 0;
  // A failed attempt that may be tried again: the entry waits again, not
  // before `retry_at`, keeping `error`. kConflict unless it was dispatching.
  virtual Status RetryDispatchLater(std::string_view job_id, std::string_view error,
                                    int64_t retry_at) = 0;
  // As RetryDispatchLater, but the attempt does not count against
  // queue.max_attempts: the provider asked us to wait (429), had no
  // credential, or the create was never sent.
  virtual Status ReleaseClaim(std::string_view job_id, std::string_view error,
                              int64_t retry_at) = 0;
  // A refusal, or the last attempt failed: the job fails through the merge
  // with `error` as its message, which closes the entry. kConflict unless the
  // entry was dispatching.
  virtual Result<ApplyOutcome> FailDispatch(std::string_view job_id, std::string_view error,
                                            const PriceTable& prices, int64_t now) = 0;
  // Entries left dispatching (a worker died mid-create), oldest first: they
  // are reconciled with the provider before anything is sent again.
  virtual Result<std::vector<DispatchClaim>> DispatchingEntries() = 0;
  // Dollars spent on jobs created since `since`: final costs plus the
  // running estimates of active jobs (SPEC §12's cost limit).
  virtual Result<double> SpentSince(int64_t since, const PriceTable& prices, int64_t now) = 0;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_QUEUE_STORE_H_
