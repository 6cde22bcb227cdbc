// Unit tests for lib/webhook_inbox.h: stored webhook deliveries applied through
// the store (SPEC §7) against a real database of each engine, with
// a fixed clock.
#include <boost/test/unit_test.hpp>
// (The test module itself is defined once, in tests/main_test.cc.)

#include <rapidjson/document.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/cost.h"
#include "lib/job.h"
#include "lib/status.h"
#include "lib/store.h"
#include "lib/webhook_inbox.h"
#include "tests/engine_fixture.h"

namespace jobpulse {
namespace {

constexpr int64_t kSecond = 1000000;
// 2026-11-28T10:00:00Z in microseconds.
constexpr int64_t kNow = int64_t{1795860000} * kSecond;

// A Replicate training object as a webhook carries it (the full run, logs included).
std::string Run(const std::string& id, const std::string& status, const std::string& extra = "",
                const std::string& error_json = "null") {
  std::string body = R"({"id":")" + id + R"(","model":"simpletuner/advanced-trainer-h100",)" +
                     R"("version":"v1","source":"api","status":")" + status +
                     R"(","created_at":"2026-11-28T09:00:00.123456Z","urls":{},)" +
                     R"("input":{"steps":5000},"error":)" + error_json;
  if (status != "starting") body += R"(,"started_at":"2026-11-28T09:01:00.5Z")";
  if (status == "succeeded" || status == "failed" || status == "canceled") {
    body += R"(,"completed_at":"2026-11-28T09:31:00Z","metrics":{"predict_time":1800.0})";
  }
  body += R"(,"logs":"Loading model\nStep 1500/5000 - loss: 0.0234\n")";
  return body + extra + "}";
}

// One engine's fresh database (tests/engine_fixture.h).
struct InboxFixture {
  explicit InboxFixture(testing::Engine engine) : db(engine) {
    prices.per_second = {{"gpu-h100", 0.001525}, {"gpu-l40s", 0.000975}};
    prices.default_sku = "gpu-l40s";
  }

  void Insert(const std::string& webhook_id, const std::string& body) {
    auto inserted = db.inbox().InsertDelivery(webhook_id, "replicate", body, now);
    BOOST_REQUIRE_MESSAGE(inserted.ok(), inserted.status().ToString());
    BOOST_REQUIRE_MESSAGE(*inserted, "duplicate " << webhook_id);
    now += kSecond;  // deliveries arrive in order
  }

  InboxReport Pass(int limit = 100) {
    auto report = ApplyPendingDeliveries(
        db.inbox(), prices, [this] { return now; }, limit);
    BOOST_REQUIRE_MESSAGE(report.ok(), report.status().ToString());
    now += kSecond;
    return *report;
  }

  std::optional<Job> Find(const std::string& id) {
    auto job = db.jobs().GetJob(id);
    BOOST_REQUIRE(job.ok());
    return *job;
  }
  std::string StatusOf(const std::string& id) {
    const auto job = Find(id);
    return job ? JobStatusName(job->status) : "(no job)";
  }

  WebhookInbox::InboxCounts Counts() {
    auto counts = db.inbox().CountDeliveries();
    BOOST_REQUIRE(counts.ok());
    return *counts;
  }

  // The (previous_status -> status) of every job_status_changed event of `job_id`.
  std::vector<std::string> StatusEvents(const std::string& job_id) {
    auto events = db.events().EventsAfter(0, 100000);
    BOOST_REQUIRE(events.ok());
    std::vector<std::string> out;
    for (const Event& e : *events) {
      if (e.job_id != job_id || e.type != "job_status_changed") continue;
      rapidjson::Document doc;
      doc.Parse(e.data.c_str());
      BOOST_REQUIRE(!doc.HasParseError() && doc.IsObject());
      const auto& prev = doc["previous_status"];
      out.push_back(std::string(prev.IsString() ? prev.GetString() : "null") + "->" +
                    doc["status"].GetString());
    }
    return out;
  }

