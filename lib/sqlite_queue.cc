// QueueStore over SQLite (lib/queue_store.h): the queue table of schema 7 (8).
// Positions are computed when read (a window over the waiting entries, which
// the partial index queue_waiting keeps in order), never stored, so a
// submission or a dispatch never rewrites the other entries.
#include <string>
#include <string_view>

#include "lib/queue_sql.h"
#include "lib/sqlite_store.h"
#include "lib/timestamp.h"

namespace jobpulse {

namespace {

using queue_sql::kDayMicros;
using queue_sql::kEntryColumns;
using queue_sql::kIdempotencyMicros;
using queue_sql::kRanked;

QueueEntry ReadEntry(const SqliteStatement& row) {
  QueueEntry e;
  int c = 0;
  e.job_id = row.Text(c++);
  e.user_id = row.OptText(c++);
  e.provider = row.Text(c++);
  e.config_name = row.OptText(c++);
  e.priority = static_cast<int>(row.Int(c++));
  e.status = ParseQueueStatus(row.Text(c++)).value_or(QueueStatus::kClosed);
  e.position = row.OptInt(c++);
  e.queued_at = row.Int(c++);
  e.dispatched_at = row.OptInt(c++);
  e.attempts = static_cast<int>(row.Int(c++));
  e.error_message = row.OptText(c++);
  e.sent_at = row.OptInt(c++);
  return e;
}

}  // namespace

Result<std::optional<QueueEntry>> SqliteStore::GetQueueEntry(std::string_view job_id) {
  // One entry's position is the waiting entries ahead of it: three range
  // counts on the covering index queue_status_order (higher priority; the
  // same priority, earlier; the same priority and time, up to this id), not
  // a window over all of them.
  static const std::string kSql =
      std::string(
          "WITH r AS (SELECT CASE WHEN e.status = 'waiting' THEN "
          "(SELECT count(*) FROM queue w WHERE w.status = 'waiting' AND w.priority > e.priority)"
          " + (SELECT count(*) FROM queue w WHERE w.status = 'waiting' AND w.priority = "
          "e.priority AND w.queued_at < e.queued_at) + (SELECT count(*) FROM queue w WHERE "
          "w.status = 'waiting' AND w.priority = e.priority AND w.queued_at = e.queued_at AND "
          "w.job_id <= e.job_id) END AS position FROM queue e WHERE e.job_id = ?1) SELECT ") +
      kEntryColumns +
      " FROM queue q LEFT JOIN jobs j ON j.job_id = q.job_id, r WHERE q.job_id = ?1";
  Query q = db_->Prepare(kSql);
  if (!q.ok()) return q.status();
  q->Bind(1, job_id);
  auto row = q->Step("read queue entry");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<QueueEntry>();
  return std::optional<QueueEntry>(ReadEntry(*q));
}

Result<SubmitOutcome> SqliteStore::Submit(const Submission& submission, const PriceTable& prices,
                                          int64_t now) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  if (submission.idempotency_key) {
    auto earlier = SubmissionForKey(*submission.idempotency_key, now);
    if (!earlier.ok()) return earlier.status();
    if (*earlier) return std::move(**earlier);  // the first answer, whatever was spent since
  }
  // In the transaction that inserts, so two submissions cannot both pass.
  if (const auto& limit = submission.cost_limit) {
    auto spent = SpentInTransaction(limit->since, prices, now);
    if (!spent.ok()) return spent.status();
    if (*spent >= limit->limit_usd) return CostLimitExceeded(*spent, *limit);
  }
  auto existing = GetJob(submission.job_id);
  if (!existing.ok()) return existing.status();
  if (*existing) return JobExists(submission.job_id);
  auto applied = ApplyInTransaction(SubmittedJob(submission, now), prices, now,
                                    /*create_if_missing=*/true);
  if (!applied.ok()) return applied.status();

