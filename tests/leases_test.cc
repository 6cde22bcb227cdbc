// Unit tests for lib/leases.h: owners, the dead-owner rule and the scoped
// lease, against the SQLite store.
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

namespace jobpulse {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = int64_t{1795860000} * 1000000;
constexpr int64_t kTtl = 60 * int64_t{1000000};

struct LeaseFixture {
  LeaseFixture() {
    std::string pattern = (fs::temp_directory_path() / "jobpulse_leases_test.XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    auto opened = Store::Open((dir / "jobs.db").string());
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    store = std::move(opened).value();
  }
  ~LeaseFixture() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  bool Free(const std::string& name) {
    auto taken = store->TryAcquireLease(name, "probe", 1, kNow);
    BOOST_REQUIRE(taken.ok());
    if (*taken) BOOST_REQUIRE(store->ReleaseLease(name, "probe").ok());
    return *taken;
  }
  fs::path dir;
  std::unique_ptr<Store> store;
};

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
  BOOST_TEST(!LeaseOwnerIsDead(a));
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

BOOST_FIXTURE_TEST_CASE(a_scoped_lease_is_held_until_its_scope_ends, LeaseFixture) {
  {
    auto held = ScopedLease::TryAcquire(*store, "sync:x", kTtl, kNow);
    BOOST_REQUIRE(held.ok());
    BOOST_REQUIRE(held->has_value());
    BOOST_TEST((*held)->name() == "sync:x");
    auto second = ScopedLease::TryAcquire(*store, "sync:x", kTtl, kNow);
    BOOST_REQUIRE(second.ok());
    BOOST_TEST(!second->has_value());
    BOOST_TEST(!Free("sync:x"));
  }
  BOOST_TEST(Free("sync:x"));
}

BOOST_FIXTURE_TEST_CASE(release_is_at_once_and_only_once, LeaseFixture) {
  auto held = ScopedLease::TryAcquire(*store, "sync:y", kTtl, kNow);
  BOOST_REQUIRE(held.ok() && held->has_value());
  ScopedLease lease = std::move(**held);
  held->reset();  // the moved-from lease releases nothing
  BOOST_TEST(!Free("sync:y"));
  BOOST_TEST(lease.Release().ok());
  BOOST_TEST(Free("sync:y"));
  // Someone else takes it; our second release must leave theirs alone.
  BOOST_REQUIRE(*store->TryAcquireLease("sync:y", "other", kTtl, kNow));
  BOOST_TEST(lease.Release().ok());
  BOOST_TEST(!Free("sync:y"));
}

BOOST_FIXTURE_TEST_CASE(an_expired_lease_goes_to_the_next_asker, LeaseFixture) {
  BOOST_REQUIRE(*store->TryAcquireLease("refresh:j", "first", kTtl, kNow));
  BOOST_TEST(!*store->TryAcquireLease("refresh:j", "second", kTtl, kNow + kTtl - 1));
  BOOST_TEST(*store->TryAcquireLease("refresh:j", "second", kTtl, kNow + kTtl));
  BOOST_TEST(*store->TryAcquireLease("refresh:j", "second", kTtl, kNow + kTtl));  // its own
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
