// Unit tests for lib/access.h (SPEC §11): the token's three forms, the session
// cookie, the cross-site and content-type rules, and the same rules through
// Api::Handle over a real SQLite store with a fixed clock.
#include "lib/access.h"

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/api.h"
#include "lib/config.h"
#include "lib/http.h"
#include "lib/state_machine.h"
#include "lib/store.h"

namespace jobpulse {
namespace {

constexpr const char* kToken = "tok_0123456789abcdefXYZ";
constexpr int64_t kNowSeconds = 1795860000;  // 2026-11-28T10:00:00Z
constexpr const char* kUnauthorizedBody =
    R"({"error":"unauthorized","message":"this jobpulse needs its API token: send )"
    R"(Authorization: Bearer <token> or X-API-Key: <token>, or sign in with POST /api/session"})";

std::string HeaderOr(const HttpResponse& r, std::string_view name) {
  const std::string* value = r.Header(name);
  return value ? *value : "(absent)";
}

HttpRequest Request(std::string method, std::string path,
                    std::vector<std::pair<std::string, std::string>> headers = {},
                    std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers = std::move(headers);
  r.body = std::move(body);
  r.server_port = "8001";
  return r;
}

Credentials Creds(const std::string* authorization, const std::string* api_key,
                  const std::string* cookie) {
  return Credentials{authorization, api_key, cookie};
}

// --- constant-time comparison ---------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(access)

