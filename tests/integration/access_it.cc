// Access control and browser safety (SPEC §11) through the real stack: nginx,
// the FastCGI pool and the worker's SSE server under supervisord, the
// simulator playing Replicate. Two suites, one per mode: `access_open` (no API
// token: everything answers as before; cross-site rules and the Host check
// still hold) and `access_token` (JOBPULSE_API_TOKEN set). The token suite
// records every answer it gets and ends by searching them and every log file of
// its stack for the API token, the webhook secret and the webhook signatures.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lib/job.h"
#include "lib/store.h"
#include "lib/timestamp.h"
#include "lib/webhook_signature.h"
#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"

namespace jobpulse {
namespace {

using testing::HttpResult;
using testing::Simulator;
using testing::Stack;

constexpr const char* kApiToken = "jp-it-token-4f2c9a7e1b3d5c6a8e0f";
constexpr const char* kWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kServerName = "jobs.jobpulse.test";
constexpr const char* kUnauthorizedBody =
    R"({"error":"unauthorized","message":"this jobpulse needs its API token: send )"
    R"(Authorization: Bearer <token> or X-API-Key: <token>, or sign in with POST /api/session"})";
constexpr const char* kMisdirectedBody =
    R"({"error":"misdirected_request","message":"this server does not answer for that Host; )"
    R"(use 127.0.0.1, localhost, [::1] or a name from listen.server_names"})"
    "\n";
constexpr const char* kBadRequestBody =
    R"({"error":"bad_request","message":"malformed HTTP request"})"
    "\n";
constexpr const char* kCrossSiteBody =
    R"({"error":"cross_origin","message":"requests from another site may not change )"
    R"(anything here","details":{"sec_fetch_site":"cross-site"}})";

// Every answer the token suite received (status line, headers, body), and
// every signature it sent, for the leak check at its end.
std::vector<std::string>& Seen() {
  static std::vector<std::string> seen;
  return seen;
}
std::vector<std::string>& SentSignatures() {
  static std::vector<std::string> sent;
  return sent;
}

void Record(long status, const std::map<std::string, std::string>& headers,
            const std::string& body) {
  std::string text = std::to_string(status) + "\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\n";
  Seen().push_back(text + "\n" + body);
}

struct AccessStack {
  static void Start(bool with_token) {
    testing::StackOptions options;
    options.with_worker = true;
    options.enterprise_yaml = std::string("listen:\n  server_names: [") + kServerName + "]\n";
    options.extra_env = {{"REPLICATE_WEBHOOK_SECRET", kWebhookSecret}};
    if (with_token) options.api_token = kApiToken;
    env.Start(options);
  }
  static void Stop() { env.Stop(); }
  static inline testing::SimulatedStack env;
};

struct OpenStack : AccessStack {
  OpenStack() { Start(false); }
  ~OpenStack() { Stop(); }
};

struct TokenStack : AccessStack {
  TokenStack() { Start(true); }
  ~TokenStack() { Stop(); }
};

Stack& TheStack() { return AccessStack::env.stack(); }
Simulator& Sim() { return AccessStack::env.sim(); }

// One request through nginx, recorded for the leak check.
HttpResult Call(const std::string& method, const std::string& path, const std::string& body = "",
                const std::vector<std::string>& headers = {}) {
  HttpResult r = testing::Http(method, TheStack().Url(path), body, headers);
  Record(r.status, r.headers, r.body);
  return r;
}

std::string BearerHeader() { return std::string("Authorization: Bearer ") + kApiToken; }
std::string KeyHeader() { return std::string("X-API-Key: ") + kApiToken; }

// The first moments of GET /api/events: the status, the headers and the body
// up to the "connected" message (or the whole body of a refusal).
struct EventsAnswer {
  long status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string Header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

size_t CollectEvents(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  body->append(data, size * n);
  // Enough seen: stop the stream (curl reports a write error, which is expected).
  return body->find("\"type\":\"connected\"") != std::string::npos ? 0 : size * n;
}

size_t CollectHeader(char* data, size_t size, size_t n, void* out) {
  const std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

EventsAnswer OpenEvents(const std::vector<std::string>& headers) {
  EventsAnswer answer;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  const std::string url = TheStack().Url("/api/events");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectEvents);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &answer.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  Record(answer.status, answer.headers, answer.body);
  return answer;
}

// Bytes sent as they are on a fresh connection to nginx; the whole answer (nginx
// closes after its 400s).
std::string Raw(const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  BOOST_TEST_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(TheStack().port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  BOOST_TEST_REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  BOOST_TEST_REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  Seen().push_back(out);
  return out;
}

std::string BodyOf(const std::string& raw) {
  const size_t end = raw.find("\r\n\r\n");
  return end == std::string::npos ? "" : raw.substr(end + 4);
}

void CreateRun(const std::string& id, const std::string& status) {
  Sim().Control("POST", "/runs",
                R"({"id":")" + id + R"(","status":")" + status +
                    R"(","model":"simpletuner/advanced-trainer-l40s","kind":"training"})");
}

