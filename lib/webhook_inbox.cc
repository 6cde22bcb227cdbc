#include "lib/webhook_inbox.h"

#include <string>

#include "lib/log.h"
#include "lib/replicate_client.h"

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

Result<Observation> ParseDelivery(const Store::Delivery& delivery) {
  if (delivery.provider == "replicate") return ParseReplicateRun(delivery.body);
  return Status::Error(Status::Code::kInvalidArgument, "unknown_provider",
                       "no webhook format known for provider '" + delivery.provider + "'");
}

}  // namespace

Result<InboxReport> ApplyPendingDeliveries(Store& store, const PriceTable& prices,
                                           const std::function<int64_t()>& clock, int limit) {
  InboxReport report;
  auto pending = store.PendingDeliveries(limit);
  if (!pending.ok()) return pending.status();
  for (const Store::Delivery& delivery : *pending) {
    auto obs = ParseDelivery(delivery);
    Status failure;
    if (obs.ok()) {
      obs->fetched = true;  // the full run object as of the delivery
      auto outcome = store.ApplyDelivery(delivery.webhook_id, *obs, prices, clock());
      if (outcome.ok()) {
        ++report.applied;
        if (outcome->unknown_status) {
          LogWarning("job " + outcome->job.job_id + ": unknown " + delivery.provider + " status '" +
                     *outcome->unknown_status + "' ignored (webhook " + delivery.webhook_id + ")");
        }
        continue;
      }
      if (IsDatabaseFailure(outcome.status())) return outcome.status();
      failure = outcome.status();
    } else {
      failure = obs.status();
    }
    const bool last = delivery.attempts + 1 >= kMaxAttempts;
    LogWarning("webhook " + delivery.webhook_id + " (" + delivery.provider + ") " +
               (last ? "rejected" : "not applied") + ": " + failure.message());
    if (Status s = store.RecordDeliveryFailure(delivery.webhook_id, failure.message(), kMaxAttempts,
                                               clock());
        !s.ok()) {
      return s;
    }
    ++report.failed;
  }
  return report;
}

}  // namespace jobpulse
