// The store's schema, migrations and locking.
//
// Size: over 500 lines because it holds every table's statements (jobs and
// the merge's write, events, leases, the webhook inbox, service state,
// metrics) besides the SQLite wrappers. Issue 10 (the module split, next
// after the benchmark issue) splits it by table behind per-concern headers,
// which the PostgreSQL engine of issue 12 then implements a second time.
//
// Schema (PRAGMA user_version = 4), all STRICT tables:
//   jobs           one row per job. Timestamps are INTEGER microseconds since the
//                  epoch (they sort and subtract cheaply; the API renders RFC 3339).
//                  metadata is a JSON object of strings. stage/progress/last_log
//                  are derived from logs_tail (newest 64 KiB) when logs are
//                  ingested, so a read never parses logs. version is the
//                  compare-and-set key every merge (Apply) bumps; the
//                  bookkeeping writes that no merge races with (progress
//                  demand, poll backoff) leave it alone.
//                  Indexes: UNIQUE (provider, external_id); status; created_at.
//   events         the event log of SPEC §8: AUTOINCREMENT ids, so an id is never
//                  reused even after the newest rows were pruned and SSE clients
//                  can resume with Last-Event-ID.
//   service_state  small named values shared between processes (the worker's
//                  heartbeat, the last full sync's result, ...).
//   leases         (v2) named, expiring locks held across processes: one
//                  handler refreshes a stale job while the others answer from
//                  the cache; one full sync runs at a time.
//   webhook_inbox  (v3) raw webhook deliveries keyed by webhook-id, stored by
//                  the handler before it answers 200 and applied by the worker
//                  in the same transaction as the merge (applied_at), so each is
//                  applied exactly once. jobs gains poll_failures/next_poll_at
//                  (v3), the poller's per-job backoff.
//                  (v4) jobs gains log_bytes_seen (logs never go backwards),
//                  output (the provider's output as JSON, <= 64 KiB) with
//                  output_truncated, and not_found_count/not_found_since.
// Migrations run in Open(): read user_version, and if it is behind, take the
// write lock (BEGIN IMMEDIATE), read it again (another process may have just
// migrated), apply the missing steps and set user_version, in one transaction.
//
// Locking: every connection waits for locks up to kBusyTimeoutMs (BusyWait); any transaction that
// may write starts with BEGIN IMMEDIATE, because a deferred BEGIN that later writes fails at once
// with SQLITE_BUSY_SNAPSHOT when another process committed meanwhile, and the busy handler cannot
// help. Write transactions stay tiny and never span network I/O. Reads that need a consistent view
// (a page and its total) use a short deferred transaction, closed before returning, so WAL
// checkpoints are never starved.
#include "lib/store.h"

#include <rapidjson/document.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>

#include "lib/job.h"
#include "lib/json_limits.h"
#include "lib/json_writer.h"
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
// connection's Store::BusyState; count 0 is a wait's first call.
int BusyWait(void* state, int count) {
  auto* const busy = static_cast<Store::BusyState*>(state);
  const int64_t now = NowMicros();
  if (count == 0) busy->since = now;
  if (now - busy->since >= busy->limit_us) return 0;
  const int64_t delay_us = std::min<int64_t>(int64_t{50} << std::min(count, 6), 2000);
  const timespec delay = {0, static_cast<long>(delay_us * 1000)};
  nanosleep(&delay, nullptr);
  return 1;
}

const char* const kMigrations[] = {
    // 1: jobs, events, service_state.
    R"sql(
CREATE TABLE jobs (
  job_id TEXT PRIMARY KEY,
  job_type TEXT NOT NULL DEFAULT 'cloud',
  provider TEXT,
  external_id TEXT,
  status TEXT NOT NULL,
  config_name TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  cost_usd REAL,
  hardware_type TEXT,
  error_message TEXT,
  output_url TEXT,
  user_id INTEGER,
  metadata TEXT NOT NULL DEFAULT '{}',
  stage TEXT,
  progress REAL,
  last_log TEXT,
  logs_tail TEXT NOT NULL DEFAULT '',
  logs_fetched_at INTEGER,
  progress_wanted_at INTEGER,
  last_progress_event_at INTEGER,
  unknown_provider_status TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX jobs_provider_external_id ON jobs(provider, external_id);
CREATE INDEX jobs_status ON jobs(status);
CREATE INDEX jobs_created_at ON jobs(created_at DESC, job_id DESC);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL DEFAULT '',
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX events_created_at ON events(created_at);
CREATE TABLE service_state (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
)sql",
    // 2: leases, so that one process among many does a provider call (a job's
    // progress refresh, the full sync) while the others answer from the cache.
    R"sql(
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
)sql",
    // 3: the webhook inbox (a delivery acknowledged with 200 is stored before
    // the answer, applied later by the worker) and the poller's per-job backoff.
    R"sql(
CREATE TABLE webhook_inbox (
  webhook_id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  applied_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  rejected_at INTEGER
) STRICT;
CREATE INDEX webhook_inbox_pending ON webhook_inbox(received_at)
  WHERE applied_at IS NULL AND rejected_at IS NULL;
ALTER TABLE jobs ADD COLUMN poll_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN next_poll_at INTEGER;
ALTER TABLE jobs ADD COLUMN announced_stage TEXT;
ALTER TABLE jobs ADD COLUMN announced_progress REAL;
CREATE INDEX jobs_progress_wanted_at ON jobs(progress_wanted_at)
  WHERE progress_wanted_at IS NOT NULL;
)sql",
    // 4: logs never go backwards (log_bytes_seen), the provider's output as
    // JSON beside output_url, and the lost-job rule's 404 count. Rows from
    // before: the stored tail is the best lower bound of the logs seen, and an
    // output_url that is no URL (text, token arrays, data: URIs) is dropped.
    R"sql(
ALTER TABLE jobs ADD COLUMN log_bytes_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN output TEXT;
ALTER TABLE jobs ADD COLUMN output_truncated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN not_found_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN not_found_since INTEGER;
UPDATE jobs SET log_bytes_seen = length(CAST(logs_tail AS BLOB));
UPDATE jobs SET output_url = NULL
  WHERE output_url IS NOT NULL AND NOT (output_url GLOB 'http://?*' OR output_url GLOB 'https://?*')
     OR length(output_url) > 2048;
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == Store::kSchemaVersion);

