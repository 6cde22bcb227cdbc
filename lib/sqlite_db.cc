// The connection, its pragmas and locking, and the statement cache.
//
// Locking: every connection waits for locks up to kBusyTimeoutMs (BusyWait);
// any transaction that may write starts with BEGIN IMMEDIATE, because a
// deferred BEGIN that later writes fails at once with SQLITE_BUSY_SNAPSHOT
// when another process committed meanwhile, and the busy handler cannot help.
// Write transactions stay tiny and never span network I/O. Reads that need a
// consistent view (a page and its total) use a short deferred transaction,
// closed before returning, so WAL checkpoints are never starved.
//
// Migrations run in Open(): read user_version, and if it is behind, take the
// write lock (BEGIN IMMEDIATE), read it again (another process may have just
// migrated), apply the missing steps and set user_version, in one transaction.
#include "lib/sqlite_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "lib/private_files.h"
#include "lib/timestamp.h"

namespace jobpulse {

namespace {

constexpr int kBusyTimeoutMs = 5000;

// The worker restarts the WAL every 100 ms (Store::Checkpoint). SQLite's own
// checkpoint, inside whichever commit finds the log past this many pages, is
// then only the backstop for a stopped worker: at its default of 1000 pages a
// flood of webhooks crosses it every few milliseconds, and each handler commit
// past it paid for a checkpoint of a few pages with two fsyncs.
constexpr const char* kAutoCheckpointPragma = "PRAGMA wal_autocheckpoint=4000";
// A log that grew while the worker was away is cut back to 8 MiB when it restarts.
constexpr const char* kJournalSizeLimitPragma = "PRAGMA journal_size_limit=8388608";

// The busy handler: SQLite's own (busy_timeout) sleeps 1, 2, 5, 10 ... 100 ms
// between tries, so a writer that waits on another's transaction of a few
// hundred microseconds loses milliseconds, and under a flood of webhooks the
// handlers spent more time asleep than writing. This one sleeps 50 us at first,
// doubling up to 2 ms, and gives up after the connection's limit in all
// (kBusyTimeoutMs but while the worker's checkpoint waits). `state` is the
// connection's SqliteDb::BusyState; count 0 is a wait's first call.
int BusyWait(void* state, int count) {
  auto* const busy = static_cast<SqliteDb::BusyState*>(state);
  const int64_t now = NowMicros();
  if (count == 0) busy->since = now;
  if (now - busy->since >= busy->limit_us) return 0;
  const int64_t delay_us = std::min<int64_t>(int64_t{50} << std::min(count, 6), 2000);
  const timespec delay = {0, static_cast<long>(delay_us * 1000)};
  nanosleep(&delay, nullptr);
  return 1;
}

Status Unavailable(const std::string& path, const std::string& why) {
  // Retry-After: a missing disk or a read-only mount may come back (SPEC §9).
  return Status::Error(Status::Code::kUnavailable, "database_unavailable",
                       "cannot open database " + path + ": " + why)
      .set_retry_after_seconds(5);
}

}  // namespace

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::Bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void SqliteStatement::Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
void SqliteStatement::Bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
void SqliteStatement::BindNull(int i) { sqlite3_bind_null(stmt_, i); }

Result<bool> SqliteStatement::Step(const char* what) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, what);
}

Status SqliteStatement::Run(const char* what) {
  const int rc = sqlite3_step(stmt_);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::Ok() : db_->Error(rc, what);
}