  Query insert = db_->Prepare(
      "INSERT INTO queue (job_id, user_id, provider, priority, status, queued_at, request, "
      "input_digest, idempotency_key, idempotency_until) "
      "VALUES (?1, ?2, ?3, ?4, 'waiting', ?5, ?6, ?7, ?8, ?9)");
  if (!insert.ok()) return insert.status();
  insert->Bind(1, submission.job_id);
  insert->Bind(2, submission.user_id);
  insert->Bind(3, submission.provider);
  insert->Bind(4, submission.priority);
  insert->Bind(5, now);
  insert->Bind(6, submission.request_json);
  insert->Bind(7, submission.input_digest);
  insert->Bind(8, submission.idempotency_key);
  insert->Bind(9, submission.idempotency_key ? std::optional<int64_t>(now + kIdempotencyMicros)
                                             : std::nullopt);
  if (Status s = insert->Run("queue a submission"); !s.ok()) return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  // Read after the commit: the write lock is not held while positions are counted.
  auto entry = GetQueueEntry(submission.job_id);
  if (!entry.ok()) return entry.status();
  if (!*entry) return Status::Internal("queued entry " + submission.job_id + " vanished");
  return SubmitOutcome{std::move(applied->job), std::move(**entry), true};
}

// Inside Submit's transaction: the submission an unexpired key names, or
// nullopt after freeing an expired key for reuse.
Result<std::optional<SubmitOutcome>> SqliteStore::SubmissionForKey(const std::string& key,
                                                                   int64_t now) {
  Query q = db_->Prepare("SELECT job_id, idempotency_until FROM queue WHERE idempotency_key = ?1");
  if (!q.ok()) return q.status();
  q->Bind(1, key);
  auto row = q->Step("find idempotency key");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<SubmitOutcome>();
  const std::string job_id = q->Text(0);
  if (q->Int(1) <= now) {
    Query clear = db_->Prepare(
        "UPDATE queue SET idempotency_key = NULL, idempotency_until = NULL WHERE job_id = ?1");
    if (!clear.ok()) return clear.status();
    clear->Bind(1, job_id);
    if (Status s = clear->Run("free an expired idempotency key"); !s.ok()) return s;
    return std::optional<SubmitOutcome>();
  }
  auto job = GetJob(job_id);
  if (!job.ok()) return job.status();
  auto entry = GetQueueEntry(job_id);
  if (!entry.ok()) return entry.status();
  if (!*job || !*entry) return Status::Internal("queue entry " + job_id + " lost its job");
  return std::optional<SubmitOutcome>(SubmitOutcome{std::move(**job), std::move(**entry), false});
}

