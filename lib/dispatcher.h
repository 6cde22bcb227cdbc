// The queue's dispatch (SPEC §12): the worker takes the best waiting entries
// within queue.max_concurrent and queue.user_max_concurrent and creates their
// runs at the provider, with exactly one provider run per submission, also
// when a create's answer is lost or the worker dies in the middle of one.
//
// One attempt of an entry:
//  1. ClaimNextEntries makes it dispatching (lib/queue_store.h), a batch at
//     a time in one transaction.
//  2. A retry first looks for the run an earlier attempt may have made
//     (reconciliation, below); a run found is adopted and nothing is sent.
//  3. MarkSent records (for the batch, in one transaction) that the create is
//     about to go out, then the creates are sent side by side, up to the
//     provider's max_concurrent_requests.
//  4. The answer decides: a run is adopted (MarkDispatched; the job takes its
//     id through the merge, and a job cancelled meanwhile has the run
//     cancelled); a refusal (4xx) fails the job with the provider's detail; a
//     429 puts the entry back without counting the attempt and pauses every
//     dispatch until Retry-After; a 5xx, timeout or transport error is
//     reconciled at once, then retried with backoff until queue.max_attempts
//     attempts, then fails the job.
//
// Reconciliation: the provider's newest runs of the entry's kind are searched
// for the one whose webhook URL carries `job_id=<the job>`; runs whose webhook
// names no job id are matched by model, version, input digest and creation
// after the submission (lib/run_match.h), the oldest run no other job holds.
//
// At start-up, RecoverInterrupted settles what a dead worker left dispatching:
// never sent (no sent_at) goes back to waiting; sent and matched is adopted;
// sent and unmatched fails with "dispatch interrupted" (sending again could
// make a second paid run).
//
// Thread-safety: one thread at a time (the worker's).
#ifndef JOBPULSE_LIB_DISPATCHER_H_
#define JOBPULSE_LIB_DISPATCHER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "lib/config.h"
#include "lib/provider_registry.h"
#include "lib/store.h"

namespace jobpulse {

struct DispatchSettings {
  int max_concurrent = 5;        // queue.max_concurrent
  int user_max_concurrent = 2;   // queue.user_max_concurrent
  int max_attempts = 3;          // queue.max_attempts
  int max_parallel_creates = 8;  // providers.<name>.max_concurrent_requests
  // providers' webhook_url; each create's carries ?job_id=<local id>.
  std::optional<std::string> webhook_url;
  long create_timeout_ms = 30000;
  // How many of the provider's newest runs reconciliation reads.
  int reconcile_runs = 200;
  // An entry that cannot be sent now (no credential) waits this long.
  int64_t idle_retry_micros = 5 * int64_t{1000000};
};

DispatchSettings DispatchSettingsFrom(const Config& config);

// The worker's start-up line about the queue loop, beside the polling one:
// on or off, the interval, the limits, where each value came from.
std::string DescribeQueueProcessing(const Config& config);

// What one call did.
struct DispatchReport {
  int dispatched = 0;  // entries that got their run
  int failed = 0;      // jobs failed: refused, attempts spent, interrupted
  int retrying = 0;    // entries back to waiting for a later attempt
  int released = 0;    // entries back to waiting, attempt not counted
};

class Dispatcher {
 public:
  using Clock = std::function<int64_t()>;
  // `store` and `providers` outlive the dispatcher.
  Dispatcher(Store& store, const ProviderRegistry& providers, DispatchSettings settings,
             Clock clock);

  // Settles the entries left dispatching (see the file comment). Provider
  // errors while looking leave an entry dispatching for the next call.
  DispatchReport RecoverInterrupted();
  // Dispatches while an entry may start, `keep_going()` holds and no 429
  // pause is on. Failures are logged and counted, never thrown.
  DispatchReport Pass(const std::function<bool()>& keep_going);
  // The end of a 429 pause, or 0 when none is on.
  int64_t paused_until() const { return paused_until_; }

 private:
  struct Attempt;
  // Claims up to max_parallel_creates entries.
  std::vector<DispatchClaim> ClaimBatch();
  // Attempts of one provider's claims: reconcile retries, send the others.
  void DispatchBatch(Provider& provider, std::vector<Attempt>& attempts, DispatchReport* report);
  void SendCreates(Provider& provider, std::vector<Attempt*>& to_send, DispatchReport* report);
  // What a failed create does to its entry.
  void AfterFailure(Provider& provider, Attempt& attempt, const Status& error,
                    DispatchReport* report);
  // The run an earlier create made for this attempt's job, if any.
  Result<std::optional<Observation>> FindRun(Provider& provider, const Attempt& attempt);
  // The job takes `run`; a job no longer dispatching has the run cancelled
  // unless the run is already its own.
  void Adopt(Provider& provider, const Attempt& attempt, Observation run, DispatchReport* report);
  // What MarkDispatchedAll said of one run: counted, or a conflict sorted out.
  void Recorded(Provider& provider, const Attempt& attempt, const std::string& run_id,
                const Result<ApplyOutcome>& marked, DispatchReport* report);
  void Fail(const std::string& job_id, const std::string& message, DispatchReport* report);
  void Release(const std::string& job_id, const std::string& why, int64_t retry_at,
               DispatchReport* report);

  Store& store_;
  const ProviderRegistry& providers_;
  DispatchSettings settings_;
  Clock clock_;
  std::mt19937_64 rng_;
  int64_t paused_until_ = 0;
};

// The wait before attempt `attempt` + 1 after a failed one: 2^attempt
// seconds, at most a minute, with up to a fifth of jitter either way.
int64_t DispatchBackoffMicros(int attempt, std::mt19937_64& rng);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_DISPATCHER_H_
