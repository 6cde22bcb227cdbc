// Unit tests for lib/queue_store.h against both engines
// (tests/engine_fixture.h): submission through the merge, positions,
// idempotency keys, priority changes, local cancel, entries closing with
// their job on every path, counts and spend, claims and the dispatcher's
// writes. The limits and keys on two connections at once:
// tests/store_concurrency_test.cc.
#include "lib/queue_store.h"

#include "tests/engine_fixture.h"
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

Submission MakeSubmission(const std::string& job_id, int priority = kDefaultPriority,
                          std::optional<std::string> user = std::nullopt) {
  Submission s;
  s.job_id = job_id;
  s.provider = "replicate";
  s.user_id = std::move(user);
  s.config_name = "cfg-" + job_id;
  s.priority = priority;
  s.metadata = {{"model", "owner/trainer"}, {"kind", "training"}};
  s.request_json = R"({"kind":"training","input":{}})";
  s.input_digest = "digest-" + job_id;
  return s;
}

struct QueueFixture : StoreFixture {
  void Open(testing::Engine engine) {
    db = std::make_unique<testing::EngineStore>(engine);
    store = &db->store();
  }

  SubmitOutcome MustSubmit(const Submission& s, int64_t now) {
    auto out = store->Submit(s, prices, now);
    BOOST_REQUIRE_MESSAGE(out.ok(), out.status().ToString());
    return *out;
  }
  QueueEntry MustEntry(const std::string& job_id) {
    auto e = store->GetQueueEntry(job_id);
    BOOST_REQUIRE_MESSAGE(e.ok(), e.status().ToString());
    BOOST_REQUIRE_MESSAGE(e->has_value(), job_id << " has no entry");
    return **e;
  }
  std::vector<std::string> Waiting() {
    QueueFilter filter;
    filter.statuses = {QueueStatus::kWaiting};
    auto page = store->ListQueue(filter);
    BOOST_REQUIRE(page.ok());
    std::vector<std::string> ids;
    for (const QueueEntry& e : page->entries) {
      ids.push_back(e.job_id + "@" + std::to_string(e.position.value_or(-1)));
    }
    return ids;
  }

  std::unique_ptr<testing::EngineStore> db;
  Store* store = nullptr;  // db's
};

BOOST_AUTO_TEST_SUITE(queue_store)

BOOST_DATA_TEST_CASE_F(QueueFixture, a_submission_is_a_pending_job_and_a_waiting_entry,
                       testing::kEngines, engine) {
  Open(engine);
  const SubmitOutcome out = MustSubmit(MakeSubmission("job-1", 10, "alice"), kNow);
  BOOST_TEST(out.created);
  BOOST_TEST((out.job.status == JobStatus::kPending));
  BOOST_TEST(out.job.provider.value_or("") == "replicate");
  BOOST_TEST(!out.job.external_id.has_value());
  BOOST_TEST(out.job.config_name.value_or("") == "cfg-job-1");
  BOOST_TEST(out.job.metadata.at("model") == "owner/trainer");
  BOOST_TEST(out.job.created_at == kNow);
  BOOST_TEST((out.entry.status == QueueStatus::kWaiting));
  BOOST_TEST(out.entry.position.value_or(-1) == 1);
  BOOST_TEST(out.entry.user_id.value_or("") == "alice");
  BOOST_TEST(out.entry.queued_at == kNow);
  BOOST_TEST(out.entry.attempts == 0);
  BOOST_TEST(out.entry.config_name.value_or("") == "cfg-job-1");
  // The merge announced it like any new job.
  auto events = store->EventsAfter(0, 10);
  BOOST_REQUIRE(events.ok());
  BOOST_REQUIRE(events->size() == 1u);
  BOOST_TEST((*events)[0].job_id == "job-1");
  BOOST_TEST((*events)[0].data.find("\"status\":\"pending\"") != std::string::npos);
  // The same id again is a conflict, not a second entry.
  auto again = store->Submit(MakeSubmission("job-1"), prices, kNow + 1);
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST((again.status().code() == Status::Code::kConflict));
  BOOST_TEST(MustList(*store, JobFilter{}).total == 1);
}

