// The counters table (lib/counters.h): one row per series, summed in place.
#include "lib/sqlite_store.h"

namespace jobpulse {

Status SqliteStore::AddCounters(const std::vector<CounterValue>& deltas, int64_t now) {
  if (deltas.empty()) return Status::Ok();
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  for (const CounterValue& delta : deltas) {
    Query q = db_->Prepare(
        "INSERT INTO counters (name, labels, value, updated_at) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT(name, labels) DO UPDATE SET value = value + excluded.value, "
        "updated_at = excluded.updated_at");
    if (!q.ok()) return q.status();
    q->Bind(1, delta.name);
    q->Bind(2, delta.labels);
    q->Bind(3, delta.value);
    q->Bind(4, now);
    if (Status s = q->Run("add counters"); !s.ok()) return s;
  }
  return txn.Commit();
}

Result<std::vector<CounterValue>> SqliteStore::ReadCounters() {
  Query q = db_->Prepare("SELECT name, labels, value FROM counters ORDER BY name, labels");
  if (!q.ok()) return q.status();
  std::vector<CounterValue> out;
  for (;;) {
    auto row = q->Step("read counters");
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back({q->Text(0), q->Text(1), q->Real(2)});
  }
  return out;
}

}  // namespace jobpulse
