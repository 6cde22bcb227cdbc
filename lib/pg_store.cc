// Opening the PostgreSQL store, and its small tables: service state, leases,
// counters. The statements mirror the SQLite engine's (lib/sqlite_store.cc,
// lib/sqlite_counters.cc) in PostgreSQL's dialect.
#include "lib/pg_store.h"

#include "lib/pg_schema.h"

namespace jobpulse {
namespace {

std::string Param(std::string_view text) { return std::string(text); }
std::string Param(int64_t value) { return std::to_string(value); }

}  // namespace

Result<std::unique_ptr<PgStore>> PgStore::Open(const std::string& conninfo,
                                               const std::string& local_path) {
  auto db = PgConnection::Connect(conninfo);
  if (!db.ok()) return db.status();
  if (Status s = MigratePg(**db); !s.ok()) return s;
  return std::unique_ptr<PgStore>(new PgStore(std::move(*db), conninfo, local_path));
}

Status PgStore::Ping() { return db_->Query("SELECT 1", {}, "ping").status(); }

Result<int64_t> PgStore::FreeDiskBytes() {
  return Status::Error(Status::Code::kUnavailable, "not_applicable",
                       "the database's disk is the PostgreSQL server's");
}

Result<std::string> PgStore::ChangeVersion() {
  auto rows = db_->Query("SELECT pg_current_wal_lsn()::text", {}, "read the change version");
  if (!rows.ok()) return rows.status();
  return rows->Text(0, 0);
}

Result<Store::WalState> PgStore::Checkpoint(int) { return WalState{}; }

Status PgStore::PutServiceState(std::string_view name, std::string_view value, int64_t now) {
  return db_
      ->Query(
          "INSERT INTO service_state (name, value, updated_at) VALUES ($1, $2, $3) "
          "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
          "updated_at = excluded.updated_at",
          {Param(name), Param(value), Param(now)}, "write service state")
      .status();
}

Result<std::optional<ServiceStateStore::Entry>> PgStore::GetServiceState(std::string_view name) {
  auto rows = db_->Query("SELECT value, updated_at FROM service_state WHERE name = $1",
                         {Param(name)}, "read service state");
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return std::optional<Entry>();
  return std::optional<Entry>(Entry{rows->Text(0, 0), rows->Int(0, 1)});
}

Result<bool> PgStore::TryAcquireLease(std::string_view name, std::string_view owner,
                                      int64_t ttl_micros, int64_t now) {
  // One statement: taking a free or expired lease is atomic; a held one is
  // left alone (the WHERE of DO UPDATE fails, nothing changes).
  auto taken = db_->Query(
      "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3) "
      "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
      "WHERE leases.expires_at <= $4 OR leases.owner = excluded.owner",
      {Param(name), Param(owner), Param(now + ttl_micros), Param(now)}, "acquire lease");
  if (!taken.ok()) return taken.status();
  if (taken->affected() == 1) return true;
  return TakeLeaseOfDeadOwner(name, owner, ttl_micros, now);
}

Result<bool> PgStore::TakeLeaseOfDeadOwner(std::string_view name, std::string_view owner,
                                           int64_t ttl_micros, int64_t now) {
  auto holder = db_->Query("SELECT owner FROM leases WHERE name = $1", {Param(name)}, "read lease");
  if (!holder.ok()) return holder.status();
  if (holder->size() == 0 || !LeaseOwnerIsDead(holder->Text(0, 0))) return false;
  // Compare-and-set on the dead holder: two callers racing for it get one win.
  auto taken = db_->Query(
      "UPDATE leases SET owner = $2, expires_at = $3 WHERE name = $1 AND owner = $4",
      {Param(name), Param(owner), Param(now + ttl_micros), holder->Text(0, 0)}, "take lease");
  if (!taken.ok()) return taken.status();
  return taken->affected() == 1;
}

Status PgStore::ReleaseLease(std::string_view name, std::string_view owner) {
  return db_
      ->Query("DELETE FROM leases WHERE name = $1 AND owner = $2", {Param(name), Param(owner)},
              "release lease")
      .status();
}

Status PgStore::AddCounters(const std::vector<CounterValue>& deltas, int64_t now) {
  if (deltas.empty()) return Status::Ok();
  PgConnection::Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  for (const CounterValue& delta : deltas) {
    auto added = db_->Query(
        "INSERT INTO counters (name, labels, value, updated_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (name, labels) DO UPDATE SET value = counters.value + excluded.value, "
        "updated_at = excluded.updated_at",
        {delta.name, delta.labels, PgDouble(delta.value), Param(now)}, "add counters");
    if (!added.ok()) return added.status();
  }
  return txn.Commit();
}

Result<std::vector<CounterValue>> PgStore::ReadCounters() {
  // COLLATE "C": the byte order SQLite sorts in, whatever the database's locale.
  auto rows = db_->Query(
      "SELECT name, labels, value FROM counters ORDER BY name COLLATE \"C\", labels COLLATE \"C\"",
      {}, "read counters");
  if (!rows.ok()) return rows.status();
  std::vector<CounterValue> out;
  out.reserve(static_cast<size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back({rows->Text(i, 0), rows->Text(i, 1), rows->Real(i, 2)});
  }
  return out;
}

}  // namespace jobpulse