Result<QueuePage> SqliteStore::ListQueue(const QueueFilter& filter) {
  std::string where = " WHERE 1";
  if (!filter.statuses.empty()) {
    where += " AND q.status IN (";
    for (size_t i = 0; i < filter.statuses.size(); ++i) where += i ? ", ?" : "?";
    where += ")";
  }
  if (filter.user_id) where += " AND q.user_id = ?";
  const auto bind = [&](SqliteStatement& s) {
    int next = 1;
    for (const QueueStatus status : filter.statuses) s.Bind(next++, QueueStatusName(status));
    if (filter.user_id) s.Bind(next++, *filter.user_id);
    return next;
  };
  const std::string from =
      " FROM queue q LEFT JOIN jobs j ON j.job_id = q.job_id"
      " LEFT JOIN ranked r ON r.job_id = q.job_id" +
      where;
  Transaction txn(*db_, Transaction::Mode::kDeferred);
  if (!txn.status().ok()) return txn.status();
  QueuePage page;
  {
    Query count = db_->Prepare(std::string(kRanked) + "SELECT count(*)" + from);
    if (!count.ok()) return count.status();
    bind(*count);
    auto row = count->Step("count queue entries");
    if (!row.ok()) return row.status();
    page.total = *row ? count->Int(0) : 0;
  }
  Query list = db_->Prepare(std::string(kRanked) + "SELECT " + kEntryColumns + from +
                            " ORDER BY r.position IS NULL, r.position, q.queued_at DESC,"
                            " q.job_id DESC LIMIT ? OFFSET ?");
  if (!list.ok()) return list.status();
  const int next = bind(*list);
  list->Bind(next, filter.limit);
  list->Bind(next + 1, filter.offset);
  for (;;) {
    auto row = list->Step("list queue entries");
    if (!row.ok()) return row.status();
    if (!*row) break;
    page.entries.push_back(ReadEntry(*list));
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return page;
}

Result<QueueLoad> SqliteStore::ReadQueueLoad(int64_t now) {
  // Over the open entries only (the partial index queue_open): the worker
  // asks this at every wake-up, and closed entries pile up.
  Query q = db_->Prepare(
      "SELECT count(*) FILTER (WHERE status = 'waiting'),"
      " count(*) FILTER (WHERE status = 'waiting' AND (next_attempt_at IS NULL"
      " OR next_attempt_at <= ?1)), count(*) FILTER (WHERE status <> 'waiting')"
      " FROM queue WHERE status <> 'closed'");
  if (!q.ok()) return q.status();
  q->Bind(1, now);
  auto row = q->Step("read the queue's load");
  if (!row.ok()) return row.status();
  QueueLoad load;
  if (*row) {
    load.waiting = q->Int(0);
    load.ready = q->Int(1);
    load.running = q->Int(2);
  }
  return load;
}

Result<QueueCounts> SqliteStore::CountQueue(int64_t now) {
  Transaction txn(*db_, Transaction::Mode::kDeferred);
  if (!txn.status().ok()) return txn.status();
  QueueCounts counts;
  for (QueueStatus s : {QueueStatus::kWaiting, QueueStatus::kDispatching, QueueStatus::kDispatched,
                        QueueStatus::kClosed}) {
    counts.by_status[s] = 0;
  }
  Query by_status = db_->Prepare("SELECT status, count(*) FROM queue GROUP BY status");
  if (!by_status.ok()) return by_status.status();
  for (;;) {
    auto row = by_status->Step("count queue entries by status");
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (auto status = ParseQueueStatus(by_status->Text(0))) {
      counts.by_status[*status] = by_status->Int(1);
    }
  }
  counts.waiting = counts.by_status[QueueStatus::kWaiting];
  // Entries close with their job (the trigger), so what is dispatching or
  // dispatched is what runs.
  counts.running =
      counts.by_status[QueueStatus::kDispatching] + counts.by_status[QueueStatus::kDispatched];
  Query averages = db_->Prepare(
      "SELECT (SELECT avg(dispatched_at - queued_at) FROM queue WHERE dispatched_at >= ?1),"
      " (SELECT avg(q.closed_at - q.dispatched_at) FROM queue q JOIN jobs j"
      "  ON j.job_id = q.job_id WHERE q.status = 'closed' AND j.status = 'completed'"
      "  AND q.dispatched_at IS NOT NULL AND q.closed_at >= ?2)");
  if (!averages.ok()) return averages.status();
  averages->Bind(1, now - kDayMicros);
  averages->Bind(2, now - 30 * kDayMicros);
  auto row = averages->Step("average queue times");
  if (!row.ok()) return row.status();
  if (*row) {
    if (auto wait = averages->OptReal(0)) counts.avg_wait_seconds = *wait / 1e6;
    if (auto run = averages->OptReal(1)) counts.avg_run_seconds = *run / 1e6;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return counts;
}

Result<QueueEntry> SqliteStore::SetQueuePriority(std::string_view job_id, int priority) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  auto entry = GetQueueEntry(job_id);
  if (!entry.ok()) return entry.status();
  if (!*entry) return QueueEntryNotFound(job_id);
  if ((*entry)->status != QueueStatus::kWaiting)
    return QueueEntryNotWaiting(**entry, "can change priority");
  Query update = db_->Prepare("UPDATE queue SET priority = ?2 WHERE job_id = ?1");
  if (!update.ok()) return update.status();
  update->Bind(1, job_id);
  update->Bind(2, priority);
  if (Status s = update->Run("change queue priority"); !s.ok()) return s;
  auto changed = GetQueueEntry(job_id);
  if (!changed.ok()) return changed.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  return **changed;
}

Result<ApplyOutcome> SqliteStore::CancelWaiting(std::string_view job_id, const PriceTable& prices,
                                                int64_t now) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  auto entry = GetQueueEntry(job_id);
  if (!entry.ok()) return entry.status();
  if (!*entry) return QueueEntryNotFound(job_id);
  if ((*entry)->status != QueueStatus::kWaiting)
    return QueueEntryNotWaiting(**entry, "can be cancelled here");
  Observation obs;
  obs.source = Observation::Source::kLocal;
  obs.job_id = std::string(job_id);
  obs.status = JobStatus::kCancelled;
  obs.completed_at = now;
  auto applied = ApplyInTransaction(obs, prices, now, /*create_if_missing=*/false);
  if (!applied.ok()) return applied.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  return applied;
}

