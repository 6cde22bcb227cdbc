// The metrics endpoints (routes in lib/api.cc's table): SPEC §9's job
// figures as JSON, and the operational metrics for Prometheus.
#include <string>
#include <vector>

#include "lib/api.h"
#include "lib/counters.h"
#include "lib/json_writer.h"
#include "lib/log.h"
#include "lib/prometheus.h"

namespace jobpulse {

Result<HttpResponse> Api::Metrics(const HttpRequest& request, const std::string& /*param*/) {
  const QueryParams query(request.query);
  int days = 30;
  if (const auto value = query.Get("days")) {
    const auto parsed = ParseInt(*value, 1, 365);
    if (!parsed) {
      return InvalidParameter("days", *value, "expected an integer from 1 to 365");
    }
    days = static_cast<int>(*parsed);
  }
  auto store = store_();
  if (!store.ok()) return store.status();
  auto metrics = (*store)->ComputeMetrics(days, clock_());
  if (!metrics.ok()) return metrics.status();
  JsonWriter w;
  w.BeginObject();
  w.Key("total_cost").Double(metrics->total_cost);
  w.Key("job_count").Int(metrics->job_count);
  w.Key("jobs_by_status").BeginObject();
  for (const auto& [status, count] : metrics->jobs_by_status) w.Key(status).Int(count);
  w.EndObject();
  w.Key("avg_job_duration_seconds").Double(metrics->avg_job_duration_seconds);
  w.Key("cost_by_day").BeginArray();
  for (const DayMetrics& day : metrics->cost_by_day) {
    w.BeginObject();
    w.Key("date").String(std::string_view(day.date));
    w.Key("jobs").Int(day.jobs);
    w.Key("cost_usd").Double(day.cost_usd);
    w.EndObject();
  }
  w.EndArray();
  w.Key("period_days").Int(metrics->period_days);
  w.EndObject();
  return WithETag(request, JsonResponse(w.str()));
}

// This handler's own counts go in first, so a scrape sees them at once.
Result<HttpResponse> Api::Prometheus(const HttpRequest& /*request*/, const std::string& /*param*/) {
  auto store = store_();
  if (!store.ok()) return store.status();
  const int64_t now = clock_();
  if (Status s = FlushCounters(ProcessCounters(), **store, now); !s.ok()) {
    LogWarning("metrics: this handler's counts wait for the next flush: " + s.ToString());
  }
  std::vector<std::string> providers;
  for (const auto& [name, provider] : providers_.providers()) providers.push_back(name);
  auto text = PrometheusText(**store, providers, config_.polling_interval_seconds.value, now);
  if (!text.ok()) return text.status();
  HttpResponse response;
  response.headers.emplace_back("Content-Type", std::string(kPrometheusContentType));
  response.headers.emplace_back("Cache-Control", "no-store");
  response.body = std::move(*text);
  return response;
}

}  // namespace jobpulse
