// The one merge function (SPEC §4): every observation of a job, from a poll, a
// sync, an active sync, a webhook or a cancel, is applied through
// MergeObservation, and only the store's Apply (lib/store.h) writes its result.
//
// Rules:
//  - status moves only forward in rank; a terminal status is final, though a
//    later observation may still fill a null completed_at, cost_usd,
//    error_message or output_url;
//  - a null (unset) field in an observation never overwrites a known value;
//  - provider timestamps win over local ones; a local observation only fills nulls;
//  - a provider status means what its provider's own mapping says
//    (MapProviderStatus, lib/provider_registry.h; Replicate's is
//    MapReplicateStatus in lib/replicate_run.h, where `canceled`/`aborted`
//    become `cancelled`, never `failed`): this module knows no provider's
//    vocabulary;
//  - an unknown provider status changes nothing but is recorded on the job
//    (unknown_provider_status) and reported once (MergeResult::unknown_status)
//    for the caller to log;
//  - logs never go backwards: an observation whose status rank is below the
//    stored one, or equal with a shorter full log text than the longest one
//    applied (log_bytes_seen), is stale and changes nothing at all; a higher
//    rank with shorter logs moves the status but keeps the logs; a terminal
//    job's logs change only through a terminal observation;
//  - a provider 404 (Observation::not_found) only counts; the third consecutive
//    one at least 10 minutes after the first fails the job with
//    "not found at provider".
// Pure; thread-safe.
#ifndef JOBPULSE_LIB_STATE_MACHINE_H_
#define JOBPULSE_LIB_STATE_MACHINE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lib/cost.h"
#include "lib/job.h"
#include "lib/timestamp.h"

namespace jobpulse {

// What a provider's status means locally (SPEC §4), as the provider's own
// mapping says: the local status (nullopt: a status the provider's mapping does
// not know) and an error message the status implies, used when the
// observation carries none.
struct MappedStatus {
  std::optional<JobStatus> status;
  std::optional<std::string> error_message;
};

struct Observation {
  // kProvider: what the provider said (its timestamps win).
  // kLocal: what this service decided (e.g. cancel before upload); fills nulls only.
  enum class Source { kProvider, kLocal };
  Source source = Source::kProvider;

  // Identity: job_id when known, else (provider, external_id). A job created by an
  // observation takes job_id, or else the external id (SPEC §3).
  std::optional<std::string> job_id;
  std::string provider;
  std::string external_id;

  // Raw, in the vocabulary of `provider` (of the stored job's provider when
  // `provider` is empty), e.g. "processing"; the merge maps it through
  // MapProviderStatus (lib/provider_registry.h).
  std::optional<std::string> provider_status;
  std::optional<JobStatus> status;  // a local status (used when no provider_status)

  std::optional<int64_t> created_at;
  std::optional<int64_t> started_at;
  std::optional<int64_t> completed_at;
  std::optional<double> predict_time;  // seconds billed (metrics.predict_time)
  std::optional<std::string> config_name;
  std::optional<std::string> hardware_type;
  std::optional<std::string> error_message;
  std::optional<std::string> output_url;
  std::optional<std::string> output;            // compact JSON, at most kMaxOutputBytes
  bool output_truncated = false;                // the output was larger and is not kept
  std::map<std::string, std::string> metadata;  // keys set here replace stored ones
  std::optional<std::string> logs;              // the full log text, when fetched
  // True when this is the run itself, freshly fetched (a GET, a cancel, a
  // webhook), not a list item: it marks the job's cache fresh (logs_fetched_at).
  bool fetched = false;
  // The provider answered 404 for this run (a fetch that found nothing): only
  // job_id is meaningful then. See NotFoundObservation.
  bool not_found = false;
  // What ties a run to the submission that created it (lib/run_match.h): the
  // run's webhook URL and its input's digest. The merge stores neither.
  std::optional<std::string> webhook_url;
  std::optional<std::string> input_digest;
};

// The observation that a fetch of `job` at its provider answered 404.
Observation NotFoundObservation(const Job& job);

// Consecutive 404s and the span they must cover before a job is lost (SPEC §4).
constexpr int kLostAfterNotFound = 3;
constexpr int64_t kLostAfterMicros = 600 * kMicrosPerSecond;
constexpr const char* kLostJobMessage = "not found at provider";

struct MergeResult {
  Job job;  // the row to store (version and updated_at not yet bumped)
  // A field a client can see differs from `current` (updated_at should move).
  bool changed = false;
  // Anything differs, bookkeeping included (logs_fetched_at): the row must be written.
  bool touched = false;
  // Older than what is stored (SPEC §4): nothing changes and nothing is written.
  bool stale = false;
  bool created = false;                       // there was no row
  bool status_changed = false;                // also true for a created job
  std::optional<JobStatus> previous_status;   // set when status_changed and not created
  bool progress_changed = false;              // stage or progress differ (running jobs only)
  bool emit_progress_event = false;           // progress_changed and >= 1 s since the last event
  std::optional<std::string> unknown_status;  // a new unmapped provider status to log once
};

// Applies `obs` to `current` (nullopt: no such job yet) at time `now` (micros).
// Cost: predict_time * price(hardware) when predict_time is given; never clears
// a known cost.
MergeResult MergeObservation(const std::optional<Job>& current, const Observation& obs,
                             const PriceTable& prices, int64_t now);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_STATE_MACHINE_H_
