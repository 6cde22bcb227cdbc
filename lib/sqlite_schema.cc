// The SQLite schema and its migrations, oldest first (SqliteDb::Open applies
// the missing ones in one transaction and sets PRAGMA user_version).
//
// Schema (PRAGMA user_version = 9), all STRICT tables:
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
//                  (v5) jobs gains rate and eta_seconds (SPEC §5 step 6),
//                  derived with stage and progress.
//   job_search     (v5) FTS5 trigram index of the four fields `q` searches
//                  (SPEC §9), keyed by job_id; answers selective searches.
//   job_search_rows (v6) the list's columns and the searched text, one narrow
//                  row per job keyed by (created_at, job_id): answers the
//                  searches that match many jobs or are too short for trigrams.
//                  job_search_fields is the view it is filled from.
//   queue          (v7) the submission queue (lib/queue_store.h), one entry
//                  per submitted job; closed by trigger with its job.
//                  (v8) sent_at: when the create of the current attempt was
//                  about to be sent, so a dispatch a dead worker left is known
//                  to have never reached the provider (sent_at NULL).
//   job_search_pending (v8) jobs whose trigram rows are to be rewritten: the
//                  jobs triggers note them, IndexPendingSearches indexes them
//                  in batches.
//   counters       (v9) the operational counters of every process
//                  (lib/counters.h), one row per series (name and Prometheus
//                  label text) holding its sum; GET
//                  /api/cloud/metrics/prometheus reads them.
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
    // 5: the speed and time left of the bar that set progress (rows from
    // before have none until their next log), and the search index of `q`
    // (SPEC §9): a trigram full-text table over the four searched fields, so
    // a substring of 3 characters or more is an index lookup, not a scan of
    // every job. It is keyed by job_id, never by the jobs rowid (VACUUM may
    // renumber those); a row's entry is found through the job_id column's
    // own trigrams (ids shorter than 3 characters by a scan: they are rare).
    // The update trigger fires only when a searched field changes, not on
    // every merge write.
    R"sql(
ALTER TABLE jobs ADD COLUMN rate REAL;
ALTER TABLE jobs ADD COLUMN eta_seconds INTEGER;
CREATE VIRTUAL TABLE job_search USING fts5(job_id, external_id, config_name, model,
  tokenize = 'trigram');
INSERT INTO job_search (job_id, external_id, config_name, model)
  SELECT job_id, coalesce(external_id, ''), coalesce(config_name, ''),
         coalesce(CASE WHEN json_valid(metadata) THEN json_extract(metadata, '$.model') END, '')
  FROM jobs;
CREATE TRIGGER jobs_search_insert AFTER INSERT ON jobs BEGIN
  INSERT INTO job_search (job_id, external_id, config_name, model)
  VALUES (new.job_id, coalesce(new.external_id, ''), coalesce(new.config_name, ''),
          coalesce(CASE WHEN json_valid(new.metadata)
                   THEN json_extract(new.metadata, '$.model') END, ''));
END;
CREATE TRIGGER jobs_search_delete AFTER DELETE ON jobs BEGIN
  DELETE FROM job_search WHERE job_id = old.job_id AND rowid IN (
    SELECT rowid FROM job_search WHERE job_search MATCH 'job_id:"' || old.job_id || '"'
    UNION ALL SELECT rowid FROM job_search WHERE length(old.job_id) < 3);
END;
CREATE TRIGGER jobs_search_update AFTER UPDATE ON jobs
  WHEN old.job_id IS NOT new.job_id OR old.external_id IS NOT new.external_id
    OR old.config_name IS NOT new.config_name
    OR (CASE WHEN json_valid(old.metadata) THEN json_extract(old.metadata, '$.model') END)
       IS NOT (CASE WHEN json_valid(new.metadata) THEN json_extract(new.metadata, '$.model') END)
BEGIN
  DELETE FROM job_search WHERE job_id = old.job_id AND rowid IN (
    SELECT rowid FROM job_search WHERE job_search MATCH 'job_id:"' || old.job_id || '"'
    UNION ALL SELECT rowid FROM job_search WHERE length(old.job_id) < 3);
  INSERT INTO job_search (job_id, external_id, config_name, model)
  VALUES (new.job_id, coalesce(new.external_id, ''), coalesce(new.config_name, ''),
          coalesce(CASE WHEN json_valid(new.metadata)
                   THEN json_extract(new.metadata, '$.model') END, ''));
END;
)sql",
    // 6: a narrow copy of what the list filters on and shows in order, for
    // the searches the trigram index cannot answer cheaply (a word in most
    // jobs, one or two characters): counting reads ~70 bytes a job instead
    // of the wide jobs rows, and its key is the list's order, so a page of a
    // broad match stops after the page. `text` holds the four searched fields
    // joined by newlines (a search text has none; the external id is left out
    // where it repeats the job id), written by one view for the backfill and
    // both triggers. The triggers fire only when one of the copied columns
    // changes, not on every merge write.
    R"sql(
CREATE TABLE job_search_rows (
  created_at INTEGER NOT NULL,
  job_id TEXT NOT NULL,
  status TEXT NOT NULL,
  provider TEXT,
  job_type TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (created_at, job_id)
) WITHOUT ROWID, STRICT;
CREATE UNIQUE INDEX job_search_rows_job_id ON job_search_rows(job_id);
CREATE VIEW job_search_fields AS
  SELECT created_at, job_id, status, provider, job_type,
         job_id || char(10) || CASE WHEN external_id IS job_id THEN '' ELSE coalesce(external_id, '') END
           || char(10) || coalesce(config_name, '') || char(10)
           || coalesce(CASE WHEN json_valid(metadata) THEN json_extract(metadata, '$.model') END, '')
           AS text
  FROM jobs;
