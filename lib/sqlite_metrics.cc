// The metrics of SPEC §3 (GET /api/cloud/metrics) from the jobs table.
#include "lib/sqlite_store.h"
#include "lib/timestamp.h"

namespace jobpulse {

Result<Metrics> SqliteStore::ComputeMetrics(int days, int64_t now) {
  Metrics m = EmptyMetrics(days);
  const int64_t since = now - static_cast<int64_t>(days) * 86400 * kMicrosPerSecond;
  // The three figures come from one snapshot.
  Transaction txn(*db_, Transaction::Mode::kDeferred);
  if (!txn.status().ok()) return txn.status();
  {
    Query by_status = db_->Prepare(
        "SELECT status, count(*), total(cost_usd) FROM jobs WHERE created_at >= ?1 GROUP BY "
        "status");
    if (!by_status.ok()) return by_status.status();
    by_status->Bind(1, since);
    for (;;) {
      auto row = by_status->Step("metrics by status");
      if (!row.ok()) return row.status();
      if (!*row) break;
      m.jobs_by_status[by_status->Text(0)] = by_status->Int(1);
      m.job_count += by_status->Int(1);
      m.total_cost += by_status->Real(2);
    }
  }
  {
    Query duration = db_->Prepare(
        "SELECT avg((completed_at - started_at) / 1e6) FROM jobs WHERE created_at >= ?1 AND "
        "status = 'completed' AND started_at IS NOT NULL AND completed_at IS NOT NULL");
    if (!duration.ok()) return duration.status();
    duration->Bind(1, since);
    auto row = duration->Step("metrics duration");
    if (!row.ok()) return row.status();
    if (*row) m.avg_job_duration_seconds = duration->OptReal(0);
  }
  {
    Query by_day = db_->Prepare(
        "SELECT date(created_at / 1000000, 'unixepoch') AS day, count(*), total(cost_usd) "
        "FROM jobs WHERE created_at >= ?1 GROUP BY day ORDER BY day");
    if (!by_day.ok()) return by_day.status();
    by_day->Bind(1, since);
    for (;;) {
      auto row = by_day->Step("metrics by day");
      if (!row.ok()) return row.status();
      if (!*row) break;
      m.cost_by_day.push_back({by_day->Text(0), by_day->Int(1), by_day->Real(2)});
    }
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return m;
}

}  // namespace jobpulse
