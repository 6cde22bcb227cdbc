// Unit tests for lib/event_log.h: the event types' names and every payload,
// byte for byte (SPEC §8); and the log itself on both engines: ids only grow,
// pruning never gives one back, and a reader following the log while several
// connections append sees every event once, in order, with no gap.
#include "lib/event_log.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>
#include <vector>

#include "lib/job.h"
#include "tests/engine_fixture.h"

namespace jobpulse {
namespace {

// 2026-11-28T10:00:00Z in microseconds.
constexpr int64_t kNow = int64_t{1795860000} * 1000000;

Job RunningJob() {
  Job job;
  job.job_id = "j-1";
  job.provider = "replicate";
  job.status = JobStatus::kRunning;
  job.progress.stage = "training";
  job.progress.progress = 0.25;
  job.progress.last_log = "Step 25/100 \"quoted\"";
  job.progress.rate = 7.8;
  job.progress.eta_seconds = 38;
  return job;
}

BOOST_AUTO_TEST_SUITE(event_log)

BOOST_AUTO_TEST_CASE(types_have_their_wire_names) {
  BOOST_TEST(std::string(EventTypeName(EventType::kJobStatusChanged)) == "job_status_changed");
  BOOST_TEST(std::string(EventTypeName(EventType::kJobProgress)) == "job_progress");
  BOOST_TEST(std::string(EventTypeName(EventType::kJobsSynced)) == "jobs_synced");
}

BOOST_AUTO_TEST_CASE(a_status_change_names_both_statuses) {
  BOOST_TEST(JobStatusChangedData(RunningJob(), JobStatus::kQueued, kNow) ==
             R"({"type":"job_status_changed","job_id":"j-1","status":"running",)"
             R"("previous_status":"queued","provider":"replicate",)"
             R"("at":"2026-11-28T10:00:00.000000Z"})");
  Job local = RunningJob();
  local.provider.reset();
  BOOST_TEST(JobStatusChangedData(local, std::nullopt, kNow) ==
             R"({"type":"job_status_changed","job_id":"j-1","status":"running",)"
             R"("previous_status":null,"provider":null,"at":"2026-11-28T10:00:00.000000Z"})");
}

BOOST_AUTO_TEST_CASE(a_progress_event_carries_stage_progress_and_log) {
  BOOST_TEST(JobProgressData(RunningJob(), kNow) ==
             R"({"type":"job_progress","job_id":"j-1","stage":"training","progress":0.25,)"
             R"("last_log":"Step 25/100 \"quoted\"","rate":7.8,"eta_seconds":38,)"
             R"("at":"2026-11-28T10:00:00.000000Z"})");
  Job quiet = RunningJob();
  quiet.progress = {};
  BOOST_TEST(
      JobProgressData(quiet, kNow) ==
      R"({"type":"job_progress","job_id":"j-1","stage":null,"progress":null,)"
      R"("last_log":null,"rate":null,"eta_seconds":null,"at":"2026-11-28T10:00:00.000000Z"})");
}

BOOST_AUTO_TEST_CASE(a_sync_counts_new_and_updated_jobs) {
  BOOST_TEST(JobsSyncedData("replicate", 3, 4, kNow) ==
             R"({"type":"jobs_synced","provider":"replicate","new":3,"updated":4,)"
             R"("at":"2026-11-28T10:00:00.000000Z"})");
}

BOOST_DATA_TEST_CASE(ids_only_grow_and_pruning_never_gives_one_back, testing::kEngines, engine) {
  testing::EngineStore db(engine);
  EventLog& log = db.events();
  BOOST_TEST(*log.NewestEventId() == 0);
  BOOST_TEST(*log.EventIdsAssigned() == 0);
  const std::string hostile = "{\"x\":\"it's \\\"q\\\" \xc3\xa9\\n\"}";
  for (int i = 0; i < 5; ++i) {
    auto id = log.AppendEvent(i == 0 ? "" : "j-" + std::to_string(i), EventType::kJobProgress,
                              i == 2 ? hostile : "{}", kNow + i);
    BOOST_TEST_REQUIRE(id.ok(), id.status().ToString());
    BOOST_TEST(*id == i + 1);
  }
  auto page = log.EventsAfter(1, 2);
  BOOST_TEST_REQUIRE(page.ok());
  BOOST_TEST_REQUIRE(page->size() == 2u);
  BOOST_TEST((*page)[0].id == 2);
  BOOST_TEST((*page)[0].job_id == "j-1");
  BOOST_TEST((*page)[0].type == "job_progress");
  BOOST_TEST((*page)[0].created_at == kNow + 1);
  BOOST_TEST((*page)[1].data == hostile);
  BOOST_TEST((*log.EventsAfter(0, 10))[0].job_id == "");
  // Keep the newest two, and nothing older than kNow + 4.
  BOOST_TEST(*log.PruneEvents(2, kNow) == 3);
  BOOST_TEST(*log.OldestEventId() == 4);
  BOOST_TEST(*log.PruneEvents(10, kNow + 4) == 1);
  BOOST_TEST(*log.PruneEvents(0, kNow) == 1);
  BOOST_TEST(*log.NewestEventId() == 0);
  BOOST_TEST(*log.EventIdsAssigned() == 5);
  BOOST_TEST(*log.AppendEvent("", EventType::kJobsSynced, "{}", kNow) == 6);
}

BOOST_DATA_TEST_CASE(a_follower_sees_every_event_once_in_order, testing::kEngines, engine) {
  testing::EngineStore db(engine);
  constexpr int kWriters = 4;
  constexpr int kEach = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      testing::EngineStore own = db.Another();
      for (int i = 0; i < kEach; ++i) {
        const std::string data = std::to_string(w * kEach + i);
        if (!own.events().AppendEvent("j", EventType::kJobProgress, data, kNow).ok()) ++failures;
      }
    });
  }
  // The follower, as an SSE server: read after its cursor until all are seen.
  std::vector<int64_t> seen;
  std::vector<bool> got(kWriters * kEach, false);
  int64_t cursor = 0;
  for (int round = 0; round < 20000 && static_cast<int>(seen.size()) < kWriters * kEach; ++round) {
    auto events = db.events().EventsAfter(cursor, 64);
    BOOST_TEST_REQUIRE(events.ok(), events.status().ToString());
    for (const Event& e : *events) {
      seen.push_back(e.id);
      cursor = e.id;
      const int n = std::stoi(e.data);
      if (got[n]) ++failures;
      got[n] = true;
    }
    if (events->empty()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  for (auto& t : writers) t.join();
  BOOST_TEST(failures == 0);
  BOOST_TEST_REQUIRE(seen.size() == static_cast<size_t>(kWriters * kEach));
  for (size_t i = 0; i < seen.size(); ++i) {
    if (seen[i] != static_cast<int64_t>(i) + 1) {
      BOOST_TEST(seen[i] == static_cast<int64_t>(i) + 1);  // a gap or a repeat: stop at the first
      break;
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