// The jobs table's columns, in the order QueryOneJob reads and WriteJob binds them.
constexpr const char* kJobColumnNames[] = {"job_id",
                                           "job_type",
                                           "provider",
                                           "external_id",
                                           "status",
                                           "config_name",
                                           "created_at",
                                           "started_at",
                                           "completed_at",
                                           "cost_usd",
                                           "hardware_type",
                                           "error_message",
                                           "output_url",
                                           "user_id",
                                           "metadata",
                                           "stage",
                                           "progress",
                                           "last_log",
                                           "logs_tail",
                                           "logs_fetched_at",
                                           "progress_wanted_at",
                                           "last_progress_event_at",
                                           "unknown_provider_status",
                                           "version",
                                           "updated_at",
                                           "poll_failures",
                                           "next_poll_at",
                                           "announced_stage",
                                           "announced_progress",
                                           "log_bytes_seen",
                                           "output",
                                           "output_truncated",
                                           "not_found_count",
                                           "not_found_since"};
constexpr int kJobColumnCount = sizeof(kJobColumnNames) / sizeof(kJobColumnNames[0]);

// "a, b, c" of the jobs columns in QueryOneJob's order. A column a read does
// not need is read as NULL (its field keeps the default) so that one row
// reader serves every read: kList leaves out the two bulky ones a page never
// shows (the log tail and the output, up to 64 KiB each).
std::string JobColumns(JobRead read = JobRead::kWhole) {
  std::string out;
  for (const char* name : kJobColumnNames) {
    if (!out.empty()) out += ", ";
    const std::string_view column(name);
    const bool kept = read != JobRead::kList || (column != "logs_tail" && column != "output");
    out += kept ? std::string(column) : "NULL AS " + std::string(column);
  }
  return out;
}
const std::string kJobColumns = JobColumns();

std::string MetadataToJson(const std::map<std::string, std::string>& metadata) {
  JsonWriter w;
  w.BeginObject();
  for (const auto& [key, value] : metadata) w.Key(key).String(std::string_view(value));
  w.EndObject();
  return w.str();
}

// Rows may also have been written with the sqlite3 CLI, so anything that is
// not an object of strings is tolerated: non-string values are skipped.
std::map<std::string, std::string> MetadataFromJson(std::string_view json) {
  std::map<std::string, std::string> out;
  if (json.empty()) return out;            // NULL: a read that left metadata out
  if (!JsonDepthWithin(json)) return out;  // SPEC §9: nesting limit
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return out;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    if (it->value.IsString()) {
      out[it->name.GetString()] = std::string(it->value.GetString(), it->value.GetStringLength());
    }
  }
  return out;
}

std::string StatusEventJson(const Job& job, const std::optional<JobStatus>& previous, int64_t now) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String("job_status_changed");
  w.Key("job_id").String(std::string_view(job.job_id));
  w.Key("status").String(JobStatusName(job.status));
  w.Key("previous_status");
  if (previous) {
    w.String(JobStatusName(*previous));
  } else {
    w.Null();
  }
  w.Key("provider").String(job.provider);
  w.Key("at").String(FormatTimestamp(now));
  w.EndObject();
  return w.str();
}

std::string ProgressEventJson(const Job& job, int64_t now) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String("job_progress");
  w.Key("job_id").String(std::string_view(job.job_id));
  w.Key("stage").String(job.progress.stage);
  w.Key("progress").Double(job.progress.progress);
  w.Key("last_log").String(job.progress.last_log);
  w.Key("at").String(FormatTimestamp(now));
  w.EndObject();
  return w.str();
}

}  // namespace

// A prepared statement owned by the Store's cache. Binding indexes are 1-based
// as in SQLite; column indexes 0-based.
class Store::Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  void Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, const char* v) { Bind(i, std::string_view(v)); }
  void Bind(int i, const std::string& v) { Bind(i, std::string_view(v)); }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, int v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  template <typename T>
  void Bind(int i, const std::optional<T>& v) {
    if (v) {
      Bind(i, *v);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::optional<std::string> OptText(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<std::string>(Text(col));
  }
  std::optional<int64_t> OptInt(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int(col));
  }
  std::optional<double> OptReal(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<double>(Real(col));
  }

 private:
  sqlite3_stmt* stmt_;
};

// Rolls back unless Commit() succeeded. Begin() must be called first.
// A transaction that begins in its constructor (BEGIN IMMEDIATE takes the
// write lock at once, so a writer never fails half-way on a lock upgrade;
// BEGIN is a read snapshot) and rolls back in its destructor unless
// committed. status() is the BEGIN's outcome: check it before anything else.
class Store::Transaction {
 public:
  enum class Mode { kImmediate, kDeferred };
  Transaction(Store* store, Mode mode)
      : store_(store),
        status_(store->Exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN")),
        open_(status_.ok()) {}
  ~Transaction() {
    // Never throws: a failed rollback leaves nothing to undo that SQLite would
    // not undo itself when the connection closes.
    if (open_) sqlite3_exec(store_->db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  const Status& status() const { return status_; }
  Status Commit() {
    Status s = store_->Exec("COMMIT");
    if (s.ok()) open_ = false;
    return s;
  }

 private:
  Store* store_;
  Status status_;
  bool open_;
};

void Store::Deleter::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Store::Store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  // Memory statistics (on by default) take a global mutex around every SQLite
  // allocation, a cost on each inline-progress read (issue 14) for figures we
  // never read. Only possible before SQLite initialises; later it is a no-op.
  static const int kNoMemoryStatistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kNoMemoryStatistics;
  const auto unavailable = [&](const std::string& why) {
    // Retry-After: a missing disk or a read-only mount may come back (SPEC §9).
    return Status::Error(Status::Code::kUnavailable, "database_unavailable",
                         "cannot open database " + path + ": " + why)
        .set_retry_after_seconds(5);
  };
  // Private before SQLite touches it: SQLite gives -wal and -shm the mode of
  // the database file (SPEC §11).
  if (Status s = EnsurePrivateDirectory(std::filesystem::path(path).parent_path().string());
      !s.ok()) {
    return unavailable(s.message());
  }
  if (Status s = EnsurePrivateFile(path); !s.ok()) return unavailable(s.message());
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Store> store(new Store(raw, path));
  if (rc != SQLITE_OK) {
    return unavailable(raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
  }
  sqlite3_extended_result_codes(raw, 1);
  // SQLite quietly opens a file it may not write (a read-only mount) read-only,
  // and such a connection never becomes writable again: refuse it, so the
  // caller retries later with a fresh connection.
  if (sqlite3_db_readonly(raw, "main") == 1) return unavailable("the file is read-only");
  store->busy_.limit_us = int64_t{kBusyTimeoutMs} * 1000;
  sqlite3_busy_handler(raw, BusyWait, &store->busy_);
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
    Status s = store->Exec(pragma);
    while (s.code() == Status::Code::kBusy && NowMicros() < give_up) {
      sqlite3_sleep(10);
      s = store->Exec(pragma);
    }
    if (!s.ok()) return unavailable(s.message());
  }
  Status s = store->Migrate();
  if (!s.ok()) return unavailable(s.message());
  return store;
}

Status Store::Error(int rc, const char* what) const {
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
  return Status::Error(Status::Code::kInternal, "database_error", message);
}

Status Store::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc, sql);
}

