#include "tests/replicate_sim/json_fields.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>

#include "lib/timestamp.h"
#include "tests/replicate_sim/webhook_sender.h"

namespace replicate_sim {

using rapidjson::Value;

std::string Compact(const Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

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

bool Fields::String(const char* key, std::optional<std::string>* out) {
  const Value* v = Find(key);
  if (!v) return true;
  if (!v->IsString()) return Fail(key, "a string");
  *out = std::string(v->GetString(), v->GetStringLength());
  return true;
}

bool Fields::NullableString(const char* key, std::optional<std::optional<std::string>>* out) {
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

bool Fields::Int(const char* key, std::optional<int64_t>* out) {
  const Value* v = Find(key);
  if (!v) return true;
  if (!v->IsInt64()) return Fail(key, "an integer");
  *out = v->GetInt64();
  return true;
}

bool Fields::Number(const char* key, std::optional<double>* out) {
  const Value* v = Find(key);
  if (!v) return true;
  if (!v->IsNumber()) return Fail(key, "a number");
  *out = v->GetDouble();
  return true;
}

bool Fields::Bool(const char* key, std::optional<bool>* out) {
  const Value* v = Find(key);
  if (!v) return true;
  if (!v->IsBool()) return Fail(key, "true or false");
  *out = v->GetBool();
  return true;
}

bool Fields::AnyJson(const char* key, std::optional<std::string>* out) {
  const Value* v = Find(key);
  if (v) *out = Compact(*v);
  return true;
}

bool Fields::Timestamp(const char* key, std::optional<int64_t>* out) {
  std::optional<std::string> text;
  if (!String(key, &text)) return false;
  if (!text) return true;
  *out = jobpulse::ParseTimestamp(*text);
  if (!*out) return Fail(key, "an RFC 3339 timestamp");
  return true;
}

bool Fields::NumberObject(const char* key, std::map<std::string, double>* out) {
  const Value* v = Find(key);
  if (!v) return true;
  if (!v->IsObject()) return Fail(key, "an object of numbers");
  for (const auto& m : v->GetObject()) {
    if (!m.value.IsNumber()) return Fail(key, "an object of numbers");
    (*out)[std::string(m.name.GetString(), m.name.GetStringLength())] = m.value.GetDouble();
  }
  return true;
}

const Value* Fields::Find(const char* key) const {
  const auto it = obj_.FindMember(key);
  return it == obj_.MemberEnd() ? nullptr : &it->value;
}

bool Fields::Fail(const char* key, const char* expected) {
  field_ = key;
  error_ = std::string("\"") + key + "\" must be " + expected;
  return false;
}

namespace {

bool HttpUrl(const std::string& url) {
  std::string lower = url.substr(0, 8);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t scheme = lower.rfind("https://", 0) == 0  ? 8
                        : lower.rfind("http://", 0) == 0 ? 7
                                                         : 0;
  return scheme > 0 && url.size() > scheme && url.find_first_of(" \t\r\n") == std::string::npos;
}

bool KnownEvent(const Value& v) {
  if (!v.IsString()) return false;
  for (const char* e : kWebhookEvents) {
    if (v.GetString() == std::string(e)) return true;
  }
  return false;
}

}  // namespace

bool ReadWebhookFields(const Value& obj, Run* run, std::string* field, std::string* error) {
  if (const auto it = obj.FindMember("webhook"); it != obj.MemberEnd() && !it->value.IsNull()) {
    const Value& v = it->value;
    if (!v.IsString() || !HttpUrl(std::string(v.GetString(), v.GetStringLength()))) {
      *field = "webhook";
      *error = "must be an http or https URL";
      return false;
    }
    run->webhook = std::string(v.GetString(), v.GetStringLength());
  }
  const auto it = obj.FindMember("webhook_events_filter");
  if (it == obj.MemberEnd() || it->value.IsNull()) return true;
  *field = "webhook_events_filter";
  if (!it->value.IsArray()) {
    *error = "must be an array of events (start, output, logs, completed)";
    return false;
  }
  run->webhook_events_filter.emplace();
  for (const Value& e : it->value.GetArray()) {
    if (!KnownEvent(e)) {
      *error =
          (e.IsString() ? "\"" + std::string(e.GetString()) + "\" is not" : "holds something not") +
          std::string(" an event (start, output, logs, completed)");
      return false;
    }
    run->webhook_events_filter->emplace_back(e.GetString(), e.GetStringLength());
  }
  field->clear();
  return true;
}

}  // namespace replicate_sim
