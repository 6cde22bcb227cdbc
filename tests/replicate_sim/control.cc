// The control API under /_sim: lets a test create and drive runs, inject
// faults, read request counters and webhook deliveries, change configuration
// and trigger signed webhook deliveries. No authentication; the simulator
// listens on loopback only. Runs are in control_runs.cc, faults in
// control_faults.cc.
#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/json_writer.h"
#include "lib/webhook_signature.h"
#include "tests/replicate_sim/json_fields.h"
#include "tests/replicate_sim/sim.h"

namespace replicate_sim {
namespace {

using rapidjson::Value;

bool ValidNextLinks(const std::string& mode) {
  for (const char* m : kNextLinkModes) {
    if (mode == m) return true;
  }
  return false;
}

}  // namespace

HttpResponse ControlError(int status, const std::string& message) {
  jobpulse::JsonWriter w;
  w.BeginObject().Key("error").String(message).Key("status").Int(status).EndObject();
  return Json(status, w.str());
}

HttpResponse WrongMethod(const std::string& method, const char* allowed) {
  HttpResponse r = ControlError(405, "method " + method + " not allowed here; use " + allowed);
  r.headers.emplace_back("Allow", allowed);
  return r;
}

HttpResponse Simulator::HandleControl(const HttpRequest& req) {
  const std::vector<std::string> p = SplitPath(req.path);
  const size_t n = p.size();
  const std::string& m = req.method;
  // Every known path, with the methods it accepts, so anything else is 404 or 405.
  const auto wrong_method = [&](const char* allowed) { return WrongMethod(m, allowed); };

  if (n >= 2 && p[1] == "runs") return ControlRuns(req, p);
  if (n == 2 && p[1] == "faults") {
    if (m == "POST") return AddFault(req);
    if (m == "DELETE") {
      std::lock_guard<std::mutex> lock(state_.mu);
      state_.faults.clear();
      return FaultsJson();
    }
    if (m == "GET") {
      std::lock_guard<std::mutex> lock(state_.mu);
      return FaultsJson();
    }
    return wrong_method("GET, POST, DELETE");
  }
  if (n == 2 && p[1] == "webhooks") {
    if (m == "DELETE") state_.webhooks.ClearLog();
    if (m != "GET" && m != "DELETE") return wrong_method("GET, DELETE");
    return WebhooksJson();
  }
  if (n == 2 && p[1] == "counters") {
    return m == "GET" ? Counters() : wrong_method("GET");
  }
  if (n == 3 && p[1] == "counters" && p[2] == "reset") {
    if (m != "POST") return wrong_method("POST");
    {
      std::lock_guard<std::mutex> lock(state_.mu);
      state_.total_requests = 0;
      state_.endpoint_counts.clear();
      state_.run_counts.clear();
    }
    state_.webhooks.ResetStats();
    return Counters();
  }
  if (n == 2 && p[1] == "config") {
    if (m == "POST") return UpdateConfig(req);
    if (m == "GET") {
      std::lock_guard<std::mutex> lock(state_.mu);
      return ConfigJson();
    }
    return wrong_method("GET, POST");
  }
  if (n == 2 && p[1] == "reset") {
    if (m != "POST") return wrong_method("POST");
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.runs.clear();
    state_.faults.clear();
    state_.total_requests = 0;
    state_.endpoint_counts.clear();
    state_.run_counts.clear();
    state_.config = state_.initial_config;
    state_.version_models.clear();
    state_.webhooks.Reset();
    return Json(200, R"({"ok":true})");
  }
  return ControlError(404, "no control endpoint " + req.path);
}

HttpResponse Simulator::Counters() {
  std::lock_guard<std::mutex> lock(state_.mu);
  jobpulse::JsonWriter w;
  w.BeginObject();
  w.Key("total").Int(static_cast<int64_t>(state_.total_requests));
  w.Key("endpoints").BeginObject();
  for (const char* name : kEndpointNames) {
    const auto it = state_.endpoint_counts.find(name);
    w.Key(name).Int(it == state_.endpoint_counts.end() ? 0 : static_cast<int64_t>(it->second));
  }
  w.EndObject();
  w.Key("runs").BeginObject();
  for (const auto& [id, count] : state_.run_counts) w.Key(id).Int(static_cast<int64_t>(count));
  w.EndObject();
  const WebhookStats hooks = state_.webhooks.stats();
  w.Key("webhooks").BeginObject();
  w.Key("sent").Int(static_cast<int64_t>(hooks.sent));
  w.Key("failed").Int(static_cast<int64_t>(hooks.failed));
  w.Key("retried").Int(static_cast<int64_t>(hooks.retried));
  w.Key("dropped").Int(static_cast<int64_t>(hooks.dropped));
  w.EndObject();
  w.EndObject();
  return Json(200, w.str());
}

HttpResponse Simulator::UpdateConfig(const HttpRequest& req) {
  rapidjson::Document doc;
  std::string error;
  if (!ParseBody(req.body, &doc, &error)) return ControlError(400, error);
  Fields f(doc);
  std::optional<int64_t> page_size, latency_ms, run_start_ms, tick_ms;
  std::optional<double> run_seconds;
  std::optional<bool> gzip;
  std::optional<std::string> secret, next_links;
  if (!f.Int("page_size", &page_size) || !f.Int("latency_ms", &latency_ms) ||
      !f.Bool("gzip", &gzip) || !f.String("webhook_secret", &secret) ||
      !f.String("next_links", &next_links) || !f.Number("run_seconds", &run_seconds) ||
      !f.Int("run_start_ms", &run_start_ms) || !f.Int("tick_ms", &tick_ms)) {
    return ControlError(400, f.error());
  }
  if (run_seconds && !(*run_seconds >= 0 && *run_seconds <= 86400)) {
    return ControlError(400, "\"run_seconds\" must be 0-86400");
  }
  if (!IntInRange(run_start_ms, 0, 600000)) {
    return ControlError(400, "\"run_start_ms\" must be 0-600000");
  }
  if (!IntInRange(tick_ms, 10, 60000)) return ControlError(400, "\"tick_ms\" must be 10-60000");
  if (next_links && !ValidNextLinks(*next_links)) {
    return ControlError(400, "\"next_links\" must be \"absolute\", \"replicate\" or \"relative\"");
  }
  if (!IntInRange(page_size, 1, 10000)) return ControlError(400, "\"page_size\" must be 1-10000");
  if (!IntInRange(latency_ms, 0, 600000))
    return ControlError(400, "\"latency_ms\" must be 0-600000");
  if (secret && !jobpulse::DecodeWebhookSecret(*secret)) {
    return ControlError(400, "\"webhook_secret\" is not a valid whsec_ base64 secret");
  }
  std::optional<std::vector<std::string>> tokens;
  const Value& body = doc;  // const iterators: clang warns on mixed ones
  if (const auto it = body.FindMember("tokens"); it != body.MemberEnd()) {
    if (!it->value.IsArray()) return ControlError(400, "\"tokens\" must be an array of strings");
    tokens.emplace();
    for (const Value& t : it->value.GetArray()) {
      if (!t.IsString()) return ControlError(400, "\"tokens\" must be an array of strings");
      tokens->emplace_back(t.GetString(), t.GetStringLength());
    }
  }
  std::lock_guard<std::mutex> lock(state_.mu);
  Config& c = state_.config;
  if (page_size) c.page_size = static_cast<int>(*page_size);
  if (latency_ms) c.latency_ms = static_cast<int>(*latency_ms);
  if (gzip) c.gzip = *gzip;
  if (secret) c.webhook_secret = *secret;
  if (tokens) c.tokens = *tokens;
  if (next_links) c.next_links = *next_links;
  if (run_seconds) c.run_seconds = *run_seconds;
  if (run_start_ms) c.run_start_ms = static_cast<int>(*run_start_ms);
  if (tick_ms) c.tick_ms = static_cast<int>(*tick_ms);
  return ConfigJson();
}

HttpResponse Simulator::ConfigJson() {
  const Config& c = state_.config;
  jobpulse::JsonWriter w;
  w.BeginObject();
  w.Key("page_size").Int(c.page_size);
  w.Key("latency_ms").Int(c.latency_ms);
  w.Key("gzip").Bool(c.gzip);
  w.Key("tokens").BeginArray();
  for (const std::string& t : c.tokens) w.String(t);
  w.EndArray();
  w.Key("webhook_secret").String(c.webhook_secret);
  w.Key("next_links").String(c.next_links);
  w.Key("run_seconds").Double(c.run_seconds);
  w.Key("run_start_ms").Int(c.run_start_ms);
  w.Key("tick_ms").Int(c.tick_ms);
  w.EndObject();
  return Json(200, w.str());
}

HttpResponse Simulator::WebhooksJson() {
  jobpulse::JsonWriter w;
  w.BeginObject().Key("deliveries").BeginArray();
  for (const DeliveryRecord& d : state_.webhooks.log()) {
    w.BeginObject();
    w.Key("run_id").String(d.run_id);
    w.Key("event").String(d.event);
    w.Key("status").Int(d.status);
    w.Key("attempt").Int(d.attempt);
    w.Key("webhook_id").String(d.webhook_id);
    if (d.status == 0) w.Key("error").String(d.error);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return Json(200, w.str());
}

}  // namespace replicate_sim
