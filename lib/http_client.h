// Outbound HTTP over libcurl, for provider clients.
//
// Perform() runs one blocking request and keeps the connection for the next;
// PerformAll() and PerformEach() run many with at most `max_parallel` in
// flight through one curl multi handle fed from our own queue (libcurl's
// pending queue would count against each transfer's timeout), and never run
// past their budget. PerformEach() hands over each response as it arrives, so
// the caller's work on it overlaps with the requests still at the server.
//
// Every request has a connect and a total timeout and accepts gzip. Transport
// failures, and response bodies larger than the request's max_response_bytes
// (after gzip is undone; SPEC §9), come back as Status kUpstream
// "provider_error"; HTTP error statuses are not errors here (the caller
// interprets them).
//
// Thread-safety: an HttpClient is used by one thread at a time; separate
// clients may run in parallel. curl_global_init is done once, on first use.
#ifndef JOBPULSE_LIB_HTTP_CLIENT_H_
#define JOBPULSE_LIB_HTTP_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/json_limits.h"
#include "lib/status.h"

namespace jobpulse {

struct OutboundRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  long connect_timeout_ms = 3000;
  long timeout_ms = 10000;
  // A longer (decoded) body aborts the transfer as a provider error.
  size_t max_response_bytes = kMaxProviderResponseBytes;
};

struct OutboundResponse {
  long status = 0;
  std::string body;                                          // decoded (gzip undone)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  // The first header named `lower_name`, or "".
  std::string Header(std::string_view lower_name) const;
};

// The status PerformAll gives a request it never started (its budget ran out
// first): kUnavailable "not_reached". Callers retry such requests later.
Status NotReached();
bool IsNotReached(const Status& status);

// A request's outcome as the metrics label it (lib/counters.h): "ok" (2xx),
// "not_found" (404), "rate_limited" (429), "client_error" (other 4xx),
// "server_error" (5xx and anything else), "transport_error" (no answer:
// refused, timed out, too large), or "" for a request never sent (NotReached).
std::string_view RequestOutcome(const Result<OutboundResponse>& response);

class HttpClient {
 public:
  // Below this much of a budget left, a request is not started: it could
  // not be answered in time, and a timer that fires a little early must not
  // start the next request with a millisecond to live.
  static constexpr long kMinTransferMs = 50;

  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<OutboundResponse> Perform(const OutboundRequest& request);

  // Results in request order. `budget_ms` is a deadline for the whole call:
  // requests not started while at least kMinTransferMs of it is left get
  // NotReached(), and each started one's timeouts are cut to the time left
  // when it starts, so the call returns within about budget_ms whatever the
  // server does.
  std::vector<Result<OutboundResponse>> PerformAll(const std::vector<OutboundRequest>& requests,
                                                   int max_parallel, long budget_ms);

  // Called once per request with its index in `requests` and its result.
  using OnResponse = std::function<void(size_t index, Result<OutboundResponse> response)>;
  // The same rules as PerformAll, but `on_response` gets each result as its
  // transfer ends (completion order), on the calling thread, while the others
  // stay in flight; and a request starts only while `keep_starting()` returns
  // true (asked before each start; once false, no more start). Requests never
  // started get NotReached(), in request order, after all the others.
  void PerformEach(const std::vector<OutboundRequest>& requests, int max_parallel, long budget_ms,
                   const std::function<bool()>& keep_starting, const OnResponse& on_response);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_HTTP_CLIENT_H_
