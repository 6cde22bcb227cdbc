// The SQLite job store: the one database every process shares (SPEC §1, §3, §8).
//
// Each process opens one Store and keeps it (handlers serve many requests,
// the worker runs for days); statements are prepared once per Store. Open()
// sets WAL, synchronous=NORMAL and a 5 s wait for locks on the connection and brings
// the schema up to date (see store.cc for the schema and its migrations).
//
// Writers: every write to a job goes through Apply(), which runs
// MergeObservation (lib/state_machine.h) inside one BEGIN IMMEDIATE
// transaction, writes the row with a compare-and-set on its version and appends
// the job's events in the same transaction. The other writers of the jobs
// table touch no status: DeleteJob, RecordProgressDemand (when inline progress
// last asked for a refresh) and RecordPollFailure (the poller's backoff).
//
// Errors: database failures come back as Status kBusy (still locked after
// waiting 5 s; retry later) or kInternal (with SQLite's message). Not found is
// a value (nullopt), not an error, except for DeleteJob.
//
// Thread-safety: a Store is one connection; use it from one thread at a time.
#ifndef JOBPULSE_LIB_STORE_H_
#define JOBPULSE_LIB_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/cost.h"
#include "lib/job.h"
#include "lib/state_machine.h"
#include "lib/status.h"

struct sqlite3;

namespace jobpulse {

// One row of the event log (SPEC §8). `data` is the JSON message.
struct Event {
  int64_t id = 0;
  std::string job_id;  // empty for events about no single job
  std::string type;    // "job_status_changed", "job_progress", "jobs_synced"
  std::string data;
  int64_t created_at = 0;
};

// How much of a job row a read decodes (Store::GetJob, Store::ListJobs).
enum class JobRead {
  kWhole,  // every field
  kList,   // all but logs_tail and output, left empty
};

struct JobFilter {
  std::vector<JobStatus> statuses;  // any of these; empty = all
  std::optional<std::string> provider;
  std::optional<std::string> job_type;
  int limit = 50;
  int64_t offset = 0;
};

struct JobPage {
  std::vector<Job> jobs;  // newest first (created_at, then job_id, descending)
  int64_t total = 0;      // every job matching the filter, not the page length
};

struct ApplyOutcome {
  Job job;  // the stored row after the write
  bool created = false;
  bool status_changed = false;
  bool changed = false;
  bool stale = false;  // older than the stored row: nothing was written (SPEC §4)
  std::optional<std::string> unknown_status;  // first sighting; the caller logs it
};

struct DayMetrics {
  std::string date;  // YYYY-MM-DD (UTC)
  int64_t jobs = 0;
  double cost_usd = 0;
};

struct Metrics {
  int period_days = 30;
  double total_cost = 0;
  int64_t job_count = 0;
  std::map<std::string, int64_t> jobs_by_status;
  std::optional<double> avg_job_duration_seconds;  // completed jobs with both times
  std::vector<DayMetrics> cost_by_day;             // oldest first, days with jobs only
};

class Store {
 public:
  // The schema version Open() migrates to (PRAGMA user_version).
  static constexpr int kSchemaVersion = 4;

  // Opens (creating the file and its parent directory if needed) and migrates.
  // Errors: kUnavailable "database_unavailable" when the file cannot be opened
  // or migrated, with the path and SQLite's message.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }

  // A cheap query proving the connection works.
  Status Ping();

  // Bytes an unprivileged writer may still use on the database's file system
  // (statvfs); a full disk can still absorb small writes into WAL space
  // already allocated, so health looks at this too. Errors: kUnavailable.
  Result<int64_t> FreeDiskBytes();

  // Changes whenever the database may have changed, by any process: other
  // connections' commits (PRAGMA data_version) and this connection's own
  // writes (sqlite3_total_changes64). Equal values mean equal contents.
  Result<std::string> ChangeVersion();

  // The job, or nullopt when there is none.
  Result<std::optional<Job>> GetJob(std::string_view job_id, JobRead read = JobRead::kWhole);
  // Inline progress's read: the job's JobProgress columns only (one
  // primary-key read of nine columns), or nullopt when there is no such job.
  Result<std::optional<JobProgress>> GetJobProgress(std::string_view job_id);
  Result<std::optional<Job>> FindByExternalId(std::string_view provider,
                                              std::string_view external_id);
  Result<JobPage> ListJobs(const JobFilter& filter);