BOOST_AUTO_TEST_CASE(constant_time_equals_is_plain_equality) {
  BOOST_TEST(ConstantTimeEquals("abc", "abc"));
  BOOST_TEST(ConstantTimeEquals("", ""));
  BOOST_TEST(!ConstantTimeEquals("abc", "abd"));
  BOOST_TEST(!ConstantTimeEquals("abc", "ab"));
  BOOST_TEST(!ConstantTimeEquals("ab", "abc"));
  BOOST_TEST(!ConstantTimeEquals("", "a"));
  BOOST_TEST(!ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  BOOST_TEST(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  BOOST_TEST(!ConstantTimeEquals(std::string_view("a\0b", 3), "a"));
}

// --- the session cookie ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(cookie_is_versioned_expiry_and_hex_mac_without_the_token) {
  const std::string cookie = SignSessionCookie(kToken, kNowSeconds + 100);
  const std::string prefix = "v1." + std::to_string(kNowSeconds + 100) + ".";
  BOOST_TEST(cookie.substr(0, prefix.size()) == prefix);
  const std::string mac = cookie.substr(prefix.size());
  BOOST_TEST(mac.size() == 64u);
  BOOST_TEST(mac.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(cookie.find(kToken) == std::string::npos);
  BOOST_TEST(cookie.find("tok_") == std::string::npos);
  // Deterministic for the same token and expiry; another token signs differently.
  BOOST_TEST(SignSessionCookie(kToken, kNowSeconds + 100) == cookie);
  BOOST_TEST(SignSessionCookie("another-token-0123456789", kNowSeconds + 100) != cookie);
}

BOOST_AUTO_TEST_CASE(cookie_is_valid_until_its_expiry) {
  const std::string cookie = SignSessionCookie(kToken, kNowSeconds + 100);
  BOOST_TEST(VerifySessionCookie(kToken, cookie, kNowSeconds));
  BOOST_TEST(VerifySessionCookie(kToken, cookie, kNowSeconds + 99));
  BOOST_TEST(!VerifySessionCookie(kToken, cookie, kNowSeconds + 100));
  BOOST_TEST(!VerifySessionCookie(kToken, cookie, kNowSeconds + 10000));
  // Quoted cookie values are unquoted.
  BOOST_TEST(VerifySessionCookie(kToken, "\"" + cookie + "\"", kNowSeconds));
}

BOOST_AUTO_TEST_CASE(cookie_for_another_token_or_tampered_is_refused) {
  const std::string cookie = SignSessionCookie(kToken, kNowSeconds + 100);
  BOOST_TEST(!VerifySessionCookie("another-token-0123456789", cookie, kNowSeconds));
  BOOST_TEST(!VerifySessionCookie("", cookie, kNowSeconds));
  // A later expiry with the old MAC.
  std::string later = cookie;
  later.replace(3, std::to_string(kNowSeconds + 100).size(), std::to_string(kNowSeconds + 900));
  BOOST_TEST(!VerifySessionCookie(kToken, later, kNowSeconds));
  // One MAC digit changed.
  std::string flipped = cookie;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  BOOST_TEST(!VerifySessionCookie(kToken, flipped, kNowSeconds));
  // Truncated, wrong version, junk.
  BOOST_TEST(!VerifySessionCookie(kToken, cookie.substr(0, cookie.size() - 1), kNowSeconds));
  BOOST_TEST(!VerifySessionCookie(kToken, "v2" + cookie.substr(2), kNowSeconds));
  BOOST_TEST(!VerifySessionCookie(kToken, "", kNowSeconds));
  BOOST_TEST(!VerifySessionCookie(kToken, "v1.", kNowSeconds));
  BOOST_TEST(!VerifySessionCookie(kToken, "v1.-5." + cookie.substr(cookie.rfind('.') + 1),
                                  kNowSeconds - 10));
  BOOST_TEST(!VerifySessionCookie(kToken, kToken, kNowSeconds));
}

BOOST_AUTO_TEST_CASE(cookie_values_are_found_among_others) {
  const auto values =
      CookieValues("a=1; jobpulse_session=x.y ;b=2;jobpulse_session=z", "jobpulse_session");
  BOOST_TEST_REQUIRE(values.size() == 2u);
  BOOST_TEST(values[0] == "x.y");
  BOOST_TEST(values[1] == "z");
  BOOST_TEST(CookieValues("xjobpulse_session=1; jobpulse_sessionx=2", "jobpulse_session").empty());
  BOOST_TEST(CookieValues("", "jobpulse_session").empty());
}

// --- the token's three forms ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bearer_header_carries_the_token) {
  for (const std::string& good : {std::string("Bearer ") + kToken, std::string("bearer ") + kToken,
                                  std::string("BEARER   ") + kToken + "  "}) {
    BOOST_TEST(HasValidCredentials(kToken, Creds(&good, nullptr, nullptr), kNowSeconds), good);
  }
  for (const std::string& bad :
       {std::string(kToken), std::string("Basic ") + kToken, std::string("Bearer"),
        std::string("Bearer ") + kToken + "x",
        std::string("Bearer ") + std::string(kToken).substr(1), std::string("Bearer ")}) {
    BOOST_TEST(!HasValidCredentials(kToken, Creds(&bad, nullptr, nullptr), kNowSeconds), bad);
  }
}

BOOST_AUTO_TEST_CASE(x_api_key_carries_the_token) {
  const std::string good = kToken;
  const std::string spaced = std::string(" ") + kToken + " ";
  const std::string bad = std::string(kToken) + "0";
  const std::string bearer_form = std::string("Bearer ") + kToken;
  BOOST_TEST(HasValidCredentials(kToken, Creds(nullptr, &good, nullptr), kNowSeconds));
  BOOST_TEST(HasValidCredentials(kToken, Creds(nullptr, &spaced, nullptr), kNowSeconds));
  BOOST_TEST(!HasValidCredentials(kToken, Creds(nullptr, &bad, nullptr), kNowSeconds));
  BOOST_TEST(!HasValidCredentials(kToken, Creds(nullptr, &bearer_form, nullptr), kNowSeconds));
  BOOST_TEST(!HasValidCredentials(kToken, Creds(nullptr, nullptr, nullptr), kNowSeconds));
}

BOOST_AUTO_TEST_CASE(session_cookie_carries_the_token_until_it_expires) {
  const std::string header =
      "theme=dark; jobpulse_session=" + SignSessionCookie(kToken, kNowSeconds + 60) + "; x=1";
  BOOST_TEST(HasValidCredentials(kToken, Creds(nullptr, nullptr, &header), kNowSeconds));
  BOOST_TEST(!HasValidCredentials(kToken, Creds(nullptr, nullptr, &header), kNowSeconds + 60));
  // The token itself is not a cookie.
  const std::string raw = std::string("jobpulse_session=") + kToken;
  BOOST_TEST(!HasValidCredentials(kToken, Creds(nullptr, nullptr, &raw), kNowSeconds));
  // A stale cookie next to a good one: the good one counts.
  const std::string two = "jobpulse_session=" + SignSessionCookie(kToken, kNowSeconds - 1) +
                          "; jobpulse_session=" + SignSessionCookie(kToken, kNowSeconds + 5);
  BOOST_TEST(HasValidCredentials(kToken, Creds(nullptr, nullptr, &two), kNowSeconds));
}

BOOST_AUTO_TEST_CASE(wrong_form_does_not_hide_a_right_one_and_empty_token_never_matches) {
  const std::string wrong = "Bearer nope-nope-nope-nope";
  const std::string key = kToken;
  BOOST_TEST(HasValidCredentials(kToken, Creds(&wrong, &key, nullptr), kNowSeconds));
  const std::string empty_bearer = "Bearer ";
  const std::string empty;
  BOOST_TEST(!HasValidCredentials("", Creds(&empty_bearer, &empty, &empty), kNowSeconds));
}

// --- origins and the cross-site rules -------------------------------------------------------

BOOST_AUTO_TEST_CASE(own_origin_is_scheme_host_and_port) {
  HttpRequest r = Request("POST", "/api/x", {{"host", "127.0.0.1"}});
  BOOST_TEST(OwnOrigin(r) == "http://127.0.0.1:8001");
  r.headers = {{"host", "LocalHost:9000"}};
  BOOST_TEST(OwnOrigin(r) == "http://localhost:9000");
  r.headers = {{"host", "[::1]"}};
  BOOST_TEST(OwnOrigin(r) == "http://[::1]:8001");
  r.headers = {{"host", "[::1]:8002"}};
  BOOST_TEST(OwnOrigin(r) == "http://[::1]:8002");
  r.headers = {{"host", "jobs.example.com"}};
  r.scheme = "https";
  r.server_port = "443";
  BOOST_TEST(OwnOrigin(r) == "https://jobs.example.com");
  r.scheme = "http";
  r.server_port = "80";
  BOOST_TEST(OwnOrigin(r) == "http://jobs.example.com");
  r.headers = {};
  BOOST_TEST(OwnOrigin(r) == "");
}

BOOST_AUTO_TEST_CASE(cross_site_fetch_metadata_is_refused_for_every_state_change) {
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    const auto refused =
        CheckCrossSite(Request(method, "/api/cloud/jobs/j/cancel",
                               {{"host", "127.0.0.1"}, {"sec-fetch-site", "cross-site"}}),
                       {});
    BOOST_TEST_REQUIRE(refused.has_value(), method);
    BOOST_TEST(refused->status == 403);
    BOOST_TEST(refused->body ==
               R"({"error":"cross_origin","message":"requests from another site may not change )"
               R"(anything here","details":{"sec_fetch_site":"cross-site"}})");
  }
  // Reads are not held to it; same-site and same-origin requests pass.
  BOOST_TEST(
      !CheckCrossSite(Request("GET", "/api/cloud/jobs", {{"sec-fetch-site", "cross-site"}}), {}));
  BOOST_TEST(!CheckCrossSite(
      Request("POST", "/api/x", {{"host", "127.0.0.1"}, {"sec-fetch-site", "same-origin"}}), {}));
  BOOST_TEST(!CheckCrossSite(
      Request("POST", "/api/x", {{"host", "127.0.0.1"}, {"sec-fetch-site", "same-site"}}), {}));
  BOOST_TEST(!CheckCrossSite(
      Request("POST", "/api/x", {{"host", "127.0.0.1"}, {"sec-fetch-site", "none"}}), {}));
}

