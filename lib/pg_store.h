// The PostgreSQL engine of the store's interfaces (issue 12), written table by
// table behind the same interfaces as the SQLite engine (lib/sqlite_store.h),
// and tested by the same suites run against both engines: service state,
// leases, the counters, the event log (pg_events.cc), the jobs table
// (pg_jobs.cc; its search `q` is a plain case-insensitive scan until the
// search gets its PostgreSQL design), the webhook inbox (pg_inbox.cc) and
// the queue (pg_queue.cc, pg_dispatch.cc). A whole Store: Store::Open
// selects it for a postgresql:// database.url.
//
// Unlike SQLite's one writer at a time, connections of several machines
// write side by side (READ COMMITTED): a check and the write it allows are
// kept together by advisory transaction locks (a run's writers, the queue's
// claims, its cost limit and idempotency keys) and row locks (a queue entry,
// a webhook delivery), so the interfaces' contracts hold across machines.
//
// Errors: as lib/pg_db.h (database_busy, database_unavailable, ...).
// Thread-safety: one connection; one thread at a time.
#ifndef JOBPULSE_LIB_PG_STORE_H_
#define JOBPULSE_LIB_PG_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/counters.h"
#include "lib/event_log.h"
#include "lib/job_merge.h"
#include "lib/job_store.h"
#include "lib/leases.h"
#include "lib/pg_db.h"
#include "lib/service_state.h"
#include "lib/status.h"
#include "lib/store.h"
#include "lib/webhook_inbox.h"

namespace jobpulse {

class PgStore final : public Store, private JobWrites {
 public:
  // Connects with `conninfo` (a postgresql:// URL or key=value pairs) and
  // brings the schema up to date (MigratePg); `local_path` is database.path,
  // where this machine's sockets live (path()). Errors: the connection's or
  // the migration's.
  static Result<std::unique_ptr<PgStore>> Open(const std::string& conninfo,
                                               const std::string& local_path = "");

  // Store (pg_store.cc)
  const char* engine() const override { return "postgresql"; }
  const std::string& path() const override { return local_path_; }
  Status Ping() override;
  // The database's disk is the server's, out of sight: kUnavailable
  // "not_applicable", which health skips.
  Result<int64_t> FreeDiskBytes() override;
  // The server's write-ahead log position: any commit anywhere moves it.
  Result<std::string> ChangeVersion() override;
  // The server checkpoints by itself: nothing to do, zeros.
  Result<WalState> Checkpoint(int max_wait_ms) override;
  // A connection of its own LISTENing to the channel (pg_notify.cc).
  Result<std::unique_ptr<ChangeFeed>> Listen(WakeChannel channel) override;
  // pg_try_advisory_lock(kLeaderLockKey) on this connection, taken once and
  // then held; a new session after a broken connection takes it again, or
  // not (pg_notify.cc).
  Result<bool> TryLead() override;
  // The session advisory lock key of the workers' leadership ("jp-lead").
  static constexpr int64_t kLeaderLockKey = 0x6a702d6c656164;

  // QueueStore (pg_queue.cc)
  Result<SubmitOutcome> Submit(const Submission& submission, const PriceTable& prices,
                               int64_t now) override;
  Result<std::optional<QueueEntry>> GetQueueEntry(std::string_view job_id) override;
  Result<QueuePage> ListQueue(const QueueFilter& filter) override;
  Result<QueueCounts> CountQueue(int64_t now) override;
  Result<QueueLoad> ReadQueueLoad(int64_t now) override;
  Result<QueueEntry> SetQueuePriority(std::string_view job_id, int priority) override;
  Result<ApplyOutcome> CancelWaiting(std::string_view job_id, const PriceTable& prices,
                                     int64_t now) override;
  Result<double> SpentSince(int64_t since, const PriceTable& prices, int64_t now) override;

