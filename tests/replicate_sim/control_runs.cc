// The control API's runs (/_sim/runs...): create any run, move it, and send
// one signed webhook delivery of it on request.
#include <rapidjson/document.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/json_writer.h"
#include "lib/timestamp.h"
#include "lib/webhook_signature.h"
#include "tests/replicate_sim/json_fields.h"
#include "tests/replicate_sim/sim.h"
#include "tests/replicate_sim/webhook.h"
#include "tests/replicate_sim/webhook_sender.h"

namespace replicate_sim {
namespace {

bool ValidRunId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

HttpResponse Simulator::ControlRuns(const HttpRequest& req, const std::vector<std::string>& p) {
  const size_t n = p.size();
  const std::string& m = req.method;
  const auto wrong_method = [&](const char* allowed) { return WrongMethod(m, allowed); };
  if (n == 2 && p[1] == "runs") {
    return m == "POST" ? CreateRun(req) : wrong_method("POST");
  }
  if (n == 3 && p[1] == "runs") {
    if (m != "GET" && m != "DELETE") return wrong_method("GET, DELETE");
    std::lock_guard<std::mutex> lock(state_.mu);
    const auto it = state_.runs.find(p[2]);
    if (it == state_.runs.end()) return ControlError(404, "no run " + p[2]);
    if (m == "DELETE") {
      // Gone from /v1 as if deleted on Replicate: GETs answer 404, lists omit it.
      state_.runs.erase(it);
      jobpulse::JsonWriter w;
      w.BeginObject().Key("deleted").String(p[2]).EndObject();
      return Json(200, w.str());
    }
    return Json(200, RunJson(it->second, {state_.base_url, kControlDigits, true}));
  }
  if (n == 4 && p[1] == "runs" &&
      (p[3] == "status" || p[3] == "logs" || p[3] == "metrics" || p[3] == "webhook")) {
    if (m != "POST") return wrong_method("POST");
    return p[3] == "webhook" ? SendWebhook(req, p[2]) : UpdateRun(req, p[2], p[3]);
  }
  return ControlError(404, "no control endpoint " + req.path);
}

HttpResponse Simulator::CreateRun(const HttpRequest& req) {
  rapidjson::Document doc;
  std::string error;
  if (!ParseBody(req.body, &doc, &error)) return ControlError(400, error);
  Fields f(doc);
  std::optional<std::string> id, model, kind, status, source, logs, version, input, output,
      destination;
  std::optional<std::optional<std::string>> run_error;
  std::optional<int64_t> created_at, started_at, completed_at;
  std::optional<double> predict_time;
  std::map<std::string, double> metrics;
  std::optional<bool> any_id;
  if (!f.Bool("any_id", &any_id) || !f.String("id", &id) || !f.String("model", &model) ||
      !f.String("kind", &kind) || !f.String("status", &status) || !f.String("source", &source) ||
      !f.String("logs", &logs) || !f.String("version", &version) || !f.AnyJson("input", &input) ||
      !f.AnyJson("output", &output) || !f.NullableString("error", &run_error) ||
      !f.Timestamp("created_at", &created_at) || !f.Timestamp("started_at", &started_at) ||
      !f.Timestamp("completed_at", &completed_at) || !f.Number("predict_time", &predict_time) ||
      !f.NumberObject("metrics", &metrics) || !f.String("destination", &destination)) {
    return ControlError(400, f.error());
  }
  // any_id: a hostile provider's id (slashes, dots, non-ASCII, 200 chars),
  // which lists and webhooks then carry; it cannot be fetched by path.
  const bool id_ok =
      id && any_id.value_or(false) ? !id->empty() && id->size() <= 1024 : !id || ValidRunId(*id);
  if (!id_ok) return ControlError(400, "\"id\" must be 1-64 chars of [A-Za-z0-9_-]");
  if (kind && *kind != "prediction" && *kind != "training") {
    return ControlError(400, "\"kind\" must be \"prediction\" or \"training\"");
  }
  if (status && status->empty()) return ControlError(400, "\"status\" must not be empty");

  Run run;
  std::string field;
  if (!ReadWebhookFields(doc, &run, &field, &error)) {
    return ControlError(400, "\"" + field + "\" " + error);
  }
  run.id = id.value_or(RandomRunId());
  run.training = kind.value_or("prediction") == "training";
  run.model = model.value_or(kDefaultModel);
  run.version = version.value_or(VersionForModel(run.model));
  run.source = source.value_or("api");
  run.destination = destination.value_or("");
  if (input) run.input_json = *input;
  run.output_json = output;
  run.logs = logs.value_or("");
  if (run_error) run.error = *run_error;
  run.predict_time = predict_time;
  const int64_t now = jobpulse::NowMicros();
  run.created_at = created_at.value_or(now);
  ApplyStatus(run, status.value_or("starting"), now);
  // Explicit timestamps win over the derived ones, so a test can build any history.
  if (started_at) run.started_at = started_at;
  if (completed_at) run.completed_at = completed_at;
  FillTerminalMetrics(run);
  for (const auto& [key, value] : metrics) run.metrics[key] = value;

  std::lock_guard<std::mutex> lock(state_.mu);
  if (state_.runs.count(run.id)) return ControlError(409, "run " + run.id + " already exists");
  const auto [it, inserted] = state_.runs.emplace(run.id, std::move(run));
  return Json(201, RunJson(it->second, {state_.base_url, kControlDigits, true}));
}

HttpResponse Simulator::UpdateRun(const HttpRequest& req, const std::string& id,
                                  const std::string& action) {
  rapidjson::Document doc;
  std::string error;
  if (!ParseBody(req.body, &doc, &error)) return ControlError(400, error);
  Fields f(doc);
  std::optional<std::string> status, append, output;
  std::optional<std::optional<std::string>> run_error;
  std::optional<double> predict_time;
  std::map<std::string, double> metrics;
  if (action == "status") {
    if (!f.String("status", &status) || !f.NullableString("error", &run_error) ||
        !f.Number("predict_time", &predict_time) || !f.AnyJson("output", &output)) {
      return ControlError(400, f.error());
    }
    if (!status || status->empty()) return ControlError(400, "\"status\" is required");
  } else if (action == "logs") {
    if (!f.String("append", &append)) return ControlError(400, f.error());
    if (!append) return ControlError(400, "\"append\" is required");
  } else {
    // The whole body is the metrics object.
    for (const auto& m : std::as_const(doc).GetObject()) {
      if (!m.value.IsNumber()) return ControlError(400, "metrics values must be numbers");
      metrics[std::string(m.name.GetString(), m.name.GetStringLength())] = m.value.GetDouble();
    }
  }

  std::lock_guard<std::mutex> lock(state_.mu);
  const auto it = state_.runs.find(id);
  if (it == state_.runs.end()) return ControlError(404, "no run " + id);
  Run& run = it->second;
  const RunDigest before = Digest(run);
  if (action == "status") {
    if (run_error) run.error = *run_error;
    if (predict_time) run.predict_time = predict_time;
    if (output) run.output_json = output;
    ApplyStatus(run, *status, jobpulse::NowMicros());
  } else if (action == "logs") {
    run.logs += *append;
  } else {
    for (const auto& [key, value] : metrics) run.metrics[key] = value;
  }
  // Hand moves send webhooks like the provider's own moves would, so a test can
  // drive a run to its end and have jobpulse learn it by webhook.
  NotifyChange(state_, before, run);
  return Json(200, RunJson(run, {state_.base_url, kControlDigits, true}));
}

HttpResponse Simulator::SendWebhook(const HttpRequest& req, const std::string& id) {
  rapidjson::Document doc;
  std::string error;
  if (!ParseBody(req.body, &doc, &error)) return ControlError(400, error);
  Fields f(doc);
  std::optional<std::string> url, webhook_id, secret;
  std::optional<int64_t> timestamp;
  std::optional<bool> corrupt, extra;
  if (!f.String("url", &url) || !f.String("webhook_id", &webhook_id) ||
      !f.String("secret", &secret) || !f.Int("timestamp", &timestamp) ||
      !f.Bool("corrupt_signature", &corrupt) || !f.Bool("extra_signatures", &extra)) {
    return ControlError(400, f.error());
  }
  if (!url || url->empty()) return ControlError(400, "\"url\" is required");

  std::string payload;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    const auto it = state_.runs.find(id);
    if (it == state_.runs.end()) return ControlError(404, "no run " + id);
    if (!secret) secret = state_.config.webhook_secret;
    // The payload is the full object as GET would return it, precision included.
    payload = RunJson(it->second, {state_.base_url, NextTimestampDigits(), true});
  }
  const std::optional<std::string> key = jobpulse::DecodeWebhookSecret(*secret);
  if (!key) return ControlError(400, "\"secret\" is not a valid whsec_ base64 secret");
  const std::string msg_id = webhook_id.value_or(RandomWebhookId());
  const std::string ts =
      std::to_string(timestamp.value_or(static_cast<int64_t>(std::time(nullptr))));
  std::string signature = jobpulse::SignWebhook(*key, msg_id, ts, payload);
  if (corrupt.value_or(false)) {
    // Change one base64 character: still well-formed, no longer the right MAC.
    char& c = signature[5];
    c = c == 'A' ? 'B' : 'A';
  }
  if (extra.value_or(false)) {
    signature = "v1," + RandomHex(43) + "= " + signature;
  }
  const DeliveryResult result =
      PostJson(*url,
               {"Content-Type: application/json", "webhook-id: " + msg_id,
                "webhook-timestamp: " + ts, "webhook-signature: " + signature},
               payload, 10000);
  jobpulse::JsonWriter w;
  w.BeginObject();
  w.Key("status").Int(result.status);
  w.Key("body").String(result.body);
  w.Key("webhook_id").String(msg_id);
  if (result.status == 0) w.Key("error").String(result.error);
  w.EndObject();
  return Json(200, w.str());
}

}  // namespace replicate_sim
