// lib/worker.h without the network: the default socket path, a start that
// cannot open its database, and one cycle (inbox pass and poll) against an
// in-memory provider, read back from the store. The worker as a process,
// against the simulator, is tests/integration/worker_it.cc.
#include "lib/worker.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/timestamp.h"
#include "tests/temp_store.h"

namespace jobpulse {
namespace {

// Runs kept in memory under the name "fake"; answers in local statuses, so no
// provider vocabulary is involved. "gone" answers 404, "broken" a 5xx.
class FakeProvider : public Provider {
 public:
  const std::string& name() const override { return name_; }
  const std::string& display_name() const override { return display_; }
  bool configured() const override { return true; }
  Status NotConfigured() const override { return Status::Internal("unused"); }
  Result<std::vector<Observation>> ListRecent(int) override { return std::vector<Observation>{}; }
  Result<Observation> Get(const std::string& external_id, long) override {
    ++*get_calls;
    if (external_id == "gone") {
      return Status::Error(Status::Code::kNotFound, "provider_not_found", "no such run");
    }
    if (external_id == "broken") {
      return Status::Error(Status::Code::kUpstream, "provider_error", "HTTP 502");
    }
    Observation run;
    run.provider = name_;
    run.external_id = external_id;
    run.status = JobStatus::kCompleted;
    run.completed_at = 1764320000 * kMicrosPerSecond;
    run.logs = "Step 100/100";
    return run;
  }
  void GetEach(const std::vector<std::string>& ids, int, long, const std::function<bool()>&,
               const OnRun& on_run) override {
    for (size_t i = 0; i < ids.size(); ++i) on_run(i, Get(ids[i], 1000));
  }
  Result<Observation> Cancel(const std::string& id) override { return Get(id, 1000); }
  Result<ProviderAccount> Account() override { return ProviderAccount{"u", "U", std::nullopt}; }

  std::shared_ptr<int> get_calls = std::make_shared<int>(0);

 private:
  std::string name_ = "fake";
  std::string display_ = "Fake";
};

struct WorkerFixture : testing::TempStore {
  WorkerFixture() {
    config.database_path.value = dir + "/jobs.db";
    options.poke_socket = dir + "/poke.sock";
    options.serve_events = false;
    options.take_deliveries = false;
    options.wait_for_database = false;
  }
  // A running job of the fake provider, as a sync would have stored it.
  void AddRunning(const std::string& id) {
    Observation obs;
    obs.provider = "fake";
    obs.external_id = id;
    obs.status = JobStatus::kRunning;
    auto applied = store->Apply(obs, PriceTable{}, NowMicros());
    BOOST_TEST_REQUIRE(applied.ok(), applied.status().ToString());
  }
  Job JobOf(const std::string& id) {
    auto job = store->GetJob(id);
    BOOST_TEST_REQUIRE((job.ok() && job->has_value()), "no job " << id);
    return **job;
  }
  std::string State(const std::string& name) {
    auto state = store->GetServiceState(name);
    BOOST_TEST_REQUIRE(state.ok());
    return *state ? (*state)->value : "(none)";
  }
  ProviderRegistry Fakes() {
    std::vector<std::unique_ptr<Provider>> providers;
    auto fake = std::make_unique<FakeProvider>();
    get_calls = fake->get_calls;
    providers.push_back(std::move(fake));
    return ProviderRegistry(std::move(providers), PriceTable{});
  }

