// The pure parts of the Replicate client: run parsing, hardware from model
// names, Retry-After, and the HTTP -> Status mapping. The network parts are
// exercised against the simulator in tests/integration/replicate_it.cc.
#include <boost/test/unit_test.hpp>
// (keep the Boost header first)
#include "lib/replicate_client.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

OutboundResponse Answer(long status, std::string body,
                        std::vector<std::pair<std::string, std::string>> headers = {}) {
  OutboundResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replicate_client)

BOOST_AUTO_TEST_CASE(parses_a_full_training_object) {
  const auto obs = ParseReplicateRun(R"({
    "id": "vrsafsk7mnrgj0cf0p2ax766s4", "model": "simpletuner/advanced-trainer-h100-x2",
    "version": "abc123", "status": "succeeded", "source": "api",
    "created_at": "2023-08-16T19:33:26.678378653Z", "started_at": "2024-04-22T11:15:14.469Z",
    "completed_at": "2023-11-16T11:46:16.0649+00:00",
    "logs": "Step 10/100\n", "error": null,
    "output": {"version": "me/lora:ff", "weights": "https://example.invalid/w.tar"},
    "metrics": {"predict_time": 502.71, "total_time": 510.2}, "urls": {}})");
  BOOST_TEST_REQUIRE(obs.ok(), obs.status().ToString());
  BOOST_TEST(obs->provider == "replicate");
  BOOST_TEST(obs->external_id == "vrsafsk7mnrgj0cf0p2ax766s4");
  BOOST_TEST(*obs->provider_status == "succeeded");
  BOOST_TEST(FormatTimestamp(*obs->created_at) == "2023-08-16T19:33:26.678378Z");
  BOOST_TEST(FormatTimestamp(*obs->started_at) == "2024-04-22T11:15:14.469000Z");
  BOOST_TEST(FormatTimestamp(*obs->completed_at) == "2023-11-16T11:46:16.064900Z");
  BOOST_TEST(*obs->predict_time == 502.71);
  BOOST_TEST(*obs->logs == "Step 10/100\n");
  BOOST_TEST(!obs->error_message.has_value());
  BOOST_TEST(*obs->output_url == "https://example.invalid/w.tar");
  BOOST_TEST(obs->metadata.at("model") == "simpletuner/advanced-trainer-h100-x2");
  BOOST_TEST(obs->metadata.at("version") == "abc123");
  BOOST_TEST(obs->metadata.at("source") == "api");
  BOOST_TEST(*obs->hardware_type == "gpu-h100-2x");
}

BOOST_AUTO_TEST_CASE(tolerates_missing_null_and_odd_fields) {
  const auto obs = ParseReplicateRun(
      R"({"id":"x1","status":"aborted","created_at":"not a time","started_at":null,)"
      R"("logs":null,"metrics":{},"error":{"code":"OOM"},"output":["https://a/1.png","b"]})");
  BOOST_TEST_REQUIRE(obs.ok());
  BOOST_TEST(*obs->provider_status == "aborted");
  BOOST_TEST(!obs->created_at.has_value());
  BOOST_TEST(!obs->started_at.has_value());
  BOOST_TEST(!obs->logs.has_value());
  BOOST_TEST(!obs->predict_time.has_value());
  BOOST_TEST(*obs->error_message == R"({"code":"OOM"})");
  BOOST_TEST(*obs->output_url == "https://a/1.png");
  BOOST_TEST(!obs->hardware_type.has_value());
  BOOST_TEST(obs->metadata.empty());
}

BOOST_AUTO_TEST_CASE(rejects_non_objects_and_missing_ids) {
  for (const char* bad : {"[]", "{}", R"({"id":""})", R"({"id":7})", "{", "\"run\""}) {
    BOOST_TEST_CONTEXT(bad) {
      const auto obs = ParseReplicateRun(bad);
      BOOST_TEST(!obs.ok());
      BOOST_TEST(obs.status().error() == "provider_error");
      BOOST_TEST(static_cast<int>(obs.status().code()) ==
                 static_cast<int>(Status::Code::kUpstream));
    }
  }
}

BOOST_AUTO_TEST_CASE(hardware_follows_simpletuner_trainer_names) {
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-h100") == "gpu-h100");
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-h100-x4") == "gpu-h100-4x");
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-l40s") == "gpu-l40s");
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-l40s-x8") == "gpu-8x-l40s");
  BOOST_TEST(!HardwareForModel("stability-ai/sdxl").has_value());
  BOOST_TEST(!HardwareForModel("me/h100-fan-club").has_value());
}

BOOST_AUTO_TEST_CASE(retry_after_accepts_seconds_and_http_dates) {
  BOOST_TEST(*ParseRetryAfter("5", 1000) == 5);
  BOOST_TEST(*ParseRetryAfter("0", 1000) == 0);
  // 1994-11-06T08:49:37Z is 784111777.
  BOOST_TEST(*ParseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", 784111777) == 10);
  BOOST_TEST(*ParseRetryAfter("Sun, 06 Nov 1994 08:49:27 GMT", 784111777) == 0);
  BOOST_TEST(!ParseRetryAfter("", 0).has_value());
  BOOST_TEST(!ParseRetryAfter("soon", 0).has_value());
}

BOOST_AUTO_TEST_CASE(http_answers_map_to_statuses) {
  BOOST_TEST(ReplicateStatusFor(Answer(200, "{}"), "x").ok());
  BOOST_TEST(ReplicateStatusFor(Answer(201, "{}"), "x").ok());

  Status s = ReplicateStatusFor(Answer(429, R"({"detail":"slow down","retry_after":7})"), "list");
  BOOST_TEST(s.error() == "provider_rate_limited");
  BOOST_TEST(s.retry_after_seconds() == 7);
  // The header wins over the body.
  s = ReplicateStatusFor(Answer(429, R"({"retry_after":7})", {{"retry-after", "3"}}), "list");
  BOOST_TEST(s.retry_after_seconds() == 3);
  s = ReplicateStatusFor(Answer(429, "throttled"), "list");
  BOOST_TEST(s.retry_after_seconds() == 1);

  s = ReplicateStatusFor(Answer(404, R"({"detail":"Not found.","status":404})"), "prediction p");
  BOOST_TEST(s.error() == "provider_not_found");
  BOOST_TEST(s.message() == "Replicate does not know prediction p (HTTP 404): Not found.");

  s = ReplicateStatusFor(
      Answer(401, R"({"title":"Unauthenticated","detail":"You did not pass a valid token"})"),
      "account");
  BOOST_TEST(s.error() == "provider_error");
  BOOST_TEST(s.message() ==
             "Replicate rejected the API token for account (HTTP 401): You did not pass a valid "
             "token");

  s = ReplicateStatusFor(Answer(503, "<html>"), "list predictions");
  BOOST_TEST(s.error() == "provider_error");
  BOOST_TEST(static_cast<int>(s.code()) == static_cast<int>(Status::Code::kUpstream));
}

BOOST_AUTO_TEST_CASE(an_unconfigured_client_says_so_without_network) {
  ReplicateClient client(std::nullopt, "http://127.0.0.1:9");
  BOOST_TEST(!client.configured());
  const auto runs = client.ListRecent(10);
  BOOST_TEST(runs.status().error() == "provider_not_configured");
  BOOST_TEST(static_cast<int>(runs.status().code()) ==
             static_cast<int>(Status::Code::kUnavailable));
  BOOST_TEST(client.Get("x", 1000).status().error() == "provider_not_configured");
  BOOST_TEST(client.Cancel("x").status().error() == "provider_not_configured");
  BOOST_TEST(client.Account().status().error() == "provider_not_configured");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
