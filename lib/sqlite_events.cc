// The event log in SQLite: AUTOINCREMENT ids, so an id is never reused even
// after the newest rows were pruned.
#include "lib/sqlite_store.h"

namespace jobpulse {

Result<int64_t> SqliteStore::InsertEvent(std::string_view job_id, EventType type,
                                         std::string_view data, int64_t now) {
  Query q =
      db_->Prepare("INSERT INTO events (job_id, type, data, created_at) VALUES (?1, ?2, ?3, ?4)");
  if (!q.ok()) return q.status();
  q->Bind(1, job_id);
  q->Bind(2, EventTypeName(type));
  q->Bind(3, data);
  q->Bind(4, now);
  if (Status s = q->Run("append event"); !s.ok()) return s;
  return db_->LastInsertId();
}

Result<int64_t> SqliteStore::AppendEvent(std::string_view job_id, EventType type,
                                         std::string_view data, int64_t now) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  auto id = InsertEvent(job_id, type, data, now);
  if (!id.ok()) return id;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return id;
}

Result<std::vector<Event>> SqliteStore::EventsAfter(int64_t after_id, int limit) {
  Query q = db_->Prepare(
      "SELECT id, job_id, type, data, created_at FROM events WHERE id > ?1 ORDER BY id LIMIT ?2");
  if (!q.ok()) return q.status();
  q->Bind(1, after_id);
  q->Bind(2, limit);
  std::vector<Event> events;
  for (;;) {
    auto row = q->Step("read events");
    if (!row.ok()) return row.status();
    if (!*row) break;
    events.push_back({q->Int(0), q->Text(1), q->Text(2), q->Text(3), q->Int(4)});
  }
  return events;
}

Result<int64_t> SqliteStore::OldestEventId() {
  return db_->QueryInt("SELECT coalesce(min(id), 0) FROM events", "oldest event");
}

Result<int64_t> SqliteStore::NewestEventId() {
  return db_->QueryInt("SELECT coalesce(max(id), 0) FROM events", "newest event");
}

Result<int64_t> SqliteStore::EventIdsAssigned() {
  // AUTOINCREMENT keeps the largest id ever used here, whatever was pruned.
  return db_->QueryInt(
      "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)",
      "event ids assigned");
}

Result<int64_t> SqliteStore::PruneEvents(int64_t max_events, int64_t older_than) {
  Query q = db_->Prepare(
      "DELETE FROM events WHERE created_at < ?2 OR id <= (SELECT coalesce(max(id), 0) FROM events) "
      "- ?1");
  if (!q.ok()) return q.status();
  q->Bind(1, max_events);
  q->Bind(2, older_than);
  if (Status s = q->Run("prune events"); !s.ok()) return s;
  return db_->Changes();
}

}  // namespace jobpulse
