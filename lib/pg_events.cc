// The event log in PostgreSQL. Ids come from an identity column, so they are
// never reused; but PostgreSQL hands ids out when a row is inserted, not when
// its transaction commits, so two writers could commit ids 8 and 7 in that
// order and a reader between the two commits would see 8, move its cursor
// past 7 and never send it. Every append therefore takes a transaction-level
// advisory lock first (kEventAppendLock) and holds it to its commit: ids then
// become visible in order, and "events after id N" misses nothing. The lock
// is taken last in a writer's transaction (the event follows the job's
// write), so what it serialises is short.
#include "lib/pg_store.h"

namespace jobpulse {
namespace {

// pg_advisory_xact_lock's key for event appends ("jp-event" in ASCII).
constexpr const char* kEventAppendLock = "7669680079213260404";

}  // namespace

Result<int64_t> PgStore::QueryInt(std::string_view sql, std::string_view what) {
  auto rows = db_->Query(sql, {}, what);
  if (!rows.ok()) return rows.status();
  return rows->Int(0, 0);
}

Result<int64_t> PgStore::InsertEvent(std::string_view job_id, EventType type, std::string_view data,
                                     int64_t now) {
  auto locked =
      db_->Query("SELECT pg_advisory_xact_lock($1)", {kEventAppendLock}, "order event appends");
  if (!locked.ok()) return locked.status();
  auto id = db_->Query(
      "INSERT INTO events (job_id, type, data, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
      {std::string(job_id), EventTypeName(type), std::string(data), std::to_string(now)},
      "append event");
  if (!id.ok()) return id.status();
  return id->Int(0, 0);
}

Result<int64_t> PgStore::AppendEvent(std::string_view job_id, EventType type, std::string_view data,
                                     int64_t now) {
  PgConnection::Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  auto id = InsertEvent(job_id, type, data, now);
  if (!id.ok()) return id;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return id;
}

Result<std::vector<Event>> PgStore::EventsAfter(int64_t after_id, int limit) {
  auto rows = db_->Query(
      "SELECT id, job_id, type, data, created_at FROM events WHERE id > $1 ORDER BY id LIMIT $2",
      {std::to_string(after_id), std::to_string(limit)}, "read events");
  if (!rows.ok()) return rows.status();
  std::vector<Event> events;
  events.reserve(static_cast<size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    events.push_back(
        {rows->Int(i, 0), rows->Text(i, 1), rows->Text(i, 2), rows->Text(i, 3), rows->Int(i, 4)});
  }
  return events;
}

Result<int64_t> PgStore::OldestEventId() {
  return QueryInt("SELECT coalesce(min(id), 0) FROM events", "oldest event");
}

Result<int64_t> PgStore::NewestEventId() {
  return QueryInt("SELECT coalesce(max(id), 0) FROM events", "newest event");
}

Result<int64_t> PgStore::EventIdsAssigned() {
  // The identity's sequence: its last value whatever was pruned, 0 before
  // its first use (is_called false).
  return QueryInt("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq",
                  "event ids assigned");
}

Result<int64_t> PgStore::PruneEvents(int64_t max_events, int64_t older_than) {
  auto pruned = db_->Query(
      "DELETE FROM events WHERE created_at < $2 OR id <= (SELECT coalesce(max(id), 0) FROM events) "
      "- $1",
      {std::to_string(max_events), std::to_string(older_than)}, "prune events");
  if (!pruned.ok()) return pruned.status();
  return pruned->affected();
}

}  // namespace jobpulse
