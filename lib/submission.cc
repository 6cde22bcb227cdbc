// A submission is checked field by field in the order SPEC §12 lists them,
// and the first bad one is named; nothing is stored before all pass.
#include "lib/submission.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <random>

#include "lib/json_limits.h"
#include "lib/json_writer.h"
#include "lib/run_match.h"

namespace jobpulse {

namespace {

using rapidjson::Value;

Status BadField(const std::string& field, const std::string& expected) {
  return Status::Error(Status::Code::kInvalidArgument, "invalid_field",
                       "invalid value for body field '" + field + "': expected " + expected,
                       {{"field", field}});
}

bool IsOwnerName(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size() ||
      text.size() > 200 || text.find('/', slash + 1) != std::string_view::npos) {
    return false;
  }
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '/';
    if (!ok) return false;
  }
  return true;
}

bool IsVersionId(std::string_view text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsPlainText(std::string_view text, size_t max) {
  if (text.empty() || text.size() > max) return false;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

bool IsUserId(std::string_view text) {
  if (text.empty() || text.size() > 128) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '@' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The string member `name`, absent (nullopt) or an error when not a string
// passing `valid`.
Result<std::optional<std::string>> OptionalString(const Value& body, const char* name,
                                                  bool (*valid)(std::string_view),
                                                  const std::string& expected) {
  const auto it = body.FindMember(name);
  if (it == body.MemberEnd() || it->value.IsNull()) return std::optional<std::string>();
  if (!it->value.IsString()) return BadField(name, expected);
  std::string text(it->value.GetString(), it->value.GetStringLength());
  if (!valid(text)) return BadField(name, expected);
  return std::optional<std::string>(std::move(text));
}

Result<int> PriorityOf(const Value& value) {
  const char* expected = "low, normal, high, urgent or an integer from 0 to 50";
  if (value.IsString()) {
    if (auto named = PriorityFromName(value.GetString())) return *named;
    return BadField("priority", expected);
  }
  if (value.IsInt() && value.GetInt() >= kMinPriority && value.GetInt() <= kMaxPriority) {
    return value.GetInt();
  }
  return BadField("priority", expected);
}

Result<rapidjson::Document> ParseObject(std::string_view body, const char* example) {
  rapidjson::Document doc;
  const bool shallow = JsonDepthWithin(body);  // SPEC §9: nesting limit
  // Validated as UTF-8: the input goes to the provider and into the database.
  if (shallow) {
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(body.data(),
                                                                                      body.size());
  }
  if (!shallow || doc.HasParseError() || !doc.IsObject()) {
    return Status::Error(Status::Code::kInvalidArgument, "invalid_json",
                         std::string("the body must be a JSON object such as ") + example);
  }
  return doc;
}

std::string Compact(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// kind, model, version and destination: what to create.
Status ReadTarget(const Value& body, SubmitRequest* out) {
  const auto kind = body.FindMember("kind");
  if (kind == body.MemberEnd() || !kind->value.IsString() ||
      (std::string_view(kind->value.GetString()) != "training" &&
       std::string_view(kind->value.GetString()) != "prediction")) {
    return BadField("kind", "\"training\" or \"prediction\"");
  }
  out->kind = kind->value.GetString();
  const bool training = out->kind == "training";
  auto model = OptionalString(body, "model", IsOwnerName, "\"owner/name\"");
  if (!model.ok()) return model.status();
  if (!*model) return BadField("model", "\"owner/name\"");
  out->model = std::move(**model);
  auto version = OptionalString(body, "version", IsVersionId, "a version id of 64 hex digits");
  if (!version.ok()) return version.status();
  if (training && !*version) return BadField("version", "a version id of 64 hex digits");
  out->version = std::move(*version);
  auto destination = OptionalString(body, "destination", IsOwnerName, "\"owner/model\"");
  if (!destination.ok()) return destination.status();
  if (training && !*destination) return BadField("destination", "\"owner/model\"");
  if (!training && *destination) return BadField("destination", "no destination for a prediction");
  out->destination = std::move(*destination);
  return Status::Ok();
}

}  // namespace

Result<SubmitRequest> ParseSubmitRequest(std::string_view body) {
  auto doc = ParseObject(body,
                         "{\"kind\":\"training\",\"model\":\"owner/name\",\"version\":\"<64 hex>\","
                         "\"destination\":\"owner/model\",\"input\":{}}");
  if (!doc.ok()) return doc.status();
  SubmitRequest out;
  if (Status s = ReadTarget(*doc, &out); !s.ok()) return s;
  const auto input = doc->FindMember("input");
  if (input == doc->MemberEnd() || !input->value.IsObject()) {
    return BadField("input", "a JSON object of at most 1 MiB");
  }
  out.input_json = Compact(input->value);
  if (out.input_json.size() > kMaxSubmitInputBytes) {
    return BadField("input", "a JSON object of at most 1 MiB");
  }
  auto config_name = OptionalString(
      *doc, "config_name", [](std::string_view t) { return IsPlainText(t, 200); },
      "1 to 200 characters without control characters");
  if (!config_name.ok()) return config_name.status();
  out.config_name = std::move(*config_name);
  const auto priority = doc->FindMember("priority");
  if (priority != doc->MemberEnd() && !priority->value.IsNull()) {
    auto value = PriorityOf(priority->value);
    if (!value.ok()) return value.status();
    out.priority = *value;
  }
  auto user =
      OptionalString(*doc, "user_id", IsUserId, "1 to 128 characters of A-Z a-z 0-9 . _ @ : -");
  if (!user.ok()) return user.status();
  out.user_id = std::move(*user);
  return out;
}

Result<int> ParsePriorityBody(std::string_view body) {
  auto doc = ParseObject(body, "{\"priority\":\"high\"}");
  if (!doc.ok()) return doc.status();
  const auto priority = doc->FindMember("priority");
  if (priority == doc->MemberEnd()) {
    return BadField("priority", "low, normal, high, urgent or an integer from 0 to 50");
  }
  return PriorityOf(priority->value);
}

bool IsValidIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (const char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string NewSubmittedJobId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<int> pick(0, 35);
  std::string id = "sub-";
  for (int i = 0; i < 24; ++i) id += kAlphabet[pick(rng)];
  return id;
}

Submission MakeSubmission(const SubmitRequest& request, std::string job_id, std::string provider,
                          std::optional<std::string> idempotency_key) {
  Submission s;
  s.job_id = std::move(job_id);
  s.provider = std::move(provider);
  s.user_id = request.user_id;
  s.config_name = request.config_name;
  s.priority = request.priority;
  s.idempotency_key = std::move(idempotency_key);
  s.metadata["model"] = request.model;
  s.metadata["kind"] = request.kind;
  if (request.version) s.metadata["version"] = *request.version;
  if (request.destination) s.metadata["destination"] = *request.destination;
  JsonWriter w;
  w.BeginObject();
  w.Key("kind").String(std::string_view(request.kind));
  w.Key("model").String(std::string_view(request.model));
  if (request.version) w.Key("version").String(std::string_view(*request.version));
  if (request.destination) w.Key("destination").String(std::string_view(*request.destination));
  w.Key("input").Raw(request.input_json);
  w.EndObject();
  s.request_json = w.str();
  s.input_digest = InputDigest(request.input_json);
  return s;
}

Result<CreateRunRequest> CreateRunRequestFrom(std::string_view request_json,
                                              std::optional<std::string> webhook_url) {
  const auto invalid = [] {
    return Status::Error(Status::Code::kInternal, "invalid_queued_request",
                         "a queued request is not a create this version wrote");
  };
  if (!JsonDepthWithin(request_json)) return invalid();
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(request_json.data(), request_json.size());
  if (doc.HasParseError() || !doc.IsObject()) return invalid();
  const auto text = [&](const char* key) -> std::optional<std::string> {
    const auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  const auto input = doc.FindMember("input");
  auto kind = text("kind");
  auto model = text("model");
  if (!kind || !model || input == doc.MemberEnd() || !input->value.IsObject()) return invalid();
  CreateRunRequest out;
  out.kind = std::move(*kind);
  out.model = std::move(*model);
  out.version = text("version");
  out.destination = text("destination");
  out.input_json = Compact(input->value);
  out.webhook_url = std::move(webhook_url);
  return out;
}

}  // namespace jobpulse
