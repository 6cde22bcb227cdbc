// The provider-facing endpoints through nginx and the FastCGI pool against the
// Replicate simulator (tests/replicate_sim): full sync, active sync, validate,
// cancel, log refresh and the inline-progress refresh with its per-job lease.
#include <rapidjson/document.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lib/provider_sync.h"
#include "lib/replicate_client.h"
#include "lib/store.h"
#include "lib/timestamp.h"
#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"

namespace jobpulse {
namespace {

using testing::Http;
using testing::HttpResult;
using testing::Simulator;
using testing::Stack;

constexpr int kMaxAgeSeconds = 2;

using testing::Parse;

std::string Show(JobStatus s) { return JobStatusName(s); }

std::string Str(const rapidjson::Value& v) {
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : "<not a string>";
}

// One simulator and one stack wired to it, for the whole suite.
struct ReplicateStack {
  ReplicateStack() {
    testing::StackOptions options;
    options.pool_size = 3;
    // Two concurrent syncs must both wait for the one that runs (SPEC §6); the
    // default for a pool of 3 would let only one wait on the provider.
    options.enterprise_yaml =
        "inline_progress:\n  max_age_seconds: " + std::to_string(kMaxAgeSeconds) +
        "\napi:\n  max_provider_waiters: 2\n";
    env.Start(options);
  }
  ~ReplicateStack() { env.Stop(); }
  static inline testing::SimulatedStack env;
};

std::string Url(const std::string& path) { return ReplicateStack::env.stack().Url(path); }
Simulator& Sim() { return ReplicateStack::env.sim(); }

// Fresh simulator state for one test; the jobpulse database keeps earlier jobs,
// so every test uses its own run ids.
void ResetSim() {
  Sim().Control("DELETE", "/faults");
  Sim().Control("POST", "/reset");
}

void CreateRun(const std::string& id, const std::string& status,
               const std::string& model = "simpletuner/advanced-trainer-l40s",
               const std::string& created_at = "", const std::string& logs = "") {
  std::string body = R"({"id":")" + id + R"(","status":")" + status + R"(","model":")" + model +
                     R"(","kind":"training")";
  if (!created_at.empty()) body += R"(,"created_at":")" + created_at + "\"";
  if (!logs.empty()) body += R"(,"logs":")" + logs + "\"";
  body += "}";
  Sim().Control("POST", "/runs", body);
}

void SetRunStatus(const std::string& id, const std::string& status) {
  Sim().Control("POST", "/runs/" + id + "/status", R"({"status":")" + status + "\"}");
}

void AppendLogs(const std::string& id, const std::string& text_json_escaped) {
  Sim().Control("POST", "/runs/" + id + "/logs", R"({"append":")" + text_json_escaped + "\"}");
}

void InjectFault(const std::string& fault_json) { Sim().Control("POST", "/faults", fault_json); }

// GETs of one run (predictions or trainings) the simulator has served.
int64_t RunGets(const std::string& id) {
  const auto doc = Parse(Sim().Control("GET", "/counters"));
  const auto& runs = doc["runs"];
  const auto it = runs.FindMember(id.c_str());
  return it == runs.MemberEnd() ? 0 : it->value.GetInt64();
}

int64_t EndpointCount(const std::string& endpoint) {
  const auto doc = Parse(Sim().Control("GET", "/counters"));
  return doc["endpoints"][endpoint.c_str()].GetInt64();
}

HttpResult PostSync() {
  return Http("POST", Url("/api/cloud/jobs/sync"), R"({"provider":"replicate"})",
              {"Content-Type: application/json"});
}

std::string StatusOf(const std::string& id) {
  const HttpResult r = Http("GET", Url("/api/cloud/jobs/" + id));
  if (r.status != 200) return "http " + std::to_string(r.status);
  return Str(Parse(r.body)["job"]["status"]);
}

void CheckEnvelope(const HttpResult& r, long status, const std::string& error) {
  BOOST_TEST(r.status == status);
  const auto doc = Parse(r.body);
  BOOST_TEST_REQUIRE(doc.IsObject());
  BOOST_TEST_REQUIRE(doc.HasMember("error"));
  BOOST_TEST(Str(doc["error"]) == error);
  BOOST_TEST(doc["message"].GetStringLength() > 0u);
}

int64_t JobCount() {
  auto page = ReplicateStack::env.store().ListJobs(JobFilter{});
  BOOST_TEST_REQUIRE(page.ok());
  return page->total;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replicate_through_nginx, *boost::unit_test::fixture<ReplicateStack>())