Store::Statement* Store::Prepare(std::string_view sql, Status* status) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) {
    *status = Error(rc, "prepare");
    return nullptr;
  }
  auto* stmt = new Statement(raw);
  statements_.emplace(std::string(sql), std::unique_ptr<Statement>(stmt));
  return stmt;
}

Status Store::Migrate() {
  const auto read_version = [this](int* version) {
    Status s;
    Statement* stmt = Prepare("PRAGMA user_version", &s);
    if (!stmt) return s;
    if (stmt->Step() != SQLITE_ROW) return Error(SQLITE_ERROR, "PRAGMA user_version");
    *version = static_cast<int>(stmt->Int(0));
    stmt->Reset();
    return Status::Ok();
  };
  int version = 0;
  Status s = read_version(&version);
  if (!s.ok() || version == kSchemaVersion) return s;
  if (version > kSchemaVersion) {
    return Status::Internal("schema version " + std::to_string(version) +
                            " is newer than this binary supports (" +
                            std::to_string(kSchemaVersion) + ")");
  }
  Transaction txn(this, Transaction::Mode::kImmediate);
  if (s = txn.status(); !s.ok()) return s;
  if (s = read_version(&version); !s.ok()) return s;
  for (int step = version; step < kSchemaVersion; ++step) {
    if (s = Exec(kMigrations[step]); !s.ok()) return s;
  }
  const std::string set_version = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
  if (s = Exec(set_version.c_str()); !s.ok()) return s;
  return txn.Commit();
}

Status Store::Ping() {
  Status s;
  Statement* stmt = Prepare("SELECT count(*) FROM sqlite_schema", &s);
  if (!stmt) return s;
  const int rc = stmt->Step();
  stmt->Reset();
  return rc == SQLITE_ROW ? Status::Ok() : Error(rc, "ping");
}

