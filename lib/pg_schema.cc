// The PostgreSQL schema and its migrations, oldest first (MigratePg applies
// the missing ones in one transaction under an advisory lock and records the
// version in schema_version). Nothing was ever released on PostgreSQL, so
// version 1 is the final state of the SQLite schema (sqlite_schema.cc, v9)
// in one step: its history (ALTERs, backfills of older rows) has no rows to
// apply to here.
//
// Version 2 adds the wake-ups of lib/store.h's Listen: triggers that notify
// 'jobpulse_events' when events are appended, and 'jobpulse_work' when a
// webhook delivery is stored, the queue changes, someone watches a job
// (jobs.progress_wanted_at) or a handler asks for a queue pass
// (service_state 'queue_pass_request'). SQLite has no counterpart: there a
// handler pokes the worker's datagram socket.
//
// Schema (schema_version = 1). Tables, columns, indexes and triggers carry
// the SQLite names, in the SQLite column order, with the same meanings (read
// sqlite_schema.cc for those); the types translate TEXT -> text, INTEGER ->
// bigint (timestamps in microseconds since the epoch, counters, and the 0/1
// flag output_truncated alike: SQLite's INTEGER is 64-bit), REAL -> double
// precision. Every text column is COLLATE "C": SQLite compares text byte by
// byte (BINARY), and the store's orders (job_id ties in the list and the
// queue, counters by name and labels) must not depend on the locale the
// database was created with.
//   jobs           one row per job, every column of SQLite's v1..v5.
//                  Indexes: UNIQUE (provider, external_id) (NULLs distinct,
//                  as in SQLite); status; (created_at DESC, job_id DESC);
//                  progress_wanted_at where set.
//   events         the event log of SPEC §8. id is GENERATED ALWAYS AS
//                  IDENTITY, SQLite's AUTOINCREMENT: a sequence, so ids only
//                  grow and are never reused after pruning; the ids handed
//                  out are the sequence's (sqlite_sequence there). Unlike
//                  SQLite's, a rolled-back insert leaves a gap, and ids are
//                  taken at insert, not at commit: concurrent writers may
//                  commit 5 before 4, which the PostgreSQL event store must
//                  allow for before a reader resumes "after id 5".
//   service_state  small named values shared between processes.
//   leases         named, expiring locks held across processes.
//   webhook_inbox  raw webhook deliveries keyed by webhook-id; index of the
//                  pending ones (neither applied nor rejected).
//   queue          the submission queue (lib/queue_store.h), every column of
//                  SQLite's v7 and v8 (sent_at), with its five indexes. An
//                  entry closes with its job by trigger, as in SQLite:
//                  jobs_close_queue_entry (a job's status moves from a
//                  non-terminal to a terminal one: the entry, unless closed,
//                  becomes 'closed' with closed_at = the job's updated_at) and
//                  jobs_delete_queue_entry (a deleted job takes its entry
//                  along), each a plpgsql function and a row trigger of the
//                  same name.
//   counters       the operational counters (lib/counters.h), one row per
//                  series, PRIMARY KEY (name, labels).
// Left out: the search of `q` (SQLite's job_search FTS5 table,
// job_search_rows, the job_search_fields view, job_search_pending and the
// jobs_search_* triggers). Search on PostgreSQL will be designed later
// (pg_trgm, or a tsvector) and comes as a migration of its own.
//
// SQLite has no CHECK constraints in this schema, so neither has this one;
// its STRICT column types are PostgreSQL's own column types.
#include "lib/pg_schema.h"

#include <iterator>
#include <string>

