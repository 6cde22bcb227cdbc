// Access control and browser safety (SPEC §11), checked once per request
// before the API routes it (Api::Handle), and by the SSE server for
// /api/events (lib/sse_server.cc).
//
// - API token (`api.token`, JOBPULSE_API_TOKEN). When set, every request under
//   /api/ needs it, except the webhooks (signed, SPEC §7), /api/session (the
//   sign-in itself) and GET/HEAD /api/cloud/health, which stays open but then
//   says only {"status":"ok"} or {"status":"degraded"} to a caller without the
//   token. That covers /api/cloud/, /api/queue/ and /api/events as the SPEC
//   asks, and also unknown paths (401, not 404: nothing to enumerate). The
//   token is accepted as `Authorization: Bearer <token>`, `X-API-Key: <token>`
//   or the session cookie. A failure is 401 `unauthorized` with
//   `WWW-Authenticate: Bearer`. Without a token everything is open.
// - Session cookie: `POST /api/session` with {"token":"…"} answers 204 and sets
//   `jobpulse_session=v1.<expiry>.<mac>` (HttpOnly; SameSite=Strict; Path=/api;
//   Max-Age one week; Secure over https). <expiry> is Unix seconds, <mac> the
//   hex HMAC-SHA256 of "jobpulse-session:v1:<expiry>" under a key that is
//   itself HMAC-SHA256(token, "jobpulse session cookie key v1"): the cookie
//   never holds the token, and a new token invalidates every cookie. A wrong
//   token is 401. Without a configured token the sign-in is a 204 with no
//   cookie (there is nothing to sign in to). `DELETE /api/session` expires the
//   cookie (204).
// - Cross-site requests, with or without a token: POST, PUT, PATCH and DELETE
//   (webhooks excepted) are refused with 403 `cross_origin` when they carry
//   `Sec-Fetch-Site: cross-site`, or an `Origin` that is neither the request's
//   own origin nor one of `api.allowed_origins`. The own origin is the scheme
//   (https when the front end says so) with the Host header, plus SERVER_PORT
//   when Host names no port (Debian's fastcgi_params pass nginx's $host, which
//   drops it); default ports (80, 443) are left out on both sides, as browsers
//   do in Origin. A browser's state-changing request (one with `Origin` or
//   `Sec-Fetch-Site`) that has a body must say `Content-Type:
//   application/json` (parameters allowed), else 415 `unsupported_media_type`.
//   Clients that send neither header (curl, scripts) are not held to it.
//   Order: 403, then 401, then 415.
//
// Every comparison of a secret is constant-time (ConstantTimeEquals).
// Pure functions over their arguments; thread-safe.
#ifndef JOBPULSE_LIB_ACCESS_H_
#define JOBPULSE_LIB_ACCESS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config.h"
#include "lib/http.h"

namespace jobpulse {

inline constexpr std::string_view kSessionCookieName = "jobpulse_session";
inline constexpr int64_t kSessionLifetimeSeconds = 7 * 24 * 3600;

// Equality that takes the same time wherever the inputs differ, and whatever
// their lengths: it compares SHA-256 digests of both with CRYPTO_memcmp.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The cookie value for a session that ends at `expires_at` (Unix seconds).
std::string SignSessionCookie(std::string_view token, int64_t expires_at);

// True when `value` is a cookie SignSessionCookie made with this token and
// `now` (Unix seconds) is before its expiry.
bool VerifySessionCookie(std::string_view token, std::string_view value, int64_t now);

// Every value of cookie `name` in a Cookie header ("a=1; b=2"), in order.
std::vector<std::string_view> CookieValues(std::string_view cookie_header, std::string_view name);

// What a request presented; nullptr for an absent header.
struct Credentials {
  const std::string* authorization = nullptr;  // "Bearer <token>"
  const std::string* api_key = nullptr;        // X-API-Key
  const std::string* cookie = nullptr;         // the Cookie header
};

// True when any of the three forms carries `token` (a valid session cookie for
// it counts).
bool HasValidCredentials(std::string_view token, const Credentials& credentials, int64_t now);

// The same, read from a request's headers.
Credentials CredentialsOf(const HttpRequest& request);

// The message of that 401, also sent by the SSE server.
inline constexpr std::string_view kUnauthorizedMessage =
    "this jobpulse needs its API token: send Authorization: Bearer <token> or X-API-Key: "
    "<token>, or sign in with POST /api/session";

// The 401 of SPEC §11: `unauthorized`, with WWW-Authenticate: Bearer.
HttpResponse UnauthorizedResponse();

// The request's own origin, "http://127.0.0.1:8001" (see above); "" without a
// Host header.
std::string OwnOrigin(const HttpRequest& request);

// The cross-site rules for a state-changing request: the 403 or 415 to send,
// or nullopt when it may go on. Requests that change nothing pass.
std::optional<HttpResponse> CheckCrossSite(const HttpRequest& request,
                                           const std::vector<std::string>& allowed_origins);

// The outcome of the access check for one API request.
struct AccessDecision {
  // Answer this instead of routing (a refusal, or the /api/session endpoint).
  std::optional<HttpResponse> response;
  // Route it, then pass the answer through ReduceHealth (an open health check
  // in token mode).
  bool health_only = false;
};

// Everything above for one request to the API (not /api/events, which the SSE
// server checks with HasValidCredentials). `segments` is
// SplitPath(request.path), which the caller routes by too; `now` is Unix
// seconds.
AccessDecision CheckAccess(const Config& config, const HttpRequest& request,
                           const std::vector<std::string>& segments, int64_t now);

// Turns a health answer into {"status":"ok"} (its "status" was "ok") or
// {"status":"degraded"} (anything else), keeping its HTTP status.
void ReduceHealth(HttpResponse* response);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_ACCESS_H_
