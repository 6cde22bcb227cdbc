// Unit tests for lib/event_log.h: the event types' names and every payload,
// byte for byte (SPEC §8).
#include "lib/event_log.h"

#include <boost/test/unit_test.hpp>
#include <string>

#include "lib/job.h"

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

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