bool SqliteStatement::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}
std::string SqliteStatement::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, sqlite3_column_bytes(stmt_, col)) : std::string();
}
int64_t SqliteStatement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double SqliteStatement::Real(int col) const { return sqlite3_column_double(stmt_, col); }
std::optional<std::string> SqliteStatement::OptText(int col) const {
  return IsNull(col) ? std::nullopt : std::optional<std::string>(Text(col));
}
std::optional<int64_t> SqliteStatement::OptInt(int col) const {
  return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int(col));
}
std::optional<double> SqliteStatement::OptReal(int col) const {
  return IsNull(col) ? std::nullopt : std::optional<double>(Real(col));
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void SqliteDb::Deleter::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

SqliteDb::SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

// The cached statements are finalized before the connection closes.
SqliteDb::~SqliteDb() { statements_.clear(); }

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                 std::span<const char* const> migrations) {
  // Memory statistics (on by default) take a global mutex around every SQLite
  // allocation, a cost on each inline-progress read (issue 14) for figures we
  // never read. Only possible before SQLite initialises; later it is a no-op.
  static const int kNoMemoryStatistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kNoMemoryStatistics;
  // Private before SQLite touches it: SQLite gives -wal and -shm the mode of
  // the database file (SPEC §11).
  if (Status s = EnsurePrivateDirectory(std::filesystem::path(path).parent_path().string());
      !s.ok()) {
    return Unavailable(path, s.message());
  }
  if (Status s = EnsurePrivateFile(path); !s.ok()) return Unavailable(path, s.message());
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw, path));
  if (rc != SQLITE_OK) return Unavailable(path, raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
  sqlite3_extended_result_codes(raw, 1);
  // SQLite quietly opens a file it may not write (a read-only mount) read-only,
  // and such a connection never becomes writable again: refuse it, so the
  // caller retries later with a fresh connection.
  if (sqlite3_db_readonly(raw, "main") == 1) return Unavailable(path, "the file is read-only");
  db->busy_.limit_us = int64_t{kBusyTimeoutMs} * 1000;
  sqlite3_busy_handler(raw, BusyWait, &db->busy_);
  if (Status s = db->SetPragmas(); !s.ok()) return Unavailable(path, s.message());
  if (Status s = db->Migrate(migrations); !s.ok()) return Unavailable(path, s.message());
  return db;
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::OpenReadOnly(const std::string& path) {
  sqlite3* raw = nullptr;
  // Without SQLITE_OPEN_CREATE a missing file fails here instead of becoming
  // an empty database; a WAL database is read with its -wal and -shm as the
  // live processes left them.
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw, path));
  if (rc != SQLITE_OK) return Unavailable(path, raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
  sqlite3_extended_result_codes(raw, 1);
  db->busy_.limit_us = int64_t{kBusyTimeoutMs} * 1000;
  sqlite3_busy_handler(raw, BusyWait, &db->busy_);
  return db;
}

Status SqliteDb::SetPragmas() {
  // journal_mode persists in the file; synchronous and foreign_keys are per connection.
  // Switching a new file to WAL upgrades the statement's own read lock to a write
  // lock, and when several processes open a new database together SQLite answers
  // SQLITE_BUSY at once for that upgrade, without calling the busy handler (which
  // could deadlock), so a busy answer is retried here for up to busy_timeout.
  const int64_t give_up = NowMicros() + int64_t{kBusyTimeoutMs} * 1000;
  // auto_vacuum only takes effect before the first table exists: new files
  // return the pages a pruned inbox frees (SPEC §7); older ones reuse them.
  for (const char* pragma :
       {"PRAGMA auto_vacuum=INCREMENTAL", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON", kAutoCheckpointPragma, kJournalSizeLimitPragma}) {
    Status s = Exec(pragma);
    while (s.code() == Status::Code::kBusy && NowMicros() < give_up) {
      sqlite3_sleep(10);
      s = Exec(pragma);
    }
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status SqliteDb::Error(int rc, const char* what) const {
  const int primary = rc & 0xff;
  std::string message = std::string(what) + ": " + sqlite3_errmsg(db_.get());
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Status::Error(Status::Code::kBusy, "database_busy",
                         "the database is busy, try again: " + message)
        .set_retry_after_seconds(1);
  }
  // A full disk, a read-only file system or a failing device: nothing the
  // caller did wrong, and it passes when the disk is back (SPEC §9).
  if (primary == SQLITE_FULL || primary == SQLITE_READONLY || primary == SQLITE_IOERR ||
      primary == SQLITE_CANTOPEN || primary == SQLITE_PERM) {
    return Status::Error(Status::Code::kUnavailable, "database_unavailable",
                         "the database cannot be written: " + message)
        .set_retry_after_seconds(5);
  }
  if (primary == SQLITE_CONSTRAINT) {
    return Status::Error(Status::Code::kConflict, "database_constraint", message);
  }
  return Status::Error(Status::Code::kInternal, "database_error", message);
}

Status SqliteDb::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc, sql);
}

