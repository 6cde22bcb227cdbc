#include "lib/replicate_client.h"

#include <curl/curl.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "lib/json_writer.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

constexpr long kDefaultTimeoutMs = 15000;
// Replicate pages hold 100 runs; a bound on pages keeps a misbehaving `next`
// chain from looping forever.
constexpr int kMaxPages = 1000;
// SPEC §6: the wait after a 429 that says nothing about when to come back.
constexpr int kDefaultRetryAfterSeconds = 10;

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

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool AllDigits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// An http(s) URL taken apart: "scheme://[user@]host[:port]/path?query#fragment".
struct UrlParts {
  std::string origin;  // "scheme://authority" as written
  std::string scheme;  // lower-case
  std::string host;    // lower-case; IPv6 keeps its brackets
  int port = 0;        // the scheme's default when none is written
  std::string path;    // "" or starting with '/'
  bool has_query = false;
  std::string query;  // without the '?'
};

// nullopt unless the scheme is http or https, there is a host and the port
// (if any) is 1..65535. The fragment is dropped.
std::optional<UrlParts> ParseHttpUrl(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  UrlParts u;
  u.scheme = Lower(url.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") return std::nullopt;
  const size_t authority_begin = sep + 3;
  const size_t authority_end = std::min(url.find_first_of("/?#", authority_begin), url.size());
  u.origin = std::string(url.substr(0, authority_end));
  std::string_view authority = url.substr(authority_begin, authority_end - authority_begin);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  u.host = Lower(host);
  if (port.empty()) {
    u.port = u.scheme == "https" ? 443 : 80;
  } else {
    if (port.size() > 5 || !AllDigits(port)) return std::nullopt;
    u.port = std::atoi(std::string(port).c_str());
    if (u.port < 1 || u.port > 65535) return std::nullopt;
  }
  std::string_view rest = url.substr(authority_end);
  rest = rest.substr(0, rest.find('#'));
  const size_t question = rest.find('?');
  u.path = std::string(rest.substr(0, question));
  if (question != std::string_view::npos) {
    u.has_query = true;
    u.query = std::string(rest.substr(question + 1));
  }
  return u;
}

// "/v1" is a leading segment of "/v1" and "/v1/predictions", not of "/v10".
bool HasLeadingSegments(std::string_view path, std::string_view prefix) {
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

std::string WithQuery(std::string url, const UrlParts& parts) {
  if (parts.has_query) url += "?" + parts.query;
  return url;
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

std::optional<int> RetryAfterFromText(std::string_view detail) {
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto is_alpha = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  size_t i = 0;
  while (i < detail.size()) {
    if (!is_digit(detail[i]) || (i > 0 && (is_alpha(detail[i - 1]) || detail[i - 1] == '.'))) {
      ++i;
      continue;
    }
    const size_t begin = i;
    while (i < detail.size() && is_digit(detail[i])) ++i;
    const std::string_view digits = detail.substr(begin, i - begin);
    // A fraction ("~1.5s") rounds up.
    bool fraction = false;
    size_t j = i;
    if (j + 1 < detail.size() && detail[j] == '.' && is_digit(detail[j + 1])) {
      ++j;
      while (j < detail.size() && is_digit(detail[j])) fraction = fraction || detail[j++] != '0';
    }
    size_t before = begin;
    while (before > 0 && is_space(detail[before - 1])) --before;
    const bool tilde = before > 0 && detail[before - 1] == '~';
    while (j < detail.size() && is_space(detail[j])) ++j;
    size_t word_end = j;
    while (word_end < detail.size() && is_alpha(detail[word_end])) ++word_end;
    const std::string unit = Lower(detail.substr(j, word_end - j));
    const bool seconds = unit == "second" || unit == "seconds" || unit == "sec" || unit == "secs";
    if ((seconds || (tilde && unit == "s")) && digits.size() <= 9) {
      return std::atoi(std::string(digits).c_str()) + (fraction ? 1 : 0);
    }
    i = std::max(i, j);
  }
  return std::nullopt;
}

bool SameOrigin(std::string_view url, std::string_view base_url) {
  const auto a = ParseHttpUrl(url);
  const auto b = ParseHttpUrl(base_url);
  return a && b && a->scheme == b->scheme && a->host == b->host && a->port == b->port;
}

std::optional<std::string> ResolveNextPage(std::string_view base_url, std::string_view current_url,
                                           std::string_view next) {
  for (const char c : next) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '\\') return std::nullopt;
  }
  next = next.substr(0, next.find('#'));
  if (next.empty()) return std::nullopt;
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  const auto base = ParseHttpUrl(base_url);
  if (!base) return std::nullopt;
  // Every answer is built on the base's own origin, so it cannot name another host.
  const std::string base_no_query = base->origin + base->path;
  // The path after a leading "/v1" (else the whole path) and the query, on the base URL.
  const auto rebase = [&](const UrlParts& link) {
    std::string_view path = link.path;
    if (HasLeadingSegments(path, "/v1")) path.remove_prefix(3);
    return WithQuery(base_no_query + std::string(path), link);
  };

  std::string absolute;
  if (next.starts_with("//")) {
    absolute = base->scheme + ":" + std::string(next);
  } else if (const size_t colon = next.find(':');
             colon != std::string_view::npos && colon < next.find_first_of("/?")) {
    absolute = std::string(next);  // has a scheme
  }
  std::optional<std::string> out;
  if (!absolute.empty()) {
    const auto link = ParseHttpUrl(absolute);
    if (!link) return std::nullopt;
    const bool same =
        link->scheme == base->scheme && link->host == base->host && link->port == base->port;
    out = same ? WithQuery(base->origin + link->path, *link) : rebase(*link);
  } else if (next[0] == '/') {
    const auto link = ParseHttpUrl(base->origin + std::string(next));
    if (!link) return std::nullopt;
    out = HasLeadingSegments(link->path, base->path) ? WithQuery(base->origin + link->path, *link)
                                                     : rebase(*link);
  } else if (next[0] == '?') {
    auto current = ParseHttpUrl(current_url);
    const std::string path = current ? current->path : base->path;
    out = base->origin + path + std::string(next);
  } else {
    while (next.starts_with("./")) next.remove_prefix(2);
    out = base_no_query + "/" + std::string(next);
  }
  if (!SameOrigin(*out, base_url)) return std::nullopt;
  return out;
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
    if (ra != doc.MemberEnd() && ra->value.IsNumber() && ra->value.GetDouble() >= 0 &&
        ra->value.GetDouble() <= 1e9) {
      body_retry_after = static_cast<int>(ra->value.GetDouble() + 0.999);
    }
  }
  // SPEC §6: the Retry-After header, else the body's retry_after, else the hint
  // in the detail text ("resets in ~30s."), else 10 s.
  std::optional<int> seconds;
  if (code == 429) {
    seconds = ParseRetryAfter(response.Header("retry-after"), NowMicros() / 1000000);
    if (!seconds) seconds = body_retry_after;
    if (!seconds) seconds = RetryAfterFromText(detail);
  }
  if (detail.size() > 300) detail = detail.substr(0, 300) + "...";
  const std::string suffix = detail.empty() ? "" : ": " + detail;
  const std::string http = " (HTTP " + std::to_string(code) + ")";
  if (code == 429) {
    return Status::Error(Status::Code::kRateLimited, "provider_rate_limited",
                         "Replicate is rate limiting " + what + http + suffix,
                         {{"provider", "replicate"}})
        .set_retry_after_seconds(std::max(1, seconds.value_or(kDefaultRetryAfterSeconds)));
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
  // The token goes to the configured origin only (SPEC §6); next links are
  // resolved onto it by ResolveNextPage, so this holds for every caller.
  const bool on_base =
      SameOrigin(request.url, base_url_) ||
      (request.url.starts_with(base_url_) &&
       (request.url.size() == base_url_.size() || request.url[base_url_.size()] == '/' ||
        request.url[base_url_.size()] == '?'));
  assert(on_base && "a Replicate request must go to the configured base URL's origin");
  if (on_base) request.headers.push_back("Authorization: Bearer " + token_.value_or(""));
  request.headers.push_back("Accept: application/json");
  if (method == "POST") request.headers.push_back("Content-Type: application/json");
  request.timeout_ms = kDefaultTimeoutMs;
  return request;
}

Result<std::vector<Observation>> ReplicateClient::ListPages(const std::string& first_path,
                                                            int max_runs, const std::string& what) {
  if (!configured()) return NotConfigured();
  std::vector<Observation> runs;
  std::string next = base_url_ + first_path;
  for (int page = 0; page < kMaxPages && !next.empty() && static_cast<int>(runs.size()) < max_runs;
       ++page) {
    const std::string url = std::move(next);
    next.clear();
    auto response = http_.Perform(Request("GET", url));
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
    if (auto link = OptString(doc, "next"); link && !link->empty()) {
      // Absolute, relative, or naming api.replicate.com behind a proxy: always
      // onto the configured origin (the token goes with every request).
      auto resolved = ResolveNextPage(base_url_, url, *link);
      if (!resolved) {
        const std::string shown = link->size() > 200 ? link->substr(0, 200) + "..." : *link;
        return Status::Error(
            Status::Code::kUpstream, "provider_error",
            "Replicate's next page link (" + what + ") cannot be followed: " + shown,
            {{"provider", "replicate"}});
      }
      // A page that names itself as next would loop until kMaxPages.
      if (*resolved != url) next = std::move(*resolved);
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
