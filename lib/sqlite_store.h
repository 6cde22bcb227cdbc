// The SQLite engine of the store (lib/store.h): every table interface over one
// SqliteDb connection. Included only by the store's sources and their tests;
// callers use lib/store.h.
//
// The sources, one per table: sqlite_schema.cc (the schema and its
// migrations), sqlite_store.cc (opening, health, checkpoints, service state,
// leases), sqlite_jobs.cc (jobs and the merge's write), sqlite_search.cc (the
// list's search), sqlite_queue.cc and sqlite_dispatch.cc (the submission
// queue, and what a dispatch does to it), sqlite_metrics.cc,
// sqlite_events.cc, sqlite_inbox.cc.
//
// Thread-safety: one connection; one thread at a time.
#ifndef JOBPULSE_LIB_SQLITE_STORE_H_
#define JOBPULSE_LIB_SQLITE_STORE_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/job_merge.h"
#include "lib/sqlite_db.h"
#include "lib/store.h"

namespace jobpulse {

// The migrations, oldest first; the schema version is their count.
std::span<const char* const> SqliteMigrations();

// The list's filters besides the search (JobFilter statuses, provider,
// job_type) as " AND ..." terms with anonymous parameters, over columns both
// jobs and job_search_rows have (sqlite_jobs.cc). SqliteBindFilters binds
// them from parameter `first` on and returns the next free number.
std::string SqliteFilterTerms(const JobFilter& filter);
int SqliteBindFilters(SqliteStatement& statement, const JobFilter& filter, int first);

// What a search (JobFilter::query) found: every match counted, the ids of
// the requested page in list order.
struct SqliteSearchResult {
  int64_t total = 0;
  std::vector<std::string> page;
};

class SqliteStore final : public Store, private JobWrites {
 public:
  // The schema version Open() migrates to (PRAGMA user_version).
  static constexpr int kSchemaVersion = 9;
  // Jobs indexed for search per transaction (IndexPendingSearches).
  static constexpr int kSearchIndexBatch = 1000;

  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);

  const char* engine() const override { return "sqlite"; }
  const std::string& path() const override { return db_->path(); }
  Status Ping() override;
  Result<int64_t> FreeDiskBytes() override;
  Result<std::string> ChangeVersion() override;
  Result<WalState> Checkpoint(int max_wait_ms) override;
  // No feed: one machine, where pokes and a short poll do.
  Result<std::unique_ptr<ChangeFeed>> Listen(WakeChannel) override {
    return std::unique_ptr<ChangeFeed>();
  }
  // One machine, one worker: always leads.
  Result<bool> TryLead() override { return true; }

  // JobStore (sqlite_jobs.cc)
  Result<std::optional<Job>> GetJob(std::string_view job_id,
                                    JobRead read = JobRead::kWhole) override;
  Result<std::optional<JobProgress>> GetJobProgress(std::string_view job_id) override;
  Result<std::optional<Job>> FindByExternalId(std::string_view provider,
                                              std::string_view external_id) override;
  Result<JobPage> ListJobs(const JobFilter& filter) override;
  Result<int> IndexPendingSearches(int limit) override;
  Result<ApplyOutcome> Apply(const Observation& obs, const PriceTable& prices, int64_t now,
                             bool create_if_missing = true) override;
  Status DeleteJob(std::string_view job_id) override;
  Result<Metrics> ComputeMetrics(int days, int64_t now) override;
  Result<std::vector<Job>> ListActiveJobs(const std::optional<std::string>& provider) override;
  Result<std::vector<Job>> ListWatchedJobs(int64_t since) override;
  Status RecordProgressDemand(std::string_view job_id, int64_t now) override;
  Status RecordPollFailure(std::string_view job_id, int failures, int64_t next_poll_at) override;

  // QueueStore (sqlite_queue.cc)
  Result<SubmitOutcome> Submit(const Submission& submission, const PriceTable& prices,
                               int64_t now) override;
  Result<std::optional<QueueEntry>> GetQueueEntry(std::string_view job_id) override;
  Result<QueuePage> ListQueue(const QueueFilter& filter) override;
  Result<QueueCounts> CountQueue(int64_t now) override;
  Result<QueueLoad> ReadQueueLoad(int64_t now) override;
  Result<QueueEntry> SetQueuePriority(std::string_view job_id, int priority) override;
  Result<ApplyOutcome> CancelWaiting(std::string_view job_id, const PriceTable& prices,
                                     int64_t now) override;
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
  Result<double> SpentSince(int64_t since, const PriceTable& prices, int64_t now) override;

