// ReplicateClient::CreateRun (lib/replicate_client.h): the three create
// endpoints of reference/replicate.md §2. The body is written here from the
// queue's checked request; the input goes in verbatim (it is a JSON object the
// submission already parsed and compacted).
#include <algorithm>
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
  const std::string_view m(model);
  return "/models/" + PathEscape(m.substr(0, slash)) + "/" +
         PathEscape(slash == std::string::npos ? "" : m.substr(slash + 1));
}

// What the create of `request` is called in messages.
std::string CreateWhat(const CreateRunRequest& request) {
  return std::string("create of a ") + (request.kind == "training" ? "training" : "prediction") +
         " of " + request.model;
}

// A create's answer: the run, or why not. A refusal is final: the request
// itself is wrong (or not allowed), and sending it again would be refused
// again. 429 is a wait, not a refusal.
Result<Observation> CreateAnswer(const Result<OutboundResponse>& response,
                                 const std::string& what) {
  if (response.ok() && response->status >= 400 && response->status < 500 &&
      response->status != 429) {
    const Status refused = ReplicateStatusFor(*response, what);
    return Status::Error(
        Status::Code::kInvalidArgument, "provider_rejected", refused.message(),
        {{"provider", kReplicateProvider}, {"http_status", std::to_string(response->status)}});
  }
  return ReplicateRunFrom(response, what);
}

}  // namespace

Result<OutboundRequest> ReplicateClient::CreateRequest(const CreateRunRequest& request,
                                                       long timeout_ms) const {
  const bool training = request.kind == "training";
  if (training && (!request.version || !request.destination)) {
    return Status::InvalidArgument("a training needs a version and a destination");
  }
  std::string path;
  bool version_in_body = false;
  if (training) {
    path = ModelPath(request.model) + "/versions/" + PathEscape(*request.version) + "/trainings";
  } else if (request.version) {
    path = "/predictions";
    version_in_body = true;
  } else {
    path = ModelPath(request.model) + "/predictions";
  }
  OutboundRequest out = Request("POST", path);
  out.body = CreateBody(request, version_in_body);
  out.timeout_ms = timeout_ms;
  return out;
}

Result<Observation> ReplicateClient::CreateRun(const CreateRunRequest& request, long timeout_ms) {
  if (!configured()) return NotConfigured();
  auto out = CreateRequest(request, timeout_ms);
  if (!out.ok()) return out.status();
  return CreateAnswer(Counted("create", http_.Perform(*out)), CreateWhat(request));
}

void ReplicateClient::CreateEach(const std::vector<CreateRunRequest>& requests, int max_parallel,
                                 long timeout_ms, const OnRun& on_run) {
  std::vector<OutboundRequest> posts;
  std::vector<size_t> index_of;  // posts[i] creates requests[index_of[i]]
  for (size_t i = 0; i < requests.size(); ++i) {
    auto out = configured() ? CreateRequest(requests[i], timeout_ms) : NotConfigured();
    if (!out.ok()) {
      on_run(i, out.status());
      continue;
    }
    posts.push_back(std::move(*out));
    index_of.push_back(i);
  }
  if (posts.empty()) return;
  const int parallel = std::max(1, max_parallel);
  const long rounds = static_cast<long>((posts.size() + parallel - 1) / parallel);
  http_.PerformEach(
      posts, parallel, timeout_ms * rounds, [] { return true; },
      [&](size_t i, Result<OutboundResponse> response) {
        const CreateRunRequest& request = requests[index_of[i]];
        on_run(index_of[i], CreateAnswer(Counted("create", response), CreateWhat(request)));
      });
}

}  // namespace jobpulse
