// The submission queue in PostgreSQL (lib/queue_store.h): the statements of
// lib/sqlite_queue.cc in PostgreSQL's dialect. Where the engines differ:
// SQLite runs one writer at a time, so a check and the write that follows it
// are never separated; here writers run side by side under READ COMMITTED,
// so each check-then-write first takes the lock that keeps the others out of
// that gap: an advisory lock for what has no row yet (an idempotency key,
// the spending), the rows' own locks for an entry (LockQueueEntry).
#include <string>
#include <string_view>

#include "lib/pg_store.h"
#include "lib/queue_sql.h"
#include "lib/timestamp.h"

namespace jobpulse {

namespace {

using queue_sql::kDayMicros;
using queue_sql::kEntryColumns;
using queue_sql::kIdempotencyMicros;
using queue_sql::kRanked;

QueueEntry ReadEntry(const PgRows& rows, int i) {
  QueueEntry e;
  int c = 0;
  e.job_id = rows.Text(i, c++);
  e.user_id = rows.OptText(i, c++);
  e.provider = rows.Text(i, c++);
  e.config_name = rows.OptText(i, c++);
  e.priority = static_cast<int>(rows.Int(i, c++));
  e.status = ParseQueueStatus(rows.Text(i, c++)).value_or(QueueStatus::kClosed);
  e.position = rows.OptInt(i, c++);
  e.queued_at = rows.Int(i, c++);
  e.dispatched_at = rows.OptInt(i, c++);
  e.attempts = static_cast<int>(rows.Int(i, c++));
  e.error_message = rows.OptText(i, c++);
  e.sent_at = rows.OptInt(i, c++);
  return e;
}

std::string Param(int64_t value) { return std::to_string(value); }

}  // namespace

Status PgStore::LockName(const std::string& name, std::string_view what) {
  return db_->Query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {name}, what).status();
}

Status PgStore::LockQueueEntry(std::string_view job_id) {
  const std::string id(job_id);
  if (Status s = LockName("job:" + id, "wait for the job's other writers"); !s.ok()) return s;
  // The jobs row before the queue row: a merge that ends the job holds its
  // jobs row when its trigger comes to the queue row.
  if (Status s =
          db_->Query("SELECT 1 FROM jobs WHERE job_id = $1 FOR UPDATE", {id}, "lock job").status();
      !s.ok()) {
    return s;
  }
  return db_->Query("SELECT 1 FROM queue WHERE job_id = $1 FOR UPDATE", {id}, "lock queue entry")
      .status();
}

Result<std::optional<QueueEntry>> PgStore::GetQueueEntry(std::string_view job_id) {
  // The waiting entries ahead of this one, in three range counts on the
  // index queue_status_order, as SQLite's.
  static const std::string kSql =
      std::string(
          "WITH r AS (SELECT CASE WHEN e.status = 'waiting' THEN "
          "(SELECT count(*) FROM queue w WHERE w.status = 'waiting' AND w.priority > e.priority)"
          " + (SELECT count(*) FROM queue w WHERE w.status = 'waiting' AND w.priority = "
          "e.priority AND w.queued_at < e.queued_at) + (SELECT count(*) FROM queue w WHERE "
          "w.status = 'waiting' AND w.priority = e.priority AND w.queued_at = e.queued_at AND "
          "w.job_id <= e.job_id) END AS position FROM queue e WHERE e.job_id = $1) SELECT ") +
      kEntryColumns +
      " FROM queue q LEFT JOIN jobs j ON j.job_id = q.job_id, r WHERE q.job_id = $1";
  auto rows = db_->Query(kSql, {std::string(job_id)}, "read queue entry");
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return std::optional<QueueEntry>();
  return std::optional<QueueEntry>(ReadEntry(*rows, 0));
}