namespace jobpulse {
namespace {

const char* const kMigrations[] = {
    // 1: the SQLite schema of v9 but search.
    R"sql(
CREATE TABLE jobs (
  job_id text COLLATE "C" PRIMARY KEY,
  job_type text COLLATE "C" NOT NULL DEFAULT 'cloud',
  provider text COLLATE "C",
  external_id text COLLATE "C",
  status text COLLATE "C" NOT NULL,
  config_name text COLLATE "C",
  created_at bigint NOT NULL,
  started_at bigint,
  completed_at bigint,
  cost_usd double precision,
  hardware_type text COLLATE "C",
  error_message text COLLATE "C",
  output_url text COLLATE "C",
  user_id bigint,
  metadata text COLLATE "C" NOT NULL DEFAULT '{}',
  stage text COLLATE "C",
  progress double precision,
  last_log text COLLATE "C",
  logs_tail text COLLATE "C" NOT NULL DEFAULT '',
  logs_fetched_at bigint,
  progress_wanted_at bigint,
  last_progress_event_at bigint,
  unknown_provider_status text COLLATE "C",
  version bigint NOT NULL DEFAULT 1,
  updated_at bigint NOT NULL,
  poll_failures bigint NOT NULL DEFAULT 0,
  next_poll_at bigint,
  announced_stage text COLLATE "C",
  announced_progress double precision,
  log_bytes_seen bigint NOT NULL DEFAULT 0,
  output text COLLATE "C",
  output_truncated bigint NOT NULL DEFAULT 0,
  not_found_count bigint NOT NULL DEFAULT 0,
  not_found_since bigint,
  rate double precision,
  eta_seconds bigint
);
CREATE UNIQUE INDEX jobs_provider_external_id ON jobs (provider, external_id);
CREATE INDEX jobs_status ON jobs (status);
CREATE INDEX jobs_created_at ON jobs (created_at DESC, job_id DESC);
CREATE INDEX jobs_progress_wanted_at ON jobs (progress_wanted_at)
  WHERE progress_wanted_at IS NOT NULL;

CREATE TABLE events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id text COLLATE "C" NOT NULL DEFAULT '',
  type text COLLATE "C" NOT NULL,
  data text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX events_created_at ON events (created_at);

CREATE TABLE service_state (
  name text COLLATE "C" PRIMARY KEY,
  value text COLLATE "C" NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE leases (
  name text COLLATE "C" PRIMARY KEY,
  owner text COLLATE "C" NOT NULL,
  expires_at bigint NOT NULL
);

CREATE TABLE webhook_inbox (
  webhook_id text COLLATE "C" PRIMARY KEY,
  provider text COLLATE "C" NOT NULL,
  body text COLLATE "C" NOT NULL,
  received_at bigint NOT NULL,
  applied_at bigint,
  attempts bigint NOT NULL DEFAULT 0,
  last_error text COLLATE "C",
  rejected_at bigint
);
CREATE INDEX webhook_inbox_pending ON webhook_inbox (received_at)
  WHERE applied_at IS NULL AND rejected_at IS NULL;

CREATE TABLE queue (
  job_id text COLLATE "C" PRIMARY KEY,
  user_id text COLLATE "C",
  provider text COLLATE "C" NOT NULL,
  priority bigint NOT NULL,
  status text COLLATE "C" NOT NULL,
  queued_at bigint NOT NULL,
  dispatched_at bigint,
  closed_at bigint,
  attempts bigint NOT NULL DEFAULT 0,
  next_attempt_at bigint,
  error_message text COLLATE "C",
  request text COLLATE "C" NOT NULL,
  input_digest text COLLATE "C" NOT NULL,
  idempotency_key text COLLATE "C",
  idempotency_until bigint,
  sent_at bigint
);
CREATE INDEX queue_waiting ON queue (priority DESC, queued_at, job_id) WHERE status = 'waiting';
CREATE INDEX queue_open ON queue (status) WHERE status <> 'closed';
CREATE INDEX queue_user_running ON queue (user_id)
  WHERE status IN ('dispatching', 'dispatched');
CREATE UNIQUE INDEX queue_idempotency_key ON queue (idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX queue_status_order ON queue (status, priority, queued_at, job_id);

-- A job's move to a terminal status closes its entry in the same
-- transaction, whatever path (poll, webhook, sync, cancel) made it.
CREATE FUNCTION jobs_close_queue_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE queue SET status = 'closed', closed_at = NEW.updated_at
    WHERE job_id = NEW.job_id AND status <> 'closed';
  RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_close_queue_entry AFTER UPDATE OF status ON jobs FOR EACH ROW
  WHEN (NEW.status IN ('completed', 'failed', 'cancelled')
        AND OLD.status NOT IN ('completed', 'failed', 'cancelled'))
  EXECUTE FUNCTION jobs_close_queue_entry();
CREATE FUNCTION jobs_delete_queue_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM queue WHERE job_id = OLD.job_id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_delete_queue_entry AFTER DELETE ON jobs FOR EACH ROW
  EXECUTE FUNCTION jobs_delete_queue_entry();

CREATE TABLE counters (
  name text COLLATE "C" NOT NULL,
  labels text COLLATE "C" NOT NULL,
  value double precision NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (name, labels)
);
)sql",

    // 2: wake-ups (lib/store.h Listen). Statement triggers, so a batch of
    // rows is one notification; PostgreSQL sends them at commit and folds
    // repeats within a transaction.
    R"sql(
CREATE FUNCTION notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('jobpulse_events', '');
  RETURN NULL;
END $$;
CREATE FUNCTION notify_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('jobpulse_work', '');
  RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION notify_events();
CREATE TRIGGER webhook_inbox_notify AFTER INSERT ON webhook_inbox
  FOR EACH STATEMENT EXECUTE FUNCTION notify_work();
CREATE TRIGGER queue_notify AFTER INSERT OR UPDATE OR DELETE ON queue
  FOR EACH STATEMENT EXECUTE FUNCTION notify_work();
CREATE TRIGGER jobs_demand_notify AFTER UPDATE OF progress_wanted_at ON jobs
  FOR EACH STATEMENT EXECUTE FUNCTION notify_work();
CREATE TRIGGER service_state_notify AFTER INSERT OR UPDATE ON service_state
  FOR EACH ROW WHEN (NEW.name = 'queue_pass_request') EXECUTE FUNCTION notify_work();
)sql",
};

static_assert(std::size(kMigrations) == kPgSchemaVersion);

constexpr const char* kWhat = "migrate the PostgreSQL schema";

}  // namespace

std::span<const char* const> PgMigrations() { return kMigrations; }

Status MigratePg(PgConnection& db) {
  const int latest = static_cast<int>(PgMigrations().size());
  // READ COMMITTED: each statement takes a fresh snapshot, so the reads after
  // the lock see whatever the previous holder committed (a REPEATABLE READ
  // snapshot would predate the wait and find the table still missing).
  PgConnection::Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  // Released by the commit or the rollback, never held past this call.
  if (Status s =
          db.Exec("SELECT pg_advisory_xact_lock(" + std::to_string(kPgMigrationLockKey) + ")",
                  "lock the schema for migration");
      !s.ok()) {
    return s;
  }
  if (Status s = db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);"
                         "INSERT INTO schema_version (version) SELECT 0 "
                         "WHERE NOT EXISTS (SELECT 1 FROM schema_version)",
                         "create schema_version");
      !s.ok()) {
    return s;
  }
  auto rows = db.Query("SELECT version FROM schema_version", {}, "read schema_version");
  if (!rows.ok()) return rows.status();
  if (rows->size() != 1) {
    return Status::Error(Status::Code::kInternal, "database_error",
                         std::string(kWhat) + ": schema_version holds " +
                             std::to_string(rows->size()) + " rows, not one");
  }
  const int64_t version = rows->Int(0, 0);
  if (version < 0) {
    return Status::Error(
        Status::Code::kInternal, "database_error",
        std::string(kWhat) + ": schema version " + std::to_string(version) + " is not a version");
  }
  if (version > latest) {
    // As SqliteDb::Open says it; the rollback leaves the database as it was.
    return Status::Error(Status::Code::kUnavailable, "database_unavailable",
                         std::string(kWhat) + ": schema version " + std::to_string(version) +
                             " is newer than this binary supports (" + std::to_string(latest) + ")")
        .set_retry_after_seconds(5);
  }
  if (version == latest) return txn.Commit();
  for (int64_t step = version; step < latest; ++step) {
    if (Status s =
            db.Exec(PgMigrations()[step], "PostgreSQL migration " + std::to_string(step + 1));
        !s.ok()) {
      return s;
    }
  }
  auto set = db.Query("UPDATE schema_version SET version = $1", {std::to_string(latest)},
                      "set schema_version");
  if (!set.ok()) return set.status();
  return txn.Commit();
}

}  // namespace jobpulse
