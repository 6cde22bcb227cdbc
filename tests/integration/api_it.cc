// Every endpoint of the foundation issue over real HTTP: curl -> nginx ->
// supervisord's FastCGI pool -> SQLite, with the database filled through lib/.
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lib/cost.h"
#include "lib/store.h"
#include "lib/timestamp.h"
#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"

namespace jobpulse {
namespace {

using testing::Http;
using testing::HttpResult;
using testing::Stack;

constexpr int kMaxBodyBytes = 4096;

// One stack for the suite: handlers recycle every ~50 requests the whole time,
// so every test below also runs across process restarts.
struct ApiStack {
  ApiStack() {
    testing::StackOptions options;
    options.pool_size = 3;
    options.max_requests = 50;
    options.enterprise_yaml = "api:\n  max_body_bytes: " + std::to_string(kMaxBodyBytes) + "\n";
    stack = std::make_unique<Stack>(options);
    auto opened = Store::Open(stack->db_path());
    BOOST_TEST_REQUIRE(opened.ok(), opened.status().ToString());
    store = std::move(opened.value());
  }
  ~ApiStack() {
    store.reset();
    stack.reset();
  }
  static inline std::unique_ptr<Stack> stack;
  static inline std::unique_ptr<Store> store;
};

std::string Url(const std::string& path) { return ApiStack::stack->Url(path); }

using testing::Parse;

void Observe(const std::string& id, const std::string& provider_status, int64_t created_at,
             std::optional<std::string> logs = std::nullopt) {
  Observation obs;
  obs.provider = "replicate";
  obs.external_id = id;
  obs.provider_status = provider_status;
  obs.created_at = created_at;
  obs.started_at = created_at + 1000000;
  if (provider_status == "succeeded") {
    obs.completed_at = created_at + 61000000;
    obs.predict_time = 60;
  }
  obs.metadata["model"] = "acme/flux-lora";
  obs.logs = std::move(logs);
  PriceTable prices;
  prices.per_second = {{"gpu-l40s", 0.000975}};
  auto applied = ApiStack::store->Apply(obs, prices, NowMicros());
  BOOST_TEST_REQUIRE(applied.ok(), applied.status().ToString());
}

void CheckEnvelope(const HttpResult& r, long status, const std::string& error) {
  BOOST_TEST(r.status == status);
  BOOST_TEST(r.Header("content-type") == "application/json");
  const auto doc = Parse(r.body);
  BOOST_TEST_REQUIRE(doc.IsObject());
  BOOST_TEST_REQUIRE(doc.HasMember("error"));
  BOOST_TEST(std::string(doc["error"].GetString()) == error);
  BOOST_TEST_REQUIRE(doc.HasMember("message"));
  BOOST_TEST(doc["message"].GetStringLength() > 0u);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(api_through_nginx, *boost::unit_test::fixture<ApiStack>())

// Declared first so it sees the fresh database.
BOOST_AUTO_TEST_CASE(empty_database_lists_no_jobs) {
  const HttpResult r = Http("GET", Url("/api/cloud/jobs"));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"jobs":[],"total":0,"limit":50,"offset":0})");
  BOOST_TEST(r.Header("content-type") == "application/json");
  BOOST_TEST(!r.Header("etag").empty());
}

BOOST_AUTO_TEST_CASE(list_is_newest_first_with_true_total_and_filters) {
  const int64_t t0 = ParseTimestamp("2026-11-01T10:00:00Z").value();
  Observe("list-a", "succeeded", t0);
  Observe("list-b", "processing", t0 + 60000000);
  Observe("list-c", "starting", t0 + 120000000);

  HttpResult r = Http("GET", Url("/api/cloud/jobs?provider=replicate&limit=2&offset=0"));
  BOOST_TEST(r.status == 200);
  auto doc = Parse(r.body);
  BOOST_TEST(doc["total"].GetInt() == 3);
  BOOST_TEST(doc["limit"].GetInt() == 2);
  BOOST_TEST_REQUIRE(doc["jobs"].Size() == 2u);
  BOOST_TEST(std::string(doc["jobs"][0]["job_id"].GetString()) == "list-c");
  BOOST_TEST(std::string(doc["jobs"][0]["status"].GetString()) == "queued");
  BOOST_TEST(std::string(doc["jobs"][1]["job_id"].GetString()) == "list-b");

  r = Http("GET", Url("/api/cloud/jobs?provider=replicate&limit=2&offset=2"));
  doc = Parse(r.body);
  BOOST_TEST(doc["total"].GetInt() == 3);
  BOOST_TEST_REQUIRE(doc["jobs"].Size() == 1u);
  BOOST_TEST(std::string(doc["jobs"][0]["job_id"].GetString()) == "list-a");
  BOOST_TEST(std::string(doc["jobs"][0]["completed_at"].GetString()) ==
             "2026-11-01T10:01:01.000000Z");
  BOOST_TEST(doc["jobs"][0]["cost_usd"].GetDouble() == 60 * 0.000975,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(doc["jobs"][0]["duration_seconds"].GetDouble() == 60.0);

  r = Http("GET", Url("/api/cloud/jobs?status=running,completed&job_type=cloud&_=1700000000"));
  doc = Parse(r.body);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(doc["total"].GetInt() == 2);

  r = Http("GET", Url("/api/cloud/jobs?provider=nobody"));
  BOOST_TEST(r.body == R"({"jobs":[],"total":0,"limit":50,"offset":0})");
}

BOOST_AUTO_TEST_CASE(invalid_query_parameters_get_400_naming_them) {
  for (const auto& [query, parameter] :
       std::vector<std::pair<std::string, std::string>>{{"limit=0", "limit"},
                                                        {"limit=501", "limit"},
                                                        {"limit=ten", "limit"},
                                                        {"offset=-1", "offset"},
                                                        {"status=done", "status"},
                                                        {"job_type=gpu", "job_type"},
                                                        {"sync_active=maybe", "sync_active"}}) {
    BOOST_TEST_CONTEXT(query) {
      const HttpResult r = Http("GET", Url("/api/cloud/jobs?" + query));
      CheckEnvelope(r, 400, "invalid_parameter");
      const auto doc = Parse(r.body);
      BOOST_TEST(std::string(doc["details"]["parameter"].GetString()) == parameter);
    }
  }
  CheckEnvelope(Http("GET", Url("/api/cloud/metrics?days=0")), 400, "invalid_parameter");
  CheckEnvelope(Http("GET", Url("/api/cloud/jobs/x/logs?refresh=perhaps")), 400,
                "invalid_parameter");
}

BOOST_AUTO_TEST_CASE(get_one_job_and_its_errors) {
  const int64_t t0 = ParseTimestamp("2026-11-02T10:00:00.5Z").value();
  Observe("get-1", "processing", t0);
  HttpResult r = Http("GET", Url("/api/cloud/jobs/get-1"));
  BOOST_TEST(r.status == 200);
  auto doc = Parse(r.body);
  const auto& job = doc["job"];
  BOOST_TEST(std::string(job["job_id"].GetString()) == "get-1");
  BOOST_TEST(std::string(job["external_id"].GetString()) == "get-1");
  BOOST_TEST(std::string(job["provider"].GetString()) == "replicate");
  BOOST_TEST(std::string(job["job_type"].GetString()) == "cloud");
  BOOST_TEST(std::string(job["status"].GetString()) == "running");
  BOOST_TEST(std::string(job["created_at"].GetString()) == "2026-11-02T10:00:00.500000Z");
  BOOST_TEST(job["is_active"].GetBool());
  BOOST_TEST(!job["is_terminal"].GetBool());
  BOOST_TEST(std::string(job["metadata"]["model"].GetString()) == "acme/flux-lora");
  BOOST_TEST(job["metadata"]["cost_is_estimate"].GetBool());

  r = Http("GET", Url("/api/cloud/jobs/no-such-job"));
  CheckEnvelope(r, 404, "job_not_found");
  BOOST_TEST(std::string(Parse(r.body)["details"]["job_id"].GetString()) == "no-such-job");
  CheckEnvelope(Http("GET", Url("/api/cloud/jobs/bad%20id")), 400, "invalid_job_id");
  CheckEnvelope(Http("GET", Url("/api/cloud/jobs/" + std::string(129, 'a'))), 400,
                "invalid_job_id");
  CheckEnvelope(Http("GET", Url("/api/cloud/nowhere")), 404, "not_found");
}

BOOST_AUTO_TEST_CASE(inline_progress_from_stored_logs_with_etag) {
  const int64_t t0 = NowMicros();
  Observe("prog-1", "processing", t0, "Loading model\nStep 1500/5000 - loss: 0.0234\n");
  const std::string path = "/api/cloud/jobs/prog-1/inline-progress";
  HttpResult r = Http("GET", Url(path));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(
      r.body ==
      R"({"job_id":"prog-1","stage":"Training","last_log":"Step 1500/5000 - loss: 0.0234","progress":30.0,"rate":null,"eta_seconds":null})");
  // The handler gives the length, so nginx passes it on rather than chunking.
  BOOST_TEST(r.Header("content-length") == std::to_string(r.body.size()));
  BOOST_TEST(r.Header("transfer-encoding").empty());
  const std::string etag = r.Header("etag");
  BOOST_TEST_REQUIRE(!etag.empty());

  r = Http("GET", Url(path), "", {"If-None-Match: " + etag});
  BOOST_TEST(r.status == 304);
  BOOST_TEST(r.body.empty());

  Observe("prog-1", "processing", t0, "Step 2500/5000 - loss: 0.02\nRunning validation\n");
  r = Http("GET", Url(path), "", {"If-None-Match: " + etag});
  BOOST_TEST(r.status == 200);
  BOOST_TEST(
      r.body ==
      R"({"job_id":"prog-1","stage":"Validation","last_log":"Running validation","progress":50.0,"rate":null,"eta_seconds":null})");
  BOOST_TEST(r.Header("etag") != etag);

  Observe("prog-1", "succeeded", t0);
  r = Http("GET", Url(path));
  BOOST_TEST(
      r.body ==
      R"({"job_id":"prog-1","stage":null,"last_log":"Running validation","progress":null,"rate":null,"eta_seconds":null})");

  CheckEnvelope(Http("GET", Url("/api/cloud/jobs/missing/inline-progress")), 404, "job_not_found");
}

BOOST_AUTO_TEST_CASE(logs_come_from_the_cached_tail) {
  Observe("logs-1", "processing", NowMicros(), "line one\nline two\n");
  HttpResult r = Http("GET", Url("/api/cloud/jobs/logs-1/logs"));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"job_id":"logs-1","logs":"line one\nline two\n"})");
  CheckEnvelope(Http("GET", Url("/api/cloud/jobs/missing/logs")), 404, "job_not_found");
}

