// lib/provider_registry.h: the providers and prices built from a
// configuration, the registry of given providers, and the per-provider status
// mapping and webhook format. No network: building a provider makes no call.
#include "lib/provider_registry.h"

#include <boost/test/unit_test.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace jobpulse {
namespace {

std::string Show(const std::optional<JobStatus>& s) { return s ? JobStatusName(*s) : "null"; }
std::string Show(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "null"; }

// A provider that only has a name.
class NamedProvider : public Provider {
 public:
  explicit NamedProvider(std::string name, int tag = 0) : name_(std::move(name)), tag(tag) {}
  const std::string& name() const override { return name_; }
  const std::string& display_name() const override { return name_; }
  bool configured() const override { return true; }
  Status NotConfigured() const override { return Status::Internal("unused"); }
  Result<std::vector<Observation>> ListRecent(int) override { return NotConfigured(); }
  Result<Observation> Get(const std::string&, long) override { return NotConfigured(); }
  void GetEach(const std::vector<std::string>&, int, long, const std::function<bool()>&,
               const OnRun&) override {}
  Result<Observation> Cancel(const std::string&) override { return NotConfigured(); }
  Result<ProviderAccount> Account() override { return NotConfigured(); }

  const std::string name_;
  const int tag;
};

BOOST_AUTO_TEST_SUITE(provider_registry)

BOOST_AUTO_TEST_CASE(from_config_builds_replicate_and_the_price_table) {
  Config config;
  config.replicate.hardware_prices.value = {{"gpu-x", 0.5}, {"gpu-y", 0.25}};
  config.replicate.default_hardware.value = "gpu-y";
  const ProviderRegistry registry = ProviderRegistry::FromConfig(config);

  BOOST_TEST(registry.providers().size() == 1u);
  Provider* replicate = registry.Find("replicate");
  BOOST_TEST_REQUIRE(replicate != nullptr);
  BOOST_TEST(registry.providers().begin()->first == "replicate");
  BOOST_TEST(replicate->name() == "replicate");
  BOOST_TEST(replicate->display_name() == "Replicate");
  BOOST_TEST(!replicate->configured());
  BOOST_TEST(replicate->NotConfigured().error() == "provider_not_configured");
  BOOST_TEST(registry.Find("modal") == nullptr);
  BOOST_TEST(registry.Find("") == nullptr);
  BOOST_TEST(registry.Find("Replicate") == nullptr);

  BOOST_TEST(registry.prices().per_second.size() == 2u);
  BOOST_TEST(registry.prices().per_second.at("gpu-x") == 0.5);
  BOOST_TEST(registry.prices().per_second.at("gpu-y") == 0.25);
  BOOST_TEST(registry.prices().default_sku == "gpu-y");
}

BOOST_AUTO_TEST_CASE(a_token_in_the_config_makes_replicate_configured) {
  Config config;
  config.replicate.api_token.value = "r8_token";
  const ProviderRegistry registry = ProviderRegistry::FromConfig(config);
  BOOST_TEST_REQUIRE(registry.Find("replicate") != nullptr);
  BOOST_TEST(registry.Find("replicate")->configured());
}

BOOST_AUTO_TEST_CASE(prices_from_config_are_the_default_table_by_default) {
  const PriceTable prices = PricesFromConfig(Config{});
  BOOST_TEST(prices.per_second.size() == DefaultHardwarePrices().size());
  BOOST_TEST(prices.per_second.at("gpu-l40s") == 0.000975);
  BOOST_TEST(prices.default_sku == "gpu-l40s");
}

BOOST_AUTO_TEST_CASE(given_providers_are_kept_by_name_and_the_later_of_a_name_wins) {
  std::vector<std::unique_ptr<Provider>> given;
  given.push_back(std::make_unique<NamedProvider>("b", 1));
  given.push_back(nullptr);
  given.push_back(std::make_unique<NamedProvider>("a", 2));
  given.push_back(std::make_unique<NamedProvider>("b", 3));
  PriceTable prices;
  prices.default_sku = "gpu-z";
  const ProviderRegistry registry(std::move(given), prices);

  BOOST_TEST(registry.providers().size() == 2u);
  std::vector<std::string> names;
  for (const auto& [name, provider] : registry.providers()) names.push_back(name);
  BOOST_TEST(names == (std::vector<std::string>{"a", "b"}), boost::test_tools::per_element());
  BOOST_TEST(static_cast<NamedProvider*>(registry.Find("a"))->tag == 2);
  BOOST_TEST(static_cast<NamedProvider*>(registry.Find("b"))->tag == 3);
  BOOST_TEST(registry.Find("replicate") == nullptr);
  BOOST_TEST(registry.prices().default_sku == "gpu-z");
  BOOST_TEST(registry.prices().per_second.empty());
}

BOOST_AUTO_TEST_CASE(make_provider_knows_replicate_only) {
  auto replicate = MakeProvider("replicate", Config{});
  BOOST_TEST_REQUIRE(replicate != nullptr);
  BOOST_TEST(replicate->name() == "replicate");
  BOOST_TEST(MakeProvider("modal", Config{}) == nullptr);
  BOOST_TEST(MakeProvider("", Config{}) == nullptr);
  BOOST_TEST(std::string(kDefaultProvider) == "replicate");
}

BOOST_AUTO_TEST_CASE(replicate_statuses_are_mapped_by_replicate) {
  BOOST_TEST(Show(MapProviderStatus("replicate", "starting").status) == "queued");
  BOOST_TEST(Show(MapProviderStatus("replicate", "processing").status) == "running");
  BOOST_TEST(Show(MapProviderStatus("replicate", "succeeded").status) == "completed");
  BOOST_TEST(Show(MapProviderStatus("replicate", "failed").status) == "failed");
  BOOST_TEST(Show(MapProviderStatus("replicate", "canceled").status) == "cancelled");
  const MappedStatus aborted = MapProviderStatus("replicate", "aborted");
  BOOST_TEST(Show(aborted.status) == "cancelled");
  BOOST_TEST(Show(aborted.error_message) == "\"aborted: deadline passed before start\"");
  const MappedStatus unknown = MapProviderStatus("replicate", "paused");
  BOOST_TEST(Show(unknown.status) == "null");
  BOOST_TEST(Show(unknown.error_message) == "null");
  BOOST_TEST(Show(MapProviderStatus("replicate", "running").status) == "null");
}

BOOST_AUTO_TEST_CASE(an_unknown_provider_is_read_in_the_default_vocabulary) {
  BOOST_TEST(Show(MapProviderStatus("modal", "succeeded").status) == "completed");
  BOOST_TEST(Show(MapProviderStatus("", "processing").status) == "running");
  BOOST_TEST(Show(MapProviderStatus("modal", "paused").status) == "null");
  BOOST_TEST(Show(MapProviderStatus("", "aborted").error_message) ==
             "\"aborted: deadline passed before start\"");
}

BOOST_AUTO_TEST_CASE(a_replicate_delivery_is_parsed_as_a_replicate_run) {
  auto obs = ParseProviderDelivery(
      "replicate", R"({"id":"r8-1","status":"processing","created_at":"2026-11-28T09:00:00Z"})");
  BOOST_TEST_REQUIRE(obs.ok(), obs.status().ToString());
  BOOST_TEST(obs->provider == "replicate");
  BOOST_TEST(obs->external_id == "r8-1");
  BOOST_TEST(Show(obs->provider_status) == "\"processing\"");

  auto bad = ParseProviderDelivery("replicate", "not json");
  BOOST_TEST_REQUIRE(!bad.ok());
  BOOST_TEST((bad.status().code() == Status::Code::kUpstream));
  BOOST_TEST(bad.status().error() == "provider_error");
  BOOST_TEST(bad.status().message() == "Replicate answered a run with malformed JSON");
}

BOOST_AUTO_TEST_CASE(a_delivery_of_an_unknown_provider_is_refused) {
  auto obs = ParseProviderDelivery("modal", R"({"id":"m-1","status":"processing"})");
  BOOST_TEST_REQUIRE(!obs.ok());
  BOOST_TEST((obs.status().code() == Status::Code::kInvalidArgument));
  BOOST_TEST(obs.status().error() == "unknown_provider");
  BOOST_TEST(obs.status().message() == "no webhook format known for provider 'modal'");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