std::string SimRunStatus(const std::string& id) {
  const auto doc = testing::Parse(Sim().Control("GET", "/runs/" + id));
  return doc["status"].GetString();
}

Job StoredJob(const std::string& id) {
  auto job = AccessStack::env.store().GetJob(id);
  BOOST_TEST_REQUIRE(job.ok(), job.status().ToString());
  BOOST_TEST_REQUIRE(job->has_value(), "no job " << id);
  return **job;
}

// The status events of one job in the event log (their JSON).
std::vector<std::string> StatusEvents(const std::string& id) {
  auto events = AccessStack::env.store().EventsAfter(0, 100000);
  BOOST_TEST_REQUIRE(events.ok(), events.status().ToString());
  std::vector<std::string> out;
  for (const auto& e : *events) {
    if (e.type == "job_status_changed" && e.job_id == id) {
      out.push_back(e.data);
    }
  }
  return out;
}

// Sync through nginx with `auth` headers; the run must become a job.
void SyncWith(const std::vector<std::string>& auth) {
  const HttpResult r = Call("POST", "/api/cloud/jobs/sync", "", auth);
  BOOST_TEST_REQUIRE(r.status == 200, "sync: " << r.status << " " << r.body);
}

// A cross-site, text/plain POST to cancel `id` is refused and changes nothing;
// the same cancel from curl then works (so the refusal was the rule, not a
// broken endpoint). `auth` are the credentials of the mode.
void CrossSiteCancelIsRefused(const std::string& id, const std::vector<std::string>& auth) {
  CreateRun(id, "processing");
  SyncWith(auth);
  const Job before = StoredJob(id);
  BOOST_TEST_REQUIRE(JobStatusName(before.status) == std::string("running"));
  const auto events_before = StatusEvents(id);

  std::vector<std::string> browser = auth;
  browser.insert(browser.end(), {"Content-Type: text/plain", "Origin: http://evil.example",
                                 "Sec-Fetch-Site: cross-site"});
  const HttpResult refused = Call("POST", "/api/cloud/jobs/" + id + "/cancel", "x", browser);
  BOOST_TEST(refused.status == 403);
  BOOST_TEST(refused.body == kCrossSiteBody);
  // Only Origin (an older browser): refused as well.
  const HttpResult origin_only = Call("POST", "/api/cloud/jobs/" + id + "/cancel", "{}", [&] {
    auto h = auth;
    h.insert(h.end(), {"Content-Type: application/json", "Origin: http://evil.example"});
    return h;
  }());
  BOOST_TEST(origin_only.status == 403);
  BOOST_TEST(origin_only.body.find(R"("error":"cross_origin")") != std::string::npos);

  const Job after = StoredJob(id);
  BOOST_TEST(JobStatusName(after.status) == std::string("running"));
  BOOST_TEST((after.completed_at == before.completed_at));
  BOOST_TEST((after.error_message == before.error_message));
  BOOST_TEST((StatusEvents(id) == events_before));
  BOOST_TEST(SimRunStatus(id) == "processing");  // no provider cancel either

  const HttpResult curl = Call("POST", "/api/cloud/jobs/" + id + "/cancel", "", auth);
  BOOST_TEST(curl.status == 200, curl.body);
  BOOST_TEST(curl.body == R"({"success":true,"job_id":")" + id + R"(","status":"cancelled"})");
  BOOST_TEST(JobStatusName(StoredJob(id).status) == std::string("cancelled"));
  BOOST_TEST(SimRunStatus(id) == "canceled");
}

