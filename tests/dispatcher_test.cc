// lib/dispatcher.h against an in-memory provider whose creates are scripted
// (made, refused, throttled, lost before or after the run was made), over a
// real store of each engine (tests/engine_fixture.h): the order and limits
// of a pass, each failure's effect on the entry and the job, reconciliation
// (exactly one run per submission), and the recovery of what a dead worker
// left dispatching. The same against
// the simulator and a real worker process: tests/integration/queue_it.cc.
#include "lib/dispatcher.h"

#include <boost/test/unit_test.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/run_match.h"
#include "lib/submission.h"
#include "lib/timestamp.h"
#include "tests/engine_fixture.h"

namespace jobpulse {
namespace {

constexpr int64_t kT0 = int64_t{1764320000} * kMicrosPerSecond;

// What the next create does.
enum class Create {
  kMake,             // makes the run and answers it
  kRefuse,           // 422: no run
  kThrottle,         // 429, Retry-After 7: no run
  kLoseAfterMaking,  // makes the run, then the answer is lost (timeout)
  kLoseBeforeMaking  // times out before the provider made anything
};

// Runs kept in memory under the name "fake" (local statuses).
class ScriptedProvider : public Provider {
 public:
  struct Shared {
    std::deque<Create> script;      // empty: kMake
    std::vector<Observation> runs;  // oldest first
    std::vector<CreateRunRequest> creates;
    std::vector<std::string> cancelled;
    int lists = 0;
    bool configured = true;
    // Called inside a create, after the run was made: what happens at the
    // same time elsewhere (a cancel, a webhook).
    std::function<void(const Observation&)> during_create;
    int64_t* clock = nullptr;
  };

  explicit ScriptedProvider(std::shared_ptr<Shared> shared) : s_(std::move(shared)) {}
  const std::string& name() const override { return name_; }
  const std::string& display_name() const override { return display_; }
  bool configured() const override { return s_->configured; }
  Status NotConfigured() const override {
    return Status::Error(Status::Code::kUnavailable, "provider_not_configured", "no token");
  }
  Result<std::vector<Observation>> ListRecent(int) override {
    ++s_->lists;
    return std::vector<Observation>(s_->runs.rbegin(), s_->runs.rend());
  }
  Result<Observation> Get(const std::string&, long) override { return Status::Internal("unused"); }
  void GetEach(const std::vector<std::string>&, int, long, const std::function<bool()>&,
               const OnRun&) override {}
  Result<Observation> Cancel(const std::string& id) override {
    s_->cancelled.push_back(id);
    return Status::Internal("unused");
  }
  Result<ProviderAccount> Account() override { return ProviderAccount{"u", "U", std::nullopt}; }

  Result<Observation> CreateRun(const CreateRunRequest& request, long) override {
    s_->creates.push_back(request);
    Create what = Create::kMake;
    if (!s_->script.empty()) {
      what = s_->script.front();
      s_->script.pop_front();
    }
    switch (what) {
      case Create::kRefuse:
        return Status::Error(Status::Code::kInvalidArgument, "provider_rejected",
                             "input.steps: must be at most 100");
      case Create::kThrottle:
        return Status::Error(Status::Code::kRateLimited, "provider_rate_limited", "slow down")
            .set_retry_after_seconds(7);
      case Create::kLoseBeforeMaking:
        return Status::Error(Status::Code::kUpstream, "provider_error", "timed out");
      case Create::kMake:
      case Create::kLoseAfterMaking:
        break;
    }
    Observation run;
    run.provider = name_;
    run.external_id = "run" + std::to_string(s_->runs.size() + 1);
    run.status = JobStatus::kQueued;
    run.created_at = *s_->clock;
    run.metadata["model"] = request.model;
    if (request.version) run.metadata["version"] = *request.version;
    run.webhook_url = request.webhook_url;
    run.input_digest = InputDigest(request.input_json);
    s_->runs.push_back(run);
    if (s_->during_create) s_->during_create(run);
    if (what == Create::kLoseAfterMaking) {
      return Status::Error(Status::Code::kUpstream, "provider_error", "timed out");
    }
    return run;
  }

