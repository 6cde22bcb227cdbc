// The jobs table in PostgreSQL: the same row mapping (lib/job_row.h) and the
// same merge (lib/job_merge.h) as SQLite's. Where the engines differ:
//   - concurrency: SQLite has one writer at a time; here writers run side by
//     side under READ COMMITTED. Writers of the same run (same job id, or
//     same provider and run id) take one advisory lock in turn; and when two
//     writers reach one job by different names, the compare-and-set on
//     version (or the primary key, for two creations) tells the loser, and
//     Apply merges again on what is there now;
//   - the search `q`: a case-insensitive scan of the four fields (job id,
//     external id, config name, metadata.model) until search has its
//     PostgreSQL design (pg_trgm or a tsvector, a migration of its own).

#include "lib/job_row.h"
#include "lib/pg_store.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

const std::string kJobColumns = JobColumns();

// A job's values as text parameters, in column order.
struct PgParams {
  std::vector<PgParam> values;
  void Add(std::string_view v) { values.emplace_back(std::string(v)); }
  void Add(const std::optional<std::string>& v) { values.push_back(v); }
  void Add(int64_t v) { values.emplace_back(std::to_string(v)); }
  void Add(const std::optional<int64_t>& v) {
    values.push_back(v ? PgParam(std::to_string(*v)) : std::nullopt);
  }
  void Add(const std::optional<double>& v) {
    if (!v) {
      values.emplace_back(std::nullopt);
      return;
    }
    values.emplace_back(PgDouble(*v));
  }
};

// One row of a result, as JobFromRow reads it.
struct PgRowView {
  const PgRows& rows;
  int row;
  std::string Text(int c) const { return rows.Text(row, c); }
  std::optional<std::string> OptText(int c) const { return rows.OptText(row, c); }
  int64_t Int(int c) const { return rows.Int(row, c); }
  std::optional<int64_t> OptInt(int c) const { return rows.OptInt(row, c); }
  std::optional<double> OptReal(int c) const {
    if (rows.IsNull(row, c)) return std::nullopt;
    return rows.Real(row, c);
  }
};

std::vector<Job> JobsOf(const PgRows& rows) {
  std::vector<Job> jobs;
  jobs.reserve(static_cast<size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) jobs.push_back(JobFromRow(PgRowView{rows, i}));
  return jobs;
}

Result<std::optional<Job>> FirstJob(Result<PgRows> rows) {
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return std::optional<Job>();
  return std::optional<Job>(JobFromRow(PgRowView{*rows, 0}));
}

// `text` for LIKE, its wildcards escaped (ESCAPE '\').
std::string LikePattern(std::string_view text) {
  std::string out = "%";
  for (const char c : text) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "%";
}

// The WHERE of a job list and its parameters.
std::string FilterTerms(const JobFilter& filter, std::vector<PgParam>* params) {
  std::string terms = " WHERE true";
  if (!filter.statuses.empty()) {
    terms += " AND status IN (";
    for (size_t i = 0; i < filter.statuses.size(); ++i) {
      params->emplace_back(JobStatusName(filter.statuses[i]));
      terms += (i ? ", $" : "$") + std::to_string(params->size());
    }
    terms += ")";
  }
  if (filter.provider) {
    params->emplace_back(*filter.provider);
    terms += " AND provider = $" + std::to_string(params->size());
  }
  if (filter.job_type) {
    params->emplace_back(*filter.job_type);
    terms += " AND job_type = $" + std::to_string(params->size());
  }
  if (filter.query) {
    params->emplace_back(LikePattern(*filter.query));
    const std::string p = "$" + std::to_string(params->size());
    terms += " AND (job_id ILIKE " + p + " OR external_id ILIKE " + p + " OR config_name ILIKE " +
             p + " OR (metadata::jsonb ->> 'model') ILIKE " + p + ")";
  }
  return terms;
}

}  // namespace

bool PgStore::LostARace(const Status& s) {
  return s.error() == "concurrent_update" || s.error() == "job_conflict";
}

Result<std::optional<Job>> PgStore::GetJob(std::string_view job_id, JobRead read) {
  static const std::string kWhole = "SELECT " + kJobColumns + " FROM jobs WHERE job_id = $1";
  static const std::string kList =
      "SELECT " + JobColumns(JobRead::kList) + " FROM jobs WHERE job_id = $1";
  return FirstJob(
      db_->Query(read == JobRead::kList ? kList : kWhole, {std::string(job_id)}, "read job"));
}