Result<int64_t> Store::FreeDiskBytes() {
  std::string dir = std::filesystem::path(path_).parent_path().string();
  if (dir.empty()) dir = ".";
  struct statvfs fs;
  if (::statvfs(dir.c_str(), &fs) != 0) {
    return Status::Error(Status::Code::kUnavailable, "database_unavailable",
                         "cannot inspect the file system of " + path_);
  }
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

Result<std::string> Store::ChangeVersion() {
  Status s;
  Statement* stmt = Prepare("PRAGMA data_version", &s);
  if (!stmt) return s;
  const int rc = stmt->Step();
  const int64_t others = rc == SQLITE_ROW ? stmt->Int(0) : 0;
  stmt->Reset();
  if (rc != SQLITE_ROW) return Error(rc, "data_version");
  return std::to_string(others) + ":" +
         std::to_string(static_cast<int64_t>(sqlite3_total_changes64(db_.get())));
}

Result<bool> Store::StepToRow(Statement* stmt, const char* what) {
  const int rc = stmt->Step();
  if (rc == SQLITE_ROW) return true;
  stmt->Reset();
  if (rc == SQLITE_DONE) return false;
  return Error(rc, what);
}

Result<std::optional<Job>> Store::QueryOneJob(Statement* stmt) {
  auto row = StepToRow(stmt, "read job");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Job>();
  Job job;
  int c = 0;
  job.job_id = stmt->Text(c++);
  job.job_type = stmt->Text(c++);
  job.provider = stmt->OptText(c++);
  job.external_id = stmt->OptText(c++);
  // A status written by hand that we do not know reads as pending rather than
  // failing every list that includes the row.
  job.status = ParseJobStatus(stmt->Text(c++)).value_or(JobStatus::kPending);
  job.config_name = stmt->OptText(c++);
  job.created_at = stmt->Int(c++);
  job.started_at = stmt->OptInt(c++);
  job.completed_at = stmt->OptInt(c++);
  job.cost_usd = stmt->OptReal(c++);
  job.hardware_type = stmt->OptText(c++);
  job.error_message = stmt->OptText(c++);
  job.output_url = stmt->OptText(c++);
  job.user_id = stmt->OptInt(c++);
  job.metadata = MetadataFromJson(stmt->Text(c++));
  job.progress.stage = stmt->OptText(c++);
  job.progress.progress = stmt->OptReal(c++);
  job.progress.last_log = stmt->OptText(c++);
  job.logs_tail = stmt->Text(c++);
  job.logs_fetched_at = stmt->OptInt(c++);
  job.progress_wanted_at = stmt->OptInt(c++);
  job.last_progress_event_at = stmt->OptInt(c++);
  job.unknown_provider_status = stmt->OptText(c++);
  job.version = stmt->Int(c++);
  job.updated_at = stmt->Int(c++);
  job.poll_failures = static_cast<int>(stmt->Int(c++));
  job.next_poll_at = stmt->OptInt(c++);
  job.announced_stage = stmt->OptText(c++);
  job.announced_progress = stmt->OptReal(c++);
  job.log_bytes_seen = stmt->Int(c++);
  job.output = stmt->OptText(c++);
  job.output_truncated = stmt->Int(c++) != 0;
  job.not_found_count = static_cast<int>(stmt->Int(c++));
  job.not_found_since = stmt->OptInt(c++);
  return std::optional<Job>(std::move(job));
}

Result<std::vector<Job>> Store::QueryJobs(Statement* stmt) {
  std::vector<Job> jobs;
  for (;;) {
    auto job = QueryOneJob(stmt);
    if (!job.ok()) return job.status();
    if (!job.value()) break;
    jobs.push_back(std::move(*job.value()));
  }
  stmt->Reset();
  return jobs;
}

Result<std::optional<Job>> Store::GetJob(std::string_view job_id, JobRead read) {
  // Built once: the statement cache is keyed by the text.
  static const std::string kWhole = "SELECT " + kJobColumns + " FROM jobs WHERE job_id = ?1";
  static const std::string kList =
      "SELECT " + JobColumns(JobRead::kList) + " FROM jobs WHERE job_id = ?1";
  Status s;
  Statement* stmt = Prepare(read == JobRead::kList ? kList : kWhole, &s);
  if (!stmt) return s;
  stmt->Bind(1, job_id);
  auto job = QueryOneJob(stmt);
  stmt->Reset();
  return job;
}

Result<std::optional<JobProgress>> Store::GetJobProgress(std::string_view job_id) {
  Status s;
  Statement* stmt = Prepare(
      "SELECT job_id, status, provider, external_id, stage, progress, last_log, logs_fetched_at, "
      "progress_wanted_at FROM jobs WHERE job_id = ?1",
      &s);
  if (!stmt) return s;
  stmt->Bind(1, job_id);
  auto row = StepToRow(stmt, "read job progress");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<JobProgress>();
  JobProgress p;
  p.job_id = stmt->Text(0);
  // As QueryOneJob: an unknown status written by hand reads as pending.
  p.status = ParseJobStatus(stmt->Text(1)).value_or(JobStatus::kPending);
  p.provider = stmt->OptText(2);
  p.external_id = stmt->OptText(3);
  p.progress.stage = stmt->OptText(4);
  p.progress.progress = stmt->OptReal(5);
  p.progress.last_log = stmt->OptText(6);
  p.logs_fetched_at = stmt->OptInt(7);
  p.progress_wanted_at = stmt->OptInt(8);
  stmt->Reset();
  return std::optional<JobProgress>(std::move(p));
}

Result<std::optional<Job>> Store::FindByExternalId(std::string_view provider,
                                                   std::string_view external_id) {
  Status s;
  Statement* stmt =
      Prepare("SELECT " + kJobColumns + " FROM jobs WHERE provider = ?1 AND external_id = ?2", &s);
  if (!stmt) return s;
  stmt->Bind(1, provider);
  stmt->Bind(2, external_id);
  auto job = QueryOneJob(stmt);
  stmt->Reset();
  return job;
}

Result<JobPage> Store::ListJobs(const JobFilter& filter) {
  std::string where;
  int next = 1;
  const auto add = [&](const std::string& clause) {
    where += where.empty() ? " WHERE " : " AND ";
    where += clause;
  };
  if (!filter.statuses.empty()) {
    std::string in = "status IN (";
    for (size_t i = 0; i < filter.statuses.size(); ++i) {
      in += (i ? ", ?" : "?") + std::to_string(next++);
    }
    add(in + ")");
  }
  const int provider_param = filter.provider ? next++ : 0;
  if (filter.provider) add("provider = ?" + std::to_string(provider_param));
  const int type_param = filter.job_type ? next++ : 0;
  if (filter.job_type) add("job_type = ?" + std::to_string(type_param));
  const auto bind_filter = [&](Statement* stmt) {
    for (size_t i = 0; i < filter.statuses.size(); ++i) {
      stmt->Bind(static_cast<int>(i + 1), JobStatusName(filter.statuses[i]));
    }
    if (filter.provider) stmt->Bind(provider_param, *filter.provider);
    if (filter.job_type) stmt->Bind(type_param, *filter.job_type);
  };

  // The page and its total come from one snapshot.
  Transaction txn(this, Transaction::Mode::kDeferred);
  Status s = txn.status();
  if (!s.ok()) return s;
  JobPage page;
  Statement* count = Prepare("SELECT count(*) FROM jobs" + where, &s);
  if (!count) return s;
  bind_filter(count);
  if (const int rc = count->Step(); rc != SQLITE_ROW) return Error(rc, "count jobs");
  page.total = count->Int(0);
  count->Reset();

  Statement* list = Prepare("SELECT " + JobColumns(JobRead::kList) + " FROM jobs" + where +
                                " ORDER BY created_at DESC, job_id DESC LIMIT ?" +
                                std::to_string(next) + " OFFSET ?" + std::to_string(next + 1),
                            &s);
  if (!list) return s;
  bind_filter(list);
  list->Bind(next, filter.limit);
  list->Bind(next + 1, filter.offset);
  auto jobs = QueryJobs(list);
  if (!jobs.ok()) return jobs.status();
  page.jobs = std::move(*jobs);
  if (s = txn.Commit(); !s.ok()) return s;
  return page;
}

Result<int64_t> Store::InsertEvent(std::string_view job_id, std::string_view type,
                                   std::string_view data, int64_t now) {
  Status s;
  Statement* stmt =
      Prepare("INSERT INTO events (job_id, type, data, created_at) VALUES (?1, ?2, ?3, ?4)", &s);
  if (!stmt) return s;
  stmt->Bind(1, job_id);
  stmt->Bind(2, type);
  stmt->Bind(3, data);
  stmt->Bind(4, now);
  const int rc = stmt->Step();
  stmt->Reset();
  if (rc != SQLITE_DONE) return Error(rc, "append event");
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_.get()));
}

Result<int64_t> Store::AppendEvent(std::string_view job_id, std::string_view type,
                                   std::string_view data, int64_t now) {
  Transaction txn(this, Transaction::Mode::kImmediate);
  Status s = txn.status();
  if (!s.ok()) return s;
  auto id = InsertEvent(job_id, type, data, now);
  if (!id.ok()) return id;
  if (s = txn.Commit(); !s.ok()) return s;
  return id;
}

Result<std::vector<Event>> Store::EventsAfter(int64_t after_id, int limit) {
  Status s;
  Statement* stmt = Prepare(
      "SELECT id, job_id, type, data, created_at FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
      &s);
  if (!stmt) return s;
  stmt->Bind(1, after_id);
  stmt->Bind(2, limit);
  std::vector<Event> events;
  int rc;
  while ((rc = stmt->Step()) == SQLITE_ROW) {
    events.push_back({stmt->Int(0), stmt->Text(1), stmt->Text(2), stmt->Text(3), stmt->Int(4)});
  }
  stmt->Reset();
  if (rc != SQLITE_DONE) return Error(rc, "read events");
  return events;
}

