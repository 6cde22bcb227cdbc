// The Replicate API client (reference/replicate.md) behind the Provider
// interface: Bearer token, base URL from configuration (REPLICATE_BASE_URL),
// pagination by following `next` (absolute or relative), connect and total
// timeouts, gzip, problem+json errors mapped to Status, 429 with the
// Retry-After header, the body's retry_after or the hint in its detail text
// (SPEC §6), and tolerant parsing of run
// objects (lib/replicate_run.h).
//
// The token is sent only in the Authorization header, only to the configured
// base URL's origin (a `next` link naming another host is rebased onto it), and
// never appears in a Status message.
//
// Thread-safety: one thread at a time per client.
#ifndef JOBPULSE_LIB_REPLICATE_CLIENT_H_
#define JOBPULSE_LIB_REPLICATE_CLIENT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/http_client.h"
#include "lib/provider.h"
#include "lib/replicate_run.h"

namespace jobpulse {

// Seconds from a Retry-After header (delta-seconds or an HTTP-date, relative
// to `now_seconds`); nullopt when absent or unparseable.
std::optional<int> ParseRetryAfter(std::string_view header, int64_t now_seconds);

// Seconds from a rate-limit hint in a 429's `detail` text: the first "~N s",
// "~Ns", "N seconds" or "N second" (case-insensitive, N a non-negative integer
// of at most 9 digits; "resets in ~30s." -> 30). nullopt when the text has no
// such hint; other numbers ("600 requests per minute") are not hints.
std::optional<int> RetryAfterFromText(std::string_view detail);

// Maps a Replicate HTTP answer to a Status (ok for 2xx). `what` names the
// call in messages ("list predictions"). A 429 is kRateLimited with
// retry_after_seconds from, in order: the Retry-After header, the body's
// `retry_after`, a hint in the body's `detail` (RetryAfterFromText), else 10;
// at least 1.
Status ReplicateStatusFor(const OutboundResponse& response, const std::string& what);

// The URL of the page after `current_url`, given the page's `next` link and
// the configured API base URL (REPLICATE_BASE_URL, e.g.
// "https://api.replicate.com/v1"; a trailing slash is ignored). The result
// always has the base URL's origin (scheme, host and port), so the token is
// only ever sent to the configured host:
//   - absolute, same origin as the base: `next` as is;
//   - absolute, another origin (a proxy or mirror whose pages still name
//     https://api.replicate.com/v1/...): rebased, i.e. its path after a
//     leading "/v1" segment (else its whole path) and its query appended to
//     the base URL;
//   - "/..." (absolute path): origin + `next` when it already starts with the
//     base URL's path; else rebased like an absolute link;
//   - "//host/..." (scheme-relative): as an absolute link with the base's
//     scheme;
//   - "?query": `current_url` with its query replaced;
//   - "path?query" (relative path): base URL + "/" + `next`.
// A fragment is dropped. nullopt when there is no next page (`next` empty) or
// it cannot be followed: a scheme other than http/https, no host, or spaces
// or control characters.
std::optional<std::string> ResolveNextPage(std::string_view base_url, std::string_view current_url,
                                           std::string_view next);

// True when `url` has exactly the origin (scheme, host, port; default ports
// filled in, case-insensitive) of `base_url`.
bool SameOrigin(std::string_view url, std::string_view base_url);

// `segment` percent-encoded for one path segment (RFC 3986 unreserved
// characters kept).
std::string PathEscape(std::string_view segment);

// One run from a Replicate answer: the transport failure, the HTTP error as
// ReplicateStatusFor maps it, or the parsed run (a parse failure names `what`).
Result<Observation> ReplicateRunFrom(const Result<OutboundResponse>& response,
                                     const std::string& what);

class ReplicateClient : public Provider {
 public:
  ReplicateClient(std::optional<std::string> token, std::string base_url);

  const std::string& name() const override;
  const std::string& display_name() const override;
  bool configured() const override { return token_.has_value(); }
  Status NotConfigured() const override;

  Result<std::vector<Observation>> ListRecent(int max_runs) override;
  // Trainings from GET /trainings; predictions as ListRecent.
  Result<std::vector<Observation>> ListRecentOfKind(const std::string& kind, int max_runs) override;
  Result<Observation> Get(const std::string& external_id, long timeout_ms) override;
  void GetEach(const std::vector<std::string>& external_ids, int max_parallel, long budget_ms,
               const std::function<bool()>& keep_starting, const OnRun& on_run) override;
  Result<Observation> Cancel(const std::string& external_id) override;
  Result<ProviderAccount> Account() override;
  // POST .../versions/{v}/trainings, /predictions, or the official model's
  // /models/{owner}/{name}/predictions (lib/replicate_create.cc); the webhook
  // asks for start, output, logs and completed.
  Result<Observation> CreateRun(const CreateRunRequest& request, long timeout_ms) override;
  // The same creates side by side through one curl multi handle.
  void CreateEach(const std::vector<CreateRunRequest>& requests, int max_parallel, long timeout_ms,
                  const OnRun& on_run) override;
  // GET /webhooks/default/secret.
  Result<std::string> WebhookSecret() override;

 private:
  OutboundRequest Request(const std::string& method, const std::string& path_or_url) const;
  // `response`, counted in the process's counters (lib/counters.h) under
  // `endpoint` ("get_prediction") and its outcome.
  static const Result<OutboundResponse>& Counted(std::string_view endpoint,
                                                 const Result<OutboundResponse>& response);
  // GETs pages from `first_path` until `max_runs` runs or no `next`.
  Result<std::vector<Observation>> ListPages(const std::string& first_path, int max_runs,
                                             const std::string& what);
  Result<Observation> GetRun(const std::string& path, long timeout_ms, const std::string& what);
  // The POST that creates `request`'s run (lib/replicate_create.cc);
  // kInvalidArgument for a training without version or destination.
  Result<OutboundRequest> CreateRequest(const CreateRunRequest& request, long timeout_ms) const;

  std::optional<std::string> token_;
  std::string base_url_;  // no trailing slash
  HttpClient http_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_REPLICATE_CLIENT_H_
