// The job record (SPEC §3) and the local status model (SPEC §4).
//
// Job is a plain value: what one row of the `jobs` table holds. Timestamps are
// microseconds since the epoch (lib/timestamp.h); they are rendered as RFC 3339
// only at the API edge (JobToJson). Thread-safety: values, no shared state.
#ifndef JOBPULSE_LIB_JOB_H_
#define JOBPULSE_LIB_JOB_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lib/cost.h"
#include "lib/progress.h"

namespace jobpulse {

enum class JobStatus { kPending, kUploading, kQueued, kRunning, kCompleted, kFailed, kCancelled };

// "pending", "uploading", ... as stored and as the API shows them.
const char* JobStatusName(JobStatus status);
// Inverse of JobStatusName; nullopt for anything else (case-sensitive).
std::optional<JobStatus> ParseJobStatus(std::string_view name);
// pending 0 < uploading 1 < queued 2 < running 3 < terminal 4.
int JobStatusRank(JobStatus status);
bool IsTerminal(JobStatus status);

// The job-id rule of SPEC §9: [A-Za-z0-9._:-]{1,128}. Ids outside it cannot be
// addressed in a URL, so runs with such ids are never stored.
bool IsValidJobId(std::string_view id);
inline bool IsActive(JobStatus status) { return !IsTerminal(status); }

struct Job {
  std::string job_id;
  std::string job_type = "cloud";  // "cloud" or "local"
  std::optional<std::string> provider;
  std::optional<std::string> external_id;
  JobStatus status = JobStatus::kPending;
  std::optional<std::string> config_name;
  int64_t created_at = 0;
  std::optional<int64_t> started_at;
  std::optional<int64_t> completed_at;
  std::optional<double> cost_usd;  // final cost; running estimates are computed on output
  std::optional<std::string> hardware_type;
  std::optional<std::string> error_message;
  std::optional<std::string> output_url;  // only ever an http(s) URL (SPEC §3)
  // The provider's `output` as compact JSON of any type, at most kMaxOutputBytes;
  // unset when there is none or it was larger (then output_truncated).
  std::optional<std::string> output;
  bool output_truncated = false;
  std::optional<int64_t> user_id;
  std::map<std::string, std::string> metadata;  // "model", "version", "source", ...

  // Derived from the logs when they are ingested (lib/progress.h), as if running.
  Progress progress;
  std::string logs_tail;  // newest 64 KiB of the provider's log
  // Length of the longest full log text applied so far: logs never go back (SPEC §4).
  int64_t log_bytes_seen = 0;
  std::optional<int64_t> logs_fetched_at;
  std::optional<int64_t> progress_wanted_at;
  std::optional<int64_t> last_progress_event_at;
  // The stage and progress the last job_progress event announced.
  std::optional<std::string> announced_stage;
  std::optional<double> announced_progress;
  // The last provider status we could not map, so it is logged once per job.
  std::optional<std::string> unknown_provider_status;

  // The poller's backoff after failed fetches (reset by a successful one).
  int poll_failures = 0;
  std::optional<int64_t> next_poll_at;
  // Consecutive provider 404s and when the first of them came (SPEC §4 lost-job rule).
  int not_found_count = 0;
  std::optional<int64_t> not_found_since;

  int64_t version = 0;  // bumped by every write; compare-and-set key
  int64_t updated_at = 0;

  bool operator==(const Job&) const = default;
};

// What inline progress answers and decides a refresh on (SPEC §5): a few
// columns of the job row, read without the rest (Store::GetJobProgress),
// because decoding the whole row was most of that request's cost (issue 14).
struct JobProgress {
  std::string job_id;
  JobStatus status = JobStatus::kPending;
  std::optional<std::string> provider;
  std::optional<std::string> external_id;
  Progress progress;
  std::optional<int64_t> logs_fetched_at;
  std::optional<int64_t> progress_wanted_at;

  bool operator==(const JobProgress&) const = default;
};

// The JobProgress part of a whole job.
JobProgress ProgressOf(const Job& job);

// The largest provider `output` kept (SPEC §3); larger ones are dropped and flagged.
constexpr size_t kMaxOutputBytes = 64 * 1024;
// Provider text a list page carries per job besides last_log (SPEC §3).
constexpr size_t kListProviderTextBytes = 2048;

// How much of a job an answer shows: a list page omits `output` and cuts the
// provider's free text to kListProviderTextBytes per job; the detail shows all.
enum class JobView { kList, kDetail };

// The SPEC §3 JSON object of one job. `now` drives duration_seconds and the
// running cost estimate (flagged metadata.cost_is_estimate) for a job without a
// final cost. Secrets are never part of a Job, so never part of this output.
// In kList, output_url is shown whole or not at all, and the other provider
// strings (config_name, hardware_type, metadata values, error_message, in that
// order) share the budget, the last one cut to fit with "...".
std::string JobToJson(const Job& job, const PriceTable& prices, int64_t now,
                      JobView view = JobView::kDetail);

// duration_seconds: (completed_at or now) - started_at, at least 0; nullopt without
// started_at.
std::optional<double> JobDurationSeconds(const Job& job, int64_t now);

// The running estimate (now - started_at) * price, or the stored cost.
struct JobCost {
  std::optional<double> usd;
  bool is_estimate = false;
};
JobCost CostOf(const Job& job, const PriceTable& prices, int64_t now);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_JOB_H_
