// How many handlers may wait on a provider at once (SPEC §6 "the pool is never
// held hostage"). Requests that must talk to the provider (full sync,
// sync_active, cancel, validate, logs?refresh=true, the inline refresh without
// a worker) each hold one slot while they wait; with every slot taken the next
// one answers 503 provider_busy at once, so reads, inline progress with a
// worker and webhooks always find a free handler however slow the provider.
//
// Slots are leases in the shared store ("provider_waiter:<i>"), so the limit
// holds across the whole process pool; a handler killed while holding one
// frees it at once (the store frees leases of dead owners).
//
// Thread-safety: a slot is used by one thread; its Leases (the store) are the caller's.
#ifndef JOBPULSE_LIB_PROVIDER_WAITERS_H_
#define JOBPULSE_LIB_PROVIDER_WAITERS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "lib/config.h"
#include "lib/leases.h"
#include "lib/status.h"

namespace jobpulse {

// api.max_provider_waiters, or half the FastCGI pool (fcgi pool size), at least 1.
int ProviderWaiterLimit(const Config& config);

// 503 provider_busy with Retry-After: 1.
Status ProviderBusy();

// A held place among the waiters: a lease, freed when the slot goes out of
// scope (a failed release only delays it until the lease expires).
class ProviderWaiterSlot {
 public:
  // Takes a free slot among `limit`, or nullopt when all are held (or the
  // store cannot be written: waiting on the provider is then pointless).
  static std::optional<ProviderWaiterSlot> TryTake(Leases& leases, int limit, int64_t now);

 private:
  explicit ProviderWaiterSlot(ScopedLease lease) : lease_(std::move(lease)) {}
  ScopedLease lease_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PROVIDER_WAITERS_H_
