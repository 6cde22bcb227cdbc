// The PostgreSQL schema (issue 12) and its migration runner, the counterpart
// of sqlite_schema.cc and SqliteDb's Migrate: the tables of the SQLite engine
// under the same names, columns and meanings (pg_schema.cc lists them).
//
// MigratePg brings a database to kPgSchemaVersion in one transaction that
// first takes a transaction-scoped advisory lock (kPgMigrationLockKey), so
// that when several processes start together exactly one of them applies
// the missing migrations and the others, once it committed, find nothing to
// do. The version is the one row of the table schema_version (version
// integer NOT NULL), created with version 0 when missing. The tables are
// made in the connection's current schema (the first of its search_path,
// normally public).
//
// Returns: ok once the database is at kPgSchemaVersion (nothing is written
// when it already was). Failures: a database at a newer version than this
// binary knows is refused, unchanged, with kUnavailable
// "database_unavailable" ("schema version N is newer than this binary
// supports (M)"); every other failure is the connection's Status
// (lib/pg_db.h: database_busy when the lock or a statement timed out,
// database_unavailable for a lost connection, ...), and the transaction is
// rolled back: nothing of a failed migration stays.
//
// Thread-safety: MigratePg uses its one connection from the calling thread;
// calls on different connections, in any processes, may run at the same time.
#ifndef JOBPULSE_LIB_PG_SCHEMA_H_
#define JOBPULSE_LIB_PG_SCHEMA_H_

#include <cstdint>
#include <span>

#include "lib/pg_db.h"
#include "lib/status.h"

namespace jobpulse {

// The schema version MigratePg migrates to: the number of PgMigrations().
inline constexpr int kPgSchemaVersion = 2;

// The key of the advisory lock MigratePg holds while it migrates: the ASCII
// bytes of "jobpulse" as a big-endian 64-bit integer (0x6a6f6270756c7365).
// Fixed forever: binaries of different versions must take the same lock.
inline constexpr int64_t kPgMigrationLockKey = 0x6a6f6270756c7365;

// Brings the database of `db` to kPgSchemaVersion (see above). `db` must not
// be inside a transaction.
Status MigratePg(PgConnection& db);

// The migrations, oldest first; migration i (0-based) brings version i to
// i + 1. For tests.
std::span<const char* const> PgMigrations();

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PG_SCHEMA_H_