Result<ApplyOutcome> Store::Apply(const Observation& obs, const PriceTable& prices, int64_t now,
                                  bool create_if_missing) {
  Transaction txn(this, Transaction::Mode::kImmediate);
  Status s = txn.status();
  if (!s.ok()) return s;
  auto outcome = ApplyInTransaction(obs, prices, now, create_if_missing);
  if (!outcome.ok()) return outcome;
  if (s = txn.Commit(); !s.ok()) return s;
  return outcome;
}

Result<ApplyOutcome> Store::ApplyDelivery(std::string_view webhook_id, const Observation& obs,
                                          const PriceTable& prices, int64_t now) {
  Transaction txn(this, Transaction::Mode::kImmediate);
  Status s = txn.status();
  if (!s.ok()) return s;
  auto outcome = ApplyInTransaction(obs, prices, now, /*create_if_missing=*/true);
  if (!outcome.ok()) return outcome;
  // Marked in the same transaction as the merge: a crash applies it fully or not at all.
  if (s = MarkDeliveryApplied(webhook_id, now); !s.ok()) return s;
  if (s = txn.Commit(); !s.ok()) return s;
  return outcome;
}

Result<std::vector<ApplyOutcome>> Store::ApplyDeliveries(const std::vector<PendingApply>& batch,
                                                         const PriceTable& prices, int64_t now) {
  // One transaction for the batch: under a burst of deliveries the worker
  // takes the write lock once instead of once per delivery.
  Transaction txn(this, Transaction::Mode::kImmediate);
  Status s = txn.status();
  if (!s.ok()) return s;
  std::vector<ApplyOutcome> outcomes;
  outcomes.reserve(batch.size());
  for (const PendingApply& item : batch) {
    auto outcome = ApplyInTransaction(item.observation, prices, now, /*create_if_missing=*/true);
    if (!outcome.ok()) return outcome.status();
    if (s = MarkDeliveryApplied(item.webhook_id, now); !s.ok()) return s;
    outcomes.push_back(std::move(*outcome));
  }
  if (s = txn.Commit(); !s.ok()) return s;
  return outcomes;
}

Status Store::MarkDeliveryApplied(std::string_view webhook_id, int64_t now) {
  Status s;
  Statement* stmt = Prepare(
      "UPDATE webhook_inbox SET applied_at = ?2, last_error = NULL WHERE webhook_id = ?1", &s);
  if (!stmt) return s;
  stmt->Bind(1, webhook_id);
  stmt->Bind(2, now);
  const int rc = stmt->Step();
  stmt->Reset();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "mark delivery applied");
}

// The INSERT of a new row, or the compare-and-set UPDATE of the row at
// `expected_version`, binding every column of kJobColumnNames.
Status Store::WriteJob(const Job& job, bool insert, int64_t expected_version) {
  static const std::string kInsert = [] {
    std::string values;
    for (int i = 1; i <= kJobColumnCount; ++i) values += (i > 1 ? ", ?" : "?") + std::to_string(i);
    return "INSERT INTO jobs (" + kJobColumns + ") VALUES (" + values + ")";
  }();
  // Compare-and-set: the row must still be the one MergeObservation saw.
  static const std::string kUpdate = [] {
    std::string sets;
    for (int i = 0; i < kJobColumnCount; ++i) {
      sets += std::string(i ? ", " : "") + kJobColumnNames[i] + " = ?" + std::to_string(i + 1);
    }
    return "UPDATE jobs SET " + sets + " WHERE job_id = ?1 AND version = ?" +
           std::to_string(kJobColumnCount + 1);
  }();
  Status s;
  Statement* stmt = Prepare(insert ? kInsert : kUpdate, &s);
  if (!stmt) return s;
  int c = 1;
  stmt->Bind(c++, job.job_id);
  stmt->Bind(c++, job.job_type);
  stmt->Bind(c++, job.provider);
  stmt->Bind(c++, job.external_id);
  stmt->Bind(c++, JobStatusName(job.status));
  stmt->Bind(c++, job.config_name);
  stmt->Bind(c++, job.created_at);
  stmt->Bind(c++, job.started_at);
  stmt->Bind(c++, job.completed_at);
  stmt->Bind(c++, job.cost_usd);
  stmt->Bind(c++, job.hardware_type);
  stmt->Bind(c++, job.error_message);
  stmt->Bind(c++, job.output_url);
  stmt->Bind(c++, job.user_id);
  stmt->Bind(c++, MetadataToJson(job.metadata));
  stmt->Bind(c++, job.progress.stage);
  stmt->Bind(c++, job.progress.progress);
  stmt->Bind(c++, job.progress.last_log);
  stmt->Bind(c++, job.logs_tail);
  stmt->Bind(c++, job.logs_fetched_at);
  stmt->Bind(c++, job.progress_wanted_at);
  stmt->Bind(c++, job.last_progress_event_at);
  stmt->Bind(c++, job.unknown_provider_status);
  stmt->Bind(c++, job.version);
  stmt->Bind(c++, job.updated_at);
  stmt->Bind(c++, job.poll_failures);
  stmt->Bind(c++, job.next_poll_at);
  stmt->Bind(c++, job.announced_stage);
  stmt->Bind(c++, job.announced_progress);
  stmt->Bind(c++, job.log_bytes_seen);
  stmt->Bind(c++, job.output);
  stmt->Bind(c++, job.output_truncated ? 1 : 0);
  stmt->Bind(c++, job.not_found_count);
  stmt->Bind(c++, job.not_found_since);
  if (!insert) stmt->Bind(c++, expected_version);
  const int rc = stmt->Step();
  stmt->Reset();
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    return Status::Error(Status::Code::kConflict, "job_conflict",
                         "job " + job.job_id + " conflicts with an existing job",
                         {{"job_id", job.job_id}});
  }
  if (rc != SQLITE_DONE) return Error(rc, "write job");
  if (!insert && sqlite3_changes(db_.get()) != 1) {
    return Status::Error(Status::Code::kConflict, "concurrent_update",
                         "job " + job.job_id + " changed while it was being updated");
  }
  return Status::Ok();
}

