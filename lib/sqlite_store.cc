// Opening the SQLite store, its health probes and checkpoints, and the two
// small tables that are a statement each: leases and service state.
#include "lib/sqlite_store.h"

#include <sys/statvfs.h>

#include <filesystem>

namespace jobpulse {

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  auto store = SqliteStore::Open(path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(store).value());
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  auto db = SqliteDb::Open(path, SqliteMigrations());
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db).value()));
}

Status SqliteStore::Ping() {
  return db_->QueryInt("SELECT count(*) FROM sqlite_schema", "ping").status();
}

Result<int64_t> SqliteStore::FreeDiskBytes() {
  const std::filesystem::path parent = std::filesystem::path(path()).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  struct statvfs fs;
  if (::statvfs(dir.c_str(), &fs) != 0) {
    return Status::Error(Status::Code::kUnavailable, "database_unavailable",
                         "cannot inspect the file system of " + path());
  }
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

Result<std::string> SqliteStore::ChangeVersion() { return db_->ChangeVersion(); }

Result<Store::WalState> SqliteStore::Checkpoint(int max_wait_ms) {
  auto wal = db_->Checkpoint(max_wait_ms);
  if (!wal.ok()) return wal.status();
  return WalState{wal->frames, wal->checkpointed};
}

Result<bool> SqliteStore::TryAcquireLease(std::string_view name, std::string_view owner,
                                          int64_t ttl_micros, int64_t now) {
  {
    // One statement, so taking a free or expired lease is atomic without an
    // explicit transaction.
    Query q = db_->Prepare(
        "INSERT INTO leases (name, owner, expires_at) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
        "WHERE leases.expires_at <= ?4 OR leases.owner = excluded.owner");
    if (!q.ok()) return q.status();
    q->Bind(1, name);
    q->Bind(2, owner);
    q->Bind(3, now + ttl_micros);
    q->Bind(4, now);
    if (Status s = q->Run("acquire lease"); !s.ok()) return s;
  }
  if (db_->Changes() == 1) return true;
  return TakeLeaseOfDeadOwner(name, owner, ttl_micros, now);
}

Result<bool> SqliteStore::TakeLeaseOfDeadOwner(std::string_view name, std::string_view owner,
                                               int64_t ttl_micros, int64_t now) {
  std::string holder;
  {
    Query read = db_->Prepare("SELECT owner FROM leases WHERE name = ?1");
    if (!read.ok()) return read.status();
    read->Bind(1, name);
    auto row = read->Step("read lease");
    if (!row.ok()) return row.status();
    if (*row) holder = read->Text(0);
  }
  if (holder.empty() || !LeaseOwnerIsDead(holder)) return false;
  // Compare-and-set on the dead holder: two callers racing for it get one win.
  Query take =
      db_->Prepare("UPDATE leases SET owner = ?2, expires_at = ?3 WHERE name = ?1 AND owner = ?4");
  if (!take.ok()) return take.status();
  take->Bind(1, name);
  take->Bind(2, owner);
  take->Bind(3, now + ttl_micros);
  take->Bind(4, holder);
  if (Status s = take->Run("take lease"); !s.ok()) return s;
  return db_->Changes() == 1;
}

Status SqliteStore::ReleaseLease(std::string_view name, std::string_view owner) {
  Query q = db_->Prepare("DELETE FROM leases WHERE name = ?1 AND owner = ?2");
  if (!q.ok()) return q.status();
  q->Bind(1, name);
  q->Bind(2, owner);
  return q->Run("release lease");
}

Status SqliteStore::PutServiceState(std::string_view name, std::string_view value, int64_t now) {
  Query q = db_->Prepare(
      "INSERT INTO service_state (name, value, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at");
  if (!q.ok()) return q.status();
  q->Bind(1, name);
  q->Bind(2, value);
  q->Bind(3, now);
  return q->Run("write service state");
}

Result<std::optional<ServiceStateStore::Entry>> SqliteStore::GetServiceState(
    std::string_view name) {
  Query q = db_->Prepare("SELECT value, updated_at FROM service_state WHERE name = ?1");
  if (!q.ok()) return q.status();
  q->Bind(1, name);
  auto row = q->Step("read service state");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Entry>();
  return std::optional<Entry>(Entry{q->Text(0), q->Int(1)});
}

}  // namespace jobpulse
