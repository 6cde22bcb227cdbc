// Reading JSON request bodies, shared by the control API and the /v1 creates:
// typed field readers whose errors name the field, and the webhook fields both
// accept.
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_JSON_FIELDS_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_JSON_FIELDS_H_

#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tests/replicate_sim/model.h"

namespace replicate_sim {

// One JSON value, compact.
std::string Compact(const rapidjson::Value& v);

// Reads a JSON object body; an empty body counts as {} so bodiless POSTs work.
bool ParseBody(const std::string& text, rapidjson::Document* doc, std::string* error);

// Field readers: absent leaves *out untouched and succeeds; a present value of
// the wrong type fails with a message naming the field.
class Fields {
 public:
  explicit Fields(const rapidjson::Value& obj) : obj_(obj) {}

  bool String(const char* key, std::optional<std::string>* out);
  // Present-and-null becomes an engaged outer optional holding nullopt.
  bool NullableString(const char* key, std::optional<std::optional<std::string>>* out);
  bool Int(const char* key, std::optional<int64_t>* out);
  bool Number(const char* key, std::optional<double>* out);
  bool Bool(const char* key, std::optional<bool>* out);
  bool AnyJson(const char* key, std::optional<std::string>* out);
  bool Timestamp(const char* key, std::optional<int64_t>* out);
  bool NumberObject(const char* key, std::map<std::string, double>* out);

  const std::string& error() const { return error_; }
  const std::string& field() const { return field_; }

 private:
  const rapidjson::Value* Find(const char* key) const;
  bool Fail(const char* key, const char* expected);

  const rapidjson::Value& obj_;
  std::string error_;
  std::string field_;
};

inline bool IntInRange(const std::optional<int64_t>& v, int64_t lo, int64_t hi) {
  return !v || (*v >= lo && *v <= hi);
}

// Reads "webhook" (an http or https URL; Replicate wants https, but tests
// receive on http://127.0.0.1) and "webhook_events_filter" (an array of
// kWebhookEvents names) into `run`. False with *field and *error set when one
// is wrong.
bool ReadWebhookFields(const rapidjson::Value& obj, Run* run, std::string* field,
                       std::string* error);

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_JSON_FIELDS_H_