BOOST_AUTO_TEST_CASE(sync_imports_new_runs_across_pages_and_updates_known_ones) {
  ResetSim();
  Sim().Control("POST", "/config", R"({"page_size":2})");
  for (int i = 0; i < 5; ++i) {
    CreateRun("sync" + std::to_string(i), i < 2 ? "processing" : "starting",
              "simpletuner/advanced-trainer-l40s", "2026-11-20T10:0" + std::to_string(i) + ":00Z");
  }
  HttpResult r = PostSync();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(
      r.body ==
      R"({"synced":5,"updated":0,"skipped":0,"message":"Discovered 5 new jobs from Replicate"})");
  BOOST_TEST(EndpointCount("list_predictions") == 3);  // pages of 2, 2 and 1
  BOOST_TEST(StatusOf("sync0") == "running");
  BOOST_TEST(StatusOf("sync4") == "queued");

  // Nothing changed: nothing new, nothing updated.
  r = PostSync();
  BOOST_TEST(
      r.body ==
      R"({"synced":0,"updated":0,"skipped":0,"message":"Discovered 0 new jobs from Replicate"})");

  SetRunStatus("sync0", "succeeded");
  SetRunStatus("sync4", "processing");
  CreateRun("sync5", "starting");
  r = PostSync();
  BOOST_TEST(
      r.body ==
      R"({"synced":1,"updated":2,"skipped":0,"message":"Discovered 1 new jobs from Replicate"})");
  BOOST_TEST(StatusOf("sync0") == "completed");
  BOOST_TEST(StatusOf("sync4") == "running");

  // The job record of a synced run.
  const auto doc = Parse(Http("GET", Url("/api/cloud/jobs/sync0")).body);
  const auto& job = doc["job"];
  BOOST_TEST(Str(job["external_id"]) == "sync0");
  BOOST_TEST(Str(job["provider"]) == "replicate");
  BOOST_TEST(Str(job["hardware_type"]) == "gpu-l40s");
  BOOST_TEST(Str(job["metadata"]["model"]) == "simpletuner/advanced-trainer-l40s");
  BOOST_TEST(Str(job["created_at"]) == "2026-11-20T10:00:00.000000Z");
  BOOST_TEST(!job["completed_at"].IsNull());
  BOOST_TEST(job["cost_usd"].IsNumber());
  Sim().Control("POST", "/config", R"({"page_size":100})");
}

BOOST_AUTO_TEST_CASE(concurrent_syncs_import_each_run_once_and_agree) {
  ResetSim();
  for (int i = 0; i < 30; ++i) CreateRun("conc" + std::to_string(i), "processing");
  // Slow list pages, so the syncs overlap.
  InjectFault(R"({"endpoint":"list_predictions","delay_ms":300})");
  const int64_t before = JobCount();
  HttpResult a, b;
  std::thread ta([&] { a = PostSync(); });
  std::thread tb([&] { b = PostSync(); });
  ta.join();
  tb.join();
  BOOST_TEST(a.status == 200);
  BOOST_TEST(b.status == 200);
  BOOST_TEST(
      a.body ==
      R"({"synced":30,"updated":0,"skipped":0,"message":"Discovered 30 new jobs from Replicate"})");
  BOOST_TEST(b.body == a.body);
  BOOST_TEST(JobCount() == before + 30);
  BOOST_TEST(EndpointCount("list_predictions") == 1);
}

BOOST_AUTO_TEST_CASE(provider_failures_leave_the_store_unchanged) {
  ResetSim();
  CreateRun("fail0", "processing");
  const int64_t before = JobCount();
  for (const char* fault : {R"({"endpoint":"list_predictions","status":500})",
                            R"({"endpoint":"list_predictions","malformed":true})",
                            R"({"endpoint":"list_predictions","drop":true})"}) {
    BOOST_TEST_CONTEXT(fault) {
      InjectFault(fault);
      const HttpResult r = PostSync();
      CheckEnvelope(r, 502, "provider_error");
      BOOST_TEST(JobCount() == before);
      Sim().Control("DELETE", "/faults");
    }
  }
  BOOST_TEST(StatusOf("fail0") == "http 404");
}

BOOST_AUTO_TEST_CASE(provider_429_becomes_429_with_retry_after) {
  ResetSim();
  CreateRun("rl0", "processing");
  InjectFault(R"({"endpoint":"list_predictions","status":429,"retry_after":7})");
  HttpResult r = PostSync();
  CheckEnvelope(r, 429, "provider_rate_limited");
  BOOST_TEST(r.Header("retry-after") == "7");
  // Only the body says when: still honoured.
  InjectFault(R"({"endpoint":"list_predictions","status":429,"retry_after":4,)"
              R"("retry_after_header":false})");
  r = PostSync();
  CheckEnvelope(r, 429, "provider_rate_limited");
  BOOST_TEST(r.Header("retry-after") == "4");
  BOOST_TEST(StatusOf("rl0") == "http 404");
}

