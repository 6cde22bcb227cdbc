// The SQLite schema and its migrations, oldest first (SqliteDb::Open applies
// the missing ones in one transaction and sets PRAGMA user_version).
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
#include <iterator>

#include "lib/sqlite_store.h"

namespace jobpulse {
namespace {

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

}  // namespace

static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion);

std::span<const char* const> SqliteMigrations() { return kMigrations; }

}  // namespace jobpulse