Result<std::vector<DispatchClaim>> SqliteStore::ClaimNextEntries(int max_concurrent, int user_max,
                                                                 int64_t now, int limit) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  std::vector<DispatchClaim> claims;
  auto running = db_->QueryInt(
      "SELECT count(*) FROM queue WHERE status IN ('dispatching', 'dispatched')", "count running");
  if (!running.ok()) return running.status();
  // One at a time: each claim counts against the limits of the next pick.
  for (int64_t taken = 0; taken < limit && *running + taken < max_concurrent; ++taken) {
    Query pick = db_->Prepare(
        "SELECT q.job_id, q.request, q.input_digest FROM queue q WHERE q.status = 'waiting'"
        " AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= ?1)"
        " AND (q.user_id IS NULL OR (SELECT count(*) FROM queue u WHERE u.user_id = q.user_id"
        " AND u.status IN ('dispatching', 'dispatched')) < ?2)"
        " ORDER BY q.priority DESC, q.queued_at, q.job_id LIMIT 1");
    if (!pick.ok()) return pick.status();
    pick->Bind(1, now);
    pick->Bind(2, user_max);
    auto row = pick->Step("pick the next queue entry");
    if (!row.ok()) return row.status();
    if (!*row) break;
    DispatchClaim claim;
    const std::string job_id = pick->Text(0);
    claim.request_json = pick->Text(1);
    claim.input_digest = pick->Text(2);
    pick->Reset();
    Query take = db_->Prepare(
        "UPDATE queue SET status = 'dispatching', attempts = attempts + 1, next_attempt_at = "
        "NULL, sent_at = NULL WHERE job_id = ?1");
    if (!take.ok()) return take.status();
    take->Bind(1, job_id);
    if (Status s = take->Run("claim a queue entry"); !s.ok()) return s;
    auto entry = GetQueueEntry(job_id);
    if (!entry.ok()) return entry.status();
    if (!*entry) return Status::Internal("claimed queue entry " + job_id + " vanished");
    claim.entry = std::move(**entry);
    claims.push_back(std::move(claim));
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return claims;
}

Result<double> SqliteStore::SpentSince(int64_t since, const PriceTable& prices, int64_t now) {
  Transaction txn(*db_, Transaction::Mode::kDeferred);
  if (!txn.status().ok()) return txn.status();
  auto spent = SpentInTransaction(since, prices, now);
  if (!spent.ok()) return spent.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  return spent;
}

Result<double> SqliteStore::SpentInTransaction(int64_t since, const PriceTable& prices,
                                               int64_t now) {
  Query final_costs =
      db_->Prepare("SELECT coalesce(sum(cost_usd), 0) FROM jobs WHERE created_at >= ?1");
  if (!final_costs.ok()) return final_costs.status();
  final_costs->Bind(1, since);
  auto sum = final_costs->Step("sum job costs");
  if (!sum.ok()) return sum.status();
  double spent = *sum ? final_costs->Real(0) : 0;
  // Running jobs have no final cost yet: their estimate so far counts too.
  Query running = db_->Prepare(
      "SELECT job_id FROM jobs WHERE status = 'running' AND cost_usd IS NULL AND created_at >= ?1");
  if (!running.ok()) return running.status();
  running->Bind(1, since);
  std::vector<std::string> ids;
  for (;;) {
    auto row = running->Step("find running jobs");
    if (!row.ok()) return row.status();
    if (!*row) break;
    ids.push_back(running->Text(0));
  }
  for (const std::string& id : ids) {
    auto job = GetJob(id, JobRead::kList);
    if (!job.ok()) return job.status();
    if (*job) spent += CostOf(**job, prices, now).usd.value_or(0);
  }
  return spent;
}

}  // namespace jobpulse