BOOST_AUTO_TEST_CASE(origin_must_be_the_own_one_or_listed) {
  const auto check = [](const std::string& origin, std::vector<std::string> allowed = {}) {
    return CheckCrossSite(
        Request("POST", "/api/cloud/jobs/sync", {{"host", "127.0.0.1"}, {"origin", origin}}),
        allowed);
  };
  BOOST_TEST(!check("http://127.0.0.1:8001"));
  BOOST_TEST(!check("HTTP://127.0.0.1:8001"));
  const auto other_port = check("http://127.0.0.1:8002");
  BOOST_TEST_REQUIRE(other_port.has_value());
  BOOST_TEST(other_port->status == 403);
  BOOST_TEST(other_port->body ==
             R"({"error":"cross_origin","message":"requests from origin http://127.0.0.1:8002 )"
             R"(may not change anything here; list it in api.allowed_origins to allow it",)"
             R"("details":{"origin":"http://127.0.0.1:8002"}})");
  BOOST_TEST(check("https://127.0.0.1:8001").has_value());  // another scheme
  BOOST_TEST(check("http://localhost:8001").has_value());   // another host
  BOOST_TEST(check("null").has_value());
  BOOST_TEST(check("").has_value());
  BOOST_TEST(check("http://evil.example").has_value());
  // Listed origins pass, default ports compared as browsers send them.
  BOOST_TEST(!check("http://127.0.0.1:8002", {"http://127.0.0.1:8002"}));
  BOOST_TEST(!check("https://jobs.example.com", {"https://jobs.example.com:443"}));
  BOOST_TEST(check("https://jobs.example.com.evil", {"https://jobs.example.com"}).has_value());
  // Sec-Fetch-Site: cross-site wins over a listed origin (no CORS here).
  const auto both = CheckCrossSite(Request("POST", "/api/x",
                                           {{"host", "127.0.0.1"},
                                            {"origin", "http://127.0.0.1:8002"},
                                            {"sec-fetch-site", "cross-site"}}),
                                   {"http://127.0.0.1:8002"});
  BOOST_TEST_REQUIRE(both.has_value());
  BOOST_TEST(both->status == 403);
}

