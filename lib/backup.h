// Backups of the database (issue 13): a consistent copy of a live SQLite
// database while handlers and the worker keep writing, and a restore that
// refuses to run while anything else has the database open.
//
// The copy is taken with SQLite's online backup API in one step, that is from
// one read snapshot: in WAL mode a reader holds no writer up, so the service
// goes on while the copy is made, and the copy is the database as of one
// commit. It is written beside its destination and renamed into place once it
// has passed PRAGMA integrity_check, so a backup file is whole or absent.
//
// Thread-safety: free functions; each opens its own connections.
#ifndef JOBPULSE_LIB_BACKUP_H_
#define JOBPULSE_LIB_BACKUP_H_

#include <cstdint>
#include <string>

#include "lib/status.h"

namespace jobpulse {

// What a backup or a restore copied.
struct BackupReport {
  int64_t bytes = 0;       // the copy's size
  int schema_version = 0;  // its PRAGMA user_version
  int64_t jobs = 0;        // rows of jobs in the copy
  int64_t events = 0;      // rows of events in the copy
  int64_t queue_entries = 0;
};

// Copies the database at `db_path` to `backup_path` (mode 0600; an existing
// file there is replaced only once the new copy is complete and checked).
// Errors: kUnavailable "backup_failed" naming the path and SQLite's message
// (a missing database, an unwritable destination, a database busy past 5 s);
// kInternal "backup_failed" when the copy fails its integrity check.
Result<BackupReport> BackupDatabase(const std::string& db_path, const std::string& backup_path);

// Replaces the database at `db_path` with the copy at `backup_path`, after
// checking the copy (integrity, a jobpulse schema no newer than this
// binary's). The database keeps WAL mode and 0600. Errors: kConflict
// "database_in_use" while another connection has the database open (a
// running worker or handler: stop the service first); kInvalidArgument
// "invalid_backup" for a copy that is not a sound jobpulse database;
// kUnavailable "restore_failed" for I/O failures.
Result<BackupReport> RestoreDatabase(const std::string& backup_path, const std::string& db_path);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_BACKUP_H_
