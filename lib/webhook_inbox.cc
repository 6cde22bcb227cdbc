#include "lib/webhook_inbox.h"

#include <string>

#include "lib/job_merge.h"
#include "lib/log.h"
#include "lib/provider_registry.h"

namespace jobpulse {
namespace {

// A body that cannot be applied gets this many tries: a parse error will not
// go away, but a conflict with a concurrent write might.
constexpr int kMaxAttempts = 3;

// Failures of the database itself end the pass (the next one retries every
// delivery); anything else is about this one delivery.
bool IsDatabaseFailure(const Status& s) {
  return s.code() == Status::Code::kBusy || s.code() == Status::Code::kInternal ||
         s.code() == Status::Code::kUnavailable;
}

}  // namespace

Result<ApplyOutcome> DeliveryLeftAlone(JobStore& jobs, const Observation& obs) {
  auto job = FindJobForMerge(jobs, obs, /*create_if_missing=*/true);
  if (!job.ok() && job.status().code() != Status::Code::kNotFound) return job.status();
  ApplyOutcome outcome;
  if (job.ok() && *job) {
    outcome.job = std::move(**job);
  } else {
    outcome.job.job_id = obs.job_id ? *obs.job_id : obs.external_id;  // the name it will have
  }
  return outcome;
}

Result<InboxReport> ApplyPendingDeliveries(WebhookInbox& store, const PriceTable& prices,
                                           const std::function<int64_t()>& clock, int limit) {
  InboxReport report;
  auto pending = store.PendingDeliveries(limit);
  if (!pending.ok()) return pending.status();
  const auto record_failure = [&](const WebhookInbox::Delivery& delivery,
                                  const Status& failure) -> Status {
    const bool last = delivery.attempts + 1 >= kMaxAttempts;
    LogWarning("webhook " + delivery.webhook_id + " (" + delivery.provider + ") " +
               (last ? "rejected" : "not applied") + ": " + failure.message());
    ++report.failed;
    return store.RecordDeliveryFailure(delivery.webhook_id, failure.message(), kMaxAttempts,
                                       clock());
  };
  const auto log_unknown = [](const ApplyOutcome& outcome, const WebhookInbox::Delivery& delivery) {
    if (outcome.unknown_status) {
      LogWarning("job " + outcome.job.job_id + ": unknown " + delivery.provider + " status '" +
                 *outcome.unknown_status + "' ignored (webhook " + delivery.webhook_id + ")");
    }
  };

  std::vector<WebhookInbox::PendingApply> batch;
  std::vector<const WebhookInbox::Delivery*> batched;
  for (const WebhookInbox::Delivery& delivery : *pending) {
    auto obs = ParseProviderDelivery(delivery.provider, delivery.body);
    if (!obs.ok()) {
      if (Status s = record_failure(delivery, obs.status()); !s.ok()) return s;
      continue;
    }
    obs->fetched = true;  // the full run object as of the delivery
    batch.push_back({delivery.webhook_id, std::move(*obs)});
    batched.push_back(&delivery);
  }
  if (batch.empty()) return report;

  // All at once in the common case; one by one when some delivery fails, so
  // that the others are applied and only it is retried.
  auto outcomes = store.ApplyDeliveries(batch, prices, clock());
  if (outcomes.ok()) {
    for (size_t i = 0; i < outcomes->size(); ++i) log_unknown((*outcomes)[i], *batched[i]);
    report.applied += static_cast<int>(outcomes->size());
    return report;
  }
  if (IsDatabaseFailure(outcomes.status())) return outcomes.status();
  for (size_t i = 0; i < batch.size(); ++i) {
    auto outcome = store.ApplyDelivery(batch[i].webhook_id, batch[i].observation, prices, clock());
    if (outcome.ok()) {
      ++report.applied;
      log_unknown(*outcome, *batched[i]);
      continue;
    }
    if (IsDatabaseFailure(outcome.status())) return outcome.status();
    if (Status s = record_failure(*batched[i], outcome.status()); !s.ok()) return s;
  }
  return report;
}

}  // namespace jobpulse