BOOST_AUTO_TEST_CASE(sync_active_refreshes_every_active_job_and_only_those) {
  ResetSim();
  for (int i = 0; i < 6; ++i) CreateRun("act" + std::to_string(i), "processing");
  CreateRun("act-done", "succeeded");
  BOOST_TEST_REQUIRE(PostSync().status == 200);
  for (int i = 0; i < 3; ++i) SetRunStatus("act" + std::to_string(i), "succeeded");
  Sim().Control("POST", "/counters/reset");
  // Every active job in the store is refreshed, also those of earlier tests;
  // what matters here is which runs the simulator saw.
  std::this_thread::sleep_for(std::chrono::milliseconds(5100));  // past the 5 s freshness
  HttpResult r = Http("GET", Url("/api/cloud/jobs?sync_active=true&provider=replicate&limit=1"));
  BOOST_TEST(r.status == 200);
  const std::string header = r.Header("x-sync-active");
  BOOST_TEST_MESSAGE("X-Sync-Active: " << header);
  BOOST_TEST(header.rfind("refreshed=6; skipped=0; failed=", 0) == 0u);
  for (int i = 0; i < 6; ++i) BOOST_TEST(RunGets("act" + std::to_string(i)) == 1);
  BOOST_TEST(RunGets("act-done") == 0);
  for (int i = 0; i < 3; ++i) BOOST_TEST(StatusOf("act" + std::to_string(i)) == "completed");
  BOOST_TEST(StatusOf("act3") == "running");

  // Right after, those jobs are fresh: none of them is fetched again. Jobs of
  // earlier tests whose runs the reset simulator no longer knows answered 404
  // just now; a 404 is an answer (SPEC §4 counts it), so they are fresh too.
  Sim().Control("POST", "/counters/reset");
  r = Http("GET", Url("/api/cloud/jobs?sync_active=true&provider=replicate"));
  BOOST_TEST(r.status == 200);
  for (int i = 3; i < 6; ++i) BOOST_TEST(RunGets("act" + std::to_string(i)) == 0);
  const std::string again = r.Header("x-sync-active");
  BOOST_TEST(again.rfind("refreshed=0; skipped=", 0) == 0u, again);
  BOOST_TEST(again.substr(again.size() - 10) == "; failed=0", again);
  BOOST_TEST(Parse(Sim().Control("GET", "/counters"))["total"].GetInt() == 0);
}

BOOST_AUTO_TEST_CASE(validate_reports_a_good_and_a_bad_token) {
  ResetSim();
  HttpResult r = Http("GET", Url("/api/cloud/providers/replicate/validate"));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"valid":true,"user_info":{"username":"simuser","name":"Sim User",)"
                       R"("github_url":"https://github.com/simuser"},"error":null})");
  Sim().Control("POST", "/config", R"({"tokens":["r8_some_other_token"]})");
  r = Http("GET", Url("/api/cloud/providers/replicate/validate"));
  BOOST_TEST(r.status == 200);
  const auto doc = Parse(r.body);
  BOOST_TEST(!doc["valid"].GetBool());
  BOOST_TEST(doc["user_info"].IsNull());
  BOOST_TEST(Str(doc["error"]).find("rejected the API token") != std::string::npos);
  BOOST_TEST(r.body.find(Simulator::kToken) == std::string::npos);
  ResetSim();
  CheckEnvelope(Http("GET", Url("/api/cloud/providers/nope/validate")), 404, "unknown_provider");
}

BOOST_AUTO_TEST_CASE(cancel_a_running_job_and_refuse_a_finished_one) {
  ResetSim();
  CreateRun("can-run", "processing");
  CreateRun("can-done", "succeeded");
  BOOST_TEST_REQUIRE(PostSync().status == 200);
  HttpResult r = Http("POST", Url("/api/cloud/jobs/can-run/cancel"));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"success":true,"job_id":"can-run","status":"cancelled"})");
  BOOST_TEST(EndpointCount("cancel_prediction") == 1);
  const auto sim_run = Parse(Sim().Control("GET", "/runs/can-run"));
  BOOST_TEST(Str(sim_run["status"]) == "canceled");
  const auto job = Parse(Http("GET", Url("/api/cloud/jobs/can-run")).body);
  BOOST_TEST(Str(job["job"]["status"]) == "cancelled");
  BOOST_TEST(!job["job"]["completed_at"].IsNull());

  r = Http("POST", Url("/api/cloud/jobs/can-done/cancel"));
  CheckEnvelope(r, 409, "invalid_job_state");
  BOOST_TEST(EndpointCount("cancel_prediction") == 1);
  CheckEnvelope(Http("POST", Url("/api/cloud/jobs/no-such/cancel")), 404, "job_not_found");
  CheckEnvelope(Http("GET", Url("/api/cloud/jobs/can-run/cancel")), 405, "method_not_allowed");
}

