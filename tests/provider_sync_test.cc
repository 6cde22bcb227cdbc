// lib/provider_sync.h against an in-memory provider: what a full sync, an
// active sync, a cancel and repeated 404s write, and what they refuse. The
// same paths over HTTP against the simulator are in
// tests/integration/replicate_it.cc.
#include "lib/provider_sync.h"

#include <boost/test/unit_test.hpp>
#include <map>
#include <string>
#include <vector>

#include "lib/timestamp.h"
#include "tests/temp_store.h"

namespace jobpulse {
namespace {

constexpr int64_t kNow = 1764320000 * kMicrosPerSecond;

// Runs kept in memory, newest first; counts the calls made to it.
class FakeProvider : public Provider {
 public:
  const std::string& name() const override { return name_; }
  const std::string& display_name() const override { return display_; }
  bool configured() const override { return configured_; }
  Status NotConfigured() const override {
    return Status::Error(Status::Code::kUnavailable, "provider_not_configured", "no token");
  }
  Result<std::vector<Observation>> ListRecent(int max_runs) override {
    ++list_calls;
    if (!configured_) return NotConfigured();
    std::vector<Observation> out;
    for (const Observation& run : runs) {
      if (static_cast<int>(out.size()) == max_runs) break;
      out.push_back(run);
    }
    return out;
  }
  Result<Observation> Get(const std::string& external_id, long) override {
    ++get_calls;
    for (Observation run : runs) {
      if (run.external_id == external_id) {
        run.fetched = true;
        return run;
      }
    }
    return Status::Error(Status::Code::kNotFound, "not_found", "no such run");
  }
  void GetEach(const std::vector<std::string>& ids, int, long, const std::function<bool()>&,
               const OnRun& on_run) override {
    for (size_t i = 0; i < ids.size(); ++i) on_run(i, Get(ids[i], 1000));
  }
  Result<Observation> Cancel(const std::string& external_id) override {
    ++cancel_calls;
    auto run = Get(external_id, 1000);
    if (run.ok()) run->provider_status = "canceled";
    return run;
  }
  Result<ProviderAccount> Account() override { return ProviderAccount{"u", "U", std::nullopt}; }

  std::vector<Observation> runs;
  bool configured_ = true;
  int list_calls = 0, get_calls = 0, cancel_calls = 0;