 private:
  std::shared_ptr<Shared> s_;
  std::string name_ = "fake";
  std::string display_ = "Fake";
};

struct DispatchFixture {
  DispatchFixture() {
    shared->clock = &now;
    std::vector<std::unique_ptr<Provider>> list;
    list.push_back(std::make_unique<ScriptedProvider>(shared));
    registry = std::make_unique<ProviderRegistry>(std::move(list), PriceTable{});
    settings.webhook_url = "https://hooks.example/api/webhooks/replicate?src=rep";
  }
  void Open(testing::Engine engine) {
    db = std::make_unique<testing::EngineStore>(engine);
    store = &db->store();
  }
  Dispatcher Make() {
    return Dispatcher(*store, *registry, settings, [this] { return now; });
  }
  DispatchReport Pass(Dispatcher& d) {
    return d.Pass([] { return true; });
  }
  // A prediction of "acme/model" with `input`, by `user`; returns its job id.
  std::string Submit(const std::string& user = "", int priority = kDefaultPriority,
                     const std::string& input = R"({"prompt":"a cat"})") {
    std::string body = R"({"kind":"prediction","model":"acme/model","input":)" + input +
                       R"(,"priority":)" + std::to_string(priority);
    if (!user.empty()) body += R"(,"user_id":")" + user + "\"";
    body += "}";
    auto request = ParseSubmitRequest(body);
    BOOST_TEST_REQUIRE(request.ok(), request.status().ToString());
    const std::string id = "sub-" + std::to_string(++submitted);
    auto outcome =
        store->Submit(MakeSubmission(*request, id, "fake", std::nullopt), PriceTable{}, now);
    BOOST_TEST_REQUIRE(outcome.ok(), outcome.status().ToString());
    now += 1000;  // submission order is time order
    return id;
  }
  QueueEntry Entry(const std::string& id) {
    auto entry = store->GetQueueEntry(id);
    BOOST_TEST_REQUIRE((entry.ok() && entry->has_value()), "no entry " << id);
    return **entry;
  }
  Job JobOf(const std::string& id) {
    auto job = store->GetJob(id);
    BOOST_TEST_REQUIRE((job.ok() && job->has_value()), "no job " << id);
    return **job;
  }
  std::string ExternalId(const std::string& id) { return JobOf(id).external_id.value_or("-"); }
  // Ends a job as a webhook would, which closes its entry and frees a slot.
  void Complete(const std::string& id) {
    Observation obs;
    obs.provider = "fake";
    obs.external_id = ExternalId(id);
    obs.status = JobStatus::kCompleted;
    obs.completed_at = now;
    auto applied = store->Apply(obs, PriceTable{}, now);
    BOOST_TEST_REQUIRE(applied.ok(), applied.status().ToString());
  }

