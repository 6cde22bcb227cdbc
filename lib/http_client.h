// Outbound HTTP over libcurl, for provider clients.
//
// Perform() runs one blocking request and keeps the connection for the next;
// PerformAll() runs many with at most `max_parallel` in flight through one curl
// multi handle fed from our own queue (libcurl's pending queue would count
// against each transfer's timeout), and stops starting new ones when the
// budget is spent.
//
// Every request has a connect and a total timeout and accepts gzip. Transport
// failures come back as Status kUpstream "provider_error"; HTTP error
// statuses are not errors here (the caller interprets them).
//
// Thread-safety: an HttpClient is used by one thread at a time; separate
// clients may run in parallel. curl_global_init is done once, on first use.
#ifndef JOBPULSE_LIB_HTTP_CLIENT_H_
#define JOBPULSE_LIB_HTTP_CLIENT_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/status.h"

namespace jobpulse {

struct OutboundRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  long connect_timeout_ms = 3000;
  long timeout_ms = 10000;
};

struct OutboundResponse {
  long status = 0;
  std::string body;                                          // decoded (gzip undone)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  // The first header named `lower_name`, or "".
  std::string Header(std::string_view lower_name) const;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<OutboundResponse> Perform(const OutboundRequest& request);

  // Results in request order. Requests not started within `budget_ms` get
  // Status kUnavailable "not_reached"; started ones run to their own timeout.
  std::vector<Result<OutboundResponse>> PerformAll(const std::vector<OutboundRequest>& requests,
                                                   int max_parallel, long budget_ms);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_HTTP_CLIENT_H_
