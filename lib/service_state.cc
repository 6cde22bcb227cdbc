#include "lib/service_state.h"

#include <rapidjson/document.h>

#include <cstdint>

#include "lib/http.h"
#include "lib/json_limits.h"
#include "lib/json_writer.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

// The records' names in the table.
constexpr std::string_view kPollerStatus = "poller_status";
constexpr std::string_view kHealthProbe = "health_probe";
constexpr std::string_view kSseClients = "sse_clients";
constexpr std::string_view kQueuePassRequest = "queue_pass_request";
constexpr std::string_view kQueuePassDone = "queue_pass_done";
std::string CircuitName(std::string_view provider) { return "circuit:" + std::string(provider); }
std::string SyncName(std::string_view provider) { return "sync_result:" + std::string(provider); }
std::string SecretName(std::string_view provider) {
  return "webhook_secret:" + std::string(provider);
}

// The stored JSON object of `name`, or a non-object when missing or bad.
rapidjson::Document ReadObject(ServiceStateStore& store, std::string_view name) {
  rapidjson::Document doc;
  auto state = store.GetServiceState(name);
  if (!state.ok() || !*state) return doc;
  const std::string& json = (*state)->value;
  if (!JsonDepthWithin(json)) return doc;  // SPEC §9: nesting limit
  doc.Parse<rapidjson::kParseIterativeFlag>(json.c_str(), json.size());
  if (doc.HasParseError()) doc.SetNull();
  return doc;
}

const rapidjson::Value* Member(const rapidjson::Document& doc, const char* key) {
  if (!doc.IsObject()) return nullptr;
  const auto it = doc.FindMember(key);
  return it == doc.MemberEnd() ? nullptr : &it->value;
}

std::optional<std::string> StringMember(const rapidjson::Document& doc, const char* key) {
  const rapidjson::Value* v = Member(doc, key);
  if (!v || !v->IsString()) return std::nullopt;
  return std::string(v->GetString(), v->GetStringLength());
}

std::optional<int64_t> IntMember(const rapidjson::Document& doc, const char* key) {
  const rapidjson::Value* v = Member(doc, key);
  if (!v || !v->IsInt64()) return std::nullopt;
  return v->GetInt64();
}

}  // namespace

Status WritePollerStatus(ServiceStateStore& store, const PollerStatusRecord& record, int64_t now) {
  JsonWriter w;
  w.BeginObject();
  w.Key("last_cycle_at").String(record.last_cycle_at);
  w.Key("last_cycle_jobs").Int(record.last_cycle_jobs);
  w.Key("last_error").String(record.last_error);
  w.EndObject();
  return store.PutServiceState(kPollerStatus, w.str(), now);
}

PollerStatusRecord ReadPollerStatus(ServiceStateStore& store) {
  const rapidjson::Document doc = ReadObject(store, kPollerStatus);
  return {StringMember(doc, "last_cycle_at"), IntMember(doc, "last_cycle_jobs"),
          StringMember(doc, "last_error")};
}

Status WriteCircuitState(ServiceStateStore& store, std::string_view provider, bool open,
                         int64_t now) {
  return store.PutServiceState(CircuitName(provider), open ? "open" : "closed", now);
}

std::string ReadCircuitState(ServiceStateStore& store, std::string_view provider) {
  auto state = store.GetServiceState(CircuitName(provider));
  return state.ok() && *state && (*state)->value == "open" ? "open" : "closed";
}

Status WriteSseClients(ServiceStateStore& store, int64_t clients, int64_t now) {
  return store.PutServiceState(kSseClients, std::to_string(clients), now);
}

int64_t ReadSseClients(ServiceStateStore& store) {
  auto state = store.GetServiceState(kSseClients);
  if (!state.ok() || !*state) return 0;
  return ParseInt((*state)->value, 0, INT64_MAX).value_or(0);
}

