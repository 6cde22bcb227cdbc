// Parsing Replicate's run objects and list pages (see replicate_run.h).
#include "lib/replicate_run.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>

#include "lib/job.h"
#include "lib/json_limits.h"
#include "lib/json_writer.h"
#include "lib/run_match.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

std::string Stringify(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<std::string> OptString(const rapidjson::Value& obj, const char* key) {
  const auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<int64_t> OptTimestamp(const rapidjson::Value& obj, const char* key) {
  const auto text = OptString(obj, key);
  if (!text) return std::nullopt;
  return ParseTimestamp(*text);
}

// A URL worth showing as output_url: http(s), printable ASCII, short enough
// for a list page. Text, token arrays and data: URIs are outputs, not URLs.
bool IsOutputUrl(const rapidjson::Value& v) {
  if (!v.IsString()) return false;
  const std::string_view s(v.GetString(), v.GetStringLength());
  if (s.size() > kListProviderTextBytes) return false;
  const auto starts_with = [s](std::string_view prefix) {
    if (s.size() <= prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    }
    return true;
  };
  if (!starts_with("http://") && !starts_with("https://")) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// SPEC §3: the string itself, the first URL element of an array, a
// training's `weights`, else the first URL value of an object.
std::optional<std::string> OutputUrlOf(const rapidjson::Value& out) {
  const auto text = [](const rapidjson::Value& v) {
    return std::string(v.GetString(), v.GetStringLength());
  };
  if (IsOutputUrl(out)) return text(out);
  if (out.IsArray()) {
    for (const auto& item : out.GetArray()) {
      if (IsOutputUrl(item)) return text(item);
    }
  } else if (out.IsObject()) {
    const auto weights = out.FindMember("weights");
    if (weights != out.MemberEnd() && IsOutputUrl(weights->value)) return text(weights->value);
    for (const auto& member : out.GetObject()) {
      if (IsOutputUrl(member.value)) return text(member.value);
    }
  }
  return std::nullopt;
}

// Writes `v` through JsonWriter, which replaces invalid UTF-8, so what is
// stored is always valid JSON. Below kMaxOutputDepth levels only; deeper
// parts are written as null (the parser's own limit normally refuses them).
constexpr int kMaxOutputDepth = 64;
void WriteOutputValue(const rapidjson::Value& v, JsonWriter& w, int depth) {
  if (depth > kMaxOutputDepth) {
    w.Null();
  } else if (v.IsString()) {
    w.String(std::string_view(v.GetString(), v.GetStringLength()));
  } else if (v.IsBool()) {
    w.Bool(v.GetBool());
  } else if (v.IsInt64()) {
    w.Int(v.GetInt64());
  } else if (v.IsNumber()) {
    w.Double(v.GetDouble());
  } else if (v.IsArray()) {
    w.BeginArray();
    for (const auto& item : v.GetArray()) WriteOutputValue(item, w, depth + 1);
    w.EndArray();
  } else if (v.IsObject()) {
    w.BeginObject();
    for (const auto& member : v.GetObject()) {
      w.Key(std::string_view(member.name.GetString(), member.name.GetStringLength()));
      WriteOutputValue(member.value, w, depth + 1);
    }
    w.EndObject();
  } else {
    w.Null();
  }
}

std::string OutputToJson(const rapidjson::Value& v) {
  JsonWriter w;
  WriteOutputValue(v, w, 0);
  return w.str();
}

Result<Observation> ObservationFrom(const rapidjson::Value& run) {
  if (!run.IsObject()) {
    return Status::Error(Status::Code::kUpstream, "provider_error",
                         "Replicate returned a run that is not a JSON object");
  }
  Observation obs;
  obs.provider = kReplicateProvider;
  const auto id = OptString(run, "id");
  if (!id || id->empty()) {
    return Status::Error(Status::Code::kUpstream, "provider_error",
                         "Replicate returned a run without an id");
  }
  obs.external_id = *id;
  obs.provider_status = OptString(run, "status");
  obs.created_at = OptTimestamp(run, "created_at");
  obs.started_at = OptTimestamp(run, "started_at");
  obs.completed_at = OptTimestamp(run, "completed_at");
  if (const auto metrics = run.FindMember("metrics");
      metrics != run.MemberEnd() && metrics->value.IsObject()) {
    const auto pt = metrics->value.FindMember("predict_time");
    if (pt != metrics->value.MemberEnd() && pt->value.IsNumber()) {
      obs.predict_time = pt->value.GetDouble();
    }
  }
  if (const auto error = run.FindMember("error");
      error != run.MemberEnd() && !error->value.IsNull()) {
    obs.error_message = error->value.IsString()
                            ? std::string(error->value.GetString(), error->value.GetStringLength())
                            : Stringify(error->value);
  }
  if (const auto output = run.FindMember("output");
      output != run.MemberEnd() && !output->value.IsNull()) {
    obs.output_url = OutputUrlOf(output->value);
    std::string json = OutputToJson(output->value);
    if (json.size() <= kMaxOutputBytes) {
      obs.output = std::move(json);
    } else {
      obs.output_truncated = true;
    }
  }
  // `logs` is the whole log so far; list items omit it, and null means none yet.
  obs.logs = OptString(run, "logs");
  if (const auto model = OptString(run, "model")) {
    obs.metadata["model"] = *model;
    obs.hardware_type = HardwareForModel(*model);
  }
  if (const auto version = OptString(run, "version")) obs.metadata["version"] = *version;
  if (const auto source = OptString(run, "source")) obs.metadata["source"] = *source;
  obs.webhook_url = OptString(run, "webhook");
  if (const auto input = run.FindMember("input");
      input != run.MemberEnd() && input->value.IsObject()) {
    obs.input_digest = InputDigest(Stringify(input->value));
  }
  return obs;
}

Status ParseError(const std::string& what) {
  return Status::Error(Status::Code::kUpstream, "provider_error",
                       "Replicate answered " + what + " with malformed JSON");
}

}  // namespace

Result<Observation> ParseReplicateRun(std::string_view json) {
  if (!JsonDepthWithin(json)) return ParseError("a run");  // SPEC §9: nesting limit
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError()) return ParseError("a run");
  return ObservationFrom(doc);
}

Result<ReplicatePage> ParseReplicatePage(std::string_view json) {
  if (!JsonDepthWithin(json)) return ParseError("a list page");  // SPEC §9: nesting limit
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return ParseError("a list page");
  const auto results = doc.FindMember("results");
  if (results == doc.MemberEnd() || !results->value.IsArray()) return ParseError("a list page");
  ReplicatePage page;
  for (const auto& item : results->value.GetArray()) {
    auto obs = ObservationFrom(item);
    if (obs.ok()) {
      page.runs.push_back(std::move(*obs));
    } else {
      Observation unusable;
      unusable.provider = kReplicateProvider;
      page.runs.push_back(std::move(unusable));
    }
  }
  if (auto link = OptString(doc, "next"); link && !link->empty()) page.next = std::move(link);
  return page;
}

MappedStatus MapReplicateStatus(std::string_view s) {
  if (s == "starting") return {JobStatus::kQueued, std::nullopt};
  if (s == "processing") return {JobStatus::kRunning, std::nullopt};
  if (s == "succeeded") return {JobStatus::kCompleted, std::nullopt};
  if (s == "failed") return {JobStatus::kFailed, std::nullopt};
  if (s == "canceled") return {JobStatus::kCancelled, std::nullopt};
  if (s == "aborted") {
    return {JobStatus::kCancelled, std::string("aborted: deadline passed before start")};
  }
  return {};
}

std::optional<std::string> HardwareForModel(std::string_view model) {
  // SimpleTuner's trainer models: advanced-trainer-{h100,l40s}[-x2|-x4|-x8].
  const size_t slash = model.find('/');
  const std::string_view name = slash == std::string_view::npos ? model : model.substr(slash + 1);
  for (const char* gpu : {"h100", "l40s"}) {
    for (const char* count : {"", "-x2", "-x4", "-x8"}) {
      const std::string suffix = std::string("-") + gpu + count;
      if (name.size() < suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
        continue;
      }
      const std::string n = *count ? std::string(count + 2) : "";
      if (std::string(gpu) == "h100") return n.empty() ? "gpu-h100" : "gpu-h100-" + n + "x";
      return n.empty() ? "gpu-l40s" : "gpu-" + n + "x-l40s";
    }
  }
  return std::nullopt;
}

}  // namespace jobpulse
