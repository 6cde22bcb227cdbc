#include "lib/provider_waiters.h"

#include <algorithm>
#include <random>

#include "lib/timestamp.h"

namespace jobpulse {
namespace {

// Longer than any provider wait a slot covers (a sync's pages, its 10 s wait
// for another sync), so a slot is not handed out twice; a crashed holder's
// slot frees at once anyway.
constexpr int64_t kSlotTtlMicros = 120 * kMicrosPerSecond;

}  // namespace

int ProviderWaiterLimit(const Config& config) {
  if (config.api_max_provider_waiters.value) return *config.api_max_provider_waiters.value;
  return std::max(1, config.fcgi_pool_size.value / 2);
}

Status ProviderBusy() {
  return Status::Error(Status::Code::kUnavailable, "provider_busy",
                       "enough requests are already waiting on the provider; try again shortly")
      .set_retry_after_seconds(1);
}

std::optional<ProviderWaiterSlot> ProviderWaiterSlot::TryTake(Leases& leases, int limit,
                                                              int64_t now) {
  // Start at a random slot so handlers do not all contend for slot 0.
  static thread_local std::mt19937 rng{std::random_device{}()};
  const int first = std::uniform_int_distribution<int>(0, std::max(0, limit - 1))(rng);
  for (int i = 0; i < limit; ++i) {
    const std::string name = "provider_waiter:" + std::to_string((first + i) % limit);
    auto taken = ScopedLease::TryAcquire(leases, name, kSlotTtlMicros, now);
    if (!taken.ok()) return std::nullopt;
    if (*taken) return ProviderWaiterSlot(std::move(**taken));
  }
  return std::nullopt;
}

}  // namespace jobpulse
