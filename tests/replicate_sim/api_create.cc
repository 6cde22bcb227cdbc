// Creating runs through /v1 (replicate.md §2): POST /v1/predictions,
// POST /v1/models/{owner}/{name}/predictions and
// POST /v1/models/{owner}/{name}/versions/{version}/trainings. Validation
// answers 422 problem+json naming the field, as Replicate's input validation
// does; a created run starts "starting" and, while run_seconds > 0, moves by
// itself (runner.h).
#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <utility>

#include "lib/json_writer.h"
#include "lib/timestamp.h"
#include "tests/replicate_sim/json_fields.h"
#include "tests/replicate_sim/sim.h"

namespace replicate_sim {
namespace {

// SPEC §12 caps a job's input at 1 MiB; the rest of a create body is small.
constexpr size_t kMaxCreateBody = 1024 * 1024 + 64 * 1024;

// Shaped like Replicate's input-validation answer: a detail line per field and
// the fields again in invalid_fields.
HttpResponse Invalid(const std::string& field, const std::string& description) {
  jobpulse::JsonWriter w;
  w.BeginObject();
  w.Key("title").String("Input validation failed");
  w.Key("detail").String("- " + field + ": " + description + "\n");
  w.Key("status").Int(422);
  w.Key("invalid_fields").BeginArray().BeginObject();
  w.Key("type").String("invalid").Key("field").String(field).Key("description").String(description);
  w.EndObject().EndArray();
  w.EndObject();
  HttpResponse r;
  r.status = 422;
  r.content_type = "application/problem+json";
  r.body = w.str();
  return r;
}

bool IsVersionId(const std::string& v) {
  if (v.size() != 64) return false;
  for (char c : v) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// "owner/name" with both parts non-empty and no other slash.
bool IsModelName(const std::string& m) {
  const size_t slash = m.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == m.size()) return false;
  for (char c : m) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '/';
    if (!ok) return false;
  }
  return m.find('/', slash + 1) == std::string::npos;
}

std::optional<HttpResponse> ParseCreateBody(const HttpRequest& req, rapidjson::Document* doc) {
  if (req.body.size() > kMaxCreateBody) {
    return Problem(413, "Request body too large: at most " + std::to_string(kMaxCreateBody) +
                            " bytes are accepted.");
  }
  std::string error;
  if (!ParseBody(req.body, doc, &error)) return Problem(400, "JSON parse error: " + error + ".");
  return std::nullopt;
}

// The fields every create takes: input, webhook, webhook_events_filter.
std::optional<HttpResponse> ReadCommon(const rapidjson::Value& doc, Run* run) {
  const auto input = doc.FindMember("input");
  if (input == doc.MemberEnd()) return Invalid("input", "input is required");
  if (!input->value.IsObject()) return Invalid("input", "Invalid type. Expected: object");
  run->input_json = Compact(input->value);
  std::string field, error;
  if (!ReadWebhookFields(doc, run, &field, &error)) return Invalid(field, error);
  return std::nullopt;
}

// "version" of POST /v1/predictions: a bare 64-hex id or "owner/name:<id>".
std::optional<HttpResponse> ReadVersion(const rapidjson::Value& doc, Run* run) {
  const auto it = doc.FindMember("version");
  if (it == doc.MemberEnd()) return Invalid("version", "version is required");
  if (!it->value.IsString()) return Invalid("version", "Invalid type. Expected: string");
  const std::string text(it->value.GetString(), it->value.GetStringLength());
  const size_t colon = text.find(':');
  const std::string id = colon == std::string::npos ? text : text.substr(colon + 1);
  if (colon != std::string::npos && !IsModelName(text.substr(0, colon))) {
    return Invalid("version", "the model before \":\" must be \"owner/name\"");
  }
  if (!IsVersionId(id)) {
    return Invalid("version",
                   "must be a 64-character hex version id or \"owner/name:<version id>\" (for a "
                   "model without a version, use /v1/models/{owner}/{name}/predictions)");
  }
  if (colon != std::string::npos) run->model = text.substr(0, colon);
  run->version = id;
  return std::nullopt;
}

}  // namespace

HttpResponse Simulator::CreatePrediction(const HttpRequest& req, const ApiRoute& route) {
  rapidjson::Document doc;
  if (auto error = ParseCreateBody(req, &doc)) return *error;
  Run run;
  if (route.owner.empty()) {
    if (auto error = ReadVersion(doc, &run)) return *error;
  } else {
    // An official model runs its latest version; a stable one per model will do.
    run.model = route.owner + "/" + route.name;
    run.version = VersionForModel(run.model);
  }
  if (auto error = ReadCommon(doc, &run)) return *error;
  return InsertCreated(std::move(run));
}

HttpResponse Simulator::CreateTraining(const HttpRequest& req, const ApiRoute& route) {
  rapidjson::Document doc;
  if (auto error = ParseCreateBody(req, &doc)) return *error;
  if (!IsVersionId(route.version)) {
    return Invalid("version", "must be a 64-character hex version id");
  }
  Run run;
  run.training = true;
  run.model = route.owner + "/" + route.name;
  run.version = route.version;
  const rapidjson::Value& body = doc;  // const iterators: clang warns on mixed ones
  const auto dest = body.FindMember("destination");
  if (dest == body.MemberEnd()) return Invalid("destination", "destination is required");
  if (!dest->value.IsString() ||
      !IsModelName(std::string(dest->value.GetString(), dest->value.GetStringLength()))) {
    return Invalid("destination", "must be \"owner/model\"");
  }
  run.destination = std::string(dest->value.GetString(), dest->value.GetStringLength());
  if (auto error = ReadCommon(doc, &run)) return *error;
  return InsertCreated(std::move(run));
}

HttpResponse Simulator::InsertCreated(Run run) {
  const int64_t now = jobpulse::NowMicros();
  run.source = "api";
  run.status = "starting";
  run.created_at = now;
  std::lock_guard<std::mutex> lock(state_.mu);
  do {
    run.id = RandomRunId();
  } while (state_.runs.count(run.id));
  if (run.model.empty()) {
    // A bare version id: the model it was created with before, if any.
    const auto known = state_.version_models.find(run.version);
    run.model = known == state_.version_models.end() ? kDefaultModel : known->second;
  } else {
    state_.version_models[run.version] = run.model;
  }
  const Config& c = state_.config;
  if (c.run_seconds > 0) {
    Pace pace;
    pace.processing_at = now + int64_t{c.run_start_ms} * 1000;
    pace.duration_s = c.run_seconds;
    run.pace = pace;
  }
  const auto [it, inserted] = state_.runs.emplace(run.id, std::move(run));
  return Json(201, RunJson(it->second, {state_.base_url, NextTimestampDigits(), true}));
}

}  // namespace replicate_sim
