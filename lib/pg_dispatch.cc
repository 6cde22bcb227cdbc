// The dispatcher's calls to the queue in PostgreSQL (lib/queue_store.h), the
// statements of lib/sqlite_dispatch.cc and SQLite's ClaimNextEntries. Several
// workers (one per machine) may call these at once on connections of their
// own, where SQLite had one writer at a time: the claim counts and takes
// under one advisory lock, and every write to an entry first locks its rows
// (LockQueueEntry) and only then checks its state.
#include <string>
#include <string_view>

#include "lib/pg_store.h"

namespace jobpulse {

namespace {

std::string Param(int64_t value) { return std::to_string(value); }

}  // namespace

Result<std::vector<DispatchClaim>> PgStore::ClaimNextEntries(int max_concurrent, int user_max,
                                                             int64_t now, int limit) {
  PgConnection::Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  // Both locks are needed. The limits are counts over other rows than the
  // ones taken: two claimers each counting 2 of 3 running would both take one
  // (4 running) however their rows are locked, so counting and taking happen
  // under one advisory lock, one claimer after the other (and, under READ
  // COMMITTED, each statement after the lock sees the previous claimer's
  // commit). The row locks (FOR UPDATE) keep a cancel or a priority change
  // from changing an entry between its pick and its update; SKIP LOCKED
  // passes over an entry such a writer holds instead of stalling every
  // dispatch behind it.
  if (Status s = LockName("queue:claim", "wait for the other claimers"); !s.ok()) return s;
  auto running =
      db_->Query("SELECT count(*) FROM queue WHERE status IN ('dispatching', 'dispatched')", {},
                 "count running");
  if (!running.ok()) return running.status();
  const int64_t already = running->Int(0, 0);
  std::vector<DispatchClaim> claims;
  // One at a time: each claim counts against the limits of the next pick.
  for (int64_t taken = 0; taken < limit && already + taken < max_concurrent; ++taken) {
    auto pick = db_->Query(
        "SELECT q.job_id, q.request, q.input_digest FROM queue q WHERE q.status = 'waiting'"
        " AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= $1)"
        " AND (q.user_id IS NULL OR (SELECT count(*) FROM queue u WHERE u.user_id = q.user_id"
        " AND u.status IN ('dispatching', 'dispatched')) < $2)"
        " ORDER BY q.priority DESC, q.queued_at, q.job_id LIMIT 1 FOR UPDATE OF q SKIP LOCKED",
        {Param(now), Param(user_max)}, "pick the next queue entry");
    if (!pick.ok()) return pick.status();
    if (pick->size() == 0) break;
    DispatchClaim claim;
    const std::string job_id = pick->Text(0, 0);
    claim.request_json = pick->Text(0, 1);
    claim.input_digest = pick->Text(0, 2);
    auto took = db_->Query(
        "UPDATE queue SET status = 'dispatching', attempts = attempts + 1, next_attempt_at = "
        "NULL, sent_at = NULL WHERE job_id = $1",
        {job_id}, "claim a queue entry");
    if (!took.ok()) return took.status();
    auto entry = GetQueueEntry(job_id);
    if (!entry.ok()) return entry.status();
    if (!*entry) return Status::Internal("claimed queue entry " + job_id + " vanished");
    claim.entry = std::move(**entry);
    claims.push_back(std::move(claim));
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return claims;
}

Result<QueueEntry> PgStore::DispatchingEntry(std::string_view job_id) {
  if (Status s = LockQueueEntry(job_id); !s.ok()) return s;
  auto entry = GetQueueEntry(job_id);
  if (!entry.ok()) return entry.status();
  if (!*entry) return QueueEntryNotFound(job_id);
  if ((*entry)->status != QueueStatus::kDispatching) return QueueEntryNotDispatching(**entry);
  return **entry;
}

std::vector<Result<ApplyOutcome>> PgStore::MarkDispatchedAll(const std::vector<Observation>& runs,
                                                             const PriceTable& prices,
                                                             int64_t now) {
  using Results = std::vector<Result<ApplyOutcome>>;
  PgConnection::Transaction txn(*db_);
  if (!txn.status().ok()) return Results(runs.size(), txn.status());
  Results results;
  results.reserve(runs.size());
  for (const Observation& run : runs) {
    // A savepoint each: a run refused half way leaves nothing behind, and a
    // merge that lost a race for its job (as Apply's) merges again.
    for (int attempt = 0;; ++attempt) {
      if (Status s = db_->Exec("SAVEPOINT mark_dispatched", "savepoint"); !s.ok()) {
        return Results(runs.size(), s);
      }
      Result<ApplyOutcome> marked = MarkOneDispatched(run, prices, now);
      const char* end = marked.ok() ? "RELEASE SAVEPOINT mark_dispatched"
                                    : "ROLLBACK TO SAVEPOINT mark_dispatched; "
                                      "RELEASE SAVEPOINT mark_dispatched";
      if (Status s = db_->Exec(end, "savepoint"); !s.ok()) return Results(runs.size(), s);
      if (marked.ok() || attempt == 4 || !LostARace(marked.status())) {
        results.push_back(std::move(marked));
        break;
      }
    }
  }
  if (Status s = txn.Commit(); !s.ok()) return Results(runs.size(), s);
  return results;
}

Result<ApplyOutcome> PgStore::MarkOneDispatched(const Observation& run, const PriceTable& prices,
                                                int64_t now) {
  const std::string job_id = run.job_id.value_or("");
  if (auto entry = DispatchingEntry(job_id); !entry.ok()) return entry.status();
  auto applied = ApplyInTransaction(run, prices, now, /*create_if_missing=*/false);
  if (!applied.ok()) return applied.status();
  // A run already over closed the entry through the trigger; the WHERE keeps it closed.
  auto updated = db_->Query(
      "UPDATE queue SET status = 'dispatched', dispatched_at = $2, error_message = NULL"
      " WHERE job_id = $1 AND status = 'dispatching'",
      {job_id, Param(now)}, "mark an entry dispatched");
  if (!updated.ok()) return updated.status();
  return applied;
}

Result<std::vector<std::string>> PgStore::MarkSent(const std::vector<std::string>& job_ids,
                                                   int64_t now) {
  PgConnection::Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  std::vector<std::string> marked;
  for (const std::string& job_id : job_ids) {
    // Under READ COMMITTED the WHERE is checked again on the row as a
    // concurrent cancel left it: a closed entry is not marked.
    auto updated =
        db_->Query("UPDATE queue SET sent_at = $2 WHERE job_id = $1 AND status = 'dispatching'",
                   {job_id, Param(now)}, "mark a create sent");
    if (!updated.ok()) return updated.status();
    if (updated->affected() == 1) marked.push_back(job_id);
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return marked;
}

Status PgStore::RetryDispatchLater(std::string_view job_id, std::string_view error,
                                   int64_t retry_at) {
  return BackToWaiting(job_id, error, retry_at, /*attempt_counts=*/true);
}

Status PgStore::ReleaseClaim(std::string_view job_id, std::string_view error, int64_t retry_at) {
  return BackToWaiting(job_id, error, retry_at, /*attempt_counts=*/false);
}

Status PgStore::BackToWaiting(std::string_view job_id, std::string_view error, int64_t retry_at,
                              bool attempt_counts) {
  PgConnection::Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  if (auto entry = DispatchingEntry(job_id); !entry.ok()) return entry.status();
  auto updated = db_->Query(
      "UPDATE queue SET status = 'waiting', next_attempt_at = $2, error_message = $3,"
      " sent_at = NULL, attempts = attempts - $4 WHERE job_id = $1",
      {std::string(job_id), Param(retry_at),
       error.empty() ? PgParam() : PgParam(std::string(error)), Param(attempt_counts ? 0 : 1)},
      "put an entry back to wait");
  if (!updated.ok()) return updated.status();
  return txn.Commit();
}

Result<ApplyOutcome> PgStore::FailDispatch(std::string_view job_id, std::string_view error,
                                           const PriceTable& prices, int64_t now) {
  const auto fail = [&]() -> Result<ApplyOutcome> {
    PgConnection::Transaction txn(*db_);
    if (!txn.status().ok()) return txn.status();
    if (auto entry = DispatchingEntry(job_id); !entry.ok()) return entry.status();
    auto noted = db_->Query("UPDATE queue SET error_message = $2 WHERE job_id = $1",
                            {std::string(job_id), std::string(error)}, "record a dispatch failure");
    if (!noted.ok()) return noted.status();
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
  };
  // As Apply: a merge that lost a race for the job merges again.
  for (int attempt = 0;; ++attempt) {
    auto outcome = fail();
    if (outcome.ok() || attempt == 4 || !LostARace(outcome.status())) return outcome;
  }
}

Result<std::vector<DispatchClaim>> PgStore::DispatchingEntries() {
  PgConnection::Transaction txn(*db_, PgConnection::Transaction::Isolation::kRepeatableRead);
  if (!txn.status().ok()) return txn.status();
  auto rows = db_->Query(
      "SELECT job_id, request, input_digest FROM queue WHERE status = 'dispatching'"
      " ORDER BY queued_at, job_id",
      {}, "list dispatching entries");
  if (!rows.ok()) return rows.status();
  std::vector<DispatchClaim> claims;
  for (int i = 0; i < rows->size(); ++i) {
    DispatchClaim c;
    c.entry.job_id = rows->Text(i, 0);
    c.request_json = rows->Text(i, 1);
    c.input_digest = rows->Text(i, 2);
    auto entry = GetQueueEntry(c.entry.job_id);
    if (!entry.ok()) return entry.status();
    if (*entry) c.entry = std::move(**entry);
    claims.push_back(std::move(c));
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return claims;
}

}  // namespace jobpulse