  std::unique_ptr<testing::EngineStore> db;
  Store* store = nullptr;  // db's
  int64_t now = kT0;
  int submitted = 0;
  std::shared_ptr<ScriptedProvider::Shared> shared = std::make_shared<ScriptedProvider::Shared>();
  std::unique_ptr<ProviderRegistry> registry;
  DispatchSettings settings;
};

BOOST_AUTO_TEST_SUITE(dispatcher)

BOOST_DATA_TEST_CASE_F(DispatchFixture, a_pass_dispatches_in_position_order_within_both_limits,
                       testing::kEngines, engine) {
  Open(engine);
  settings.max_concurrent = 4;
  settings.user_max_concurrent = 2;
  const std::string a1 = Submit("ann"), a2 = Submit("ann"), a3 = Submit("ann", 30);
  const std::string b1 = Submit("bob"), c1 = Submit("cid"), c2 = Submit("cid");
  Dispatcher d = Make();
  const DispatchReport report = Pass(d);
  BOOST_TEST(report.dispatched == 4);
  // a3 (urgent) first, then a1; a2 waits for ann's limit; b1, c1 fill the rest.
  std::vector<std::string> created;
  for (const CreateRunRequest& c : shared->creates)
    created.push_back(JobIdInWebhookUrl(*c.webhook_url));
  BOOST_TEST(created == (std::vector<std::string>{a3, a1, b1, c1}),
             boost::test_tools::per_element());
  BOOST_TEST(*shared->creates[0].webhook_url ==
             "https://hooks.example/api/webhooks/replicate?src=rep&job_id=" + a3);
  BOOST_TEST(ExternalId(a3) == "run1");
  BOOST_TEST(ExternalId(c1) == "run4");
  BOOST_TEST((Entry(a3).status == QueueStatus::kDispatched));
  BOOST_TEST(Entry(a3).dispatched_at.value_or(0) == now);
  BOOST_TEST((JobOf(a3).status == JobStatus::kQueued));
  BOOST_TEST((Entry(a2).status == QueueStatus::kWaiting));
  BOOST_TEST(Entry(a2).position.value_or(0) == 1);
  BOOST_TEST(Entry(c2).position.value_or(0) == 2);

  // Nothing may start until a slot frees; then the best entry that may.
  BOOST_TEST(Pass(d).dispatched == 0);
  BOOST_TEST(shared->creates.size() == 4u);
  Complete(b1);  // frees a global slot, but ann still has two running
  BOOST_TEST(Pass(d).dispatched == 1);
  BOOST_TEST(JobIdInWebhookUrl(*shared->creates.back().webhook_url) == c2);
  BOOST_TEST((Entry(b1).status == QueueStatus::kClosed));
}

BOOST_DATA_TEST_CASE_F(DispatchFixture, a_refusal_fails_the_job_with_the_providers_detail,
                       testing::kEngines, engine) {
  Open(engine);
  shared->script = {Create::kRefuse};
  const std::string id = Submit();
  Dispatcher d = Make();
  const DispatchReport report = Pass(d);
  BOOST_TEST(report.failed == 1);
  BOOST_TEST(report.dispatched == 0);
  BOOST_TEST(shared->creates.size() == 1u);
  const Job job = JobOf(id);
  BOOST_TEST((job.status == JobStatus::kFailed));
  BOOST_TEST(job.error_message.value_or("") ==
             "Fake refused the job: input.steps: must be at most 100");
  BOOST_TEST((Entry(id).status == QueueStatus::kClosed));
  BOOST_TEST(Entry(id).error_message.value_or("") == job.error_message.value_or("-"));
}

BOOST_DATA_TEST_CASE_F(DispatchFixture, a_429_pauses_every_dispatch_without_counting_the_attempt,
                       testing::kEngines, engine) {
  Open(engine);
  settings.max_parallel_creates = 1;  // one create a batch: the pause stops the pass
  shared->script = {Create::kThrottle};
  const std::string first = Submit(), second = Submit();
  Dispatcher d = Make();
  const DispatchReport report = Pass(d);
  BOOST_TEST(report.dispatched == 0);
  BOOST_TEST(report.released == 1);
  BOOST_TEST(shared->creates.size() == 1u);
  BOOST_TEST(d.paused_until() == now + 7 * kMicrosPerSecond);
  const QueueEntry entry = Entry(first);
  BOOST_TEST((entry.status == QueueStatus::kWaiting));
  BOOST_TEST(entry.attempts == 0);
  BOOST_TEST(entry.error_message.value_or("") == "slow down");
  BOOST_TEST(Entry(second).attempts == 0);

  now += 6 * kMicrosPerSecond;
  BOOST_TEST(Pass(d).dispatched == 0);  // still paused: nothing sent
  BOOST_TEST(shared->creates.size() == 1u);
  now += 1 * kMicrosPerSecond;
  BOOST_TEST(Pass(d).dispatched == 2);
  BOOST_TEST(ExternalId(first) == "run1");
  BOOST_TEST(ExternalId(second) == "run2");
  BOOST_TEST(Entry(first).attempts == 1);
}

BOOST_DATA_TEST_CASE_F(DispatchFixture, a_create_lost_after_the_run_was_made_adopts_that_run,
                       testing::kEngines, engine) {
  Open(engine);
  shared->script = {Create::kLoseAfterMaking};
  const std::string id = Submit();
  Dispatcher d = Make();
  const DispatchReport report = Pass(d);
  BOOST_TEST(report.dispatched == 1);
  BOOST_TEST(shared->creates.size() == 1u);  // never sent twice
  BOOST_TEST(shared->runs.size() == 1u);
  BOOST_TEST(shared->lists == 1);
  BOOST_TEST(ExternalId(id) == "run1");
  BOOST_TEST((Entry(id).status == QueueStatus::kDispatched));
}

BOOST_DATA_TEST_CASE_F(DispatchFixture,
                       a_create_lost_before_the_run_was_made_is_retried_after_a_backoff,
                       testing::kEngines, engine) {
  Open(engine);
  shared->script = {Create::kLoseBeforeMaking};
  const std::string id = Submit();
  Dispatcher d = Make();
  DispatchReport report = Pass(d);
  BOOST_TEST(report.retrying == 1);
  QueueEntry entry = Entry(id);
  BOOST_TEST((entry.status == QueueStatus::kWaiting));
  BOOST_TEST(entry.attempts == 1);
  BOOST_TEST(entry.error_message.value_or("") == "timed out");
  BOOST_TEST(Pass(d).dispatched == 0);  // the backoff (2 s +- 20 %) is not over
  now += 3 * kMicrosPerSecond;
  report = Pass(d);
  BOOST_TEST(report.dispatched == 1);
  BOOST_TEST(shared->lists == 2);  // after the loss, and again before sending again
  BOOST_TEST(shared->creates.size() == 2u);
  BOOST_TEST(shared->runs.size() == 1u);
  BOOST_TEST(ExternalId(id) == "run1");
  BOOST_TEST(Entry(id).attempts == 2);
}

BOOST_DATA_TEST_CASE_F(DispatchFixture, the_last_attempt_fails_the_job, testing::kEngines, engine) {
  Open(engine);
  settings.max_attempts = 2;
  shared->script = {Create::kLoseBeforeMaking, Create::kLoseBeforeMaking};
  const std::string id = Submit();
  Dispatcher d = Make();
  BOOST_TEST(Pass(d).retrying == 1);
  now += 3 * kMicrosPerSecond;
  const DispatchReport report = Pass(d);
  BOOST_TEST(report.failed == 1);
  BOOST_TEST(shared->creates.size() == 2u);
  const Job job = JobOf(id);
  BOOST_TEST((job.status == JobStatus::kFailed));
  BOOST_TEST(job.error_message.value_or("") == "dispatch failed after 2 attempts: timed out");
  BOOST_TEST((Entry(id).status == QueueStatus::kClosed));
}

BOOST_DATA_TEST_CASE_F(DispatchFixture,
                       without_a_webhook_identical_submissions_each_adopt_their_own_run,
                       testing::kEngines, engine) {
  Open(engine);
  settings.webhook_url.reset();
  shared->script = {Create::kLoseAfterMaking, Create::kLoseAfterMaking};
  const std::string first = Submit(), second = Submit();
  Dispatcher d = Make();
  const DispatchReport report = Pass(d);
  BOOST_TEST(report.dispatched == 2);
  BOOST_TEST(shared->creates.size() == 2u);
  BOOST_TEST(!shared->creates[0].webhook_url.has_value());
  // Both runs look alike (model, digest); each job takes one, the oldest free.
  BOOST_TEST(ExternalId(first) == "run1");
  BOOST_TEST(ExternalId(second) == "run2");
}

BOOST_DATA_TEST_CASE_F(DispatchFixture, a_different_input_is_not_taken_for_a_lost_create,
                       testing::kEngines, engine) {
  Open(engine);
  settings.webhook_url.reset();
  const std::string other = Submit("", kDefaultPriority, R"({"prompt":"a dog"})");
  Dispatcher d = Make();
  BOOST_TEST(Pass(d).dispatched == 1);
  Complete(other);
  shared->script = {Create::kLoseBeforeMaking};
  const std::string id = Submit();
  BOOST_TEST(Pass(d).retrying == 1);
  BOOST_TEST(ExternalId(id) == "-");
}

BOOST_DATA_TEST_CASE_F(DispatchFixture, a_job_cancelled_during_its_create_has_the_run_cancelled,
                       testing::kEngines, engine) {
  Open(engine);
  const std::string id = Submit();
  const std::string other = Submit();  // in the same batch, recorded all the same
  shared->during_create = [&](const Observation& run) {
    if (run.external_id != "run1") return;
    Observation cancel;
    cancel.source = Observation::Source::kLocal;
    cancel.job_id = id;
    cancel.status = JobStatus::kCancelled;
    auto applied = store->Apply(cancel, PriceTable{}, now);
    BOOST_TEST_REQUIRE(applied.ok(), applied.status().ToString());
  };
  Dispatcher d = Make();
  const DispatchReport report = Pass(d);
  BOOST_TEST(report.dispatched == 1);
  BOOST_TEST(shared->cancelled == (std::vector<std::string>{"run1"}),
             boost::test_tools::per_element());
  BOOST_TEST((JobOf(id).status == JobStatus::kCancelled));
  BOOST_TEST(ExternalId(id) == "-");
  BOOST_TEST((Entry(id).status == QueueStatus::kClosed));
  BOOST_TEST(ExternalId(other) == "run2");
  BOOST_TEST((Entry(other).status == QueueStatus::kDispatched));
}

BOOST_DATA_TEST_CASE_F(DispatchFixture, a_webhook_ahead_of_the_answer_merges_into_the_submitted_job,
                       testing::kEngines, engine) {
  Open(engine);
  const std::string id = Submit();
  shared->during_create = [&](const Observation& run) {
    Observation delivery = run;  // the run as its webhook carries it: no job id
    delivery.status = JobStatus::kCompleted;
    delivery.completed_at = now;
    auto applied = store->Apply(delivery, PriceTable{}, now);
    BOOST_TEST_REQUIRE(applied.ok(), applied.status().ToString());
    BOOST_TEST(applied->job.job_id == id);
  };
  Dispatcher d = Make();
  const DispatchReport report = Pass(d);
  BOOST_TEST(report.dispatched == 1);
  BOOST_TEST(shared->cancelled.empty());
  BOOST_TEST((JobOf(id).status == JobStatus::kCompleted));
  BOOST_TEST(ExternalId(id) == "run1");
  auto page = store->ListJobs(JobFilter{});
  BOOST_TEST_REQUIRE(page.ok());
  BOOST_TEST(page->total == 1);  // no second job for the run
}

// Hostile or stray provider data: a run whose webhook URL names a job that
// already has another run, or a job of another provider, is stored as its own
// job; the named job is left as it was.
BOOST_DATA_TEST_CASE_F(DispatchFixture, a_run_naming_a_job_that_has_a_run_does_not_take_it_over,
                       testing::kEngines, engine) {
  Open(engine);
  const std::string id = Submit();
  Dispatcher d = Make();
  BOOST_TEST_REQUIRE(Pass(d).dispatched == 1);
  const Job before = JobOf(id);
  Observation stray;
  stray.provider = "fake";
  stray.external_id = "stray-run";
  stray.status = JobStatus::kCompleted;
  stray.webhook_url = WebhookUrlForJob(*settings.webhook_url, id);
  auto applied = store->Apply(stray, PriceTable{}, now);
  BOOST_TEST_REQUIRE(applied.ok(), applied.status().ToString());
  BOOST_TEST(applied->job.job_id == "stray-run");
  Observation other = stray;
  other.provider = "elsewhere";
  other.external_id = "other-run";
  other.webhook_url = WebhookUrlForJob(*settings.webhook_url, id);
  auto separate = store->Apply(other, PriceTable{}, now);
  BOOST_TEST_REQUIRE(separate.ok(), separate.status().ToString());
  BOOST_TEST(separate->job.job_id == "other-run");
  BOOST_TEST((JobOf(id) == before));
  BOOST_TEST((Entry(id).status == QueueStatus::kDispatched));
}

BOOST_DATA_TEST_CASE_F(DispatchFixture, recovery_settles_each_kind_of_interrupted_dispatch,
                       testing::kEngines, engine) {
  Open(engine);
  const std::string never_sent = Submit(), sent_and_made = Submit(), sent_not_made = Submit();
  for (int i = 0; i < 3; ++i) {
    auto claim = store->ClaimNextEntry(5, 5, now);
    BOOST_TEST_REQUIRE((claim.ok() && claim->has_value()));
  }
  auto marked = store->MarkSent({sent_and_made, sent_not_made, "no-such-job"}, now);
  BOOST_TEST_REQUIRE(marked.ok());
  BOOST_TEST(*marked == (std::vector<std::string>{sent_and_made, sent_not_made}),
             boost::test_tools::per_element());
  // The worker died while the provider made the run of one of them.
  ScriptedProvider maker(shared);
  CreateRunRequest made;
  made.kind = "prediction";
  made.model = "acme/model";
  made.input_json = R"({"prompt":"a cat"})";
  made.webhook_url = WebhookUrlForJob(*settings.webhook_url, sent_and_made);
  BOOST_TEST_REQUIRE(maker.CreateRun(made, 1000).ok());
  shared->creates.clear();

  Dispatcher d = Make();
  const DispatchReport report = d.RecoverInterrupted();
  BOOST_TEST(report.released == 1);
  BOOST_TEST(report.dispatched == 1);
  BOOST_TEST(report.failed == 1);
  BOOST_TEST(shared->creates.empty());  // recovery never sends
  BOOST_TEST((Entry(never_sent).status == QueueStatus::kWaiting));
  BOOST_TEST(Entry(never_sent).attempts == 0);
  BOOST_TEST(ExternalId(sent_and_made) == "run1");
  BOOST_TEST((Entry(sent_and_made).status == QueueStatus::kDispatched));
  BOOST_TEST((JobOf(sent_not_made).status == JobStatus::kFailed));
  BOOST_TEST(JobOf(sent_not_made).error_message.value_or("") == "dispatch interrupted");
  // The one never sent goes out at the next pass, once.
  BOOST_TEST(Pass(d).dispatched == 1);
  BOOST_TEST(shared->creates.size() == 1u);
  BOOST_TEST(ExternalId(never_sent) == "run2");
}

BOOST_DATA_TEST_CASE_F(DispatchFixture, without_a_credential_entries_wait_untouched,
                       testing::kEngines, engine) {
  Open(engine);
  shared->configured = false;
  const std::string id = Submit();
  Dispatcher d = Make();
  const DispatchReport report = Pass(d);
  BOOST_TEST(report.dispatched + report.released + report.failed == 0);
  BOOST_TEST(shared->creates.empty());
  BOOST_TEST((Entry(id).status == QueueStatus::kWaiting));
  BOOST_TEST(Entry(id).attempts == 0);
}

BOOST_AUTO_TEST_CASE(backoff_doubles_up_to_a_minute_with_a_fifth_of_jitter) {
  std::mt19937_64 rng(7);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const int64_t base =
        std::min<int64_t>(60, int64_t{1} << std::min(attempt, 6)) * kMicrosPerSecond;
    for (int i = 0; i < 50; ++i) {
      const int64_t wait = DispatchBackoffMicros(attempt, rng);
      BOOST_TEST(wait >= base - base / 5);
      BOOST_TEST(wait <= base + base / 5);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_start_up_line_names_the_loop_and_its_limits) {
  Config config;
  BOOST_TEST(DescribeQueueProcessing(config) ==
             "queue processing: on (source: default, interval: 5s, interval_source: default, "
             "max_concurrent: 5, user_max_concurrent: 2, max_attempts: 3)");
  const DispatchSettings s = DispatchSettingsFrom(config);
  BOOST_TEST(s.max_concurrent == 5);
  BOOST_TEST(s.user_max_concurrent == 2);
  BOOST_TEST(s.max_attempts == 3);
  BOOST_TEST(s.max_parallel_creates == 8);
  BOOST_TEST(!s.webhook_url.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
