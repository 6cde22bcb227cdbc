// BackupDatabase and RestoreDatabase (lib/backup.h) over SQLite's online
// backup API. Why it is shaped so:
//  - One sqlite3_backup_step(-1): a step-by-step copy restarts whenever
//    another connection writes between steps, which under a steady write load
//    never finishes; one step is one read snapshot and holds no writer up.
//  - The restore proves nobody else has the database open by taking an
//    EXCLUSIVE lock with exclusive locking mode: an open WAL connection, even
//    an idle one, keeps that lock from being granted.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "lib/backup.h"
#include "lib/private_files.h"
#include "lib/sqlite_store.h"

namespace jobpulse {

namespace {

constexpr int kBusyTimeoutMs = 5000;

struct CloseConnection {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, CloseConnection>;

// The backup handle; finishing it releases both connections' locks.
struct FinishBackup {
  void operator()(sqlite3_backup* b) const { sqlite3_backup_finish(b); }
};
using BackupHandle = std::unique_ptr<sqlite3_backup, FinishBackup>;

Status Failed(Status::Code code, const char* error, const std::string& what, sqlite3* db) {
  return Status::Error(code, error, what + (db ? std::string(": ") + sqlite3_errmsg(db) : ""));
}

Result<Connection> OpenConnection(const std::string& path, int flags, const char* error) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) {
    return Failed(Status::Code::kUnavailable, error, "cannot open " + path, db.get());
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  return db;
}

// The first column of a one-row query as text; "" on any failure.
std::string QueryText(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return "";
  std::string out;
  if (sqlite3_step(raw) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
    if (text) out = text;
  }
  sqlite3_finalize(raw);
  return out;
}

// Copies every page of `from` into `to` in one step.
Status CopyPages(sqlite3* from, sqlite3* to, const char* error, const std::string& what) {
  BackupHandle backup(sqlite3_backup_init(to, "main", from, "main"));
  if (!backup) return Failed(Status::Code::kUnavailable, error, what, to);
  const int rc = sqlite3_backup_step(backup.get(), -1);
  if (rc != SQLITE_DONE) {
    return Status::Error(Status::Code::kUnavailable, error, what + ": " + sqlite3_errstr(rc));
  }
  return Status::Ok();
}

// The copy's figures; kInternal when it is not sound.
Result<BackupReport> Check(sqlite3* db, const std::string& path, const char* error) {
  const std::string integrity = QueryText(db, "PRAGMA integrity_check");
  if (integrity != "ok") {
    return Status::Error(Status::Code::kInternal, error,
                         path + " fails its integrity check: " + integrity);
  }
  BackupReport report;
  report.schema_version = std::atoi(QueryText(db, "PRAGMA user_version").c_str());
  report.jobs = std::atoll(QueryText(db, "SELECT count(*) FROM jobs").c_str());
  report.events = std::atoll(QueryText(db, "SELECT count(*) FROM events").c_str());
  if (report.schema_version >= 7) {
    report.queue_entries = std::atoll(QueryText(db, "SELECT count(*) FROM queue").c_str());
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) report.bytes = st.st_size;
  return report;
}

Status SyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Ok();  // a directory we cannot open: nothing to sync
  ::fsync(fd);
  ::close(fd);
  return Status::Ok();
}

}  // namespace

Result<BackupReport> BackupDatabase(const std::string& db_path, const std::string& backup_path) {
  constexpr const char* kError = "backup_failed";
  struct stat st {};
  if (::stat(db_path.c_str(), &st) != 0) {
    return Status::Error(Status::Code::kUnavailable, kError,
                         "no database at " + db_path + ": " + std::strerror(errno));
  }
  auto source = OpenConnection(db_path, SQLITE_OPEN_READWRITE, kError);
  if (!source.ok()) return source.status();
  const std::string temp = backup_path + ".tmp";
  ::unlink(temp.c_str());
  // Created 0600 before SQLite writes a byte of it.
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::Error(Status::Code::kUnavailable, kError,
                         "cannot create " + temp + ": " + std::strerror(errno));
  }
  ::close(fd);
  Result<BackupReport> report = Status::Internal("unreached");
  {
    auto copy = OpenConnection(temp, SQLITE_OPEN_READWRITE, kError);
    if (!copy.ok()) {
      ::unlink(temp.c_str());
      return copy.status();
    }
    Status copied = CopyPages(source->get(), copy->get(), kError, "backup of " + db_path);
    // One self-contained file: the pages carry the source's WAL mode, which
    // would leave -wal and -shm files beside the copy whenever it is read.
    if (copied.ok() && sqlite3_exec(copy->get(), "PRAGMA journal_mode=DELETE", nullptr, nullptr,
                                    nullptr) != SQLITE_OK) {
      copied = Failed(Status::Code::kUnavailable, kError, "backup of " + db_path, copy->get());
    }
    report = copied.ok() ? Check(copy->get(), temp, kError) : Result<BackupReport>(copied);
  }
  if (!report.ok()) {
    ::unlink(temp.c_str());
    return report.status();
  }
  SyncFile(temp);
  if (::rename(temp.c_str(), backup_path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temp.c_str());
    return Status::Error(Status::Code::kUnavailable, kError,
                         "cannot rename " + temp + " to " + backup_path + ": " + why);
  }
  const size_t slash = backup_path.rfind('/');
  SyncFile(slash == std::string::npos ? "." : backup_path.substr(0, slash == 0 ? 1 : slash));
  return report;
}

Result<BackupReport> RestoreDatabase(const std::string& backup_path, const std::string& db_path) {
  constexpr const char* kError = "restore_failed";
  auto copy = OpenConnection(backup_path, SQLITE_OPEN_READONLY, "invalid_backup");
  if (!copy.ok()) return copy.status();
  auto checked = Check(copy->get(), backup_path, "invalid_backup");
  if (!checked.ok()) {
    return Status::Error(Status::Code::kInvalidArgument, "invalid_backup",
                         checked.status().message());
  }
  if (checked->schema_version < 1 || checked->schema_version > SqliteStore::kSchemaVersion) {
    return Status::Error(Status::Code::kInvalidArgument, "invalid_backup",
                         backup_path + " has schema version " +
                             std::to_string(checked->schema_version) + "; this binary reads 1 to " +
                             std::to_string(SqliteStore::kSchemaVersion));
  }
  const size_t slash = db_path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (Status s = EnsurePrivateDirectory(db_path.substr(0, slash)); !s.ok()) return s;
  }
  auto target = OpenConnection(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, kError);
  if (!target.ok()) return target.status();
  sqlite3_busy_timeout(target->get(), 0);
  char* message = nullptr;
  const int rc = sqlite3_exec(target->get(), "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;",
                              nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) {
    return Status::Error(Status::Code::kConflict, "database_in_use",
                         db_path +
                             " is open in another process (a running worker or handler); "
                             "stop the service before restoring");
  }
  sqlite3_exec(target->get(), "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_busy_timeout(target->get(), kBusyTimeoutMs);
  if (Status s = CopyPages(copy->get(), target->get(), kError, "restore of " + db_path); !s.ok()) {
    return s;
  }
  sqlite3_exec(target->get(), "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  auto report = Check(target->get(), db_path, kError);
  if (Status s = EnsurePrivateFile(db_path); !s.ok()) return s;
  return report;
}

}  // namespace jobpulse