BOOST_AUTO_TEST_CASE(fifty_concurrent_pollers_of_a_stale_job_cost_one_provider_get) {
  ResetSim();
  CreateRun("poll0", "processing", "simpletuner/advanced-trainer-l40s", "",
            "Loading model\\nStep 10/100 - loss: 0.5\\n");
  BOOST_TEST_REQUIRE(PostSync().status == 200);  // list items carry no logs: stale at once
  Sim().Control("POST", "/counters/reset");
  // A slow provider keeps the lease holder busy while the others arrive.
  InjectFault(R"({"endpoint":"get_prediction","delay_ms":200})");
  std::vector<HttpResult> results(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = Http("GET", Url("/api/cloud/jobs/poll0/inline-progress")); });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  for (const auto& r : results) ok += r.status == 200;
  BOOST_TEST(ok == 50);
  BOOST_TEST(RunGets("poll0") == 1);
  // The refreshed answer carries the parsed logs.
  const HttpResult r = Http("GET", Url("/api/cloud/jobs/poll0/inline-progress"));
  BOOST_TEST(r.body ==
             R"({"job_id":"poll0","stage":"Training","last_log":"Step 10/100 - loss: 0.5",)"
             R"("progress":10.0,"rate":null,"eta_seconds":null})");
  BOOST_TEST(RunGets("poll0") == 1);
}

BOOST_AUTO_TEST_CASE(stage_and_progress_follow_the_simulator_logs) {
  ResetSim();
  CreateRun("follow0", "processing");
  BOOST_TEST_REQUIRE(PostSync().status == 200);
  const std::string url = Url("/api/cloud/jobs/follow0/inline-progress");
  const auto poll_after_max_age = [&](const std::string& append) {
    AppendLogs("follow0", append);
    std::this_thread::sleep_for(std::chrono::milliseconds(kMaxAgeSeconds * 1000 + 100));
    return Http("GET", url).body;
  };
  BOOST_TEST(poll_after_max_age("Loading model weights...\\n") ==
             R"({"job_id":"follow0","stage":"Preprocessing","last_log":"Loading model weights...",)"
             R"("progress":null,"rate":null,"eta_seconds":null})");
  BOOST_TEST(
      poll_after_max_age("Epoch 1/4 Steps: 12%|#| 120/1000 [00:40<04:53]\\n") ==
      R"({"job_id":"follow0","stage":"Training","last_log":)"
      R"("Epoch 1/4 Steps: 12%|#| 120/1000 [00:40<04:53]","progress":12.0,"rate":null,"eta_seconds":293})");
  BOOST_TEST(poll_after_max_age("Step 500/1000 - loss: 0.08\\nRunning validation\\n") ==
             R"({"job_id":"follow0","stage":"Validation","last_log":"Running validation",)"
             R"("progress":50.0,"rate":null,"eta_seconds":null})");
  // The refresh that sees the run finish makes the job terminal: no stage, no progress.
  SetRunStatus("follow0", "succeeded");
  BOOST_TEST(
      poll_after_max_age("done\\n") ==
      R"({"job_id":"follow0","stage":null,"last_log":"done","progress":null,"rate":null,"eta_seconds":null})");
  BOOST_TEST(StatusOf("follow0") == "completed");
}

BOOST_AUTO_TEST_CASE(logs_refresh_fetches_first) {
  ResetSim();
  CreateRun("logs0", "processing", "simpletuner/advanced-trainer-l40s", "", "first\\n");
  BOOST_TEST_REQUIRE(PostSync().status == 200);
  HttpResult r = Http("GET", Url("/api/cloud/jobs/logs0/logs"));
  BOOST_TEST(r.body == R"({"job_id":"logs0","logs":""})");
  r = Http("GET", Url("/api/cloud/jobs/logs0/logs?refresh=true"));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"job_id":"logs0","logs":"first\n"})");
  InjectFault(R"({"endpoint":"get_prediction","status":503})");
  CheckEnvelope(Http("GET", Url("/api/cloud/jobs/logs0/logs?refresh=1")), 502, "provider_error");
}

BOOST_AUTO_TEST_CASE(gzip_answers_and_unknown_statuses_are_tolerated) {
  ResetSim();
  Sim().Control("POST", "/config", R"({"gzip":true})");
  CreateRun("odd0", "processing");
  BOOST_TEST_REQUIRE(PostSync().status == 200);
  BOOST_TEST(StatusOf("odd0") == "running");
  // A status Replicate may add tomorrow changes nothing and breaks nothing.
  SetRunStatus("odd0", "paused_for_maintenance");
  const HttpResult r = PostSync();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(
      r.body ==
      R"({"synced":0,"updated":0,"skipped":0,"message":"Discovered 0 new jobs from Replicate"})");
  BOOST_TEST(StatusOf("odd0") == "running");
  SetRunStatus("odd0", "aborted");
  BOOST_TEST(PostSync().status == 200);
  BOOST_TEST(StatusOf("odd0") == "cancelled");
  const auto job = Parse(Http("GET", Url("/api/cloud/jobs/odd0")).body);
  BOOST_TEST(Str(job["job"]["error_message"]) == "aborted: deadline passed before start");
  Sim().Control("POST", "/config", R"({"gzip":false})");
}