Result<SubmitOutcome> PgStore::Submit(const Submission& submission, const PriceTable& prices,
                                      int64_t now) {
  PgConnection::Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  if (submission.idempotency_key) {
    // A concurrent submission with the same key waits here for the first to
    // commit, then finds its entry: the first answer, not a unique violation.
    const std::string& key = *submission.idempotency_key;
    if (Status s = LockName("queue:key:" + key, "wait for the key's other submission"); !s.ok()) {
      return s;
    }
    auto earlier = SubmissionForKey(key, now);
    if (!earlier.ok()) return earlier.status();
    if (*earlier) return std::move(**earlier);  // the first answer, whatever was spent since
  }
  if (const auto& limit = submission.cost_limit) {
    // Limited submissions check the spending one at a time, as SQLite's
    // single writer has them; the lock is held until this one commits.
    if (Status s = LockName("queue:cost", "wait for other limited submissions"); !s.ok()) return s;
    auto spent = SpentInTransaction(limit->since, prices, now);
    if (!spent.ok()) return spent.status();
    if (*spent >= limit->limit_usd) return CostLimitExceeded(*spent, *limit);
  }
  // The merge's own lock, taken early: two submissions of one id see each other.
  if (Status s = LockName("job:" + submission.job_id, "wait for the job's other writers");
      !s.ok()) {
    return s;
  }
  auto existing = GetJob(submission.job_id);
  if (!existing.ok()) return existing.status();
  if (*existing) return JobExists(submission.job_id);
  auto applied = ApplyInTransaction(SubmittedJob(submission, now), prices, now,
                                    /*create_if_missing=*/true);
  if (!applied.ok()) return applied.status();
  auto inserted = db_->Query(
      "INSERT INTO queue (job_id, user_id, provider, priority, status, queued_at, request, "
      "input_digest, idempotency_key, idempotency_until) "
      "VALUES ($1, $2, $3, $4, 'waiting', $5, $6, $7, $8, $9)",
      {submission.job_id, submission.user_id, submission.provider, Param(submission.priority),
       Param(now), submission.request_json, submission.input_digest, submission.idempotency_key,
       submission.idempotency_key ? PgParam(Param(now + kIdempotencyMicros)) : std::nullopt},
      "queue a submission");
  if (!inserted.ok()) return inserted.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  // Read after the commit, as SQLite's: no lock is held while positions are counted.
  auto entry = GetQueueEntry(submission.job_id);
  if (!entry.ok()) return entry.status();
  if (!*entry) return Status::Internal("queued entry " + submission.job_id + " vanished");
  return SubmitOutcome{std::move(applied->job), std::move(**entry), true};
}

Result<std::optional<SubmitOutcome>> PgStore::SubmissionForKey(const std::string& key,
                                                               int64_t now) {
  auto found = db_->Query("SELECT job_id, idempotency_until FROM queue WHERE idempotency_key = $1",
                          {key}, "find idempotency key");
  if (!found.ok()) return found.status();
  if (found->size() == 0) return std::optional<SubmitOutcome>();
  const std::string job_id = found->Text(0, 0);
  if (found->Int(0, 1) <= now) {
    auto cleared = db_->Query(
        "UPDATE queue SET idempotency_key = NULL, idempotency_until = NULL WHERE job_id = $1",
        {job_id}, "free an expired idempotency key");
    if (!cleared.ok()) return cleared.status();
    return std::optional<SubmitOutcome>();
  }
  auto job = GetJob(job_id);
  if (!job.ok()) return job.status();
  auto entry = GetQueueEntry(job_id);
  if (!entry.ok()) return entry.status();
  if (!*job || !*entry) return Status::Internal("queue entry " + job_id + " lost its job");
  return std::optional<SubmitOutcome>(SubmitOutcome{std::move(**job), std::move(**entry), false});
}

