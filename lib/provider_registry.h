// The providers jobpulse knows, in one table (provider_registry.cc): for each,
// its name, how it is built from the configuration, what its statuses mean and
// how its webhook deliveries read. A second provider is one more row there and
// its own modules; the merge (lib/state_machine.h), the webhook inbox
// (lib/webhook_inbox.h), the API and the worker find it through this module
// and need no change.
//
// ProviderRegistry is one process's set of providers, built once from its
// configuration, with the one price table (SPEC §2: hardware_prices,
// default_hardware). Thread-safety: a registry is used by one thread at a time
// (so are its providers, lib/provider.h); the free functions are pure and
// thread-safe.
#ifndef JOBPULSE_LIB_PROVIDER_REGISTRY_H_
#define JOBPULSE_LIB_PROVIDER_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config.h"
#include "lib/cost.h"
#include "lib/provider.h"
#include "lib/replicate_run.h"
#include "lib/state_machine.h"
#include "lib/status.h"

namespace jobpulse {

// The provider a request means when it names none (POST /api/cloud/jobs/sync
// without a body), and whose vocabulary a status of an unknown provider is
// read in (MapProviderStatus).
inline constexpr const char* kDefaultProvider = kReplicateProvider;

class ProviderRegistry {
 public:
  using Providers = std::map<std::string, std::unique_ptr<Provider>, std::less<>>;

  // Every provider jobpulse knows, configured or not (an unconfigured one
  // answers kUnavailable "provider_not_configured"), and the price table of
  // PricesFromConfig. Makes no provider call.
  static ProviderRegistry FromConfig(const Config& config);

  // These providers, each under its name() (a later one of the same name
  // replaces an earlier one; null entries are skipped), and `prices`. For
  // tests and tools that bring their own providers.
  ProviderRegistry(std::vector<std::unique_ptr<Provider>> providers, PriceTable prices);

  // The provider called `name`; nullptr when there is none.
  Provider* Find(std::string_view name) const;
  // All of them, in name order.
  const Providers& providers() const { return providers_; }
  const PriceTable& prices() const { return prices_; }

 private:
  Providers providers_;
  PriceTable prices_;
};

// The price table of the configuration: providers.replicate.hardware_prices
// and providers.replicate.default_hardware.
PriceTable PricesFromConfig(const Config& config);

// The provider called `name` built from the configuration, or nullptr when
// jobpulse knows no such provider.
std::unique_ptr<Provider> MakeProvider(const std::string& name, const Config& config);

// What `status`, in the vocabulary of the provider called `provider`, means
// locally (SPEC §4), by that provider's own mapping (Replicate's:
// MapReplicateStatus). A name jobpulse does not know, or "", is read in the
// default provider's vocabulary (kDefaultProvider), as every status was before
// providers mapped their own. A status the mapping does not know -> no status.
MappedStatus MapProviderStatus(std::string_view provider, std::string_view status);

// One webhook delivery's body, in the webhook format of the provider called
// `provider`, as an observation (Replicate's: ParseReplicateRun). Errors: the
// provider's parse errors; kInvalidArgument "unknown_provider" ("no webhook
// format known for provider '<name>'") when jobpulse knows no such provider.
Result<Observation> ParseProviderDelivery(std::string_view provider, std::string_view body);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PROVIDER_REGISTRY_H_
