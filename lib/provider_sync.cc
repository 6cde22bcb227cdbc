#include "lib/provider_sync.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "lib/counters.h"
#include "lib/heartbeat.h"
#include "lib/http_client.h"
#include "lib/log.h"
#include "lib/notify.h"
#include "lib/provider_waiters.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

constexpr int64_t kSyncLeaseTtl = 120 * kMicrosPerSecond;  // outlives any sync's provider timeouts
constexpr int64_t kSyncWait = 10 * kMicrosPerSecond;
constexpr int64_t kActiveFreshness = 5 * kMicrosPerSecond;
constexpr long kActiveBudgetMs = 5000;
constexpr long kInlineRefreshTimeoutMs = 3000;

void LogUnknownStatus(const ApplyOutcome& outcome, const std::string& provider) {
  if (outcome.unknown_status) {
    LogWarning("job " + outcome.job.job_id + ": unknown " + provider + " status '" +
               *outcome.unknown_status + "' ignored");
  }
}

Result<ApplyOutcome> ApplyAndLog(Store& store, const Observation& obs, const PriceTable& prices,
                                 const Clock& clock) {
  auto outcome = store.Apply(obs, prices, clock());
  if (outcome.ok()) LogUnknownStatus(*outcome, obs.provider);
  return outcome;
}

bool IsProviderNotFound(const Status& status) { return status.code() == Status::Code::kNotFound; }

Result<SyncCounts> RunFullSync(Store& store, Provider& provider, const Config& config,
                               const PriceTable& prices, const Clock& clock) {
  auto runs = provider.ListRecent(config.replicate.sync_max_jobs.value);
  if (!runs.ok()) return runs.status();
  const auto& models = config.replicate.sync_models.value;
  SyncCounts counts;
  // Oldest first, so the event log tells the story in order.
  for (auto it = runs->rbegin(); it != runs->rend(); ++it) {
    if (!models.empty()) {
      const auto model = it->metadata.find("model");
      if (model == it->metadata.end() ||
          std::find(models.begin(), models.end(), model->second) == models.end()) {
        continue;
      }
    }
    if (!IsValidJobId(it->external_id)) {
      ++counts.skipped;
      LogWarning("sync: skipped a " + provider.display_name() +
                 " run whose id is not a valid job id (" + std::to_string(it->external_id.size()) +
                 " bytes)");
      continue;
    }
    auto outcome = ApplyAndLog(store, *it, prices, clock);
    if (!outcome.ok()) return outcome.status();
    if (outcome->created) {
      ++counts.created;
    } else if (outcome->changed) {
      ++counts.updated;
    }
  }
  const int64_t now = clock();
  auto id =
      store.AppendEvent("", EventType::kJobsSynced,
                        JobsSyncedData(provider.name(), counts.created, counts.updated, now), now);
  if (!id.ok()) return id.status();
  return counts;
}

}  // namespace

