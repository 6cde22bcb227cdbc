// Unit tests for lib/store.h's wake-ups and leadership (issue 12): the
// PostgreSQL feeds wake on their channels' writes only, and from any
// connection; the leadership is one connection's at a time and passes on when
// that connection ends, or its session does; SQLite has no feed and always
// leads.
#include <poll.h>

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>

#include "lib/pg_db.h"
#include "lib/pg_store.h"
#include "tests/engine_fixture.h"
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

std::unique_ptr<PgStore> MustOpenPg(const std::string& conninfo) {
  auto opened = PgStore::Open(conninfo);
  BOOST_TEST_REQUIRE(opened.ok(), opened.status().ToString());
  return std::move(*opened);
}

std::unique_ptr<ChangeFeed> MustListen(Store& store, WakeChannel channel) {
  auto feed = store.Listen(channel);
  BOOST_TEST_REQUIRE(feed.ok(), feed.status().ToString());
  BOOST_TEST_REQUIRE(feed->get() != nullptr);
  return std::move(*feed);
}

// Whether `feed` announces something within `wait_ms`: its socket becomes
// readable and Drain() finds a notification.
bool Woke(ChangeFeed& feed, int wait_ms) {
  pollfd fd{feed.fd(), POLLIN, 0};
  if (::poll(&fd, 1, wait_ms) <= 0) return false;
  auto arrived = feed.Drain();
  BOOST_TEST_REQUIRE(arrived.ok(), arrived.status().ToString());
  return *arrived;
}

bool MustLead(Store& store) {
  auto leads = store.TryLead();
  BOOST_TEST_REQUIRE(leads.ok(), leads.status().ToString());
  return *leads;
}

constexpr int kWakeMs = 2000;  // a notification arrives within this
constexpr int kQuietMs = 150;  // and none within this when none is due

BOOST_AUTO_TEST_SUITE(store_wakeups)

BOOST_FIXTURE_TEST_CASE(postgresql_feeds_wake_on_their_channels_only, StoreFixture) {
  const std::string db = testing::FreshPgDatabase();
  auto listener = MustOpenPg(db);
  auto writer = MustOpenPg(db);
  auto events = MustListen(*listener, WakeChannel::kEvents);
  auto work = MustListen(*listener, WakeChannel::kWork);
  BOOST_TEST(!Woke(*events, kQuietMs));
  BOOST_TEST(!Woke(*work, kQuietMs));

  // A job written by the merge appends its event: events only.
  const std::string job_id =
      MustApply(*writer, ProviderObs("ext-1", "processing"), kNow).job.job_id;
  BOOST_TEST(Woke(*events, kWakeMs));
  BOOST_TEST(!Woke(*work, kQuietMs));

  // Someone watching it, a delivery, a handler's request for a queue pass: work.
  BOOST_TEST_REQUIRE(writer->RecordProgressDemand(job_id, kNow + 1).ok());
  BOOST_TEST(Woke(*work, kWakeMs));
  auto stored = writer->InsertDelivery("msg_1", "replicate", "{}", kNow);
  BOOST_TEST_REQUIRE(stored.ok());
  BOOST_TEST(Woke(*work, kWakeMs));
  BOOST_TEST_REQUIRE(writer->PutServiceState("queue_pass_request", "1", kNow).ok());
  BOOST_TEST(Woke(*work, kWakeMs));
  BOOST_TEST(!Woke(*events, kQuietMs));

  // Other service state (the heartbeat) wakes nobody.
  BOOST_TEST_REQUIRE(writer->PutServiceState("worker_heartbeat", "x", kNow).ok());
  BOOST_TEST(!Woke(*work, kQuietMs));
  BOOST_TEST(!Woke(*events, kQuietMs));
}

BOOST_AUTO_TEST_CASE(sqlite_has_no_feed_and_every_connection_leads) {
  StoreFixture fixture;
  auto first = fixture.OpenStore();
  auto second = fixture.OpenStore();
  auto feed = first->Listen(WakeChannel::kEvents);
  BOOST_TEST_REQUIRE(feed.ok());
  BOOST_TEST(feed->get() == nullptr);
  BOOST_TEST(MustLead(*first));
  BOOST_TEST(MustLead(*second));
  BOOST_TEST(MustLead(*first));
  BOOST_TEST(std::string(first->engine()) == "sqlite");
}

BOOST_AUTO_TEST_CASE(postgresql_leadership_is_one_connection_s_and_passes_when_it_closes) {
  const std::string db = testing::FreshPgDatabase();
  auto first = MustOpenPg(db);
  auto second = MustOpenPg(db);
  BOOST_TEST(std::string(first->engine()) == "postgresql");
  BOOST_TEST(MustLead(*first));
  BOOST_TEST(!MustLead(*second));
  BOOST_TEST(MustLead(*first));  // kept
  BOOST_TEST(!MustLead(*second));

  first.reset();  // the leader's connection closes (as a dead process's does)
  bool taken = false;
  for (int attempt = 0; attempt < 100 && !taken; ++attempt) {
    taken = MustLead(*second);
    if (!taken) ::poll(nullptr, 0, 20);
  }
  BOOST_TEST(taken);
  auto third = MustOpenPg(db);
  BOOST_TEST(!MustLead(*third));
}

BOOST_AUTO_TEST_CASE(a_leader_whose_session_ends_reconnects_as_a_follower) {
  const std::string db = testing::FreshPgDatabase();
  auto leader = MustOpenPg(db);
  auto other = MustOpenPg(db);
  BOOST_TEST_REQUIRE(MustLead(*leader));
  BOOST_TEST_REQUIRE(!MustLead(*other));

  // The server ends the leader's session (an administrator, a failover).
  auto admin = PgConnection::Connect(db);
  BOOST_TEST_REQUIRE(admin.ok());
  auto ended = (*admin)->Query(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
      "AND pid <> pg_backend_pid() AND pid <> ALL($1::int[])",
      {"{0}"}, "list sessions");
  BOOST_TEST_REQUIRE(ended.ok());
  BOOST_TEST_REQUIRE(ended->Int(0, 0) == 2);
  // Both sessions but ours end; then `other` reconnects and leads.
  BOOST_TEST_REQUIRE((*admin)
                         ->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()",
                                "end the sessions")
                         .ok());
  // The leader learns of it at its next statement: an error, not a lead.
  auto lost = leader->TryLead();
  BOOST_TEST(!(lost.ok() && *lost));
  bool other_leads = false;
  for (int attempt = 0; attempt < 5 && !other_leads; ++attempt) {
    auto leads = other->TryLead();  // its first statement finds the break too
    other_leads = leads.ok() && *leads;
  }
  BOOST_TEST(other_leads);
  // The old leader works again, on a new session, as a follower.
  BOOST_TEST(leader->Ping().ok());
  BOOST_TEST(!MustLead(*leader));
  BOOST_TEST(MustLead(*other));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
