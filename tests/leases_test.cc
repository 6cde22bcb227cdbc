// Unit tests for lib/leases.h: owners, the dead-owner rule and the scoped
// lease, against both store engines.
#include "lib/leases.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "lib/store.h"
#include "tests/engine_fixture.h"

namespace jobpulse {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = int64_t{1795860000} * 1000000;
constexpr int64_t kTtl = 60 * int64_t{1000000};

// One engine's fresh database (tests/engine_fixture.h).
struct LeaseFixture {
  explicit LeaseFixture(testing::Engine engine) : db(engine), store(&db.leases()) {}
  bool Free(const std::string& name) {
    auto taken = store->TryAcquireLease(name, "probe", 1, kNow);
    BOOST_REQUIRE(taken.ok());
    if (*taken) BOOST_REQUIRE(store->ReleaseLease(name, "probe").ok());
    return *taken;
  }
  testing::EngineStore db;
  Leases* store;
};

using testing::kEngines;

pid_t ExitedChild() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

BOOST_AUTO_TEST_SUITE(leases)

BOOST_AUTO_TEST_CASE(new_owners_name_this_process_and_differ) {
  const std::string prefix = "pid:" + std::to_string(getpid()) + ":";
  const std::string a = NewLeaseOwner();
  const std::string b = NewLeaseOwner();
  BOOST_TEST(a.starts_with(prefix));
  BOOST_TEST(b.starts_with(prefix));
  BOOST_TEST(a != b);
  BOOST_TEST(a.ends_with("@" + ThisHost()));
  BOOST_TEST(!LeaseOwnerIsDead(a));
}

// On a shared database another machine's pid says nothing about our processes.
BOOST_AUTO_TEST_CASE(a_pid_of_another_machine_is_never_dead_here) {
  const std::string gone = "pid:" + std::to_string(ExitedChild()) + ":1";
  BOOST_TEST(LeaseOwnerIsDead(gone + "@" + ThisHost()));
  BOOST_TEST(!LeaseOwnerIsDead(gone + "@" + ThisHost() + "-other"));
  BOOST_TEST(!LeaseOwnerIsDead(gone + "@"));
}

// A killed child its parent has not reaped yet (supervisord may take a
// second) runs no more: its leases are free.
BOOST_AUTO_TEST_CASE(a_zombie_owner_is_dead) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  bool zombie = false;
  for (int i = 0; i < 200 && !zombie; ++i) {  // until the child has exited
    zombie = LeaseOwnerIsDead("pid:" + std::to_string(pid) + ":1");
    if (!zombie) usleep(5000);
  }
  BOOST_TEST(zombie);
  int status = 0;
  waitpid(pid, &status, 0);
}

BOOST_AUTO_TEST_CASE(only_a_pid_owner_whose_process_is_gone_is_dead) {
  BOOST_TEST(LeaseOwnerIsDead("pid:" + std::to_string(ExitedChild()) + ":1"));
  BOOST_TEST(!LeaseOwnerIsDead("pid:1:x"));  // init: alive (or not ours to signal)
  BOOST_TEST(!LeaseOwnerIsDead("worker"));
  BOOST_TEST(!LeaseOwnerIsDead("pid::1"));
  BOOST_TEST(!LeaseOwnerIsDead("pid:12a:1"));
  BOOST_TEST(!LeaseOwnerIsDead("pid:0:1"));
  BOOST_TEST(!LeaseOwnerIsDead("pid:1234567890:1"));  // more digits than a pid has
}

BOOST_DATA_TEST_CASE(a_scoped_lease_is_held_until_its_scope_ends, kEngines, engine) {
  LeaseFixture f(engine);
  {
    auto held = ScopedLease::TryAcquire(*f.store, "sync:x", kTtl, kNow);
    BOOST_REQUIRE(held.ok());
    BOOST_REQUIRE(held->has_value());
    BOOST_TEST((*held)->name() == "sync:x");
    auto second = ScopedLease::TryAcquire(*f.store, "sync:x", kTtl, kNow);
    BOOST_REQUIRE(second.ok());
    BOOST_TEST(!second->has_value());
    BOOST_TEST(!f.Free("sync:x"));
  }
  BOOST_TEST(f.Free("sync:x"));
}

BOOST_DATA_TEST_CASE(release_is_at_once_and_only_once, kEngines, engine) {
  LeaseFixture f(engine);
  auto held = ScopedLease::TryAcquire(*f.store, "sync:y", kTtl, kNow);
  BOOST_REQUIRE(held.ok() && held->has_value());
  ScopedLease lease = std::move(**held);
  held->reset();  // the moved-from lease releases nothing
  BOOST_TEST(!f.Free("sync:y"));
  BOOST_TEST(lease.Release().ok());
  BOOST_TEST(f.Free("sync:y"));
  // Someone else takes it; our second release must leave theirs alone.
  BOOST_REQUIRE(*f.store->TryAcquireLease("sync:y", "other", kTtl, kNow));
  BOOST_TEST(lease.Release().ok());
  BOOST_TEST(!f.Free("sync:y"));
}

BOOST_DATA_TEST_CASE(an_expired_lease_goes_to_the_next_asker, kEngines, engine) {
  LeaseFixture f(engine);
  BOOST_REQUIRE(*f.store->TryAcquireLease("refresh:j", "first", kTtl, kNow));
  BOOST_TEST(!*f.store->TryAcquireLease("refresh:j", "second", kTtl, kNow + kTtl - 1));
  BOOST_TEST(*f.store->TryAcquireLease("refresh:j", "second", kTtl, kNow + kTtl));
  BOOST_TEST(*f.store->TryAcquireLease("refresh:j", "second", kTtl, kNow + kTtl));  // its own
}

// A holder of this machine whose process is gone frees its lease at once; a
// holder of another machine keeps it until it expires, whatever its pid.
BOOST_DATA_TEST_CASE(a_dead_holder_frees_the_lease_only_on_its_own_machine, kEngines, engine) {
  LeaseFixture f(engine);
  const std::string gone = "pid:" + std::to_string(ExitedChild()) + ":1";
  BOOST_REQUIRE(*f.store->TryAcquireLease("sync:a", gone + "@" + ThisHost(), kTtl, kNow));
  BOOST_REQUIRE(*f.store->TryAcquireLease("sync:b", gone + "@elsewhere", kTtl, kNow));
  const std::string me = NewLeaseOwner();
  BOOST_TEST(*f.store->TryAcquireLease("sync:a", me, kTtl, kNow + 1));
  BOOST_TEST(!*f.store->TryAcquireLease("sync:b", me, kTtl, kNow + 1));
  BOOST_TEST(*f.store->TryAcquireLease("sync:b", me, kTtl, kNow + kTtl));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
