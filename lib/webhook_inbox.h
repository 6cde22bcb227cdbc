// Applying stored webhook deliveries (SPEC §7). The FastCGI handler verifies
// and stores each delivery (Store::InsertDelivery); the worker calls
// ApplyPendingDeliveries, which parses each body in its provider's webhook
// format (ParseProviderDelivery, lib/provider_registry.h; a provider jobpulse
// does not know is a failed delivery) and merges it through
// Store::ApplyDelivery (merge and "applied" mark in one transaction), so a
// delivery acknowledged with 200 is applied exactly once, also across worker
// restarts. A body that cannot be applied is retried a few times, then
// rejected and kept with its error.
#ifndef JOBPULSE_LIB_WEBHOOK_INBOX_H_
#define JOBPULSE_LIB_WEBHOOK_INBOX_H_

#include <functional>

#include "lib/cost.h"
#include "lib/status.h"
#include "lib/store.h"

namespace jobpulse {

struct InboxReport {
  int applied = 0;
  int failed = 0;  // left for a retry or rejected
};

// Applies up to `limit` pending deliveries, oldest first.
// Errors: only database failures that stop the pass.
Result<InboxReport> ApplyPendingDeliveries(Store& store, const PriceTable& prices,
                                           const std::function<int64_t()>& clock, int limit);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_WEBHOOK_INBOX_H_
