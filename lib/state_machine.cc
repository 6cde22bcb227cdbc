#include "lib/state_machine.h"

namespace jobpulse {
namespace {

constexpr size_t kLogTailBytes = 64 * 1024;
constexpr int64_t kProgressEventMinGapMicros = 1000000;

template <typename T>
void Take(std::optional<T>& field, const std::optional<T>& value, bool overwrite) {
  if (value && (!field || overwrite)) field = value;
}

// Replicate reports one instant with 0 to 9 fractional digits, varying between
// responses, so provider timestamps less than a second apart are the same one
// and must not count as a change.
constexpr int64_t kTimestampResolution = 1000000;

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
  x.version = b.version;
  x.updated_at = b.updated_at;
  return !(x == b);
}

}  // namespace

MappedStatus MapReplicateStatus(std::string_view s) {
  if (s == "starting") return {JobStatus::kQueued, std::nullopt};
  if (s == "processing") return {JobStatus::kRunning, std::nullopt};
  if (s == "succeeded") return {JobStatus::kCompleted, std::nullopt};
  if (s == "failed") return {JobStatus::kFailed, std::nullopt};
  if (s == "canceled") return {JobStatus::kCancelled, std::nullopt};
  if (s == "aborted") {
    return {JobStatus::kCancelled, std::string("aborted: deadline passed before start")};
  }
  return {};
}

MergeResult MergeObservation(const std::optional<Job>& current, const Observation& obs,
                             const PriceTable& prices, int64_t now) {
  MergeResult r;
  Job& job = r.job;
  if (current) {
    job = *current;
  } else {
    r.created = true;
    job.job_id = obs.job_id ? *obs.job_id : obs.external_id;
    if (!obs.provider.empty()) job.provider = obs.provider;
    if (!obs.external_id.empty()) job.external_id = obs.external_id;
    job.created_at = obs.created_at ? *obs.created_at : now;
  }

  std::optional<JobStatus> observed = obs.status;
  std::optional<std::string> error_message = obs.error_message;
  if (obs.provider_status) {
    const MappedStatus mapped = MapReplicateStatus(*obs.provider_status);
    observed = mapped.status;
    if (!error_message) error_message = mapped.error_message;
    if (!mapped.status && job.unknown_provider_status != obs.provider_status) {
      job.unknown_provider_status = obs.provider_status;
      r.unknown_status = obs.provider_status;
    }
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

  const bool from_provider = obs.source == Observation::Source::kProvider;
  // Provider clocks are the truth for timestamps; our own only fill gaps.
  if (from_provider && !r.created) {
    std::optional<int64_t> created = job.created_at;
    TakeTime(created, obs.created_at, true);
    job.created_at = *created;
  }
  TakeTime(job.started_at, obs.started_at, from_provider && !was_terminal);
  TakeTime(job.completed_at, obs.completed_at, from_provider && !was_terminal);

  // After a terminal status only these four may still be filled, and only if null.
  const bool overwrite = from_provider && !was_terminal;
  Take(job.error_message, error_message, overwrite);
  Take(job.output_url, obs.output_url, overwrite);
  if (obs.predict_time) {
    Take(job.cost_usd,
         prices.Cost(*obs.predict_time, obs.hardware_type ? obs.hardware_type : job.hardware_type),
         overwrite);
  }
  if (!was_terminal) {
    Take(job.config_name, obs.config_name, overwrite);
    Take(job.hardware_type, obs.hardware_type, overwrite);
    for (const auto& [key, value] : obs.metadata) {
      if (key == "cost_is_estimate") continue;  // computed on output, never stored
      if (overwrite || !job.metadata.count(key)) job.metadata[key] = value;
    }
  }

  if (obs.logs) {
    job.logs_tail = LogTail(*obs.logs, kLogTailBytes);
    job.progress = DeriveRunningProgress(job.logs_tail);
  }
  if (obs.logs || obs.fetched) job.logs_fetched_at = now;
  if (obs.fetched) {
    job.poll_failures = 0;
    job.next_poll_at.reset();
  }
  const bool running = job.status == JobStatus::kRunning;
  const Progress before = current ? current->progress : Progress{};
  if (running && (job.progress.stage != before.stage || job.progress.progress != before.progress)) {
    r.progress_changed = true;
  }
  // Compared with what the last event said, not with the previous row: a
  // change held back by the one-per-second limit goes out with the next
  // observation instead of being lost.
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

  r.changed = !current || VisibleFieldsDiffer(*current, job);
  r.touched = !current || !(*current == job);
  return r;
}

}  // namespace jobpulse