  // Applies one observation (SPEC §4): finds the job by obs.job_id, else by
  // (provider, external_id), merges, writes and appends events, all in one
  // BEGIN IMMEDIATE transaction. Nothing is written when nothing changed.
  // Errors: kNotFound "job_not_found" when obs.job_id names no job and
  // `create_if_missing` is false; database errors as above.
  Result<ApplyOutcome> Apply(const Observation& obs, const PriceTable& prices, int64_t now,
                             bool create_if_missing = true);

  // Applies a webhook delivery's observation and marks the inbox row applied,
  // in one transaction. Errors as Apply.
  Result<ApplyOutcome> ApplyDelivery(std::string_view webhook_id, const Observation& obs,
                                     const PriceTable& prices, int64_t now);

  // ApplyDelivery for many deliveries in one transaction (oldest first): all
  // are applied and marked, or, on any error, none (the caller then retries
  // them one by one).
  struct PendingApply {
    std::string webhook_id;
    Observation observation;
  };
  Result<std::vector<ApplyOutcome>> ApplyDeliveries(const std::vector<PendingApply>& batch,
                                                    const PriceTable& prices, int64_t now);

  // Deletes a terminal job. Errors: kNotFound "job_not_found";
  // kConflict "invalid_job_state" when the job is still active.
  Status DeleteJob(std::string_view job_id);

  // Jobs created in the last `days` days before `now`.
  Result<Metrics> ComputeMetrics(int days, int64_t now);

  // Events with id > after_id, oldest first, at most `limit`.
  Result<std::vector<Event>> EventsAfter(int64_t after_id, int limit);
  // Appends an event not tied to one job's row (e.g. "jobs_synced").
  Result<int64_t> AppendEvent(std::string_view job_id, std::string_view type, std::string_view data,
                              int64_t now);

  // Active cloud jobs (pending, uploading, queued, running) that have an
  // external id, of `provider` when given; all of them, oldest first.
  Result<std::vector<Job>> ListActiveJobs(const std::optional<std::string>& provider);

  // Running cloud jobs with an external id whose progress someone asked for
  // at or after `since` (progress_wanted_at), for the worker's demand refresh.
  Result<std::vector<Job>> ListWatchedJobs(int64_t since);

  // Records that someone is watching a running job's progress (SPEC §5), so
  // the worker's demand refresh fetches it. Not a status write: no event.
  Status RecordProgressDemand(std::string_view job_id, int64_t now);

  // A named lease shared by all processes: true when `owner` now holds `name`
  // until now + ttl (it was free, expired, already `owner`'s, or held by an
  // owner "pid:<N>:..." whose process N no longer exists: a crashed holder
  // frees its lease at once). Owners should be "pid:<getpid()>:<unique>".
  Result<bool> TryAcquireLease(std::string_view name, std::string_view owner, int64_t ttl_micros,
                               int64_t now);
  // Frees `name` if `owner` holds it; a lease held by someone else is left alone.
  Status ReleaseLease(std::string_view name, std::string_view owner);

  // The webhook inbox (SPEC §7). InsertDelivery returns false when the
  // webhook_id is already stored (a duplicate delivery), true when inserted.
  struct Delivery {
    std::string webhook_id;
    std::string provider;
    std::string body;
    int64_t received_at = 0;
    int attempts = 0;
  };
  Result<bool> InsertDelivery(std::string_view webhook_id, std::string_view provider,
                              std::string_view body, int64_t now);
  // InsertDelivery for many deliveries in one transaction (the worker's
  // intake, lib/delivery_intake.h): element i is true when delivery i was
  // inserted, false for a duplicate (also of an earlier one in `batch`). On an
  // error nothing is stored.
  struct NewDelivery {
    std::string webhook_id;
    std::string provider;
    std::string body;
    int64_t received_at = 0;
  };
  Result<std::vector<bool>> InsertDeliveries(const std::vector<NewDelivery>& batch);
  // Deliveries neither applied nor rejected, oldest first.
  Result<std::vector<Delivery>> PendingDeliveries(int limit);
  // Counts a failed attempt; after `max_attempts` the delivery is rejected
  // (kept with its error for inspection, never applied).
  Status RecordDeliveryFailure(std::string_view webhook_id, std::string_view error,
                               int max_attempts, int64_t now);
  struct InboxCounts {
    int64_t pending = 0;
    int64_t applied = 0;
    int64_t rejected = 0;
  };
  Result<InboxCounts> CountDeliveries();