BOOST_AUTO_TEST_CASE(browser_bodies_must_be_json_but_curl_is_not_held_to_it) {
  const auto check = [](std::vector<std::pair<std::string, std::string>> headers,
                        std::string body = "{}") {
    headers.emplace_back("host", "127.0.0.1");
    return CheckCrossSite(Request("POST", "/api/cloud/jobs/sync", headers, body), {});
  };
  const auto plain = check({{"origin", "http://127.0.0.1:8001"}, {"content-type", "text/plain"}});
  BOOST_TEST_REQUIRE(plain.has_value());
  BOOST_TEST(plain->status == 415);
  BOOST_TEST(
      plain->body ==
      R"({"error":"unsupported_media_type","message":"a request body from a browser must )"
      R"(be sent as Content-Type: application/json","details":{"content_type":"text/plain"}})");
  const auto form = check(
      {{"sec-fetch-site", "same-origin"}, {"content-type", "application/x-www-form-urlencoded"}});
  BOOST_TEST_REQUIRE(form.has_value());
  BOOST_TEST(form->status == 415);
  const auto none = check({{"sec-fetch-site", "same-origin"}});
  BOOST_TEST_REQUIRE(none.has_value());
  BOOST_TEST(none->status == 415);
  BOOST_TEST(!check({{"origin", "http://127.0.0.1:8001"}, {"content-type", "application/json"}}));
  BOOST_TEST(!check(
      {{"sec-fetch-site", "same-origin"}, {"content-type", "Application/JSON; charset=utf-8"}}));
  // No body: nothing to label.
  BOOST_TEST(!check({{"origin", "http://127.0.0.1:8001"}, {"content-type", "text/plain"}}, ""));
  // curl: neither Origin nor Sec-Fetch-Site.
  BOOST_TEST(!check({{"content-type", "text/plain"}}));
  BOOST_TEST(!check({}));
}

BOOST_AUTO_TEST_CASE(health_is_reduced_to_ok_or_degraded) {
  HttpResponse ok = JsonResponse(R"({"components":{"database":{"status":"ok"}},"status":"ok"})");
  ReduceHealth(&ok);
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.body == R"({"status":"ok"})");
  HttpResponse down = JsonResponse(R"({"components":{},"status":"unhealthy"})", 503);
  ReduceHealth(&down);
  BOOST_TEST(down.status == 503);
  BOOST_TEST(down.body == R"({"status":"degraded"})");
  HttpResponse junk = JsonResponse("not json", 500);
  ReduceHealth(&junk);
  BOOST_TEST(junk.body == R"({"status":"degraded"})");
}

BOOST_AUTO_TEST_SUITE_END()

// --- through Api::Handle --------------------------------------------------------------------

