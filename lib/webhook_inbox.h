// The webhook inbox (SPEC §7): its table, whatever the engine, and the pass
// that applies it. The FastCGI handler verifies and stores each delivery
// (InsertDelivery, or the worker's intake in batches: lib/delivery_intake.h);
// the worker calls ApplyPendingDeliveries, which parses each body in its
// provider's webhook format (ParseProviderDelivery, lib/provider_registry.h;
// a provider jobpulse does not know is a failed delivery) and merges it
// through ApplyDelivery (merge and "applied" mark in one transaction), so a
// delivery acknowledged with 200 is applied exactly once, also across worker
// restarts. A body that cannot be applied is retried a few times, then
// rejected and kept with its error.
//
// Errors: as lib/job_store.h (kBusy, kUnavailable, kInternal); the apply
// calls also as JobStore::Apply.
// Thread-safety: an implementation is one connection; one thread at a time.
#ifndef JOBPULSE_LIB_WEBHOOK_INBOX_H_
#define JOBPULSE_LIB_WEBHOOK_INBOX_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/cost.h"
#include "lib/job_store.h"
#include "lib/state_machine.h"
#include "lib/status.h"

namespace jobpulse {

class WebhookInbox {
 public:
  virtual ~WebhookInbox() = default;

  struct Delivery {
    std::string webhook_id;
    std::string provider;
    std::string body;
    int64_t received_at = 0;
    int attempts = 0;
  };
  // Stores a delivery: false when the webhook_id is already stored (a
  // duplicate delivery), true when inserted.
  virtual Result<bool> InsertDelivery(std::string_view webhook_id, std::string_view provider,
                                      std::string_view body, int64_t now) = 0;
  // InsertDelivery for many deliveries in one transaction (the worker's
  // intake): element i is true when delivery i was inserted, false for a
  // duplicate (also of an earlier one in `batch`). On an error nothing is
  // stored.
  struct NewDelivery {
    std::string webhook_id;
    std::string provider;
    std::string body;
    int64_t received_at = 0;
  };
  virtual Result<std::vector<bool>> InsertDeliveries(const std::vector<NewDelivery>& batch) = 0;
  // Deliveries neither applied nor rejected, oldest first.
  virtual Result<std::vector<Delivery>> PendingDeliveries(int limit) = 0;

  // Applies a delivery's observation (JobStore::Apply, creating the job if
  // missing) and marks the delivery applied, in one transaction. At most
  // once, also when several workers apply the same pending deliveries at
  // once: a delivery not stored, already applied, or being applied at this
  // moment by another connection (its row locked), is left alone, and its outcome is
  // DeliveryLeftAlone's (nothing written).
  virtual Result<ApplyOutcome> ApplyDelivery(std::string_view webhook_id, const Observation& obs,
                                             const PriceTable& prices, int64_t now) = 0;
  // ApplyDelivery for many deliveries in one transaction (oldest first): all
  // are applied and marked (or left alone as ApplyDelivery leaves them), or,
  // on any error, none (the caller then retries them one by one).
  struct PendingApply {
    std::string webhook_id;
    Observation observation;
  };
  virtual Result<std::vector<ApplyOutcome>> ApplyDeliveries(const std::vector<PendingApply>& batch,
                                                            const PriceTable& prices,
                                                            int64_t now) = 0;

  // Counts a failed attempt; after `max_attempts` the delivery is rejected
  // (kept with its error for inspection, never applied).
  virtual Status RecordDeliveryFailure(std::string_view webhook_id, std::string_view error,
                                       int max_attempts, int64_t now) = 0;
  struct InboxCounts {
    int64_t pending = 0;
    int64_t applied = 0;
    int64_t rejected = 0;
  };
  virtual Result<InboxCounts> CountDeliveries() = 0;
  // The deliveries waiting to be applied, cheaply (their index only): how
  // many, and when the oldest of them arrived (0 when none).
  struct PendingSummary {
    int64_t count = 0;
    int64_t oldest_received_at = 0;
  };
  virtual Result<PendingSummary> SummarizePending() = 0;

  // Retention (SPEC §7): drops the body of deliveries applied before
  // `bodies_before`, deletes applied and rejected rows older than
  // `rows_before` (their ids stop deduplicating then), and gives the freed
  // space back to the file system where the engine can (also space an earlier
  // call left). Returns how many rows lost their body or were deleted.
  virtual Result<int64_t> PruneDeliveries(int64_t bodies_before, int64_t rows_before) = 0;
};

// The outcome of a delivery an engine left alone (already applied, or being
// applied by another worker): created, changed and status_changed false, and
// the job as `jobs` reads it now, found as the merge finds it (or only the
// name a new job would take, when it is not there yet: the other worker is
// still creating it). Errors: the read's.
Result<ApplyOutcome> DeliveryLeftAlone(JobStore& jobs, const Observation& obs);

struct InboxReport {
  int applied = 0;
  int failed = 0;  // left for a retry or rejected
};

// Applies up to `limit` pending deliveries, oldest first.
// Errors: only database failures that stop the pass.
Result<InboxReport> ApplyPendingDeliveries(WebhookInbox& inbox, const PriceTable& prices,
                                           const std::function<int64_t()>& clock, int limit);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_WEBHOOK_INBOX_H_
