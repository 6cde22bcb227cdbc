// Unit tests for lib/json_limits.h and SPEC §9's limits on every JSON input:
// the depth scanner itself, then deep input through each place that parses
// JSON (a sync body and a signed webhook through Api::Handle over a real
// SQLite store, provider pages, runs and error answers), and the size limit on
// provider responses through HttpClient against a one-shot loopback server.
#include "lib/json_limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "lib/api.h"
#include "lib/config.h"
#include "lib/http.h"
#include "lib/http_client.h"
#include "lib/replicate_client.h"
#include "lib/replicate_run.h"
#include "lib/status.h"
#include "lib/store.h"
#include "lib/webhook_signature.h"
#include "tests/loopback_listener.h"

namespace jobpulse {
namespace {

constexpr int64_t kSecond = 1000000;
constexpr int64_t kNow = int64_t{1795860000} * kSecond;  // 2026-11-28T10:00:00Z
// The Standard Webhooks test vector secret (reference/replicate.md §4).
constexpr const char* kWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::string Repeat(char c, size_t n) { return std::string(n, c); }

// `inner` wrapped in `depth` arrays: Nested("1", 2) == "[[1]]".
std::string Nested(const std::string& inner, size_t depth) {
  return Repeat('[', depth) + inner + Repeat(']', depth);
}

std::string MakeTempDir() {
  std::string path =
      (std::filesystem::temp_directory_path() / "jobpulse_json_limits_XXXXXX").string();
  BOOST_REQUIRE_MESSAGE(mkdtemp(path.data()) != nullptr, "mkdtemp failed");
  return path;
}

// An Api over a store in a temporary directory, with a webhook secret and no
// provider token (so nothing ever reaches the network).
struct LimitsFixture {
  LimitsFixture() : dir(MakeTempDir()) {
    auto opened = Store::Open(dir + "/jobpulse.db");
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    store = std::move(*opened);
    Config config;
    config.database_path.value = dir + "/jobpulse.db";
    config.replicate.webhook_secret.value = kWebhookSecret;
    config.replicate.base_url.value = "http://127.0.0.1:9";  // never contacted
    api = std::make_unique<Api>(
        config, [this]() -> Result<Store*> { return store.get(); }, [] { return kNow; });
  }
  ~LimitsFixture() {
    api.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  std::string Version() {
    auto v = store->ChangeVersion();
    BOOST_REQUIRE(v.ok());
    return *v;
  }

  HttpRequest SignedWebhook(const std::string& webhook_id, const std::string& body) {
    const std::string ts = std::to_string(kNow / kSecond);
    const std::optional<std::string> key = DecodeWebhookSecret(kWebhookSecret);
    BOOST_REQUIRE(key.has_value());
    return HttpRequest{"POST",
                       "/api/webhooks/replicate",
                       "",
                       "",
                       body,
                       {{"content-type", "application/json"},
                        {"webhook-id", webhook_id},
                        {"webhook-timestamp", ts},
                        {"webhook-signature", SignWebhook(*key, webhook_id, ts, body)}}};
  }

  std::string dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<Api> api;
};

bool IsInvalidJson(const HttpResponse& r) {
  return r.status == 400 && r.body.find("\"error\":\"invalid_json\"") != std::string::npos;
}

// Accepts one connection on 127.0.0.1, reads the request head, writes
// `response` and closes. The port is known once constructed.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) : response_(std::move(response)) {
    fd_ = testing::ListenOnLoopback(1, &port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~OneShotServer() {
    thread_.join();
    close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/x"; }

 private:
  void Serve() {
    const int conn = accept(fd_, nullptr, nullptr);
    if (conn < 0) return;
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = read(conn, buf, sizeof buf);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    size_t sent = 0;
    while (sent < response_.size()) {
      const ssize_t n = send(conn, response_.data() + sent, response_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the client stopped reading: expected when it refuses the body
      sent += static_cast<size_t>(n);
    }
    close(conn);
  }

  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(json_limits)

BOOST_AUTO_TEST_CASE(depth_counts_arrays_and_objects) {
  BOOST_TEST(JsonDepthWithin("", 0));
  BOOST_TEST(JsonDepthWithin("1", 0));
  BOOST_TEST(!JsonDepthWithin("[]", 0));
  BOOST_TEST(JsonDepthWithin("[]", 1));
  BOOST_TEST(JsonDepthWithin(R"({"a":[1,{"b":2}]})", 3));
  BOOST_TEST(!JsonDepthWithin(R"({"a":[1,{"b":2}]})", 2));
  // Siblings do not add up.
  BOOST_TEST(JsonDepthWithin("[[],[],{},[[]]]", 3));
  BOOST_TEST(!JsonDepthWithin("[[],[],{},[[[]]]]", 3));
}

BOOST_AUTO_TEST_CASE(the_limit_is_64_levels) {
  BOOST_TEST(kMaxJsonDepth == 64);
  BOOST_TEST(JsonDepthWithin(Nested("1", 64)));
  BOOST_TEST(!JsonDepthWithin(Nested("1", 65)));
  BOOST_TEST(!JsonDepthWithin(Repeat('[', 1000000)));
  BOOST_TEST(!JsonDepthWithin(Repeat('{', 1000000)));
}

BOOST_AUTO_TEST_CASE(brackets_inside_strings_do_not_count) {
  BOOST_TEST(JsonDepthWithin(R"(["[[[[", "{{{{"])", 1));
  // An escaped quote does not end the string, an escaped backslash does not
  // escape the quote after it.
  BOOST_TEST(JsonDepthWithin(R"(["\"[[[["])", 1));
  BOOST_TEST(!JsonDepthWithin(R"(["\\", [[[]]]])", 3));
  BOOST_TEST(JsonDepthWithin(R"(["\\", [[[]]]])", 4));
  BOOST_TEST(JsonDepthWithin(R"(["\u005b[[[["])", 1));
  // An unterminated string hides what follows; the parser refuses it anyway.
  BOOST_TEST(JsonDepthWithin("[\"" + Repeat('[', 100), 1));
  // A backslash as the very last byte.
  BOOST_TEST(JsonDepthWithin("[\"\\", 1));
}

BOOST_AUTO_TEST_CASE(stray_closers_do_not_buy_depth) {
  BOOST_TEST(!JsonDepthWithin(Repeat(']', 100) + Nested("1", 65)));
  BOOST_TEST(!JsonDepthWithin(Repeat('}', 100) + Repeat('[', 65)));
}

BOOST_FIXTURE_TEST_CASE(a_million_brackets_as_a_sync_body_is_400_and_changes_nothing,
                        LimitsFixture) {
  const std::string before = Version();
  for (const char c : {'[', '{'}) {
    const HttpResponse r =
        api->Handle(HttpRequest{"POST", "/api/cloud/jobs/sync", "", "", Repeat(c, 1000000), {}});
    BOOST_TEST(IsInvalidJson(r), r.status << " " << r.body);
  }
  // 65 levels of otherwise valid JSON too.
  const HttpResponse r = api->Handle(HttpRequest{
      "POST", "/api/cloud/jobs/sync", "", "", R"({"provider":)" + Nested("1", 64) + "}", {}});
  BOOST_TEST(IsInvalidJson(r), r.status << " " << r.body);
  BOOST_TEST(Version() == before);
  auto page = store->ListJobs(JobFilter{});
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(page->total == 0);
}

BOOST_FIXTURE_TEST_CASE(a_signed_webhook_nested_120000_deep_is_400_and_not_stored, LimitsFixture) {
  const std::string before = Version();
  const std::string deep =
      R"({"id":"r8deep","status":"running","output":)" + Nested("1", 120000) + "}";
  HttpResponse r = api->Handle(SignedWebhook("msg_deep", deep));
  BOOST_TEST(IsInvalidJson(r), r.status << " " << r.body);
  // Unterminated, as an attacker would send it.
  r = api->Handle(SignedWebhook("msg_open", "{\"a\":" + Repeat('[', 120000)));
  BOOST_TEST(IsInvalidJson(r), r.status << " " << r.body);
  // One level over the limit.
  r = api->Handle(SignedWebhook("msg_65", R"({"id":"r8x","output":)" + Nested("1", 64) + "}"));
  BOOST_TEST(IsInvalidJson(r), r.status << " " << r.body);
  auto counts = store->CountDeliveries();
  BOOST_REQUIRE(counts.ok());
  BOOST_TEST(counts->pending + counts->applied + counts->rejected == 0);
  BOOST_TEST(Version() == before);
  // At the limit it is an ordinary delivery.
  r = api->Handle(SignedWebhook("msg_64", R"({"id":"r8x","output":)" + Nested("1", 63) + "}"));
  BOOST_TEST(r.status == 200, r.status << " " << r.body);
  counts = store->CountDeliveries();
  BOOST_REQUIRE(counts.ok());
  BOOST_TEST(counts->pending == 1);
}

BOOST_AUTO_TEST_CASE(deep_provider_answers_are_provider_errors) {
  const std::string deep_page =
      R"({"next":null,"results":[{"id":"r1","output":)" + Nested("1", 100000) + "}]}";
  auto page = ParseReplicatePage(deep_page);
  BOOST_REQUIRE(!page.ok());
  BOOST_TEST(page.status().error() == "provider_error");
  BOOST_TEST((page.status().code() == Status::Code::kUpstream));
  page = ParseReplicatePage(Repeat('[', 100000));
  BOOST_TEST(page.status().error() == "provider_error");

  auto run = ParseReplicateRun(R"({"id":"r1","error":)" + Nested("1", 100000) + "}");
  BOOST_REQUIRE(!run.ok());
  BOOST_TEST(run.status().error() == "provider_error");
  run = ParseReplicateRun(Repeat('{', 100000));
  BOOST_TEST(run.status().error() == "provider_error");

  // At the limit (the page object, results and the run are 3 levels).
  page = ParseReplicatePage(R"({"results":[{"id":"r1","output":)" + Nested("1", 61) + "}]}");
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(page->runs.size() == 1u);
  BOOST_TEST(page->runs[0].external_id == "r1");

  // An error answer with a deep body keeps its status and gets no detail.
  OutboundResponse answer;
  answer.status = 404;
  answer.body = R"({"detail":"gone","x":)" + Nested("1", 100000) + "}";
  const Status s = ReplicateStatusFor(answer, "prediction p");
  BOOST_TEST(s.error() == "provider_not_found");
  BOOST_TEST(s.message().find("gone") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(provider_responses_over_the_size_limit_are_provider_errors) {
  BOOST_TEST(kMaxProviderResponseBytes == size_t{32} * 1024 * 1024);
  const std::string body(5000, 'x');
  struct Case {
    const char* name;
    std::string response;
  };
  const Case cases[] = {
      {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + body},
      {"read until close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      OneShotServer server(c.response);
      HttpClient client;
      OutboundRequest request;
      request.url = server.url();
      request.max_response_bytes = 4999;
      auto response = client.Perform(request);
      BOOST_REQUIRE(!response.ok());
      BOOST_TEST(response.status().error() == "provider_error");
      BOOST_TEST(response.status().message().find("over 4999 bytes") != std::string::npos,
                 response.status().message());
    }
  }
  // Exactly at the limit is fine.
  OneShotServer server(cases[1].response);
  HttpClient client;
  OutboundRequest request;
  request.url = server.url();
  request.max_response_bytes = 5000;
  auto response = client.Perform(request);
  BOOST_REQUIRE_MESSAGE(response.ok(), response.status().ToString());
  BOOST_TEST(response->status == 200);
  BOOST_TEST(response->body == body);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
