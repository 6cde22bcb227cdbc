// ReplicateClient::CreateRun (lib/replicate_client.h): the three create
// endpoints of reference/replicate.md §2. The body is written here from the
// queue's checked request; the input goes in verbatim (it is a JSON object the
// submission already parsed and compacted).
#include <string>

#include "lib/json_writer.h"
#include "lib/replicate_client.h"

namespace jobpulse {

namespace {

// What Replicate should tell us about the run (SPEC §12).
constexpr const char* kWebhookEvents[] = {"start", "output", "logs", "completed"};

std::string CreateBody(const CreateRunRequest& request, bool version_in_body) {
  JsonWriter w;
  w.BeginObject();
  if (version_in_body) w.Key("version").String(std::string_view(*request.version));
  if (request.destination) w.Key("destination").String(std::string_view(*request.destination));
  w.Key("input").Raw(request.input_json);
  if (request.webhook_url) {
    w.Key("webhook").String(std::string_view(*request.webhook_url));
    w.Key("webhook_events_filter").BeginArray();
    for (const char* event : kWebhookEvents) w.String(event);
    w.EndArray();
  }
  w.EndObject();
  return w.str();
}

// "owner/name" as two escaped path segments.
std::string ModelPath(const std::string& model) {
  const size_t slash = model.find('/');
  const auto escape = [](std::string_view part) {
    std::string out;
    for (const char c : part) {
      const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      if (plain) {
        out += c;
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        out += '%';
        out += kHex[static_cast<unsigned char>(c) >> 4];
        out += kHex[static_cast<unsigned char>(c) & 15];
      }
    }
    return out;
  };
  const std::string_view m(model);
  return "/models/" + escape(m.substr(0, slash)) + "/" +
         escape(slash == std::string::npos ? "" : m.substr(slash + 1));
}

}  // namespace

Result<Observation> ReplicateClient::CreateRun(const CreateRunRequest& request, long timeout_ms) {
  if (!configured()) return NotConfigured();
  const bool training = request.kind == "training";
  if (training && (!request.version || !request.destination)) {
    return Status::InvalidArgument("a training needs a version and a destination");
  }
  std::string path;
  bool version_in_body = false;
  if (training) {
    path = ModelPath(request.model) + "/versions/" + *request.version + "/trainings";
  } else if (request.version) {
    path = "/predictions";
    version_in_body = true;
  } else {
    path = ModelPath(request.model) + "/predictions";
  }
  OutboundRequest out = Request("POST", path);
  out.body = CreateBody(request, version_in_body);
  out.timeout_ms = timeout_ms;
  const std::string what =
      std::string("create of a ") + (training ? "training" : "prediction") + " of " + request.model;
  auto response = http_.Perform(out);
  // A refusal is final: the request itself is wrong (or not allowed), and
  // sending it again would be refused again. 429 is a wait, not a refusal.
  if (response.ok() && response->status >= 400 && response->status < 500 &&
      response->status != 429) {
    const Status refused = ReplicateStatusFor(*response, what);
    return Status::Error(
        Status::Code::kInvalidArgument, "provider_rejected", refused.message(),
        {{"provider", kReplicateProvider}, {"http_status", std::to_string(response->status)}});
  }
  return ReplicateRunFrom(response, what);
}

}  // namespace jobpulse