// The Host check and nginx's own 400s, the same in both modes.
void HostCheckAndBadRequests() {
  for (const char* host : {"evil.example", "evil.example:80", "127.0.0.2", "jobpulse.test"}) {
    const HttpResult r = Call("GET", "/api/cloud/health", "", {std::string("Host: ") + host});
    BOOST_TEST(r.status == 421, host);
    BOOST_TEST(r.body == kMisdirectedBody, host);
    BOOST_TEST(r.Header("content-type") == "application/json", host);
  }
  // The page too.
  BOOST_TEST(Call("GET", "/", "", {"Host: evil.example"}).status == 421);
  for (const std::string& host :
       std::vector<std::string>{"127.0.0.1", "localhost", "[::1]", kServerName}) {
    const HttpResult r = Call("GET", "/api/cloud/health", "", {"Host: " + host});
    BOOST_TEST(r.status == 200, host << ": " << r.body);
  }
  // %00 in the path: nginx's own 400, in the envelope.
  for (const char* path : {"/api/cloud/jobs/%00", "/api/%00", "/%00"}) {
    const HttpResult r = Call("GET", path);
    BOOST_TEST(r.status == 400, path);
    BOOST_TEST(r.body == kBadRequestBody, path);
    BOOST_TEST(r.Header("content-type") == "application/json", path);
  }
  // A malformed request line.
  const std::string raw = Raw("GET /api/cloud/jobs HTTP/1.1 junk\r\nHost: 127.0.0.1\r\n\r\n");
  BOOST_TEST(raw.substr(0, 24) == "HTTP/1.1 400 Bad Request");
  BOOST_TEST(BodyOf(raw) == kBadRequestBody);
  const std::string bad_method = Raw("G\x01T /api/cloud/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  BOOST_TEST(bad_method.substr(0, 24) == "HTTP/1.1 400 Bad Request");
  BOOST_TEST(BodyOf(bad_method) == kBadRequestBody);
}

}  // namespace

// ---- the front end: what fcgi/main.cc hands the access check --------------------------------

