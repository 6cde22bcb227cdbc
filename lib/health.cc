#include "lib/health.h"

#include <chrono>
#include <optional>
#include <string>

#include "lib/heartbeat.h"
#include "lib/json_writer.h"
#include "lib/poller.h"
#include "lib/replicate_run.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

// Below this much free space the database is reported down: the next write
// that needs a new page will fail.
constexpr int64_t kMinFreeDisk = 1024 * 1024;

// The "database" component: a probe write, timed, and the free disk. Returns
// whether the database is up.
bool WriteDatabaseHealth(JsonWriter& w, Store* store, const Status& open_status, int64_t now) {
  w.Key("database").BeginObject();
  Status db_status = store ? Status::Ok() : open_status;
  const auto started = std::chrono::steady_clock::now();
  if (store) {
    // A write, not a read: a full disk or a read-only file still answers
    // reads, and the service is down for every write (SPEC §9).
    db_status = WriteHealthProbe(*store, now);
    // Writes that still fit in allocated WAL pages succeed on a full disk.
    if (auto free = store->FreeDiskBytes(); db_status.ok() && free.ok() && *free < kMinFreeDisk) {
      db_status = Status::Error(
          Status::Code::kUnavailable, "database_unavailable",
          "the disk holding the database is full (" + std::to_string(*free / 1024) + " KiB free)");
    }
  }
  const double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (db_status.ok()) {
    w.Key("status").String("ok");
    w.Key("latency_ms").Double(static_cast<double>(static_cast<int64_t>(latency_ms * 1000)) / 1000);
  } else {
    w.Key("status").String("down");
    w.Key("message").String(std::string_view(db_status.message()));
  }
  w.EndObject();
  return db_status.ok();
}

}  // namespace

HttpResponse PollingStatusResponse(const Config& config, Store* store) {
  const PollingDecision decision = DecidePolling(config);
  // What the worker reported; every field null without a store.
  const PollerStatusRecord reported = store ? ReadPollerStatus(*store) : PollerStatusRecord{};
  JsonWriter w;
  w.BeginObject();
  w.Key("enabled").Bool(decision.enabled);
  w.Key("source").String(decision.source);
  w.Key("interval_seconds").Int(decision.interval_seconds);
  w.Key("interval_source").String(decision.interval_source);
  w.Key("webhook_configured").Bool(decision.webhook_configured);
  w.Key("last_cycle_at").String(reported.last_cycle_at);
  w.Key("last_cycle_jobs").Int(reported.last_cycle_jobs);
  w.Key("last_error").String(reported.last_error);
  w.EndObject();
  return JsonResponse(w.str());
}

HttpResponse HealthResponse(const Config& config, Store* store, const Status& open_status,
                            int64_t now) {
  bool down = false;
  JsonWriter w;
  w.BeginObject();
  w.Key("components").BeginObject();

  down = !WriteDatabaseHealth(w, store, open_status, now) || down;

  w.Key("worker").BeginObject();
  std::optional<WorkerHeartbeat> beat;
  if (store) {
    auto read = ReadWorkerHeartbeat(*store, now, config.polling_interval_seconds.value);
    if (read.ok()) beat = *read;
  }
  if (!beat || !beat->seen) {
    w.Key("status").String("absent");
    w.Key("heartbeat_age_seconds").Null();
  } else {
    if (!beat->live) down = true;
    w.Key("status").String(beat->live ? "ok" : "down");
    w.Key("heartbeat_age_seconds")
        .Double(static_cast<double>(static_cast<int64_t>(beat->age_seconds * 10)) / 10);
  }
  w.EndObject();

  w.Key("providers").BeginObject();
  w.Key(kReplicateProvider).BeginObject();
  w.Key("configured").Bool(config.replicate.api_token.value.has_value());
  w.Key("circuit").String(store ? ReadCircuitState(*store, kReplicateProvider) : "closed");
  w.EndObject();
  w.EndObject();

  w.EndObject();
  w.Key("status").String(down ? "unhealthy" : "ok");
  w.Key("timestamp").String(FormatTimestamp(now));
  w.EndObject();
  return JsonResponse(w.str(), down ? 503 : 200);
}

}  // namespace jobpulse