Result<std::optional<JobProgress>> PgStore::GetJobProgress(std::string_view job_id) {
  static const std::string kSql =
      std::string("SELECT ") + kJobProgressColumns + " FROM jobs WHERE job_id = $1";
  auto rows = db_->Query(kSql, {std::string(job_id)}, "read job progress");
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return std::optional<JobProgress>();
  return std::optional<JobProgress>(JobProgressFromRow(PgRowView{*rows, 0}));
}

Result<std::optional<Job>> PgStore::FindByExternalId(std::string_view provider,
                                                     std::string_view external_id) {
  static const std::string kSql =
      "SELECT " + kJobColumns + " FROM jobs WHERE provider = $1 AND external_id = $2";
  return FirstJob(db_->Query(kSql, {std::string(provider), std::string(external_id)}, "read job"));
}

Result<JobPage> PgStore::ListJobs(const JobFilter& filter) {
  std::vector<PgParam> params;
  const std::string where = FilterTerms(filter, &params);
  // The page and its total from one snapshot.
  PgConnection::Transaction txn(*db_, PgConnection::Transaction::Isolation::kRepeatableRead);
  if (!txn.status().ok()) return txn.status();
  JobPage page;
  auto count = db_->Query("SELECT count(*) FROM jobs" + where, params, "count jobs");
  if (!count.ok()) return count.status();
  page.total = count->Int(0, 0);
  params.emplace_back(std::to_string(filter.limit));
  params.emplace_back(std::to_string(filter.offset));
  const std::string n = std::to_string(params.size());
  auto rows = db_->Query("SELECT " + JobColumns(JobRead::kList) + " FROM jobs" + where +
                             " ORDER BY created_at DESC, job_id DESC LIMIT $" +
                             std::to_string(params.size() - 1) + " OFFSET $" + n,
                         params, "list jobs");
  if (!rows.ok()) return rows.status();
  page.jobs = JobsOf(*rows);
  if (Status s = txn.Commit(); !s.ok()) return s;
  return page;
}

Result<int> PgStore::IndexPendingSearches(int /*limit*/) { return 0; }

Result<ApplyOutcome> PgStore::Apply(const Observation& obs, const PriceTable& prices, int64_t now,
                                    bool create_if_missing) {
  return MergeInTransaction(
      [&] { return ApplyInTransaction(obs, prices, now, create_if_missing); });
}

Result<ApplyOutcome> PgStore::ApplyInTransaction(const Observation& obs, const PriceTable& prices,
                                                 int64_t now, bool create_if_missing) {
  // Writers of the same run queue up behind one another (as SQLite's one
  // writer at a time would have them), across every node; other runs pass.
  const std::string run =
      obs.job_id ? "job:" + *obs.job_id : "run:" + obs.provider + ":" + obs.external_id;
  auto locked = db_->Query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {run},
                           "wait for the run's other writers");
  if (!locked.ok()) return locked.status();
  return MergeAndWrite(*this, *this, obs, prices, now, create_if_missing);
}

Status PgStore::WriteJob(const Job& job, bool insert, int64_t expected_version) {
  static const std::string kInsert = [] {
    std::string values;
    for (int i = 1; i <= kJobColumnCount; ++i) values += (i > 1 ? ", $" : "$") + std::to_string(i);
    return "INSERT INTO jobs (" + kJobColumns + ") VALUES (" + values + ")";
  }();
  // Compare-and-set: the row must still be the one the merge saw.
  static const std::string kUpdate = [] {
    std::string sets;
    for (int i = 0; i < kJobColumnCount; ++i) {
      sets += std::string(i ? ", " : "") + kJobColumnNames[i] + " = $" + std::to_string(i + 1);
    }
    return "UPDATE jobs SET " + sets + " WHERE job_id = $1 AND version = $" +
           std::to_string(kJobColumnCount + 1);
  }();
  PgParams params;
  JobRowValues(job, params);
  if (!insert) params.Add(expected_version);
  auto written = db_->Query(insert ? kInsert : kUpdate, params.values, "write job");
  if (!written.ok() && written.status().error() == "database_constraint") {
    return Status::Error(Status::Code::kConflict, "job_conflict",
                         "job " + job.job_id + " conflicts with an existing job",
                         {{"job_id", job.job_id}});
  }
  if (!written.ok()) return written.status();
  if (!insert && written->affected() != 1) {
    return Status::Error(Status::Code::kConflict, "concurrent_update",
                         "job " + job.job_id + " changed while it was being updated");
  }
  return Status::Ok();
}