// jobpulse-fcgi as plain CGI (RequestFrom is the same for FastCGI): the scheme
// from HTTPS / REQUEST_SCHEME, SERVER_PORT, and the HTTP_* headers the checks read.
BOOST_AUTO_TEST_CASE(front_end_passes_scheme_port_and_headers) {
  char dir_template[] = "/tmp/jobpulse-access-cgi-XXXXXX";
  BOOST_TEST_REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string sign_in = std::string(R"({"token":")") + kApiToken + R"("})";
  const auto run = [&](std::vector<std::pair<std::string, std::string>> env,
                       const std::string& body) {
    env.insert(env.end(), {{"JOBPULSE_DB", dir + "/cgi.db"},
                           {"JOBPULSE_API_TOKEN", kApiToken},
                           {"CONTENT_LENGTH", std::to_string(body.size())},
                           {"HTTP_HOST", "jobs.example.com"}});
    int exit_status = -1;
    const std::string out = testing::RunCgi(env, body, &exit_status);
    BOOST_TEST(exit_status == 0);
    return out;
  };
  const std::vector<std::pair<std::string, std::string>> https_sign_in = {
      {"REQUEST_METHOD", "POST"},
      {"REQUEST_URI", "/api/session"},
      {"CONTENT_TYPE", "application/json"},
      {"HTTP_ORIGIN", "https://jobs.example.com"},
      {"SERVER_PORT", "443"}};
  // HTTPS=on (nginx's $https): the cookie is Secure, and https://host is the own origin.
  auto env = https_sign_in;
  env.emplace_back("HTTPS", "on");
  std::string out = run(env, sign_in);
  BOOST_TEST(out.rfind("Status: 204 No Content\r\n", 0) == 0u, out);
  BOOST_TEST(out.find("; Path=/api; HttpOnly; SameSite=Strict; Secure\r\n") != std::string::npos,
             out);
  // REQUEST_SCHEME=https alone does the same.
  env = https_sign_in;
  env.emplace_back("REQUEST_SCHEME", "https");
  out = run(env, sign_in);
  BOOST_TEST(out.find("; SameSite=Strict; Secure\r\n") != std::string::npos, out);
  // Plain http on port 443: the https Origin is another origin.
  env = https_sign_in;
  env.emplace_back("REQUEST_SCHEME", "http");
  out = run(env, sign_in);
  BOOST_TEST(out.rfind("Status: 403 Forbidden\r\n", 0) == 0u, out);
  // Plain http on 8001 with its own Origin: a cookie without Secure.
  out = run({{"REQUEST_METHOD", "POST"},
             {"REQUEST_URI", "/api/session"},
             {"CONTENT_TYPE", "application/json"},
             {"HTTP_ORIGIN", "http://jobs.example.com:8001"},
             {"SERVER_PORT", "8001"}},
            sign_in);
  BOOST_TEST(out.rfind("Status: 204 No Content\r\n", 0) == 0u, out);
  BOOST_TEST(out.find("; Path=/api; HttpOnly; SameSite=Strict\r\n") != std::string::npos, out);
  const size_t at = out.find("Set-Cookie: ");
  BOOST_TEST_REQUIRE(at != std::string::npos, out);
  const std::string cookie = out.substr(at + 12, out.find(';', at) - at - 12);
  // Sec-Fetch-Site reaches the check.
  out = run({{"REQUEST_METHOD", "DELETE"},
             {"REQUEST_URI", "/api/session"},
             {"HTTP_SEC_FETCH_SITE", "cross-site"},
             {"SERVER_PORT", "8001"}},
            "");
  BOOST_TEST(out.rfind("Status: 403 Forbidden\r\n", 0) == 0u, out);
  // So do the three credentials.
  const std::vector<std::pair<std::string, std::string>> list = {
      {"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/api/cloud/jobs"}};
  BOOST_TEST(run(list, "").rfind("Status: 401 Unauthorized\r\n", 0) == 0u);
  for (const auto& credential : std::vector<std::pair<std::string, std::string>>{
           {"HTTP_AUTHORIZATION", std::string("Bearer ") + kApiToken},
           {"HTTP_X_API_KEY", kApiToken},
           {"HTTP_COOKIE", "theme=dark; " + cookie}}) {
    env = list;
    env.push_back(credential);
    out = run(env, "");
    BOOST_TEST(out.rfind("Status: 200 OK\r\n", 0) == 0u, credential.first << ": " << out);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// ---- without a token ----------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(access_open, *boost::unit_test::fixture<OpenStack>())

BOOST_AUTO_TEST_CASE(everything_answers_without_credentials) {
  CreateRun("acc-open-1", "processing");
  SyncWith({});
  const HttpResult list = Call("GET", "/api/cloud/jobs");
  BOOST_TEST(list.status == 200);
  BOOST_TEST(list.body.find("\"acc-open-1\"") != std::string::npos, list.body);
  BOOST_TEST(Call("GET", "/api/cloud/jobs/acc-open-1/inline-progress").status == 200);
  BOOST_TEST(Call("GET", "/api/cloud/metrics").status == 200);
  const HttpResult health = Call("GET", "/api/cloud/health");
  BOOST_TEST(health.status == 200);
  BOOST_TEST(health.body.find("\"components\"") != std::string::npos, health.body);
  const EventsAnswer events = OpenEvents({});
  BOOST_TEST(events.status == 200);
  BOOST_TEST(events.Header("content-type") == "text/event-stream");
  BOOST_TEST(events.body.find("\"type\":\"connected\"") != std::string::npos, events.body);
  // The sign-in has nothing to do: 204 and no cookie.
  const HttpResult session = Call("POST", "/api/session", R"({"token":"anything-at-all-0000"})",
                                  {"Content-Type: application/json"});
  BOOST_TEST(session.status == 204);
  BOOST_TEST(session.Header("set-cookie") == "");
}

BOOST_AUTO_TEST_CASE(same_origin_browser_requests_pass) {
  const std::string own = "http://127.0.0.1:" + std::to_string(TheStack().port());
  const HttpResult json =
      Call("POST", "/api/cloud/jobs/sync", R"({"provider":"replicate"})",
           {"Content-Type: application/json", "Origin: " + own, "Sec-Fetch-Site: same-origin"});
  BOOST_TEST(json.status == 200, json.body);
  const HttpResult plain = Call("POST", "/api/cloud/jobs/sync", R"({"provider":"replicate"})",
                                {"Content-Type: text/plain", "Origin: " + own});
  BOOST_TEST(plain.status == 415);
  BOOST_TEST(
      plain.body ==
      R"({"error":"unsupported_media_type","message":"a request body from a browser must )"
      R"(be sent as Content-Type: application/json","details":{"content_type":"text/plain"}})");
  // curl with text/plain: not held to the content type.
  const HttpResult curl = Call("POST", "/api/cloud/jobs/sync", R"({"provider":"replicate"})",
                               {"Content-Type: text/plain"});
  BOOST_TEST(curl.status == 200, curl.body);
  // Another port of the same host is another origin.
  const HttpResult other =
      Call("POST", "/api/cloud/jobs/sync", "",
           {"Origin: http://127.0.0.1:" + std::to_string(testing::FreePort())});
  BOOST_TEST(other.status == 403);
}

BOOST_AUTO_TEST_CASE(cross_site_cancel_is_refused_and_changes_nothing) {
  CrossSiteCancelIsRefused("acc-open-cancel", {});
}

BOOST_AUTO_TEST_CASE(wrong_host_gets_421_and_nginx_errors_are_json) { HostCheckAndBadRequests(); }

BOOST_AUTO_TEST_SUITE_END()

// ---- with a token -------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(access_token, *boost::unit_test::fixture<TokenStack>())

BOOST_AUTO_TEST_CASE(requests_without_the_token_get_401) {
  for (const char* path : {"/api/cloud/jobs", "/api/cloud/metrics", "/api/cloud/polling/status",
                           "/api/cloud/jobs/x/inline-progress", "/api/queue", "/api/queue/stats"}) {
    const HttpResult r = Call("GET", path);
    BOOST_TEST(r.status == 401, path);
    BOOST_TEST(r.body == kUnauthorizedBody, path);
    BOOST_TEST(r.Header("www-authenticate") == "Bearer", path);
    BOOST_TEST(r.Header("content-type") == "application/json", path);
  }
  const HttpResult sync = Call("POST", "/api/cloud/jobs/sync");
  BOOST_TEST(sync.status == 401);
  const HttpResult wrong =
      Call("GET", "/api/cloud/jobs", "", {"Authorization: Bearer not-the-token-0000000000"});
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST(Call("GET", "/api/cloud/jobs", "", {"X-API-Key: not-the-token-000000"}).status == 401);
  // Health stays open, but says only ok.
  const HttpResult health = Call("GET", "/api/cloud/health");
  BOOST_TEST(health.status == 200);
  BOOST_TEST(health.body == R"({"status":"ok"})");
  const HttpResult full = Call("GET", "/api/cloud/health", "", {KeyHeader()});
  BOOST_TEST(full.body.find("\"components\"") != std::string::npos, full.body);
}

BOOST_AUTO_TEST_CASE(bearer_and_x_api_key_are_accepted) {
  CreateRun("acc-token-1", "processing");
  SyncWith({BearerHeader()});
  const HttpResult bearer = Call("GET", "/api/cloud/jobs", "", {BearerHeader()});
  BOOST_TEST(bearer.status == 200);
  BOOST_TEST(bearer.body.find("\"acc-token-1\"") != std::string::npos, bearer.body);
  const HttpResult key = Call("GET", "/api/cloud/jobs/acc-token-1", "", {KeyHeader()});
  BOOST_TEST(key.status == 200);
  BOOST_TEST(key.body.find("\"job_id\":\"acc-token-1\"") != std::string::npos, key.body);
}

BOOST_AUTO_TEST_CASE(session_cookie_signs_the_page_in) {
  const HttpResult wrong = Call("POST", "/api/session", R"({"token":"not-the-token-00000000"})",
                                {"Content-Type: application/json"});
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST(wrong.body == R"({"error":"unauthorized","message":"wrong API token"})");
  BOOST_TEST(wrong.Header("set-cookie") == "");

  const HttpResult ok =
      Call("POST", "/api/session", std::string(R"({"token":")") + kApiToken + R"("})",
           {"Content-Type: application/json"});
  BOOST_TEST_REQUIRE(ok.status == 204, ok.body);
  const std::string set_cookie = ok.Header("set-cookie");
  const std::string suffix = "; Max-Age=604800; Path=/api; HttpOnly; SameSite=Strict";
  BOOST_TEST_REQUIRE(set_cookie.size() > suffix.size());
  BOOST_TEST(set_cookie.substr(set_cookie.size() - suffix.size()) == suffix);
  BOOST_TEST(set_cookie.substr(0, 20) == "jobpulse_session=v1.");
  const std::string cookie = "Cookie: " + set_cookie.substr(0, set_cookie.find(';'));

  const HttpResult list = Call("GET", "/api/cloud/jobs", "", {cookie});
  BOOST_TEST(list.status == 200, list.body);
  // The SSE stream: 401 without, 200 with the cookie or the Bearer header.
  const EventsAnswer refused = OpenEvents({});
  BOOST_TEST(refused.status == 401);
  BOOST_TEST(refused.body == kUnauthorizedBody);
  BOOST_TEST(refused.Header("www-authenticate") == "Bearer");
  BOOST_TEST(OpenEvents({"Cookie: jobpulse_session=v1.99999999999.00"}).status == 401);
  const EventsAnswer with_cookie = OpenEvents({cookie});
  BOOST_TEST(with_cookie.status == 200);
  BOOST_TEST(with_cookie.Header("content-type") == "text/event-stream");
  BOOST_TEST(with_cookie.body.find("\"type\":\"connected\"") != std::string::npos,
             with_cookie.body);
  BOOST_TEST(OpenEvents({BearerHeader()}).status == 200);
  BOOST_TEST(OpenEvents({KeyHeader()}).status == 200);

  const HttpResult out = Call("DELETE", "/api/session");
  BOOST_TEST(out.status == 204);
  BOOST_TEST(out.Header("set-cookie") ==
             "jobpulse_session=; Max-Age=0; Path=/api; HttpOnly; SameSite=Strict");
}

BOOST_AUTO_TEST_CASE(webhooks_need_only_their_signature) {
  const std::string id = "acc-hook-1";
  const std::string body = R"({"id":")" + id +
                           R"(","status":"processing","model":"simpletuner/advanced-trainer-l40s",)"
                           R"("created_at":"2026-12-01T10:00:00Z","logs":"Step 3/10\n"})";
  const std::string ts = std::to_string(NowMicros() / 1000000);
  const auto key = DecodeWebhookSecret(kWebhookSecret);
  BOOST_TEST_REQUIRE(key.has_value());
  const std::string signature = SignWebhook(*key, "msg_acc_1", ts, body);
  SentSignatures().push_back(signature);
  const HttpResult r = Call("POST", "/api/webhooks/replicate", body,
                            {"Content-Type: application/json", "webhook-id: msg_acc_1",
                             "webhook-timestamp: " + ts, "webhook-signature: " + signature});
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(r.body == R"({"status":"received"})");
  // A bad signature: 401 from the signature check, not from §11.
  const std::string bad = SignWebhook("another key", "msg_acc_2", ts, body);
  SentSignatures().push_back(bad);
  const HttpResult refused = Call("POST", "/api/webhooks/replicate", body,
                                  {"Content-Type: application/json", "webhook-id: msg_acc_2",
                                   "webhook-timestamp: " + ts, "webhook-signature: " + bad});
  BOOST_TEST(refused.status == 401);
  BOOST_TEST(refused.body.find(R"("error":"invalid_signature")") != std::string::npos,
             refused.body);
}

