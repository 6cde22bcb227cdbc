// The HTTP vocabulary shared by the API and the FastCGI front end: a parsed
// request, a response, query-string and path helpers, and the single place
// where a Status becomes an HTTP status code and the SPEC §9 error envelope.
// Pure; thread-safe.
#ifndef JOBPULSE_LIB_HTTP_H_
#define JOBPULSE_LIB_HTTP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/status.h"

namespace jobpulse {

struct HttpRequest {
  std::string method;  // "GET", ...
  std::string path;    // raw (still percent-encoded), without the query
  std::string query;   // raw, without the '?'
  std::string if_none_match;
  std::string body;
  // Request headers as (name, value), names lower-case with '-' ("webhook-id"),
  // as the front end found them (FastCGI/CGI HTTP_* params, CONTENT_TYPE).
  std::vector<std::pair<std::string, std::string>> headers;
  // "https" when the request reached the web server over TLS (FastCGI HTTPS=on
  // or REQUEST_SCHEME), else "http"; for the session cookie's Secure and the
  // request's own origin (lib/access.h).
  std::string scheme = "http";
  // The port the web server received the request on (SERVER_PORT); "" unknown.
  std::string server_port = "";

  // The first value of the header `lower_name` (compared case-insensitively),
  // or nullptr.
  const std::string* Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type included
  std::string body;

  // The header's value, or nullptr.
  const std::string* Header(std::string_view name) const;
};

// "%41+b" -> "A b" when `plus_is_space`; invalid escapes are kept verbatim.
std::string PercentDecode(std::string_view text, bool plus_is_space);

// Splits "/a/b%2Fc" into decoded segments {"a", "b/c"}; empty segments dropped.
std::vector<std::string> SplitPath(std::string_view raw_path);

// Whether the decoded path segments (SplitPath) match `pattern`
// ("/api/cloud/jobs/{job_id}/logs"), where a "{name}" segment matches any one
// segment: nullopt when not; else how many "{...}" segments it has and, for
// the last of them, its name ("job_id") and the segment it matched (a view
// into `segments`).
struct PathMatch {
  int params = 0;
  std::string_view name;
  std::string_view value;
};
std::optional<PathMatch> MatchPath(std::string_view pattern,
                                   const std::vector<std::string>& segments);

// Parsed query string: decoded (name, value) pairs in order.
class QueryParams {
 public:
  explicit QueryParams(std::string_view raw_query);
  // The first value of `name`, or nullopt.
  std::optional<std::string> Get(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// The items of a comma-separated list ("running, queued,,running"): spaces
// (not tabs) around each trimmed, empty items and repeats dropped, first-seen order.
// Views into `text`.
std::vector<std::string_view> SplitCommaList(std::string_view text);

// "true/false/1/0/yes/no/on/off" (case-insensitive); nullopt otherwise.
std::optional<bool> ParseBool(std::string_view text);

// A decimal integer in [min, max]; nullopt otherwise (no sign games, no spaces).
std::optional<int64_t> ParseInt(std::string_view text, int64_t min, int64_t max);

// CONTENT_LENGTH as FastCGI and CGI pass it: "" or unset means 0.
// Errors: kInvalidArgument "invalid_content_length" for anything but digits;
// kTooLarge "payload_too_large" above `max_bytes`.
Result<int64_t> ParseContentLength(std::string_view text, int64_t max_bytes);

// A strong ETag for `body`: a quoted 64-bit hash in 16 hex digits, the same
// for the same bytes in every process and on every machine.
std::string ETagFor(std::string_view body);

// True when the If-None-Match header value matches `etag` (a list or "*").
bool ETagMatches(std::string_view if_none_match, std::string_view etag);

// `response` with an ETag of its body, or a 304 without the body when the
// request's If-None-Match already names it.
HttpResponse WithETag(const HttpRequest& request, HttpResponse response);

// "404 Not Found" style reason phrases for the Status: header.
const char* ReasonPhrase(int status);

// The 400 for a known query parameter with a value it does not take (SPEC §9):
// kInvalidArgument "invalid_parameter", the message naming the parameter and
// `expected`, details {parameter, value}.
Status InvalidParameter(const std::string& name, const std::string& value,
                        const std::string& expected);

// The one mapping from Status to HTTP: status code by Status::Code, the body
// {"error","message","details"?}, and Retry-After when the Status carries one.
HttpResponse ErrorResponse(const Status& status);

// ASCII letters compared without case, as HTTP compares header names.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// `s` without the spaces and tabs (HTTP's optional whitespace) at either end.
std::string_view Trim(std::string_view s);

// A JSON 200 (or `status`) response.
HttpResponse JsonResponse(std::string body, int status = 200);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_HTTP_H_
