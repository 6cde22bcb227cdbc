// Keeping the store in step with a provider (SPEC §5, §6, §9): the full sync,
// the active sync, the inline-progress refresh, log refresh and cancel. Each
// reads the provider through lib/provider.h and writes only through
// Store::Apply, so the state machine of §4 holds for all of them.
//
// Cross-process coordination uses the store's leases: one full sync per
// provider runs at a time (a concurrent caller waits up to 10 s and returns
// the same counts); one handler refreshes a stale job while the others answer
// from the cache.
//
// Provider calls happen outside any database transaction. Thread-safety: the
// functions share nothing; their Store and Provider arguments are used by one
// thread at a time.
#ifndef JOBPULSE_LIB_PROVIDER_SYNC_H_
#define JOBPULSE_LIB_PROVIDER_SYNC_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "lib/config.h"
#include "lib/cost.h"
#include "lib/job.h"
#include "lib/provider.h"
#include "lib/status.h"
#include "lib/store.h"

namespace jobpulse {

using Clock = std::function<int64_t()>;  // microseconds since the epoch

struct SyncCounts {
  int created = 0;  // runs that became new jobs
  int updated = 0;  // known jobs whose visible fields changed
  int skipped = 0;  // runs refused: an id outside the job-id rule (SPEC §9)
};

// Reads the provider's newest runs (up to sync_max_jobs, only sync_models
// when set), merges each (runs whose id breaks the job-id rule are skipped
// and counted; stale list items count as nothing), and appends a "jobs_synced" event. Errors: the
// provider's (not configured, error, rate limited; nothing is written then),
// database errors, and kUnavailable "sync_in_progress" when another process's
// sync did not finish within 10 s.
Result<SyncCounts> FullSync(Store& store, Provider& provider, const Config& config,
                            const PriceTable& prices, const Clock& clock);

struct ActiveSyncReport {
  int refreshed = 0;  // fetched and merged
  int skipped = 0;    // fetched in the last 5 s, or not reached within the budget
  int failed = 0;     // the provider failed for them
};

// Refreshes every active job of `provider` that was not fetched in the last
// 5 s, with at most max_concurrent_requests in flight and a 5 s total budget.
// Jobs not reached keep their cached state. Never fails as a whole.
ActiveSyncReport SyncActiveJobs(Store& store, Provider& provider, const Config& config,
                                const PriceTable& prices, const Clock& clock);

// Records that the provider answered 404 for `job`, through the merge
// (SPEC §4: the third consecutive 404 spanning 10 minutes fails the job with
// "not found at provider"); logs the loss when it happens. Errors: database.
Result<ApplyOutcome> ApplyNotFound(Store& store, const Job& job, const PriceTable& prices,
                                   int64_t now);

// Fetches one job from its provider (with `timeout_ms`) and merges it.
// Returns the stored job after the merge; a run the provider answers 404 for
// is counted by ApplyNotFound and the stored job returned.
Result<Job> RefreshJob(Store& store, Provider& provider, const Job& job, long timeout_ms,
                       const PriceTable& prices, const Clock& clock);

// For inline progress: when `job` is running and its cache is older than
// inline_progress.max_age_seconds, either records demand for a live worker or
// (without one) lets the one handler that wins the job's lease refresh it with
// a 3 s timeout. `*job` is then what to answer from: the refreshed job's, or
// the row read again when this handler won the lease but did not refresh
// (another process had, no provider slot, the provider failed); it is
// untouched otherwise (nothing stale, a live worker, another handler's lease).
// The whole row is read before a refresh. In place, because on the hot path
// nothing changes.
void RefreshIfStale(Store& store, Provider* provider, JobProgress* job, const Config& config,
                    const PriceTable& prices, const Clock& clock);

// Cancels an active job: at the provider when it has reached it (a run the
// provider no longer knows is cancelled locally), locally otherwise. Errors:
// kConflict "invalid_job_state" for a terminal job; the provider's errors.
Result<Job> CancelJob(Store& store, Provider* provider, const Job& job, const PriceTable& prices,
                      const Clock& clock);

// "refreshed=N; skipped=N; failed=N", the X-Sync-Active header.
std::string FormatActiveSyncReport(const ActiveSyncReport& report);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PROVIDER_SYNC_H_
