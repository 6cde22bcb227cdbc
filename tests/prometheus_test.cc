// lib/prometheus.h on a real database: every family with its HELP and TYPE,
// grouped; counters as the processes summed them; gauges read from the
// inbox, the event log, the queue, the heartbeat, the circuits and the event
// stream's client count as of the scrape.
#include "lib/prometheus.h"

#include <regex>
#include <sstream>

#include "lib/counters.h"
#include "lib/heartbeat.h"
#include "lib/service_state.h"
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool HasLine(const std::string& text, const std::string& line) {
  for (const std::string& l : Lines(text)) {
    if (l == line) return true;
  }
  return false;
}

Result<std::string> Scrape(Store& store, int64_t now) {
  return PrometheusText(store, {"replicate"}, 30, now);
}

BOOST_AUTO_TEST_SUITE(prometheus)

BOOST_AUTO_TEST_CASE(sample_values_in_the_text_format) {
  BOOST_TEST(FormatSampleValue(0) == "0");
  BOOST_TEST(FormatSampleValue(12345) == "12345");
  BOOST_TEST(FormatSampleValue(0.25) == "0.25");
  BOOST_TEST(FormatSampleValue(1.5e20) == "1.5e+20");
  BOOST_TEST(FormatSampleValue(std::numeric_limits<double>::infinity()) == "+Inf");
  BOOST_TEST(FormatSampleValue(std::nan("")) == "NaN");
}

BOOST_FIXTURE_TEST_CASE(a_fresh_database_has_every_family_at_zero, StoreFixture) {
  auto store = OpenStore();
  auto text = Scrape(*store, kNow);
  BOOST_REQUIRE(text.ok());
  const std::pair<const char*, const char*> families[] = {
      {"jobpulse_provider_requests_total", "counter"},
      {"jobpulse_poll_cycle_duration_seconds", "histogram"},
      {"jobpulse_demand_refreshes_total", "counter"},
      {"jobpulse_webhook_deliveries_total", "counter"},
      {"jobpulse_webhook_inbox_pending", "gauge"},
      {"jobpulse_webhook_inbox_oldest_pending_age_seconds", "gauge"},
      {"jobpulse_sse_clients", "gauge"},
      {"jobpulse_events_appended_total", "counter"},
      {"jobpulse_handler_recycles_total", "counter"},
      {"jobpulse_queue_waiting", "gauge"},
      {"jobpulse_queue_running", "gauge"},
      {"jobpulse_worker_up", "gauge"},
      {"jobpulse_worker_heartbeat_age_seconds", "gauge"},
      {"jobpulse_provider_circuit_open", "gauge"},
  };
  // TYPE lines in this order, each after its HELP line, and nothing else typed.
  std::vector<std::string> typed;
  const std::vector<std::string> lines = Lines(*text);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("# TYPE ", 0) != 0) continue;
    typed.push_back(lines[i].substr(7));
    BOOST_TEST(lines[i - 1].rfind("# HELP " + lines[i].substr(7, lines[i].find(' ', 7) - 7), 0) ==
               0u);
  }
  BOOST_REQUIRE(typed.size() == std::size(families));
  for (size_t i = 0; i < typed.size(); ++i) {
    BOOST_TEST(typed[i] == std::string(families[i].first) + " " + families[i].second);
  }
  // Every sample line is well formed and belongs to the family declared last.
  const std::regex sample(R"(^([a-z_]+)(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})? (\S+)$)");
  std::string family;
  for (const std::string& line : lines) {
    if (line.rfind("# TYPE ", 0) == 0) family = line.substr(7, line.find(' ', 7) - 7);
    if (line.empty() || line[0] == '#') continue;
    std::smatch m;
    BOOST_TEST_REQUIRE(std::regex_match(line, m, sample), line);
    BOOST_TEST(m[1].str().rfind(family, 0) == 0u, line);
  }
  for (const char* line :
       {"jobpulse_poll_cycle_duration_seconds_bucket{le=\"0.01\"} 0",
        "jobpulse_poll_cycle_duration_seconds_bucket{le=\"+Inf\"} 0",
        "jobpulse_poll_cycle_duration_seconds_count 0",
        "jobpulse_demand_refreshes_total{by=\"worker\"} 0",
        "jobpulse_webhook_deliveries_total{result=\"accepted\"} 0",
        "jobpulse_webhook_inbox_pending 0", "jobpulse_webhook_inbox_oldest_pending_age_seconds 0",
        "jobpulse_sse_clients 0", "jobpulse_events_appended_total 0",
        "jobpulse_handler_recycles_total 0", "jobpulse_queue_waiting 0", "jobpulse_queue_running 0",
        "jobpulse_worker_up 0", "jobpulse_worker_heartbeat_age_seconds +Inf",
        "jobpulse_provider_circuit_open{provider=\"replicate\"} 0"}) {
    BOOST_TEST(HasLine(*text, line), line);
  }
}

