// A job as one row of the jobs table, for every engine (lib/sqlite_jobs.cc,
// lib/pg_jobs.cc): the columns in order, the row read into a Job, and a
// Job's values in the same order for an engine's binder. The metadata column
// is a JSON object of strings.
//
// JobFromRow's Row: any type with Text(c), OptText(c), Int(c), OptInt(c) and
// OptReal(c) for column c (0-based). JobRowValues' Sink: any type with
// Add(std::string_view), Add(const std::optional<std::string>&),
// Add(int64_t), Add(const std::optional<int64_t>&) and
// Add(const std::optional<double>&).
// Pure; thread-safe.
#ifndef JOBPULSE_LIB_JOB_ROW_H_
#define JOBPULSE_LIB_JOB_ROW_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lib/job.h"
#include "lib/job_store.h"

namespace jobpulse {

// The jobs table's columns, in the order JobFromRow reads and JobRowValues gives them.
inline constexpr const char* kJobColumnNames[] = {"job_id",
                                                  "job_type",
                                                  "provider",
                                                  "external_id",
                                                  "status",
                                                  "config_name",
                                                  "created_at",
                                                  "started_at",
                                                  "completed_at",
                                                  "cost_usd",
                                                  "hardware_type",
                                                  "error_message",
                                                  "output_url",
                                                  "user_id",
                                                  "metadata",
                                                  "stage",
                                                  "progress",
                                                  "last_log",
                                                  "logs_tail",
                                                  "logs_fetched_at",
                                                  "progress_wanted_at",
                                                  "last_progress_event_at",
                                                  "unknown_provider_status",
                                                  "version",
                                                  "updated_at",
                                                  "poll_failures",
                                                  "next_poll_at",
                                                  "announced_stage",
                                                  "announced_progress",
                                                  "log_bytes_seen",
                                                  "output",
                                                  "output_truncated",
                                                  "not_found_count",
                                                  "not_found_since",
                                                  "rate",
                                                  "eta_seconds"};
inline constexpr int kJobColumnCount = sizeof(kJobColumnNames) / sizeof(kJobColumnNames[0]);

// "a, b, c" of the jobs columns in JobFromRow's order. A column a read does
// not need is read as NULL (its field keeps the default) so that one row
// reader serves every read: kList leaves out the two bulky ones a page never
// shows (the log tail and the output, up to 64 KiB each).
std::string JobColumns(JobRead read = JobRead::kWhole);

// The metadata as its column holds it, and back. Rows may also have been
// written by hand, so anything that is not an object of strings is
// tolerated: non-string values are skipped, and bad JSON reads as none.
std::string MetadataToJson(const std::map<std::string, std::string>& metadata);
std::map<std::string, std::string> MetadataFromJson(std::string_view json);

// One row of a SELECT of JobColumns() into a Job.
template <typename Row>
Job JobFromRow(const Row& row) {
  Job job;
  int c = 0;
  job.job_id = row.Text(c++);
  job.job_type = row.Text(c++);
  job.provider = row.OptText(c++);
  job.external_id = row.OptText(c++);
  // A status written by hand that we do not know reads as pending rather than
  // failing every list that includes the row.
  job.status = ParseJobStatus(row.Text(c++)).value_or(JobStatus::kPending);
  job.config_name = row.OptText(c++);
  job.created_at = row.Int(c++);
  job.started_at = row.OptInt(c++);
  job.completed_at = row.OptInt(c++);
  job.cost_usd = row.OptReal(c++);
  job.hardware_type = row.OptText(c++);
  job.error_message = row.OptText(c++);
  job.output_url = row.OptText(c++);
  job.user_id = row.OptInt(c++);
  job.metadata = MetadataFromJson(row.Text(c++));
  job.progress.stage = row.OptText(c++);
  job.progress.progress = row.OptReal(c++);
  job.progress.last_log = row.OptText(c++);
  job.logs_tail = row.Text(c++);
  job.logs_fetched_at = row.OptInt(c++);
  job.progress_wanted_at = row.OptInt(c++);
  job.last_progress_event_at = row.OptInt(c++);
  job.unknown_provider_status = row.OptText(c++);
  job.version = row.Int(c++);
  job.updated_at = row.Int(c++);
  job.poll_failures = static_cast<int>(row.Int(c++));
  job.next_poll_at = row.OptInt(c++);
  job.announced_stage = row.OptText(c++);
  job.announced_progress = row.OptReal(c++);
  job.log_bytes_seen = row.Int(c++);
  job.output = row.OptText(c++);
  job.output_truncated = row.Int(c++) != 0;
  job.not_found_count = static_cast<int>(row.Int(c++));
  job.not_found_since = row.OptInt(c++);
  job.progress.rate = row.OptReal(c++);
  job.progress.eta_seconds = row.OptInt(c++);
  return job;
}

// Inline progress's columns (JobStore::GetJobProgress), in the order
// JobProgressFromRow reads them.
inline constexpr const char* kJobProgressColumns =
    "job_id, status, provider, external_id, stage, progress, last_log, logs_fetched_at, "
    "progress_wanted_at, rate, eta_seconds";

// One row of a SELECT of kJobProgressColumns.
template <typename Row>
JobProgress JobProgressFromRow(const Row& row) {
  JobProgress p;
  p.job_id = row.Text(0);
  // As JobFromRow: an unknown status written by hand reads as pending.
  p.status = ParseJobStatus(row.Text(1)).value_or(JobStatus::kPending);
  p.provider = row.OptText(2);
  p.external_id = row.OptText(3);
  p.progress.stage = row.OptText(4);
  p.progress.progress = row.OptReal(5);
  p.progress.last_log = row.OptText(6);
  p.logs_fetched_at = row.OptInt(7);
  p.progress_wanted_at = row.OptInt(8);
  p.progress.rate = row.OptReal(9);
  p.progress.eta_seconds = row.OptInt(10);
  return p;
}

// Gives every column of kJobColumnNames, in order, to `sink`.
template <typename Sink>
void JobRowValues(const Job& job, Sink& sink) {
  sink.Add(std::string_view(job.job_id));
  sink.Add(std::string_view(job.job_type));
  sink.Add(job.provider);
  sink.Add(job.external_id);
  sink.Add(std::string_view(JobStatusName(job.status)));
  sink.Add(job.config_name);
  sink.Add(int64_t{job.created_at});
  sink.Add(job.started_at);
  sink.Add(job.completed_at);
  sink.Add(job.cost_usd);
  sink.Add(job.hardware_type);
  sink.Add(job.error_message);
  sink.Add(job.output_url);
  sink.Add(job.user_id);
  const std::string metadata = MetadataToJson(job.metadata);
  sink.Add(std::string_view(metadata));
  sink.Add(job.progress.stage);
  sink.Add(job.progress.progress);
  sink.Add(job.progress.last_log);
  sink.Add(std::string_view(job.logs_tail));
  sink.Add(job.logs_fetched_at);
  sink.Add(job.progress_wanted_at);
  sink.Add(job.last_progress_event_at);
  sink.Add(job.unknown_provider_status);
  sink.Add(int64_t{job.version});
  sink.Add(int64_t{job.updated_at});
  sink.Add(int64_t{job.poll_failures});
  sink.Add(job.next_poll_at);
  sink.Add(job.announced_stage);
  sink.Add(job.announced_progress);
  sink.Add(int64_t{job.log_bytes_seen});
  sink.Add(job.output);
  sink.Add(int64_t{job.output_truncated ? 1 : 0});
  sink.Add(int64_t{job.not_found_count});
  sink.Add(job.not_found_since);
  sink.Add(job.progress.rate);
  sink.Add(job.progress.eta_seconds);
}

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_JOB_ROW_H_