BOOST_AUTO_TEST_CASE(list_etag_gives_304_until_something_changes) {
  const std::string url = Url("/api/cloud/jobs?status=completed");
  HttpResult r = Http("GET", url);
  const std::string etag = r.Header("etag");
  BOOST_TEST_REQUIRE(!etag.empty());
  BOOST_TEST(Http("GET", url, "", {"If-None-Match: " + etag}).status == 304);
  Observe("etag-1", "succeeded", NowMicros());
  r = Http("GET", url, "", {"If-None-Match: " + etag});
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.Header("etag") != etag);
}

BOOST_AUTO_TEST_CASE(delete_only_terminal_jobs) {
  Observe("del-running", "processing", NowMicros());
  Observe("del-done", "succeeded", NowMicros());
  HttpResult r = Http("DELETE", Url("/api/cloud/jobs/del-running"));
  CheckEnvelope(r, 409, "invalid_job_state");
  BOOST_TEST(Http("GET", Url("/api/cloud/jobs/del-running")).status == 200);

  r = Http("DELETE", Url("/api/cloud/jobs/del-done"));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"success":true,"job_id":"del-done"})");
  CheckEnvelope(Http("GET", Url("/api/cloud/jobs/del-done")), 404, "job_not_found");
  CheckEnvelope(Http("DELETE", Url("/api/cloud/jobs/del-done")), 404, "job_not_found");
}

