// The simulator's background webhooks (tests/replicate_sim/README.md) to a
// receiver in this process: Standard-Webhooks signatures, the events filter,
// the 500 ms throttle, retries of the terminal delivery only, loopback-only
// URLs, and a prompt exit on SIGTERM with a delivery in flight.
#include <fcntl.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/integration/sim_helpers.h"

namespace jobpulse::sim_test {

BOOST_AUTO_TEST_SUITE(replicate_sim_webhooks, *boost::unit_test::fixture<SimFixture>())

BOOST_AUTO_TEST_CASE(a_completed_filter_gives_exactly_one_signed_delivery) {
  ResetSim();
  WebhookReceiver receiver;
  const std::string url = receiver.Url("/hook?job_id=j-42");
  const std::string id =
      CreateTraining(R"(,"webhook":")" + url + R"(","webhook_events_filter":["completed"])");
  Move(id, "status", R"({"status":"processing"})");
  Move(id, "logs", R"({"append":"Epoch 1/4 Steps: 10%|#| 100/1000\n"})");
  Move(id, "status", R"({"status":"processing","output":{"partial":true}})");
  Move(id, "status", R"({"status":"succeeded"})");
  BOOST_TEST_REQUIRE(WaitForDeliveries(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // past the throttle
  BOOST_TEST(Events() == "completed");
  const auto requests = receiver.Requests();
  BOOST_TEST_REQUIRE(requests.size() == 1u);
  const auto& req = requests[0];
  BOOST_TEST(req.target == "/hook?job_id=j-42");
  BOOST_TEST(req.headers.at("content-type") == "application/json");
  const auto log = Deliveries();
  BOOST_TEST(req.headers.at("webhook-id") == Str(log["deliveries"][0]["webhook_id"]));
  BOOST_TEST(log["deliveries"][0]["status"].GetInt() == 200);
  BOOST_TEST(log["deliveries"][0]["attempt"].GetInt() == 1);
  BOOST_TEST(Str(log["deliveries"][0]["run_id"]) == id);
  BOOST_TEST(Verdict(req) == "ok");
  // The full object, as GET shows it, in its final state.
  const auto body = Parse(req.body);
  BOOST_TEST(Str(body["id"]) == id);
  BOOST_TEST(Str(body["status"]) == "succeeded");
  BOOST_TEST(Str(body["logs"]) == "Epoch 1/4 Steps: 10%|#| 100/1000\n");
  BOOST_TEST(body["output"]["partial"].GetBool());
  BOOST_TEST(Str(body["webhook"]) == url);
  BOOST_TEST(WebhookCounter("sent") == 1);
  BOOST_TEST(WebhookCounter("failed") == 0);
}

BOOST_AUTO_TEST_CASE(hand_moves_send_start_logs_output_and_completed) {
  ResetSim();
  WebhookReceiver receiver;
  const std::string id = CreateTraining(R"(,"webhook":")" + receiver.Url("/h") + "\"");
  // Each step waits for its delivery and for the 500 ms throttle, so no two
  // coalesce.
  const auto step = [&](const std::string& what, const std::string& body, size_t n) {
    Move(id, what, body);
    BOOST_TEST_REQUIRE(WaitForDeliveries(n));
    std::this_thread::sleep_for(std::chrono::milliseconds(550));
  };
  step("status", R"({"status":"processing"})", 1);
  step("logs", R"({"append":"Loading model weights...\n"})", 2);
  step("status", R"({"status":"processing","output":["https://x.invalid/a.png"]})", 3);
  step("metrics", R"({"loss":0.5})", 3);  // metrics alone are no event
  Move(id, "status", R"({"status":"succeeded"})");
  BOOST_TEST_REQUIRE(WaitForDeliveries(4));
  BOOST_TEST(Events() == "start,logs,output,completed");
  const auto requests = receiver.Requests();
  BOOST_TEST_REQUIRE(requests.size() == 4u);
  BOOST_TEST(Str(Parse(requests[0].body)["status"]) == "processing");
  BOOST_TEST(Str(Parse(requests[1].body)["logs"]) == "Loading model weights...\n");
  BOOST_TEST(Str(Parse(requests[3].body)["status"]) == "succeeded");

  // A cancel through /v1 sends the completed event too, and nothing else.
  const std::string other = CreateTraining(R"(,"webhook":")" + receiver.Url("/h") +
                                           R"(","webhook_events_filter":["completed","logs"])");
  BOOST_TEST(V1("POST", "/trainings/" + other + "/cancel").status == 200);
  BOOST_TEST_REQUIRE(WaitForDeliveries(5));
  const auto log = Deliveries();
  BOOST_TEST(Str(log["deliveries"][4]["run_id"]) == other);
  BOOST_TEST(Str(log["deliveries"][4]["event"]) == "completed");
  BOOST_TEST(Str(Parse(receiver.Requests().back().body)["status"]) == "canceled");
}

BOOST_AUTO_TEST_CASE(non_terminal_events_coalesce_within_the_throttle) {
  ResetSim();
  WebhookReceiver receiver;
  const std::string id = CreateTraining(R"(,"webhook":")" + receiver.Url("/h") +
                                        R"(","webhook_events_filter":["logs"])");
  Move(id, "logs", R"({"append":"one\n"})");
  BOOST_TEST_REQUIRE(WaitForDeliveries(1));
  // Within 500 ms of the first: one more delivery, with the newest logs.
  for (const char* line : {"two\\n", "three\\n", "four\\n"}) {
    Move(id, "logs", std::string(R"({"append":")") + line + "\"}");
  }
  BOOST_TEST_REQUIRE(WaitForDeliveries(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  BOOST_TEST(Events() == "logs,logs");
  const auto requests = receiver.Requests();
  BOOST_TEST_REQUIRE(requests.size() == 2u);
  BOOST_TEST(Str(Parse(requests[1].body)["logs"]) == "one\ntwo\nthree\nfour\n");
  // Turning terminal with "completed" outside the filter sends nothing.
  Move(id, "status", R"({"status":"failed","error":"boom"})");
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  BOOST_TEST(DeliveryCount() == 2u);
}

BOOST_AUTO_TEST_CASE(the_terminal_webhook_is_retried_with_one_id_until_it_succeeds) {
  ResetSim();
  WebhookReceiver receiver({500, 500});
  const std::string id = CreateTraining(R"(,"webhook":")" + receiver.Url("/h") + "\"");
  Move(id, "status", R"({"status":"succeeded"})");
  BOOST_TEST_REQUIRE(WaitForDeliveries(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // no fourth attempt
  const auto log = Deliveries();
  const auto& d = log["deliveries"];
  BOOST_TEST_REQUIRE(d.Size() == 3u);
  for (rapidjson::SizeType i = 0; i < 3; ++i) {
    BOOST_TEST_CONTEXT("attempt " << i + 1) {
      BOOST_TEST(Str(d[i]["event"]) == "completed");
      BOOST_TEST(d[i]["attempt"].GetInt() == static_cast<int>(i) + 1);
      BOOST_TEST(d[i]["status"].GetInt() == (i < 2 ? 500 : 200));
      BOOST_TEST(Str(d[i]["webhook_id"]) == Str(d[0]["webhook_id"]));
    }
  }
  const auto requests = receiver.Requests();
  BOOST_TEST_REQUIRE(requests.size() == 3u);
  for (const auto& req : requests) {
    BOOST_TEST(req.headers.at("webhook-id") == Str(d[0]["webhook_id"]));
    BOOST_TEST(Verdict(req) == "ok");
  }
  BOOST_TEST(WebhookCounter("sent") == 1);
  BOOST_TEST(WebhookCounter("failed") == 2);
  BOOST_TEST(WebhookCounter("retried") == 2);
}

BOOST_AUTO_TEST_CASE(only_the_terminal_webhook_is_retried_and_at_most_five_times) {
  ResetSim();
  WebhookReceiver receiver({500, 500, 500, 500, 500, 500, 500, 500});
  const std::string id = CreateTraining(R"(,"webhook":")" + receiver.Url("/h") +
                                        R"(","webhook_events_filter":["start","completed"])");
  Move(id, "status", R"({"status":"processing"})");
  BOOST_TEST_REQUIRE(WaitForDeliveries(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  BOOST_TEST(Events() == "start");  // a failed start is not retried
  Move(id, "status", R"({"status":"failed","error":"boom"})");
  // 0.2 + 0.4 + 0.8 + 1.6 s of backoff between the five attempts.
  BOOST_TEST_REQUIRE(WaitForDeliveries(6, 8000));
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // past a sixth's time
  BOOST_TEST(Events() == "start,completed,completed,completed,completed,completed");
  BOOST_TEST(receiver.Requests().size() == 6u);
  BOOST_TEST(WebhookCounter("sent") == 0);
  BOOST_TEST(WebhookCounter("failed") == 6);
  BOOST_TEST(WebhookCounter("retried") == 4);
}

BOOST_AUTO_TEST_CASE(webhooks_to_other_hosts_are_dropped_and_counted) {
  ResetSim();
  const std::string id = CreateTraining(
      R"(,"webhook":"https://hooks.example.com/replicate","webhook_events_filter":["completed"])");
  const std::string tricky = CreateTraining(
      R"(,"webhook":"http://127.0.0.1@example.com/h","webhook_events_filter":["completed"])");
  Move(id, "status", R"({"status":"succeeded"})");
  Move(tricky, "status", R"({"status":"succeeded"})");
  BOOST_TEST(Eventually([] { return WebhookCounter("dropped") == 2; }, 3000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(DeliveryCount() == 0u);
  BOOST_TEST(WebhookCounter("sent") + WebhookCounter("failed") == 0);
  Sim().Control("POST", "/counters/reset");
  BOOST_TEST(WebhookCounter("dropped") == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// A simulator of its own, which the test signals.
BOOST_AUTO_TEST_SUITE(replicate_sim_shutdown)

// SIGTERM while a delivery waits on a receiver that never answers: the
// simulator exits promptly, with status 0.
BOOST_AUTO_TEST_CASE(sigterm_with_a_delivery_in_flight_exits_promptly) {
  char dir_template[] = "/tmp/jobpulse-simterm-XXXXXX";
  BOOST_TEST_REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string port_file = dir + "/port";
  // Killed and reaped however the test ends.
  struct Child {
    pid_t pid = -1;
    ~Child() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } child;
  child.pid = fork();
  BOOST_TEST_REQUIRE(child.pid >= 0);
  if (child.pid == 0) {
    const int fd = open((dir + "/sim.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    const std::string bin = testing::BinDir() + "/replicate-sim";
    execl(bin.c_str(), bin.c_str(), "--port-file", port_file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int port = 0;
  BOOST_TEST_REQUIRE(Eventually(
      [&] {
        port = std::atoi(testing::ReadFile(port_file).c_str());
        return port > 0;
      },
      10000, 20));
  WebhookReceiver silent({}, /*silent=*/true);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const HttpResult r = Http("POST", base + "/v1/models/black/flux/predictions",
                            R"({"input":{},"webhook":")" + silent.Url("/h") + "\"}",
                            {"Authorization: Bearer " + std::string(Simulator::kToken)});
  BOOST_TEST_REQUIRE(r.status == 201);
  const std::string id = Str(Parse(r.body)["id"]);
  Http("POST", base + "/_sim/runs/" + id + "/status", R"({"status":"succeeded"})");
  BOOST_TEST_REQUIRE(Eventually([&] { return silent.Accepted() >= 1; }, 5000, 20));
  const auto started = std::chrono::steady_clock::now();
  kill(child.pid, SIGTERM);
  int status = 0;
  const bool exited =
      Eventually([&] { return waitpid(child.pid, &status, WNOHANG) == child.pid; }, 5000, 20);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  BOOST_TEST_MESSAGE("replicate-sim exited " << seconds << " s after SIGTERM");
  BOOST_TEST_REQUIRE(exited);
  child.pid = -1;
  BOOST_TEST(seconds < 3.0);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse::sim_test