INSERT INTO job_search_rows SELECT * FROM job_search_fields;
CREATE TRIGGER jobs_search_rows_insert AFTER INSERT ON jobs BEGIN
  INSERT INTO job_search_rows SELECT * FROM job_search_fields WHERE job_id = new.job_id;
END;
CREATE TRIGGER jobs_search_rows_delete AFTER DELETE ON jobs BEGIN
  DELETE FROM job_search_rows WHERE job_id = old.job_id;
END;
CREATE TRIGGER jobs_search_rows_update AFTER UPDATE ON jobs
  WHEN old.job_id IS NOT new.job_id OR old.created_at IS NOT new.created_at
    OR old.status IS NOT new.status OR old.provider IS NOT new.provider
    OR old.job_type IS NOT new.job_type OR old.external_id IS NOT new.external_id
    OR old.config_name IS NOT new.config_name
    OR (CASE WHEN json_valid(old.metadata) THEN json_extract(old.metadata, '$.model') END)
       IS NOT (CASE WHEN json_valid(new.metadata) THEN json_extract(new.metadata, '$.model') END)
BEGIN
  DELETE FROM job_search_rows WHERE job_id = old.job_id;
  INSERT INTO job_search_rows SELECT * FROM job_search_fields WHERE job_id = new.job_id;
END;
)sql",
    // 7: the submission queue (SPEC §12), one entry per submitted job. The
    // entry closes in the same transaction as its job's move to a terminal
    // status, by trigger, so every path (poll, webhook, sync, cancel) closes
    // it and none can forget to. `request` is the provider create to send;
    // `input_digest` identifies a run made by a create whose answer was lost.
    R"sql(
CREATE TABLE queue (
  job_id TEXT PRIMARY KEY,
  user_id TEXT,
  provider TEXT NOT NULL,
  priority INTEGER NOT NULL,
  status TEXT NOT NULL,
  queued_at INTEGER NOT NULL,
  dispatched_at INTEGER,
  closed_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  error_message TEXT,
  request TEXT NOT NULL,
  input_digest TEXT NOT NULL,
  idempotency_key TEXT,
  idempotency_until INTEGER
) STRICT;
CREATE INDEX queue_waiting ON queue(priority DESC, queued_at, job_id) WHERE status = 'waiting';
CREATE INDEX queue_open ON queue(status) WHERE status <> 'closed';
CREATE INDEX queue_user_running ON queue(user_id)
  WHERE status IN ('dispatching', 'dispatched');
CREATE UNIQUE INDEX queue_idempotency_key ON queue(idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE TRIGGER jobs_close_queue_entry AFTER UPDATE OF status ON jobs
  WHEN new.status IN ('completed', 'failed', 'cancelled')
    AND old.status NOT IN ('completed', 'failed', 'cancelled')
BEGIN
  UPDATE queue SET status = 'closed', closed_at = new.updated_at
    WHERE job_id = new.job_id AND status <> 'closed';
END;
CREATE TRIGGER jobs_delete_queue_entry AFTER DELETE ON jobs BEGIN
  DELETE FROM queue WHERE job_id = old.job_id;
END;
)sql",
    // 8: the moment a dispatch's create is sent (SPEC §12's reconciliation:
    // an entry left dispatching with no sent_at made no run); an index that
    // answers one entry's position, and the count of entries in a status, by
    // range counts on the index alone (the partial queue_waiting index made
    // SQLite read every waiting row for them). And the trigram index is kept
    // in batches: a write of a job only notes it in job_search_pending, and
    // IndexPendingSearches (the worker, often; a search, first) rewrites the
    // noted jobs' rows in one transaction. Kept in each write, the trigram
    // insert was most of a submission's time under the write lock (B7: 1,600
    // submissions/s with it, 2,570 without) and of a webhook's (B5).
    R"sql(
ALTER TABLE queue ADD COLUMN sent_at INTEGER;
CREATE INDEX queue_status_order ON queue(status, priority, queued_at, job_id);
CREATE TABLE job_search_pending (
  job_id TEXT PRIMARY KEY,
  indexed INTEGER NOT NULL  -- 1: the job has rows in job_search to replace
) WITHOUT ROWID, STRICT;
DROP TRIGGER jobs_search_insert;
DROP TRIGGER jobs_search_update;
CREATE TRIGGER jobs_search_insert AFTER INSERT ON jobs BEGIN
  INSERT OR IGNORE INTO job_search_pending (job_id, indexed) VALUES (new.job_id, 0);
END;
CREATE TRIGGER jobs_search_update AFTER UPDATE ON jobs
  WHEN old.job_id IS NOT new.job_id OR old.external_id IS NOT new.external_id
    OR old.config_name IS NOT new.config_name
    OR (CASE WHEN json_valid(old.metadata) THEN json_extract(old.metadata, '$.model') END)
       IS NOT (CASE WHEN json_valid(new.metadata) THEN json_extract(new.metadata, '$.model') END)
BEGIN
  INSERT OR IGNORE INTO job_search_pending (job_id, indexed) VALUES (old.job_id, 1);
  INSERT OR IGNORE INTO job_search_pending (job_id, indexed) VALUES (new.job_id, 1);
END;
)sql",
    // 9: the operational counters, summed here by every process (handlers
    // come and go; a scrape may reach any of them).
    R"sql(
CREATE TABLE counters (
  name TEXT NOT NULL,
  labels TEXT NOT NULL,
  value REAL NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (name, labels)
) WITHOUT ROWID, STRICT;
)sql",
};

}  // namespace

static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion);

std::span<const char* const> SqliteMigrations() { return kMigrations; }

}  // namespace jobpulse