  // QueueStore: the dispatcher's calls (pg_dispatch.cc)
  Result<std::vector<DispatchClaim>> ClaimNextEntries(int max_concurrent, int user_max, int64_t now,
                                                      int limit) override;
  std::vector<Result<ApplyOutcome>> MarkDispatchedAll(const std::vector<Observation>& runs,
                                                      const PriceTable& prices,
                                                      int64_t now) override;
  Result<std::vector<std::string>> MarkSent(const std::vector<std::string>& job_ids,
                                            int64_t now) override;
  Status RetryDispatchLater(std::string_view job_id, std::string_view error,
                            int64_t retry_at) override;
  Status ReleaseClaim(std::string_view job_id, std::string_view error, int64_t retry_at) override;
  Result<ApplyOutcome> FailDispatch(std::string_view job_id, std::string_view error,
                                    const PriceTable& prices, int64_t now) override;
  Result<std::vector<DispatchClaim>> DispatchingEntries() override;

  // ServiceStateStore
  Status PutServiceState(std::string_view name, std::string_view value, int64_t now) override;
  Result<std::optional<Entry>> GetServiceState(std::string_view name) override;

  // Leases
  Result<bool> TryAcquireLease(std::string_view name, std::string_view owner, int64_t ttl_micros,
                               int64_t now) override;
  Status ReleaseLease(std::string_view name, std::string_view owner) override;

  // CounterStore
  Status AddCounters(const std::vector<CounterValue>& deltas, int64_t now) override;
  Result<std::vector<CounterValue>> ReadCounters() override;

  // JobStore (pg_jobs.cc)
  Result<std::optional<Job>> GetJob(std::string_view job_id,
                                    JobRead read = JobRead::kWhole) override;
  Result<std::optional<JobProgress>> GetJobProgress(std::string_view job_id) override;
  Result<std::optional<Job>> FindByExternalId(std::string_view provider,
                                              std::string_view external_id) override;
  Result<JobPage> ListJobs(const JobFilter& filter) override;
  // Nothing to index: the search reads the jobs table itself.
  Result<int> IndexPendingSearches(int limit) override;
  // In a transaction of its own, after the writers of the same run before it
  // (an advisory lock on the run's name); a writer that still lost a race for
  // the job (reached under another name: its compare-and-set found the row
  // changed, or its insert met the other's) merges again on what is there
  // now, up to four times more.
  Result<ApplyOutcome> Apply(const Observation& obs, const PriceTable& prices, int64_t now,
                             bool create_if_missing = true) override;
  Status DeleteJob(std::string_view job_id) override;
  Result<Metrics> ComputeMetrics(int days, int64_t now) override;
  Result<std::vector<Job>> ListActiveJobs(const std::optional<std::string>& provider) override;
  Result<std::vector<Job>> ListWatchedJobs(int64_t since) override;
  Status RecordProgressDemand(std::string_view job_id, int64_t now) override;
  Status RecordPollFailure(std::string_view job_id, int failures, int64_t next_poll_at) override;

  // WebhookInbox (pg_inbox.cc)
  Result<bool> InsertDelivery(std::string_view webhook_id, std::string_view provider,
                              std::string_view body, int64_t now) override;
  Result<std::vector<bool>> InsertDeliveries(const std::vector<NewDelivery>& batch) override;
  Result<std::vector<Delivery>> PendingDeliveries(int limit) override;
  Result<ApplyOutcome> ApplyDelivery(std::string_view webhook_id, const Observation& obs,
                                     const PriceTable& prices, int64_t now) override;
  Result<std::vector<ApplyOutcome>> ApplyDeliveries(const std::vector<PendingApply>& batch,
                                                    const PriceTable& prices, int64_t now) override;
  Status RecordDeliveryFailure(std::string_view webhook_id, std::string_view error,
                               int max_attempts, int64_t now) override;
  Result<InboxCounts> CountDeliveries() override;
  Result<PendingSummary> SummarizePending() override;
  // Dead rows' space goes back through autovacuum, not here.
  Result<int64_t> PruneDeliveries(int64_t bodies_before, int64_t rows_before) override;

  // EventLog (pg_events.cc)
  Result<std::vector<Event>> EventsAfter(int64_t after_id, int limit) override;
  Result<int64_t> AppendEvent(std::string_view job_id, EventType type, std::string_view data,
                              int64_t now) override;
  Result<int64_t> OldestEventId() override;
  Result<int64_t> NewestEventId() override;
  Result<int64_t> EventIdsAssigned() override;
  Result<int64_t> PruneEvents(int64_t max_events, int64_t older_than) override;

