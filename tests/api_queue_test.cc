// Unit tests for the submission and queue endpoints (SPEC §12,
// lib/api_queue.cc, lib/submission.h) through Api::Handle over a real SQLite
// store with a fixed clock. Bad input is refused naming the field, and the
// database is compared before and after.
#include <rapidjson/document.h>
#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lib/api.h"
#include "lib/submission.h"

namespace jobpulse {
namespace {

constexpr int64_t kSecond = 1000000;
constexpr int64_t kNow = int64_t{1795860000} * kSecond;  // 2026-11-28T10:00:00Z
const std::string kVersion(64, 'a');

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError() && doc.IsObject(), "not a JSON object: " << json);
  return doc;
}

std::string Training(const std::string& extra = "") {
  return R"({"kind":"training","model":"owner/trainer","version":")" + kVersion +
         R"(","destination":"me/my-lora","input":{"steps":1000})" + extra + "}";
}

struct QueueApiFixture {
  QueueApiFixture() {
    std::string path =
        (std::filesystem::temp_directory_path() / "jobpulse_api_queue_XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(path.data()) != nullptr);
    dir = path;
    auto opened = Store::Open(dir + "/jobpulse.db");
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    store = std::move(*opened);
    Reconfigure(Config());
  }
  ~QueueApiFixture() {
    api.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void Reconfigure(Config config) {
    config.database_path.value = dir + "/jobpulse.db";
    api = std::make_unique<Api>(
        std::move(config), [this]() -> Result<Store*> { return store.get(); },
        [this] { return now; });
  }
  HttpResponse Call(const std::string& method, const std::string& path, std::string body = "",
                    std::string query = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("content-type", "application/json");
    HttpRequest request{method, path, std::move(query), "", std::move(body), std::move(headers)};
    return api->Handle(request);
  }
  HttpResponse Submit(const std::string& body, std::string query = "",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    return Call("POST", "/api/cloud/jobs/submit", body, std::move(query), std::move(headers));
  }
  // The job id of a 202 answer.
  std::string MustSubmit(const std::string& body) {
    const HttpResponse r = Submit(body);
    BOOST_REQUIRE_MESSAGE(r.status == 202, r.status << " " << r.body);
    return Parse(r.body)["job"]["job_id"].GetString();
  }
  // Every job and queue entry, as text, for before/after comparisons.
  std::string Snapshot() {
    auto jobs = store->ListJobs(JobFilter{});
    BOOST_REQUIRE(jobs.ok());
    auto queue = store->ListQueue(QueueFilter{});
    BOOST_REQUIRE(queue.ok());
    std::string out = std::to_string(jobs->total) + " jobs:";
    for (const Job& j : jobs->jobs) out += " " + j.job_id + "=" + JobStatusName(j.status);
    out += "; " + std::to_string(queue->total) + " entries:";
    for (const QueueEntry& e : queue->entries) {
      out += " " + e.job_id + "=" + QueueStatusName(e.status) + "/" + std::to_string(e.priority);
    }
    return out;
  }

  std::string dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<Api> api;
  int64_t now = kNow;
};

BOOST_FIXTURE_TEST_SUITE(api_queue, QueueApiFixture)

BOOST_AUTO_TEST_CASE(submit_answers_202_with_the_pending_job_and_its_position) {
  const HttpResponse first = Submit(Training(R"(,"config_name":"flux-a","user_id":"ann")"));
  BOOST_REQUIRE_MESSAGE(first.status == 202, first.body);
  const auto doc = Parse(first.body);
  const std::string id = doc["job"]["job_id"].GetString();
  BOOST_TEST(id.starts_with("sub-"));
  BOOST_TEST(id.size() == 28u);
  BOOST_TEST(std::string(doc["job"]["status"].GetString()) == "pending");
  BOOST_TEST(std::string(doc["job"]["config_name"].GetString()) == "flux-a");
  BOOST_TEST(std::string(doc["job"]["provider"].GetString()) == "replicate");
  BOOST_TEST(doc["queue"]["position"].GetInt() == 1);
  BOOST_TEST(doc["queue"]["estimated_wait_seconds"].IsNull());  // no run to average yet
  now += kSecond;
  const HttpResponse second = Submit(Training(R"(,"priority":"low")"));
  BOOST_REQUIRE(second.status == 202);
  BOOST_TEST(Parse(second.body)["queue"]["position"].GetInt() == 2);
  now += kSecond;
  const HttpResponse urgent = Submit(Training(R"(,"priority":"urgent")"));
  BOOST_REQUIRE(urgent.status == 202);
  BOOST_TEST(Parse(urgent.body)["queue"]["position"].GetInt() == 1);
  // The queue as the list shows it.
  const HttpResponse list = Call("GET", "/api/queue");
  BOOST_REQUIRE(list.status == 200);
  const auto entries = Parse(list.body);
  BOOST_TEST(entries["total"].GetInt() == 3);
  std::vector<int> priorities;
  for (const auto& e : entries["entries"].GetArray()) priorities.push_back(e["priority"].GetInt());
  BOOST_TEST(priorities == (std::vector<int>{30, 10, 0}), boost::test_tools::per_element());
  BOOST_TEST(std::string(entries["entries"][1]["user_id"].GetString()) == "ann");
  BOOST_TEST(std::string(entries["entries"][1]["status"].GetString()) == "waiting");
  BOOST_TEST(std::string(entries["entries"][1]["queued_at"].GetString()) ==
             "2026-11-28T10:00:00.000000Z");
}

BOOST_AUTO_TEST_CASE(bad_submissions_name_the_field_and_change_nothing) {
  MustSubmit(Training());
  const std::string before = Snapshot();
  const std::string big_input = "{\"kind\":\"prediction\",\"model\":\"o/m\",\"input\":{\"x\":\"" +
                                std::string(kMaxSubmitInputBytes, 'x') + "\"}}";
  struct Case {
    std::string body, field;
  };
  const std::vector<Case> cases = {
      {R"({"model":"o/m","input":{}})", "kind"},
      {R"({"kind":"fine-tune","model":"o/m","input":{}})", "kind"},
      {R"({"kind":"prediction","model":"no-slash","input":{}})", "model"},
      {R"({"kind":"prediction","model":"a/b/c","input":{}})", "model"},
      {R"({"kind":"prediction","input":{}})", "model"},
      {R"({"kind":"training","model":"o/m","destination":"me/x","input":{}})", "version"},
      {R"({"kind":"prediction","model":"o/m","version":"ABC","input":{}})", "version"},
      {R"({"kind":"training","model":"o/m","version":")" + kVersion + R"(","input":{}})",
       "destination"},
      {R"({"kind":"prediction","model":"o/m","destination":"me/x","input":{}})", "destination"},
      {R"({"kind":"prediction","model":"o/m","input":[1]})", "input"},
      {R"({"kind":"prediction","model":"o/m"})", "input"},
      {big_input, "input"},
      {R"({"kind":"prediction","model":"o/m","input":{},"priority":"asap"})", "priority"},
      {R"({"kind":"prediction","model":"o/m","input":{},"priority":51})", "priority"},
      {R"({"kind":"prediction","model":"o/m","input":{},"priority":2.5})", "priority"},
      {R"({"kind":"prediction","model":"o/m","input":{},"config_name":"a\nb"})", "config_name"},
      {R"({"kind":"prediction","model":"o/m","input":{},"user_id":"a b"})", "user_id"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("field " << c.field << ": " << c.body.substr(0, 120)) {
      const HttpResponse r = Submit(c.body);
      BOOST_TEST(r.status == 400);
      const auto doc = Parse(r.body);
      BOOST_TEST(std::string(doc["error"].GetString()) == "invalid_field");
      BOOST_TEST(std::string(doc["details"]["field"].GetString()) == c.field);
    }
  }
  for (const std::string& bad : {std::string("not json"), std::string("[1]"),
                                 std::string("{\"kind\":\"prediction\",\"model\":\"o/m\","
                                             "\"input\":{\"p\xff\":1}}"),
                                 std::string(100, '[') + std::string(100, ']')}) {
    const HttpResponse r = Submit(bad);
    BOOST_TEST(r.status == 400);
    BOOST_TEST(std::string(Parse(r.body)["error"].GetString()) == "invalid_json");
  }
  const HttpResponse provider = Submit(Training(), "provider=modal");
  BOOST_TEST(provider.status == 400);
  BOOST_TEST(std::string(Parse(provider.body)["details"]["parameter"].GetString()) == "provider");
  const HttpResponse key = Submit(Training(), "", {{"idempotency-key", "has space"}});
  BOOST_TEST(key.status == 400);
  BOOST_TEST(std::string(Parse(key.body)["error"].GetString()) == "invalid_header");
  BOOST_TEST(Snapshot() == before);
}

BOOST_AUTO_TEST_CASE(the_same_idempotency_key_returns_the_same_job) {
  const HttpResponse first = Submit(Training(), "", {{"idempotency-key", "retry-7"}});
  BOOST_REQUIRE(first.status == 202);
  BOOST_TEST(first.Header("Idempotent-Replayed") == nullptr);
  now += 10 * kSecond;
  const HttpResponse again = Submit(Training(), "", {{"idempotency-key", "retry-7"}});
  BOOST_REQUIRE(again.status == 202);
  BOOST_REQUIRE(again.Header("Idempotent-Replayed") != nullptr);
  BOOST_TEST(std::string(Parse(again.body)["job"]["job_id"].GetString()) ==
             std::string(Parse(first.body)["job"]["job_id"].GetString()));
  BOOST_TEST(store->ListJobs(JobFilter{})->total == 1);
}

BOOST_AUTO_TEST_CASE(over_the_cost_limit_a_submission_is_refused_with_the_figures) {
  Config config;
  config.queue_cost_limit_usd.value = 1.0;
  config.queue_cost_limit_period.value = "daily";
  Reconfigure(config);
  BOOST_REQUIRE(Submit(Training()).status == 202);  // nothing spent yet
  const HttpResponse keyed = Submit(Training(), "", {{"idempotency-key", "before-the-limit"}});
  BOOST_REQUIRE(keyed.status == 202);
  Observation spent;
  spent.provider = "replicate";
  spent.external_id = "r8-spent";
  spent.provider_status = "succeeded";
  spent.created_at = now - 3600 * kSecond;
  spent.predict_time = 2000;  // 2000 s at the L40S default price: about $1.95
  PriceTable prices;
  prices.per_second = config.replicate.hardware_prices.value;
  BOOST_REQUIRE(store->Apply(spent, prices, now).ok());
  const std::string before = Snapshot();
  const HttpResponse refused = Submit(Training());
  BOOST_TEST(refused.status == 409);
  const auto doc = Parse(refused.body);
  BOOST_TEST(std::string(doc["error"].GetString()) == "cost_limit_exceeded");
  BOOST_TEST(std::string(doc["details"]["spent_usd"].GetString()) == "1.95");
  BOOST_TEST(std::string(doc["details"]["limit_usd"].GetString()) == "1.00");
  BOOST_TEST(std::string(doc["details"]["period"].GetString()) == "daily");
  BOOST_TEST(Snapshot() == before);
  // A replayed key gets its first answer, even over the limit.
  const HttpResponse replayed = Submit(Training(), "", {{"idempotency-key", "before-the-limit"}});
  BOOST_TEST(replayed.status == 202);
  BOOST_TEST(replayed.Header("Idempotent-Replayed") != nullptr);
  BOOST_TEST(std::string(Parse(replayed.body)["job"]["job_id"].GetString()) ==
             std::string(Parse(keyed.body)["job"]["job_id"].GetString()));
  BOOST_TEST(Snapshot() == before);
  // Spending from before the period does not count.
  now += 2 * 24 * 3600 * kSecond;
  BOOST_TEST(Submit(Training()).status == 202);
}

BOOST_AUTO_TEST_CASE(queue_endpoints_show_change_and_cancel_waiting_entries) {
  const std::string a = MustSubmit(Training(R"(,"user_id":"ann")"));
  now += kSecond;
  const std::string b = MustSubmit(Training(R"(,"user_id":"bob")"));
  HttpResponse position = Call("GET", "/api/queue/position/" + b);
  BOOST_REQUIRE(position.status == 200);
  BOOST_TEST(Parse(position.body)["position"].GetInt() == 2);
  // Raising b puts it first.
  const HttpResponse raised =
      Call("POST", "/api/queue/" + b + "/priority", R"({"priority":"high"})");
  BOOST_REQUIRE_MESSAGE(raised.status == 200, raised.body);
  BOOST_TEST(Parse(raised.body)["priority"].GetInt() == 20);
  BOOST_TEST(Parse(raised.body)["position"].GetInt() == 1);
  BOOST_TEST(Call("POST", "/api/queue/" + b + "/priority", R"({"priority":99})").status == 400);
  // Cancel of a waiting job: local, the job is cancelled, the entry closed.
  const HttpResponse cancelled = Call("POST", "/api/queue/" + a + "/cancel");
  BOOST_REQUIRE_MESSAGE(cancelled.status == 200, cancelled.body);
  const auto doc = Parse(cancelled.body);
  BOOST_TEST(std::string(doc["job"]["status"].GetString()) == "cancelled");
  BOOST_TEST(std::string(doc["entry"]["status"].GetString()) == "closed");
  BOOST_TEST(doc["entry"]["position"].IsNull());
  const std::string before = Snapshot();
  const HttpResponse again = Call("POST", "/api/queue/" + a + "/cancel");
  BOOST_TEST(again.status == 409);
  BOOST_TEST(std::string(Parse(again.body)["error"].GetString()) == "invalid_queue_state");
  BOOST_TEST(Call("POST", "/api/queue/" + a + "/priority", R"({"priority":"low"})").status == 409);
  BOOST_TEST(Snapshot() == before);
  // Stats and filters.
  const HttpResponse stats = Call("GET", "/api/queue/stats");
  BOOST_REQUIRE(stats.status == 200);
  const auto s = Parse(stats.body);
  BOOST_TEST(s["queue_depth"].GetInt() == 1);
  BOOST_TEST(s["running"].GetInt() == 0);
  BOOST_TEST(s["max_concurrent"].GetInt() == 5);
  BOOST_TEST(s["user_max_concurrent"].GetInt() == 2);
  BOOST_TEST(s["by_status"]["closed"].GetInt() == 1);
  BOOST_TEST(s["by_status"]["waiting"].GetInt() == 1);
  BOOST_TEST(s["avg_wait_seconds"].IsNull());
  const HttpResponse bob = Call("GET", "/api/queue", "", "user_id=bob&status=waiting");
  BOOST_REQUIRE(bob.status == 200);
  BOOST_TEST(Parse(bob.body)["total"].GetInt() == 1);
  BOOST_TEST(Call("GET", "/api/queue", "", "status=pending").status == 400);
  BOOST_TEST(Call("GET", "/api/queue", "", "limit=0").status == 400);
  BOOST_TEST(Call("GET", "/api/queue/position/nope").status == 404);
  BOOST_TEST(Call("GET", "/api/queue/position/bad%2Fid").status == 400);
  BOOST_TEST(Call("GET", "/api/cloud/jobs/submit").status == 405);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
