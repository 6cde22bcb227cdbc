// The jobs table in SQLite: the row mapping, the reads, the merge's write
// (a compare-and-set on version, with the job's events in the same
// transaction), deletion, the worker's queries and the bookkeeping writes.
#include "lib/job_row.h"
#include "lib/sqlite_store.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

const std::string kJobColumns = JobColumns();

// Binds a job's values, in order, from ?1.
struct SqliteBinder {
  SqliteStatement& statement;
  int next = 1;
  template <typename T>
  void Add(const T& value) {
    statement.Bind(next++, value);
  }
};

void BindJobRow(SqliteStatement& statement, const Job& job) {
  SqliteBinder binder{statement};
  JobRowValues(job, binder);
}

// The first row of `q` as a job, or nullopt when there is none.
Result<std::optional<Job>> ReadOneJob(Query& q, const char* what) {
  auto row = q->Step(what);
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Job>();
  return std::optional<Job>(JobFromRow(*q));
}

// Every row of `q` as jobs.
Result<std::vector<Job>> ReadJobs(Query& q, const char* what) {
  std::vector<Job> jobs;
  for (;;) {
    auto row = q->Step(what);
    if (!row.ok()) return row.status();
    if (!*row) return jobs;
    jobs.push_back(JobFromRow(*q));
  }
}

}  // namespace

Result<std::optional<Job>> SqliteStore::GetJob(std::string_view job_id, JobRead read) {
  // Built once: the statement cache is keyed by the text.
  static const std::string kWhole = "SELECT " + kJobColumns + " FROM jobs WHERE job_id = ?1";
  static const std::string kList =
      "SELECT " + JobColumns(JobRead::kList) + " FROM jobs WHERE job_id = ?1";
  Query q = db_->Prepare(read == JobRead::kList ? kList : kWhole);
  if (!q.ok()) return q.status();
  q->Bind(1, job_id);
  return ReadOneJob(q, "read job");
}

Result<std::optional<JobProgress>> SqliteStore::GetJobProgress(std::string_view job_id) {
  static const std::string kSql =
      std::string("SELECT ") + kJobProgressColumns + " FROM jobs WHERE job_id = ?1";
  Query q = db_->Prepare(kSql);
  if (!q.ok()) return q.status();
  q->Bind(1, job_id);
  auto row = q->Step("read job progress");
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<JobProgress>();
  return std::optional<JobProgress>(JobProgressFromRow(*q));
}

Result<std::optional<Job>> SqliteStore::FindByExternalId(std::string_view provider,
                                                         std::string_view external_id) {
  static const std::string kSql =
      "SELECT " + kJobColumns + " FROM jobs WHERE provider = ?1 AND external_id = ?2";
  Query q = db_->Prepare(kSql);
  if (!q.ok()) return q.status();
  q->Bind(1, provider);
  q->Bind(2, external_id);
  return ReadOneJob(q, "read job");
}

std::string SqliteFilterTerms(const JobFilter& filter) {
  std::string terms;
  if (!filter.statuses.empty()) {
    terms += " AND status IN (";
    for (size_t i = 0; i < filter.statuses.size(); ++i) terms += i ? ", ?" : "?";
    terms += ")";
  }
  if (filter.provider) terms += " AND provider = ?";
  if (filter.job_type) terms += " AND job_type = ?";
  return terms;
}

int SqliteBindFilters(SqliteStatement& statement, const JobFilter& filter, int first) {
  int next = first;
  for (const JobStatus status : filter.statuses) statement.Bind(next++, JobStatusName(status));
  if (filter.provider) statement.Bind(next++, *filter.provider);
  if (filter.job_type) statement.Bind(next++, *filter.job_type);
  return next;
}

Result<JobPage> SqliteStore::ListJobs(const JobFilter& filter) {
  if (filter.query) {
    // Every job indexed first, so a search never misses a fresh one; a
    // database too busy for that is searched as it is.
    while (true) {
      auto indexed = IndexPendingSearches(kSearchIndexBatch);
      if (!indexed.ok() || *indexed < kSearchIndexBatch) break;
    }
  }
  // The page and its total come from one snapshot.
  Transaction txn(*db_, Transaction::Mode::kDeferred);
  if (!txn.status().ok()) return txn.status();
  JobPage page;
  if (filter.query) {
    auto found = SearchJobs(filter);
    if (!found.ok()) return found.status();
    page.total = found->total;
    for (const std::string& id : found->page) {
      auto job = GetJob(id, JobRead::kList);
      if (!job.ok()) return job.status();
      if (*job) page.jobs.push_back(std::move(**job));
    }
  } else {
    const std::string where = " WHERE 1" + SqliteFilterTerms(filter);
    Query count = db_->Prepare("SELECT count(*) FROM jobs" + where);
    if (!count.ok()) return count.status();
    SqliteBindFilters(*count, filter, 1);
    auto row = count->Step("count jobs");
    if (!row.ok()) return row.status();
    page.total = *row ? count->Int(0) : 0;

    Query list = db_->Prepare("SELECT " + JobColumns(JobRead::kList) + " FROM jobs" + where +
                              " ORDER BY created_at DESC, job_id DESC LIMIT ? OFFSET ?");
    if (!list.ok()) return list.status();
    const int next = SqliteBindFilters(*list, filter, 1);
    list->Bind(next, filter.limit);
    list->Bind(next + 1, filter.offset);
    auto jobs = ReadJobs(list, "list jobs");
    if (!jobs.ok()) return jobs.status();
    page.jobs = std::move(*jobs);
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return page;
}

Result<ApplyOutcome> SqliteStore::Apply(const Observation& obs, const PriceTable& prices,
                                        int64_t now, bool create_if_missing) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  auto outcome = ApplyInTransaction(obs, prices, now, create_if_missing);
  if (!outcome.ok()) return outcome;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return outcome;
}

