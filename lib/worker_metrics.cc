// The worker's part of the metrics (lib/counters.h, lib/prometheus.h): its
// counts (provider requests, poll cycles, demand refreshes) and the number of
// event-stream clients go into the database once a second, where a scrape
// reaches them through whichever handler answers it.
#include "lib/counters.h"
#include "lib/log.h"
#include "lib/service_state.h"
#include "lib/timestamp.h"
#include "lib/worker.h"

namespace jobpulse {

void Worker::FlushMetrics(bool now_please) {
  const int64_t now = Now();
  if (!now_please && now - last_metrics_flush_at_ < kMicrosPerSecond) return;
  last_metrics_flush_at_ = now;
  // A busy database keeps the counts for the next second (FlushCounters).
  if (Status s = FlushCounters(ProcessCounters(), *store_, now);
      !s.ok() && s.code() != Status::Code::kBusy) {
    LogWarning("metrics: " + s.ToString());
  }
  const int64_t clients = sse_ ? sse_->stats().clients : 0;
  if (clients == sse_clients_written_) return;
  if (Status s = WriteSseClients(*store_, clients, now); !s.ok()) {
    if (s.code() != Status::Code::kBusy) LogWarning("metrics: " + s.ToString());
    return;
  }
  sse_clients_written_ = clients;
}

}  // namespace jobpulse
