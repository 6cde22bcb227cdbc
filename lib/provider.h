// The provider interface: what jobpulse needs from a training cloud. Callers
// (sync, refresh, cancel, validate, the worker) use only this, so a second
// provider is a new implementation (and a row in lib/provider_registry.cc,
// which builds providers from the configuration), not a change to them.
// Replicate's is lib/replicate_client.h.
//
// Every call returns observations in the vocabulary of lib/state_machine.h,
// ready for Store::Apply: `provider` is name(), and a raw provider_status is
// mapped by the provider's own mapping (MapProviderStatus,
// lib/provider_registry.h). Errors: kUnavailable "provider_not_configured" when
// there is no credential; kUpstream "provider_error" for transport failures,
// 5xx, rejected credentials and malformed answers; kRateLimited
// "provider_rate_limited" with retry_after_seconds; kNotFound
// "provider_not_found" for an unknown run.
//
// Thread-safety: one thread at a time per Provider object.
#ifndef JOBPULSE_LIB_PROVIDER_H_
#define JOBPULSE_LIB_PROVIDER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/state_machine.h"
#include "lib/status.h"

namespace jobpulse {

struct ProviderAccount {
  std::string username;
  std::string name;
  std::optional<std::string> github_url;
};

// A run to create (SPEC §12), from a queue entry's request.
struct CreateRunRequest {
  std::string kind;                        // "training" or "prediction"
  std::string model;                       // "owner/name"
  std::optional<std::string> version;      // required for trainings
  std::optional<std::string> destination;  // trainings only
  std::string input_json;                  // a JSON object
  // Where the provider sends the run's webhooks; it carries ?job_id=<local id>.
  std::optional<std::string> webhook_url;
};

class Provider {
 public:
  virtual ~Provider() = default;

  // The value of jobs.provider for its runs (kReplicateProvider for Replicate).
  virtual const std::string& name() const = 0;
  // A display name for messages ("Replicate").
  virtual const std::string& display_name() const = 0;
  // False without a credential; every other call then fails with
  // kUnavailable "provider_not_configured".
  virtual bool configured() const = 0;
  // The kUnavailable "provider_not_configured" status, naming the setting to set.
  virtual Status NotConfigured() const = 0;

  // The newest runs, newest first, following pagination until `max_runs`.
  virtual Result<std::vector<Observation>> ListRecent(int max_runs) = 0;
  // The newest runs of one kind ("training" or "prediction"), newest first,
  // up to `max_runs`: where a dispatcher looks for a run its create may have
  // made. Providers that list every kind together keep this default.
  virtual Result<std::vector<Observation>> ListRecentOfKind(const std::string& /*kind*/,
                                                            int max_runs) {
    return ListRecent(max_runs);
  }
  // One run, with its logs.
  virtual Result<Observation> Get(const std::string& external_id, long timeout_ms) = 0;
  // Called once per run asked of GetEach: its index in `external_ids`, its result.
  using OnRun = std::function<void(size_t index, Result<Observation> run)>;
  // Many runs with at most `max_parallel` requests in flight; `on_run` gets
  // each as it arrives, on the calling thread, while the others stay in flight
  // (so what it does with one overlaps the wait for the next). A request
  // starts only while `keep_starting()` is true and within `budget_ms` of the
  // call; runs never asked fail with NotReached() (lib/http_client.h).
  virtual void GetEach(const std::vector<std::string>& external_ids, int max_parallel,
                       long budget_ms, const std::function<bool()>& keep_starting,
                       const OnRun& on_run) = 0;
  // GetEach collected: results in the order of `external_ids`.
  std::vector<Result<Observation>> GetMany(const std::vector<std::string>& external_ids,
                                           int max_parallel, long budget_ms) {
    std::vector<Result<Observation>> out(external_ids.size(), Result<Observation>(Observation{}));
    GetEach(
        external_ids, max_parallel, budget_ms, [] { return true; },
        [&](size_t index, Result<Observation> run) { out[index] = std::move(run); });
    return out;
  }
  // Asks the provider to cancel; returns the run as the provider now sees it.
  virtual Result<Observation> Cancel(const std::string& external_id) = 0;
  // Creates a run and returns it as the provider answered. Never retried
  // here: a create whose answer was lost may still have made a (paid) run
  // (reference/replicate.md §5), so the caller reconciles before sending
  // again. A 4xx other than 429 is kInvalidArgument "provider_rejected" with
  // the provider's detail. Providers that cannot create keep this default:
  // kUnavailable "create_unsupported".
  virtual Result<Observation> CreateRun(const CreateRunRequest& /*request*/, long /*timeout_ms*/) {
    return Status::Error(Status::Code::kUnavailable, "create_unsupported",
                         display_name() + " cannot create runs");
  }
  // Creates `requests` with at most `max_parallel` in flight, each by the
  // rules of CreateRun with `timeout_ms`; `on_run` gets each result as its
  // create ends, on the calling thread. A create never started gets
  // NotReached() (lib/http_client.h): it surely made no run. This default
  // sends them one at a time through CreateRun.
  virtual void CreateEach(const std::vector<CreateRunRequest>& requests, int /*max_parallel*/,
                          long timeout_ms, const OnRun& on_run) {
    for (size_t i = 0; i < requests.size(); ++i) on_run(i, CreateRun(requests[i], timeout_ms));
  }
  // Who the credential belongs to; the cheapest proof that it works.
  virtual Result<ProviderAccount> Account() = 0;
  // The secret that signs this provider's webhooks ("whsec_..."), fetched from
  // the provider; a secret, never log it. Providers without signed webhooks
  // keep this default: kUnavailable "webhooks_unsupported".
  virtual Result<std::string> WebhookSecret() {
    return Status::Error(Status::Code::kUnavailable, "webhooks_unsupported",
                         display_name() + " does not sign webhooks");
  }
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PROVIDER_H_