Result<ApplyOutcome> Store::ApplyInTransaction(const Observation& obs, const PriceTable& prices,
                                               int64_t now, bool create_if_missing) {
  Status s;
  std::optional<Job> current;
  if (obs.job_id) {
    auto found = GetJob(*obs.job_id);
    if (!found.ok()) return found.status();
    current = std::move(found.value());
  }
  if (!current && !obs.external_id.empty()) {
    auto found = FindByExternalId(obs.provider, obs.external_id);
    if (!found.ok()) return found.status();
    current = std::move(found.value());
  }
  // A job must stay addressable by URL: never create one the API could not
  // fetch, cancel or delete (SPEC §9 job-id rule).
  if (!current && create_if_missing && !obs.not_found) {
    const std::string id = obs.job_id ? *obs.job_id : obs.external_id;
    if (!IsValidJobId(id)) {
      return Status::Error(Status::Code::kInvalidArgument, "invalid_job_id",
                           "refusing to create a job whose id is not [A-Za-z0-9._:-]{1,128}");
    }
  }
  // A 404 never creates a job: there is no run to describe.
  if (!current && (!create_if_missing || obs.not_found)) {
    const std::string id = obs.job_id ? *obs.job_id : obs.external_id;
    return Status::Error(Status::Code::kNotFound, "job_not_found", "Job not found: " + id,
                         {{"job_id", id}});
  }

  MergeResult merged = MergeObservation(current, obs, prices, now);
  ApplyOutcome outcome;
  outcome.created = merged.created;
  outcome.status_changed = merged.status_changed;
  outcome.changed = merged.changed;
  outcome.unknown_status = merged.unknown_status;
  outcome.stale = merged.stale;
  if (!merged.touched) {
    outcome.job = std::move(merged.job);
    return outcome;  // nothing to write; the transaction rolls back harmlessly
  }

  Job& job = merged.job;
  const int64_t expected_version = current ? current->version : 0;
  job.version = expected_version + 1;
  if (merged.changed) job.updated_at = now;

  if (s = WriteJob(job, merged.created, expected_version); !s.ok()) return s;

  if (merged.status_changed) {
    auto id = InsertEvent(job.job_id, "job_status_changed",
                          StatusEventJson(job, merged.previous_status, now), now);
    if (!id.ok()) return id.status();
  }
  if (merged.emit_progress_event) {
    auto id = InsertEvent(job.job_id, "job_progress", ProgressEventJson(job, now), now);
    if (!id.ok()) return id.status();
  }
  outcome.job = std::move(job);
  return outcome;
}

Status Store::DeleteJob(std::string_view job_id) {
  Transaction txn(this, Transaction::Mode::kImmediate);
  Status s = txn.status();
  if (!s.ok()) return s;
  auto found = GetJob(job_id);
  if (!found.ok()) return found.status();
  const std::string id(job_id);
  if (!found.value()) {
    return Status::Error(Status::Code::kNotFound, "job_not_found", "Job not found: " + id,
                         {{"job_id", id}});
  }
  const Job& job = *found.value();
  if (!IsTerminal(job.status)) {
    return Status::Error(Status::Code::kConflict, "invalid_job_state",
                         "Job " + id + " is " + JobStatusName(job.status) +
                             "; only completed, failed or cancelled jobs can be deleted",
                         {{"job_id", id}, {"current_state", JobStatusName(job.status)}});
  }
  Statement* stmt = Prepare("DELETE FROM jobs WHERE job_id = ?1", &s);
  if (!stmt) return s;
  stmt->Bind(1, job_id);
  const int rc = stmt->Step();
  stmt->Reset();
  if (rc != SQLITE_DONE) return Error(rc, "delete job");
  return txn.Commit();
}

Result<Metrics> Store::ComputeMetrics(int days, int64_t now) {
  Metrics m;
  m.period_days = days;
  for (JobStatus st :
       {JobStatus::kPending, JobStatus::kUploading, JobStatus::kQueued, JobStatus::kRunning,
        JobStatus::kCompleted, JobStatus::kFailed, JobStatus::kCancelled}) {
    m.jobs_by_status[JobStatusName(st)] = 0;
  }
  const int64_t since = now - static_cast<int64_t>(days) * 86400 * kMicrosPerSecond;
  Transaction txn(this, Transaction::Mode::kDeferred);
  Status s = txn.status();
  if (!s.ok()) return s;

  Statement* by_status = Prepare(
      "SELECT status, count(*), total(cost_usd) FROM jobs WHERE created_at >= ?1 GROUP BY status",
      &s);
  if (!by_status) return s;
  by_status->Bind(1, since);
  int rc;
  while ((rc = by_status->Step()) == SQLITE_ROW) {
    m.jobs_by_status[by_status->Text(0)] = by_status->Int(1);
    m.job_count += by_status->Int(1);
    m.total_cost += by_status->Real(2);
  }
  by_status->Reset();
  if (rc != SQLITE_DONE) return Error(rc, "metrics by status");

  Statement* duration = Prepare(
      "SELECT avg((completed_at - started_at) / 1e6) FROM jobs WHERE created_at >= ?1 AND "
      "status = 'completed' AND started_at IS NOT NULL AND completed_at IS NOT NULL",
      &s);
  if (!duration) return s;
  duration->Bind(1, since);
  if (rc = duration->Step(); rc != SQLITE_ROW) return Error(rc, "metrics duration");
  m.avg_job_duration_seconds = duration->OptReal(0);
  duration->Reset();

  Statement* by_day = Prepare(
      "SELECT date(created_at / 1000000, 'unixepoch') AS day, count(*), total(cost_usd) "
      "FROM jobs WHERE created_at >= ?1 GROUP BY day ORDER BY day",
      &s);
  if (!by_day) return s;
  by_day->Bind(1, since);
  while ((rc = by_day->Step()) == SQLITE_ROW) {
    m.cost_by_day.push_back({by_day->Text(0), by_day->Int(1), by_day->Real(2)});
  }
  by_day->Reset();
  if (rc != SQLITE_DONE) return Error(rc, "metrics by day");
  if (s = txn.Commit(); !s.ok()) return s;
  return m;
}