BOOST_AUTO_TEST_CASE(a_slow_provider_never_holds_inline_progress_past_its_timeout) {
  ResetSim();
  CreateRun("slow0", "processing", "simpletuner/advanced-trainer-l40s", "", "Step 3/10\\n");
  BOOST_TEST_REQUIRE(PostSync().status == 200);
  InjectFault(R"({"endpoint":"get_prediction","delay_ms":8000})");
  const auto started = std::chrono::steady_clock::now();
  const HttpResult r = Http("GET", Url("/api/cloud/jobs/slow0/inline-progress"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  BOOST_TEST(r.status == 200);
  // Answered from the cache (no logs yet) once the 3 s refresh timeout passed.
  BOOST_TEST(
      r.body ==
      R"({"job_id":"slow0","stage":null,"last_log":null,"progress":null,"rate":null,"eta_seconds":null})");
  BOOST_TEST(seconds < 4.0);
  BOOST_TEST_MESSAGE("inline-progress with an 8 s provider answered in " << seconds << " s");
  Sim().Control("DELETE", "/faults");
}

// SPEC §3: outputs of every shape Replicate returns. Only real URLs become
// output_url; the output itself is on the job detail only; a list page stays
// small whatever the outputs are.
BOOST_AUTO_TEST_CASE(outputs_of_every_shape_keep_list_pages_small) {
  ResetSim();
  const std::string data_uri = "data:image/png;base64," + std::string(395800, 'A');
  const std::string megabyte(1024 * 1024, 'x');
  const struct {
    const char* id;
    const char* kind;
    std::string output;  // JSON
  } runs[] = {
      {"out-tokens", "prediction", R"(["\n","\n"])"},
      {"out-text", "prediction", R"("hello Alice")"},
      {"out-data", "prediction", "\"" + data_uri + "\""},
      {"out-small-data", "prediction", R"("data:text/plain;base64,aGk=")"},
      {"out-training", "training",
       R"({"version":"owner/model:abc","weights":"https://replicate.delivery/w/weights.tar"})"},
      {"out-images", "prediction",
       R"(["not a url","https://replicate.delivery/a.png","https://replicate.delivery/b.png"])"},
      {"out-huge", "prediction", "\"" + megabyte + "\""},
  };
  for (const auto& run : runs) {
    Sim().Control("POST", "/runs",
                  std::string(R"({"id":")") + run.id + R"(","kind":")" + run.kind +
                      R"(","status":"succeeded","output":)" + run.output + "}");
  }
  HttpResult r = PostSync();
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST(Parse(r.body)["synced"].GetInt() == 7);

  const std::map<std::string, std::string> expected_url = {
      {"out-tokens", "null"},
      {"out-text", "null"},
      {"out-data", "null"},
      {"out-small-data", "null"},
      {"out-training", "https://replicate.delivery/w/weights.tar"},
      {"out-images", "https://replicate.delivery/a.png"},
      {"out-huge", "null"}};
  r = Http("GET", Url("/api/cloud/jobs?limit=7"));
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST_MESSAGE("list page of 7 jobs: " << r.body.size() << " bytes");
  BOOST_TEST(r.body.size() < 7u * 3000u);
  BOOST_TEST(r.body.find("\"output\":") == std::string::npos);
  const auto list = Parse(r.body);
  int seen = 0;
  for (const auto& job : list["jobs"].GetArray()) {
    const std::string id = Str(job["job_id"]);
    if (!expected_url.count(id)) continue;
    ++seen;
    BOOST_TEST_CONTEXT(id) {
      BOOST_TEST((job["output_url"].IsNull() ? "null" : Str(job["output_url"])) ==
                 expected_url.at(id));
    }
  }
  BOOST_TEST(seen == 7);

  const auto detail = [](const std::string& id) {
    const HttpResult d = Http("GET", Url("/api/cloud/jobs/" + id));
    BOOST_TEST_REQUIRE(d.status == 200);
    return Parse(d.body);
  };
  auto doc = detail("out-tokens");
  BOOST_TEST_REQUIRE(doc["job"]["output"].IsArray());
  BOOST_TEST(Str(doc["job"]["output"][0]) == "\n");
  BOOST_TEST(Str(detail("out-text")["job"]["output"]) == "hello Alice");
  BOOST_TEST(Str(detail("out-small-data")["job"]["output"]) == "data:text/plain;base64,aGk=");
  doc = detail("out-training");
  BOOST_TEST(Str(doc["job"]["output"]["weights"]) == "https://replicate.delivery/w/weights.tar");
  for (const char* big : {"out-data", "out-huge"}) {
    BOOST_TEST_CONTEXT(big) {
      doc = detail(big);
      BOOST_TEST(doc["job"]["output"].IsNull());
      BOOST_TEST(doc["job"]["metadata"]["output_truncated"].IsTrue());
    }
  }
}

// SPEC §6: runs whose id breaks the job-id rule are skipped and counted; the
// database holds exactly what it held, plus the valid run.
BOOST_AUTO_TEST_CASE(sync_skips_runs_whose_id_is_not_a_job_id) {
  ResetSim();
  for (const std::string& id : {std::string("bad/id..x"), std::string("../../etc/passwd"),
                                std::string(200, 'l'), std::string("r\xC3\xA9sum\xC3\xA9")}) {
    Sim().Control("POST", "/runs", R"({"any_id":true,"id":")" + id + R"(","status":"processing"})");
  }
  CreateRun("good-id-run", "processing");
  const int64_t before = JobCount();
  const HttpResult r = PostSync();
  BOOST_TEST(r.status == 200);
  BOOST_TEST(
      r.body ==
      R"({"synced":1,"updated":0,"skipped":4,"message":"Discovered 1 new jobs from Replicate"})");
  BOOST_TEST(JobCount() == before + 1);
  BOOST_TEST(StatusOf("good-id-run") == "running");
}

// SPEC §4: a run the provider deleted. One 404 changes nothing; the third
// consecutive one, 10 minutes after the first, fails the job once. The clock
// is the test's, passed to the same RefreshJob the handlers use.
BOOST_AUTO_TEST_CASE(a_run_the_provider_no_longer_knows_fails_after_ten_minutes) {
  ResetSim();
  CreateRun("lost-run", "processing", "simpletuner/advanced-trainer-l40s", "", "Step 10/100\\n");
  BOOST_TEST_REQUIRE(PostSync().status == 200);
  BOOST_TEST_REQUIRE(StatusOf("lost-run") == "running");
  BOOST_TEST_REQUIRE(Sim().Control("DELETE", "/runs/lost-run") == R"({"deleted":"lost-run"})");

  Store& store = ReplicateStack::env.store();
  ReplicateClient client(std::string(Simulator::kToken), Sim().base_url());
  PriceTable prices;
  int64_t now = NowMicros();
  const Clock clock = [&now] { return now; };
  const auto refresh = [&] {
    auto job = store.GetJob("lost-run");
    BOOST_TEST_REQUIRE((job.ok() && job->has_value()));
    auto refreshed = RefreshJob(store, client, **job, 3000, prices, clock);
    BOOST_TEST_REQUIRE(refreshed.ok(), refreshed.status().ToString());
    return *refreshed;
  };
  auto events = store.EventsAfter(0, 1000000);
  BOOST_TEST_REQUIRE(events.ok());
  const int64_t last_event = events->empty() ? 0 : events->back().id;
  const int64_t first_404 = now;
  BOOST_TEST(Show(refresh().status) == "running");
  now += 5 * 60 * 1000000LL;
  BOOST_TEST(Show(refresh().status) == "running");
  now += 5 * 60 * 1000000LL - 1;
  BOOST_TEST(Show(refresh().status) == "running");  // 3 so far, but 1 µs short of 10 minutes
  BOOST_TEST(RunGets("lost-run") == 3);
  auto quiet = store.EventsAfter(last_event, 100);
  BOOST_TEST_REQUIRE(quiet.ok());
  BOOST_TEST(quiet->empty());

  now += 1;
  const Job lost = refresh();
  BOOST_TEST(Show(lost.status) == "failed");
  BOOST_TEST(lost.completed_at.value_or(0) == first_404);
  const HttpResult r = Http("GET", Url("/api/cloud/jobs/lost-run"));
  const auto doc = Parse(r.body);
  BOOST_TEST(Str(doc["job"]["status"]) == "failed");
  BOOST_TEST(Str(doc["job"]["error_message"]) == "not found at provider");
  auto after = store.EventsAfter(last_event, 100);
  BOOST_TEST_REQUIRE(after.ok());
  BOOST_TEST_REQUIRE(after->size() == 1u);
  BOOST_TEST(after->front().data.find(R"("status":"failed","previous_status":"running")") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// GET of the simulator's /v1 API with the token, bypassing jobpulse.
HttpResult SimApi(const std::string& method, const std::string& path) {
  return Http(method, Sim().base_url() + path, "",
              {std::string("Authorization: Bearer ") + Simulator::kToken});
}

// Five runs a minute apart, and the simulator answering pages of two whose
// links are spelled `mode`; the counters start from zero.
void FivePagedRuns(const std::string& prefix, const std::string& mode) {
  ResetSim();
  const auto config =
      Parse(Sim().Control("POST", "/config", R"({"page_size":2,"next_links":")" + mode + "\"}"));
  BOOST_TEST_REQUIRE(Str(config["next_links"]) == mode);
  for (int i = 0; i < 5; ++i) {
    CreateRun(prefix + std::to_string(i), "processing", "simpletuner/advanced-trainer-l40s",
              "2026-11-21T10:0" + std::to_string(i) + ":00Z");
  }
}

// The `next` of the simulator's first page of predictions.
std::string FirstPageNext() {
  const HttpResult page = SimApi("GET", "/predictions");
  BOOST_TEST_REQUIRE(page.status == 200);
  const auto doc = Parse(page.body);
  BOOST_TEST_REQUIRE(doc["results"].Size() == 2u);
  return Str(doc["next"]);
}

// A full sync through nginx that imported `prefix`0..4 from three pages.
void CheckFivePagesImported(const std::string& prefix) {
  Sim().Control("POST", "/counters/reset");
  const HttpResult r = PostSync();
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(r.Header("content-type") == "application/json");
  const auto doc = Parse(r.body);
  BOOST_TEST_REQUIRE(
      (doc.IsObject() && doc.HasMember("synced") && doc["synced"].IsInt() &&
       doc.HasMember("updated") && doc["updated"].IsInt() && doc.HasMember("message") &&
       (!doc.HasMember("skipped") || doc["skipped"].IsInt())),
      r.body);
  BOOST_TEST(doc["synced"].GetInt() == 5);
  BOOST_TEST(doc["updated"].GetInt() == 0);
  if (doc.HasMember("skipped")) BOOST_TEST(doc["skipped"].GetInt() == 0);
  BOOST_TEST(Str(doc["message"]) == "Discovered 5 new jobs from Replicate");
  BOOST_TEST(doc.MemberCount() == (doc.HasMember("skipped") ? 4u : 3u));
  // Pages of 2, 2 and 1, every one of them from the simulator, nothing else.
  BOOST_TEST(EndpointCount("list_predictions") == 3);
  BOOST_TEST(Parse(Sim().Control("GET", "/counters"))["total"].GetInt64() == 3);
  for (int i = 0; i < 5; ++i) {
    BOOST_TEST(StatusOf(prefix + std::to_string(i)) == "running");
  }
}

}  // namespace

namespace {

// Five runs on pages of two with the simulator spelling `next` as `mode`
// says; a sync imports all five, following links that start with `spelled`.
void CheckLinkMode(const std::string& prefix, const std::string& mode, const std::string& spelled) {
  FivePagedRuns(prefix, mode);
  const std::string next = FirstPageNext();
  BOOST_TEST(next.starts_with(spelled), next);
  CheckFivePagesImported(prefix);
  Sim().Control("POST", "/config", R"({"page_size":100,"next_links":"absolute"})");
}

}  // namespace

// SPEC §6 "Pagination" and "Rate limits" against the simulator's link spellings
// and throttle bodies, through nginx and the FastCGI pool.
BOOST_AUTO_TEST_SUITE(replicate_pagination_through_nginx,
                      *boost::unit_test::fixture<ReplicateStack>())

// A proxy or mirror in front of Replicate: its pages still name
// https://api.replicate.com/v1/...; jobpulse rebases them onto REPLICATE_BASE_URL.
BOOST_AUTO_TEST_CASE(sync_rebases_next_links_that_name_api_replicate_com) {
  CheckLinkMode("pgrep", "replicate", "https://api.replicate.com/v1/predictions?cursor=");
}

BOOST_AUTO_TEST_CASE(sync_follows_relative_next_links) {
  CheckLinkMode("pgrel", "relative", "/v1/predictions?cursor=");
}

// Replicate's documented 429 says when only in its text.
BOOST_AUTO_TEST_CASE(a_429_with_only_a_text_hint_answers_429_with_that_retry_after) {
  ResetSim();
  CreateRun("rltext0", "processing");
  InjectFault(R"({"endpoint":"list_predictions","retry_after_text":30})");
  // What the simulator sends: no header, no retry_after, only the detail.
  const HttpResult raw = SimApi("GET", "/predictions");
  BOOST_TEST(raw.status == 429);
  BOOST_TEST(raw.Header("retry-after") == "");
  BOOST_TEST(raw.Header("content-type") == "application/problem+json");
  BOOST_TEST(raw.body ==
             R"({"detail":"Request was throttled. Your rate limit resets in ~30s.","status":429})");

  const HttpResult r = PostSync();
  CheckEnvelope(r, 429, "provider_rate_limited");
  BOOST_TEST(r.Header("retry-after") == "30");
  BOOST_TEST(r.Header("content-type") == "application/json");
  const auto doc = Parse(r.body);
  BOOST_TEST(Str(doc["message"]) ==
             "Replicate is rate limiting list predictions (HTTP 429): Request was throttled. Your "
             "rate limit resets in ~30s.");
  BOOST_TEST_REQUIRE((doc.HasMember("details") && doc["details"].IsObject() &&
                      doc["details"].HasMember("provider")),
                     r.body);
  BOOST_TEST(Str(doc["details"]["provider"]) == "replicate");
  BOOST_TEST(StatusOf("rltext0") == "http 404");

  // Throttled on the second page of a proxied listing: the same answer, nothing imported.
  ResetSim();
  Sim().Control("POST", "/config", R"({"page_size":1,"next_links":"replicate"})");
  CreateRun("rltext1", "processing", "simpletuner/advanced-trainer-l40s", "2026-11-21T11:00:00Z");
  CreateRun("rltext2", "processing", "simpletuner/advanced-trainer-l40s", "2026-11-21T11:01:00Z");
  InjectFault(R"({"endpoint":"list_predictions","retry_after_text":30})");
  InjectFault(R"({"endpoint":"list_predictions","delay_ms":0,"count":1})");
  const HttpResult second = PostSync();
  CheckEnvelope(second, 429, "provider_rate_limited");
  BOOST_TEST(second.Header("retry-after") == "30");
  BOOST_TEST(EndpointCount("list_predictions") == 2);
  BOOST_TEST(StatusOf("rltext1") == "http 404");
  BOOST_TEST(StatusOf("rltext2") == "http 404");
  Sim().Control("DELETE", "/faults");
  Sim().Control("POST", "/config", R"({"page_size":100,"next_links":"absolute"})");
}

// The simulator's own controls used above: link modes are validated, and a
// deleted run is gone from /v1.
BOOST_AUTO_TEST_CASE(simulator_validates_link_modes_and_deletes_runs) {
  ResetSim();
  long status = 0;
  BOOST_CHECK_THROW(Sim().Control("POST", "/config", R"({"next_links":"sideways"})", &status),
                    std::runtime_error);
  BOOST_TEST(status == 400);
  BOOST_CHECK_THROW(Sim().Control("POST", "/faults",
                                  R"({"endpoint":"*","status":500,"retry_after_text":3})", &status),
                    std::runtime_error);
  BOOST_TEST(status == 400);

  CreateRun("gone0", "processing");
  CreateRun("kept0", "processing");
  BOOST_TEST(Sim().Control("DELETE", "/runs/gone0", "", &status) == R"({"deleted":"gone0"})");
  BOOST_TEST(status == 200);
  for (const char* path : {"/predictions/gone0", "/trainings/gone0"}) {
    const HttpResult r = SimApi("GET", path);
    BOOST_TEST(r.status == 404, path);
    BOOST_TEST(r.Header("content-type") == "application/problem+json");
    BOOST_TEST(r.body == R"({"detail":"Not found.","status":404})");
  }
  const auto list = Parse(SimApi("GET", "/trainings").body);
  BOOST_TEST_REQUIRE(list["results"].Size() == 1u);
  BOOST_TEST(Str(list["results"][0]["id"]) == "kept0");
  BOOST_CHECK_THROW(Sim().Control("DELETE", "/runs/gone0", "", &status), std::runtime_error);
  BOOST_TEST(status == 404);
}

BOOST_AUTO_TEST_SUITE_END()

// Without REPLICATE_API_TOKEN every provider call is a clear 503.
BOOST_AUTO_TEST_CASE(without_a_token_provider_endpoints_answer_503) {
  testing::StackOptions options;
  options.pool_size = 1;
  Stack stack(options);
  const HttpResult r =
      Http("POST", stack.Url("/api/cloud/jobs/sync"), "", {"Content-Type: application/json"});
  BOOST_TEST(r.status == 503);
  const auto doc = Parse(r.body);
  BOOST_TEST(Str(doc["error"]) == "provider_not_configured");
  BOOST_TEST(Str(doc["message"]).find("REPLICATE_API_TOKEN") != std::string::npos);
  const auto validate =
      Parse(Http("GET", stack.Url("/api/cloud/providers/replicate/validate")).body);
  BOOST_TEST(!validate["valid"].GetBool());
  BOOST_TEST(Str(validate["error"]).find("REPLICATE_API_TOKEN") != std::string::npos);
}

// sync_models limits what a full sync imports.
BOOST_AUTO_TEST_CASE(sync_honours_sync_models) {
  Simulator sim;
  sim.Control("POST", "/runs", R"({"id":"mine1","model":"me/flux-lora","status":"processing"})");
  sim.Control("POST", "/runs", R"({"id":"mine2","model":"me/flux-lora","status":"succeeded"})");
  sim.Control("POST", "/runs", R"({"id":"other1","model":"acme/llm","status":"processing"})");
  testing::StackOptions options;
  options.pool_size = 1;
  options.replicate_base_url = sim.base_url();
  options.replicate_token = Simulator::kToken;
  options.enterprise_yaml = "providers:\n  replicate:\n    sync_models: [me/flux-lora]\n";
  Stack stack(options);
  const HttpResult r =
      Http("POST", stack.Url("/api/cloud/jobs/sync"), "", {"Content-Type: application/json"});
  BOOST_TEST(
      r.body ==
      R"({"synced":2,"updated":0,"skipped":0,"message":"Discovered 2 new jobs from Replicate"})");
  BOOST_TEST(Http("GET", stack.Url("/api/cloud/jobs/other1")).status == 404);
  BOOST_TEST(Http("GET", stack.Url("/api/cloud/jobs/mine2")).status == 200);
}

}  // namespace jobpulse
