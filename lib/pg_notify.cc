// Wake-ups and leadership on PostgreSQL (issue 12).
//
// Wake-ups: the schema's triggers (pg_schema.cc, version 2) call pg_notify
// when events, deliveries, submissions and demand are written; PostgreSQL
// delivers a notification at commit to every session LISTENing on its
// channel, on every machine, and folds repeats within one transaction into
// one. A feed LISTENs on a connection of its own so that it never sits
// behind the store's statements, and its socket can be polled as it is.
//
// Leadership: a session advisory lock. The server frees it the moment the
// holder's session ends, which a dead process's closed socket ends at once,
// so a kill -9 of the leader hands over at the next worker's TryLead; a
// lease row would wait out its time to live.
#include "lib/pg_store.h"

namespace jobpulse {
namespace {

const char* ChannelName(WakeChannel channel) {
  return channel == WakeChannel::kEvents ? "jobpulse_events" : "jobpulse_work";
}

class PgChangeFeed final : public ChangeFeed {
 public:
  explicit PgChangeFeed(std::unique_ptr<PgConnection> db) : db_(std::move(db)) {}
  int fd() const override { return db_->socket(); }
  Result<bool> Drain() override {
    auto count = db_->TakeNotifications();
    if (!count.ok()) return count.status();
    return *count > 0;
  }

 private:
  std::unique_ptr<PgConnection> db_;
};

}  // namespace

Result<std::unique_ptr<ChangeFeed>> PgStore::Listen(WakeChannel channel) {
  auto db = PgConnection::Connect(conninfo_);
  if (!db.ok()) return db.status();
  if (Status s = (*db)->Listen(ChannelName(channel)); !s.ok()) return s;
  return std::unique_ptr<ChangeFeed>(new PgChangeFeed(std::move(*db)));
}

Result<bool> PgStore::TryLead() {
  if (leading_session_ != 0 && leading_session_ == db_->session()) {
    // Held since it was taken, unless the session broke: a cheap statement
    // proves it did not (a broken one reconnects on the next, without it).
    auto alive = db_->Query("SELECT 1", {}, "check the leadership's session");
    if (alive.ok() && leading_session_ == db_->session()) return true;
    leading_session_ = 0;
    if (!alive.ok()) return alive.status();
  }
  auto taken = db_->Query("SELECT pg_try_advisory_lock($1)", {std::to_string(kLeaderLockKey)},
                          "try the leadership");
  if (!taken.ok()) return taken.status();
  if (taken->Text(0, 0) != "t") return false;
  leading_session_ = db_->session();
  return true;
}

}  // namespace jobpulse