  testing::EngineStore db;
  PriceTable prices;
  int64_t now = kNow;
};

using Strings = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(webhook_inbox)

BOOST_DATA_TEST_CASE(applies_valid_deliveries_and_retries_then_rejects_a_broken_one,
                     testing::kEngines, engine) {
  InboxFixture f(engine);
  f.Insert("msg_processing", Run("r8run-a", "processing"));
  f.Insert("msg_succeeded", Run("r8run-b", "succeeded"));
  f.Insert("msg_broken", R"({"id":"r8run-c","status":"processing")");  // cut short

  InboxReport report = f.Pass();
  BOOST_TEST(report.applied == 2);
  BOOST_TEST(report.failed == 1);

  // Unknown runs are created the way a sync would create them (job_id = run id).
  BOOST_TEST(f.StatusOf("r8run-a") == "running");
  BOOST_TEST(f.StatusOf("r8run-b") == "completed");
  BOOST_TEST(f.StatusOf("r8run-c") == "(no job)");
  const Job a = *f.Find("r8run-a");
  BOOST_TEST(a.provider.value_or("") == "replicate");
  BOOST_TEST(a.external_id.value_or("") == "r8run-a");
  BOOST_TEST(a.hardware_type.value_or("") == "gpu-h100");
  // The delivery is the run itself, logs included: they feed progress (SPEC §5).
  BOOST_TEST(a.logs_tail.find("Step 1500/5000") != std::string::npos);
  BOOST_TEST(a.logs_fetched_at.has_value());
  const Job b = *f.Find("r8run-b");
  BOOST_TEST(b.completed_at.has_value());

  Store::InboxCounts counts = f.Counts();
  BOOST_TEST(counts.pending == 1);
  BOOST_TEST(counts.applied == 2);
  BOOST_TEST(counts.rejected == 0);

  // The applied ones are never applied again; the broken one is tried twice
  // more and then rejected, kept for inspection.
  report = f.Pass();
  BOOST_TEST(report.applied == 0);
  BOOST_TEST(report.failed == 1);
  report = f.Pass();
  BOOST_TEST(report.applied == 0);
  BOOST_TEST(report.failed == 1);
  counts = f.Counts();
  BOOST_TEST(counts.pending == 0);
  BOOST_TEST(counts.applied == 2);
  BOOST_TEST(counts.rejected == 1);
  report = f.Pass();
  BOOST_TEST(report.applied == 0);
  BOOST_TEST(report.failed == 0);

  BOOST_TEST(f.StatusEvents("r8run-a") == (Strings{"null->running"}),
             boost::test_tools::per_element());
  BOOST_TEST(f.StatusEvents("r8run-b") == (Strings{"null->completed"}),
             boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(a_repeated_webhook_id_is_not_stored_twice, testing::kEngines, engine) {
  InboxFixture f(engine);
  f.Insert("msg_once", Run("r8run-d", "processing"));
  auto again =
      f.db.inbox().InsertDelivery("msg_once", "replicate", Run("r8run-d", "succeeded"), f.now);
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(!*again);
  BOOST_TEST(f.Pass().applied == 1);
  // Also after it was applied: the inbox remembers the id.
  again = f.db.inbox().InsertDelivery("msg_once", "replicate", Run("r8run-d", "succeeded"), f.now);
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(!*again);
  BOOST_TEST(f.Pass().applied == 0);
  BOOST_TEST(f.StatusOf("r8run-d") == "running");  // the duplicate's content was not used
}

BOOST_DATA_TEST_CASE(one_status_event_per_status_change, testing::kEngines, engine) {
  InboxFixture f(engine);
  f.Insert("msg_1", Run("r8run-e", "starting"));
  f.Insert("msg_2", Run("r8run-e", "processing"));
  // Replicate resends terminal webhooks with the same id, but a second event
  // for the same state may also come with a new id (logs, output): no change.
  f.Insert("msg_3", Run("r8run-e", "processing", R"(,"output":null)"));
  f.Insert("msg_4", Run("r8run-e", "succeeded"));
  f.Insert("msg_5", Run("r8run-e", "succeeded"));
  const InboxReport report = f.Pass();
  BOOST_TEST(report.applied == 5);
  BOOST_TEST(report.failed == 0);
  BOOST_TEST(f.StatusOf("r8run-e") == "completed");
  BOOST_TEST(f.StatusEvents("r8run-e") ==
                 (Strings{"null->queued", "queued->running", "running->completed"}),
             boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(deliveries_for_a_job_already_known_update_it, testing::kEngines, engine) {
  InboxFixture f(engine);
  f.Insert("msg_first", Run("r8run-f", "processing"));
  BOOST_TEST(f.Pass().applied == 1);
  f.Insert("msg_later", Run("r8run-f", "failed", "", R"("CUDA out of memory")"));
  BOOST_TEST(f.Pass().applied == 1);
  const Job job = *f.Find("r8run-f");
  BOOST_TEST(JobStatusName(job.status) == "failed");
  BOOST_TEST(job.error_message.value_or("") == "CUDA out of memory");
  BOOST_TEST(f.StatusEvents("r8run-f") == (Strings{"null->running", "running->failed"}),
             boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(limit_bounds_one_pass_oldest_first, testing::kEngines, engine) {
  InboxFixture f(engine);
  f.Insert("msg_x1", Run("r8run-g1", "processing"));
  f.Insert("msg_x2", Run("r8run-g2", "processing"));
  f.Insert("msg_x3", Run("r8run-g3", "processing"));
  BOOST_TEST(f.Pass(2).applied == 2);
  BOOST_TEST(f.StatusOf("r8run-g1") == "running");
  BOOST_TEST(f.StatusOf("r8run-g2") == "running");
  BOOST_TEST(f.StatusOf("r8run-g3") == "(no job)");
  BOOST_TEST(f.Pass(2).applied == 1);
  BOOST_TEST(f.StatusOf("r8run-g3") == "running");
}

BOOST_DATA_TEST_CASE(bodies_that_are_not_runs_fail, testing::kEngines, engine) {
  InboxFixture f(engine);
  f.Insert("msg_array", "[1]");
  f.Insert("msg_no_id", R"({"status":"processing"})");
  f.Insert("msg_empty", "");
  auto other =
      f.db.inbox().InsertDelivery("msg_other", "elsewhere", Run("r8run-h", "processing"), f.now);
  BOOST_TEST_REQUIRE(other.ok());
  const InboxReport report = f.Pass();
  BOOST_TEST(report.applied == 0);
  BOOST_TEST(report.failed == 4);
  BOOST_TEST(f.StatusOf("r8run-h") == "(no job)");
}

BOOST_DATA_TEST_CASE(an_unknown_provider_status_is_applied_and_kept, testing::kEngines, engine) {
  InboxFixture f(engine);
  f.Insert("msg_known", Run("r8run-i", "processing"));
  f.Insert("msg_unknown", Run("r8run-i", "warming_up"));
  const InboxReport report = f.Pass();
  BOOST_TEST(report.applied == 2);  // the delivery is done; the status is ignored, not retried
  BOOST_TEST(report.failed == 0);
  const Job i = *f.Find("r8run-i");
  BOOST_TEST(JobStatusName(i.status) == "running");
  BOOST_TEST(i.unknown_provider_status.value_or("") == "warming_up");
}

BOOST_DATA_TEST_CASE(an_empty_inbox_is_a_quiet_pass, testing::kEngines, engine) {
  InboxFixture f(engine);
  const InboxReport report = f.Pass();
  BOOST_TEST(report.applied == 0);
  BOOST_TEST(report.failed == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
