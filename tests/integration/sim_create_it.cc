// The simulator's create endpoints (tests/replicate_sim/README.md), against
// the real binary with no jobpulse stack: creating runs through /v1 and their
// validation, faults that strike after the run was made, runs that move by
// themselves, and --demo.
#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/sim_helpers.h"

namespace jobpulse::sim_test {

BOOST_AUTO_TEST_SUITE(replicate_sim_create, *boost::unit_test::fixture<SimFixture>())

BOOST_AUTO_TEST_CASE(creates_a_training_and_predictions_of_both_kinds) {
  ResetSim();
  HttpResult r = V1("POST", TrainingsPath(),
                    R"({"destination":"me/lora","input":{"steps":10},)"
                    R"("webhook":"http://127.0.0.1:9/hook?job_id=j-1",)"
                    R"("webhook_events_filter":["start","completed"]})");
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  auto doc = Parse(r.body);
  const std::string training = Str(doc["id"]);
  BOOST_TEST(training.size() == 26u);
  BOOST_TEST(Str(doc["model"]) == "acme/trainer");
  BOOST_TEST(Str(doc["version"]) == kVersion);
  BOOST_TEST(Str(doc["status"]) == "starting");
  BOOST_TEST(Str(doc["source"]) == "api");
  BOOST_TEST(doc["started_at"].IsNull());
  BOOST_TEST(doc["input"]["steps"].GetInt() == 10);
  BOOST_TEST(Str(doc["webhook"]) == "http://127.0.0.1:9/hook?job_id=j-1");
  BOOST_TEST(doc["webhook_events_filter"].Size() == 2u);
  BOOST_TEST(Str(doc["webhook_events_filter"][1]) == "completed");

  r = V1("POST", "/predictions", R"({"version":"acme/painter:)" + kVersion + R"(","input":{}})");
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  doc = Parse(r.body);
  BOOST_TEST(Str(doc["model"]) == "acme/painter");
  BOOST_TEST(Str(doc["version"]) == kVersion);
  BOOST_TEST(!doc.HasMember("webhook"));  // runs without one keep their old shape
  BOOST_TEST(!doc.HasMember("webhook_events_filter"));
  // A bare version names the model it was last created with.
  r = V1("POST", "/predictions", R"({"version":")" + kVersion + R"(","input":{"x":1}})");
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  BOOST_TEST(Str(Parse(r.body)["model"]) == "acme/painter");
  r = V1("POST", "/models/black/flux/predictions", R"({"input":{"prompt":"a cat"}})");
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  doc = Parse(r.body);
  BOOST_TEST(Str(doc["model"]) == "black/flux");
  BOOST_TEST(Str(doc["version"]).size() == 64u);

  // GET and lists echo the webhook, so a client can reconcile by it.
  doc = Parse(V1("GET", "/trainings/" + training).body);
  BOOST_TEST(Str(doc["webhook"]) == "http://127.0.0.1:9/hook?job_id=j-1");
  BOOST_TEST(Listed("/trainings") == 1);
  BOOST_TEST(Listed("/predictions") == 4);
  doc = Parse(V1("GET", "/trainings").body);
  BOOST_TEST(Str(doc["results"][0]["webhook"]) == "http://127.0.0.1:9/hook?job_id=j-1");
  BOOST_TEST(!doc["results"][0].HasMember("logs"));

  const auto counters = Parse(Sim().Control("GET", "/counters"));
  BOOST_TEST(counters["endpoints"]["create_training"].GetInt() == 1);
  BOOST_TEST(counters["endpoints"]["create_prediction"].GetInt() == 3);
}

BOOST_AUTO_TEST_CASE(create_validation_names_the_field) {
  ResetSim();
  const std::string versions = "/models/acme/trainer/versions/";
  CheckInvalid(V1("POST", TrainingsPath(), R"({"destination":"me/lora"})"), "input");
  CheckInvalid(V1("POST", TrainingsPath(), R"({"destination":"me/lora","input":[1]})"), "input");
  CheckInvalid(V1("POST", TrainingsPath(), R"({"input":{}})"), "destination");
  CheckInvalid(V1("POST", TrainingsPath(), R"({"destination":"nope","input":{}})"), "destination");
  CheckInvalid(V1("POST", versions + "abc123/trainings", R"({"destination":"me/l","input":{}})"),
               "version");
  CheckInvalid(V1("POST", "/predictions", R"({"input":{}})"), "version");
  CheckInvalid(V1("POST", "/predictions", R"({"version":"abc","input":{}})"), "version");
  CheckInvalid(V1("POST", "/predictions", R"({"version":"acme/painter","input":{}})"), "version");
  CheckInvalid(
      V1("POST", "/predictions", R"({"version":")" + std::string(64, 'C') + R"(","input":{}})"),
      "version");
  CheckInvalid(V1("POST", "/models/a/b/predictions", R"({"input":"text"})"), "input");
  CheckInvalid(V1("POST", "/models/a/b/predictions", R"({"input":{},"webhook":"ftp://x/y"})"),
               "webhook");
  CheckInvalid(V1("POST", "/models/a/b/predictions", R"({"input":{},"webhook":7})"), "webhook");
  CheckInvalid(V1("POST", "/models/a/b/predictions",
                  R"({"input":{},"webhook_events_filter":["start","finished"]})"),
               "webhook_events_filter");
  CheckInvalid(
      V1("POST", "/models/a/b/predictions", R"({"input":{},"webhook_events_filter":"completed"})"),
      "webhook_events_filter");

  HttpResult r = V1("POST", "/models/a/b/predictions", R"({"input":{)");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.Header("content-type") == "application/problem+json");
  BOOST_TEST(V1("POST", "/models/a/b/predictions", "[1,2]").status == 400);
  const std::string big = R"({"input":{"blob":")" + std::string(1200 * 1024, 'x') + "\"}}";
  r = V1("POST", "/models/a/b/predictions", big);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(Parse(r.body)["status"].GetInt() == 413);
  // Just under the limit (1 MiB of input and a little more) is fine.
  const std::string mib = R"({"input":{"blob":")" + std::string(1024 * 1024, 'x') + "\"}}";
  BOOST_TEST(V1("POST", "/models/a/b/predictions", mib).status == 201);
  r = Http("POST", "http://127.0.0.1:" + std::to_string(Sim().port()) + "/v1/predictions",
           R"({"version":")" + kVersion + R"(","input":{}})", {"Authorization: Bearer wrong"});
  BOOST_TEST(r.status == 401);
  r = V1("GET", "/models/a/b/predictions");
  BOOST_TEST(r.status == 405);
  BOOST_TEST(r.Header("allow") == "POST");
  r = V1("PUT", "/predictions");
  BOOST_TEST(r.status == 405);
  BOOST_TEST(r.Header("allow") == "GET, POST");
  BOOST_TEST(V1("POST", "/trainings", R"({"input":{}})").status == 405);
  BOOST_TEST(V1("POST", TrainingsPath() + "/x", R"({"input":{}})").status == 404);
  // Only the one valid create made a run.
  BOOST_TEST(Listed("/predictions") == 1);
}