Result<std::vector<Job>> Store::ListActiveJobs(const std::optional<std::string>& provider) {
  Status s;
  Statement* stmt = Prepare(
      "SELECT " + kJobColumns +
          " FROM jobs WHERE job_type = 'cloud' AND status IN ('pending', 'uploading', 'queued', "
          "'running') AND external_id IS NOT NULL AND (?1 IS NULL OR provider = ?1) "
          "ORDER BY created_at, job_id",
      &s);
  if (!stmt) return s;
  stmt->Bind(1, provider);
  return QueryJobs(stmt);
}

Result<std::vector<Job>> Store::ListWatchedJobs(int64_t since) {
  Status s;
  // The worker asks on every wake-up. Left to itself the planner takes the
  // status index and reads every running job (a 64 000-job flood of webhooks
  // spent two thirds of the worker here); the partial demand index holds only
  // the jobs someone asked about.
  Statement* stmt = Prepare("SELECT " + kJobColumns +
                                " FROM jobs INDEXED BY jobs_progress_wanted_at "
                                "WHERE status = 'running' AND external_id IS NOT NULL "
                                "AND progress_wanted_at >= ?1 ORDER BY job_id",
                            &s);
  if (!stmt) return s;
  stmt->Bind(1, since);
  return QueryJobs(stmt);
}

Status Store::RecordProgressDemand(std::string_view job_id, int64_t now) {
  Status s;
  Statement* stmt = Prepare("UPDATE jobs SET progress_wanted_at = ?2 WHERE job_id = ?1", &s);
  if (!stmt) return s;
  stmt->Bind(1, job_id);
  stmt->Bind(2, now);
  const int rc = stmt->Step();
  stmt->Reset();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "record progress demand");
}

namespace {

// The process a lease owner "pid:<N>:..." names has exited: kill -9 of a
// handler mid-sync must not block everyone until the lease expires (SPEC §6).
// Owners of another form, and processes we may not signal (EPERM: alive), count
// as alive.
bool OwnerIsDead(std::string_view owner) {
  if (!owner.starts_with("pid:")) return false;
  const std::string_view digits = owner.substr(4, owner.find(':', 4) - 4);
  if (digits.empty() || digits.size() > 9) return false;
  pid_t pid = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return false;
    pid = pid * 10 + (c - '0');
  }
  return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

Result<bool> Store::TryAcquireLease(std::string_view name, std::string_view owner,
                                    int64_t ttl_micros, int64_t now) {
  Status s;
  // One statement, so taking a free or expired lease is atomic without an
  // explicit transaction.
  Statement* stmt = Prepare(
      "INSERT INTO leases (name, owner, expires_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
      "WHERE leases.expires_at <= ?4 OR leases.owner = excluded.owner",
      &s);
  if (!stmt) return s;
  stmt->Bind(1, name);
  stmt->Bind(2, owner);
  stmt->Bind(3, now + ttl_micros);
  stmt->Bind(4, now);
  const int rc = stmt->Step();
  stmt->Reset();
  if (rc != SQLITE_DONE) return Error(rc, "acquire lease");
  if (sqlite3_changes(db_.get()) == 1) return true;
  return TakeLeaseOfDeadOwner(name, owner, ttl_micros, now);
}

Result<bool> Store::TakeLeaseOfDeadOwner(std::string_view name, std::string_view owner,
                                         int64_t ttl_micros, int64_t now) {
  Status s;
  Statement* read = Prepare("SELECT owner FROM leases WHERE name = ?1", &s);
  if (!read) return s;
  read->Bind(1, name);
  const int rc = read->Step();
  const std::string holder = rc == SQLITE_ROW ? read->Text(0) : std::string();
  read->Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error(rc, "read lease");
  if (holder.empty() || !OwnerIsDead(holder)) return false;
  // Compare-and-set on the dead holder: two callers racing for it get one win.
  Statement* take =
      Prepare("UPDATE leases SET owner = ?2, expires_at = ?3 WHERE name = ?1 AND owner = ?4", &s);
  if (!take) return s;
  take->Bind(1, name);
  take->Bind(2, owner);
  take->Bind(3, now + ttl_micros);
  take->Bind(4, holder);
  const int taken = take->Step();
  take->Reset();
  if (taken != SQLITE_DONE) return Error(taken, "take lease");
  return sqlite3_changes(db_.get()) == 1;
}

Status Store::ReleaseLease(std::string_view name, std::string_view owner) {
  Status s;
  Statement* stmt = Prepare("DELETE FROM leases WHERE name = ?1 AND owner = ?2", &s);
  if (!stmt) return s;
  stmt->Bind(1, name);
  stmt->Bind(2, owner);
  const int rc = stmt->Step();
  stmt->Reset();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "release lease");
}

Result<bool> Store::InsertDelivery(std::string_view webhook_id, std::string_view provider,
                                   std::string_view body, int64_t now) {
  Status s;
  Statement* stmt = Prepare(
      "INSERT INTO webhook_inbox (webhook_id, provider, body, received_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT(webhook_id) DO NOTHING",
      &s);
  if (!stmt) return s;
  stmt->Bind(1, webhook_id);
  stmt->Bind(2, provider);
  stmt->Bind(3, body);
  stmt->Bind(4, now);
  const int rc = stmt->Step();
  stmt->Reset();
  if (rc != SQLITE_DONE) return Error(rc, "store webhook delivery");
  return sqlite3_changes(db_.get()) == 1;
}