struct AccessApiFixture {
  AccessApiFixture() {
    dir = (std::filesystem::temp_directory_path() / "jobpulse_access_test_XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(dir.data()) != nullptr);
    auto opened = Store::Open(dir + "/jobpulse.db");
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    store = std::move(*opened);
    prices.per_second = config.replicate.hardware_prices.value;
    prices.default_sku = config.replicate.default_hardware.value;
    // One terminal job to delete.
    Observation obs;
    obs.job_id = "done-1";
    obs.provider = "replicate";
    obs.external_id = "done-1";
    obs.provider_status = "succeeded";
    obs.created_at = (kNowSeconds - 3600) * 1000000;
    obs.completed_at = (kNowSeconds - 600) * 1000000;
    BOOST_REQUIRE(store->Apply(obs, prices, kNowSeconds * int64_t{1000000}).ok());
  }
  ~AccessApiFixture() {
    api.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  Api& WithToken(std::optional<std::string> token) {
    Config c = config;
    c.api_token.value = std::move(token);
    api = std::make_unique<Api>(
        c, [this]() -> Result<Store*> { return store.get(); },
        [this] { return now * int64_t{1000000}; });
    return *api;
  }

  bool JobExists(const std::string& id) {
    auto job = store->GetJob(id);
    BOOST_REQUIRE(job.ok());
    return job->has_value();
  }

  std::string dir;
  std::unique_ptr<Store> store;
  Config config;
  PriceTable prices;
  int64_t now = kNowSeconds;
  std::unique_ptr<Api> api;
};

BOOST_AUTO_TEST_SUITE(access_api)

BOOST_FIXTURE_TEST_CASE(without_a_token_everything_is_open, AccessApiFixture) {
  Api& a = WithToken(std::nullopt);
  BOOST_TEST(a.Handle(Request("GET", "/api/cloud/jobs")).status == 200);
  const HttpResponse health = a.Handle(Request("GET", "/api/cloud/health"));
  BOOST_TEST(health.status == 200);
  BOOST_TEST(health.body.find("\"components\"") != std::string::npos, health.body);
  // Sign-in has nothing to do: 204, no cookie.
  const HttpResponse session =
      a.Handle(Request("POST", "/api/session", {{"content-type", "application/json"}},
                       R"({"token":"whatever-it-is-000"})"));
  BOOST_TEST(session.status == 204);
  BOOST_TEST(session.body == "");
  BOOST_TEST(HeaderOr(session, "Set-Cookie") == "(absent)");
}

BOOST_FIXTURE_TEST_CASE(with_a_token_requests_without_it_get_401, AccessApiFixture) {
  Api& a = WithToken(kToken);
  for (const char* path : {"/api/cloud/jobs", "/api/cloud/jobs/done-1", "/api/cloud/metrics",
                           "/api/cloud/metrics/prometheus", "/api/cloud/polling/status",
                           "/api/queue", "/api/queue/stats", "/api/events", "/api/nothing-here",
                           "/api//cloud/jobs", "/api/%63loud/jobs"}) {
    const HttpResponse r = a.Handle(Request("GET", path));
    BOOST_TEST(r.status == 401, path);
    BOOST_TEST(r.body == kUnauthorizedBody, path);
    BOOST_TEST(HeaderOr(r, "WWW-Authenticate") == "Bearer", path);
  }
  const HttpResponse del = a.Handle(Request("DELETE", "/api/cloud/jobs/done-1"));
  BOOST_TEST(del.status == 401);
  BOOST_TEST(JobExists("done-1"));
  const HttpResponse wrong = a.Handle(
      Request("GET", "/api/cloud/jobs", {{"authorization", "Bearer wrong-token-0123456789"}}));
  BOOST_TEST(wrong.status == 401);
}

BOOST_FIXTURE_TEST_CASE(with_a_token_each_form_is_accepted, AccessApiFixture) {
  Api& a = WithToken(kToken);
  const HttpResponse bearer = a.Handle(
      Request("GET", "/api/cloud/jobs", {{"authorization", std::string("Bearer ") + kToken}}));
  BOOST_TEST(bearer.status == 200);
  BOOST_TEST(bearer.body.find("\"done-1\"") != std::string::npos);
  BOOST_TEST(a.Handle(Request("GET", "/api/cloud/jobs", {{"x-api-key", kToken}})).status == 200);
  const HttpResponse cookie = a.Handle(
      Request("GET", "/api/cloud/jobs",
              {{"cookie", "jobpulse_session=" + SignSessionCookie(kToken, kNowSeconds + 10)}}));
  BOOST_TEST(cookie.status == 200);
  const HttpResponse del =
      a.Handle(Request("DELETE", "/api/cloud/jobs/done-1", {{"x-api-key", kToken}}));
  BOOST_TEST(del.status == 200);
  BOOST_TEST(del.body == R"({"success":true,"job_id":"done-1"})");
  BOOST_TEST(!JobExists("done-1"));
  // A scraper sends the token like any client.
  const HttpResponse scrape =
      a.Handle(Request("GET", "/api/cloud/metrics/prometheus",
                       {{"authorization", std::string("Bearer ") + kToken}}));
  BOOST_TEST(scrape.status == 200);
  BOOST_TEST(HeaderOr(scrape, "Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  BOOST_TEST(scrape.body.find("# TYPE jobpulse_worker_up gauge\n") != std::string::npos);
  BOOST_TEST(scrape.body.find(kToken) == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(sign_in_sets_a_strict_http_only_cookie, AccessApiFixture) {
  Api& a = WithToken(kToken);
  HttpRequest sign_in = Request("POST", "/api/session",
                                {{"host", "127.0.0.1"},
                                 {"origin", "http://127.0.0.1:8001"},
                                 {"content-type", "application/json"}},
                                std::string(R"({"token":")") + kToken + R"("})");
  const HttpResponse r = a.Handle(sign_in);
  BOOST_TEST(r.status == 204);
  BOOST_TEST(r.body == "");
  BOOST_TEST(HeaderOr(r, "Cache-Control") == "no-store");
  const std::string value = SignSessionCookie(kToken, kNowSeconds + kSessionLifetimeSeconds);
  BOOST_TEST(HeaderOr(r, "Set-Cookie") ==
             "jobpulse_session=" + value +
                 "; Max-Age=604800; Path=/api; HttpOnly; SameSite=Strict");
  BOOST_TEST(HeaderOr(r, "Set-Cookie").find(kToken) == std::string::npos);

  // Over https it is also Secure.
  sign_in.scheme = "https";
  sign_in.server_port = "443";
  sign_in.headers = {{"host", "jobs.example.com"},
                     {"origin", "https://jobs.example.com"},
                     {"content-type", "application/json"}};
  BOOST_TEST(HeaderOr(a.Handle(sign_in), "Set-Cookie") ==
             "jobpulse_session=" + value +
                 "; Max-Age=604800; Path=/api; HttpOnly; SameSite=Strict; Secure");

  // The cookie opens the API for a week.
  const HttpRequest with_cookie =
      Request("GET", "/api/cloud/jobs", {{"cookie", "jobpulse_session=" + value}});
  BOOST_TEST(a.Handle(with_cookie).status == 200);
  now += kSessionLifetimeSeconds - 1;
  BOOST_TEST(a.Handle(with_cookie).status == 200);
  now += 1;
  BOOST_TEST(a.Handle(with_cookie).status == 401);
}

BOOST_FIXTURE_TEST_CASE(sign_in_with_a_wrong_token_or_body_is_refused, AccessApiFixture) {
  Api& a = WithToken(kToken);
  const HttpResponse wrong =
      a.Handle(Request("POST", "/api/session", {}, R"({"token":"not-the-token-000000"})"));
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST(wrong.body == R"({"error":"unauthorized","message":"wrong API token"})");
  BOOST_TEST(HeaderOr(wrong, "WWW-Authenticate") == "Bearer");
  BOOST_TEST(HeaderOr(wrong, "Set-Cookie") == "(absent)");
  for (const char* body : {"", "{", "[]", R"({"token":5})", R"({"tok":"x"})",
                           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}) {
    const HttpResponse r = a.Handle(Request("POST", "/api/session", {}, body));
    BOOST_TEST(r.status == 400, body);
    BOOST_TEST(r.body == R"({"error":"invalid_json","message":"the body must be a JSON object )"
                         R"({\"token\": \"<API token>\"}","details":{"parameter":"token"}})",
               body);
  }
  const HttpResponse get = a.Handle(Request("GET", "/api/session"));
  BOOST_TEST(get.status == 405);
  BOOST_TEST(HeaderOr(get, "Allow") == "POST, DELETE");
}

BOOST_FIXTURE_TEST_CASE(sign_out_expires_the_cookie, AccessApiFixture) {
  Api& a = WithToken(kToken);
  const HttpResponse r = a.Handle(Request("DELETE", "/api/session"));
  BOOST_TEST(r.status == 204);
  BOOST_TEST(HeaderOr(r, "Set-Cookie") ==
             "jobpulse_session=; Max-Age=0; Path=/api; HttpOnly; SameSite=Strict");
}

BOOST_FIXTURE_TEST_CASE(health_stays_open_but_says_only_ok, AccessApiFixture) {
  Api& a = WithToken(kToken);
  const HttpResponse open = a.Handle(Request("GET", "/api/cloud/health"));
  BOOST_TEST(open.status == 200);
  BOOST_TEST(open.body == R"({"status":"ok"})");
  const HttpResponse full = a.Handle(Request("GET", "/api/cloud/health", {{"x-api-key", kToken}}));
  BOOST_TEST(full.status == 200);
  BOOST_TEST(full.body.find("\"components\"") != std::string::npos, full.body);
  // Health takes reads only; a POST to it is not open.
  BOOST_TEST(a.Handle(Request("POST", "/api/cloud/health")).status == 401);
}

BOOST_FIXTURE_TEST_CASE(webhooks_need_their_signature_only, AccessApiFixture) {
  Api& a = WithToken(kToken);
  // Cross-site, text/plain and no token: the signature check answers, not §11.
  const HttpResponse r = a.Handle(Request("POST", "/api/webhooks/replicate",
                                          {{"sec-fetch-site", "cross-site"},
                                           {"origin", "http://evil.example"},
                                           {"content-type", "text/plain"}},
                                          "{}"));
  BOOST_TEST(r.status == 401);
  BOOST_TEST(r.body.find(R"("error":"invalid_signature")") != std::string::npos, r.body);
  BOOST_TEST(HeaderOr(r, "WWW-Authenticate") == "(absent)");
}

BOOST_FIXTURE_TEST_CASE(cross_site_state_changes_are_refused_in_both_modes, AccessApiFixture) {
  for (const std::optional<std::string>& token :
       {std::optional<std::string>(), std::optional<std::string>(kToken)}) {
    Api& a = WithToken(token);
    // Even with the token: a browser on another site must not act with it.
    const HttpResponse r = a.Handle(
        Request("DELETE", "/api/cloud/jobs/done-1",
                {{"host", "127.0.0.1"}, {"sec-fetch-site", "cross-site"}, {"x-api-key", kToken}}));
    BOOST_TEST(r.status == 403);
    BOOST_TEST(r.body.find(R"("error":"cross_origin")") != std::string::npos, r.body);
    BOOST_TEST(JobExists("done-1"));
    const HttpResponse origin = a.Handle(Request(
        "POST", "/api/cloud/jobs/done-1/cancel",
        {{"host", "127.0.0.1"}, {"origin", "http://evil.example"}, {"content-type", "text/plain"}},
        "x"));
    BOOST_TEST(origin.status == 403);
    // The sign-in too (no login CSRF).
    BOOST_TEST(a.Handle(Request("POST", "/api/session",
                                {{"host", "127.0.0.1"}, {"origin", "http://evil.example"}},
                                std::string(R"({"token":")") + kToken + R"("})"))
                   .status == 403);
  }
}

BOOST_FIXTURE_TEST_CASE(browser_text_bodies_get_415_after_the_token_check, AccessApiFixture) {
  Api& a = WithToken(kToken);
  const std::vector<std::pair<std::string, std::string>> browser = {
      {"host", "127.0.0.1"}, {"origin", "http://127.0.0.1:8001"}, {"content-type", "text/plain"}};
  // No token: 401 first.
  BOOST_TEST(a.Handle(Request("POST", "/api/cloud/jobs/sync", browser, "{}")).status == 401);
  auto with_key = browser;
  with_key.emplace_back("x-api-key", kToken);
  const HttpResponse r = a.Handle(Request("POST", "/api/cloud/jobs/sync", with_key, "{}"));
  BOOST_TEST(r.status == 415);
  BOOST_TEST(r.body.find(R"("error":"unsupported_media_type")") != std::string::npos, r.body);
  // The sign-in is held to it as well.
  BOOST_TEST(a.Handle(Request("POST", "/api/session", browser,
                              std::string(R"({"token":")") + kToken + R"("})"))
                 .status == 415);
  // The same body from curl (no Origin, no Sec-Fetch-Site) goes through to the
  // endpoint (no provider configured here: 503).
  const HttpResponse curl =
      a.Handle(Request("POST", "/api/cloud/jobs/sync",
                       {{"content-type", "text/plain"}, {"x-api-key", kToken}}, "{}"));
  BOOST_TEST(curl.status == 503, curl.body);
  BOOST_TEST(curl.body.find("provider_not_configured") != std::string::npos, curl.body);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
