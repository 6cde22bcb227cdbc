// The jobs table as callers see it, whatever the engine (SPEC §3, §4).
//
// Writers: every write of a job's status goes through Apply(), which runs
// MergeObservation (lib/state_machine.h) inside one write transaction, writes
// the row with a compare-and-set on its version and appends the job's events
// (lib/event_log.h) in the same transaction. The other writers of the table
// touch no status and no version: DeleteJob, RecordProgressDemand (when inline
// progress last asked for a refresh) and RecordPollFailure (the poller's
// backoff).
//
// Errors: database failures come back as kBusy "database_busy" (still locked
// after waiting; retry later), kUnavailable "database_unavailable" (disk full,
// read-only, I/O) or kInternal "database_error". Not found is a value
// (nullopt), not an error, except for DeleteJob and Apply without creation.
//
// Thread-safety: an implementation is one connection; use it from one thread
// at a time.
#ifndef JOBPULSE_LIB_JOB_STORE_H_
#define JOBPULSE_LIB_JOB_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/cost.h"
#include "lib/job.h"
#include "lib/state_machine.h"
#include "lib/status.h"

namespace jobpulse {

// How much of a job row a read decodes (GetJob, ListJobs).
enum class JobRead {
  kWhole,  // every field
  kList,   // all but logs_tail and output, left empty
};

struct JobFilter {
  std::vector<JobStatus> statuses;  // any of these; empty = all
  std::optional<std::string> provider;
  std::optional<std::string> job_type;
  // Jobs whose id, external id, config name or model (metadata.model) holds
  // this text, case-insensitively (SPEC §9 `q`).
  std::optional<std::string> query;
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

class JobStore {
 public:
  virtual ~JobStore() = default;

  // The job, or nullopt when there is none.
  virtual Result<std::optional<Job>> GetJob(std::string_view job_id,
                                            JobRead read = JobRead::kWhole) = 0;
  // Inline progress's read: the job's JobProgress fields only, or nullopt
  // when there is no such job.
  virtual Result<std::optional<JobProgress>> GetJobProgress(std::string_view job_id) = 0;
  virtual Result<std::optional<Job>> FindByExternalId(std::string_view provider,
                                                      std::string_view external_id) = 0;
  // One page and the total, from one snapshot. A search (filter.query) first
  // indexes what IndexPendingSearches has not yet, so it sees every job.
  virtual Result<JobPage> ListJobs(const JobFilter& filter) = 0;
  // Brings the search index up to date with up to `limit` jobs written since
  // it was last brought up to date, in one transaction; returns how many.
  // Writes of jobs only note them (it keeps the index's cost out of their
  // transactions); the worker calls this often.
  virtual Result<int> IndexPendingSearches(int limit) = 0;

  // Applies one observation (SPEC §4): finds the job by obs.job_id, else by
  // (provider, external_id), merges, writes and appends events, all in one
  // write transaction. Nothing is written when nothing changed.
  // Errors: kNotFound "job_not_found" when no job matches and
  // `create_if_missing` is false or the observation is a 404;
  // kInvalidArgument "invalid_job_id" when the job to create has an id no URL
  // could address; kConflict "concurrent_update" / "job_conflict" when the
  // row changed under the merge; database errors as above.
  virtual Result<ApplyOutcome> Apply(const Observation& obs, const PriceTable& prices, int64_t now,
                                     bool create_if_missing = true) = 0;

  // Deletes a terminal job. Errors: kNotFound "job_not_found";
  // kConflict "invalid_job_state" when the job is still active.
  virtual Status DeleteJob(std::string_view job_id) = 0;

  // Jobs created in the last `days` days before `now`.
  virtual Result<Metrics> ComputeMetrics(int days, int64_t now) = 0;

  // Active cloud jobs (pending, uploading, queued, running) that have an
  // external id, of `provider` when given; all of them, oldest first.
  virtual Result<std::vector<Job>> ListActiveJobs(const std::optional<std::string>& provider) = 0;

  // Running cloud jobs with an external id whose progress someone asked for
  // at or after `since` (progress_wanted_at), for the worker's demand refresh.
  virtual Result<std::vector<Job>> ListWatchedJobs(int64_t since) = 0;

  // Records that someone is watching a running job's progress (SPEC §5), so
  // the worker's demand refresh fetches it. Not a status write: no event.
  virtual Status RecordProgressDemand(std::string_view job_id, int64_t now) = 0;

  // The poller's backoff for a job after a failed fetch.
  virtual Status RecordPollFailure(std::string_view job_id, int failures, int64_t next_poll_at) = 0;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_JOB_STORE_H_
