// The control API's faults (/_sim/faults): what the /v1 surface answers
// instead of the real thing, for the endpoints of kEndpointNames.
#include <rapidjson/document.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "lib/json_writer.h"
#include "tests/replicate_sim/json_fields.h"
#include "tests/replicate_sim/sim.h"

namespace replicate_sim {
namespace {

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
  w.Key("after_create").Bool(f.after_create);
  w.Key("count");
  if (f.remaining < 0) {
    w.Null();
  } else {
    w.Int(f.remaining);
  }
  w.EndObject();
}

}  // namespace

HttpResponse Simulator::AddFault(const HttpRequest& req) {
  rapidjson::Document doc;
  std::string error;
  if (!ParseBody(req.body, &doc, &error)) return ControlError(400, error);
  Fields f(doc);
  std::optional<std::string> endpoint;
  std::optional<int64_t> status, retry_after, retry_after_text, delay_ms, count;
  std::optional<bool> header, body, malformed, drop, after_create;
  if (!f.String("endpoint", &endpoint) || !f.Int("status", &status) ||
      !f.Int("retry_after", &retry_after) || !f.Int("retry_after_text", &retry_after_text) ||
      !f.Bool("retry_after_header", &header) || !f.Bool("retry_after_body", &body) ||
      !f.Int("delay_ms", &delay_ms) || !f.Bool("malformed", &malformed) || !f.Bool("drop", &drop) ||
      !f.Int("count", &count) || !f.Bool("after_create", &after_create)) {
    return ControlError(400, f.error());
  }
  if (!endpoint || !KnownEndpoint(*endpoint)) {
    std::string names;
    for (const char* e : kEndpointNames) names += std::string(names.empty() ? "" : ", ") + e;
    return ControlError(400, "\"endpoint\" must be \"*\" or one of " + names);
  }
  if (status && !IntInRange(status, 100, 599))
    return ControlError(400, "\"status\" must be 100-599");
  if (!IntInRange(retry_after, 0, 86400))
    return ControlError(400, "\"retry_after\" must be 0-86400");
  if (!IntInRange(retry_after_text, 0, 86400)) {
    return ControlError(400, "\"retry_after_text\" must be 0-86400");
  }
  // A text-only hint is a 429 by definition; status may be left out.
  if (retry_after_text && !status) status = 429;
  if (retry_after_text && *status != 429) {
    return ControlError(400, "\"retry_after_text\" needs \"status\": 429");
  }
  if (!IntInRange(delay_ms, 0, 600000)) return ControlError(400, "\"delay_ms\" must be 0-600000");
  if (!IntInRange(count, 1, std::numeric_limits<int64_t>::max())) {
    return ControlError(400, "\"count\" must be at least 1");
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
  fault.after_create = after_create.value_or(false);
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

}  // namespace replicate_sim