BOOST_AUTO_TEST_CASE(after_create_faults_answer_the_fault_but_keep_the_run) {
  ResetSim();
  // Before the create (the default): the answer is the fault and no run exists.
  Sim().Control("POST", "/faults", R"({"endpoint":"create_training","status":503,"count":1})");
  HttpResult r = V1("POST", TrainingsPath(), R"({"destination":"me/lora","input":{}})");
  BOOST_TEST(r.status == 503);
  BOOST_TEST(Listed("/trainings") == 0);

  // After it: a 504, yet the run was made and is listed.
  Sim().Control("POST", "/faults",
                R"({"endpoint":"create_training","status":504,"after_create":true,"count":1})");
  r = V1("POST", TrainingsPath(), R"({"destination":"me/lora","input":{}})");
  BOOST_TEST(r.status == 504);
  BOOST_TEST(r.Header("content-type") == "application/problem+json");
  BOOST_TEST(Parse(r.body)["status"].GetInt() == 504);
  BOOST_TEST(Listed("/trainings") == 1);
  const auto faults = Parse(Sim().Control("GET", "/faults"));
  BOOST_TEST(faults["faults"].Size() == 0u);  // the count of 1 is used up

  // A timeout: the connection drops after the delay; the run exists.
  Sim().Control("POST", "/faults",
                R"({"endpoint":"create_prediction","after_create":true,"delay_ms":300,)"
                R"("drop":true,"count":1})");
  r = V1("POST", "/models/black/flux/predictions", R"({"input":{}})");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(Listed("/predictions") == 2);  // the training and this prediction

  // A 429 after the create, with its Retry-After.
  Sim().Control("POST", "/faults",
                R"({"endpoint":"create_prediction","status":429,"retry_after":3,)"
                R"("after_create":true,"count":1})");
  r = V1("POST", "/models/black/flux/predictions", R"({"input":{}})");
  BOOST_TEST(r.status == 429);
  BOOST_TEST(r.Header("retry-after") == "3");
  BOOST_TEST(Listed("/predictions") == 3);
  BOOST_TEST(Parse(Sim().Control("GET", "/counters"))["endpoints"]["create_prediction"].GetInt() ==
             2);
  long status = 0;
  BOOST_CHECK_THROW(Sim().Control("POST", "/faults", R"({"endpoint":"create_run"})", &status),
                    std::runtime_error);
  BOOST_TEST(status == 400);
}

