// Moving an existing SQLite database to PostgreSQL (issue 12):
// `jobpulse-worker --migrate-to URL` copies the data of database.path into
// an empty PostgreSQL database, in one PostgreSQL transaction, so a target
// has either all of it or none of it.
//
// What is copied, in this order, every row and every column:
//   jobs, events (ids kept), webhook_inbox (applied, pending and rejected
//   deliveries alike), queue (the submissions: their stored create request,
//   input digest, idempotency key and its expiry are columns of the entry;
//   there is no other queue table), counters.
// What is not, and why:
//   leases         bound to live processes of the old database (a dead
//                  owner's lease means nothing to the new one);
//   service_state  the worker's heartbeat, poller status, circuits, the last
//                  sync's result, cached webhook secret, event-stream client
//                  count, health probe: live state or caches that the
//                  processes write again within seconds of starting on the
//                  new database, where old values would only mislead;
//   the search of `q` (job_search and its FTS5 shadow tables,
//                  job_search_rows, job_search_pending): SQLite only, the
//                  PostgreSQL engine searches the jobs table itself;
//   sqlite_sequence, sqlite_stat*: SQLite's own bookkeeping (the events'
//                  sequence is carried over, below).
// Any other table in the SQLite file is an error (kInternal
// "migration_schema_mismatch" naming it): a table added later must be
// copied or knowingly skipped here, never dropped by omission.
//
// Columns: each copied table's column list is read from the SQLite file
// itself (PRAGMA table_info) and checked against the PostgreSQL table
// (information_schema.columns): the same names, with TEXT as text, INTEGER
// as bigint and REAL as double precision. A column on one side only, or of
// another type, fails the migration with kInternal
// "migration_schema_mismatch" naming the table and the column, before
// anything is written: data is never dropped silently.
//
// Text that PostgreSQL's text refuses (invalid UTF-8, NUL) is repaired as
// PgSafeText does (U+FFFD) rather than failing the copy; the SQLite file
// keeps the original bytes.
//
// Events: ids are kept, and afterwards the events identity continues after
// the larger of the largest id copied and SQLite's AUTOINCREMENT high mark
// (sqlite_sequence; larger only when the newest events were deleted), so the
// next AppendEvent gets that number + 1 and no id is ever handed out twice.
#ifndef JOBPULSE_LIB_PG_MIGRATE_H_
#define JOBPULSE_LIB_PG_MIGRATE_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lib/status.h"

namespace jobpulse {

// What a migration copied.
struct MigrationReport {
  struct Table {
    std::string name;
    int64_t rows = 0;  // rows copied (equal on both sides, checked)
  };
  std::vector<Table> tables;  // in the order of MigratedTables()
  // The source's schema version as found (an older one was brought up to
  // date before the copy).
  int sqlite_schema_version = 0;
  int64_t next_event_id = 1;  // the id the next AppendEvent on PostgreSQL gets
  double seconds = 0;         // the copy's wall time, connection included
};

// Copies the SQLite database at `sqlite_path` into the PostgreSQL database
// `url` (a postgresql:// URL or libpq key=value pairs), as the header
// comment says.
//
// The source: opened read-only, never created (a missing file is an error).
// A database of an older jobpulse schema version is first brought up to
// date by opening it as every jobpulse process does (the one write this
// makes to it: the same migration the worker would apply at its next start);
// a newer version than this binary knows, or a file that is no jobpulse
// database (version 0), is refused with kInvalidArgument
// "invalid_migration_source". The tables are read in one read snapshot, so
// a worker still writing to the file does not tear the copy.
//
// The target: PostgreSQL's schema is created or brought up to date first
// (MigratePg). Inside the copy's transaction the copied tables are locked
// against writers (EXCLUSIVE mode; lock_timeout 5 s), and if any of them
// already has a row the migration fails with kConflict "database_not_empty"
// naming that table, writing nothing. After the inserts each table's row
// count is compared with SQLite's in the snapshot; a difference fails the
// migration (kInternal "migration_count_mismatch") and rolls everything
// back.
//
// Errors name the target with its password replaced by "***" (URL or
// password=...), never the password; PostgreSQL's own failures keep their
// class (lib/pg_db.h: database_unavailable for a refused connection, ...).
// On any failure the target holds none of the copied rows.
//
// Thread-safety: opens connections of its own; any thread.
Result<MigrationReport> MigrateSqliteToPostgres(const std::string& sqlite_path,
                                                const std::string& url);

// The tables copied, in the order copied.
std::span<const char* const> MigratedTables();

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PG_MIGRATE_H_
