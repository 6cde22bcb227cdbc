#include "lib/health.h"

#include <rapidjson/document.h>

#include <chrono>
#include <optional>
#include <string>

#include "lib/heartbeat.h"
#include "lib/json_limits.h"
#include "lib/json_writer.h"
#include "lib/poller.h"
#include "lib/replicate_run.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

// Below this much free space the database is reported down: the next write
// that needs a new page will fail.
constexpr int64_t kMinFreeDisk = 1024 * 1024;

}  // namespace

HttpResponse PollingStatusResponse(const Config& config, Store* store) {
  const PollingDecision decision = DecidePolling(config);
  std::optional<std::string> reported;
  if (store) {
    auto state = store->GetServiceState("poller_status");
    if (state.ok() && *state) reported = (*state)->value;
  }
  rapidjson::Document doc;
  const bool parsable = reported && JsonDepthWithin(*reported);
  if (parsable) doc.Parse<rapidjson::kParseIterativeFlag>(reported->c_str(), reported->size());
  const bool have = parsable && !doc.HasParseError() && doc.IsObject();
  const auto field = [&](const char* key) -> const rapidjson::Value* {
    if (!have) return nullptr;
    const auto it = doc.FindMember(key);
    return it == doc.MemberEnd() ? nullptr : &it->value;
  };
  JsonWriter w;
  w.BeginObject();
  w.Key("enabled").Bool(decision.enabled);
  w.Key("source").String(decision.source);
  w.Key("interval_seconds").Int(decision.interval_seconds);
  w.Key("interval_source").String(decision.interval_source);
  w.Key("webhook_configured").Bool(decision.webhook_configured);
  // What the worker reported, where it has the expected type; null otherwise.
  const auto reported_string = [&](const char* key) {
    const rapidjson::Value* value = field(key);
    w.Key(key);
    if (value && value->IsString()) {
      w.String(std::string_view(value->GetString(), value->GetStringLength()));
    } else {
      w.Null();
    }
  };
  reported_string("last_cycle_at");
  const rapidjson::Value* jobs = field("last_cycle_jobs");
  w.Key("last_cycle_jobs");
  if (jobs && jobs->IsInt64()) {
    w.Int(jobs->GetInt64());
  } else {
    w.Null();
  }
  reported_string("last_error");
  w.EndObject();
  return JsonResponse(w.str());
}

HttpResponse HealthResponse(const Config& config, Store* store, const Status& open_status,
                            int64_t now) {
  bool down = false;
  JsonWriter w;
  w.BeginObject();
  w.Key("components").BeginObject();

  w.Key("database").BeginObject();
  Status db_status = store ? Status::Ok() : open_status;
  const auto started = std::chrono::steady_clock::now();
  if (store) {
    // A write, not a read: a full disk or a read-only file still answers
    // reads, and the service is down for every write (SPEC §9).
    db_status = store->PutServiceState("health_probe", FormatTimestamp(now), now);
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
    down = true;
    w.Key("status").String("down");
    w.Key("message").String(std::string_view(db_status.message()));
  }
  w.EndObject();

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
  std::string circuit = "closed";
  if (store) {
    auto state = store->GetServiceState("circuit:replicate");
    if (state.ok() && *state) circuit = (*state)->value;
  }
  w.Key("circuit").String(std::string_view(circuit));
  w.EndObject();
  w.EndObject();

  w.EndObject();
  w.Key("status").String(down ? "unhealthy" : "ok");
  w.Key("timestamp").String(FormatTimestamp(now));
  w.EndObject();
  return JsonResponse(w.str(), down ? 503 : 200);
}

}  // namespace jobpulse
