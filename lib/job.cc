#include "lib/job.h"

#include "lib/json_writer.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

constexpr struct {
  JobStatus status;
  const char* name;
} kStatusNames[] = {
    {JobStatus::kPending, "pending"},     {JobStatus::kUploading, "uploading"},
    {JobStatus::kQueued, "queued"},       {JobStatus::kRunning, "running"},
    {JobStatus::kCompleted, "completed"}, {JobStatus::kFailed, "failed"},
    {JobStatus::kCancelled, "cancelled"},
};

void WriteTimestamp(JsonWriter& w, const std::optional<int64_t>& micros) {
  if (micros) {
    w.String(FormatTimestamp(*micros));
  } else {
    w.Null();
  }
}

}  // namespace

const char* JobStatusName(JobStatus status) {
  for (const auto& entry : kStatusNames) {
    if (entry.status == status) return entry.name;
  }
  return "pending";
}

std::optional<JobStatus> ParseJobStatus(std::string_view name) {
  for (const auto& entry : kStatusNames) {
    if (name == entry.name) return entry.status;
  }
  return std::nullopt;
}

int JobStatusRank(JobStatus status) {
  switch (status) {
    case JobStatus::kPending:
      return 0;
    case JobStatus::kUploading:
      return 1;
    case JobStatus::kQueued:
      return 2;
    case JobStatus::kRunning:
      return 3;
    case JobStatus::kCompleted:
    case JobStatus::kFailed:
    case JobStatus::kCancelled:
      return 4;
  }
  return 0;
}

bool IsTerminal(JobStatus status) { return JobStatusRank(status) == 4; }

std::optional<double> JobDurationSeconds(const Job& job, int64_t now) {
  if (!job.started_at) return std::nullopt;
  const int64_t end = job.completed_at ? *job.completed_at : now;
  // A provider clock slightly ahead of ours must not show a negative duration.
  return end > *job.started_at ? static_cast<double>(end - *job.started_at) / 1e6 : 0.0;
}

JobCost CostOf(const Job& job, const PriceTable& prices, int64_t now) {
  if (job.cost_usd) return {job.cost_usd, false};
  if (job.status == JobStatus::kRunning && job.started_at) {
    const auto seconds = JobDurationSeconds(job, now);
    const auto estimate = prices.Cost(*seconds < 0 ? 0 : *seconds, job.hardware_type);
    // An unpriced SKU gives no estimate, so nothing to flag as one.
    return {estimate, estimate.has_value()};
  }
  return {std::nullopt, false};
}

std::string JobToJson(const Job& job, const PriceTable& prices, int64_t now) {
  const JobCost cost = CostOf(job, prices, now);
  const Progress shown = ProgressForStatus(job.progress, job.status == JobStatus::kRunning);
  JsonWriter w;
  w.BeginObject();
  w.Key("job_id").String(std::string_view(job.job_id));
  w.Key("job_type").String(std::string_view(job.job_type));
  w.Key("provider").String(job.provider);
  w.Key("external_id").String(job.external_id);
  w.Key("status").String(JobStatusName(job.status));
  w.Key("config_name").String(job.config_name);
  w.Key("created_at");
  WriteTimestamp(w, job.created_at);
  w.Key("started_at");
  WriteTimestamp(w, job.started_at);
  w.Key("completed_at");
  WriteTimestamp(w, job.completed_at);
  w.Key("cost_usd").Double(cost.usd);
  w.Key("hardware_type").String(job.hardware_type);
  w.Key("error_message").String(job.error_message);
  w.Key("output_url").String(job.output_url);
  w.Key("user_id");
  if (job.user_id) {
    w.Int(*job.user_id);
  } else {
    w.Null();
  }
  w.Key("metadata").BeginObject();
  for (const auto& [key, value] : job.metadata) w.Key(key).String(std::string_view(value));
  if (cost.is_estimate) w.Key("cost_is_estimate").Bool(true);
  w.EndObject();
  w.Key("is_active").Bool(IsActive(job.status));
  w.Key("is_terminal").Bool(IsTerminal(job.status));
  w.Key("duration_seconds").Double(JobDurationSeconds(job, now));
  w.Key("stage").String(shown.stage);
  w.Key("progress").Double(shown.progress);
  w.Key("last_log").String(shown.last_log);
  w.Key("updated_at");
  WriteTimestamp(w, job.updated_at);
  w.EndObject();
  return w.str();
}

}  // namespace jobpulse
