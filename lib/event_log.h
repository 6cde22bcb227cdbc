// The event log of SPEC §8, as callers see it whatever the engine: every
// change a client may want to hear of, with ids that only grow, so an SSE
// client resumes after the last id it saw (Last-Event-ID). Every event's
// payload is built here, by the functions below; the job store appends a job's
// events in the same transaction as the job's write.
//
// Errors: as lib/job_store.h (kBusy, kUnavailable, kInternal).
// Thread-safety: an implementation is one connection; one thread at a time.
#ifndef JOBPULSE_LIB_EVENT_LOG_H_
#define JOBPULSE_LIB_EVENT_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/job.h"
#include "lib/status.h"

namespace jobpulse {

enum class EventType { kJobStatusChanged, kJobProgress, kJobsSynced, kQueueChanged };

// "job_status_changed", "job_progress", "jobs_synced", "queue_changed": the
// stored type and the SSE event name.
const char* EventTypeName(EventType type);

// One row of the event log. `data` is the JSON message (the payloads below).
struct Event {
  int64_t id = 0;
  std::string job_id;  // empty for events about no single job
  std::string type;    // EventTypeName of its type
  std::string data;
  int64_t created_at = 0;
};

// The payloads (SPEC §8), each a JSON object whose "type" is its event type.
// A status change; `previous` is null for a job's first status.
std::string JobStatusChangedData(const Job& job, const std::optional<JobStatus>& previous,
                                 int64_t now);
// The job's stage, progress and last log line.
std::string JobProgressData(const Job& job, int64_t now);
// A full sync's outcome: jobs it created and jobs it updated.
std::string JobsSyncedData(std::string_view provider, int64_t created, int64_t updated,
                           int64_t now);

// The queue's depth (waiting entries) and running count (SPEC §12).
std::string QueueChangedData(int64_t queue_depth, int64_t running, int64_t now);

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Events with id > after_id, oldest first, at most `limit`.
  virtual Result<std::vector<Event>> EventsAfter(int64_t after_id, int limit) = 0;
  // Appends an event not written with a job's row (e.g. kJobsSynced) in a
  // transaction of its own; returns its id.
  virtual Result<int64_t> AppendEvent(std::string_view job_id, EventType type,
                                      std::string_view data, int64_t now) = 0;
  // The smallest and the largest retained event id (0 when the log is empty).
  virtual Result<int64_t> OldestEventId() = 0;
  virtual Result<int64_t> NewestEventId() = 0;
  // How many ids were ever handed out (the last one), pruned events
  // included: never goes down, so it counts events appended (metrics).
  virtual Result<int64_t> EventIdsAssigned() = 0;
  // Keeps at most `max_events` newest events and none older than `older_than`;
  // returns how many were deleted.
  virtual Result<int64_t> PruneEvents(int64_t max_events, int64_t older_than) = 0;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_EVENT_LOG_H_
