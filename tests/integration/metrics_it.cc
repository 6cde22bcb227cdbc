// GET /api/cloud/metrics/prometheus through the whole stack (issue 13): nginx,
// a pool of recycling handlers and the worker under supervisord, the
// simulator as Replicate. Each family moves with an action the test takes, and
// the provider counters equal the requests the simulator itself counted:
// counts made in handlers that have since exited are still there.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "lib/timestamp.h"
#include "lib/webhook_signature.h"
#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"
#include "tests/loopback_socket.h"

namespace jobpulse::testing {
namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct MetricsStack {
  MetricsStack() {
    const int port = FreePort();
    StackOptions options;
    options.port = port;
    options.pool_size = 2;
    options.max_requests = 8;  // 6 to 10 a handler: recycling within the test
    options.with_worker = true;
    // The worker polls at start and then rarely: its requests come from
    // what the test does (a restart, a watched job).
    options.enterprise_yaml = "background:\n  job_status_polling:\n    enabled: true\n";
    options.extra_env = {{"SIMPLETUNER_JOB_POLL_INTERVAL", "3600"},
                         {"REPLICATE_WEBHOOK_SECRET", kSecret},
                         {"REPLICATE_WEBHOOK_URL",
                          "http://127.0.0.1:" + std::to_string(port) + "/api/webhooks/replicate"}};
    env.Start(options);
    BOOST_TEST_REQUIRE(env.stack().WaitForEvents(10000), env.stack().Logs());
  }
  ~MetricsStack() { env.Stop(); }
  static inline SimulatedStack env;
};

Stack& TheStack() { return MetricsStack::env.stack(); }
Simulator& Sim() { return MetricsStack::env.sim(); }

// The samples of one scrape: "name{labels}" -> value.
using Samples = std::map<std::string, double>;

Samples Scrape(std::string* text = nullptr) {
  const HttpResult r = Http("GET", TheStack().Url("/api/cloud/metrics/prometheus"));
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(r.Header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  if (text) *text = r.body;
  Samples samples;
  size_t start = 0;
  while (start < r.body.size()) {
    size_t end = r.body.find('\n', start);
    if (end == std::string::npos) end = r.body.size();
    const std::string line = r.body.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    const std::string value = line.substr(space + 1);
    samples[line.substr(0, space)] = value == "+Inf" ? 1e300 : std::stod(value);
  }
  return samples;
}

double Value(const Samples& samples, const std::string& series) {
  const auto it = samples.find(series);
  return it == samples.end() ? 0 : it->second;
}

std::string Requests(const std::string& endpoint, const std::string& outcome = "ok") {
  return R"(jobpulse_provider_requests_total{provider="replicate",endpoint=")" + endpoint +
         R"(",outcome=")" + outcome + R"("})";
}

int64_t SimCount(const std::string& endpoint) {
  const auto doc = Parse(Sim().Control("GET", "/counters"));
  const auto it = doc["endpoints"].FindMember(endpoint.c_str());
  return it == doc["endpoints"].MemberEnd() ? 0 : it->value.GetInt64();
}

HttpResult PostDelivery(const std::string& webhook_id, const std::string& run_id,
                        bool good_signature) {
  const std::string body = R"({"id":")" + run_id +
                           R"(","model":"simpletuner/advanced-trainer-l40s","status":"processing",)"
                           R"("created_at":"2026-11-28T10:00:00.000Z","logs":"Step 3/50\n"})";
  const std::string timestamp = std::to_string(NowMicros() / 1000000);
  const auto key = DecodeWebhookSecret(kSecret);
  BOOST_TEST_REQUIRE(key.has_value());
  const std::string signature = good_signature ? SignWebhook(*key, webhook_id, timestamp, body)
                                               : "v1,bm90IHRoZSBzaWduYXR1cmUgYXQgYWxs";
  return Http("POST", TheStack().Url("/api/webhooks/replicate"), body,
              {"Content-Type: application/json", "webhook-id: " + webhook_id,
               "webhook-timestamp: " + timestamp, "webhook-signature: " + signature});
}

// An event-stream client through nginx, held open.
class StreamClient {
 public:
  explicit StreamClient(int port) {
    std::string error;
    fd_ = OpenEventStream(port, &error);
    BOOST_TEST_REQUIRE(fd_ >= 0, error);
  }
  ~StreamClient() { close(fd_); }

