#include "lib/queue_store.h"

#include <cstdio>

namespace jobpulse {

namespace {

constexpr struct {
  QueueStatus status;
  const char* name;
} kQueueStatusNames[] = {{QueueStatus::kWaiting, "waiting"},
                         {QueueStatus::kDispatching, "dispatching"},
                         {QueueStatus::kDispatched, "dispatched"},
                         {QueueStatus::kClosed, "closed"}};

constexpr struct {
  const char* name;
  int priority;
} kPriorityNames[] = {{"low", 0}, {"normal", kDefaultPriority}, {"high", 20}, {"urgent", 30}};

}  // namespace

const char* QueueStatusName(QueueStatus status) {
  for (const auto& entry : kQueueStatusNames) {
    if (entry.status == status) return entry.name;
  }
  return "closed";
}

std::optional<QueueStatus> ParseQueueStatus(std::string_view name) {
  for (const auto& entry : kQueueStatusNames) {
    if (entry.name == name) return entry.status;
  }
  return std::nullopt;
}

std::optional<int> PriorityFromName(std::string_view name) {
  for (const auto& entry : kPriorityNames) {
    if (entry.name == name) return entry.priority;
  }
  return std::nullopt;
}

Status CostLimitExceeded(double spent_usd, const CostLimit& limit) {
  char figures[160];
  std::snprintf(figures, sizeof figures, "$%.2f spent of the $%.2f %s limit", spent_usd,
                limit.limit_usd, limit.period.c_str());
  char spent_text[32], limit_text[32];
  std::snprintf(spent_text, sizeof spent_text, "%.2f", spent_usd);
  std::snprintf(limit_text, sizeof limit_text, "%.2f", limit.limit_usd);
  return Status::Error(
      Status::Code::kConflict, "cost_limit_exceeded", std::string("Submission refused: ") + figures,
      {{"spent_usd", spent_text}, {"limit_usd", limit_text}, {"period", limit.period}});
}

Status QueueEntryNotFound(std::string_view job_id) {
  const std::string id(job_id);
  return Status::Error(Status::Code::kNotFound, "queue_entry_not_found",
                       "No queue entry for job " + id, {{"job_id", id}});
}

Status QueueEntryNotWaiting(const QueueEntry& entry, const std::string& what) {
  const char* state = QueueStatusName(entry.status);
  return Status::Error(
      Status::Code::kConflict, "invalid_queue_state",
      "Job " + entry.job_id + " is " + state + " in the queue; only waiting jobs " + what,
      {{"job_id", entry.job_id}, {"current_state", state}});
}

Status QueueEntryNotDispatching(const QueueEntry& entry) {
  const char* state = QueueStatusName(entry.status);
  return Status::Error(
      Status::Code::kConflict, "invalid_queue_state",
      "Job " + entry.job_id + " is " + state + " in the queue, no longer dispatching",
      {{"job_id", entry.job_id}, {"current_state", state}});
}

}  // namespace jobpulse
