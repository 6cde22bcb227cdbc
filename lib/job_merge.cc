#include "lib/job_merge.h"

#include "lib/run_match.h"

namespace jobpulse {

Status JobNotFound(const std::string& job_id) {
  return Status::Error(Status::Code::kNotFound, "job_not_found", "Job not found: " + job_id,
                       {{"job_id", job_id}});
}

Status CheckDeletable(const Job& job) {
  if (IsTerminal(job.status)) return Status::Ok();
  return Status::Error(Status::Code::kConflict, "invalid_job_state",
                       "Job " + job.job_id + " is " + JobStatusName(job.status) +
                           "; only completed, failed or cancelled jobs can be deleted",
                       {{"job_id", job.job_id}, {"current_state", JobStatusName(job.status)}});
}

Metrics EmptyMetrics(int days) {
  Metrics m;
  m.period_days = days;
  for (JobStatus st :
       {JobStatus::kPending, JobStatus::kUploading, JobStatus::kQueued, JobStatus::kRunning,
        JobStatus::kCompleted, JobStatus::kFailed, JobStatus::kCancelled}) {
    m.jobs_by_status[JobStatusName(st)] = 0;
  }
  return m;
}

namespace {

// A run we have not stored whose webhook URL names a local job (the
// dispatcher's `?job_id=`, SPEC §12) belongs to that job, not to a new one, if
// the job is of the run's provider and has no run yet (or this one): so a
// webhook, a poll or a sync that sees the run before the create's answer is
// merged into the submitted job instead of creating a second job for it.
// A job of another provider, or one that already has another run, is left
// alone (stray or hostile provider data must not take over a job).
Result<std::optional<Job>> SubmittedJobOf(JobStore& store, const Observation& obs) {
  const std::string job_id = JobIdInWebhookUrl(*obs.webhook_url);
  if (job_id.empty()) return std::optional<Job>();
  auto found = store.GetJob(job_id);
  if (!found.ok() || !*found) return found;
  const Job& job = **found;
  const bool same_provider = obs.provider.empty() || job.provider == obs.provider;
  const bool free = !job.external_id || *job.external_id == obs.external_id;
  if (!same_provider || !free) return std::optional<Job>();
  return found;
}

}  // namespace

Result<std::optional<Job>> FindJobForMerge(JobStore& store, const Observation& obs,
                                           bool create_if_missing) {
  std::optional<Job> current;
  if (obs.job_id) {
    auto found = store.GetJob(*obs.job_id);
    if (!found.ok()) return found.status();
    current = std::move(found.value());
  }
  if (!current && !obs.external_id.empty()) {
    auto found = store.FindByExternalId(obs.provider, obs.external_id);
    if (!found.ok()) return found.status();
    current = std::move(found.value());
  }
  if (!current && obs.webhook_url) {
    auto submitted = SubmittedJobOf(store, obs);
    if (!submitted.ok()) return submitted.status();
    current = std::move(submitted.value());
  }
  if (!current) {
    const std::string id = obs.job_id ? *obs.job_id : obs.external_id;
    // A 404 never creates a job: there is no run to describe.
    if (!create_if_missing || obs.not_found) return JobNotFound(id);
    // A job must stay addressable by URL: never create one the API could not
    // fetch, cancel or delete (SPEC §9 job-id rule).
    if (!IsValidJobId(id)) {
      return Status::Error(Status::Code::kInvalidArgument, "invalid_job_id",
                           "refusing to create a job whose id is not [A-Za-z0-9._:-]{1,128}");
    }
  }
  return current;
}

Result<ApplyOutcome> MergeAndWrite(JobStore& store, JobWrites& writes, const Observation& obs,
                                   const PriceTable& prices, int64_t now, bool create_if_missing) {
  auto current = FindJobForMerge(store, obs, create_if_missing);
  if (!current.ok()) return current.status();
  MergeResult merged = MergeObservation(*current, obs, prices, now);
  ApplyOutcome outcome;
  outcome.created = merged.created;
  outcome.status_changed = merged.status_changed;
  outcome.changed = merged.changed;
  outcome.unknown_status = merged.unknown_status;
  outcome.stale = merged.stale;
  Job& job = merged.job;
  if (merged.touched) {
    const int64_t expected_version = *current ? (*current)->version : 0;
    job.version = expected_version + 1;
    if (merged.changed) job.updated_at = now;
    if (Status s = writes.WriteJob(job, merged.created, expected_version); !s.ok()) return s;
    if (merged.status_changed) {
      auto id = writes.InsertEvent(job.job_id, EventType::kJobStatusChanged,
                                   JobStatusChangedData(job, merged.previous_status, now), now);
      if (!id.ok()) return id.status();
    }
    if (merged.emit_progress_event) {
      auto id =
          writes.InsertEvent(job.job_id, EventType::kJobProgress, JobProgressData(job, now), now);
      if (!id.ok()) return id.status();
    }
  }
  // Untouched: nothing to write; the caller's transaction rolls back harmlessly.
  outcome.job = std::move(job);
  return outcome;
}

}  // namespace jobpulse