Result<std::vector<bool>> Store::InsertDeliveries(const std::vector<NewDelivery>& batch) {
  // One transaction: one lock, one commit and the inbox pages written once
  // for the whole batch.
  Transaction txn(this, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  std::vector<bool> inserted;
  inserted.reserve(batch.size());
  for (const NewDelivery& d : batch) {
    auto one = InsertDelivery(d.webhook_id, d.provider, d.body, d.received_at);
    if (!one.ok()) return one.status();
    inserted.push_back(*one);
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return inserted;
}

Result<std::vector<Store::Delivery>> Store::PendingDeliveries(int limit) {
  Status s;
  Statement* stmt = Prepare(
      "SELECT webhook_id, provider, body, received_at, attempts FROM webhook_inbox "
      "WHERE applied_at IS NULL AND rejected_at IS NULL ORDER BY received_at, webhook_id LIMIT ?1",
      &s);
  if (!stmt) return s;
  stmt->Bind(1, limit);
  std::vector<Delivery> out;
  int rc;
  while ((rc = stmt->Step()) == SQLITE_ROW) {
    out.push_back({stmt->Text(0), stmt->Text(1), stmt->Text(2), stmt->Int(3),
                   static_cast<int>(stmt->Int(4))});
  }
  stmt->Reset();
  if (rc != SQLITE_DONE) return Error(rc, "read webhook inbox");
  return out;
}

Status Store::RecordDeliveryFailure(std::string_view webhook_id, std::string_view error,
                                    int max_attempts, int64_t now) {
  Status s;
  Statement* stmt = Prepare(
      "UPDATE webhook_inbox SET attempts = attempts + 1, last_error = ?2, "
      "rejected_at = CASE WHEN attempts + 1 >= ?3 THEN ?4 ELSE NULL END WHERE webhook_id = ?1",
      &s);
  if (!stmt) return s;
  stmt->Bind(1, webhook_id);
  stmt->Bind(2, error);
  stmt->Bind(3, max_attempts);
  stmt->Bind(4, now);
  const int rc = stmt->Step();
  stmt->Reset();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "record delivery failure");
}

Result<Store::InboxCounts> Store::CountDeliveries() {
  Status s;
  Statement* stmt = Prepare(
      "SELECT count(*) FILTER (WHERE applied_at IS NULL AND rejected_at IS NULL), "
      "count(applied_at), count(rejected_at) FROM webhook_inbox",
      &s);
  if (!stmt) return s;
  const int rc = stmt->Step();
  InboxCounts counts;
  if (rc == SQLITE_ROW) counts = {stmt->Int(0), stmt->Int(1), stmt->Int(2)};
  stmt->Reset();
  if (rc != SQLITE_ROW) return Error(rc, "count webhook inbox");
  return counts;
}

Result<int64_t> Store::PruneDeliveries(int64_t bodies_before, int64_t rows_before) {
  Transaction txn(this, Transaction::Mode::kImmediate);
  Status s = txn.status();
  if (!s.ok()) return s;
  int64_t pruned = 0;
  for (const char* sql : {"UPDATE webhook_inbox SET body = '' WHERE applied_at < ?1 AND body != ''",
                          "DELETE FROM webhook_inbox WHERE applied_at < ?2 OR rejected_at < ?2"}) {
    Statement* stmt = Prepare(sql, &s);
    if (!stmt) return s;
    // A statement without ?2 ignores the extra binding.
    stmt->Bind(1, bodies_before);
    if (std::string_view(sql).find("?2") != std::string_view::npos) stmt->Bind(2, rows_before);
    const int rc = stmt->Step();
    stmt->Reset();
    if (rc != SQLITE_DONE) return Error(rc, "prune webhook inbox");
    pruned += sqlite3_changes(db_.get());
  }
  if (s = txn.Commit(); !s.ok()) return s;
  // Outside the transaction: a no-op on files without incremental auto_vacuum.
  // Also when nothing was pruned now but free pages are left over (an earlier
  // vacuum that failed), so the file shrinks without waiting for a delivery.
  auto free_pages =
      pruned > 0 ? Result<int64_t>(1) : QueryInt("PRAGMA freelist_count", "free pages");
  if (!free_pages.ok()) return free_pages.status();
  if (*free_pages > 0) {
    if (s = Exec("PRAGMA incremental_vacuum"); !s.ok()) return s;
  }
  return pruned;
}

Status Store::RecordPollFailure(std::string_view job_id, int failures, int64_t next_poll_at) {
  Status s;
  Statement* stmt =
      Prepare("UPDATE jobs SET poll_failures = ?2, next_poll_at = ?3 WHERE job_id = ?1", &s);
  if (!stmt) return s;
  stmt->Bind(1, job_id);
  stmt->Bind(2, failures);
  stmt->Bind(3, next_poll_at);
  const int rc = stmt->Step();
  stmt->Reset();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "record poll failure");
}

Result<int64_t> Store::QueryInt(const std::string& sql, const char* what) {
  Status s;
  Statement* stmt = Prepare(sql, &s);
  if (!stmt) return s;
  const int rc = stmt->Step();
  const int64_t value = rc == SQLITE_ROW ? stmt->Int(0) : 0;
  stmt->Reset();
  if (rc != SQLITE_ROW) return Error(rc, what);
  return value;
}

Result<int64_t> Store::OldestEventId() {
  return QueryInt("SELECT coalesce(min(id), 0) FROM events", "oldest event");
}

Result<int64_t> Store::NewestEventId() {
  return QueryInt("SELECT coalesce(max(id), 0) FROM events", "newest event");
}

Result<Store::WalState> Store::Checkpoint(int max_wait_ms) {
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

Result<int64_t> Store::PruneEvents(int64_t max_events, int64_t older_than) {
  Status s;
  Statement* stmt = Prepare(
      "DELETE FROM events WHERE created_at < ?2 OR id <= (SELECT coalesce(max(id), 0) FROM events) "
      "- ?1",
      &s);
  if (!stmt) return s;
  stmt->Bind(1, max_events);
  stmt->Bind(2, older_than);
  const int rc = stmt->Step();
  stmt->Reset();
  if (rc != SQLITE_DONE) return Error(rc, "prune events");
  return static_cast<int64_t>(sqlite3_changes(db_.get()));
}

Status Store::PutServiceState(std::string_view name, std::string_view value, int64_t now) {
  Status s;
  Statement* stmt = Prepare(
      "INSERT INTO service_state (name, value, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      &s);
  if (!stmt) return s;
  stmt->Bind(1, name);
  stmt->Bind(2, value);
  stmt->Bind(3, now);
  const int rc = stmt->Step();
  stmt->Reset();
  return rc == SQLITE_DONE ? Status::Ok() : Error(rc, "write service state");
}

Result<std::optional<Store::ServiceState>> Store::GetServiceState(std::string_view name) {
  Status s;
  Statement* stmt = Prepare("SELECT value, updated_at FROM service_state WHERE name = ?1", &s);
  if (!stmt) return s;
  stmt->Bind(1, name);
  const int rc = stmt->Step();
  std::optional<ServiceState> state;
  if (rc == SQLITE_ROW) state = ServiceState{stmt->Text(0), stmt->Int(1)};
  stmt->Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error(rc, "read service state");
  return state;
}

}  // namespace jobpulse
