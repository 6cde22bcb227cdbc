// GET /api/cloud/metrics/prometheus: the service's operational metrics in the
// Prometheus text exposition format (version 0.0.4), for ops to scrape and
// alert on (README "Metrics and alerts").
//
// Counters are the sums every process wrote into the database
// (lib/counters.h), so they survive handler recycling and are the same
// whichever handler answers; gauges are read from the database when scraped.
// Every family is always present with its HELP and TYPE lines; a counter
// without labels, and the histogram's buckets, read 0 until counted.
//
// Families:
//   jobpulse_provider_requests_total{provider,endpoint,outcome}   counter
//   jobpulse_poll_cycle_duration_seconds                          histogram
//   jobpulse_demand_refreshes_total{by}                           counter
//   jobpulse_webhook_deliveries_total{result}                     counter
//   jobpulse_webhook_inbox_pending                                gauge
//   jobpulse_webhook_inbox_oldest_pending_age_seconds             gauge
//   jobpulse_sse_clients                                          gauge
//   jobpulse_events_appended_total (the last event id handed out)  counter
//   jobpulse_handler_recycles_total                               counter
//   jobpulse_queue_waiting, jobpulse_queue_running                gauge
//   jobpulse_worker_up                                            gauge
//   jobpulse_worker_heartbeat_age_seconds (+Inf: never beat)      gauge
//   jobpulse_provider_circuit_open{provider}                      gauge
//
// Thread-safety: as the Store's (one thread at a time).
#ifndef JOBPULSE_LIB_PROMETHEUS_H_
#define JOBPULSE_LIB_PROMETHEUS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/status.h"
#include "lib/store.h"

namespace jobpulse {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// The exposition text. `providers`: the names whose circuits are reported;
// `default_cycle_seconds`: the worker's cycle when its heartbeat does not say
// (lib/heartbeat.h); `now`: microseconds. Errors: the store's, when a read
// fails (a partial exposition would read as counters going down).
Result<std::string> PrometheusText(Store& store, const std::vector<std::string>& providers,
                                   int default_cycle_seconds, int64_t now);

// A sample value as the text format writes it: integers without a decimal
// point, others with up to 15 significant digits, "+Inf", "-Inf", "NaN".
std::string FormatSampleValue(double value);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PROMETHEUS_H_
