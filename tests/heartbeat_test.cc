// The worker heartbeat as handlers see it (SPEC §5 "live worker").
#include <boost/test/unit_test.hpp>
// (keep the Boost header first)
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "lib/heartbeat.h"
#include "lib/store.h"
#include "tests/temp_store.h"

namespace jobpulse {
namespace {

using testing::TempStore;

constexpr int64_t kSecond = 1000000;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(heartbeat, TempStore)

BOOST_AUTO_TEST_CASE(no_worker_has_beaten_yet) {
  auto beat = ReadWorkerHeartbeat(*store, 100 * kSecond, 30);
  BOOST_TEST_REQUIRE(beat.ok());
  BOOST_TEST(!beat->seen);
  BOOST_TEST(!beat->live);
}

BOOST_AUTO_TEST_CASE(live_while_younger_than_two_cycles) {
  BOOST_TEST_REQUIRE(WriteWorkerHeartbeat(*store, 10, 100 * kSecond).ok());
  auto beat = ReadWorkerHeartbeat(*store, 119 * kSecond, 30);
  BOOST_TEST_REQUIRE(beat.ok());
  BOOST_TEST(beat->seen);
  BOOST_TEST(beat->cycle_seconds == 10);
  BOOST_TEST(beat->age_seconds == 19.0);
  BOOST_TEST(beat->live);
  beat = ReadWorkerHeartbeat(*store, 120 * kSecond, 30);
  BOOST_TEST(!beat->live);  // exactly two cycles old: no longer younger than two
}

BOOST_AUTO_TEST_CASE(an_unreadable_cycle_falls_back_to_the_default) {
  BOOST_TEST_REQUIRE(store->PutServiceState("worker_heartbeat", "soon", 0).ok());
  auto beat = ReadWorkerHeartbeat(*store, 59 * kSecond, 30);
  BOOST_TEST_REQUIRE(beat.ok());
  BOOST_TEST(beat->cycle_seconds == 30);
  BOOST_TEST(beat->live);
  beat = ReadWorkerHeartbeat(*store, 61 * kSecond, 30);
  BOOST_TEST(!beat->live);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
