#include "lib/replicate_client.h"

#include <curl/curl.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>

#include "lib/counters.h"
#include "lib/json_limits.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

std::optional<std::string> OptString(const rapidjson::Value& obj, const char* key) {
  const auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

Status ParseError(const std::string& what) {
  return Status::Error(Status::Code::kUpstream, "provider_error",
                       "Replicate answered " + what + " with malformed JSON");
}

constexpr long kDefaultTimeoutMs = 15000;
// Replicate pages hold 100 runs; a bound on pages keeps a misbehaving `next`
// chain from looping forever.
constexpr int kMaxPages = 1000;
// SPEC §6: the wait after a 429 that says nothing about when to come back.
constexpr int kDefaultRetryAfterSeconds = 10;

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

std::string PathEscape(std::string_view segment) {
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

std::optional<int> ParseRetryAfter(std::string_view header, int64_t now_seconds) {
  if (header.empty()) return std::nullopt;
  bool digits = true;
  for (const char c : header) digits = digits && c >= '0' && c <= '9';
  if (digits && header.size() <= 9) return std::atoi(std::string(header).c_str());
  const time_t now = static_cast<time_t>(now_seconds);
  const time_t when = curl_getdate(std::string(header).c_str(), &now);
  if (when < 0) return std::nullopt;
  // A date more than 68 years ahead must not wrap to a negative int.
  const int64_t ahead = static_cast<int64_t>(when) - static_cast<int64_t>(now);
  return static_cast<int>(std::clamp<int64_t>(ahead, 0, std::numeric_limits<int>::max()));
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
      // (One increment per digit: "2.55" once looped forever here.)
      for (; j < detail.size() && is_digit(detail[j]); ++j) fraction = fraction || detail[j] != '0';
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
  if (JsonDepthWithin(response.body)) {  // SPEC §9: nesting limit
    doc.Parse<rapidjson::kParseIterativeFlag>(response.body.c_str(), response.body.size());
  }
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
    seconds = ParseRetryAfter(response.Header("retry-after"), NowMicros() / kMicrosPerSecond);
    if (!seconds) seconds = body_retry_after;
    if (!seconds) seconds = RetryAfterFromText(detail);
  }
  if (detail.size() > 300) detail = detail.substr(0, 300) + "...";
  const std::string suffix = detail.empty() ? "" : ": " + detail;
  const std::string http = " (HTTP " + std::to_string(code) + ")";
  if (code == 429) {
    return Status::Error(Status::Code::kRateLimited, "provider_rate_limited",
                         "Replicate is rate limiting " + what + http + suffix,
                         {{"provider", kReplicateProvider}})
        .set_retry_after_seconds(std::max(1, seconds.value_or(kDefaultRetryAfterSeconds)));
  }
  if (code == 404) {
    return Status::Error(Status::Code::kNotFound, "provider_not_found",
                         "Replicate does not know " + what + http + suffix,
                         {{"provider", kReplicateProvider}});
  }
  if (code == 401 || code == 403) {
    return Status::Error(Status::Code::kUpstream, "provider_error",
                         "Replicate rejected the API token for " + what + http + suffix,
                         {{"provider", kReplicateProvider}});
  }
  return Status::Error(Status::Code::kUpstream, "provider_error",
                       "Replicate failed " + what + http + suffix,
                       {{"provider", kReplicateProvider}});
}

Result<Observation> ReplicateRunFrom(const Result<OutboundResponse>& response,
                                     const std::string& what) {
  if (!response.ok()) return response.status();
  if (Status s = ReplicateStatusFor(*response, what); !s.ok()) return s;
  auto run = ParseReplicateRun(response->body);
  if (!run.ok()) return ParseError(what);
  return run;
}

ReplicateClient::ReplicateClient(std::optional<std::string> token, std::string base_url)
    : token_(std::move(token)), base_url_(std::move(base_url)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

const std::string& ReplicateClient::name() const {
  static const std::string kName = kReplicateProvider;
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
                       {{"provider", kReplicateProvider}});
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

const Result<OutboundResponse>& ReplicateClient::Counted(std::string_view endpoint,
                                                         const Result<OutboundResponse>& response) {
  const std::string_view outcome = RequestOutcome(response);
  if (!outcome.empty()) {
    ProcessCounters().Add(
        kProviderRequestsTotal,
        Labels({{"provider", kReplicateProvider}, {"endpoint", endpoint}, {"outcome", outcome}}));
  }
  return response;
}

Result<std::vector<Observation>> ReplicateClient::ListPages(const std::string& first_path,
                                                            int max_runs, const std::string& what) {
  if (!configured()) return NotConfigured();
  const std::string endpoint = "list_" + first_path.substr(1);  // "/trainings" -> list_trainings
  std::vector<Observation> runs;
  std::string next = base_url_ + first_path;
  for (int page = 0; page < kMaxPages && !next.empty() && static_cast<int>(runs.size()) < max_runs;
       ++page) {
    const std::string url = std::move(next);
    next.clear();
    auto response = http_.Perform(Request("GET", url));
    Counted(endpoint, response);
    if (!response.ok()) return response.status();
    if (Status s = ReplicateStatusFor(*response, what); !s.ok()) return s;
    auto parsed = ParseReplicatePage(response->body);
    if (!parsed.ok()) return ParseError(what);
    for (Observation& obs : parsed->runs) {
      if (static_cast<int>(runs.size()) >= max_runs) break;
      runs.push_back(std::move(obs));
    }
    if (const auto& link = parsed->next) {
      // Absolute, relative, or naming api.replicate.com behind a proxy: always
      // onto the configured origin (the token goes with every request).
      auto resolved = ResolveNextPage(base_url_, url, *link);
      if (!resolved) {
        const std::string shown = link->size() > 200 ? link->substr(0, 200) + "..." : *link;
        return Status::Error(
            Status::Code::kUpstream, "provider_error",
            "Replicate's next page link (" + what + ") cannot be followed: " + shown,
            {{"provider", kReplicateProvider}});
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

Result<std::vector<Observation>> ReplicateClient::ListRecentOfKind(const std::string& kind,
                                                                   int max_runs) {
  if (kind == "training") return ListPages("/trainings", max_runs, "list trainings");
  return ListRecent(max_runs);
}

Result<Observation> ReplicateClient::GetRun(const std::string& path, long timeout_ms,
                                            const std::string& what) {
  if (!configured()) return NotConfigured();
  OutboundRequest request = Request("GET", path);
  request.timeout_ms = timeout_ms;
  return ReplicateRunFrom(Counted("get_prediction", http_.Perform(request)), what);
}

Result<Observation> ReplicateClient::Get(const std::string& id, long timeout_ms) {
  return GetRun("/predictions/" + PathEscape(id), timeout_ms, "prediction " + id);
}

void ReplicateClient::GetEach(const std::vector<std::string>& ids, int max_parallel, long budget_ms,
                              const std::function<bool()>& keep_starting, const OnRun& on_run) {
  if (!configured()) {
    for (size_t i = 0; i < ids.size(); ++i) on_run(i, NotConfigured());
    return;
  }
  std::vector<OutboundRequest> requests;
  requests.reserve(ids.size());
  for (const auto& id : ids) {
    OutboundRequest request = Request("GET", "/predictions/" + PathEscape(id));
    request.timeout_ms = std::min<long>(kDefaultTimeoutMs, std::max<long>(budget_ms, 1000));
    requests.push_back(std::move(request));
  }
  http_.PerformEach(requests, max_parallel, budget_ms, keep_starting,
                    [&](size_t index, Result<OutboundResponse> response) {
                      Counted("get_prediction", response);
                      on_run(index, ReplicateRunFrom(response, "prediction " + ids[index]));
                    });
}

Result<Observation> ReplicateClient::Cancel(const std::string& id) {
  if (!configured()) return NotConfigured();
  const std::string what = "cancel of prediction " + id;
  return ReplicateRunFrom(
      Counted("cancel_prediction",
              http_.Perform(Request("POST", "/predictions/" + PathEscape(id) + "/cancel"))),
      what);
}

Result<ProviderAccount> ReplicateClient::Account() {
  if (!configured()) return NotConfigured();
  auto response = http_.Perform(Request("GET", "/account"));
  Counted("account", response);
  if (!response.ok()) return response.status();
  if (Status s = ReplicateStatusFor(*response, "account"); !s.ok()) return s;
  if (!JsonDepthWithin(response->body)) return ParseError("account");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(response->body.c_str(), response->body.size());
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
  Counted("webhook_secret", response);
  if (!response.ok()) return response.status();
  if (Status s = ReplicateStatusFor(*response, "webhook secret"); !s.ok()) return s;
  if (!JsonDepthWithin(response->body)) return ParseError("webhook secret");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(response->body.c_str(), response->body.size());
  if (doc.HasParseError() || !doc.IsObject()) return ParseError("webhook secret");
  auto key = OptString(doc, "key");
  if (!key) return ParseError("webhook secret");
  return *key;
}

}  // namespace jobpulse
