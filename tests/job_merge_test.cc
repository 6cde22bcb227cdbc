// lib/job_merge.h on both engines: which job an observation is about (its id,
// its run, the submitted job its webhook URL names, never a job that is not
// free), and writers racing for the same job: each observation lands once,
// one of them creates it, and the versions count every write.
#include "lib/job_merge.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/engine_fixture.h"
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

BOOST_AUTO_TEST_SUITE(job_merge)

BOOST_DATA_TEST_CASE_F(StoreFixture, a_run_merges_into_the_submitted_job_its_webhook_names,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  JobStore& store = db.jobs();
  Observation submitted;
  submitted.job_id = "sub-1";
  submitted.provider = "replicate";
  submitted.source = Observation::Source::kLocal;
  submitted.status = JobStatus::kPending;
  MustApply(store, submitted, kNow);

  Observation run = ProviderObs("r8-run-1", "starting");
  run.webhook_url = "https://hooks.example/api/webhooks/replicate?job_id=sub-1";
  auto found = FindJobForMerge(store, run, true);
  BOOST_TEST_REQUIRE(found.ok());
  BOOST_TEST_REQUIRE(found->has_value());
  BOOST_TEST((*found)->job_id == "sub-1");
  const ApplyOutcome merged = MustApply(store, run, kNow + kSecond);
  BOOST_TEST(!merged.created);
  BOOST_TEST(merged.job.job_id == "sub-1");
  BOOST_TEST(*merged.job.external_id == "r8-run-1");

  // The job has its run now: another run naming it is a job of its own.
  Observation stray = ProviderObs("r8-run-2", "starting");
  stray.webhook_url = "https://hooks.example/api/webhooks/replicate?job_id=sub-1";
  auto other = FindJobForMerge(store, stray, true);
  BOOST_TEST_REQUIRE(other.ok());
  BOOST_TEST(!other->has_value());
  BOOST_TEST(MustApply(store, stray, kNow + 2 * kSecond).job.job_id == "r8-run-2");
  BOOST_TEST(*MustGet(store, "sub-1").external_id == "r8-run-1");

  // Nothing stored and nothing to create: refused, by name.
  Observation unknown = ProviderObs("r8-none", "processing");
  BOOST_TEST(FindJobForMerge(store, unknown, false).status().error() == "job_not_found");
  unknown.external_id = "bad/id";
  BOOST_TEST(FindJobForMerge(store, unknown, true).status().error() == "invalid_job_id");
}

// Four connections (four processes) apply progress of the same new run at
// once. Every apply succeeds, exactly one creates the job, and the last log
// wins whatever the order: the merge keeps the longest log (SPEC §5).
BOOST_DATA_TEST_CASE_F(StoreFixture, writers_racing_for_one_job_each_land_once, testing::kEngines,
                       engine) {
  testing::EngineStore db(engine);
  constexpr int kWriters = 4;
  constexpr int kEach = 25;
  std::atomic<int> failures{0};
  std::atomic<int> created{0};
  std::mutex mu;
  std::string first_error;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      testing::EngineStore own = db.Another();
      for (int i = 0; i < kEach; ++i) {
        Observation obs = ProviderObs("r8-race", "processing");
        obs.fetched = true;
        std::string logs;
        const int steps = 1 + (w * kEach + i) % 50;
        for (int s = 1; s <= steps; ++s) logs += "Step " + std::to_string(s) + "/50\n";
        obs.logs = logs;
        auto outcome = own.jobs().Apply(obs, prices, kNow + i);
        if (!outcome.ok()) {
          ++failures;
          std::lock_guard lock(mu);
          if (first_error.empty()) first_error = outcome.status().ToString();
        } else if (outcome->created) {
          ++created;
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  BOOST_TEST(failures == 0, first_error);
  BOOST_TEST(created == 1);
  BOOST_TEST(MustList(db.jobs(), JobFilter{}).total == 1);
  const Job job = MustGet(db.jobs(), "r8-race");
  BOOST_TEST(job.logs_tail.ends_with("Step 50/50\n"));
  BOOST_TEST(*job.progress.progress == 100.0);
  // Every event the writers appended is there once, in id order.
  const std::vector<Event> events = AllEvents(db.jobs());
  for (size_t i = 1; i < events.size(); ++i) BOOST_TEST(events[i].id > events[i - 1].id);
  BOOST_TEST(events.front().type == "job_status_changed");
}

// Text a provider may send and PostgreSQL's text cannot hold (a NUL, bytes
// that are not UTF-8) is stored, repaired, rather than failing the write.
BOOST_DATA_TEST_CASE_F(StoreFixture, hostile_log_bytes_never_fail_a_write, testing::kEngines,
                       engine) {
  testing::EngineStore db(engine);
  Observation obs = ProviderObs("r8-bytes", "processing");
  obs.fetched = true;
  obs.logs = std::string("Step 1/10 \0 \xff\xfe loss\nStep 2/10\n", 30);
  obs.error_message = "bad \xc3";
  const ApplyOutcome outcome = MustApply(db.jobs(), obs, kNow);
  BOOST_TEST(outcome.created);
  const Job job = MustGet(db.jobs(), "r8-bytes");
  BOOST_TEST(job.logs_tail.ends_with("Step 2/10\n"), job.logs_tail);
  BOOST_TEST(*job.progress.progress == 20.0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