Result<QueuePage> PgStore::ListQueue(const QueueFilter& filter) {
  std::vector<PgParam> params;
  std::string where = " WHERE true";
  if (!filter.statuses.empty()) {
    where += " AND q.status IN (";
    for (size_t i = 0; i < filter.statuses.size(); ++i) {
      params.emplace_back(QueueStatusName(filter.statuses[i]));
      where += (i ? ", $" : "$") + std::to_string(params.size());
    }
    where += ")";
  }
  if (filter.user_id) {
    params.emplace_back(*filter.user_id);
    where += " AND q.user_id = $" + std::to_string(params.size());
  }
  const std::string from =
      " FROM queue q LEFT JOIN jobs j ON j.job_id = q.job_id"
      " LEFT JOIN ranked r ON r.job_id = q.job_id" +
      where;
  // The page and its total from one snapshot.
  PgConnection::Transaction txn(*db_, PgConnection::Transaction::Isolation::kRepeatableRead);
  if (!txn.status().ok()) return txn.status();
  QueuePage page;
  auto count =
      db_->Query(std::string(kRanked) + "SELECT count(*)" + from, params, "count queue entries");
  if (!count.ok()) return count.status();
  page.total = count->Int(0, 0);
  params.emplace_back(Param(filter.limit));
  params.emplace_back(Param(filter.offset));
  const size_t n = params.size();
  auto rows = db_->Query(std::string(kRanked) + "SELECT " + kEntryColumns + from +
                             " ORDER BY r.position IS NULL, r.position, q.queued_at DESC,"
                             " q.job_id DESC LIMIT $" +
                             std::to_string(n - 1) + " OFFSET $" + std::to_string(n),
                         params, "list queue entries");
  if (!rows.ok()) return rows.status();
  for (int i = 0; i < rows->size(); ++i) page.entries.push_back(ReadEntry(*rows, i));
  if (Status s = txn.Commit(); !s.ok()) return s;
  return page;
}

Result<QueueLoad> PgStore::ReadQueueLoad(int64_t now) {
  // Over the open entries only (the partial index queue_open), as SQLite's.
  auto rows = db_->Query(
      "SELECT count(*) FILTER (WHERE status = 'waiting'),"
      " count(*) FILTER (WHERE status = 'waiting' AND (next_attempt_at IS NULL"
      " OR next_attempt_at <= $1)), count(*) FILTER (WHERE status <> 'waiting')"
      " FROM queue WHERE status <> 'closed'",
      {Param(now)}, "read the queue's load");
  if (!rows.ok()) return rows.status();
  return QueueLoad{rows->Int(0, 0), rows->Int(0, 1), rows->Int(0, 2)};
}

Result<QueueCounts> PgStore::CountQueue(int64_t now) {
  PgConnection::Transaction txn(*db_, PgConnection::Transaction::Isolation::kRepeatableRead);
  if (!txn.status().ok()) return txn.status();
  QueueCounts counts;
  for (QueueStatus s : {QueueStatus::kWaiting, QueueStatus::kDispatching, QueueStatus::kDispatched,
                        QueueStatus::kClosed}) {
    counts.by_status[s] = 0;
  }
  auto by_status =
      db_->Query("SELECT status, count(*) FROM queue GROUP BY status", {}, "count queue entries");
  if (!by_status.ok()) return by_status.status();
  for (int i = 0; i < by_status->size(); ++i) {
    if (auto status = ParseQueueStatus(by_status->Text(i, 0))) {
      counts.by_status[*status] = by_status->Int(i, 1);
    }
  }
  counts.waiting = counts.by_status[QueueStatus::kWaiting];
  counts.running =
      counts.by_status[QueueStatus::kDispatching] + counts.by_status[QueueStatus::kDispatched];
  auto averages = db_->Query(
      "SELECT (SELECT avg(dispatched_at - queued_at) FROM queue WHERE dispatched_at >= $1),"
      " (SELECT avg(q.closed_at - q.dispatched_at) FROM queue q JOIN jobs j"
      "  ON j.job_id = q.job_id WHERE q.status = 'closed' AND j.status = 'completed'"
      "  AND q.dispatched_at IS NOT NULL AND q.closed_at >= $2)",
      {Param(now - kDayMicros), Param(now - 30 * kDayMicros)}, "average queue times");
  if (!averages.ok()) return averages.status();
  if (!averages->IsNull(0, 0)) counts.avg_wait_seconds = averages->Real(0, 0) / 1e6;
  if (!averages->IsNull(0, 1)) counts.avg_run_seconds = averages->Real(0, 1) / 1e6;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return counts;
}