Status WriteSyncRecord(ServiceStateStore& store, std::string_view provider,
                       const SyncRecord& record, int64_t now) {
  JsonWriter w;
  w.BeginObject();
  w.Key("generation").Int(record.generation);
  w.Key("created").Int(record.created);
  w.Key("updated").Int(record.updated);
  w.Key("skipped").Int(record.skipped);
  if (!record.status.ok()) {
    w.Key("code").Int(static_cast<int64_t>(record.status.code()));
    w.Key("error").String(record.status.error());
    w.Key("message").String(record.status.message());
    w.Key("retry_after").Int(record.status.retry_after_seconds());
  }
  w.EndObject();
  return store.PutServiceState(SyncName(provider), w.str(), now);
}

SyncRecord ReadSyncRecord(ServiceStateStore& store, std::string_view provider) {
  const rapidjson::Document doc = ReadObject(store, SyncName(provider));
  const auto get_int = [&](const char* key) { return IntMember(doc, key).value_or(0); };
  SyncRecord record;
  record.generation = get_int("generation");
  record.created = static_cast<int>(get_int("created"));
  record.updated = static_cast<int>(get_int("updated"));
  record.skipped = static_cast<int>(get_int("skipped"));
  if (const std::string error = StringMember(doc, "error").value_or(""); !error.empty()) {
    // A code outside the enum (a record written by hand) is an internal error.
    const int64_t code = get_int("code");
    const bool known = code > 0 && code <= static_cast<int64_t>(Status::Code::kInternal);
    record.status = Status::Error(known ? static_cast<Status::Code>(code) : Status::Code::kInternal,
                                  error, StringMember(doc, "message").value_or(""),
                                  {{"provider", std::string(provider)}})
                        .set_retry_after_seconds(static_cast<int>(get_int("retry_after")));
  }
  return record;
}

Status CacheWebhookSecret(ServiceStateStore& store, std::string_view provider,
                          std::string_view secret, int64_t now) {
  return store.PutServiceState(SecretName(provider), secret, now);
}

std::optional<std::string> CachedWebhookSecret(ServiceStateStore& store, std::string_view provider,
                                               int64_t max_age, int64_t now) {
  // A cache that cannot be read is only the slower path: the caller fetches.
  auto cached = store.GetServiceState(SecretName(provider));
  if (!cached.ok() || !*cached) return std::nullopt;
  const int64_t age = now - (*cached)->updated_at;
  if (age < 0 || age >= max_age) return std::nullopt;
  return (*cached)->value;
}

Result<int64_t> RequestQueuePass(ServiceStateStore& store, int64_t now) {
  const int64_t ticket = ReadQueuePassRequest(store) + 1;
  if (Status s = store.PutServiceState(kQueuePassRequest, std::to_string(ticket), now); !s.ok()) {
    return s;
  }
  return ticket;
}

int64_t ReadQueuePassRequest(ServiceStateStore& store) {
  auto state = store.GetServiceState(kQueuePassRequest);
  if (!state.ok() || !*state) return 0;
  return ParseInt((*state)->value, 0, INT64_MAX).value_or(0);
}

Status WriteQueuePassDone(ServiceStateStore& store, const QueuePassRecord& record, int64_t now) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ticket").Int(record.ticket);
  w.Key("dispatched").Int(record.dispatched);
  w.EndObject();
  return store.PutServiceState(kQueuePassDone, w.str(), now);
}

QueuePassRecord ReadQueuePassDone(ServiceStateStore& store) {
  const rapidjson::Document doc = ReadObject(store, kQueuePassDone);
  return {IntMember(doc, "ticket").value_or(0),
          static_cast<int>(IntMember(doc, "dispatched").value_or(0))};
}

Status WriteHealthProbe(ServiceStateStore& store, int64_t now) {
  return store.PutServiceState(kHealthProbe, FormatTimestamp(now), now);
}

}  // namespace jobpulse