  // Inbox retention (SPEC §7): drops the body of deliveries applied before
  // `bodies_before`, deletes applied and rejected rows older than
  // `rows_before` (their ids stop deduplicating then), and returns the freed
  // pages to the file system when the file allows it (auto_vacuum, set on
  // files this version created; older files reuse the pages), also pages an
  // earlier call left free. Returns how many rows lost their body or were
  // deleted.
  Result<int64_t> PruneDeliveries(int64_t bodies_before, int64_t rows_before);

  // The poller's backoff for a job after a failed fetch.
  Status RecordPollFailure(std::string_view job_id, int failures, int64_t next_poll_at);

  // The smallest and the largest retained event id (0 when the log is empty).
  Result<int64_t> OldestEventId();
  Result<int64_t> NewestEventId();
  // Keeps at most `max_events` newest events and none older than `older_than`;
  // returns how many were deleted.
  Result<int64_t> PruneEvents(int64_t max_events, int64_t older_than);

  // The write-ahead log after a checkpoint: frames in it, frames copied back
  // into the database file.
  struct WalState {
    int64_t frames = 0;
    int64_t checkpointed = 0;
  };
  // A RESTART checkpoint: copies the whole WAL back into the database file and
  // waits until no reader still uses the log, so that the next commit starts
  // it again from its beginning. It waits at most `max_wait_ms` for the writer
  // and the readers; other connections' commits wait while it does. The worker
  // runs one every 100 ms: under a steady stream of overlapping readers and
  // writers (a webhook flood) SQLite's own checkpoints never find a moment
  // without readers, and the log grew past 300 MB in 20 seconds, each commit
  // paying for a checkpoint of a few pages and its two fsyncs.
  // Failures: kBusy when the wait ran out (what could be copied without
  // waiting longer was copied) or another connection is checkpointing.
  Result<WalState> Checkpoint(int max_wait_ms);

  // Internal to the busy handler in store.cc: when the current wait for a lock
  // began and how long this connection waits at most.
  struct BusyState {
    int64_t since = 0;
    int64_t limit_us = 0;
  };

  // Small named values shared between processes (the worker heartbeat, ...).
  Status PutServiceState(std::string_view name, std::string_view value, int64_t now);
  struct ServiceState {
    std::string value;
    int64_t updated_at = 0;
  };
  Result<std::optional<ServiceState>> GetServiceState(std::string_view name);

 private:
  class Statement;
  class Transaction;
  friend class Transaction;

  Store(sqlite3* db, std::string path);
  Status Migrate();
  Status Exec(const char* sql);
  // A cached prepared statement for `sql`, reset and with bindings cleared;
  // nullptr with `*status` set when preparing fails.
  Statement* Prepare(std::string_view sql, Status* status);
  // Steps `stmt` to its first row: true at a row, false (statement reset)
  // when there is none; errors (statement reset) name `what`.
  Result<bool> StepToRow(Statement* stmt, const char* what);
  // The one integer a one-row query returns; `what` names it in errors.
  Result<int64_t> QueryInt(const std::string& sql, const char* what);
  Status Error(int rc, const char* what) const;
  Result<std::optional<Job>> QueryOneJob(Statement* stmt);
  // Every row of `stmt` (a SELECT of kJobColumns), then resets it.
  Result<std::vector<Job>> QueryJobs(Statement* stmt);
  Status MarkDeliveryApplied(std::string_view webhook_id, int64_t now);
  Status WriteJob(const Job& job, bool insert, int64_t expected_version);
  Result<bool> TakeLeaseOfDeadOwner(std::string_view name, std::string_view owner,
                                    int64_t ttl_micros, int64_t now);
  Result<ApplyOutcome> ApplyInTransaction(const Observation& obs, const PriceTable& prices,
                                          int64_t now, bool create_if_missing);
  Result<int64_t> InsertEvent(std::string_view job_id, std::string_view type, std::string_view data,
                              int64_t now);

  struct Deleter {
    void operator()(sqlite3* db) const;
  };
  std::unique_ptr<sqlite3, Deleter> db_;
  std::string path_;

  BusyState busy_;
  // Hashed, and looked up by string_view: an ordered map compared the long
  // shared prefixes of the SQL texts ("SELECT job_id, ...") at every level,
  // an eighth of an inline-progress request's instructions.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> statements_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_STORE_H_