  // EventLog (sqlite_events.cc)
  Result<std::vector<Event>> EventsAfter(int64_t after_id, int limit) override;
  Result<int64_t> AppendEvent(std::string_view job_id, EventType type, std::string_view data,
                              int64_t now) override;
  Result<int64_t> OldestEventId() override;
  Result<int64_t> NewestEventId() override;
  Result<int64_t> EventIdsAssigned() override;
  Result<int64_t> PruneEvents(int64_t max_events, int64_t older_than) override;

  // WebhookInbox (sqlite_inbox.cc)
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
  Result<int64_t> PruneDeliveries(int64_t bodies_before, int64_t rows_before) override;

  // Leases and service state (sqlite_store.cc)
  Result<bool> TryAcquireLease(std::string_view name, std::string_view owner, int64_t ttl_micros,
                               int64_t now) override;
  Status ReleaseLease(std::string_view name, std::string_view owner) override;
  Status PutServiceState(std::string_view name, std::string_view value, int64_t now) override;
  Result<std::optional<Entry>> GetServiceState(std::string_view name) override;

  // CounterStore (sqlite_counters.cc)
  Status AddCounters(const std::vector<CounterValue>& deltas, int64_t now) override;
  Result<std::vector<CounterValue>> ReadCounters() override;

 private:
  using Transaction = SqliteDb::Transaction;
  explicit SqliteStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  // The merge and its write (lib/job_merge.h), inside the caller's write transaction.
  Result<ApplyOutcome> ApplyInTransaction(const Observation& obs, const PriceTable& prices,
                                          int64_t now, bool create_if_missing);
  // JobWrites: the INSERT of a new row, or the compare-and-set UPDATE of the
  // row at `expected_version`.
  Status WriteJob(const Job& job, bool insert, int64_t expected_version) override;
  // JobWrites: appends an event inside the caller's transaction; returns its id.
  Result<int64_t> InsertEvent(std::string_view job_id, EventType type, std::string_view data,
                              int64_t now) override;
  // The page and total of a filter with a query, inside the caller's read
  // transaction (sqlite_search.cc).
  Result<SqliteSearchResult> SearchJobs(const JobFilter& filter);
  // Inside a transaction: the job's rows in the trigram index, gone.
  Status RemoveSearchRow(const std::string& job_id);
  // Inside a transaction: the entry of `job_id` when it is dispatching, else
  // kNotFound (no entry) or kConflict (another state).
  Result<QueueEntry> DispatchingEntry(std::string_view job_id);
  // Inside MarkDispatchedAll's transaction: one run recorded.
  Result<ApplyOutcome> MarkOneDispatched(const Observation& run, const PriceTable& prices,
                                         int64_t now);
  // RetryDispatchLater and ReleaseClaim: back to waiting until `retry_at`.
  Status BackToWaiting(std::string_view job_id, std::string_view error, int64_t retry_at,
                       bool attempt_counts);
  // Inside a transaction: SpentSince.
  Result<double> SpentInTransaction(int64_t since, const PriceTable& prices, int64_t now);
  // Inside Submit's transaction: the submission an unexpired idempotency key
  // names, or nullopt (an expired key is freed for reuse).
  Result<std::optional<SubmitOutcome>> SubmissionForKey(const std::string& key, int64_t now);
  Status MarkDeliveryApplied(std::string_view webhook_id, int64_t now);
  // ApplyDelivery's body inside the caller's write transaction: a delivery
  // not stored or already applied is left alone (sqlite_inbox.cc).
  Result<ApplyOutcome> ApplyOneDelivery(std::string_view webhook_id, const Observation& obs,
                                        const PriceTable& prices, int64_t now);
  Result<bool> TakeLeaseOfDeadOwner(std::string_view name, std::string_view owner,
                                    int64_t ttl_micros, int64_t now);

  std::unique_ptr<SqliteDb> db_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_SQLITE_STORE_H_
