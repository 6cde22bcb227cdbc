// lib/provider.h's own logic: GetMany collects GetEach's answers in the order
// asked, whatever order they arrive in, and a provider without signed webhooks
// says so.
#include "lib/provider.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace jobpulse {
namespace {

// Answers GetEach last id first; "missing" fails with kNotFound. Records what
// GetEach was given.
class BackwardsProvider : public Provider {
 public:
  const std::string& name() const override { return name_; }
  const std::string& display_name() const override { return display_; }
  bool configured() const override { return true; }
  Status NotConfigured() const override { return Status::Internal("unused"); }
  Result<std::vector<Observation>> ListRecent(int) override { return NotConfigured(); }
  Result<Observation> Get(const std::string&, long) override { return NotConfigured(); }
  void GetEach(const std::vector<std::string>& ids, int max_parallel, long budget_ms,
               const std::function<bool()>& keep_starting, const OnRun& on_run) override {
    seen_parallel = max_parallel;
    seen_budget_ms = budget_ms;
    seen_keep_starting = keep_starting();
    for (size_t i = ids.size(); i-- > 0;) {
      if (ids[i] == "missing") {
        on_run(i, Status::Error(Status::Code::kNotFound, "provider_not_found", "no " + ids[i]));
        continue;
      }
      Observation run;
      run.provider = name_;
      run.external_id = ids[i];
      run.provider_status = "processing";
      on_run(i, run);
    }
  }
  Result<Observation> Cancel(const std::string&) override { return NotConfigured(); }
  Result<ProviderAccount> Account() override { return NotConfigured(); }

  int seen_parallel = 0;
  long seen_budget_ms = 0;
  bool seen_keep_starting = false;

 private:
  std::string name_ = "backwards";
  std::string display_ = "Backwards Cloud";
};

BOOST_AUTO_TEST_SUITE(provider)

BOOST_AUTO_TEST_CASE(get_many_returns_runs_in_the_order_asked) {
  BackwardsProvider provider;
  const auto runs = provider.GetMany({"a", "missing", "c"}, 3, 4500);
  BOOST_TEST_REQUIRE(runs.size() == 3u);
  BOOST_TEST_REQUIRE(runs[0].ok());
  BOOST_TEST(runs[0]->external_id == "a");
  BOOST_TEST(!runs[1].ok());
  BOOST_TEST((runs[1].status().code() == Status::Code::kNotFound));
  BOOST_TEST(runs[1].status().message() == "no missing");
  BOOST_TEST_REQUIRE(runs[2].ok());
  BOOST_TEST(runs[2]->external_id == "c");
  BOOST_TEST(runs[2]->provider == "backwards");
  BOOST_TEST(provider.seen_parallel == 3);
  BOOST_TEST(provider.seen_budget_ms == 4500);
  BOOST_TEST(provider.seen_keep_starting);
}

BOOST_AUTO_TEST_CASE(get_many_of_nothing_is_empty) {
  BackwardsProvider provider;
  BOOST_TEST(provider.GetMany({}, 8, 1000).empty());
}

BOOST_AUTO_TEST_CASE(webhooks_are_unsupported_by_default) {
  BackwardsProvider provider;
  auto secret = provider.WebhookSecret();
  BOOST_TEST_REQUIRE(!secret.ok());
  BOOST_TEST((secret.status().code() == Status::Code::kUnavailable));
  BOOST_TEST(secret.status().error() == "webhooks_unsupported");
  BOOST_TEST(secret.status().message() == "Backwards Cloud does not sign webhooks");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
