// The dispatcher's writes to the queue (lib/queue_store.h): what a create's
// outcome does to an entry that is dispatching. Each is one transaction that
// first checks the entry is still dispatching, since a cancel may have
// closed it while the create was in flight.
#include <string>
#include <string_view>

#include "lib/sqlite_store.h"

namespace jobpulse {

Result<QueueEntry> SqliteStore::DispatchingEntry(std::string_view job_id) {
  auto entry = GetQueueEntry(job_id);
  if (!entry.ok()) return entry.status();
  if (!*entry) return QueueEntryNotFound(job_id);
  if ((*entry)->status != QueueStatus::kDispatching) return QueueEntryNotDispatching(**entry);
  return **entry;
}

std::vector<Result<ApplyOutcome>> SqliteStore::MarkDispatchedAll(
    const std::vector<Observation>& runs, const PriceTable& prices, int64_t now) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return std::vector<Result<ApplyOutcome>>(runs.size(), txn.status());
  std::vector<Result<ApplyOutcome>> results;
  results.reserve(runs.size());
  for (const Observation& run : runs) {
    // A savepoint each: a run refused half way leaves nothing behind.
    if (Status s = db_->Exec("SAVEPOINT mark_dispatched"); !s.ok()) {
      return std::vector<Result<ApplyOutcome>>(runs.size(), s);
    }
    Result<ApplyOutcome> marked = MarkOneDispatched(run, prices, now);
    const char* end = marked.ok() ? "RELEASE mark_dispatched"
                                  : "ROLLBACK TO mark_dispatched; RELEASE mark_dispatched";
    if (Status s = db_->Exec(end); !s.ok()) {
      return std::vector<Result<ApplyOutcome>>(runs.size(), s);
    }
    results.push_back(std::move(marked));
  }
  if (Status s = txn.Commit(); !s.ok()) return std::vector<Result<ApplyOutcome>>(runs.size(), s);
  return results;
}

Result<ApplyOutcome> SqliteStore::MarkOneDispatched(const Observation& run,
                                                    const PriceTable& prices, int64_t now) {
  const std::string job_id = run.job_id.value_or("");
  if (auto entry = DispatchingEntry(job_id); !entry.ok()) return entry.status();
  auto applied = ApplyInTransaction(run, prices, now, /*create_if_missing=*/false);
  if (!applied.ok()) return applied.status();
  // A run already over closed the entry through the trigger; the WHERE keeps it closed.
  Query update = db_->Prepare(
      "UPDATE queue SET status = 'dispatched', dispatched_at = ?2, error_message = NULL"
      " WHERE job_id = ?1 AND status = 'dispatching'");
  if (!update.ok()) return update.status();
  update->Bind(1, job_id);
  update->Bind(2, now);
  if (Status s = update->Run("mark an entry dispatched"); !s.ok()) return s;
  return applied;
}

Result<std::vector<std::string>> SqliteStore::MarkSent(const std::vector<std::string>& job_ids,
                                                       int64_t now) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  std::vector<std::string> marked;
  for (const std::string& job_id : job_ids) {
    Query update =
        db_->Prepare("UPDATE queue SET sent_at = ?2 WHERE job_id = ?1 AND status = 'dispatching'");
    if (!update.ok()) return update.status();
    update->Bind(1, job_id);
    update->Bind(2, now);
    if (Status s = update->Run("mark a create sent"); !s.ok()) return s;
    if (db_->Changes() == 1) marked.push_back(job_id);
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return marked;
}

Status SqliteStore::RetryDispatchLater(std::string_view job_id, std::string_view error,
                                       int64_t retry_at) {
  return BackToWaiting(job_id, error, retry_at, /*attempt_counts=*/true);
}

Status SqliteStore::ReleaseClaim(std::string_view job_id, std::string_view error,
                                 int64_t retry_at) {
  return BackToWaiting(job_id, error, retry_at, /*attempt_counts=*/false);
}

Status SqliteStore::BackToWaiting(std::string_view job_id, std::string_view error, int64_t retry_at,
                                  bool attempt_counts) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  if (auto entry = DispatchingEntry(job_id); !entry.ok()) return entry.status();
  Query update = db_->Prepare(
      "UPDATE queue SET status = 'waiting', next_attempt_at = ?2, error_message = ?3,"
      " sent_at = NULL, attempts = attempts - ?4 WHERE job_id = ?1");
  if (!update.ok()) return update.status();
  update->Bind(1, job_id);
  update->Bind(2, retry_at);
  update->Bind(3, error.empty() ? std::nullopt : std::optional<std::string_view>(error));
  update->Bind(4, attempt_counts ? 0 : 1);
  if (Status s = update->Run("put an entry back to wait"); !s.ok()) return s;
  return txn.Commit();
}

Result<ApplyOutcome> SqliteStore::FailDispatch(std::string_view job_id, std::string_view error,
                                               const PriceTable& prices, int64_t now) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  if (auto entry = DispatchingEntry(job_id); !entry.ok()) return entry.status();
  Query note = db_->Prepare("UPDATE queue SET error_message = ?2 WHERE job_id = ?1");
  if (!note.ok()) return note.status();
  note->Bind(1, job_id);
  note->Bind(2, error);
  if (Status s = note->Run("record a dispatch failure"); !s.ok()) return s;
  Observation obs;
  obs.source = Observation::Source::kLocal;
  obs.job_id = std::string(job_id);
  obs.status = JobStatus::kFailed;
  obs.error_message = std::string(error);
  obs.completed_at = now;
  auto applied = ApplyInTransaction(obs, prices, now, /*create_if_missing=*/false);
  if (!applied.ok()) return applied.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  return applied;
}

Result<std::vector<DispatchClaim>> SqliteStore::DispatchingEntries() {
  Transaction txn(*db_, Transaction::Mode::kDeferred);
  if (!txn.status().ok()) return txn.status();
  Query q = db_->Prepare(
      "SELECT job_id, request, input_digest FROM queue WHERE status = 'dispatching'"
      " ORDER BY queued_at, job_id");
  if (!q.ok()) return q.status();
  std::vector<DispatchClaim> claims;
  for (;;) {
    auto row = q->Step("list dispatching entries");
    if (!row.ok()) return row.status();
    if (!*row) break;
    DispatchClaim c;
    c.entry.job_id = q->Text(0);
    c.request_json = q->Text(1);
    c.input_digest = q->Text(2);
    claims.push_back(std::move(c));
  }
  q->Reset();
  for (DispatchClaim& c : claims) {
    auto entry = GetQueueEntry(c.entry.job_id);
    if (!entry.ok()) return entry.status();
    if (*entry) c.entry = std::move(**entry);
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return claims;
}

}  // namespace jobpulse
