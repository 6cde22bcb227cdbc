#include "lib/access.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <rapidjson/document.h>

#include <cctype>
#include <charconv>

namespace jobpulse {
namespace {

constexpr std::string_view kCookieKeyLabel = "jobpulse session cookie key v1";
constexpr std::string_view kCookieVersion = "v1";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  static const unsigned char kEmpty = 0;  // HMAC() wants a non-null key pointer
  const void* key_data = key.empty() ? &kEmpty : static_cast<const void*>(key.data());
  HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::string CookieMac(std::string_view token, int64_t expires_at) {
  const std::string key = HmacSha256(token, kCookieKeyLabel);
  return Hex(HmacSha256(key, "jobpulse-session:v1:" + std::to_string(expires_at)));
}

bool IsStateChanging(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

bool IsRead(const std::string& method) { return method == "GET" || method == "HEAD"; }

// "http://Host:80" -> "http://host": browsers leave default ports out of Origin.
std::string NormalizeOrigin(std::string_view origin) {
  std::string out = Lower(Trim(origin));
  for (const auto& [scheme, port] : {std::pair{"http://", ":80"}, std::pair{"https://", ":443"}}) {
    if (out.starts_with(scheme) && out.ends_with(port) &&
        out.size() > std::string_view(scheme).size() + std::string_view(port).size()) {
      out.resize(out.size() - std::string_view(port).size());
    }
  }
  return out;
}

std::optional<HttpResponse> CrossOrigin(const HttpRequest& request,
                                        const std::vector<std::string>& allowed_origins) {
  if (!IsStateChanging(request.method)) return std::nullopt;
  if (const std::string* site = request.Header("sec-fetch-site");
      site && Lower(Trim(*site)) == "cross-site") {
    return ErrorResponse(Status::Error(Status::Code::kForbidden, "cross_origin",
                                       "requests from another site may not change anything here",
                                       {{"sec_fetch_site", "cross-site"}}));
  }
  const std::string* origin = request.Header("origin");
  if (!origin) return std::nullopt;
  const std::string given = NormalizeOrigin(*origin);
  const std::string own = NormalizeOrigin(OwnOrigin(request));
  if (!own.empty() && given == own) return std::nullopt;
  for (const std::string& allowed : allowed_origins) {
    if (given == NormalizeOrigin(allowed)) return std::nullopt;
  }
  return ErrorResponse(Status::Error(Status::Code::kForbidden, "cross_origin",
                                     "requests from origin " + std::string(Trim(*origin)) +
                                         " may not change anything here; list it in "
                                         "api.allowed_origins to allow it",
                                     {{"origin", std::string(Trim(*origin))}}));
}

std::optional<HttpResponse> BrowserContentType(const HttpRequest& request) {
  if (!IsStateChanging(request.method) || request.body.empty()) return std::nullopt;
  if (!request.Header("origin") && !request.Header("sec-fetch-site")) return std::nullopt;
  const std::string* type = request.Header("content-type");
  std::string_view media = type ? std::string_view(*type) : std::string_view();
  media = Trim(media.substr(0, media.find(';')));
  if (Lower(media) == "application/json") return std::nullopt;
  return ErrorResponse(Status::Error(Status::Code::kUnsupportedMediaType, "unsupported_media_type",
                                     "a request body from a browser must be sent as "
                                     "Content-Type: application/json",
                                     {{"content_type", type ? std::string(Trim(*type)) : ""}}));
}

std::string SessionCookieHeader(const HttpRequest& request, std::string_view value,
                                int64_t max_age) {
  std::string header = std::string(kSessionCookieName) + "=" + std::string(value) +
                       "; Max-Age=" + std::to_string(max_age) +
                       "; Path=/api; HttpOnly; SameSite=Strict";
  if (Lower(request.scheme) == "https") header += "; Secure";
  return header;
}

HttpResponse NoContent() {
  HttpResponse response;
  response.status = 204;
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

HttpResponse Unauthorized(std::string message) {
  HttpResponse response =
      ErrorResponse(Status::Error(Status::Code::kUnauthenticated, "unauthorized", message));
  response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

// POST /api/session {"token": "…"} and DELETE /api/session.
HttpResponse Session(const Config& config, const HttpRequest& request, int64_t now) {
  if (request.method == "DELETE") {
    HttpResponse response = NoContent();
    response.headers.emplace_back("Set-Cookie", SessionCookieHeader(request, "", 0));
    return response;
  }
  if (request.method != "POST") {
    HttpResponse response = ErrorResponse(
        Status::Error(Status::Code::kMethodNotAllowed, "method_not_allowed",
                      "method " + request.method + " is not allowed here; allowed: POST, DELETE",
                      {{"allow", "POST, DELETE"}}));
    response.headers.emplace_back("Allow", "POST, DELETE");
    return response;
  }
  rapidjson::Document doc;
  // Iterative: no recursion, whatever the nesting.
  doc.Parse<rapidjson::kParseIterativeFlag>(request.body.data(), request.body.size());
  const rapidjson::Value* token = nullptr;
  if (!doc.HasParseError() && doc.IsObject()) {
    const auto it = doc.FindMember("token");
    if (it != doc.MemberEnd() && it->value.IsString()) token = &it->value;
  }
  if (!token) {
    return ErrorResponse(Status::Error(
        Status::Code::kInvalidArgument, "invalid_json",
        "the body must be a JSON object {\"token\": \"<API token>\"}", {{"parameter", "token"}}));
  }
  const std::optional<std::string>& configured = config.api_token.value;
  if (!configured || configured->empty()) return NoContent();  // open mode: nothing to sign in to
  if (!ConstantTimeEquals(std::string_view(token->GetString(), token->GetStringLength()),
                          *configured)) {
    return Unauthorized("wrong API token");
  }
  const int64_t expires_at = now + kSessionLifetimeSeconds;
  HttpResponse response = NoContent();
  response.headers.emplace_back(
      "Set-Cookie", SessionCookieHeader(request, SignSessionCookie(*configured, expires_at),
                                        kSessionLifetimeSeconds));
  return response;
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH];
  unsigned char db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

std::string SignSessionCookie(std::string_view token, int64_t expires_at) {
  return std::string(kCookieVersion) + "." + std::to_string(expires_at) + "." +
         CookieMac(token, expires_at);
}

bool VerifySessionCookie(std::string_view token, std::string_view value, int64_t now) {
  if (token.empty()) return false;
  value = Trim(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  if (!value.starts_with(kCookieVersion) || value.size() <= kCookieVersion.size() ||
      value[kCookieVersion.size()] != '.') {
    return false;
  }
  value.remove_prefix(kCookieVersion.size() + 1);
  const size_t dot = value.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 18) return false;
  const std::string_view expiry_text = value.substr(0, dot);
  for (const char c : expiry_text) {
    if (c < '0' || c > '9') return false;
  }
  int64_t expires_at = 0;
  const auto [end, ec] =
      std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), expires_at);
  if (ec != std::errc() || end != expiry_text.data() + expiry_text.size()) return false;
  const bool mac_ok = ConstantTimeEquals(value.substr(dot + 1), CookieMac(token, expires_at));
  return mac_ok && now < expires_at;
}

std::vector<std::string_view> CookieValues(std::string_view header, std::string_view name) {
  std::vector<std::string_view> values;
  while (!header.empty()) {
    const size_t semi = header.find(';');
    const std::string_view pair = Trim(header.substr(0, semi));
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && Trim(pair.substr(0, eq)) == name) {
      values.push_back(Trim(pair.substr(eq + 1)));
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return values;
}

bool HasValidCredentials(std::string_view token, const Credentials& credentials, int64_t now) {
  if (token.empty()) return false;
  if (credentials.authorization) {
    const std::string_view value = Trim(*credentials.authorization);
    const size_t space = value.find_first_of(" \t");
    if (space != std::string_view::npos && Lower(value.substr(0, space)) == "bearer" &&
        ConstantTimeEquals(Trim(value.substr(space + 1)), token)) {
      return true;
    }
  }
  if (credentials.api_key && ConstantTimeEquals(Trim(*credentials.api_key), token)) return true;
  if (credentials.cookie) {
    for (const std::string_view value : CookieValues(*credentials.cookie, kSessionCookieName)) {
      if (VerifySessionCookie(token, value, now)) return true;
    }
  }
  return false;
}

Credentials CredentialsOf(const HttpRequest& request) {
  return Credentials{request.Header("authorization"), request.Header("x-api-key"),
                     request.Header("cookie")};
}

HttpResponse UnauthorizedResponse() { return Unauthorized(std::string(kUnauthorizedMessage)); }

std::string OwnOrigin(const HttpRequest& request) {
  const std::string* host_header = request.Header("host");
  if (!host_header) return "";
  const std::string host = Lower(Trim(*host_header));
  if (host.empty()) return "";
  const std::string scheme = Lower(request.scheme) == "https" ? "https" : "http";
  // "[::1]" and "host" have no port; "[::1]:8001" and "host:8001" do.
  const size_t bracket = host.rfind(']');
  const size_t colon = host.rfind(':');
  const bool has_port =
      colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
  std::string origin = scheme + "://" + host;
  if (!has_port && !request.server_port.empty()) origin += ":" + request.server_port;
  return NormalizeOrigin(origin);
}

std::optional<HttpResponse> CheckCrossSite(const HttpRequest& request,
                                           const std::vector<std::string>& allowed_origins) {
  if (auto refused = CrossOrigin(request, allowed_origins)) return refused;
  return BrowserContentType(request);
}

AccessDecision CheckAccess(const Config& config, const HttpRequest& request,
                           const std::vector<std::string>& seg, int64_t now) {
  // Webhooks are authenticated by their signature alone (SPEC §7).
  if (seg.size() >= 2 && seg[0] == "api" && seg[1] == "webhooks") return {};
  if (auto refused = CrossOrigin(request, config.api_allowed_origins.value)) {
    return {std::move(refused), false};
  }
  const bool session = seg.size() == 2 && seg[0] == "api" && seg[1] == "session";
  const std::optional<std::string>& token = config.api_token.value;
  bool health_only = false;
  if (!session && token && !token->empty() &&
      !HasValidCredentials(*token, CredentialsOf(request), now)) {
    const bool health = seg.size() == 3 && seg[0] == "api" && seg[1] == "cloud" &&
                        seg[2] == "health" && IsRead(request.method);
    if (!health) return {UnauthorizedResponse(), false};
    health_only = true;
  }
  if (auto refused = BrowserContentType(request)) return {std::move(refused), false};
  if (session) return {Session(config, request, now), false};
  return {std::nullopt, health_only};
}

void ReduceHealth(HttpResponse* response) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(response->body.data(), response->body.size());
  bool ok = false;
  if (!doc.HasParseError() && doc.IsObject()) {
    const auto it = doc.FindMember("status");
    ok = it != doc.MemberEnd() && it->value.IsString() &&
         std::string_view(it->value.GetString()) == "ok";
  }
  response->body = ok ? R"({"status":"ok"})" : R"({"status":"degraded"})";
}

}  // namespace jobpulse
