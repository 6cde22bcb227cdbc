#include "lib/queue_store.h"

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

}  // namespace jobpulse
