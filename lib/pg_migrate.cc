// The SQLite-to-PostgreSQL copy (lib/pg_migrate.h has the contract).
//
// Rows go in as multi-row INSERTs of text parameters: one round trip for
// hundreds of rows, and at most two statement texts per table (a full batch
// and the last one), each prepared once on the connection. COPY would be
// faster still but needs libpq's copy protocol in lib/pg_db.h, which the
// rest of the engine has no use for.
#include "lib/pg_migrate.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <memory>
#include <string_view>

#include "lib/pg_db.h"
#include "lib/pg_schema.h"
#include "lib/sqlite_db.h"
#include "lib/sqlite_store.h"

namespace jobpulse {
namespace {

constexpr const char* kCopied[] = {"jobs", "events", "webhook_inbox", "queue", "counters"};
// Skipped on purpose (pg_migrate.h says why): whole names, then prefixes
// (the FTS5 index's shadow tables, SQLite's own sqlite_sequence/sqlite_stat*).
constexpr std::string_view kSkipped[] = {"leases", "service_state"};
constexpr std::string_view kSkippedPrefixes[] = {"job_search", "sqlite_"};

// PostgreSQL takes at most 65535 parameters a statement; rows a batch stay
// well under that and keep a batch of 64 KiB log tails near 16 MiB.
constexpr int kMaxParams = 65535;
constexpr int kMaxBatchRows = 250;

struct Column {
  std::string name;
  std::string type;  // SQLite's declared type: TEXT, INTEGER or REAL (STRICT tables)
};

Status Mismatch(const std::string& message) {
  return Status::Error(Status::Code::kInternal, "migration_schema_mismatch",
                       message + "; nothing was copied");
}

Status BadSource(const std::string& path, const std::string& why) {
  return Status::Error(Status::Code::kInvalidArgument, "invalid_migration_source",
                       "cannot migrate " + path + ": " + why);
}

// `s` with `context` before its message, its class kept.
Status InContext(const Status& s, const std::string& context) {
  Status out = Status::Error(s.code(), s.error(), context + ": " + s.message(), s.details());
  out.set_retry_after_seconds(s.retry_after_seconds());
  return out;
}

bool Skipped(std::string_view table) {
  if (std::find(std::begin(kSkipped), std::end(kSkipped), table) != std::end(kSkipped)) {
    return true;
  }
  return std::any_of(std::begin(kSkippedPrefixes), std::end(kSkippedPrefixes),
                     [&](std::string_view p) { return table.substr(0, p.size()) == p; });
}

// The source, read-only and at this binary's schema version. An older
// version is migrated by a normal open first, so the column check compares
// like with like instead of failing on columns a later version added.
Result<std::unique_ptr<SqliteDb>> OpenSource(const std::string& path, int* version) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto db = SqliteDb::OpenReadOnly(path);
    if (!db.ok()) return db.status();
    auto v = (*db)->QueryInt("PRAGMA user_version", "PRAGMA user_version");
    if (!v.ok()) return InContext(v.status(), "cannot migrate " + path);
    if (attempt == 0) *version = static_cast<int>(*v);  // as found, before an upgrade
    if (*v == SqliteStore::kSchemaVersion) return std::move(*db);
    if (*v == 0) return BadSource(path, "not a jobpulse database (schema version 0)");
    if (*v > SqliteStore::kSchemaVersion) {
      return BadSource(path, "schema version " + std::to_string(*v) +
                                 " is newer than this binary supports (" +
                                 std::to_string(SqliteStore::kSchemaVersion) + ")");
    }
    db->reset();
    auto upgraded = SqliteDb::Open(path, SqliteMigrations());
    if (!upgraded.ok()) return upgraded.status();
  }
  return BadSource(path, "the schema could not be brought up to date");
}

// Every table of the SQLite file is copied or knowingly skipped.
Status CheckSourceTables(SqliteDb& db) {
  Query q = db.Prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  if (!q.ok()) return q.status();
  for (;;) {
    auto row = q->Step("list the SQLite tables");
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    const std::string table = q->Text(0);
    const bool copied =
        std::find(std::begin(kCopied), std::end(kCopied), table) != std::end(kCopied);
    if (!copied && !Skipped(table)) {
      return Mismatch("the SQLite table " + table + " is neither copied nor knowingly skipped");
    }
  }
}

const char* PgType(std::string_view sqlite_type) {
  if (sqlite_type == "TEXT") return "text";
  if (sqlite_type == "INTEGER") return "bigint";
  if (sqlite_type == "REAL") return "double precision";
  return nullptr;
}