Status SqliteStore::WriteJob(const Job& job, bool insert, int64_t expected_version) {
  static const std::string kInsert = [] {
    std::string values;
    for (int i = 1; i <= kJobColumnCount; ++i) values += (i > 1 ? ", ?" : "?") + std::to_string(i);
    return "INSERT INTO jobs (" + kJobColumns + ") VALUES (" + values + ")";
  }();
  // Compare-and-set: the row must still be the one MergeObservation saw.
  static const std::string kUpdate = [] {
    std::string sets;
    for (int i = 0; i < kJobColumnCount; ++i) {
      sets += std::string(i ? ", " : "") + kJobColumnNames[i] + " = ?" + std::to_string(i + 1);
    }
    return "UPDATE jobs SET " + sets + " WHERE job_id = ?1 AND version = ?" +
           std::to_string(kJobColumnCount + 1);
  }();
  Query q = db_->Prepare(insert ? kInsert : kUpdate);
  if (!q.ok()) return q.status();
  BindJobRow(*q, job);
  if (!insert) q->Bind(kJobColumnCount + 1, expected_version);
  const Status s = q->Run("write job");
  if (s.code() == Status::Code::kConflict) {
    return Status::Error(Status::Code::kConflict, "job_conflict",
                         "job " + job.job_id + " conflicts with an existing job",
                         {{"job_id", job.job_id}});
  }
  if (!s.ok()) return s;
  if (!insert && db_->Changes() != 1) {
    return Status::Error(Status::Code::kConflict, "concurrent_update",
                         "job " + job.job_id + " changed while it was being updated");
  }
  return Status::Ok();
}

Result<ApplyOutcome> SqliteStore::ApplyInTransaction(const Observation& obs,
                                                     const PriceTable& prices, int64_t now,
                                                     bool create_if_missing) {
  return MergeAndWrite(*this, *this, obs, prices, now, create_if_missing);
}

Status SqliteStore::DeleteJob(std::string_view job_id) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  auto found = GetJob(job_id);
  if (!found.ok()) return found.status();
  const std::string id(job_id);
  if (!found.value()) return JobNotFound(id);
  const Job& job = *found.value();
  if (Status s = CheckDeletable(job); !s.ok()) return s;
  {
    Query q = db_->Prepare("DELETE FROM jobs WHERE job_id = ?1");
    if (!q.ok()) return q.status();
    q->Bind(1, job_id);
    if (Status s = q->Run("delete job"); !s.ok()) return s;
  }
  return txn.Commit();
}

Result<std::vector<Job>> SqliteStore::ListActiveJobs(const std::optional<std::string>& provider) {
  static const std::string kSql =
      "SELECT " + kJobColumns +
      " FROM jobs WHERE job_type = 'cloud' AND status IN ('pending', 'uploading', 'queued', "
      "'running') AND external_id IS NOT NULL AND (?1 IS NULL OR provider = ?1) "
      "ORDER BY created_at, job_id";
  Query q = db_->Prepare(kSql);
  if (!q.ok()) return q.status();
  q->Bind(1, provider);
  return ReadJobs(q, "list active jobs");
}

Result<std::vector<Job>> SqliteStore::ListWatchedJobs(int64_t since) {
  // The worker asks on every wake-up. Left to itself the planner takes the
  // status index and reads every running job (a 64 000-job flood of webhooks
  // spent two thirds of the worker here); the partial demand index holds only
  // the jobs someone asked about.
  static const std::string kSql = "SELECT " + kJobColumns +
                                  " FROM jobs INDEXED BY jobs_progress_wanted_at "
                                  "WHERE status = 'running' AND external_id IS NOT NULL "
                                  "AND progress_wanted_at >= ?1 ORDER BY job_id";
  Query q = db_->Prepare(kSql);
  if (!q.ok()) return q.status();
  q->Bind(1, since);
  return ReadJobs(q, "list watched jobs");
}

Status SqliteStore::RecordProgressDemand(std::string_view job_id, int64_t now) {
  Query q = db_->Prepare("UPDATE jobs SET progress_wanted_at = ?2 WHERE job_id = ?1");
  if (!q.ok()) return q.status();
  q->Bind(1, job_id);
  q->Bind(2, now);
  return q->Run("record progress demand");
}

Status SqliteStore::RecordPollFailure(std::string_view job_id, int failures, int64_t next_poll_at) {
  Query q = db_->Prepare("UPDATE jobs SET poll_failures = ?2, next_poll_at = ?3 WHERE job_id = ?1");
  if (!q.ok()) return q.status();
  q->Bind(1, job_id);
  q->Bind(2, failures);
  q->Bind(3, next_poll_at);
  return q->Run("record poll failure");
}

}  // namespace jobpulse
