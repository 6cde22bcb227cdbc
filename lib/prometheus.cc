#include "lib/prometheus.h"

#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <map>
#include <utility>

#include "lib/counters.h"
#include "lib/heartbeat.h"
#include "lib/service_state.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

// The counters table's sums, by name, then label text.
using CounterSums = std::map<std::string, std::map<std::string, double>, std::less<>>;

class Exposition {
 public:
  explicit Exposition(const CounterSums& sums) : sums_(sums) {}

  void Family(std::string_view name, std::string_view type, std::string_view help) {
    text_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    text_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }
  void Sample(std::string_view name, std::string_view labels, double value) {
    text_.append(name);
    if (!labels.empty()) text_.append("{").append(labels).append("}");
    text_.append(" ").append(FormatSampleValue(value)).append("\n");
  }
  // A counter family from the table: every series written, plus `always`
  // (label texts shown as 0 until counted; "" for a counter without labels).
  void Counter(std::string_view name, std::string_view help,
               std::vector<std::string> always = {""}) {
    Family(name, "counter", help);
    std::map<std::string, double> series;
    for (std::string& labels : always) series.emplace(std::move(labels), 0);
    if (auto it = sums_.find(name); it != sums_.end()) {
      for (const auto& [labels, value] : it->second) series[labels] = value;
    }
    for (const auto& [labels, value] : series) Sample(name, labels, value);
  }
  void Histogram(std::string_view name, std::span<const double> bounds, std::string_view help) {
    Family(name, "histogram", help);
    const std::string bucket = std::string(name) + "_bucket";
    for (size_t i = 0; i <= bounds.size(); ++i) {
      const std::string le =
          FormatBound(i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity());
      const std::string labels = Labels({{"le", le}});
      Sample(bucket, labels, Sum(bucket, labels));
    }
    Sample(std::string(name) + "_sum", "", Sum(std::string(name) + "_sum", ""));
    Sample(std::string(name) + "_count", "", Sum(std::string(name) + "_count", ""));
  }
  void Gauge(std::string_view name, std::string_view help, double value) {
    Family(name, "gauge", help);
    Sample(name, "", value);
  }
  std::string Take() { return std::move(text_); }

 private:
  double Sum(const std::string& name, const std::string& labels) const {
    auto it = sums_.find(name);
    if (it == sums_.end()) return 0;
    auto series = it->second.find(labels);
    return series == it->second.end() ? 0 : series->second;
  }

  const CounterSums& sums_;
  std::string text_;
};

}  // namespace

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[40];
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", value);
  } else {
    std::snprintf(buf, sizeof(buf), "%.15g", value);
  }
  return buf;
}

Result<std::string> PrometheusText(Store& store, const std::vector<std::string>& providers,
                                   int default_cycle_seconds, int64_t now) {
  auto counters = store.ReadCounters();
  if (!counters.ok()) return counters.status();
  CounterSums sums;
  for (CounterValue& c : *counters) sums[c.name][c.labels] = c.value;
  auto inbox = store.SummarizePending();
  if (!inbox.ok()) return inbox.status();
  auto newest_event = store.EventIdsAssigned();
  if (!newest_event.ok()) return newest_event.status();
  auto queue = store.ReadQueueLoad(now);
  if (!queue.ok()) return queue.status();
  auto beat = ReadWorkerHeartbeat(store, now, default_cycle_seconds);
  if (!beat.ok()) return beat.status();

  Exposition out(sums);
  out.Counter(kProviderRequestsTotal,
              "Requests to a provider's API, by endpoint and outcome (ok, not_found, "
              "rate_limited, client_error, server_error, transport_error).",
              {});
  out.Histogram(kPollCycleSeconds, kPollCycleBuckets,
                "How long the worker's poll cycles took, seconds.");
  out.Counter(kDemandRefreshesTotal,
              "Running jobs refreshed because a client watched them: by the worker, or inline by "
              "a handler when no worker runs.",
              {Labels({{"by", "handler"}}), Labels({{"by", "worker"}})});
  out.Counter(kWebhookDeliveriesTotal,
              "Webhook deliveries received, by result (accepted, duplicate, or the error code "
              "of a refused one).",
              {Labels({{"result", "accepted"}}), Labels({{"result", "duplicate"}})});
  out.Gauge("jobpulse_webhook_inbox_pending", "Stored webhook deliveries not yet applied.",
            static_cast<double>(inbox->count));
  const double oldest_age =
      inbox->count > 0 ? std::max<double>(0, now - inbox->oldest_received_at) / kMicrosPerSecond
                       : 0;
  out.Gauge("jobpulse_webhook_inbox_oldest_pending_age_seconds",
            "Age of the oldest webhook delivery not yet applied, seconds (0 when none).",
            oldest_age);
  // The worker serves the stream: without a live worker nobody follows it.
  out.Gauge("jobpulse_sse_clients", "Clients following /api/events.",
            beat->live ? static_cast<double>(ReadSseClients(store)) : 0);
  out.Family("jobpulse_events_appended_total", "counter",
             "Events appended to the event log (the last event id handed out; pruning "
             "does not lower it).");
  out.Sample("jobpulse_events_appended_total", "", static_cast<double>(*newest_event));
  out.Counter(kHandlerRecyclesTotal,
              "FastCGI handlers that exited after their request limit to be started afresh.");
  out.Gauge("jobpulse_queue_waiting", "Submitted jobs waiting in the queue.",
            static_cast<double>(queue->waiting));
  out.Gauge("jobpulse_queue_running", "Queue entries being dispatched or dispatched.",
            static_cast<double>(queue->running));
  out.Gauge("jobpulse_worker_up", "1 when the worker's heartbeat is younger than two cycles.",
            beat->live ? 1 : 0);
  out.Gauge("jobpulse_worker_heartbeat_age_seconds",
            "Seconds since the worker's last heartbeat (+Inf: it never beat).",
            beat->seen ? beat->age_seconds : std::numeric_limits<double>::infinity());
  out.Family("jobpulse_provider_circuit_open", "gauge",
             "1 while the worker's circuit for a provider is open (calls suspended after "
             "repeated failures, or paused by a 429), as the worker last wrote it.");
  for (const std::string& provider : providers) {
    out.Sample("jobpulse_provider_circuit_open", Labels({{"provider", provider}}),
               ReadCircuitState(store, provider) == "open" ? 1 : 0);
  }
  return out.Take();
}

}  // namespace jobpulse