BOOST_DATA_TEST_CASE_F(QueueFixture, positions_follow_priority_then_submission_time,
                       testing::kEngines, engine) {
  Open(engine);
  MustSubmit(MakeSubmission("a", 10), kNow);
  MustSubmit(MakeSubmission("b", 30), kNow + 1);
  MustSubmit(MakeSubmission("c", 10), kNow + 2);
  MustSubmit(MakeSubmission("d", 0), kNow + 3);
  MustSubmit(MakeSubmission("e", 30), kNow + 4);
  using V = std::vector<std::string>;
  BOOST_TEST(Waiting() == (V{"b@1", "e@2", "a@3", "c@4", "d@5"}), boost::test_tools::per_element());
  BOOST_TEST(MustEntry("c").position.value_or(-1) == 4);
  // A raised priority moves the entry; the others keep their order.
  const auto raised = store->SetQueuePriority("d", 50);
  BOOST_REQUIRE(raised.ok());
  BOOST_TEST(raised->priority == 50);
  BOOST_TEST(raised->position.value_or(-1) == 1);
  BOOST_TEST(Waiting() == (V{"d@1", "b@2", "e@3", "a@4", "c@5"}), boost::test_tools::per_element());
  // A cancelled one leaves the waiting list and the ones behind move up.
  BOOST_REQUIRE(store->CancelWaiting("b", prices, kNow + 5).ok());
  BOOST_TEST(Waiting() == (V{"d@1", "e@2", "a@3", "c@4"}), boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE_F(QueueFixture, an_idempotency_key_gives_the_same_job_for_24_hours,
                       testing::kEngines, engine) {
  Open(engine);
  Submission s = MakeSubmission("first");
  s.idempotency_key = "key-1";
  BOOST_TEST(MustSubmit(s, kNow).created);
  Submission repeat = MakeSubmission("second");
  repeat.idempotency_key = "key-1";
  const SubmitOutcome same = MustSubmit(repeat, kNow + 23 * 3600 * kSecond);
  BOOST_TEST(!same.created);
  BOOST_TEST(same.job.job_id == "first");
  BOOST_TEST(same.entry.job_id == "first");
  BOOST_TEST(MustList(*store, JobFilter{}).total == 1);
  // After 24 h the key is free again and makes a new job.
  const SubmitOutcome later = MustSubmit(repeat, kNow + 24 * 3600 * kSecond + 1);
  BOOST_TEST(later.created);
  BOOST_TEST(later.job.job_id == "second");
  BOOST_TEST(MustList(*store, JobFilter{}).total == 2);
}

BOOST_DATA_TEST_CASE_F(QueueFixture, cancel_of_a_waiting_job_is_local_and_closes_the_entry,
                       testing::kEngines, engine) {
  Open(engine);
  MustSubmit(MakeSubmission("w"), kNow);
  const auto cancelled = store->CancelWaiting("w", prices, kNow + kSecond);
  BOOST_REQUIRE_MESSAGE(cancelled.ok(), cancelled.status().ToString());
  BOOST_TEST((cancelled->job.status == JobStatus::kCancelled));
  BOOST_TEST(cancelled->status_changed);
  const QueueEntry entry = MustEntry("w");
  BOOST_TEST((entry.status == QueueStatus::kClosed));
  BOOST_TEST(!entry.position.has_value());
  // Nothing more can be done to a closed entry.
  const auto again = store->CancelWaiting("w", prices, kNow + 2 * kSecond);
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST((again.status().code() == Status::Code::kConflict));
  BOOST_TEST(again.status().error() == "invalid_queue_state");
  const auto priority = store->SetQueuePriority("w", 20);
  BOOST_REQUIRE(!priority.ok());
  BOOST_TEST((priority.status().code() == Status::Code::kConflict));
  const auto unknown = store->SetQueuePriority("nope", 20);
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST((unknown.status().code() == Status::Code::kNotFound));
}

// A dispatched job that ends through a provider observation (a poll, a
// webhook, a sync) closes its entry in that same write: the trigger.
BOOST_DATA_TEST_CASE_F(QueueFixture, an_entry_closes_when_its_job_ends_by_any_path,
                       testing::kEngines, engine) {
  Open(engine);
  MustSubmit(MakeSubmission("d1"), kNow);
  MustSubmit(MakeSubmission("d2"), kNow + 1);
  db->Exec("UPDATE queue SET status = 'dispatched', dispatched_at = " + std::to_string(kNow + 5) +
           " WHERE job_id IN ('d1', 'd2')");
  Observation run = ProviderObs("r8-run-1", "processing");
  run.job_id = "d1";
  MustApply(*store, run, kNow + kSecond);
  BOOST_TEST((MustEntry("d1").status == QueueStatus::kDispatched));  // still running
  auto counts = store->CountQueue(kNow + kSecond);
  BOOST_REQUIRE(counts.ok());
  BOOST_TEST(counts->running == 2);
  BOOST_TEST(counts->waiting == 0);
  run.provider_status = "succeeded";
  MustApply(*store, run, kNow + 2 * kSecond);
  BOOST_TEST((MustEntry("d1").status == QueueStatus::kClosed));
  BOOST_TEST(db->QueryText("SELECT closed_at FROM queue WHERE job_id = 'd1'") ==
             std::to_string(kNow + 2 * kSecond));
  BOOST_TEST((MustEntry("d2").status == QueueStatus::kDispatched));
  counts = store->CountQueue(kNow + 2 * kSecond);
  BOOST_REQUIRE(counts.ok());
  BOOST_TEST(counts->running == 1);
  BOOST_TEST(counts->by_status.at(QueueStatus::kClosed) == 1);
  // Dispatched 5 and 4 µs after they were queued.
  BOOST_TEST(counts->avg_wait_seconds.value_or(-1) == 4.5e-6, boost::test_tools::tolerance(1e-9));
  // A deleted job takes its entry along.
  BOOST_REQUIRE(store->DeleteJob("d1").ok());
  BOOST_TEST(db->QueryText("SELECT count(*) FROM queue WHERE job_id = 'd1'") == "0");
}

BOOST_DATA_TEST_CASE_F(QueueFixture, the_list_filters_by_status_and_user_and_pages,
                       testing::kEngines, engine) {
  Open(engine);
  MustSubmit(MakeSubmission("u1", 10, "ann"), kNow);
  MustSubmit(MakeSubmission("u2", 20, "bob"), kNow + 1);
  MustSubmit(MakeSubmission("u3", 10, "ann"), kNow + 2);
  BOOST_REQUIRE(store->CancelWaiting("u1", prices, kNow + 3).ok());
  QueueFilter ann;
  ann.user_id = "ann";
  auto page = store->ListQueue(ann);
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(page->total == 2);
  BOOST_REQUIRE(page->entries.size() == 2u);
  // Waiting first, with its place in the whole queue; then the closed one.
  BOOST_TEST(page->entries[0].job_id == "u3");
  BOOST_TEST(page->entries[0].position.value_or(-1) == 2);
  BOOST_TEST(page->entries[1].job_id == "u1");
  BOOST_TEST(!page->entries[1].position.has_value());
  QueueFilter paged;
  paged.limit = 1;
  paged.offset = 1;
  page = store->ListQueue(paged);
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(page->total == 3);
  BOOST_REQUIRE(page->entries.size() == 1u);
  BOOST_TEST(page->entries[0].job_id == "u3");
}

BOOST_DATA_TEST_CASE_F(QueueFixture, spend_counts_final_costs_and_running_estimates,
                       testing::kEngines, engine) {
  Open(engine);
  prices.per_second = {{"gpu-l40s", 0.001}};
  Observation done = ProviderObs("done", "succeeded");
  done.created_at = kNow - 100 * kSecond;
  done.predict_time = 1000;  // $1.00
  MustApply(*store, done, kNow);
  Observation old_run = ProviderObs("old", "succeeded");
  old_run.created_at = kNow - 40 * 24 * 3600 * kSecond;  // before the period
  old_run.predict_time = 5000;
  MustApply(*store, old_run, kNow);
  Observation running = ProviderObs("running", "processing");
  running.created_at = kNow - 10 * kSecond;
  running.started_at = kNow - 10 * kSecond;
  MustApply(*store, running, kNow);
  // 1.00 + 500 s of running at $0.001/s.
  auto spent = store->SpentSince(kNow - 30 * 24 * 3600 * kSecond, prices, kNow + 490 * kSecond);
  BOOST_REQUIRE(spent.ok());
  BOOST_TEST(*spent == 1.5, boost::test_tools::tolerance(1e-9));
}

// SPEC §12's limits: at most `max` dispatching or dispatched in all and
// `user_max` per user; the best waiting entry the limits allow goes next.
BOOST_DATA_TEST_CASE_F(QueueFixture, claims_follow_position_within_the_global_and_user_limits,
                       testing::kEngines, engine) {
  Open(engine);
  MustSubmit(MakeSubmission("ann-1", 10, "ann"), kNow);
  MustSubmit(MakeSubmission("ann-2", 10, "ann"), kNow + 1);
  MustSubmit(MakeSubmission("ann-3", 30, "ann"), kNow + 2);
  MustSubmit(MakeSubmission("bob-1", 10, "bob"), kNow + 3);
  MustSubmit(MakeSubmission("anon-1", 0), kNow + 4);
  MustSubmit(MakeSubmission("anon-2", 0), kNow + 5);
  const auto claim = [&](int64_t at) {
    auto c = store->ClaimNextEntry(4, 2, at);
    BOOST_REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    return *c ? (*c)->entry.job_id : std::string("-");
  };
  std::vector<std::string> order;
  for (int i = 0; i < 5; ++i) order.push_back(claim(kNow + 10));
  // ann-3 (urgent) and ann-1 fill ann's two slots, so ann-2 waits; bob-1 and
  // anon-1 take the last two global slots; then nothing may start.
  using V = std::vector<std::string>;
  BOOST_TEST(order == (V{"ann-3", "ann-1", "bob-1", "anon-1", "-"}),
             boost::test_tools::per_element());
  const QueueEntry taken = MustEntry("ann-3");
  BOOST_TEST((taken.status == QueueStatus::kDispatching));
  BOOST_TEST(taken.attempts == 1);
  BOOST_TEST(!taken.position.has_value());
  auto again = store->ClaimNextEntry(4, 2, kNow + 10);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(!again->has_value());
  // One of ann's jobs ends: a global and an ann slot free, and ann-2 (before
  // anon-2 by priority) goes next.
  Observation done;
  done.source = Observation::Source::kLocal;
  done.job_id = "ann-1";
  done.status = JobStatus::kFailed;
  MustApply(*store, done, kNow + 20);
  BOOST_TEST(claim(kNow + 30) == "ann-2");
  BOOST_TEST(claim(kNow + 30) == "-");
  // The request travels with the claim.
  db->Exec("UPDATE queue SET status = 'closed' WHERE job_id IN ('bob-1', 'anon-1')");
  db->Exec("UPDATE queue SET next_attempt_at = " + std::to_string(kNow + 100) +
           " WHERE job_id = 'anon-2'");
  BOOST_TEST(claim(kNow + 99) == "-");  // its retry time has not come
  auto retry = store->ClaimNextEntry(4, 2, kNow + 100);
  BOOST_REQUIRE(retry.ok() && retry->has_value());
  BOOST_TEST((*retry)->entry.job_id == "anon-2");
  BOOST_TEST((*retry)->request_json == R"({"kind":"training","input":{}})");
  BOOST_TEST((*retry)->input_digest == "digest-anon-2");
}

// What a create's outcome does (lib/sqlite_dispatch.cc): a run makes the
// entry dispatched and gives the job its run id through the merge.
BOOST_DATA_TEST_CASE_F(QueueFixture, a_created_run_makes_the_entry_dispatched, testing::kEngines,
                       engine) {
  Open(engine);
  MustSubmit(MakeSubmission("s1"), kNow);
  MustSubmit(MakeSubmission("s2"), kNow + 1);
  auto claims = store->ClaimNextEntry(5, 2, kNow + 10);
  BOOST_REQUIRE(claims.ok() && claims->has_value());
  BOOST_REQUIRE(store->ClaimNextEntry(5, 2, kNow + 10).ok());
  auto left = store->DispatchingEntries();
  BOOST_REQUIRE(left.ok());
  BOOST_REQUIRE(left->size() == 2u);
  BOOST_TEST((*left)[0].entry.job_id == "s1");
  BOOST_TEST((*left)[1].input_digest == "digest-s2");
  Observation run = ProviderObs("r8-run-s1", "starting");
  const auto dispatched = store->MarkDispatched("s1", run, prices, kNow + 20);
  BOOST_REQUIRE_MESSAGE(dispatched.ok(), dispatched.status().ToString());
  BOOST_TEST((dispatched->job.status == JobStatus::kQueued));
  BOOST_TEST(dispatched->job.external_id.value_or("") == "r8-run-s1");
  const QueueEntry entry = MustEntry("s1");
  BOOST_TEST((entry.status == QueueStatus::kDispatched));
  BOOST_TEST(entry.dispatched_at.value_or(0) == kNow + 20);
  // The run's later news reaches the job by its run id, like any run's.
  MustApply(*store, ProviderObs("r8-run-s1", "processing"), kNow + 30);
  BOOST_TEST((MustGet(*store, "s1").status == JobStatus::kRunning));
  const auto twice = store->MarkDispatched("s1", run, prices, kNow + 40);
  BOOST_REQUIRE(!twice.ok());
  BOOST_TEST((twice.status().code() == Status::Code::kConflict));
  BOOST_TEST(store->DispatchingEntries()->size() == 1u);
}

// A cancel while the create was in flight closed the entry: the run that
// comes back must not revive the job (the dispatcher cancels it instead).
BOOST_DATA_TEST_CASE_F(QueueFixture, a_run_for_a_job_cancelled_meanwhile_is_refused,
                       testing::kEngines, engine) {
  Open(engine);
  MustSubmit(MakeSubmission("c1"), kNow);
  BOOST_REQUIRE(store->ClaimNextEntry(5, 2, kNow + 1).ok());
  Observation cancel;
  cancel.source = Observation::Source::kLocal;
  cancel.job_id = "c1";
  cancel.status = JobStatus::kCancelled;
  MustApply(*store, cancel, kNow + 2);
  const auto late =
      store->MarkDispatched("c1", ProviderObs("r8-late", "starting"), prices, kNow + 3);
  BOOST_REQUIRE(!late.ok());
  BOOST_TEST((late.status().code() == Status::Code::kConflict));
  const Job job = MustGet(*store, "c1");
  BOOST_TEST((job.status == JobStatus::kCancelled));
  BOOST_TEST(!job.external_id.has_value());
}

BOOST_DATA_TEST_CASE_F(QueueFixture, a_failed_attempt_waits_again_and_the_last_one_fails_the_job,
                       testing::kEngines, engine) {
  Open(engine);
  MustSubmit(MakeSubmission("f1"), kNow);
  BOOST_REQUIRE(store->ClaimNextEntry(5, 2, kNow + 1).ok());
  BOOST_REQUIRE(store->RetryDispatchLater("f1", "HTTP 503", kNow + 100).ok());
  QueueEntry entry = MustEntry("f1");
  BOOST_TEST((entry.status == QueueStatus::kWaiting));
  BOOST_TEST(entry.position.value_or(-1) == 1);
  BOOST_TEST(entry.attempts == 1);
  BOOST_TEST(entry.error_message.value_or("") == "HTTP 503");
  BOOST_TEST(!store->ClaimNextEntry(5, 2, kNow + 99)->has_value());
  auto second = store->ClaimNextEntry(5, 2, kNow + 100);
  BOOST_REQUIRE(second.ok() && second->has_value());
  BOOST_TEST((*second)->entry.attempts == 2);
  const auto failed = store->FailDispatch("f1", "HTTP 422: input is invalid", prices, kNow + 101);
  BOOST_REQUIRE_MESSAGE(failed.ok(), failed.status().ToString());
  BOOST_TEST((failed->job.status == JobStatus::kFailed));
  BOOST_TEST(failed->job.error_message.value_or("") == "HTTP 422: input is invalid");
  entry = MustEntry("f1");
  BOOST_TEST((entry.status == QueueStatus::kClosed));
  BOOST_TEST(entry.error_message.value_or("") == "HTTP 422: input is invalid");
  // Only a dispatching entry takes these.
  BOOST_TEST((store->RetryDispatchLater("f1", "x", kNow).code() == Status::Code::kConflict));
  BOOST_TEST(
      (store->FailDispatch("nope", "x", prices, kNow).status().code() == Status::Code::kNotFound));
}

BOOST_AUTO_TEST_CASE(priority_names_and_statuses_round_trip) {
  BOOST_TEST(PriorityFromName("low").value_or(-1) == 0);
  BOOST_TEST(PriorityFromName("normal").value_or(-1) == 10);
  BOOST_TEST(PriorityFromName("high").value_or(-1) == 20);
  BOOST_TEST(PriorityFromName("urgent").value_or(-1) == 30);
  BOOST_TEST(!PriorityFromName("Urgent").has_value());
  for (QueueStatus s : {QueueStatus::kWaiting, QueueStatus::kDispatching, QueueStatus::kDispatched,
                        QueueStatus::kClosed}) {
    BOOST_TEST((ParseQueueStatus(QueueStatusName(s)) == s));
  }
  BOOST_TEST(!ParseQueueStatus("pending").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