// The columns of `table`, in SQLite's order, once both sides agree on them.
Result<std::vector<Column>> CheckedColumns(SqliteDb& sqlite, PgConnection& pg,
                                           const std::string& table) {
  std::vector<Column> columns;
  {
    Query q = sqlite.Prepare("SELECT name, upper(type) FROM pragma_table_info(?1) ORDER BY cid");
    if (!q.ok()) return q.status();
    q->Bind(1, table);
    for (;;) {
      auto row = q->Step("read the SQLite columns");
      if (!row.ok()) return row.status();
      if (!*row) break;
      columns.push_back({q->Text(0), q->Text(1)});
    }
  }
  if (columns.empty()) return Mismatch("the SQLite database has no table " + table);
  auto pg_rows = pg.Query(
      "SELECT column_name, data_type FROM information_schema.columns "
      "WHERE table_schema = current_schema() AND table_name = $1",
      {table}, "read the PostgreSQL columns");
  if (!pg_rows.ok()) return pg_rows.status();
  std::map<std::string, std::string> pg_columns;
  for (int r = 0; r < pg_rows->size(); ++r) pg_columns[pg_rows->Text(r, 0)] = pg_rows->Text(r, 1);
  for (const Column& c : columns) {
    auto it = pg_columns.find(c.name);
    if (it == pg_columns.end()) {
      return Mismatch("column " + table + "." + c.name + " is in SQLite but not in PostgreSQL");
    }
    const char* want = PgType(c.type);
    if (want == nullptr || it->second != want) {
      return Mismatch("column " + table + "." + c.name + " is " + c.type + " in SQLite but " +
                      it->second + " in PostgreSQL");
    }
    pg_columns.erase(it);
  }
  if (!pg_columns.empty()) {
    return Mismatch("column " + table + "." + pg_columns.begin()->first +
                    " is in PostgreSQL but not in SQLite");
  }
  return columns;
}

// The copied tables locked against writers, and all of them empty.
Status LockEmptyTarget(PgConnection& pg) {
  std::string tables;
  for (const char* t : kCopied) tables += std::string(tables.empty() ? "" : ", ") + t;
  if (Status s =
          pg.Exec("SET LOCAL lock_timeout = '5s'; LOCK TABLE " + tables + " IN EXCLUSIVE MODE",
                  "lock the target tables");
      !s.ok()) {
    return s;
  }
  for (const char* t : kCopied) {
    auto rows = pg.Query(std::string("SELECT EXISTS (SELECT 1 FROM ") + t + ")", {},
                         "check the target is empty");
    if (!rows.ok()) return rows.status();
    if (rows->Text(0, 0) == "t") {
      return Status::Error(Status::Code::kConflict, "database_not_empty",
                           std::string("the PostgreSQL table ") + t +
                               " already has rows: migrate into an empty database (nothing was "
                               "copied)");
    }
  }
  return Status::Ok();
}

std::string InsertText(const std::string& table, const std::vector<Column>& columns, int rows) {
  std::string sql = "INSERT INTO " + table + " (";
  for (size_t c = 0; c < columns.size(); ++c) sql += (c ? ", " : "") + columns[c].name;
  // events.id is GENERATED ALWAYS: the kept ids need the override.
  sql += table == "events" ? ") OVERRIDING SYSTEM VALUE VALUES " : ") VALUES ";
  int n = 0;
  for (int r = 0; r < rows; ++r) {
    sql += r ? ",(" : "(";
    for (size_t c = 0; c < columns.size(); ++c) sql += (c ? ",$" : "$") + std::to_string(++n);
    sql += ")";
  }
  return sql;
}

// Streams `table`'s rows from the snapshot into batched INSERTs; the rows read.
Result<int64_t> CopyTable(SqliteDb& sqlite, PgConnection& pg, const std::string& table,
                          const std::vector<Column>& columns) {
  std::string select = "SELECT ";
  for (size_t c = 0; c < columns.size(); ++c) select += (c ? ", " : "") + columns[c].name;
  select += " FROM " + table;
  Query q = sqlite.Prepare(select);
  if (!q.ok()) return q.status();
  const int width = static_cast<int>(columns.size());
  const int batch_rows = std::max(1, std::min(kMaxBatchRows, kMaxParams / width));
  const std::string full_batch = InsertText(table, columns, batch_rows);
  std::vector<PgParam> params;
  params.reserve(static_cast<size_t>(batch_rows * width));
  int64_t copied = 0;
  auto flush = [&]() -> Status {
    const int rows = static_cast<int>(params.size()) / width;
    if (rows == 0) return Status::Ok();
    auto done = pg.Query(rows == batch_rows ? full_batch : InsertText(table, columns, rows), params,
                         "copy " + table);
    params.clear();
    if (!done.ok()) return done.status();
    copied += rows;
    return Status::Ok();
  };
  for (;;) {
    auto row = q->Step(("read " + table).c_str());
    if (!row.ok()) return row.status();
    if (!*row) break;
    for (int c = 0; c < width; ++c) {
      const std::string& type = columns[c].type;
      if (q->IsNull(c)) {
        params.emplace_back(std::nullopt);
      } else if (type == "INTEGER") {
        params.emplace_back(std::to_string(q->Int(c)));
      } else if (type == "REAL") {
        params.emplace_back(PgDouble(q->Real(c)));
      } else {
        params.emplace_back(q->Text(c));
      }
    }
    if (static_cast<int>(params.size()) == batch_rows * width) {
      if (Status s = flush(); !s.ok()) return s;
    }
  }
  if (Status s = flush(); !s.ok()) return s;
  return copied;
}