Result<QueueEntry> PgStore::SetQueuePriority(std::string_view job_id, int priority) {
  PgConnection::Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  // Locked: a claim passes over the entry, or this waits for the claim.
  if (Status s = LockQueueEntry(job_id); !s.ok()) return s;
  auto entry = GetQueueEntry(job_id);
  if (!entry.ok()) return entry.status();
  if (!*entry) return QueueEntryNotFound(job_id);
  if ((*entry)->status != QueueStatus::kWaiting) {
    return QueueEntryNotWaiting(**entry, "can change priority");
  }
  auto updated = db_->Query("UPDATE queue SET priority = $2 WHERE job_id = $1",
                            {std::string(job_id), Param(priority)}, "change queue priority");
  if (!updated.ok()) return updated.status();
  auto changed = GetQueueEntry(job_id);
  if (!changed.ok()) return changed.status();
  if (!*changed) return Status::Internal("queue entry " + std::string(job_id) + " vanished");
  if (Status s = txn.Commit(); !s.ok()) return s;
  return **changed;
}

Result<ApplyOutcome> PgStore::CancelWaiting(std::string_view job_id, const PriceTable& prices,
                                            int64_t now) {
  const auto cancel = [&]() -> Result<ApplyOutcome> {
    PgConnection::Transaction txn(*db_);
    if (!txn.status().ok()) return txn.status();
    if (Status s = LockQueueEntry(job_id); !s.ok()) return s;
    auto entry = GetQueueEntry(job_id);
    if (!entry.ok()) return entry.status();
    if (!*entry) return QueueEntryNotFound(job_id);
    if ((*entry)->status != QueueStatus::kWaiting) {
      return QueueEntryNotWaiting(**entry, "can be cancelled here");
    }
    Observation obs;
    obs.source = Observation::Source::kLocal;
    obs.job_id = std::string(job_id);
    obs.status = JobStatus::kCancelled;
    obs.completed_at = now;
    auto applied = ApplyInTransaction(obs, prices, now, /*create_if_missing=*/false);
    if (!applied.ok()) return applied.status();
    if (Status s = txn.Commit(); !s.ok()) return s;
    return applied;
  };
  return RetryLostRaces(cancel);  // as Apply
}

Result<double> PgStore::SpentSince(int64_t since, const PriceTable& prices, int64_t now) {
  // The sums and the running jobs from one snapshot.
  PgConnection::Transaction txn(*db_, PgConnection::Transaction::Isolation::kRepeatableRead);
  if (!txn.status().ok()) return txn.status();
  auto spent = SpentInTransaction(since, prices, now);
  if (!spent.ok()) return spent.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  return spent;
}

Result<double> PgStore::SpentInTransaction(int64_t since, const PriceTable& prices, int64_t now) {
  auto sum = db_->Query("SELECT coalesce(sum(cost_usd), 0) FROM jobs WHERE created_at >= $1",
                        {Param(since)}, "sum job costs");
  if (!sum.ok()) return sum.status();
  double spent = sum->Real(0, 0);
  // Running jobs have no final cost yet: their estimate so far counts too.
  auto running = db_->Query(
      "SELECT job_id FROM jobs WHERE status = 'running' AND cost_usd IS NULL AND created_at >= $1",
      {Param(since)}, "find running jobs");
  if (!running.ok()) return running.status();
  for (int i = 0; i < running->size(); ++i) {
    auto job = GetJob(running->Text(i, 0), JobRead::kList);
    if (!job.ok()) return job.status();
    if (*job) spent += CostOf(**job, prices, now).usd.value_or(0);
  }
  return spent;
}

}  // namespace jobpulse