BOOST_AUTO_TEST_CASE(cross_site_cancel_is_refused_even_with_the_token) {
  CrossSiteCancelIsRefused("acc-token-cancel", {KeyHeader()});
}

BOOST_AUTO_TEST_CASE(wrong_host_gets_421_and_nginx_errors_are_json) { HostCheckAndBadRequests(); }

// Last in the suite: everything above has been answered and logged.
BOOST_AUTO_TEST_CASE(no_secret_in_any_log_or_answer) {
  // Let the worker apply the webhook and log what it does.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::vector<std::string> secrets = {kApiToken, kWebhookSecret,
                                      std::string(kWebhookSecret).substr(6)};  // its base64 key
  for (const std::string& signature : SentSignatures()) {
    secrets.push_back(signature);
    secrets.push_back(signature.substr(3));  // without "v1,"
  }
  BOOST_TEST_REQUIRE(SentSignatures().size() == 2u, "the webhook test did not run first");
  BOOST_TEST_REQUIRE(Seen().size() > 40u, "too few answers recorded: " << Seen().size());

  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(TheStack().dir())) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    const std::string name = entry.path().filename().string();
    const bool log =
        name.ends_with(".log") || name.ends_with(".out") || name.find(".log.") != std::string::npos;
    if (!log) continue;
    ++files;
    const std::string text = testing::ReadFile(path);
    for (const std::string& secret : secrets) {
      BOOST_TEST(text.find(secret) == std::string::npos, path << " contains a secret");
    }
  }
  // supervisord.out, supervisord.log, fcgi.log, nginx.log, worker.log, gen-config.log.
  BOOST_TEST(files >= 6, "log files found: " << files);
  for (const std::string& answer : Seen()) {
    for (const std::string& secret : secrets) {
      BOOST_TEST(answer.find(secret) == std::string::npos,
                 "an answer contains a secret: " << answer);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