// Each table holds on PostgreSQL what it holds in the snapshot, and what was read.
Status CheckCount(SqliteDb& sqlite, PgConnection& pg, const std::string& table, int64_t read) {
  auto source = sqlite.QueryInt("SELECT count(*) FROM " + table, "count the SQLite rows");
  if (!source.ok()) return source.status();
  auto target = pg.Query("SELECT count(*) FROM " + table, {}, "count the PostgreSQL rows");
  if (!target.ok()) return target.status();
  const int64_t copied = target->Int(0, 0);
  if (copied != *source || read != *source) {
    return Status::Error(Status::Code::kInternal, "migration_count_mismatch",
                         table + ": " + std::to_string(*source) + " rows in SQLite, " +
                             std::to_string(read) + " read, " + std::to_string(copied) +
                             " in PostgreSQL; nothing was copied");
  }
  return Status::Ok();
}

// The events identity continues after every id SQLite handed out; returns
// the next id.
Result<int64_t> ContinueEventIds(SqliteDb& sqlite, PgConnection& pg) {
  auto high = sqlite.QueryInt(
      "SELECT max(coalesce((SELECT max(id) FROM events), 0), "
      "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0))",
      "read the events' high mark");
  if (!high.ok()) return high.status();
  if (*high == 0) return int64_t{1};
  auto set = pg.Query("SELECT setval(pg_get_serial_sequence('events', 'id'), $1)",
                      {std::to_string(*high)}, "continue the event ids");
  if (!set.ok()) return set.status();
  return *high + 1;
}

// The copy itself, inside `pg`'s transaction and `sqlite`'s snapshot.
Status CopyAll(SqliteDb& sqlite, PgConnection& pg, const std::vector<std::vector<Column>>& columns,
               MigrationReport* report) {
  if (Status s = LockEmptyTarget(pg); !s.ok()) return s;
  for (size_t t = 0; t < std::size(kCopied); ++t) {
    auto copied = CopyTable(sqlite, pg, kCopied[t], columns[t]);
    if (!copied.ok()) return copied.status();
    if (Status s = CheckCount(sqlite, pg, kCopied[t], *copied); !s.ok()) return s;
    report->tables.push_back({kCopied[t], *copied});
  }
  auto next = ContinueEventIds(sqlite, pg);
  if (!next.ok()) return next.status();
  report->next_event_id = *next;
  return Status::Ok();
}

Result<MigrationReport> Migrate(const std::string& sqlite_path, const std::string& url) {
  MigrationReport report;
  auto sqlite = OpenSource(sqlite_path, &report.sqlite_schema_version);
  if (!sqlite.ok()) return sqlite.status();
  auto pg = PgConnection::Connect(url);
  if (!pg.ok()) return pg.status();
  if (Status s = MigratePg(**pg); !s.ok()) return s;
  // One read snapshot for every table and count (a deferred BEGIN: the
  // snapshot starts at the first read and never blocks the source's writers).
  SqliteDb::Transaction snapshot(**sqlite, SqliteDb::Transaction::Mode::kDeferred);
  if (!snapshot.status().ok()) return snapshot.status();
  if (Status s = CheckSourceTables(**sqlite); !s.ok()) return s;
  std::vector<std::vector<Column>> columns;
  for (const char* table : kCopied) {
    auto checked = CheckedColumns(**sqlite, **pg, table);
    if (!checked.ok()) return checked.status();
    columns.push_back(std::move(*checked));
  }
  PgConnection::Transaction txn(**pg);
  if (!txn.status().ok()) return txn.status();
  if (Status s = CopyAll(**sqlite, **pg, columns, &report); !s.ok()) return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return report;
}

}  // namespace

std::span<const char* const> MigratedTables() { return kCopied; }

Result<MigrationReport> MigrateSqliteToPostgres(const std::string& sqlite_path,
                                                const std::string& url) {
  const auto start = std::chrono::steady_clock::now();
  auto report = Migrate(sqlite_path, url);
  if (!report.ok()) {
    return InContext(report.status(), "migrate " + sqlite_path + " to " + MaskDatabaseUrl(url));
  }
  report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace jobpulse
