// The control API under /_sim: lets a test create and drive runs, inject
// faults, read request counters, change configuration and trigger signed webhook
// deliveries. No authentication; the simulator listens on loopback only.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <ctime>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/json_writer.h"
#include "lib/timestamp.h"
#include "lib/webhook_signature.h"
#include "tests/replicate_sim/sim.h"
#include "tests/replicate_sim/webhook.h"

namespace replicate_sim {
namespace {

using rapidjson::Value;

// Control answers use a fixed six fractional digits: only the /v1 surface and
// webhooks vary precision, so a test reading control output gets stable text and
// the /v1 precision cycle is not advanced by test setup.
constexpr int kControlDigits = 6;

HttpResponse Error(int status, const std::string& message) {
  jobpulse::JsonWriter w;
  w.BeginObject().Key("error").String(message).Key("status").Int(status).EndObject();
  return Json(status, w.str());
}

std::string Compact(const Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Reads a JSON object body; an empty body counts as {} so bodiless POSTs work.
bool ParseBody(const std::string& text, rapidjson::Document* doc, std::string* error) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    doc->SetObject();
    return true;
  }
  doc->Parse(text.data(), text.size());
  if (doc->HasParseError()) {
    *error = "body is not valid JSON";
    return false;
  }
  if (!doc->IsObject()) {
    *error = "body must be a JSON object";
    return false;
  }
  return true;
}

// Field readers: absent leaves *out untouched and succeeds; a present value of
// the wrong type fails with a message naming the field.
class Fields {
 public:
  explicit Fields(const Value& obj) : obj_(obj) {}

  bool String(const char* key, std::optional<std::string>* out) {
    const Value* v = Find(key);
    if (!v) return true;
    if (!v->IsString()) return Fail(key, "a string");
    *out = std::string(v->GetString(), v->GetStringLength());
    return true;
  }
  // Present-and-null becomes an engaged outer optional holding nullopt.
  bool NullableString(const char* key, std::optional<std::optional<std::string>>* out) {
    const Value* v = Find(key);
    if (!v) return true;
    if (v->IsNull()) {
      *out = std::optional<std::string>();
      return true;
    }
    if (!v->IsString()) return Fail(key, "a string or null");
    *out = std::string(v->GetString(), v->GetStringLength());
    return true;
  }
  bool Int(const char* key, std::optional<int64_t>* out) {
    const Value* v = Find(key);
    if (!v) return true;
    if (!v->IsInt64()) return Fail(key, "an integer");
    *out = v->GetInt64();
    return true;
  }
  bool Number(const char* key, std::optional<double>* out) {
    const Value* v = Find(key);
    if (!v) return true;
    if (!v->IsNumber()) return Fail(key, "a number");
    *out = v->GetDouble();
    return true;
  }
  bool Bool(const char* key, std::optional<bool>* out) {
    const Value* v = Find(key);
    if (!v) return true;
    if (!v->IsBool()) return Fail(key, "true or false");
    *out = v->GetBool();
    return true;
  }
  bool AnyJson(const char* key, std::optional<std::string>* out) {
    const Value* v = Find(key);
    if (v) *out = Compact(*v);
    return true;
  }
  bool Timestamp(const char* key, std::optional<int64_t>* out) {
    std::optional<std::string> text;
    if (!String(key, &text)) return false;
    if (!text) return true;
    *out = jobpulse::ParseTimestamp(*text);
    if (!*out) return Fail(key, "an RFC 3339 timestamp");
    return true;
  }
  bool NumberObject(const char* key, std::map<std::string, double>* out) {
    const Value* v = Find(key);
    if (!v) return true;
    if (!v->IsObject()) return Fail(key, "an object of numbers");
    for (const auto& m : v->GetObject()) {
      if (!m.value.IsNumber()) return Fail(key, "an object of numbers");
      (*out)[std::string(m.name.GetString(), m.name.GetStringLength())] = m.value.GetDouble();
    }
    return true;
  }

  const std::string& error() const { return error_; }