BOOST_AUTO_TEST_CASE(unsupported_methods_get_405_with_allow) {
  HttpResult r = Http("POST", Url("/api/cloud/jobs"), "{}");
  CheckEnvelope(r, 405, "method_not_allowed");
  BOOST_TEST(r.Header("allow") == "GET, HEAD");
  r = Http("PUT", Url("/api/cloud/jobs/some-job"), "{}");
  CheckEnvelope(r, 405, "method_not_allowed");
  BOOST_TEST(r.Header("allow") == "GET, HEAD, DELETE");
  r = Http("DELETE", Url("/api/cloud/metrics"));
  CheckEnvelope(r, 405, "method_not_allowed");
  BOOST_TEST(r.Header("allow") == "GET, HEAD");
}

BOOST_AUTO_TEST_CASE(bodies_over_the_limit_get_413) {
  HttpResult r = Http("POST", Url("/api/cloud/jobs"), std::string(kMaxBodyBytes + 1, 'x'));
  CheckEnvelope(r, 413, "payload_too_large");
  // At the limit the body is read and the request routed as usual.
  r = Http("POST", Url("/api/cloud/jobs"), std::string(kMaxBodyBytes, 'x'));
  CheckEnvelope(r, 405, "method_not_allowed");
  // Beyond nginx's own bound (64 MiB) nginx answers, still in the envelope.
  r = Http("POST", Url("/api/cloud/jobs"), std::string(65 * 1024 * 1024, 'x'));
  CheckEnvelope(r, 413, "payload_too_large");
}

