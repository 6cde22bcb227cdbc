// Unit tests for lib/service_state.h: each typed record round-trips, and a
// missing or bad record reads as "nothing reported"; on both engines.
#include "lib/service_state.h"

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "lib/store.h"
#include "tests/engine_fixture.h"

namespace jobpulse {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecond = 1000000;
// 2026-11-28T10:00:00Z in microseconds.
constexpr int64_t kNow = int64_t{1795860000} * kSecond;

// One engine's fresh database (tests/engine_fixture.h).
struct StateFixture {
  explicit StateFixture(testing::Engine engine) : db(engine), store(&db.state()) {}
  std::string Raw(const std::string& name) {
    auto entry = store->GetServiceState(name);
    BOOST_REQUIRE(entry.ok());
    BOOST_REQUIRE_MESSAGE(entry->has_value(), "no " << name);
    return (*entry)->value;
  }
  void Put(const std::string& name, const std::string& value) {
    BOOST_REQUIRE(store->PutServiceState(name, value, kNow).ok());
  }
  testing::EngineStore db;
  ServiceStateStore* store;
};

using testing::kEngines;

BOOST_AUTO_TEST_SUITE(service_state)

BOOST_DATA_TEST_CASE(the_raw_table_keeps_the_last_value_and_its_time, kEngines, engine) {
  StateFixture f(engine);
  auto missing = f.store->GetServiceState("x");
  BOOST_REQUIRE(missing.ok());
  BOOST_TEST(!missing->has_value());
  BOOST_REQUIRE(f.store->PutServiceState("x", "1", kNow).ok());
  BOOST_REQUIRE(f.store->PutServiceState("x", "2", kNow + kSecond).ok());
  auto entry = f.store->GetServiceState("x");
  BOOST_REQUIRE(entry.ok() && entry->has_value());
  BOOST_TEST((*entry)->value == "2");
  BOOST_TEST((*entry)->updated_at == kNow + kSecond);
}

BOOST_DATA_TEST_CASE(poller_status_round_trips_and_tolerates_bad_records, kEngines, engine) {
  StateFixture f(engine);
  PollerStatusRecord none = ReadPollerStatus(*f.store);
  BOOST_TEST(!none.last_cycle_at.has_value());
  BOOST_TEST(!none.last_cycle_jobs.has_value());
  BOOST_TEST(!none.last_error.has_value());

  BOOST_REQUIRE(WritePollerStatus(*f.store, {"2026-11-28T10:00:00.000000Z", 3, "boom"}, kNow).ok());
  BOOST_TEST(f.Raw("poller_status") ==
             R"({"last_cycle_at":"2026-11-28T10:00:00.000000Z","last_cycle_jobs":3,)"
             R"("last_error":"boom"})");
  PollerStatusRecord read = ReadPollerStatus(*f.store);
  BOOST_TEST(*read.last_cycle_at == "2026-11-28T10:00:00.000000Z");
  BOOST_TEST(*read.last_cycle_jobs == 3);
  BOOST_TEST(*read.last_error == "boom");

  BOOST_REQUIRE(WritePollerStatus(*f.store, {std::nullopt, 0, std::nullopt}, kNow).ok());
  BOOST_TEST(f.Raw("poller_status") ==
             R"({"last_cycle_at":null,"last_cycle_jobs":0,"last_error":null})");

  f.Put("poller_status", R"({"last_cycle_at":5,"last_cycle_jobs":"3","last_error":"e"})");
  read = ReadPollerStatus(*f.store);
  BOOST_TEST(!read.last_cycle_at.has_value());
  BOOST_TEST(!read.last_cycle_jobs.has_value());
  BOOST_TEST(*read.last_error == "e");
  const std::string too_deep(200, '[');
  for (const std::string& bad :
       {std::string("{not json"), std::string("[1,2]"), std::string(), too_deep}) {
    f.Put("poller_status", bad);
    BOOST_TEST(!ReadPollerStatus(*f.store).last_error.has_value());
  }
}

BOOST_DATA_TEST_CASE(a_circuit_is_open_only_when_written_open, kEngines, engine) {
  StateFixture f(engine);
  BOOST_TEST(ReadCircuitState(*f.store, "replicate") == "closed");
  BOOST_REQUIRE(WriteCircuitState(*f.store, "replicate", true, kNow).ok());
  BOOST_TEST(f.Raw("circuit:replicate") == "open");
  BOOST_TEST(ReadCircuitState(*f.store, "replicate") == "open");
  BOOST_TEST(ReadCircuitState(*f.store, "other") == "closed");
  BOOST_REQUIRE(WriteCircuitState(*f.store, "replicate", false, kNow).ok());
  BOOST_TEST(ReadCircuitState(*f.store, "replicate") == "closed");
  f.Put("circuit:replicate", "half-open?");
  BOOST_TEST(ReadCircuitState(*f.store, "replicate") == "closed");
}

BOOST_DATA_TEST_CASE(a_sync_record_round_trips_with_its_error, kEngines, engine) {
  StateFixture f(engine);
  BOOST_TEST(ReadSyncRecord(*f.store, "replicate").generation == 0);
  SyncRecord ok;
  ok.generation = 4;
  ok.created = 2;
  ok.updated = 1;
  ok.skipped = 3;
  BOOST_REQUIRE(WriteSyncRecord(*f.store, "replicate", ok, kNow).ok());
  BOOST_TEST(f.Raw("sync_result:replicate") ==
             R"({"generation":4,"created":2,"updated":1,"skipped":3})");
  SyncRecord read = ReadSyncRecord(*f.store, "replicate");
  BOOST_TEST(read.generation == 4);
  BOOST_TEST(read.created == 2);
  BOOST_TEST(read.updated == 1);
  BOOST_TEST(read.skipped == 3);
  BOOST_TEST(read.status.ok());

  SyncRecord failed;
  failed.generation = 5;
  failed.status = Status::Error(Status::Code::kRateLimited, "provider_rate_limited", "slow down")
                      .set_retry_after_seconds(7);
  BOOST_REQUIRE(WriteSyncRecord(*f.store, "replicate", failed, kNow).ok());
  read = ReadSyncRecord(*f.store, "replicate");
  BOOST_TEST(read.generation == 5);
  BOOST_TEST((read.status.code() == Status::Code::kRateLimited));
  BOOST_TEST(read.status.error() == "provider_rate_limited");
  BOOST_TEST(read.status.message() == "slow down");
  BOOST_TEST(read.status.retry_after_seconds() == 7);
  BOOST_TEST(read.status.details().size() == 1u);
  BOOST_TEST(read.status.details()[0].first == "provider");
  BOOST_TEST(read.status.details()[0].second == "replicate");

  // A code outside the enum (or "ok" with an error) is an internal error.
  for (const char* code : {"0", "999", "-1"}) {
    f.Put("sync_result:replicate",
          std::string(R"({"generation":6,"code":)") + code + R"(,"error":"x","message":"m"})");
    BOOST_TEST((ReadSyncRecord(*f.store, "replicate").status.code() == Status::Code::kInternal));
  }
}

BOOST_DATA_TEST_CASE(a_cached_secret_is_served_until_it_is_too_old, kEngines, engine) {
  StateFixture f(engine);
  const int64_t max_age = 300 * kSecond;
  BOOST_TEST(!CachedWebhookSecret(*f.store, "replicate", max_age, kNow).has_value());
  BOOST_REQUIRE(CacheWebhookSecret(*f.store, "replicate", "whsec_abc", kNow).ok());
  BOOST_TEST(*CachedWebhookSecret(*f.store, "replicate", max_age, kNow) == "whsec_abc");
  BOOST_TEST(*CachedWebhookSecret(*f.store, "replicate", max_age, kNow + max_age - 1) ==
             "whsec_abc");
  BOOST_TEST(!CachedWebhookSecret(*f.store, "replicate", max_age, kNow + max_age).has_value());
  // Written "in the future" (a clock that went back): not trusted.
  BOOST_TEST(!CachedWebhookSecret(*f.store, "replicate", max_age, kNow - 1).has_value());
  BOOST_TEST(!CachedWebhookSecret(*f.store, "other", max_age, kNow).has_value());
}

BOOST_DATA_TEST_CASE(the_health_probe_writes_the_time, kEngines, engine) {
  StateFixture f(engine);
  BOOST_REQUIRE(WriteHealthProbe(*f.store, kNow).ok());
  BOOST_TEST(f.Raw("health_probe") == "2026-11-28T10:00:00.000000Z");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