 private:
  const Value* Find(const char* key) {
    const auto it = obj_.FindMember(key);
    return it == obj_.MemberEnd() ? nullptr : &it->value;
  }
  bool Fail(const char* key, const char* expected) {
    error_ = std::string("\"") + key + "\" must be " + expected;
    return false;
  }

  const Value& obj_;
  std::string error_;
};

bool ValidRunId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool KnownEndpoint(const std::string& name) {
  if (name == "*") return true;
  for (const char* e : kEndpointNames) {
    if (name == e) return true;
  }
  return false;
}

void WriteFault(jobpulse::JsonWriter& w, const Fault& f) {
  w.BeginObject();
  w.Key("endpoint").String(f.endpoint);
  w.Key("status").Int(f.status);
  w.Key("retry_after").Int(f.retry_after);
  w.Key("retry_after_header").Bool(f.retry_after_header);
  w.Key("retry_after_body").Bool(f.retry_after_body);
  w.Key("retry_after_text");
  if (f.retry_after_text < 0) {
    w.Null();
  } else {
    w.Int(f.retry_after_text);
  }
  w.Key("delay_ms").Int(f.delay_ms);
  w.Key("malformed").Bool(f.malformed);
  w.Key("drop").Bool(f.drop);
  w.Key("count");
  if (f.remaining < 0) {
    w.Null();
  } else {
    w.Int(f.remaining);
  }
  w.EndObject();
}

bool ValidNextLinks(const std::string& mode) {
  for (const char* m : kNextLinkModes) {
    if (mode == m) return true;
  }
  return false;
}

bool IntInRange(const std::optional<int64_t>& v, int64_t lo, int64_t hi) {
  return !v || (*v >= lo && *v <= hi);
}

}  // namespace

HttpResponse Simulator::HandleControl(const HttpRequest& req) {
  const std::vector<std::string> p = SplitPath(req.path);
  const size_t n = p.size();
  const std::string& m = req.method;
  // Every known path, with the methods it accepts, so anything else is 404 or 405.
  const auto wrong_method = [&](const char* allowed) {
    HttpResponse r = Error(405, "method " + m + " not allowed here; use " + allowed);
    r.headers.emplace_back("Allow", allowed);
    return r;
  };

  if (n == 2 && p[1] == "runs") {
    return m == "POST" ? CreateRun(req) : wrong_method("POST");
  }
  if (n == 3 && p[1] == "runs") {
    if (m != "GET" && m != "DELETE") return wrong_method("GET, DELETE");
    std::lock_guard<std::mutex> lock(state_.mu);
    const auto it = state_.runs.find(p[2]);
    if (it == state_.runs.end()) return Error(404, "no run " + p[2]);
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
    return Json(200, R"({"ok":true})");
  }
  return Error(404, "no control endpoint " + req.path);
}

HttpResponse Simulator::CreateRun(const HttpRequest& req) {
  rapidjson::Document doc;
  std::string error;
  if (!ParseBody(req.body, &doc, &error)) return Error(400, error);
  Fields f(doc);
  std::optional<std::string> id, model, kind, status, source, logs, version, input, output;
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
      !f.NumberObject("metrics", &metrics)) {
    return Error(400, f.error());
  }
  // any_id: a hostile provider's id (slashes, dots, non-ASCII, 200 chars),
  // which lists and webhooks then carry; it cannot be fetched by path.
  const bool id_ok =
      id && any_id.value_or(false) ? !id->empty() && id->size() <= 1024 : !id || ValidRunId(*id);
  if (!id_ok) return Error(400, "\"id\" must be 1-64 chars of [A-Za-z0-9_-]");
  if (kind && *kind != "prediction" && *kind != "training") {
    return Error(400, "\"kind\" must be \"prediction\" or \"training\"");
  }
  if (status && status->empty()) return Error(400, "\"status\" must not be empty");

  Run run;
  run.id = id.value_or(RandomRunId());
  run.training = kind.value_or("prediction") == "training";
  run.model = model.value_or(kDefaultModel);
  run.version = version.value_or(VersionForModel(run.model));
  run.source = source.value_or("api");
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
  if (state_.runs.count(run.id)) return Error(409, "run " + run.id + " already exists");
  const auto [it, inserted] = state_.runs.emplace(run.id, std::move(run));
  return Json(201, RunJson(it->second, {state_.base_url, kControlDigits, true}));
}