Result<SyncCounts> FullSync(Store& store, Provider& provider, const Config& config,
                            const PriceTable& prices, const Clock& clock) {
  if (!provider.configured()) return provider.NotConfigured();
  // The record of the last full sync (lib/service_state.h): a caller that
  // waited for another process's sync returns the same answer.
  const SyncRecord before = ReadSyncRecord(store, provider.name());
  const int64_t give_up = clock() + kSyncWait;
  // A sync that finished after we arrived answered our question too.
  const auto finished_since_we_came = [&]() -> std::optional<Result<SyncCounts>> {
    const SyncRecord latest = ReadSyncRecord(store, provider.name());
    if (latest.generation <= before.generation) return std::nullopt;
    if (!latest.status.ok()) return Result<SyncCounts>(latest.status);
    return Result<SyncCounts>(SyncCounts{latest.created, latest.updated, latest.skipped});
  };
  std::optional<ScopedLease> lease;
  for (;;) {
    if (auto done = finished_since_we_came()) return std::move(*done);
    auto acquired =
        ScopedLease::TryAcquire(store, "sync:" + provider.name(), kSyncLeaseTtl, clock());
    if (!acquired.ok()) return acquired.status();
    if (*acquired) {
      lease.emplace(std::move(**acquired));
      // It may have finished between our check and the lease.
      if (auto done = finished_since_we_came()) return std::move(*done);
      break;
    }
    if (clock() >= give_up) {
      return Status::Error(Status::Code::kUnavailable, "sync_in_progress",
                           "another sync of " + provider.display_name() +
                               " is still running; try again shortly",
                           {{"provider", provider.name()}})
          .set_retry_after_seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  auto result = RunFullSync(store, provider, config, prices, clock);
  SyncRecord record;
  record.generation = ReadSyncRecord(store, provider.name()).generation + 1;
  if (result.ok()) {
    record.created = result->created;
    record.updated = result->updated;
    record.skipped = result->skipped;
  } else {
    record.status = result.status();
  }
  if (Status s = WriteSyncRecord(store, provider.name(), record, clock()); !s.ok()) {
    LogWarning("could not record the sync result: " + s.ToString());
  }
  if (Status s = lease->Release(); !s.ok()) {
    LogWarning("could not release " + lease->name() + ": " + s.ToString());
  }
  return result;
}

ActiveSyncReport SyncActiveJobs(Store& store, Provider& provider, const Config& config,
                                const PriceTable& prices, const Clock& clock) {
  ActiveSyncReport report;
  auto jobs = store.ListActiveJobs(provider.name());
  if (!jobs.ok()) {
    LogWarning("active sync: " + jobs.status().ToString());
    return report;
  }
  const int64_t now = clock();
  std::vector<std::string> ids;
  std::vector<const Job*> wanted;
  for (const Job& job : *jobs) {
    if (job.logs_fetched_at && now - *job.logs_fetched_at < kActiveFreshness) {
      ++report.skipped;
    } else {
      ids.push_back(*job.external_id);
      wanted.push_back(&job);
    }
  }
  if (ids.empty()) return report;
  if (!provider.configured()) {
    report.skipped += static_cast<int>(ids.size());
    return report;
  }
  auto results =
      provider.GetMany(ids, config.replicate.max_concurrent_requests.value, kActiveBudgetMs);
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) {
      if (IsProviderNotFound(results[i].status())) {
        ++report.failed;
        if (auto lost = ApplyNotFound(store, *wanted[i], prices, clock()); !lost.ok()) {
          LogWarning("active sync of " + ids[i] + ": " + lost.status().ToString());
        }
      } else if (IsNotReached(results[i].status())) {
        ++report.skipped;
      } else {
        ++report.failed;
        LogWarning("active sync of " + ids[i] + ": " + results[i].status().ToString());
      }
      continue;
    }
    Observation obs = std::move(*results[i]);
    obs.fetched = true;
    auto outcome = ApplyAndLog(store, obs, prices, clock);
    if (outcome.ok()) {
      ++report.refreshed;
    } else {
      ++report.failed;
      LogWarning("active sync of " + ids[i] + ": " + outcome.status().ToString());
    }
  }
  return report;
}

Result<ApplyOutcome> ApplyNotFound(Store& store, const Job& job, const PriceTable& prices,
                                   int64_t now) {
  auto outcome = store.Apply(NotFoundObservation(job), prices, now, /*create_if_missing=*/false);
  if (outcome.ok() && outcome->status_changed) {
    LogWarning("job " + job.job_id + ": " + job.provider.value_or("the provider") +
               " answered 404 " + std::to_string(outcome->job.not_found_count) + " times since " +
               FormatTimestamp(outcome->job.not_found_since.value_or(now)) + "; marked failed (" +
               kLostJobMessage + ")");
  }
  return outcome;
}

Result<Job> RefreshJob(Store& store, Provider& provider, const Job& job, long timeout_ms,
                       const PriceTable& prices, const Clock& clock) {
  if (!job.external_id) return job;  // it has not reached the provider yet
  auto fetched = provider.Get(*job.external_id, timeout_ms);
  if (!fetched.ok() && IsProviderNotFound(fetched.status())) {
    auto lost = ApplyNotFound(store, job, prices, clock());
    if (!lost.ok()) return lost.status();
    return lost->job;
  }
  if (!fetched.ok()) return fetched.status();
  Observation obs = std::move(*fetched);
  obs.job_id = job.job_id;
  obs.fetched = true;
  auto outcome = ApplyAndLog(store, obs, prices, clock);
  if (!outcome.ok()) return outcome.status();
  return outcome->job;
}

