// The worker's heartbeat, as every process sees it through the store: the
// worker writes it each cycle; handlers read it to decide whether to leave a
// provider refresh to the worker (SPEC §5) and to report health.
#ifndef JOBPULSE_LIB_HEARTBEAT_H_
#define JOBPULSE_LIB_HEARTBEAT_H_

#include <cstdint>
#include <optional>

#include "lib/service_state.h"
#include "lib/status.h"

namespace jobpulse {

struct WorkerHeartbeat {
  bool seen = false;          // a worker has ever written one
  double age_seconds = 0;     // since the last beat (when seen)
  int64_t cycle_seconds = 0;  // the worker's cycle as it reported it
  bool live = false;          // seen and younger than two cycles
};

// Reads the heartbeat; `default_cycle_seconds` is used when the stored cycle
// is unreadable.
Result<WorkerHeartbeat> ReadWorkerHeartbeat(ServiceStateStore& store, int64_t now,
                                            int default_cycle_seconds);

// Records a beat of a worker whose cycle is `cycle_seconds`.
Status WriteWorkerHeartbeat(ServiceStateStore& store, int cycle_seconds, int64_t now);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_HEARTBEAT_H_
