// What GET /api/cloud/health and GET /api/cloud/polling/status report (SPEC §9),
// from the store and the configuration; the API routes to them.
// Pure apart from the store (health writes one probe row); thread-safety as the Store's.
#ifndef JOBPULSE_LIB_HEALTH_H_
#define JOBPULSE_LIB_HEALTH_H_

#include <cstdint>

#include "lib/config.h"
#include "lib/http.h"
#include "lib/status.h"
#include "lib/store.h"

namespace jobpulse {

// Health: the database (its probe writes, so a full disk or a read-only file
// shows as down), the worker (absent is fine, SPEC §5; a stale heartbeat is
// down) and the provider (configured or not, its circuit as the worker left
// it). 200 `{"components": {...}, "status": "ok", "timestamp"}`, or 503 with
// "unhealthy" when a component is down. `store` is null when the database
// could not be opened; `open_status` then says why. `now`: microseconds.
HttpResponse HealthResponse(const Config& config, Store* store, const Status& open_status,
                            int64_t now);

// Polling status: what the worker last reported (it writes "poller_status"
// every cycle) over what `config` implies; the reported fields are null when
// no worker has reported or its record does not parse. `store` may be null.
HttpResponse PollingStatusResponse(const Config& config, Store* store);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_HEALTH_H_