BOOST_AUTO_TEST_CASE(metrics_count_the_window) {
  const HttpResult r = Http("GET", Url("/api/cloud/metrics?days=365"));
  BOOST_TEST(r.status == 200);
  const auto doc = Parse(r.body);
  BOOST_TEST(doc["period_days"].GetInt() == 365);
  int64_t by_status_sum = 0;
  for (auto it = doc["jobs_by_status"].MemberBegin(); it != doc["jobs_by_status"].MemberEnd();
       ++it) {
    by_status_sum += it->value.GetInt64();
  }
  BOOST_TEST(doc["job_count"].GetInt64() == by_status_sum);
  auto page = ApiStack::store->ListJobs(JobFilter{});
  BOOST_TEST_REQUIRE(page.ok());
  BOOST_TEST(doc["job_count"].GetInt64() == page->total);
  BOOST_TEST(doc["jobs_by_status"].MemberCount() == 7u);
}

BOOST_AUTO_TEST_CASE(health_reports_database_and_absent_worker) {
  const HttpResult r = Http("GET", Url("/api/cloud/health"));
  BOOST_TEST(r.status == 200);
  const auto doc = Parse(r.body);
  BOOST_TEST(std::string(doc["status"].GetString()) == "ok");
  BOOST_TEST(std::string(doc["components"]["database"]["status"].GetString()) == "ok");
  BOOST_TEST(std::string(doc["components"]["worker"]["status"].GetString()) == "absent");
  BOOST_TEST(!doc["components"]["providers"]["replicate"]["configured"].GetBool());
}

BOOST_AUTO_TEST_CASE(head_returns_headers_only) {
  const HttpResult r = Http("HEAD", Url("/api/cloud/jobs"));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.empty());
  BOOST_TEST(!r.Header("etag").empty());
}

// SPEC §1: handlers exit after ~max_requests and supervisord restarts them;
// no request may fail because of it.
BOOST_AUTO_TEST_CASE(no_failed_request_while_handlers_recycle_every_50) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 650;
  Observe("recycle-1", "processing", NowMicros(), "Step 10/100\n");
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::string> failures[kThreads];
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const char* path = i % 3 == 0   ? "/api/cloud/jobs?limit=5"
                           : i % 3 == 1 ? "/api/cloud/jobs/recycle-1/inline-progress"
                                        : "/api/cloud/jobs/recycle-1";
        const HttpResult r = Http("GET", Url(path));
        if (r.status == 200) {
          ++ok;
        } else {
          ++failed;
          if (failures[t].size() < 3) {
            failures[t].push_back(std::to_string(r.status) + " " + r.error + " " + r.body);
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& list : failures) {
    for (const auto& f : list) BOOST_TEST_MESSAGE("failure: " << f);
  }
  BOOST_TEST(ok.load() == kThreads * kPerThread);
  BOOST_TEST(failed.load() == 0);
  // The handlers really did recycle: supervisord logged their expected exits.
  const std::string log = testing::ReadFile(ApiStack::stack->dir() + "/supervisord.out");
  size_t exits = 0;
  for (size_t pos = 0; (pos = log.find("exit status 0; expected", pos)) != std::string::npos;
       ++pos) {
    ++exits;
  }
  BOOST_TEST_MESSAGE("handler exits during the suite: " << exits);
  BOOST_TEST(exits >= static_cast<size_t>(kThreads * kPerThread / 63));
}

BOOST_AUTO_TEST_SUITE_END()