HttpResponse Simulator::UpdateRun(const HttpRequest& req, const std::string& id,
                                  const std::string& action) {
  rapidjson::Document doc;
  std::string error;
  if (!ParseBody(req.body, &doc, &error)) return Error(400, error);
  Fields f(doc);
  std::optional<std::string> status, append, output;
  std::optional<std::optional<std::string>> run_error;
  std::optional<double> predict_time;
  std::map<std::string, double> metrics;
  if (action == "status") {
    if (!f.String("status", &status) || !f.NullableString("error", &run_error) ||
        !f.Number("predict_time", &predict_time) || !f.AnyJson("output", &output)) {
      return Error(400, f.error());
    }
    if (!status || status->empty()) return Error(400, "\"status\" is required");
  } else if (action == "logs") {
    if (!f.String("append", &append)) return Error(400, f.error());
    if (!append) return Error(400, "\"append\" is required");
  } else {
    // The whole body is the metrics object.
    for (const auto& m : doc.GetObject()) {
      if (!m.value.IsNumber()) return Error(400, "metrics values must be numbers");
      metrics[std::string(m.name.GetString(), m.name.GetStringLength())] = m.value.GetDouble();
    }
  }

  std::lock_guard<std::mutex> lock(state_.mu);
  const auto it = state_.runs.find(id);
  if (it == state_.runs.end()) return Error(404, "no run " + id);
  Run& run = it->second;
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
  return Json(200, RunJson(run, {state_.base_url, kControlDigits, true}));
}

HttpResponse Simulator::SendWebhook(const HttpRequest& req, const std::string& id) {
  rapidjson::Document doc;
  std::string error;
  if (!ParseBody(req.body, &doc, &error)) return Error(400, error);
  Fields f(doc);
  std::optional<std::string> url, webhook_id, secret;
  std::optional<int64_t> timestamp;
  std::optional<bool> corrupt, extra;
  if (!f.String("url", &url) || !f.String("webhook_id", &webhook_id) ||
      !f.String("secret", &secret) || !f.Int("timestamp", &timestamp) ||
      !f.Bool("corrupt_signature", &corrupt) || !f.Bool("extra_signatures", &extra)) {
    return Error(400, f.error());
  }
  if (!url || url->empty()) return Error(400, "\"url\" is required");

  std::string payload;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    const auto it = state_.runs.find(id);
    if (it == state_.runs.end()) return Error(404, "no run " + id);
    if (!secret) secret = state_.config.webhook_secret;
    // The payload is the full object as GET would return it, precision included.
    payload = RunJson(it->second, {state_.base_url, NextTimestampDigits(), true});
  }
  const std::optional<std::string> key = jobpulse::DecodeWebhookSecret(*secret);
  if (!key) return Error(400, "\"secret\" is not a valid whsec_ base64 secret");
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