 private:
  PgStore(std::unique_ptr<PgConnection> db, std::string conninfo, std::string local_path)
      : db_(std::move(db)), conninfo_(std::move(conninfo)), local_path_(std::move(local_path)) {}
  // The lease `name` when its holder is a process of this machine that is
  // gone: taken for `owner` by compare-and-set on that holder.
  Result<bool> TakeLeaseOfDeadOwner(std::string_view name, std::string_view owner,
                                    int64_t ttl_micros, int64_t now);

  // Apply's body inside the caller's transaction: the run's lock, then the
  // merge and its writes (pg_jobs.cc).
  Result<ApplyOutcome> ApplyInTransaction(const Observation& obs, const PriceTable& prices,
                                          int64_t now, bool create_if_missing);
  // True for the errors of a writer that lost a race for a job it reached
  // under another name (concurrent_update, job_conflict): merge again.
  static bool LostARace(const Status& s);
  // Inside the caller's transaction: locks the delivery's row when it is
  // still to apply and no other connection holds it; false otherwise
  // (pg_inbox.cc).
  Result<bool> LockPendingDelivery(std::string_view webhook_id);
  // ApplyDelivery's body inside the caller's transaction (pg_inbox.cc).
  Result<ApplyOutcome> ApplyOneDelivery(std::string_view webhook_id, const Observation& obs,
                                        const PriceTable& prices, int64_t now);
  // Marks a delivery applied inside the caller's transaction (pg_inbox.cc).
  Status MarkDeliveryApplied(std::string_view webhook_id, int64_t now);
  // JobWrites: the INSERT of a new row, or the compare-and-set UPDATE of the
  // row at `expected_version` (pg_jobs.cc).
  Status WriteJob(const Job& job, bool insert, int64_t expected_version) override;
  // JobWrites: appends an event inside the caller's transaction; returns its id.
  Result<int64_t> InsertEvent(std::string_view job_id, EventType type, std::string_view data,
                              int64_t now) override;
  // pg_advisory_xact_lock on `name` (hashed): writers that take the same
  // name run one after the other until their transactions end. Names in
  // use: "job:<id>", "run:<provider>:<id>" (ApplyInTransaction),
  // "queue:claim", "queue:cost", "queue:key:<key>" (the queue).
  Status LockName(const std::string& name, std::string_view what);
  // The queue's writers' locks on one job, in the one order every writer of
  // that job takes them (the advisory "job:<id>", its jobs row, its queue
  // row), so a write that ends the job, whose trigger updates the queue row,
  // cannot deadlock with them (pg_queue.cc).
  Status LockQueueEntry(std::string_view job_id);
  // Inside Submit's transaction: the submission an unexpired key names, or
  // nullopt after freeing an expired key (pg_queue.cc).
  Result<std::optional<SubmitOutcome>> SubmissionForKey(const std::string& key, int64_t now);
  // SpentSince inside the caller's transaction (pg_queue.cc).
  Result<double> SpentInTransaction(int64_t since, const PriceTable& prices, int64_t now);
  // Locks the job's entry (LockQueueEntry) and returns it when it is
  // dispatching; else the queue's errors (pg_dispatch.cc).
  Result<QueueEntry> DispatchingEntry(std::string_view job_id);
  // One run of MarkDispatchedAll, inside its transaction (pg_dispatch.cc).
  Result<ApplyOutcome> MarkOneDispatched(const Observation& run, const PriceTable& prices,
                                         int64_t now);
  // RetryDispatchLater and ReleaseClaim (pg_dispatch.cc).
  Status BackToWaiting(std::string_view job_id, std::string_view error, int64_t retry_at,
                       bool attempt_counts);
  // The one integer of a one-row query without parameters.
  Result<int64_t> QueryInt(std::string_view sql, std::string_view what);

  std::unique_ptr<PgConnection> db_;
  std::string conninfo_;  // for Listen's connections
  std::string local_path_;
  // The session of db_ that holds the leadership lock; 0: none.
  uint64_t leading_session_ = 0;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PG_STORE_H_
