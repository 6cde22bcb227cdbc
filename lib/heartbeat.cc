#include "lib/heartbeat.h"

#include <cstdlib>
#include <string>

namespace jobpulse {
namespace {
constexpr const char* kHeartbeatName = "worker_heartbeat";
constexpr int kLiveCycles = 2;
}  // namespace

Result<WorkerHeartbeat> ReadWorkerHeartbeat(ServiceStateStore& store, int64_t now,
                                            int default_cycle_seconds) {
  auto state = store.GetServiceState(kHeartbeatName);
  if (!state.ok()) return state.status();
  WorkerHeartbeat beat;
  if (!*state) return beat;
  beat.seen = true;
  beat.age_seconds = static_cast<double>(now - (*state)->updated_at) / 1e6;
  // strtoll saturates instead of overflowing on absurd values.
  const long long cycle = std::strtoll((*state)->value.c_str(), nullptr, 10);
  beat.cycle_seconds = cycle > 0 ? cycle : default_cycle_seconds;
  // In double: no reported cycle can overflow into "down".
  beat.live =
      beat.age_seconds < static_cast<double>(kLiveCycles) * static_cast<double>(beat.cycle_seconds);
  return beat;
}

Status WriteWorkerHeartbeat(ServiceStateStore& store, int cycle_seconds, int64_t now) {
  return store.PutServiceState(kHeartbeatName, std::to_string(cycle_seconds), now);
}

}  // namespace jobpulse