 private:
  int fd_ = -1;
};

BOOST_AUTO_TEST_SUITE(metrics_through_the_stack, *boost::unit_test::fixture<MetricsStack>())

BOOST_AUTO_TEST_CASE(the_scrape_declares_every_family_with_its_type) {
  std::string text;
  Scrape(&text);
  for (const char* typed :
       {"jobpulse_provider_requests_total counter",
        "jobpulse_poll_cycle_duration_seconds histogram", "jobpulse_demand_refreshes_total counter",
        "jobpulse_webhook_deliveries_total counter", "jobpulse_webhook_inbox_pending gauge",
        "jobpulse_webhook_inbox_oldest_pending_age_seconds gauge", "jobpulse_sse_clients gauge",
        "jobpulse_events_appended_total counter", "jobpulse_handler_recycles_total counter",
        "jobpulse_queue_waiting gauge", "jobpulse_queue_running gauge", "jobpulse_worker_up gauge",
        "jobpulse_worker_heartbeat_age_seconds gauge", "jobpulse_provider_circuit_open gauge"}) {
    BOOST_TEST(text.find(std::string("\n# TYPE ") + typed + "\n") != std::string::npos, typed);
  }
}

BOOST_AUTO_TEST_CASE(counters_and_gauges_move_with_what_happens) {
  Sim().Control("POST", "/runs",
                R"({"id":"r8-metrics-1","status":"processing",)"
                R"("model":"simpletuner/advanced-trainer-l40s","kind":"training"})");
  const Samples before = Scrape();
  const int64_t sim_lists = SimCount("list_predictions");
  const int64_t sim_gets = SimCount("get_prediction");
  const double list_before = Value(before, Requests("list_predictions"));
  const double get_before = Value(before, Requests("get_prediction"));

  // A sync lists the runs (a handler's request), creating the job and its event.
  BOOST_TEST_REQUIRE(Http("POST", TheStack().Url("/api/cloud/jobs/sync")).status == 200);
  // A watched running job whose logs were never fetched: the worker
  // refreshes it on demand.
  BOOST_TEST(Http("GET", TheStack().Url("/api/cloud/jobs/r8-metrics-1/inline-progress")).status ==
             200);
  BOOST_TEST(Eventually([] { return SimCount("get_prediction") > 0; }, 5000));
  // One delivery accepted, one refused for its signature.
  BOOST_TEST(PostDelivery("msg_metrics_1", "r8-metrics-1", true).status == 200);
  BOOST_TEST(PostDelivery("msg_metrics_2", "r8-metrics-1", false).status == 401);
  StreamClient stream(TheStack().port());
  // Enough requests for every handler to reach its limit at least once.
  for (int i = 0; i < 24; ++i) Http("GET", TheStack().Url("/api/cloud/polling/status"));

  Samples after;
  const bool settled = Eventually(
      [&] {
        after = Scrape();
        return Value(after, Requests("list_predictions")) - list_before ==
                   SimCount("list_predictions") - sim_lists &&
               Value(after, Requests("get_prediction")) - get_before ==
                   SimCount("get_prediction") - sim_gets &&
               Value(after, R"(jobpulse_demand_refreshes_total{by="worker"})") >
                   Value(before, R"(jobpulse_demand_refreshes_total{by="worker"})") &&
               Value(after, "jobpulse_handler_recycles_total") >
                   Value(before, "jobpulse_handler_recycles_total") &&
               Value(after, "jobpulse_sse_clients") == 1;
      },
      8000, 200);
  BOOST_TEST(settled);
  // The provider counters are the simulator's own counts, whichever process made the request.
  BOOST_TEST(Value(after, Requests("list_predictions")) - list_before ==
             SimCount("list_predictions") - sim_lists);
  BOOST_TEST(SimCount("list_predictions") - sim_lists >= 1);
  BOOST_TEST(Value(after, Requests("get_prediction")) - get_before ==
             SimCount("get_prediction") - sim_gets);
  BOOST_TEST(SimCount("get_prediction") - sim_gets >= 1);
  BOOST_TEST(Value(after, R"(jobpulse_webhook_deliveries_total{result="accepted"})") -
                 Value(before, R"(jobpulse_webhook_deliveries_total{result="accepted"})") ==
             1);
  BOOST_TEST(
      Value(after, R"(jobpulse_webhook_deliveries_total{result="invalid_signature"})") -
          Value(before, R"(jobpulse_webhook_deliveries_total{result="invalid_signature"})") ==
      1);
  auto newest = MetricsStack::env.store().EventIdsAssigned();
  BOOST_TEST_REQUIRE(newest.ok());
  BOOST_TEST(Value(after, "jobpulse_events_appended_total") == static_cast<double>(*newest));
  BOOST_TEST(Value(after, "jobpulse_events_appended_total") >
             Value(before, "jobpulse_events_appended_total"));
  BOOST_TEST(Value(after, "jobpulse_worker_up") == 1);
  BOOST_TEST(Value(after, "jobpulse_worker_heartbeat_age_seconds") < 20);
  BOOST_TEST(Value(after, R"(jobpulse_provider_circuit_open{provider="replicate"})") == 0);
}

