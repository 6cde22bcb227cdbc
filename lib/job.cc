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

// The provider's free text a list page may carry (SPEC §3): a fixed number of
// bytes shared by the fields in the order they are taken.
class ProviderTextBudget {
 public:
  explicit ProviderTextBudget(size_t bytes) : left_(bytes) {}

  // `text` whole when it fits, else nullopt; a URL cut short is no URL.
  std::optional<std::string> Whole(const std::optional<std::string>& text) {
    if (!text || text->size() > left_) return std::nullopt;
    left_ -= text->size();
    return text;
  }
  // `text` cut at a code point boundary to what is left, ending in "...".
  std::string Cut(std::string_view text) {
    if (text.size() <= left_) {
      left_ -= text.size();
      return std::string(text);
    }
    static constexpr std::string_view kEllipsis = "...";
    size_t keep = left_ > kEllipsis.size() ? left_ - kEllipsis.size() : 0;
    while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
    left_ = 0;
    return keep == 0 ? std::string() : std::string(text.substr(0, keep)) + std::string(kEllipsis);
  }
  std::optional<std::string> Cut(const std::optional<std::string>& text) {
    if (!text) return std::nullopt;
    return Cut(std::string_view(*text));
  }

 private:
  size_t left_;
};

// What of the provider's text the view shows; in the detail, everything.
struct ShownText {
  std::optional<std::string> output_url;
  std::optional<std::string> config_name;
  std::optional<std::string> hardware_type;
  std::map<std::string, std::string> metadata;
  std::optional<std::string> error_message;
};

ShownText ShownTextOf(const Job& job, JobView view) {
  if (view == JobView::kDetail) {
    return {job.output_url, job.config_name, job.hardware_type, job.metadata, job.error_message};
  }
  ProviderTextBudget budget(kListProviderTextBytes);
  ShownText shown;
  shown.output_url = budget.Whole(job.output_url);
  shown.config_name = budget.Cut(job.config_name);
  shown.hardware_type = budget.Cut(job.hardware_type);
  for (const auto& [key, value] : job.metadata)
    shown.metadata[key] = budget.Cut(std::string_view(value));
  shown.error_message = budget.Cut(job.error_message);
  return shown;
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

JobProgress ProgressOf(const Job& job) {
  return {job.job_id,   job.status,          job.provider,          job.external_id,
          job.progress, job.logs_fetched_at, job.progress_wanted_at};
}

bool IsValidJobId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

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

std::string JobToJson(const Job& job, const PriceTable& prices, int64_t now, JobView view) {
  const JobCost cost = CostOf(job, prices, now);
  const ShownText text = ShownTextOf(job, view);
  const Progress shown = ProgressForStatus(job.progress, job.status == JobStatus::kRunning);
  JsonWriter w;
  w.BeginObject();
  w.Key("job_id").String(std::string_view(job.job_id));
  w.Key("job_type").String(std::string_view(job.job_type));
  w.Key("provider").String(job.provider);
  w.Key("external_id").String(job.external_id);
  w.Key("status").String(JobStatusName(job.status));
  w.Key("config_name").String(text.config_name);
  w.Key("created_at");
  WriteTimestamp(w, job.created_at);
  w.Key("started_at");
  WriteTimestamp(w, job.started_at);
  w.Key("completed_at");
  WriteTimestamp(w, job.completed_at);
  w.Key("cost_usd").Double(cost.usd);
  w.Key("hardware_type").String(text.hardware_type);
  w.Key("error_message").String(text.error_message);
  w.Key("output_url").String(text.output_url);
  if (view == JobView::kDetail) {
    // Stored by the provider client as compact JSON it wrote itself.
    w.Key("output");
    if (job.output) {
      w.Raw(*job.output);
    } else {
      w.Null();
    }
  }
  w.Key("user_id");
  if (job.user_id) {
    w.Int(*job.user_id);
  } else {
    w.Null();
  }
  w.Key("metadata").BeginObject();
  for (const auto& [key, value] : text.metadata) w.Key(key).String(std::string_view(value));
  if (cost.is_estimate) w.Key("cost_is_estimate").Bool(true);
  if (job.output_truncated) w.Key("output_truncated").Bool(true);
  w.EndObject();
  w.Key("is_active").Bool(IsActive(job.status));
  w.Key("is_terminal").Bool(IsTerminal(job.status));
  w.Key("duration_seconds").Double(JobDurationSeconds(job, now));
  w.Key("stage").String(shown.stage);
  w.Key("progress").Double(shown.progress);
  w.Key("last_log").String(shown.last_log);
  w.Key("rate").Double(shown.rate);
  w.Key("eta_seconds").Int(shown.eta_seconds);
  w.Key("updated_at");
  WriteTimestamp(w, job.updated_at);
  w.EndObject();
  return w.str();
}

}  // namespace jobpulse
