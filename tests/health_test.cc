// HealthResponse and PollingStatusResponse (lib/health.h) on a real store.
#include "lib/health.h"

#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "lib/heartbeat.h"
#include "lib/timestamp.h"
#include "tests/temp_store.h"

namespace jobpulse {
namespace {

constexpr int64_t kNow = 1764320000 * kMicrosPerSecond;

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  BOOST_REQUIRE(!doc.HasParseError() && doc.IsObject());
  return doc;
}

std::string Str(const rapidjson::Value& object, const char* key) {
  const auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsString() ? it->value.GetString() : "<none>";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(health)

BOOST_FIXTURE_TEST_CASE(a_fresh_store_without_a_worker_is_healthy, testing::TempStore) {
  Config config;
  const HttpResponse r = HealthResponse(config, store.get(), Status::Ok(), kNow);
  BOOST_TEST(r.status == 200);
  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Str(doc, "status") == "ok");
  BOOST_TEST(Str(doc, "timestamp") == FormatTimestamp(kNow));
  const rapidjson::Value& c = doc["components"];
  BOOST_TEST(Str(c["database"], "status") == "ok");
  BOOST_TEST(Str(c["worker"], "status") == "absent");
  BOOST_TEST(c["worker"]["heartbeat_age_seconds"].IsNull());
  BOOST_TEST(c["providers"]["replicate"]["configured"].GetBool() == false);
  BOOST_TEST(Str(c["providers"]["replicate"], "circuit") == "closed");
  // The probe is a write (SPEC §9).
  auto probe = store->GetServiceState("health_probe");
  BOOST_TEST_REQUIRE(probe.ok());
  BOOST_TEST_REQUIRE(probe->has_value());
  BOOST_TEST((*probe)->value == FormatTimestamp(kNow));
}

BOOST_AUTO_TEST_CASE(no_database_is_503_with_the_reason) {
  Config config;
  const Status why = Status::Error(Status::Code::kUnavailable, "database_unavailable", "disk full");
  const HttpResponse r = HealthResponse(config, nullptr, why, kNow);
  BOOST_TEST(r.status == 503);
  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Str(doc, "status") == "unhealthy");
  BOOST_TEST(Str(doc["components"]["database"], "status") == "down");
  BOOST_TEST(Str(doc["components"]["database"], "message") == "disk full");
  BOOST_TEST(Str(doc["components"]["worker"], "status") == "absent");
}

BOOST_FIXTURE_TEST_CASE(a_live_then_a_stale_worker, testing::TempStore) {
  Config config;
  BOOST_TEST_REQUIRE(WriteWorkerHeartbeat(*store, 30, kNow).ok());
  HttpResponse r = HealthResponse(config, store.get(), Status::Ok(), kNow + 5 * kMicrosPerSecond);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(Str(Parse(r.body)["components"]["worker"], "status") == "ok");
  BOOST_TEST(Parse(r.body)["components"]["worker"]["heartbeat_age_seconds"].GetDouble() == 5.0);
  // Older than two cycles: down, and the whole service is unhealthy.
  r = HealthResponse(config, store.get(), Status::Ok(), kNow + 61 * kMicrosPerSecond);
  BOOST_TEST(r.status == 503);
  BOOST_TEST(Str(Parse(r.body)["components"]["worker"], "status") == "down");
}

BOOST_FIXTURE_TEST_CASE(polling_status_shows_what_the_worker_reported, testing::TempStore) {
  Config config;
  HttpResponse r = PollingStatusResponse(config, store.get());
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body ==
             R"({"enabled":true,"source":"auto","interval_seconds":30,"interval_source":"default",)"
             R"("webhook_configured":false,"last_cycle_at":null,"last_cycle_jobs":null,)"
             R"("last_error":null})");
  BOOST_TEST_REQUIRE(store
                         ->PutServiceState("poller_status",
                                           R"({"last_cycle_at":"2026-11-28T09:00:00.000000Z",)"
                                           R"("last_cycle_jobs":3,"last_error":"boom"})",
                                           kNow)
                         .ok());
  r = PollingStatusResponse(config, store.get());
  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Str(doc, "last_cycle_at") == "2026-11-28T09:00:00.000000Z");
  BOOST_TEST(doc["last_cycle_jobs"].GetInt64() == 3);
  BOOST_TEST(Str(doc, "last_error") == "boom");
  // A record that does not parse (or no store at all) reads as no report.
  BOOST_TEST_REQUIRE(store->PutServiceState("poller_status", "{not json", kNow).ok());
  BOOST_TEST(Parse(PollingStatusResponse(config, store.get()).body)["last_cycle_jobs"].IsNull());
  BOOST_TEST(Parse(PollingStatusResponse(config, nullptr).body)["last_error"].IsNull());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
