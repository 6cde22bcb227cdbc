// The SQLite layer under the store: one connection, its cached statements, its
// transactions. Only the SQLite store's sources include this header (callers
// see lib/store.h), and it keeps sqlite3.h out: statements bind and read
// plain C++ values and report failures as Status.
//
// Open() sets WAL, synchronous=NORMAL, incremental auto_vacuum (new files),
// a large auto-checkpoint threshold and a 5 s wait for locks, then brings the
// schema up to the given migrations (PRAGMA user_version).
//
// Errors (SqliteDb::Error): a lock still held after the wait is kBusy
// "database_busy" (retry later); a full disk, a read-only file system or an
// I/O error is kUnavailable "database_unavailable"; a constraint violation is
// kConflict "database_constraint"; anything else kInternal "database_error"
// with SQLite's message.
//
// Thread-safety: an SqliteDb is one connection; use it from one thread at a time.
#ifndef JOBPULSE_LIB_SQLITE_DB_H_
#define JOBPULSE_LIB_SQLITE_DB_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "lib/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace jobpulse {

class SqliteDb;

// A prepared statement in its connection's cache. Bindings are 1-based as in
// SQLite, columns 0-based. Obtained through SqliteDb::Prepare as a Query.
class SqliteStatement {
 public:
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void Bind(int i, std::string_view v);
  void Bind(int i, const char* v) { Bind(i, std::string_view(v)); }
  void Bind(int i, const std::string& v) { Bind(i, std::string_view(v)); }
  void Bind(int i, int64_t v);
  void Bind(int i, int v) { Bind(i, static_cast<int64_t>(v)); }
  void Bind(int i, double v);
  void BindNull(int i);
  template <typename T>
  void Bind(int i, const std::optional<T>& v) {
    if (v) {
      Bind(i, *v);
    } else {
      BindNull(i);
    }
  }

  // Steps once: true at a row, false when the statement is done. `what`
  // names the step in the error.
  Result<bool> Step(const char* what);
  // Steps a statement that returns no rows (an INSERT, UPDATE, DELETE).
  Status Run(const char* what);

  bool IsNull(int col) const;
  std::string Text(int col) const;
  int64_t Int(int col) const;
  double Real(int col) const;
  std::optional<std::string> OptText(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  std::optional<double> OptReal(int col) const;

  // Back to the start with no bindings; releases the statement's read lock.
  void Reset();

 private:
  SqliteDb* db_;
  sqlite3_stmt* stmt_;
};

// A cached statement in use, or why preparing it failed (check ok() first).
// Resets the statement when it goes out of scope, which also releases its
// snapshot: a statement left mid-way would keep WAL checkpoints from
// finishing. Not copyable, not movable: a scope owns it.
class Query {
 public:
  explicit Query(SqliteStatement* stmt) : stmt_(stmt) {}
  explicit Query(Status status) : stmt_(nullptr), status_(std::move(status)) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query() {
    if (stmt_) stmt_->Reset();
  }
  bool ok() const { return stmt_ != nullptr; }
  const Status& status() const { return status_; }
  SqliteStatement* operator->() const { return stmt_; }
  SqliteStatement& operator*() const { return *stmt_; }

 private:
  SqliteStatement* stmt_;
  Status status_;
};

class SqliteDb {
 public:
  // Opens (the file and its parent directory made private first, created if
  // missing), sets the pragmas and applies `migrations[user_version..]` in one
  // BEGIN IMMEDIATE transaction. Errors: kUnavailable "database_unavailable"
  // naming the path and the cause (retry later: the disk may come back).
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                std::span<const char* const> migrations);
  // Opens an existing database for reading only: nothing is created (a
  // missing file is an error), no pragma is set, no migration runs, and
  // every write fails. For tools that must leave a database as they found it
  // (lib/pg_migrate.h). Errors: as Open()'s.
  static Result<std::unique_ptr<SqliteDb>> OpenReadOnly(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  const std::string& path() const { return path_; }

  // Runs SQL that returns no rows (a pragma, BEGIN, a migration).
  Status Exec(const char* sql);
  // The cached statement for `sql`, prepared on first use. The statement
  // must not be in use by another live Query.
  Query Prepare(std::string_view sql);
  // The one integer a one-row query returns; `what` names it in errors.
  Result<int64_t> QueryInt(std::string_view sql, const char* what);

  // Rows the last INSERT/UPDATE/DELETE changed; the rowid the last INSERT made.
  int64_t Changes() const;
  int64_t LastInsertId() const;
  // Changes whenever the database may have changed, by any process (PRAGMA
  // data_version for others' commits, total_changes for this connection's).
  Result<std::string> ChangeVersion();

  // A RESTART checkpoint waiting at most `max_wait_ms` (see Store::Checkpoint).
  struct WalState {
    int64_t frames = 0;
    int64_t checkpointed = 0;
  };
  Result<WalState> Checkpoint(int max_wait_ms);

  // The Status for SQLite result code `rc` (see the header comment).
  Status Error(int rc, const char* what) const;

  // Begins in its constructor (IMMEDIATE takes the write lock at once, so a
  // writer never fails half-way on a lock upgrade; DEFERRED is a read
  // snapshot) and rolls back in its destructor unless committed. status() is
  // BEGIN's outcome: check it before anything else.
  class Transaction {
   public:
    enum class Mode { kImmediate, kDeferred };
    Transaction(SqliteDb& db, Mode mode);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    const Status& status() const { return status_; }
    Status Commit();

   private:
    SqliteDb& db_;
    Status status_;
    bool open_;
  };

  // The busy handler's state: when the current wait began, how long at most.
  struct BusyState {
    int64_t since = 0;
    int64_t limit_us = 0;
  };

 private:
  SqliteDb(sqlite3* db, std::string path);
  Status SetPragmas();
  Status Migrate(std::span<const char* const> migrations);

  struct Deleter {
    void operator()(sqlite3* db) const;
  };
  std::unique_ptr<sqlite3, Deleter> db_;
  std::string path_;
  BusyState busy_;
  // Hashed, and looked up by string_view: an ordered map compared the long
  // shared prefixes of the SQL texts ("SELECT job_id, ...") at every level,
  // an eighth of an inline-progress request's instructions.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>, SqlHash, std::equal_to<>>
      statements_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_SQLITE_DB_H_