  Config config;
  WorkerOptions options;
  std::shared_ptr<int> get_calls;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(worker)

BOOST_AUTO_TEST_CASE(the_events_socket_is_next_to_the_database) {
  BOOST_TEST(DefaultEventsSocket("/var/lib/jobpulse/jobpulse.db") ==
             "/var/lib/jobpulse/events.sock");
  BOOST_TEST(DefaultEventsSocket("var/jobpulse.db") == "var/events.sock");
  BOOST_TEST(DefaultEventsSocket("jobpulse.db") == "./events.sock");
}

BOOST_FIXTURE_TEST_CASE(a_database_that_cannot_be_opened_fails_the_start, WorkerFixture) {
  config.database_path.value = dir + "/not-a-dir/jobs.db";
  {
    // A regular file where the database's directory should be.
    std::FILE* f = std::fopen((dir + "/not-a-dir").c_str(), "w");
    BOOST_TEST_REQUIRE(f != nullptr);
    std::fclose(f);
  }
  Worker worker(config, options, Fakes());
  const Status started = worker.Start();
  BOOST_TEST((started.code() == Status::Code::kUnavailable));
  BOOST_TEST(started.error() == "database_unavailable");
}

BOOST_FIXTURE_TEST_CASE(one_cycle_polls_the_active_jobs_of_each_provider, WorkerFixture) {
  AddRunning("done-soon");
  AddRunning("gone");
  AddRunning("broken");
  Worker worker(config, options, Fakes());
  BOOST_TEST_REQUIRE(worker.Start().ok());
  worker.RunOnce();

  BOOST_TEST(*get_calls == 3);
  const Job done = JobOf("done-soon");
  BOOST_TEST(JobStatusName(done.status) == "completed");
  BOOST_TEST(done.completed_at.value_or(0) == 1764320000 * kMicrosPerSecond);
  BOOST_TEST(done.logs_tail == "Step 100/100");
  // A 404 is counted, not a failure; a 502 backs off.
  const Job gone = JobOf("gone");
  BOOST_TEST(JobStatusName(gone.status) == "running");
  BOOST_TEST(gone.not_found_count == 1);
  BOOST_TEST(gone.poll_failures == 0);
  const Job broken = JobOf("broken");
  BOOST_TEST(JobStatusName(broken.status) == "running");
  BOOST_TEST(broken.poll_failures == 1);
  BOOST_TEST(broken.next_poll_at.has_value());

  BOOST_TEST(State("circuit:fake") == "closed");
  const std::string status = State("poller_status");
  BOOST_TEST(status.find(R"("last_cycle_jobs":3)") != std::string::npos, status);
  BOOST_TEST(status.find(R"("last_error":"provider_error: HTTP 502")") != std::string::npos,
             status);

  // The broken job waits out its backoff: the next cycle does not ask again for it.
  worker.RunOnce();
  BOOST_TEST(*get_calls == 4);  // only "gone" (done-soon is finished)
}

BOOST_FIXTURE_TEST_CASE(one_cycle_applies_the_webhook_inbox, WorkerFixture) {
  auto inserted = store->InsertDelivery(
      "msg_1", "replicate",
      R"({"id":"r8-hook","status":"processing","created_at":"2026-11-28T09:00:00Z"})", NowMicros());
  BOOST_TEST_REQUIRE(inserted.ok(), inserted.status().ToString());
  auto unknown = store->InsertDelivery("msg_2", "modal", R"({"id":"m-1"})", NowMicros());
  BOOST_TEST_REQUIRE(unknown.ok(), unknown.status().ToString());
  Worker worker(config, options, Fakes());
  BOOST_TEST_REQUIRE(worker.Start().ok());
  worker.RunOnce();

  const Job hooked = JobOf("r8-hook");
  BOOST_TEST(JobStatusName(hooked.status) == "running");
  BOOST_TEST(hooked.provider.value_or("") == "replicate");
  auto counts = store->CountDeliveries();
  BOOST_TEST_REQUIRE(counts.ok());
  BOOST_TEST(counts->applied == 1);
  BOOST_TEST(counts->pending == 1);  // modal's: no webhook format, retried later
  BOOST_TEST(*get_calls == 0);       // no active job of the fake provider
}

// A backlog (deliveries stored while the worker was busy or down, with no
// wake-up left to come) is applied batch after batch, not a batch per idle
// second of the loop: 300 take 5 batches, which the old loop spread over 4 s.
BOOST_FIXTURE_TEST_CASE(the_loop_drains_an_inbox_backlog_without_idling, WorkerFixture) {
  constexpr int kDeliveries = 300;
  for (int i = 0; i < kDeliveries; ++i) {
    const std::string n = std::to_string(i);
    auto inserted = store->InsertDelivery(
        "msg_" + n, "replicate",
        R"({"id":"r8-)" + n + R"(","status":"processing","created_at":"2026-11-28T09:00:00Z"})",
        NowMicros());
    BOOST_TEST_REQUIRE(inserted.ok(), inserted.status().ToString());
  }
  Worker worker(config, options, Fakes());
  BOOST_TEST_REQUIRE(worker.Start().ok());
  std::thread loop([&worker] { worker.Run(); });
  const auto pending = [&] {
    auto counts = store->CountDeliveries();
    return counts.ok() ? counts->pending : -1;
  };
  const auto start = std::chrono::steady_clock::now();
  while (pending() != 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto took = std::chrono::steady_clock::now() - start;
  worker.RequestStop();
  loop.join();
  auto counts = store->CountDeliveries();
  BOOST_TEST_REQUIRE(counts.ok());
  BOOST_TEST(counts->applied == kDeliveries);
  BOOST_TEST(counts->pending == 0);
  // Four idle seconds between the five batches would show here.
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 2500);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