HttpResponse Simulator::AddFault(const HttpRequest& req) {
  rapidjson::Document doc;
  std::string error;
  if (!ParseBody(req.body, &doc, &error)) return Error(400, error);
  Fields f(doc);
  std::optional<std::string> endpoint;
  std::optional<int64_t> status, retry_after, retry_after_text, delay_ms, count;
  std::optional<bool> header, body, malformed, drop;
  if (!f.String("endpoint", &endpoint) || !f.Int("status", &status) ||
      !f.Int("retry_after", &retry_after) || !f.Int("retry_after_text", &retry_after_text) ||
      !f.Bool("retry_after_header", &header) || !f.Bool("retry_after_body", &body) ||
      !f.Int("delay_ms", &delay_ms) || !f.Bool("malformed", &malformed) || !f.Bool("drop", &drop) ||
      !f.Int("count", &count)) {
    return Error(400, f.error());
  }
  if (!endpoint || !KnownEndpoint(*endpoint)) {
    std::string names;
    for (const char* e : kEndpointNames) names += std::string(names.empty() ? "" : ", ") + e;
    return Error(400, "\"endpoint\" must be \"*\" or one of " + names);
  }
  if (status && !IntInRange(status, 100, 599)) return Error(400, "\"status\" must be 100-599");
  if (!IntInRange(retry_after, 0, 86400)) return Error(400, "\"retry_after\" must be 0-86400");
  if (!IntInRange(retry_after_text, 0, 86400)) {
    return Error(400, "\"retry_after_text\" must be 0-86400");
  }
  // A text-only hint is a 429 by definition; status may be left out.
  if (retry_after_text && !status) status = 429;
  if (retry_after_text && *status != 429) {
    return Error(400, "\"retry_after_text\" needs \"status\": 429");
  }
  if (!IntInRange(delay_ms, 0, 600000)) return Error(400, "\"delay_ms\" must be 0-600000");
  if (!IntInRange(count, 1, std::numeric_limits<int64_t>::max())) {
    return Error(400, "\"count\" must be at least 1");
  }
  Fault fault;
  fault.endpoint = *endpoint;
  fault.status = static_cast<int>(status.value_or(0));
  fault.retry_after = static_cast<int>(retry_after.value_or(1));
  fault.retry_after_given = retry_after.has_value();
  fault.retry_after_header = header.value_or(true);
  fault.retry_after_body = body.value_or(true);
  fault.retry_after_text = static_cast<int>(retry_after_text.value_or(-1));
  fault.delay_ms = static_cast<int>(delay_ms.value_or(0));
  fault.malformed = malformed.value_or(false);
  fault.drop = drop.value_or(false);
  fault.remaining = count.value_or(-1);
  std::lock_guard<std::mutex> lock(state_.mu);
  state_.faults.push_back(fault);
  return FaultsJson();
}

HttpResponse Simulator::FaultsJson() {
  jobpulse::JsonWriter w;
  w.BeginObject().Key("faults").BeginArray();
  for (const Fault& fault : state_.faults) WriteFault(w, fault);
  w.EndArray().EndObject();
  return Json(200, w.str());
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
  w.EndObject();
  return Json(200, w.str());
}

HttpResponse Simulator::UpdateConfig(const HttpRequest& req) {
  rapidjson::Document doc;
  std::string error;
  if (!ParseBody(req.body, &doc, &error)) return Error(400, error);
  Fields f(doc);
  std::optional<int64_t> page_size, latency_ms;
  std::optional<bool> gzip;
  std::optional<std::string> secret, next_links;
  if (!f.Int("page_size", &page_size) || !f.Int("latency_ms", &latency_ms) ||
      !f.Bool("gzip", &gzip) || !f.String("webhook_secret", &secret) ||
      !f.String("next_links", &next_links)) {
    return Error(400, f.error());
  }
  if (next_links && !ValidNextLinks(*next_links)) {
    return Error(400, "\"next_links\" must be \"absolute\", \"replicate\" or \"relative\"");
  }
  if (!IntInRange(page_size, 1, 10000)) return Error(400, "\"page_size\" must be 1-10000");
  if (!IntInRange(latency_ms, 0, 600000)) return Error(400, "\"latency_ms\" must be 0-600000");
  if (secret && !jobpulse::DecodeWebhookSecret(*secret)) {
    return Error(400, "\"webhook_secret\" is not a valid whsec_ base64 secret");
  }
  std::optional<std::vector<std::string>> tokens;
  if (const auto it = doc.FindMember("tokens"); it != doc.MemberEnd()) {
    if (!it->value.IsArray()) return Error(400, "\"tokens\" must be an array of strings");
    tokens.emplace();
    for (const Value& t : it->value.GetArray()) {
      if (!t.IsString()) return Error(400, "\"tokens\" must be an array of strings");
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
  w.EndObject();
  return Json(200, w.str());
}

}  // namespace replicate_sim
