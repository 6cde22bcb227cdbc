// lib/provider_waiters.h: at most N handlers wait on a provider at once,
// across processes, and a crashed holder's slot is free at once.
#include <boost/test/unit_test.hpp>
// (keep the Boost header first)
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lib/config.h"
#include "lib/provider_waiters.h"
#include "lib/store.h"
#include "tests/temp_store.h"

namespace jobpulse {
namespace {

constexpr int64_t kNow = int64_t{1795860000} * 1000000;

using WaiterFixture = testing::TempStore;

BOOST_AUTO_TEST_SUITE(provider_waiters)

BOOST_AUTO_TEST_CASE(the_limit_is_the_setting_or_half_the_pool) {
  Config config;
  BOOST_TEST(ProviderWaiterLimit(config) == 2);  // pool of 4
  config.fcgi_pool_size.value = 1;
  BOOST_TEST(ProviderWaiterLimit(config) == 1);
  config.fcgi_pool_size.value = 9;
  BOOST_TEST(ProviderWaiterLimit(config) == 4);
  config.api_max_provider_waiters.value = 7;
  BOOST_TEST(ProviderWaiterLimit(config) == 7);
  const Status busy = ProviderBusy();
  BOOST_TEST(busy.error() == "provider_busy");
  BOOST_TEST(busy.retry_after_seconds() == 1);
  BOOST_TEST(static_cast<int>(busy.code()) == static_cast<int>(Status::Code::kUnavailable));
}

BOOST_FIXTURE_TEST_CASE(at_most_limit_slots_and_a_freed_one_is_reused, WaiterFixture) {
  std::vector<ProviderWaiterSlot> held;
  for (int i = 0; i < 3; ++i) {
    auto slot = ProviderWaiterSlot::TryTake(*store, 3, kNow);
    BOOST_REQUIRE(slot.has_value());
    held.push_back(std::move(*slot));
  }
  BOOST_TEST(!ProviderWaiterSlot::TryTake(*store, 3, kNow).has_value());
  held.pop_back();  // its destructor frees the lease
  BOOST_TEST(ProviderWaiterSlot::TryTake(*store, 3, kNow).has_value());
}

BOOST_FIXTURE_TEST_CASE(a_slot_held_by_a_dead_process_is_free, WaiterFixture) {
  // A child takes the only slot and dies without releasing it (as kill -9 would).
  const pid_t child = ::fork();
  if (child == 0) {
    auto store_in_child = Store::Open(dir + "/jobs.db");
    if (!store_in_child.ok()) ::_exit(2);
    auto slot = ProviderWaiterSlot::TryTake(**store_in_child, 1, kNow);
    ::_exit(slot ? 0 : 1);  // _exit: no destructor releases it
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_REQUIRE(WIFEXITED(status));
  BOOST_REQUIRE(WEXITSTATUS(status) == 0);
  BOOST_TEST(ProviderWaiterSlot::TryTake(*store, 1, kNow + 1).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