Query SqliteDb::Prepare(std::string_view sql) {
  // A cached statement was reset when its last Query ended.
  if (auto it = statements_.find(sql); it != statements_.end()) return Query(it->second.get());
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) return Query(Error(rc, "prepare"));
  auto stmt = std::make_unique<SqliteStatement>(this, raw);
  SqliteStatement* const out = stmt.get();
  statements_.emplace(std::string(sql), std::move(stmt));
  return Query(out);
}

Result<int64_t> SqliteDb::QueryInt(std::string_view sql, const char* what) {
  Query q = Prepare(sql);
  if (!q.ok()) return q.status();
  auto row = q->Step(what);
  if (!row.ok()) return row.status();
  if (!*row) return Error(SQLITE_ERROR, what);
  return q->Int(0);
}

Status SqliteDb::Migrate(std::span<const char* const> migrations) {
  const int latest = static_cast<int>(migrations.size());
  auto version = QueryInt("PRAGMA user_version", "PRAGMA user_version");
  if (!version.ok() || *version == latest) return version.status();
  if (*version > latest) {
    return Status::Internal("schema version " + std::to_string(*version) +
                            " is newer than this binary supports (" + std::to_string(latest) + ")");
  }
  Transaction txn(*this, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  version = QueryInt("PRAGMA user_version", "PRAGMA user_version");
  if (!version.ok()) return version.status();
  for (int64_t step = *version; step < latest; ++step) {
    if (Status s = Exec(migrations[step]); !s.ok()) return s;
  }
  const std::string set_version = "PRAGMA user_version=" + std::to_string(latest);
  if (Status s = Exec(set_version.c_str()); !s.ok()) return s;
  return txn.Commit();
}

int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_.get()); }
int64_t SqliteDb::LastInsertId() const { return sqlite3_last_insert_rowid(db_.get()); }

Result<std::string> SqliteDb::ChangeVersion() {
  auto others = QueryInt("PRAGMA data_version", "data_version");
  if (!others.ok()) return others.status();
  return std::to_string(*others) + ":" +
         std::to_string(static_cast<int64_t>(sqlite3_total_changes64(db_.get())));
}

Result<SqliteDb::WalState> SqliteDb::Checkpoint(int max_wait_ms) {
  int frames = 0;
  int checkpointed = 0;
  // The busy handler gives up sooner for this call only: handlers' commits
  // wait while a RESTART checkpoint waits.
  const int64_t limit = busy_.limit_us;
  busy_.limit_us = int64_t{std::max(0, max_wait_ms)} * 1000;
  const int rc = sqlite3_wal_checkpoint_v2(db_.get(), "main", SQLITE_CHECKPOINT_RESTART, &frames,
                                           &checkpointed);
  busy_.limit_us = limit;
  if (rc != SQLITE_OK) return Error(rc, "checkpoint");
  return WalState{frames, checkpointed};
}

SqliteDb::Transaction::Transaction(SqliteDb& db, Mode mode)
    : db_(db),
      status_(db.Exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN")),
      open_(status_.ok()) {}

SqliteDb::Transaction::~Transaction() {
  // Never throws: a failed rollback leaves nothing to undo that SQLite would
  // not undo itself when the connection closes.
  if (open_) sqlite3_exec(db_.db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Status SqliteDb::Transaction::Commit() {
  Status s = db_.Exec("COMMIT");
  if (s.ok()) open_ = false;
  return s;
}

}  // namespace jobpulse