// The same binary as plain CGI: one request from the environment, then exit.
BOOST_AUTO_TEST_CASE(handler_answers_as_plain_cgi) {
  char dir_template[] = "/tmp/jobpulse-cgi-XXXXXX";
  BOOST_TEST_REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  int exit_status = -1;
  const std::string out = testing::RunCgi({{"REQUEST_METHOD", "GET"},
                                           {"REQUEST_URI", "/api/cloud/jobs?limit=7"},
                                           {"CONTENT_LENGTH", ""},
                                           {"JOBPULSE_DB", dir + "/cgi.db"}},
                                          "", &exit_status);
  BOOST_TEST(exit_status == 0);
  BOOST_TEST(out.rfind("Status: 200 OK\r\n", 0) == 0u);
  BOOST_TEST(out.find("Content-Type: application/json\r\n") != std::string::npos);
  BOOST_TEST(out.find("Content-Length: 42\r\n") != std::string::npos);
  BOOST_TEST(out.substr(out.find("\r\n\r\n") + 4) ==
             R"({"jobs":[],"total":0,"limit":7,"offset":0})");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace jobpulse

namespace jobpulse {
namespace {

// The FastCGI records a web server sends for one GET (FastCGI 1.0 spec, responder role).
std::string FcgiRecord(uint8_t type, const std::string& content) {
  std::string r;
  r += static_cast<char>(1);  // version
  r += static_cast<char>(type);
  r += static_cast<char>(0);  // request id 1, big-endian
  r += static_cast<char>(1);
  r += static_cast<char>((content.size() >> 8) & 0xff);
  r += static_cast<char>(content.size() & 0xff);
  r += static_cast<char>(0);  // padding
  r += static_cast<char>(0);  // reserved
  return r + content;
}

std::string FcgiParam(const std::string& name, const std::string& value) {
  // Both lengths are < 128 here, so each fits in one byte.
  return std::string(1, static_cast<char>(name.size())) +
         std::string(1, static_cast<char>(value.size())) + name + value;
}

// jobpulse-fcgi spawned like spawn-fcgi or mod_fcgid do it: a listening unix
// socket on fd 0, no supervisord, exiting after `max_requests` requests.
struct HandlerOnFd0 {
  explicit HandlerOnFd0(int max_requests) {
    char dir_template[] = "/tmp/jobpulse-fd0-XXXXXX";
    BOOST_TEST_REQUIRE(mkdtemp(dir_template) != nullptr);
    dir = dir_template;
    const std::string sock_path = dir + "/fcgi.sock";
    const int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path.c_str());
    BOOST_TEST_REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    BOOST_TEST_REQUIRE(listen(listener, 16) == 0);
    pid = fork();
    if (pid == 0) {
      dup2(listener, 0);
      close(listener);
      setenv("JOBPULSE_DB", (dir + "/fd0.db").c_str(), 1);
      setenv("JOBPULSE_MAX_REQUESTS", std::to_string(max_requests).c_str(), 1);
      unsetenv("SIMPLETUNER_ENTERPRISE_CONFIG");
      const std::string bin = testing::BinDir() + "/jobpulse-fcgi";
      execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(listener);
  }
  ~HandlerOnFd0() {
    if (pid > 0) {
      kill(pid, SIGTERM);  // no-op when it already exited after its requests
      Wait();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  // The handler's exit status (waitpid's).
  int Wait() {
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return status;
  }
  // A connection with a 10 s read timeout (a silent handler fails the test
  // instead of hanging it) that has sent one request: `params`, then `body`
  // in FCGI_STDIN and the empty record that ends it.
  int Send(const std::string& params, const std::string& body = "") const {
    const int conn = socket(AF_UNIX, SOCK_STREAM, 0);
    const timeval timeout{10, 0};
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    BOOST_TEST_REQUIRE(connect(conn, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
    const std::string begin("\0\1\0\0\0\0\0\0", 8);  // role RESPONDER, no keep-alive
    std::string request = FcgiRecord(1, begin) + FcgiRecord(4, params) + FcgiRecord(4, "");
    if (!body.empty()) request += FcgiRecord(5, body);
    request += FcgiRecord(5, "");
    BOOST_TEST_REQUIRE(write(conn, request.data(), request.size()) ==
                       static_cast<ssize_t>(request.size()));
    return conn;
  }

  std::string dir;
  sockaddr_un addr{};
  pid_t pid = -1;
};

// What the handler wrote on `conn` up to its end of the connection: the
// FCGI_STDOUT stream, and whether FCGI_END_REQUEST came.
struct FcgiAnswer {
  std::string stdout_data;
  bool ended = false;
  std::string Body() const { return stdout_data.substr(stdout_data.find("\r\n\r\n") + 4); }
};

FcgiAnswer ReadAnswer(int conn) {
  std::string raw;
  char buf[4096];
  ssize_t n;
  while ((n = read(conn, buf, sizeof(buf))) > 0) raw.append(buf, n);
  FcgiAnswer answer;
  for (size_t pos = 0; pos + 8 <= raw.size();) {
    const auto type = static_cast<uint8_t>(raw[pos + 1]);
    const size_t len =
        (static_cast<uint8_t>(raw[pos + 4]) << 8) | static_cast<uint8_t>(raw[pos + 5]);
    const size_t pad = static_cast<uint8_t>(raw[pos + 6]);
    if (type == 6) answer.stdout_data += raw.substr(pos + 8, len);
    if (type == 3) answer.ended = true;
    pos += 8 + len + pad;
  }
  return answer;
}

std::string GetParams(const std::string& uri) {
  return FcgiParam("REQUEST_METHOD", "GET") + FcgiParam("REQUEST_URI", uri) +
         FcgiParam("CONTENT_LENGTH", "");
}

}  // namespace

// Spawned like spawn-fcgi or mod_fcgid do it: a listening socket on fd 0 and no
// supervisord, then one FastCGI request over a unix socket.
BOOST_AUTO_TEST_CASE(handler_serves_a_socket_inherited_on_fd0) {
  HandlerOnFd0 handler(1);  // exit after one request
  const int conn = handler.Send(GetParams("/api/cloud/jobs?limit=3"));
  const FcgiAnswer answer = ReadAnswer(conn);
  close(conn);
  const int status = handler.Wait();
  BOOST_TEST(answer.ended);
  BOOST_TEST(answer.stdout_data.rfind("Status: 200 OK\r\n", 0) == 0u);
  BOOST_TEST(answer.Body() == R"({"jobs":[],"total":0,"limit":3,"offset":0})");
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
}

// A finished request closes its connection at once: the handler does not wait
// (libfcgi's lingering close waits up to 2 s) for the web server to close its
// side before it takes the next request, and a request's unread input (a body
// the route ignores) is read first, so the web server gets the whole answer
// and an orderly end of the connection, not a reset.
BOOST_AUTO_TEST_CASE(a_finished_request_does_not_wait_for_the_web_server_to_close) {
  HandlerOnFd0 handler(3);
  // A body on a GET: nothing reads it but the close.
  const std::string with_body = FcgiParam("REQUEST_METHOD", "GET") +
                                FcgiParam("REQUEST_URI", "/api/cloud/jobs?limit=4") +
                                FcgiParam("CONTENT_LENGTH", "");
  const int first = handler.Send(with_body, "{\"ignored\": true}");
  const FcgiAnswer first_answer = ReadAnswer(first);  // to the handler's end of the connection
  BOOST_TEST(first_answer.ended);
  BOOST_TEST(first_answer.Body() == R"({"jobs":[],"total":0,"limit":4,"offset":0})");
  // `first` stays open, as a web server's side may: the next request is
  // answered without waiting for it.
  const auto start = std::chrono::steady_clock::now();
  const int second = handler.Send(GetParams("/api/cloud/jobs?limit=5"));
  const FcgiAnswer second_answer = ReadAnswer(second);
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  BOOST_TEST(second_answer.ended);
  BOOST_TEST(second_answer.Body() == R"({"jobs":[],"total":0,"limit":5,"offset":0})");
  BOOST_TEST(waited < 1000, "the second request waited " << waited << " ms");
  // The handler's side is closed, not shut down for writing only: a write to
  // it fails (EPIPE) instead of sitting in a buffer nobody reads.
  signal(SIGPIPE, SIG_IGN);
  BOOST_TEST(write(first, "x", 1) == -1);
  close(first);
  close(second);
  const int third = handler.Send(GetParams("/api/cloud/jobs?limit=6"));
  BOOST_TEST(ReadAnswer(third).ended);
  close(third);
  const int status = handler.Wait();
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
}

}  // namespace jobpulse