BOOST_AUTO_TEST_CASE(a_created_run_runs_to_success_by_itself) {
  ResetSim();
  Sim().Control("POST", "/config", R"({"run_seconds":1,"run_start_ms":100,"tick_ms":100})");
  WebhookReceiver receiver;
  const std::string id = CreateTraining(R"(,"webhook":")" + receiver.Url("/h") + "\"");
  std::string status;
  BOOST_TEST_REQUIRE(Eventually(
      [&] {
        status = Str(Parse(V1("GET", "/trainings/" + id).body)["status"]);
        return status == "succeeded";
      },
      8000));
  const auto run = Parse(V1("GET", "/trainings/" + id).body);
  const std::string logs = Str(run["logs"]);
  BOOST_TEST(logs.find("Epoch 1/4 Steps:") != std::string::npos, logs);
  BOOST_TEST(logs.find("|█") != std::string::npos);
  BOOST_TEST(logs.find("it/s]") != std::string::npos);
  BOOST_TEST(logs.find("Epoch 4/4 Steps: 100%|██████████| 1000/1000") != std::string::npos);
  BOOST_TEST(logs.find("Saving checkpoint to /output/checkpoint-500") != std::string::npos);
  BOOST_TEST(logs.find("Generating Samples: 100%") != std::string::npos);
  BOOST_TEST(Str(run["output"]["version"]).rfind("me/lora:", 0) == 0u);
  BOOST_TEST(!run["started_at"].IsNull());
  BOOST_TEST(run["metrics"]["predict_time"].GetDouble() >= 0.9);

  // start first, completed last, and the 500 ms throttle in between: a 1 s
  // run sends at most start, two or three logs and completed.
  BOOST_TEST_REQUIRE(
      Eventually([] { return Events().find("completed") != std::string::npos; }, 3000));
  const std::string events = Events();
  BOOST_TEST(events.rfind("start,", 0) == 0u, events);
  BOOST_TEST(events.substr(events.size() - 10) == ",completed", events);
  BOOST_TEST(DeliveryCount() <= 5u, events);
  BOOST_TEST(Str(Parse(receiver.Requests().back().body)["status"]) == "succeeded");
  Sim().Control("POST", "/config", R"({"run_seconds":0,"run_start_ms":1000,"tick_ms":2000})");
}

BOOST_AUTO_TEST_CASE(created_runs_wait_for_the_control_api_unless_run_seconds_is_set) {
  ResetSim();
  const auto config = Parse(Sim().Control("GET", "/config"));
  BOOST_TEST(config["run_seconds"].GetDouble() == 0.0);
  BOOST_TEST(config["run_start_ms"].GetInt() == 1000);
  BOOST_TEST(config["tick_ms"].GetInt() == 2000);
  Sim().Control("POST", "/config", R"({"tick_ms":50,"run_start_ms":0})");
  const std::string id = CreateTraining();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const auto run = Parse(V1("GET", "/trainings/" + id).body);
  BOOST_TEST(Str(run["status"]) == "starting");
  BOOST_TEST(Str(run["logs"]) == "");
  long status = 0;
  for (const char* bad : {R"({"run_seconds":-1})", R"({"tick_ms":5})", R"({"run_start_ms":-1})",
                          R"({"run_seconds":"fast"})"}) {
    BOOST_CHECK_THROW(Sim().Control("POST", "/config", bad, &status), std::runtime_error);
    BOOST_TEST(status == 400, bad);
  }
  Sim().Control("POST", "/reset");
  BOOST_TEST(Parse(Sim().Control("GET", "/config"))["tick_ms"].GetInt() == 2000);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(replicate_sim_demo)

// --demo keeps its seeded runs moving (through the same runner) and makes
// created runs take 150 s.
BOOST_AUTO_TEST_CASE(demo_mode_moves_its_runs_and_paces_created_ones_at_150_s) {
  Simulator demo(std::vector<std::string>{"--demo"});
  const auto url = [&](const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(demo.port()) + "/v1" + path;
  };
  const std::vector<std::string> auth = {"Authorization: Bearer " + std::string(Simulator::kToken)};
  BOOST_TEST(Parse(demo.Control("GET", "/config"))["run_seconds"].GetDouble() == 150.0);
  const auto list = Parse(Http("GET", url("/trainings"), "", auth).body);
  BOOST_TEST(list["results"].Size() == 4u);
  std::string processing;
  for (const auto& run : list["results"].GetArray()) {
    if (Str(run["status"]) == "processing" && processing.empty()) processing = Str(run["id"]);
  }
  BOOST_TEST_REQUIRE(!processing.empty());
  const auto logs_size = [&] {
    return Str(Parse(Http("GET", url("/trainings/" + processing), "", auth).body)["logs"]).size();
  };
  const size_t before = logs_size();
  BOOST_TEST(Eventually([&] { return logs_size() > before; }, 5000, 200));
  const HttpResult r = Http("POST", url("/models/black/flux/predictions"), R"({"input":{}})", auth);
  BOOST_TEST_REQUIRE(r.status == 201);
  const std::string id = Str(Parse(r.body)["id"]);
  BOOST_TEST(Eventually(
      [&] {
        return Str(Parse(Http("GET", url("/predictions/" + id), "", auth).body)["status"]) ==
               "processing";
      },
      5000, 200));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse::sim_test