BOOST_AUTO_TEST_CASE(without_the_worker_the_inbox_and_queue_wait_and_it_shows) {
  TheStack().SupervisorCtl("stop worker");
  BOOST_TEST_REQUIRE(TheStack().ProgramPid("worker") == 0);
  const Samples before = Scrape();
  BOOST_TEST(Value(before, "jobpulse_webhook_inbox_pending") == 0);
  BOOST_TEST(Value(before, "jobpulse_queue_waiting") == 0);
  const double cycles_before = Value(before, "jobpulse_poll_cycle_duration_seconds_count");

  // With no worker to take it, the handler stores the delivery in the inbox.
  BOOST_TEST(PostDelivery("msg_metrics_3", "r8-metrics-1", true).status == 200);
  const HttpResult submitted = Http("POST", TheStack().Url("/api/cloud/jobs/submit"),
                                    R"({"kind":"prediction","model":"acme/sdxl","input":{"n":1}})",
                                    {"Content-Type: application/json"});
  BOOST_TEST_REQUIRE(submitted.status == 202, submitted.body);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const Samples waiting = Scrape();
  BOOST_TEST(Value(waiting, "jobpulse_webhook_inbox_pending") == 1);
  BOOST_TEST(Value(waiting, "jobpulse_webhook_inbox_oldest_pending_age_seconds") >= 1.4);
  BOOST_TEST(Value(waiting, "jobpulse_webhook_inbox_oldest_pending_age_seconds") < 30);
  BOOST_TEST(Value(waiting, "jobpulse_queue_waiting") == 1);
  BOOST_TEST(Value(waiting, "jobpulse_sse_clients") == 0);  // the worker said so as it stopped
  BOOST_TEST(Value(waiting, "jobpulse_worker_heartbeat_age_seconds") >=
             Value(before, "jobpulse_worker_heartbeat_age_seconds") + 1.4);

  // Back: it applies the delivery, dispatches the job, and polls once at start.
  TheStack().SupervisorCtl("start worker");
  Samples back;
  const bool drained = Eventually(
      [&] {
        back = Scrape();
        return Value(back, "jobpulse_webhook_inbox_pending") == 0 &&
               Value(back, "jobpulse_queue_waiting") == 0 &&
               Value(back, "jobpulse_poll_cycle_duration_seconds_count") > cycles_before;
      },
      10000, 200);
  BOOST_TEST(drained, "pending " << Value(back, "jobpulse_webhook_inbox_pending") << ", waiting "
                                 << Value(back, "jobpulse_queue_waiting") << ", cycles "
                                 << Value(back, "jobpulse_poll_cycle_duration_seconds_count")
                                 << " (before " << cycles_before << ")\n"
                                 << TheStack().Logs());
  BOOST_TEST(Value(back, "jobpulse_webhook_inbox_oldest_pending_age_seconds") == 0);
  BOOST_TEST(Value(back, "jobpulse_queue_running") == 1);
  BOOST_TEST(Value(back, Requests("create")) >= 1);
  BOOST_TEST(Value(back, R"(jobpulse_poll_cycle_duration_seconds_bucket{le="+Inf"})") ==
             Value(back, "jobpulse_poll_cycle_duration_seconds_count"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse::testing