 private:
  std::string name_ = "replicate";
  std::string display_ = "Replicate";
};

Observation Run(const std::string& id, const std::string& status,
                const std::string& model = "acme/flux-lora") {
  Observation run;
  run.provider = "replicate";
  run.external_id = id;
  run.provider_status = status;
  run.created_at = kNow - 3600 * kMicrosPerSecond;
  run.started_at = *run.created_at + kMicrosPerSecond;
  run.metadata["model"] = model;
  run.logs = "Step 10/100";
  return run;
}

struct SyncFixture : testing::TempStore {
  JobStatus StatusOf(const std::string& id) {
    auto job = store->GetJob(id);
    BOOST_REQUIRE(job.ok() && job->has_value());
    return (*job)->status;
  }
  int64_t JobCount() {
    auto page = store->ListJobs(JobFilter{});
    BOOST_REQUIRE(page.ok());
    return page->total;
  }
  Clock clock = [this] { return now; };
  int64_t now = kNow;
  Config config;
  PriceTable prices;
  FakeProvider provider;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(provider_sync)

BOOST_FIXTURE_TEST_CASE(a_full_sync_creates_updates_and_skips, SyncFixture) {
  provider.runs = {Run("r8-new", "processing"), Run("bad/id", "processing"),
                   Run("r8-old", "succeeded")};
  auto first = FullSync(*store, provider, config, prices, clock);
  BOOST_TEST_REQUIRE(first.ok(), first.status().ToString());
  BOOST_TEST(first->created == 2);
  BOOST_TEST(first->updated == 0);
  BOOST_TEST(first->skipped == 1);
  BOOST_TEST((StatusOf("r8-new") == JobStatus::kRunning));
  BOOST_TEST((StatusOf("r8-old") == JobStatus::kCompleted));

  provider.runs[0].provider_status = "succeeded";
  provider.runs[0].completed_at = kNow - kMicrosPerSecond;
  now += 10 * kMicrosPerSecond;
  auto second = FullSync(*store, provider, config, prices, clock);
  BOOST_TEST_REQUIRE(second.ok(), second.status().ToString());
  BOOST_TEST(second->created == 0);
  BOOST_TEST(second->updated == 1);
  BOOST_TEST((StatusOf("r8-new") == JobStatus::kCompleted));
  BOOST_TEST(JobCount() == 2);
}

BOOST_FIXTURE_TEST_CASE(sync_models_keeps_only_the_listed_models, SyncFixture) {
  config.replicate.sync_models.value = {"acme/flux-lora"};
  provider.runs = {Run("r8-mine", "processing"), Run("r8-other", "processing", "acme/sdxl")};
  auto counts = FullSync(*store, provider, config, prices, clock);
  BOOST_TEST_REQUIRE(counts.ok(), counts.status().ToString());
  BOOST_TEST(counts->created == 1);
  BOOST_TEST(JobCount() == 1);
  BOOST_TEST(!store->GetJob("r8-other")->has_value());
}

BOOST_FIXTURE_TEST_CASE(an_unconfigured_provider_writes_nothing, SyncFixture) {
  provider.configured_ = false;
  provider.runs = {Run("r8-x", "processing")};
  auto counts = FullSync(*store, provider, config, prices, clock);
  BOOST_TEST(!counts.ok());
  BOOST_TEST(counts.status().error() == "provider_not_configured");
  BOOST_TEST(JobCount() == 0);
}

BOOST_FIXTURE_TEST_CASE(an_active_sync_skips_jobs_fetched_in_the_last_five_seconds, SyncFixture) {
  provider.runs = {Run("r8-a", "processing"), Run("r8-b", "starting")};
  BOOST_TEST_REQUIRE(FullSync(*store, provider, config, prices, clock).ok());
  now += 10 * kMicrosPerSecond;  // the list's logs are older than 5 s now
  const ActiveSyncReport first = SyncActiveJobs(*store, provider, config, prices, clock);
  BOOST_TEST(first.refreshed == 2);
  BOOST_TEST(first.skipped == 0);
  BOOST_TEST(first.failed == 0);
  BOOST_TEST(provider.get_calls == 2);
  now += 2 * kMicrosPerSecond;
  const ActiveSyncReport second = SyncActiveJobs(*store, provider, config, prices, clock);
  BOOST_TEST(second.refreshed == 0);
  BOOST_TEST(second.skipped == 2);
  BOOST_TEST(provider.get_calls == 2);
  BOOST_TEST(FormatActiveSyncReport(second) == "refreshed=0; skipped=2; failed=0");
}

BOOST_FIXTURE_TEST_CASE(cancel_reaches_the_provider_and_refuses_a_terminal_job, SyncFixture) {
  provider.runs = {Run("r8-c", "processing"), Run("r8-done", "succeeded")};
  BOOST_TEST_REQUIRE(FullSync(*store, provider, config, prices, clock).ok());
  auto running = store->GetJob("r8-c");
  auto cancelled = CancelJob(*store, &provider, **running, prices, clock);
  BOOST_TEST_REQUIRE(cancelled.ok(), cancelled.status().ToString());
  BOOST_TEST((cancelled->status == JobStatus::kCancelled));
  BOOST_TEST(provider.cancel_calls == 1);

  auto done = store->GetJob("r8-done");
  auto refused = CancelJob(*store, &provider, **done, prices, clock);
  BOOST_TEST(!refused.ok());
  BOOST_TEST((refused.status().code() == Status::Code::kConflict));
  BOOST_TEST(refused.status().error() == "invalid_job_state");
  BOOST_TEST(provider.cancel_calls == 1);
  BOOST_TEST((StatusOf("r8-done") == JobStatus::kCompleted));
}

// SPEC §4: one 404 changes nothing; the third consecutive one, ten minutes
// after the first, fails the job.
BOOST_FIXTURE_TEST_CASE(three_404s_over_ten_minutes_lose_a_job, SyncFixture) {
  provider.runs = {Run("r8-lost", "processing")};
  BOOST_TEST_REQUIRE(FullSync(*store, provider, config, prices, clock).ok());
  const int64_t minute = 60 * kMicrosPerSecond;
  for (int64_t at : {kNow, kNow + 5 * minute}) {
    auto job = store->GetJob("r8-lost");
    BOOST_TEST_REQUIRE(ApplyNotFound(*store, **job, prices, at).ok());
    BOOST_TEST((StatusOf("r8-lost") == JobStatus::kRunning));
  }
  auto job = store->GetJob("r8-lost");
  BOOST_TEST_REQUIRE(ApplyNotFound(*store, **job, prices, kNow + 10 * minute).ok());
  auto lost = store->GetJob("r8-lost");
  BOOST_TEST(((*lost)->status == JobStatus::kFailed));
  BOOST_TEST((*lost)->error_message.value_or("") == "not found at provider");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
