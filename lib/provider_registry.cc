// The table of known providers and the registry built from it (see
// provider_registry.h).
#include "lib/provider_registry.h"

#include "lib/replicate_client.h"

namespace jobpulse {
namespace {

// What jobpulse knows of one provider without an instance of it.
struct ProviderKind {
  const char* name;
  std::unique_ptr<Provider> (*make)(const Config& config);
  MappedStatus (*map_status)(std::string_view status);
  Result<Observation> (*parse_delivery)(std::string_view body);
};

std::unique_ptr<Provider> MakeReplicate(const Config& config) {
  return std::make_unique<ReplicateClient>(config.replicate.api_token.value,
                                           config.replicate.base_url.value);
}

constexpr ProviderKind kKinds[] = {
    {kReplicateProvider, &MakeReplicate, &MapReplicateStatus, &ParseReplicateRun},
};

const ProviderKind* FindKind(std::string_view name) {
  for (const ProviderKind& kind : kKinds) {
    if (name == kind.name) return &kind;
  }
  return nullptr;
}

}  // namespace

ProviderRegistry ProviderRegistry::FromConfig(const Config& config) {
  std::vector<std::unique_ptr<Provider>> providers;
  for (const ProviderKind& kind : kKinds) providers.push_back(kind.make(config));
  return ProviderRegistry(std::move(providers), PricesFromConfig(config));
}

ProviderRegistry::ProviderRegistry(std::vector<std::unique_ptr<Provider>> providers,
                                   PriceTable prices)
    : prices_(std::move(prices)) {
  for (auto& provider : providers) {
    if (!provider) continue;
    const std::string name = provider->name();
    providers_[name] = std::move(provider);
  }
}

Provider* ProviderRegistry::Find(std::string_view name) const {
  const auto it = providers_.find(name);
  return it == providers_.end() ? nullptr : it->second.get();
}

PriceTable PricesFromConfig(const Config& config) {
  PriceTable prices;
  prices.per_second = config.replicate.hardware_prices.value;
  prices.default_sku = config.replicate.default_hardware.value;
  return prices;
}

std::unique_ptr<Provider> MakeProvider(const std::string& name, const Config& config) {
  const ProviderKind* kind = FindKind(name);
  return kind ? kind->make(config) : nullptr;
}

MappedStatus MapProviderStatus(std::string_view provider, std::string_view status) {
  const ProviderKind* kind = FindKind(provider);
  if (!kind) kind = FindKind(kDefaultProvider);
  return kind->map_status(status);
}

Result<Observation> ParseProviderDelivery(std::string_view provider, std::string_view body) {
  if (const ProviderKind* kind = FindKind(provider)) return kind->parse_delivery(body);
  return Status::Error(Status::Code::kInvalidArgument, "unknown_provider",
                       "no webhook format known for provider '" + std::string(provider) + "'");
}

}  // namespace jobpulse
