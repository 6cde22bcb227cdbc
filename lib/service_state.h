// Small named values every process shares through the database, whatever the
// engine: the raw table, and the typed records kept in it. Each record's
// name and encoding live here only: the worker's poller status and circuits
// (read by health), a provider's last full sync (read by a caller that waited
// for another process's sync), the cached webhook secret (one fetch serves the
// whole handler pool), the event stream's client count (read by the metrics),
// health's write probe. The worker's heartbeat has its
// own module, lib/heartbeat.h.
//
// Reads of a record that is missing or does not decode give its "nothing
// reported" value, never an error: the values are written by the worker and
// read by everyone else, and a bad value must not break health or the sync.
//
// Errors: as lib/job_store.h (kBusy, kUnavailable, kInternal).
// Thread-safety: an implementation is one connection; one thread at a time.
#ifndef JOBPULSE_LIB_SERVICE_STATE_H_
#define JOBPULSE_LIB_SERVICE_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/status.h"

namespace jobpulse {

class ServiceStateStore {
 public:
  virtual ~ServiceStateStore() = default;

  struct Entry {
    std::string value;
    int64_t updated_at = 0;
  };
  // Writes `name` = `value` (replacing it), stamped `now`.
  virtual Status PutServiceState(std::string_view name, std::string_view value, int64_t now) = 0;
  // The entry, or nullopt when `name` was never written.
  virtual Result<std::optional<Entry>> GetServiceState(std::string_view name) = 0;
};

// The worker's report of its last polling cycle (SPEC §6, polling status).
// Each field is nullopt when the worker has not reported it (or the stored
// record does not decode, or has the field of another type).
struct PollerStatusRecord {
  std::optional<std::string> last_cycle_at;  // RFC 3339
  std::optional<int64_t> last_cycle_jobs;
  std::optional<std::string> last_error;
};
Status WritePollerStatus(ServiceStateStore& store, const PollerStatusRecord& record, int64_t now);
PollerStatusRecord ReadPollerStatus(ServiceStateStore& store);

// A provider's circuit as the worker last saw it: "open" or "closed" (the
// default when never written or unreadable).
Status WriteCircuitState(ServiceStateStore& store, std::string_view provider, bool open,
                         int64_t now);
std::string ReadCircuitState(ServiceStateStore& store, std::string_view provider);

// How many clients follow the worker's event stream (/api/events), as the
// worker last wrote it; 0 when never written or unreadable.
Status WriteSseClients(ServiceStateStore& store, int64_t clients, int64_t now);
int64_t ReadSseClients(ServiceStateStore& store);

// The last full sync of a provider. `generation` grows by one per sync;
// `status` is the sync's error (ok when it succeeded). Zero when none.
struct SyncRecord {
  int64_t generation = 0;
  Status status;
  int created = 0;
  int updated = 0;
  int skipped = 0;
};
Status WriteSyncRecord(ServiceStateStore& store, std::string_view provider,
                       const SyncRecord& record, int64_t now);
SyncRecord ReadSyncRecord(ServiceStateStore& store, std::string_view provider);

// A provider's webhook signing secret, cached: the cached text when it was
// written less than `max_age` ago (and not in the future), else nullopt.
Status CacheWebhookSecret(ServiceStateStore& store, std::string_view provider,
                          std::string_view secret, int64_t now);
std::optional<std::string> CachedWebhookSecret(ServiceStateStore& store, std::string_view provider,
                                               int64_t max_age, int64_t now);

// Queue passes asked of the worker (POST /api/queue/process, SPEC §12): a
// caller takes a ticket (the last ticket + 1; two callers at once may share
// one, which serves both), pokes the worker, and waits until the worker's
// record of the last pass served reaches its ticket.
Result<int64_t> RequestQueuePass(ServiceStateStore& store, int64_t now);
// The newest ticket taken; 0 when none.
int64_t ReadQueuePassRequest(ServiceStateStore& store);
struct QueuePassRecord {
  int64_t ticket = 0;  // the newest ticket the pass served; 0 when none
  int dispatched = 0;  // entries it dispatched
};
Status WriteQueuePassDone(ServiceStateStore& store, const QueuePassRecord& record, int64_t now);
QueuePassRecord ReadQueuePassDone(ServiceStateStore& store);

// Health's probe: a small write proving the database accepts writes.
Status WriteHealthProbe(ServiceStateStore& store, int64_t now);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_SERVICE_STATE_H_
