#include "lib/event_log.h"

#include "lib/json_writer.h"
#include "lib/timestamp.h"

namespace jobpulse {

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kJobStatusChanged:
      return "job_status_changed";
    case EventType::kJobProgress:
      return "job_progress";
    case EventType::kJobsSynced:
      return "jobs_synced";
    case EventType::kQueueChanged:
      return "queue_changed";
  }
  return "unknown";
}

std::string JobStatusChangedData(const Job& job, const std::optional<JobStatus>& previous,
                                 int64_t now) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String(EventTypeName(EventType::kJobStatusChanged));
  w.Key("job_id").String(std::string_view(job.job_id));
  w.Key("status").String(JobStatusName(job.status));
  w.Key("previous_status");
  if (previous) {
    w.String(JobStatusName(*previous));
  } else {
    w.Null();
  }
  w.Key("provider").String(job.provider);
  w.Key("at").String(FormatTimestamp(now));
  w.EndObject();
  return w.str();
}

std::string JobProgressData(const Job& job, int64_t now) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String(EventTypeName(EventType::kJobProgress));
  w.Key("job_id").String(std::string_view(job.job_id));
  w.Key("stage").String(job.progress.stage);
  w.Key("progress").Double(job.progress.progress);
  w.Key("last_log").String(job.progress.last_log);
  w.Key("rate").Double(job.progress.rate);
  w.Key("eta_seconds").Int(job.progress.eta_seconds);
  w.Key("at").String(FormatTimestamp(now));
  w.EndObject();
  return w.str();
}

std::string JobsSyncedData(std::string_view provider, int64_t created, int64_t updated,
                           int64_t now) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String(EventTypeName(EventType::kJobsSynced));
  w.Key("provider").String(provider);
  w.Key("new").Int(created);
  w.Key("updated").Int(updated);
  w.Key("at").String(FormatTimestamp(now));
  w.EndObject();
  return w.str();
}

std::string QueueChangedData(int64_t queue_depth, int64_t running, int64_t now) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String(EventTypeName(EventType::kQueueChanged));
  w.Key("queue_depth").Int(queue_depth);
  w.Key("running").Int(running);
  w.Key("at").String(FormatTimestamp(now));
  w.EndObject();
  return w.str();
}

}  // namespace jobpulse
