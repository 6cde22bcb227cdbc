#include "lib/replicate_client.h"

#include <curl/curl.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "lib/timestamp.h"

namespace jobpulse {
namespace {

constexpr long kDefaultTimeoutMs = 15000;
// Replicate pages hold 100 runs; a bound on pages keeps a misbehaving `next`
// chain from looping forever.
constexpr int kMaxPages = 1000;

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

Result<Observation> ObservationFrom(const rapidjson::Value& run) {
  if (!run.IsObject()) {
    return Status::Error(Status::Code::kUpstream, "provider_error",
                         "Replicate returned a run that is not a JSON object");
  }
  Observation obs;
  obs.provider = "replicate";
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
  if (const auto output = run.FindMember("output"); output != run.MemberEnd()) {
    const rapidjson::Value& out = output->value;
    if (out.IsString()) {
      obs.output_url = std::string(out.GetString(), out.GetStringLength());
    } else if (out.IsArray() && !out.Empty() && out[0].IsString()) {
      obs.output_url = std::string(out[0].GetString(), out[0].GetStringLength());
    } else if (out.IsObject()) {
      obs.output_url = OptString(out, "weights");  // a training's output
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
  return obs;
}

Status ParseError(const std::string& what) {
  return Status::Error(Status::Code::kUpstream, "provider_error",
                       "Replicate answered " + what + " with malformed JSON");
}

std::string PathEscape(const std::string& segment) {
  std::string out;
  for (const unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// "https://host:port" of a URL, or "" when it has no scheme.
std::string OriginOf(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t path = url.find('/', scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

}  // namespace

Result<Observation> ParseReplicateRun(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) return ParseError("a run");
  return ObservationFrom(doc);
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

std::optional<int> ParseRetryAfter(std::string_view header, int64_t now_seconds) {
  if (header.empty()) return std::nullopt;
  bool digits = true;
  for (const char c : header) digits = digits && c >= '0' && c <= '9';
  if (digits && header.size() <= 9) return std::atoi(std::string(header).c_str());
  const time_t now = static_cast<time_t>(now_seconds);
  const time_t when = curl_getdate(std::string(header).c_str(), &now);
  if (when < 0) return std::nullopt;
  return when > now ? static_cast<int>(when - now) : 0;
}

Status ReplicateStatusFor(const OutboundResponse& response, const std::string& what) {
  const long code = response.status;
  if (code >= 200 && code < 300) return Status::Ok();
  // problem+json: {"detail": ..., "status": ..., "title"?: ..., "retry_after"?: ...}
  std::string detail;
  std::optional<int> body_retry_after;
  rapidjson::Document doc;
  doc.Parse(response.body.c_str(), response.body.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    if (auto d = OptString(doc, "detail")) detail = *d;
    const auto ra = doc.FindMember("retry_after");
    if (ra != doc.MemberEnd() && ra->value.IsNumber()) {
      body_retry_after = static_cast<int>(ra->value.GetDouble() + 0.999);
    }
  }
  if (detail.size() > 300) detail = detail.substr(0, 300) + "...";
  const std::string suffix = detail.empty() ? "" : ": " + detail;
  const std::string http = " (HTTP " + std::to_string(code) + ")";
  if (code == 429) {
    auto seconds = ParseRetryAfter(response.Header("retry-after"), NowMicros() / 1000000);
    if (!seconds) seconds = body_retry_after;
    return Status::Error(Status::Code::kRateLimited, "provider_rate_limited",
                         "Replicate is rate limiting " + what + http + suffix,
                         {{"provider", "replicate"}})
        .set_retry_after_seconds(std::max(1, seconds.value_or(1)));
  }
  if (code == 404) {
    return Status::Error(Status::Code::kNotFound, "provider_not_found",
                         "Replicate does not know " + what + http + suffix,
                         {{"provider", "replicate"}});
  }
  if (code == 401 || code == 403) {
    return Status::Error(Status::Code::kUpstream, "provider_error",
                         "Replicate rejected the API token for " + what + http + suffix,
                         {{"provider", "replicate"}});
  }
  return Status::Error(Status::Code::kUpstream, "provider_error",
                       "Replicate failed " + what + http + suffix, {{"provider", "replicate"}});
}

ReplicateClient::ReplicateClient(std::optional<std::string> token, std::string base_url)
    : token_(std::move(token)), base_url_(std::move(base_url)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

const std::string& ReplicateClient::name() const {
  static const std::string kName = "replicate";
  return kName;
}

const std::string& ReplicateClient::display_name() const {
  static const std::string kName = "Replicate";
  return kName;
}

Status ReplicateClient::NotConfigured() const {
  return Status::Error(Status::Code::kUnavailable, "provider_not_configured",
                       "Replicate is not configured: set REPLICATE_API_TOKEN "
                       "(or providers.replicate.api_token)",
                       {{"provider", "replicate"}});
}

OutboundRequest ReplicateClient::Request(const std::string& method,
                                         const std::string& path_or_url) const {
  OutboundRequest request;
  request.method = method;
  request.url = path_or_url.rfind("http", 0) == 0 ? path_or_url : base_url_ + path_or_url;
  request.headers.push_back("Authorization: Bearer " + token_.value_or(""));
  request.headers.push_back("Accept: application/json");
  if (method == "POST") request.headers.push_back("Content-Type: application/json");
  request.timeout_ms = kDefaultTimeoutMs;
  return request;
}

Result<std::vector<Observation>> ReplicateClient::ListPages(const std::string& first_path,
                                                            int max_runs, const std::string& what) {
  if (!configured()) return NotConfigured();
  std::vector<Observation> runs;
  std::string next = first_path;
  const std::string origin = OriginOf(base_url_);
  for (int page = 0; page < kMaxPages && !next.empty() && static_cast<int>(runs.size()) < max_runs;
       ++page) {
    auto response = http_.Perform(Request("GET", next));
    if (!response.ok()) return response.status();
    if (Status s = ReplicateStatusFor(*response, what); !s.ok()) return s;
    rapidjson::Document doc;
    doc.Parse(response->body.c_str(), response->body.size());
    if (doc.HasParseError() || !doc.IsObject()) return ParseError(what);
    const auto results = doc.FindMember("results");
    if (results == doc.MemberEnd() || !results->value.IsArray()) return ParseError(what);
    for (const auto& item : results->value.GetArray()) {
      if (static_cast<int>(runs.size()) >= max_runs) break;
      auto obs = ObservationFrom(item);
      if (!obs.ok()) return obs.status();
      runs.push_back(std::move(*obs));
    }
    next.clear();
    if (auto link = OptString(doc, "next"); link && !link->empty()) {
      if (link->rfind("http", 0) == 0) {
        // The token goes with every request: never follow a link to another host.
        if (OriginOf(*link) != origin) {
          return Status::Error(Status::Code::kUpstream, "provider_error",
                               "Replicate's next page points to another host; not followed");
        }
        next = *link;
      } else if (!link->empty() && (*link)[0] == '/') {
        // Relative links may or may not repeat the API's path prefix ("/v1").
        const std::string base_path = base_url_.substr(origin.size());
        next = link->rfind(base_path + "/", 0) == 0 ? origin + *link : base_url_ + *link;
      }
    }
  }
  return runs;
}

Result<std::vector<Observation>> ReplicateClient::ListRecent(int max_runs) {
  return ListPages("/predictions", max_runs, "list predictions");
}

Result<std::vector<Observation>> ReplicateClient::ListTrainings(int max_runs) {
  return ListPages("/trainings", max_runs, "list trainings");
}

Result<Observation> ReplicateClient::GetRun(const std::string& path, long timeout_ms,
                                            const std::string& what) {
  if (!configured()) return NotConfigured();
  OutboundRequest request = Request("GET", path);
  request.timeout_ms = timeout_ms;
  auto response = http_.Perform(request);
  if (!response.ok()) return response.status();
  if (Status s = ReplicateStatusFor(*response, what); !s.ok()) return s;
  auto obs = ParseReplicateRun(response->body);
  if (!obs.ok()) return ParseError(what);
  return obs;
}

Result<Observation> ReplicateClient::Get(const std::string& id, long timeout_ms) {
  return GetRun("/predictions/" + PathEscape(id), timeout_ms, "prediction " + id);
}

Result<Observation> ReplicateClient::GetTraining(const std::string& id, long timeout_ms) {
  return GetRun("/trainings/" + PathEscape(id), timeout_ms, "training " + id);
}

std::vector<Result<Observation>> ReplicateClient::GetMany(const std::vector<std::string>& ids,
                                                          int max_parallel, long budget_ms) {
  std::vector<Result<Observation>> out;
  if (!configured()) {
    out.assign(ids.size(), Result<Observation>(NotConfigured()));
    return out;
  }
  std::vector<OutboundRequest> requests;
  requests.reserve(ids.size());
  for (const auto& id : ids) {
    OutboundRequest request = Request("GET", "/predictions/" + PathEscape(id));
    request.timeout_ms = std::min<long>(kDefaultTimeoutMs, std::max<long>(budget_ms, 1000));
    requests.push_back(std::move(request));
  }
  auto responses = http_.PerformAll(requests, max_parallel, budget_ms);
  for (size_t i = 0; i < responses.size(); ++i) {
    const std::string what = "prediction " + ids[i];
    if (!responses[i].ok()) {
      out.emplace_back(responses[i].status());
      continue;
    }
    if (Status s = ReplicateStatusFor(*responses[i], what); !s.ok()) {
      out.emplace_back(s);
      continue;
    }
    auto obs = ParseReplicateRun(responses[i]->body);
    out.emplace_back(obs.ok() ? std::move(obs) : Result<Observation>(ParseError(what)));
  }
  return out;
}

Result<Observation> ReplicateClient::Cancel(const std::string& id) {
  if (!configured()) return NotConfigured();
  const std::string what = "cancel of prediction " + id;
  auto response = http_.Perform(Request("POST", "/predictions/" + PathEscape(id) + "/cancel"));
  if (!response.ok()) return response.status();
  if (Status s = ReplicateStatusFor(*response, what); !s.ok()) return s;
  auto obs = ParseReplicateRun(response->body);
  if (!obs.ok()) return ParseError(what);
  return obs;
}

Result<ProviderAccount> ReplicateClient::Account() {
  if (!configured()) return NotConfigured();
  auto response = http_.Perform(Request("GET", "/account"));
  if (!response.ok()) return response.status();
  if (Status s = ReplicateStatusFor(*response, "account"); !s.ok()) return s;
  rapidjson::Document doc;
  doc.Parse(response->body.c_str(), response->body.size());
  if (doc.HasParseError() || !doc.IsObject()) return ParseError("account");
  ProviderAccount account;
  account.username = OptString(doc, "username").value_or("");
  account.name = OptString(doc, "name").value_or("");
  account.github_url = OptString(doc, "github_url");
  return account;
}

Result<std::string> ReplicateClient::WebhookSecret() {
  if (!configured()) return NotConfigured();
  // A webhook handler waits on this call: keep it short.
  OutboundRequest request = Request("GET", "/webhooks/default/secret");
  request.timeout_ms = 3000;
  auto response = http_.Perform(request);
  if (!response.ok()) return response.status();
  if (Status s = ReplicateStatusFor(*response, "webhook secret"); !s.ok()) return s;
  rapidjson::Document doc;
  doc.Parse(response->body.c_str(), response->body.size());
  if (doc.HasParseError() || !doc.IsObject()) return ParseError("webhook secret");
  auto key = OptString(doc, "key");
  if (!key) return ParseError("webhook secret");
  return *key;
}

std::unique_ptr<Provider> MakeProvider(const std::string& name, const Config& config) {
  if (name == "replicate") {
    return std::make_unique<ReplicateClient>(config.replicate.api_token.value,
                                             config.replicate.base_url.value);
  }
  return nullptr;
}

}  // namespace jobpulse
