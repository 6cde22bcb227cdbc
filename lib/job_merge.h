// The jobs table's engine-neutral logic. Apply's half (lib/job_store.h): which stored job an
// observation is about, the merge (lib/state_machine.h), and what gets
// written, in order. Each engine runs it inside its own write transaction
// and supplies the two writes (JobWrites); the SQLite and PostgreSQL engines
// thus merge with the same code.
//
// Thread-safety: as the store's (one connection, one thread).
#ifndef JOBPULSE_LIB_JOB_MERGE_H_
#define JOBPULSE_LIB_JOB_MERGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/cost.h"
#include "lib/event_log.h"
#include "lib/job.h"
#include "lib/job_store.h"
#include "lib/state_machine.h"
#include "lib/status.h"

namespace jobpulse {

// An engine's two writes, inside its open transaction.
class JobWrites {
 public:
  virtual ~JobWrites() = default;
  // Inserts `job`, or updates the row still at `expected_version`.
  // Errors: kConflict "job_conflict" (another job holds its provider's run),
  // kConflict "concurrent_update" (the row is no longer at that version),
  // database errors.
  virtual Status WriteJob(const Job& job, bool insert, int64_t expected_version) = 0;
  // Appends an event; returns its id.
  virtual Result<int64_t> InsertEvent(std::string_view job_id, EventType type,
                                      std::string_view data, int64_t now) = 0;
};

// The stored job `obs` is about: by obs.job_id, else by (provider,
// external_id), else the submitted job its webhook URL names when that job
// has no run yet (or this one) and the same provider; nullopt when there is
// none. Errors: kNotFound "job_not_found" when there is none and none may be
// created (`create_if_missing` false, or a 404 observation);
// kInvalidArgument "invalid_job_id" when the job to create has an id no URL
// could address; the store's errors.
Result<std::optional<Job>> FindJobForMerge(JobStore& store, const Observation& obs,
                                           bool create_if_missing);

// Apply's body: FindJobForMerge, MergeObservation, then (when the merge
// touched the job) the write with its version + 1 and the status and progress
// events. Nothing is written when nothing changed. Errors as Apply's.
Result<ApplyOutcome> MergeAndWrite(JobStore& store, JobWrites& writes, const Observation& obs,
                                   const PriceTable& prices, int64_t now, bool create_if_missing);

// What every engine reports the same way:
// kNotFound "job_not_found" for `job_id`;
Status JobNotFound(const std::string& job_id);
// ok when `job` may be deleted (it is terminal), else kConflict
// "invalid_job_state" naming its status;
Status CheckDeletable(const Job& job);
// the metrics of no job at all over `days` (every status at 0).
Metrics EmptyMetrics(int days);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_JOB_MERGE_H_