Status PgStore::DeleteJob(std::string_view job_id) {
  PgConnection::Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  auto found = GetJob(job_id);
  if (!found.ok()) return found.status();
  const std::string id(job_id);
  if (!*found) return JobNotFound(id);
  const Job& job = **found;
  if (Status s = CheckDeletable(job); !s.ok()) return s;
  // Only while still terminal at this version: a merge in between wins.
  auto deleted = db_->Query("DELETE FROM jobs WHERE job_id = $1 AND version = $2",
                            {id, std::to_string(job.version)}, "delete job");
  if (!deleted.ok()) return deleted.status();
  if (deleted->affected() != 1) {
    return Status::Error(Status::Code::kConflict, "concurrent_update",
                         "job " + id + " changed while it was being deleted");
  }
  return txn.Commit();
}

Result<Metrics> PgStore::ComputeMetrics(int days, int64_t now) {
  Metrics m = EmptyMetrics(days);
  const std::string since =
      std::to_string(now - static_cast<int64_t>(days) * 86400 * kMicrosPerSecond);
  PgConnection::Transaction txn(*db_, PgConnection::Transaction::Isolation::kRepeatableRead);
  if (!txn.status().ok()) return txn.status();
  auto by_status = db_->Query(
      "SELECT status, count(*), coalesce(sum(cost_usd), 0) FROM jobs WHERE created_at >= $1 "
      "GROUP BY status",
      {since}, "metrics by status");
  if (!by_status.ok()) return by_status.status();
  for (int i = 0; i < by_status->size(); ++i) {
    m.jobs_by_status[by_status->Text(i, 0)] = by_status->Int(i, 1);
    m.job_count += by_status->Int(i, 1);
    m.total_cost += by_status->Real(i, 2);
  }
  auto duration = db_->Query(
      "SELECT avg((completed_at - started_at) / 1e6) FROM jobs WHERE created_at >= $1 AND "
      "status = 'completed' AND started_at IS NOT NULL AND completed_at IS NOT NULL",
      {since}, "metrics duration");
  if (!duration.ok()) return duration.status();
  if (!duration->IsNull(0, 0)) m.avg_job_duration_seconds = duration->Real(0, 0);
  auto by_day = db_->Query(
      "SELECT to_char(to_timestamp(created_at / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, "
      "count(*), coalesce(sum(cost_usd), 0) FROM jobs WHERE created_at >= $1 GROUP BY day "
      "ORDER BY day",
      {since}, "metrics by day");
  if (!by_day.ok()) return by_day.status();
  for (int i = 0; i < by_day->size(); ++i) {
    m.cost_by_day.push_back({by_day->Text(i, 0), by_day->Int(i, 1), by_day->Real(i, 2)});
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return m;
}

Result<std::vector<Job>> PgStore::ListActiveJobs(const std::optional<std::string>& provider) {
  static const std::string kSql =
      "SELECT " + kJobColumns +
      " FROM jobs WHERE job_type = 'cloud' AND status IN ('pending', 'uploading', 'queued', "
      "'running') AND external_id IS NOT NULL AND ($1::text IS NULL OR provider = $1) "
      "ORDER BY created_at, job_id";
  auto rows = db_->Query(kSql, {provider}, "list active jobs");
  if (!rows.ok()) return rows.status();
  return JobsOf(*rows);
}

Result<std::vector<Job>> PgStore::ListWatchedJobs(int64_t since) {
  static const std::string kSql = "SELECT " + kJobColumns +
                                  " FROM jobs WHERE status = 'running' AND external_id IS NOT "
                                  "NULL AND progress_wanted_at >= $1 ORDER BY job_id";
  auto rows = db_->Query(kSql, {std::to_string(since)}, "list watched jobs");
  if (!rows.ok()) return rows.status();
  return JobsOf(*rows);
}

Status PgStore::RecordProgressDemand(std::string_view job_id, int64_t now) {
  return db_
      ->Query("UPDATE jobs SET progress_wanted_at = $2 WHERE job_id = $1",
              {std::string(job_id), std::to_string(now)}, "record progress demand")
      .status();
}

Status PgStore::RecordPollFailure(std::string_view job_id, int failures, int64_t next_poll_at) {
  return db_
      ->Query("UPDATE jobs SET poll_failures = $2, next_poll_at = $3 WHERE job_id = $1",
              {std::string(job_id), std::to_string(failures), std::to_string(next_poll_at)},
              "record poll failure")
      .status();
}

}  // namespace jobpulse