void RefreshIfStale(Store& store, Provider* provider, JobProgress* job_in_out, const Config& config,
                    const PriceTable& prices, const Clock& clock) {
  const JobProgress& job = *job_in_out;
  const int64_t max_age = int64_t{config.inline_progress_max_age_seconds.value} * kMicrosPerSecond;
  const auto is_stale = [&](const auto& j, int64_t now) {
    return j.status == JobStatus::kRunning && j.external_id &&
           (!j.logs_fetched_at || now - *j.logs_fetched_at >= max_age);
  };
  const int64_t now = clock();
  if (!provider || !provider->configured() || !is_stale(job, now)) return;

  auto beat = ReadWorkerHeartbeat(store, now, config.polling_interval_seconds.value);
  if (beat.ok() && beat->live) {
    // The worker's demand refresh fetches it within max_age; never wait here.
    // One write per job per max_age is enough: the worker looks back 30 s.
    if (!job.progress_wanted_at || now - *job.progress_wanted_at >= max_age) {
      if (Status s = store.RecordProgressDemand(job.job_id, now); !s.ok()) {
        LogWarning("could not record progress demand: " + s.ToString());
      }
      PokeWorker(WorkerPokeSocketPath(store.path()));
    }
    return;
  }
  const std::string lease = "refresh:" + job.job_id;
  const std::string owner = NewLeaseOwner();
  // The lease outlives a failed call, so a failing provider costs at most one
  // call per job per max_age, however many clients poll.
  auto acquired = store.TryAcquireLease(lease, owner, max_age, now);
  if (!acquired.ok() || !*acquired) return;
  // Another process may have refreshed between our read and the lease.
  auto current = store.GetJob(job.job_id);
  if (!current.ok() || !*current || !is_stale(**current, clock())) {
    if (current.ok() && *current) *job_in_out = ProgressOf(**current);
    return;
  }
  // No free place to wait on the provider: the cache is the answer (SPEC §6).
  const auto slot = ProviderWaiterSlot::TryTake(store, ProviderWaiterLimit(config), clock());
  if (!slot) {
    *job_in_out = ProgressOf(**current);
    return;
  }
  auto refreshed = RefreshJob(store, *provider, **current, kInlineRefreshTimeoutMs, prices, clock);
  if (!refreshed.ok()) {
    LogWarning("inline-progress refresh of " + job.job_id + ": " + refreshed.status().ToString());
    *job_in_out = ProgressOf(**current);
    return;
  }
  ProcessCounters().Add(kDemandRefreshesTotal, Labels({{"by", "handler"}}));
  *job_in_out = ProgressOf(*refreshed);
}

Result<Job> CancelJob(Store& store, Provider* provider, const Job& job, const PriceTable& prices,
                      const Clock& clock) {
  if (IsTerminal(job.status)) {
    return Status::Error(Status::Code::kConflict, "invalid_job_state",
                         "Job " + job.job_id + " is already " + JobStatusName(job.status) +
                             "; only pending, uploading, queued or running jobs can be cancelled",
                         {{"job_id", job.job_id}, {"current_state", JobStatusName(job.status)}});
  }
  const auto cancel_locally = [&](const std::string& reason) -> Result<Job> {
    Observation obs;
    obs.source = Observation::Source::kLocal;
    obs.job_id = job.job_id;
    obs.provider = job.provider.value_or("");
    obs.status = JobStatus::kCancelled;
    obs.completed_at = clock();
    obs.error_message = reason;
    auto outcome = store.Apply(obs, prices, clock(), /*create_if_missing=*/false);
    if (!outcome.ok()) return outcome.status();
    return outcome->job;
  };
  if (!job.external_id) return cancel_locally("Cancelled before reaching the provider");
  if (!provider) {
    return Status::Error(Status::Code::kConflict, "unknown_provider",
                         "Job " + job.job_id + " belongs to provider '" +
                             job.provider.value_or("") + "', which jobpulse does not know",
                         {{"job_id", job.job_id}});
  }
  auto cancelled = provider->Cancel(*job.external_id);
  if (!cancelled.ok()) {
    if (cancelled.status().code() == Status::Code::kNotFound) {
      return cancel_locally("Cancelled; the provider no longer knows this run");
    }
    return cancelled.status();
  }
  Observation obs = std::move(*cancelled);
  obs.job_id = job.job_id;
  obs.fetched = true;
  auto outcome = ApplyAndLog(store, obs, prices, clock);
  if (!outcome.ok()) return outcome.status();
  return outcome->job;
}

std::string FormatActiveSyncReport(const ActiveSyncReport& report) {
  return "refreshed=" + std::to_string(report.refreshed) +
         "; skipped=" + std::to_string(report.skipped) +
         "; failed=" + std::to_string(report.failed);
}

}  // namespace jobpulse
