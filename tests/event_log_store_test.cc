// Unit tests for lib/event_log.h's log in the SQLite engine: the events Apply
// appends with a job's write, appends of their own, ids and pruning.
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

BOOST_AUTO_TEST_SUITE(event_log_store)

BOOST_FIXTURE_TEST_CASE(created_job_appends_one_status_event_with_null_previous, StoreFixture) {
  auto store = OpenStore();
  MustApply(*store, ProviderObs("ext-1", "starting"), kNow);
  const std::vector<Event> events = AllEvents(*store);
  BOOST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].job_id == "ext-1");
  BOOST_TEST(events[0].type == "job_status_changed");
  BOOST_TEST(events[0].created_at == kNow);
  BOOST_TEST(events[0].id >= 1);
  BOOST_TEST(events[0].data ==
             "{\"type\":\"job_status_changed\",\"job_id\":\"ext-1\",\"status\":\"queued\","
             "\"previous_status\":null,\"provider\":\"replicate\","
             "\"at\":\"2026-11-28T10:00:00.000000Z\"}");
}

BOOST_FIXTURE_TEST_CASE(each_status_change_appends_exactly_one_event, StoreFixture) {
  auto store = OpenStore();
  MustApply(*store, ProviderObs("ext-1", "starting"), kNow);
  BOOST_TEST(AllEvents(*store).size() == 1u);

  MustApply(*store, ProviderObs("ext-1", "processing"), kNow + kSecond);
  std::vector<Event> events = AllEvents(*store);
  BOOST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[1].type == "job_status_changed");
  BOOST_TEST(Contains(events[1].data, "\"status\":\"running\""));
  BOOST_TEST(Contains(events[1].data, "\"previous_status\":\"queued\""));

  // The same observation again: no write, no event, no version bump.
  const ApplyOutcome noop =
      MustApply(*store, ProviderObs("ext-1", "processing"), kNow + 2 * kSecond);
  BOOST_TEST(!noop.changed);
  BOOST_TEST(!noop.status_changed);
  BOOST_TEST(noop.job.version == 2);
  BOOST_TEST(AllEvents(*store).size() == 2u);
  const Job stored = MustGet(*store, "ext-1");
  BOOST_TEST(stored.version == 2);
  BOOST_TEST(stored.updated_at == kNow + kSecond);

  // A backwards observation is a no-op too.
  MustApply(*store, ProviderObs("ext-1", "starting"), kNow + 3 * kSecond);
  BOOST_TEST(AllEvents(*store).size() == 2u);

  MustApply(*store, ProviderObs("ext-1", "succeeded"), kNow + 4 * kSecond);
  events = AllEvents(*store);
  BOOST_REQUIRE(events.size() == 3u);
  BOOST_TEST(events[2].data ==
             "{\"type\":\"job_status_changed\",\"job_id\":\"ext-1\",\"status\":\"completed\","
             "\"previous_status\":\"running\",\"provider\":\"replicate\","
             "\"at\":\"2026-11-28T10:00:04.000000Z\"}");
  BOOST_TEST(events[0].id < events[1].id);
  BOOST_TEST(events[1].id < events[2].id);

  // A terminal job observed as failed: nothing.
  MustApply(*store, ProviderObs("ext-1", "failed"), kNow + 5 * kSecond);
  BOOST_TEST(AllEvents(*store).size() == 3u);

  // EventsAfter is exclusive and honours the limit.
  auto after = store->EventsAfter(events[0].id, 1);
  BOOST_REQUIRE(after.ok());
  BOOST_REQUIRE(after.value().size() == 1u);
  BOOST_TEST(after.value()[0].id == events[1].id);
  BOOST_TEST(AllEvents(*store, events[2].id).empty());
}

BOOST_FIXTURE_TEST_CASE(progress_change_appends_a_progress_event, StoreFixture) {
  auto store = OpenStore();
  MustApply(*store, ProviderObs("ext-1", "processing"), kNow);
  const int64_t last = AllEvents(*store).back().id;

  Observation obs = ProviderObs("ext-1", "processing");
  obs.logs = kLog;
  MustApply(*store, obs, kNow + kSecond);
  std::vector<Event> events = AllEvents(*store, last);
  BOOST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].type == "job_progress");
  BOOST_TEST(events[0].job_id == "ext-1");
  BOOST_TEST(events[0].data ==
             "{\"type\":\"job_progress\",\"job_id\":\"ext-1\",\"stage\":\"Training\","
             "\"progress\":30.0,\"last_log\":\"Step 1500/5000 - loss: 0.0234\","
             "\"rate\":null,\"eta_seconds\":null,\"at\":\"2026-11-28T10:00:01.000000Z\"}");

  // Within a second: the row moves, no event.
  obs.logs = "Step 2000/5000 - loss: 0.0200";
  MustApply(*store, obs, kNow + kSecond + 500000);
  BOOST_TEST(AllEvents(*store, last).size() == 1u);
  const Job job = MustGet(*store, "ext-1");
  BOOST_REQUIRE(job.progress.progress.has_value());
  BOOST_TEST(*job.progress.progress == 40.0);

  // A second later: another event.
  obs.logs = "Step 2500/5000 - loss: 0.0180";
  MustApply(*store, obs, kNow + 2 * kSecond);
  events = AllEvents(*store, last);
  BOOST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[1].type == "job_progress");
  BOOST_TEST(Contains(events[1].data, "\"progress\":50.0"));
}

BOOST_FIXTURE_TEST_CASE(append_event_is_listed_with_job_events, StoreFixture) {
  auto store = OpenStore();
  MustApply(*store, ProviderObs("ext-1", "starting"), kNow);
  auto id =
      store->AppendEvent("", EventType::kJobsSynced, "{\"type\":\"jobs_synced\"}", kNow + kSecond);
  BOOST_REQUIRE(id.ok());
  const std::vector<Event> events = AllEvents(*store);
  BOOST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[1].id == id.value());
  BOOST_TEST(events[1].id > events[0].id);
  BOOST_TEST(events[1].job_id == "");
  BOOST_TEST(events[1].type == "jobs_synced");
  BOOST_TEST(events[1].data == "{\"type\":\"jobs_synced\"}");
  BOOST_TEST(events[1].created_at == kNow + kSecond);
}

BOOST_FIXTURE_TEST_CASE(oldest_and_newest_event_ids_follow_appends_and_pruning, StoreFixture) {
  auto store = OpenStore();
  BOOST_TEST(store->OldestEventId().value() == 0);
  BOOST_TEST(store->NewestEventId().value() == 0);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto id =
        store->AppendEvent("", EventType::kJobsSynced, "{\"type\":\"jobs_synced\"}", kNow + i);
    BOOST_REQUIRE(id.ok());
    ids.push_back(*id);
  }
  BOOST_TEST(store->OldestEventId().value() == ids.front());
  BOOST_TEST(store->NewestEventId().value() == ids.back());
  // Keeping the newest two moves the oldest, not the newest.
  BOOST_TEST(store->PruneEvents(2, 0).value() == 3);
  BOOST_TEST(store->OldestEventId().value() == ids[3]);
  BOOST_TEST(store->NewestEventId().value() == ids.back());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
