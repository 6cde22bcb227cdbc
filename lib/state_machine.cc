#include "lib/state_machine.h"

#include "lib/provider_registry.h"

namespace jobpulse {
namespace {

constexpr size_t kLogTailBytes = 64 * 1024;
constexpr int64_t kProgressEventMinGapMicros = kMicrosPerSecond;

template <typename T>
void Take(std::optional<T>& field, const std::optional<T>& value, bool overwrite) {
  if (value && (!field || overwrite)) field = value;
}

// Replicate reports one instant with 0 to 9 fractional digits, varying between
// responses, so provider timestamps less than a second apart are the same one
// and must not count as a change.
constexpr int64_t kTimestampResolution = kMicrosPerSecond;

void TakeTime(std::optional<int64_t>& field, const std::optional<int64_t>& value, bool overwrite) {
  if (!value) return;
  if (!field) {
    field = value;
  } else if (overwrite &&
             (*field - *value >= kTimestampResolution || *value - *field >= kTimestampResolution)) {
    field = value;
  }
}

// The fields a client sees; bookkeeping (fetch times, version) left out.
bool VisibleFieldsDiffer(const Job& a, const Job& b) {
  Job x = a;
  x.logs_fetched_at = b.logs_fetched_at;
  x.progress_wanted_at = b.progress_wanted_at;
  x.last_progress_event_at = b.last_progress_event_at;
  x.announced_stage = b.announced_stage;
  x.announced_progress = b.announced_progress;
  x.unknown_provider_status = b.unknown_provider_status;
  x.poll_failures = b.poll_failures;
  x.next_poll_at = b.next_poll_at;
  x.log_bytes_seen = b.log_bytes_seen;
  x.not_found_count = b.not_found_count;
  x.not_found_since = b.not_found_since;
  x.version = b.version;
  x.updated_at = b.updated_at;
  return !(x == b);
}

// The local status an observation reports, nullopt when it reports none (or
// one we cannot map); fills *error_message with the mapping's message and
// records a first sighting of an unknown status in `r`.
std::optional<JobStatus> ObservedStatus(const Observation& obs, Job& job, MergeResult& r,
                                        std::optional<std::string>& error_message) {
  error_message = obs.error_message;
  if (!obs.provider_status) return obs.status;
  // The provider's own mapping: an observation naming no provider (found by
  // job_id) speaks the stored job's provider's vocabulary.
  const std::string_view provider =
      obs.provider.empty() && job.provider ? std::string_view(*job.provider) : obs.provider;
  const MappedStatus mapped = MapProviderStatus(provider, *obs.provider_status);
  if (!error_message) error_message = mapped.error_message;
  if (!mapped.status && job.unknown_provider_status != obs.provider_status) {
    job.unknown_provider_status = obs.provider_status;
    r.unknown_status = obs.provider_status;
  }
  return mapped.status;
}

// Deliveries and list items arrive out of order, and Replicate's log text only
// grows while a run lives: an observation behind the stored status, or at the
// same status with less log, describes the past.
bool IsStale(const Job& current, const std::optional<JobStatus>& observed, const Observation& obs) {
  const int stored_rank = JobStatusRank(current.status);
  // No status of its own (unknown, or a bare log delivery): it cannot move a
  // finished job's logs, since only terminal observations may.
  const int rank =
      observed ? JobStatusRank(*observed) : (IsTerminal(current.status) ? -1 : stored_rank);
  if (rank < stored_rank) return true;
  const bool shorter_logs =
      obs.logs && static_cast<int64_t>(obs.logs->size()) < current.log_bytes_seen;
  return rank == stored_rank && shorter_logs;
}

// A 404 for a known job: counted; the third consecutive one spanning at least
// 10 minutes means the provider lost the run.
MergeResult MergeNotFound(const Job& current, int64_t now) {
  MergeResult r;
  r.job = current;
  Job& job = r.job;
  if (IsTerminal(job.status)) return r;
  ++job.not_found_count;
  if (!job.not_found_since) job.not_found_since = now;
  // Freshness for demand refresh: the provider was asked, and answered.
  job.logs_fetched_at = now;
  if (job.not_found_count >= kLostAfterNotFound && now - *job.not_found_since >= kLostAfterMicros) {
    r.previous_status = job.status;
    r.status_changed = true;
    job.status = JobStatus::kFailed;
    job.error_message = kLostJobMessage;
    // The run was already gone at the first 404; our later clock says nothing more.
    if (!job.completed_at) job.completed_at = job.not_found_since;
  }
  r.changed = VisibleFieldsDiffer(current, job);
  r.touched = true;
  return r;
}

void MergeFields(Job& job, const Observation& obs, const std::optional<std::string>& error_message,
                 bool created, bool was_terminal, const PriceTable& prices) {
  const bool from_provider = obs.source == Observation::Source::kProvider;
  // Provider clocks are the truth for timestamps; our own only fill gaps.
  if (from_provider && !created) {
    std::optional<int64_t> created_at = job.created_at;
    TakeTime(created_at, obs.created_at, true);
    job.created_at = *created_at;
  }
  TakeTime(job.started_at, obs.started_at, from_provider && !was_terminal);
  TakeTime(job.completed_at, obs.completed_at, from_provider && !was_terminal);

  // After a terminal status only these may still be filled, and only if null.
  const bool overwrite = from_provider && !was_terminal;
  Take(job.error_message, error_message, overwrite);
  Take(job.output_url, obs.output_url, overwrite);
  if ((obs.output || obs.output_truncated) &&
      (overwrite || (!job.output && !job.output_truncated))) {
    job.output = obs.output;
    job.output_truncated = obs.output_truncated;
  }
  if (obs.predict_time) {
    Take(job.cost_usd,
         prices.Cost(*obs.predict_time, obs.hardware_type ? obs.hardware_type : job.hardware_type),
         overwrite);
  }
  if (was_terminal) return;
  Take(job.config_name, obs.config_name, overwrite);
  Take(job.hardware_type, obs.hardware_type, overwrite);
  for (const auto& [key, value] : obs.metadata) {
    // Computed on output, never stored.
    if (key == "cost_is_estimate" || key == "output_truncated") continue;
    if (overwrite || !job.metadata.count(key)) job.metadata[key] = value;
  }
}

// Logs (and the progress derived from them) replace the stored ones only when
// they are not shorter than the longest applied; a higher status with shorter
// logs keeps the old ones. A terminal job takes logs only from a terminal
// observation (IsStale refuses the rest).
void MergeLogs(Job& job, const Observation& obs, int64_t now) {
  if (obs.logs && static_cast<int64_t>(obs.logs->size()) >= job.log_bytes_seen) {
    job.logs_tail = LogTail(*obs.logs, kLogTailBytes);
    // From the whole text: a long last line or a burst of output may push the
    // training bar out of the stored tail.
    job.progress = DeriveRunningProgress(*obs.logs);
    job.log_bytes_seen = static_cast<int64_t>(obs.logs->size());
  }
  if (obs.logs || obs.fetched) job.logs_fetched_at = now;
  if (obs.fetched) {
    job.poll_failures = 0;
    job.next_poll_at.reset();
    job.not_found_count = 0;
    job.not_found_since.reset();
  }
}

// Compared with what the last event said, not with the previous row: a change
// held back by the one-per-second limit goes out with the next observation
// instead of being lost.
void DecideProgressEvent(MergeResult& r, const std::optional<Job>& current, int64_t now) {
  Job& job = r.job;
  const bool running = job.status == JobStatus::kRunning;
  const Progress before = current ? current->progress : Progress{};
  if (running && (job.progress.stage != before.stage || job.progress.progress != before.progress)) {
    r.progress_changed = true;
  }
  const bool unannounced =
      job.progress.stage != job.announced_stage || job.progress.progress != job.announced_progress;
  if (running && unannounced &&
      (!job.last_progress_event_at ||
       now - *job.last_progress_event_at >= kProgressEventMinGapMicros)) {
    r.emit_progress_event = true;
    job.last_progress_event_at = now;
    job.announced_stage = job.progress.stage;
    job.announced_progress = job.progress.progress;
  }
}

}  // namespace

Observation NotFoundObservation(const Job& job) {
  Observation obs;
  obs.job_id = job.job_id;
  obs.provider = job.provider.value_or("");
  obs.external_id = job.external_id.value_or("");
  obs.not_found = true;
  return obs;
}

MergeResult MergeObservation(const std::optional<Job>& current, const Observation& obs,
                             const PriceTable& prices, int64_t now) {
  if (obs.not_found) {
    // Nothing to create from a run that does not exist.
    return current ? MergeNotFound(*current, now) : MergeResult{};
  }
  MergeResult r;
  Job& job = r.job;
  if (current) {
    job = *current;
    // A submitted job learns its run's id from the create's answer (or a
    // webhook that names the job); an id it already has is never replaced.
    if (!job.external_id && !obs.external_id.empty() &&
        obs.source == Observation::Source::kProvider &&
        (obs.provider.empty() || job.provider == obs.provider)) {
      job.external_id = obs.external_id;
    }
  } else {
    r.created = true;
    job.job_id = obs.job_id ? *obs.job_id : obs.external_id;
    if (!obs.provider.empty()) job.provider = obs.provider;
    if (!obs.external_id.empty()) job.external_id = obs.external_id;
    job.created_at = obs.created_at ? *obs.created_at : now;
  }

  std::optional<std::string> error_message;
  const std::optional<JobStatus> observed = ObservedStatus(obs, job, r, error_message);
  if (current && IsStale(*current, observed, obs)) {
    // Only the first sighting of an unknown status is kept, so it is logged once.
    const std::optional<std::string> unknown = job.unknown_provider_status;
    r.job = *current;
    r.job.unknown_provider_status = unknown;
    r.touched = r.unknown_status.has_value();
    r.stale = true;
    return r;
  }

  const bool was_terminal = current && IsTerminal(current->status);
  if (r.created) {
    job.status = observed ? *observed : JobStatus::kPending;
    r.status_changed = true;
  } else if (observed && !was_terminal && JobStatusRank(*observed) > JobStatusRank(job.status)) {
    r.previous_status = job.status;
    job.status = *observed;
    r.status_changed = true;
  }
  MergeFields(job, obs, error_message, r.created, was_terminal, prices);
  MergeLogs(job, obs, now);
  DecideProgressEvent(r, current, now);

  r.changed = !current || VisibleFieldsDiffer(*current, job);
  r.touched = !current || !(*current == job);
  return r;
}

}  // namespace jobpulse
