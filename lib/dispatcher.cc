// The dispatch pass (lib/dispatcher.h has the rules). Why it is shaped so:
//  - Creates go out in batches of up to max_parallel_creates side by side:
//    one at a time, 1,000 submissions at 50 ms a create would take 50 s.
//  - Every store write is its own short transaction and no transaction is
//    open while a request is in flight, so handlers never wait on a create.
//  - The run is always looked for before a create is sent again; an entry
//    whose create may have gone out is never simply sent twice.
#include "lib/dispatcher.h"

#include <algorithm>
#include <map>

#include "lib/http_client.h"
#include "lib/log.h"
#include "lib/run_match.h"
#include "lib/submission.h"
#include "lib/timestamp.h"

namespace jobpulse {

namespace {

// A provider's clock may run behind ours: a run created for an entry can
// carry a created_at a little before the entry's queued_at.
constexpr int64_t kClockSkew = 60 * kMicrosPerSecond;
constexpr int64_t kMaxBackoff = 60 * kMicrosPerSecond;
constexpr const char* kInterrupted = "dispatch interrupted";

}  // namespace

struct Dispatcher::Attempt {
  DispatchClaim claim;
  CreateRunRequest request;
  const std::string& job_id() const { return claim.entry.job_id; }
};

DispatchSettings DispatchSettingsFrom(const Config& config) {
  DispatchSettings s;
  s.max_concurrent = config.queue_max_concurrent.value;
  s.user_max_concurrent = config.queue_user_max_concurrent.value;
  s.max_attempts = config.queue_max_attempts.value;
  s.max_parallel_creates = config.replicate.max_concurrent_requests.value;
  s.webhook_url = config.replicate.webhook_url.value;
  s.idle_retry_micros = int64_t{config.queue_processing_interval_seconds.value} * kMicrosPerSecond;
  return s;
}

std::string DescribeQueueProcessing(const Config& config) {
  const bool on = config.queue_processing_enabled.value;
  return std::string("queue processing: ") + (on ? "on" : "off") +
         " (source: " + ConfigSourceName(config.queue_processing_enabled.source) +
         ", interval: " + std::to_string(config.queue_processing_interval_seconds.value) +
         "s, interval_source: " +
         ConfigSourceName(config.queue_processing_interval_seconds.source) +
         ", max_concurrent: " + std::to_string(config.queue_max_concurrent.value) +
         ", user_max_concurrent: " + std::to_string(config.queue_user_max_concurrent.value) +
         ", max_attempts: " + std::to_string(config.queue_max_attempts.value) + ")";
}

int64_t DispatchBackoffMicros(int attempt, std::mt19937_64& rng) {
  const int shift = std::clamp(attempt, 0, 6);
  const int64_t base = std::min(kMaxBackoff, (int64_t{1} << shift) * kMicrosPerSecond);
  std::uniform_int_distribution<int64_t> jitter(-base / 5, base / 5);
  return base + jitter(rng);
}

Dispatcher::Dispatcher(Store& store, const ProviderRegistry& providers, DispatchSettings settings,
                       Clock clock)
    : store_(store),
      providers_(providers),
      settings_(std::move(settings)),
      clock_(std::move(clock)),
      rng_(std::random_device{}()) {}

DispatchReport Dispatcher::RecoverInterrupted() {
  DispatchReport report;
  auto left = store_.DispatchingEntries();
  if (!left.ok()) {
    LogWarning("queue recovery: " + left.status().ToString());
    return report;
  }
  for (DispatchClaim& claim : *left) {
    const std::string job_id = claim.entry.job_id;
    if (!claim.entry.sent_at) {
      Release(job_id, "", clock_(), &report);  // its create never went out
      continue;
    }
    Provider* provider = providers_.Find(claim.entry.provider);
    auto request = CreateRunRequestFrom(claim.request_json, std::nullopt);
    if (!provider || !request.ok()) {
      Fail(job_id, kInterrupted, &report);
      continue;
    }
    Attempt attempt{std::move(claim), std::move(*request)};
    auto run = FindRun(*provider, attempt);
    if (!run.ok()) {
      LogWarning("queue recovery of " + job_id + " waits: " + run.status().ToString());
      continue;
    }
    if (*run) {
      LogInfo("queue recovery: job " + job_id + " has run " + (*run)->external_id);
      Adopt(*provider, attempt, std::move(**run), &report);
    } else {
      Fail(job_id, kInterrupted, &report);
    }
  }
  return report;
}

DispatchReport Dispatcher::Pass(const std::function<bool()>& keep_going) {
  DispatchReport report;
  const auto& all = providers_.providers();
  const bool can_send = std::any_of(all.begin(), all.end(),
                                    [](const auto& entry) { return entry.second->configured(); });
  if (!can_send) return report;  // entries wait for a credential, untouched
  while (keep_going() && clock_() >= paused_until_) {
    std::vector<DispatchClaim> claims = ClaimBatch();
    if (claims.empty()) break;
    std::map<std::string, std::vector<Attempt>> by_provider;
    for (DispatchClaim& claim : claims) {
      const std::string job_id = claim.entry.job_id;
      Provider* provider = providers_.Find(claim.entry.provider);
      if (!provider || !provider->configured()) {
        const std::string why = provider ? provider->NotConfigured().message()
                                         : "unknown provider " + claim.entry.provider;
        Release(job_id, why, clock_() + settings_.idle_retry_micros, &report);
        continue;
      }
      std::optional<std::string> webhook;
      if (settings_.webhook_url) webhook = WebhookUrlForJob(*settings_.webhook_url, job_id);
      auto request = CreateRunRequestFrom(claim.request_json, std::move(webhook));
      if (!request.ok()) {
        Fail(job_id, request.status().message(), &report);
        continue;
      }
      by_provider[provider->name()].push_back(Attempt{std::move(claim), std::move(*request)});
    }
    for (auto& [name, attempts] : by_provider) {
      DispatchBatch(*providers_.Find(name), attempts, &report);
    }
  }
  return report;
}

std::vector<DispatchClaim> Dispatcher::ClaimBatch() {
  auto claims = store_.ClaimNextEntries(settings_.max_concurrent, settings_.user_max_concurrent,
                                        clock_(), std::max(1, settings_.max_parallel_creates));
  if (!claims.ok()) {
    LogWarning("queue claim: " + claims.status().ToString());
    return {};
  }
  return std::move(*claims);
}

void Dispatcher::DispatchBatch(Provider& provider, std::vector<Attempt>& attempts,
                               DispatchReport* report) {
  std::vector<Attempt*> ready;
  for (Attempt& attempt : attempts) {
    if (attempt.claim.entry.attempts > 1) {
      // An earlier attempt failed and may have made the run after all.
      auto run = FindRun(provider, attempt);
      if (!run.ok()) {
        AfterFailure(provider, attempt, run.status(), report);
        continue;
      }
      if (*run) {
        Adopt(provider, attempt, std::move(**run), report);
        continue;
      }
    }
    ready.push_back(&attempt);
  }
  if (ready.empty()) return;
  std::vector<std::string> ids;
  for (const Attempt* attempt : ready) ids.push_back(attempt->job_id());
  auto marked = store_.MarkSent(ids, clock_());
  if (!marked.ok()) {  // the store failed: nothing was sent
    for (const Attempt* attempt : ready) {
      Release(attempt->job_id(), marked.status().message(), clock_() + kMicrosPerSecond, report);
    }
    return;
  }
  // Entries cancelled while claimed are not among the marked: not sent.
  std::vector<Attempt*> to_send;
  size_t next = 0;
  for (Attempt* attempt : ready) {
    if (next < marked->size() && (*marked)[next] == attempt->job_id()) {
      to_send.push_back(attempt);
      ++next;
    }
  }
  if (!to_send.empty()) SendCreates(provider, to_send, report);
}

void Dispatcher::SendCreates(Provider& provider, std::vector<Attempt*>& to_send,
                             DispatchReport* report) {
  std::vector<CreateRunRequest> requests;
  requests.reserve(to_send.size());
  for (const Attempt* attempt : to_send) requests.push_back(attempt->request);
  // The runs made are recorded together, one transaction for the batch: a
  // transaction each held the write lock a thousand times for B7's burst.
  std::vector<const Attempt*> made;
  std::vector<Observation> runs;
  provider.CreateEach(requests, settings_.max_parallel_creates, settings_.create_timeout_ms,
                      [&](size_t index, Result<Observation> run) {
                        Attempt& attempt = *to_send[index];
                        if (run.ok()) {
                          run->job_id = attempt.job_id();
                          made.push_back(&attempt);
                          runs.push_back(std::move(*run));
                        } else {
                          AfterFailure(provider, attempt, run.status(), report);
                        }
                      });
  if (runs.empty()) return;
  std::vector<Result<ApplyOutcome>> marked =
      store_.MarkDispatchedAll(runs, providers_.prices(), clock_());
  for (size_t i = 0; i < made.size(); ++i) {
    Recorded(provider, *made[i], runs[i].external_id, marked[i], report);
  }
}

void Dispatcher::AfterFailure(Provider& provider, Attempt& attempt, const Status& error,
                              DispatchReport* report) {
  const std::string& job_id = attempt.job_id();
  const int64_t now = clock_();
  if (IsNotReached(error)) {
    Release(job_id, "", now, report);  // never started: no run was made
    return;
  }
  switch (error.code()) {
    case Status::Code::kInvalidArgument:
      Fail(job_id, provider.display_name() + " refused the job: " + error.message(), report);
      return;
    case Status::Code::kRateLimited:
      paused_until_ =
          std::max(paused_until_, now + int64_t{error.retry_after_seconds()} * kMicrosPerSecond);
      LogWarning(provider.display_name() + " rate limited a create; dispatch paused " +
                 std::to_string(error.retry_after_seconds()) + " s");
      Release(job_id, error.message(), paused_until_, report);
      return;
    case Status::Code::kUnavailable:
      if (error.error() == "provider_not_configured") {  // a credential may come back
        Release(job_id, error.message(), now + settings_.idle_retry_micros, report);
      } else {  // e.g. a provider that cannot create runs at all
        Fail(job_id, error.message(), report);
      }
      return;
    default:
      break;
  }
  // The create may have made a run before its answer was lost: look first.
  auto run = FindRun(provider, attempt);
  if (run.ok() && *run) {
    Adopt(provider, attempt, std::move(**run), report);
    return;
  }
  const int attempts = attempt.claim.entry.attempts;
  if (attempts >= settings_.max_attempts) {
    Fail(job_id,
         "dispatch failed after " + std::to_string(attempts) + " attempts: " + error.message(),
         report);
    return;
  }
  const int64_t retry_at = now + DispatchBackoffMicros(attempts, rng_);
  LogWarning("create for job " + job_id + " failed (attempt " + std::to_string(attempts) +
             "), retrying: " + error.ToString());
  if (Status s = store_.RetryDispatchLater(job_id, error.message(), retry_at); !s.ok()) {
    LogWarning("queue retry of " + job_id + ": " + s.ToString());
    return;
  }
  ++report->retrying;
}

Result<std::optional<Observation>> Dispatcher::FindRun(Provider& provider, const Attempt& attempt) {
  auto runs = provider.ListRecentOfKind(attempt.request.kind, settings_.reconcile_runs);
  if (!runs.ok()) return runs.status();
  const QueueEntry& entry = attempt.claim.entry;
  for (Observation& run : *runs) {
    if (run.webhook_url && JobIdInWebhookUrl(*run.webhook_url) == entry.job_id) {
      return std::optional<Observation>(std::move(run));
    }
  }
  // Runs made without a webhook: the oldest one like ours that no job holds.
  std::optional<Observation> found;
  for (Observation& run : *runs) {
    if (run.webhook_url && !JobIdInWebhookUrl(*run.webhook_url).empty()) continue;
    if (!run.input_digest || *run.input_digest != attempt.claim.input_digest) continue;
    if (!run.created_at || *run.created_at < entry.queued_at - kClockSkew) continue;
    if (run.metadata["model"] != attempt.request.model) continue;
    if (attempt.request.version && run.metadata["version"] != *attempt.request.version) continue;
    auto holder = store_.FindByExternalId(provider.name(), run.external_id);
    if (!holder.ok()) return holder.status();
    if (*holder) continue;
    if (!found || *run.created_at < *found->created_at) found = std::move(run);
  }
  return found;
}

void Dispatcher::Adopt(Provider& provider, const Attempt& attempt, Observation run,
                       DispatchReport* report) {
  run.job_id = attempt.job_id();
  const std::string run_id = run.external_id;
  std::vector<Result<ApplyOutcome>> marked =
      store_.MarkDispatchedAll({std::move(run)}, providers_.prices(), clock_());
  Recorded(provider, attempt, run_id, marked.front(), report);
}

void Dispatcher::Recorded(Provider& provider, const Attempt& attempt, const std::string& run_id,
                          const Result<ApplyOutcome>& marked, DispatchReport* report) {
  const std::string& job_id = attempt.job_id();
  if (marked.ok()) {
    ++report->dispatched;
    return;
  }
  if (marked.status().code() != Status::Code::kConflict) {
    // Left dispatching with its create sent: recovery at the next start finds the run.
    LogWarning("job " + job_id + " got run " + run_id +
               " but the queue could not record it: " + marked.status().ToString());
    return;
  }
  // No longer dispatching: a webhook or a poll already gave the job this
  // run (and maybe ended it), or the job was cancelled meanwhile.
  auto job = store_.GetJob(job_id);
  if (job.ok() && *job && (*job)->external_id == run_id) {
    ++report->dispatched;
    return;
  }
  LogInfo("job " + job_id + " was cancelled while its create was in flight; cancelling run " +
          run_id);
  auto cancelled = provider.Cancel(run_id);
  if (!cancelled.ok()) {
    LogWarning("cancel of run " + run_id + ": " + cancelled.status().ToString());
  }
}

void Dispatcher::Fail(const std::string& job_id, const std::string& message,
                      DispatchReport* report) {
  auto failed = store_.FailDispatch(job_id, message, providers_.prices(), clock_());
  if (!failed.ok()) {
    LogWarning("failing job " + job_id + " (" + message + "): " + failed.status().ToString());
    return;
  }
  LogWarning("job " + job_id + " failed: " + message);
  ++report->failed;
}

void Dispatcher::Release(const std::string& job_id, const std::string& why, int64_t retry_at,
                         DispatchReport* report) {
  if (Status s = store_.ReleaseClaim(job_id, why, retry_at); !s.ok()) {
    LogWarning("queue release of " + job_id + ": " + s.ToString());
    return;
  }
  ++report->released;
}

}  // namespace jobpulse