BOOST_FIXTURE_TEST_CASE(values_follow_what_the_processes_did, StoreFixture) {
  auto store = OpenStore();
  Counters handler, worker;
  const std::string get_ok =
      Labels({{"provider", "replicate"}, {"endpoint", "get_prediction"}, {"outcome", "ok"}});
  handler.Add(kProviderRequestsTotal, get_ok, 2);
  worker.Add(kProviderRequestsTotal, get_ok, 3);
  worker.Observe(kPollCycleSeconds, kPollCycleBuckets, 0.3);
  handler.Add(kWebhookDeliveriesTotal, Labels({{"result", "invalid_signature"}}));
  handler.Add(kHandlerRecyclesTotal, "");
  BOOST_REQUIRE(FlushCounters(handler, *store, kNow).ok());
  BOOST_REQUIRE(FlushCounters(worker, *store, kNow).ok());
  // Two deliveries waiting, the older 90 s old; three events; a live worker
  // with two stream clients and an open circuit; one job waiting in the queue.
  BOOST_REQUIRE(store->InsertDelivery("msg_1", "replicate", "{}", kNow - 90 * kSecond).ok());
  BOOST_REQUIRE(store->InsertDelivery("msg_2", "replicate", "{}", kNow - 10 * kSecond).ok());
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE(store->AppendEvent("job-1", EventType::kJobsSynced, "{}", kNow).ok());
  }
  BOOST_REQUIRE(WriteWorkerHeartbeat(*store, 5, kNow - 2 * kSecond).ok());
  BOOST_REQUIRE(WriteSseClients(*store, 2, kNow).ok());
  BOOST_REQUIRE(WriteCircuitState(*store, "replicate", true, kNow).ok());
  Submission s;
  s.job_id = "job-q";
  s.provider = "replicate";
  s.request_json = R"({"kind":"training","input":{}})";
  s.input_digest = "d";
  BOOST_REQUIRE(store->Submit(s, Prices(), kNow).ok());

  auto text = Scrape(*store, kNow);
  BOOST_REQUIRE(text.ok());
  for (const std::string& line :
       {"jobpulse_provider_requests_total{" + get_ok + "} 5",
        std::string("jobpulse_poll_cycle_duration_seconds_bucket{le=\"0.25\"} 0"),
        std::string("jobpulse_poll_cycle_duration_seconds_bucket{le=\"0.5\"} 1"),
        std::string("jobpulse_poll_cycle_duration_seconds_bucket{le=\"+Inf\"} 1"),
        std::string("jobpulse_poll_cycle_duration_seconds_sum 0.3"),
        std::string("jobpulse_poll_cycle_duration_seconds_count 1"),
        std::string("jobpulse_webhook_deliveries_total{result=\"invalid_signature\"} 1"),
        std::string("jobpulse_webhook_deliveries_total{result=\"accepted\"} 0"),
        std::string("jobpulse_webhook_inbox_pending 2"),
        std::string("jobpulse_webhook_inbox_oldest_pending_age_seconds 90"),
        std::string("jobpulse_sse_clients 2"),
        // Three appended here, one by the submission's merge.
        std::string("jobpulse_events_appended_total 4"),
        std::string("jobpulse_handler_recycles_total 1"), std::string("jobpulse_queue_waiting 1"),
        std::string("jobpulse_worker_up 1"), std::string("jobpulse_worker_heartbeat_age_seconds 2"),
        std::string("jobpulse_provider_circuit_open{provider=\"replicate\"} 1")}) {
    BOOST_TEST(HasLine(*text, line), line);
  }
  // The worker's beat goes stale: it is down, and nobody follows its stream.
  // Pruning every event does not take the count back.
  BOOST_REQUIRE(store->PruneEvents(0, kNow + kSecond).ok());
  BOOST_REQUIRE(*store->NewestEventId() == 0);
  auto later = Scrape(*store, kNow + 60 * kSecond);
  BOOST_REQUIRE(later.ok());
  BOOST_TEST(HasLine(*later, "jobpulse_worker_up 0"));
  BOOST_TEST(HasLine(*later, "jobpulse_worker_heartbeat_age_seconds 62"));
  BOOST_TEST(HasLine(*later, "jobpulse_sse_clients 0"));
  BOOST_TEST(HasLine(*later, "jobpulse_events_appended_total 4"));
  BOOST_TEST(HasLine(*later, "jobpulse_webhook_inbox_oldest_pending_age_seconds 150"));
}

BOOST_FIXTURE_TEST_CASE(rows_of_unknown_names_and_hostile_labels_cannot_break_the_text,
                        StoreFixture) {
  auto store = OpenStore();
  Counters c;
  c.Add("jobpulse_from_a_newer_version_total", "", 9);
  c.Add(kWebhookDeliveriesTotal, Labels({{"result", "x\"}\nfake_metric 1\n"}}));
  BOOST_REQUIRE(FlushCounters(c, *store, kNow).ok());
  auto text = Scrape(*store, kNow);
  BOOST_REQUIRE(text.ok());
  BOOST_TEST(text->find("jobpulse_from_a_newer_version_total") == std::string::npos);
  BOOST_TEST(!HasLine(*text, "fake_metric 1"));
  BOOST_TEST(
      HasLine(*text, R"(jobpulse_webhook_deliveries_total{result="x\"}\nfake_metric 1\n"} 1)"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
