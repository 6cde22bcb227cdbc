// POST /api/webhooks/replicate through nginx and the FastCGI pool (SPEC §7):
// the simulator (tests/replicate_sim) sends signed deliveries, the handler
// verifies and stores them, and this test process reads the inbox with its own
// Store and applies it with ApplyPendingDeliveries (no worker in this stack).
// A second suite leaves the secret unconfigured, so the handlers fetch it from
// the simulator and share it through the database's cache.
#include <rapidjson/document.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lib/config.h"
#include "lib/cost.h"
#include "lib/notify.h"
#include "lib/store.h"
#include "lib/timestamp.h"
#include "lib/webhook_inbox.h"
#include "lib/webhook_signature.h"
#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"

namespace jobpulse {
namespace {

using testing::Http;
using testing::HttpResult;
using testing::Simulator;
using testing::Stack;

// The Standard Webhooks test vector secret, configured on both sides.
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kOtherSecret = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
constexpr int64_t kSecond = 1000000;

using testing::Parse;

std::string Str(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject() || !object.HasMember(key) || !object[key].IsString()) {
    return std::string("<no string ") + key + ">";
  }
  return std::string(object[key].GetString(), object[key].GetStringLength());
}

// A simulator and a stack wired to it; the secret is configured when `secret`
// is not empty, else the handlers fetch it from the simulator.
struct WebhookStackBase {
  static void Start(const std::string& secret) {
    testing::StackOptions options;
    options.pool_size = 3;
    if (!secret.empty()) options.extra_env = {{"REPLICATE_WEBHOOK_SECRET", secret}};
    env.Start(options, {"--webhook-secret", kSecret});
  }
  static void Stop() { env.Stop(); }
  static inline testing::SimulatedStack env;
};

struct ConfiguredSecretStack : WebhookStackBase {
  ConfiguredSecretStack() { Start(kSecret); }
  ~ConfiguredSecretStack() { Stop(); }
};

struct FetchedSecretStack : WebhookStackBase {
  FetchedSecretStack() { Start(""); }
  ~FetchedSecretStack() { Stop(); }
};

Simulator& Sim() { return WebhookStackBase::env.sim(); }
Stack& TheStack() { return WebhookStackBase::env.stack(); }
Store& TheStore() { return WebhookStackBase::env.store(); }

void CreateRun(const std::string& id, const std::string& status) {
  Sim().Control("POST", "/runs",
                R"({"id":")" + id + R"(","status":")" + status +
                    R"(","model":"simpletuner/advanced-trainer-l40s","kind":"training",)" +
                    R"("logs":"Loading model\n"})");
}

void SetRunStatus(const std::string& id, const std::string& status) {
  Sim().Control("POST", "/runs/" + id + "/status", R"({"status":")" + status + "\"}");
}

// Asks the simulator to POST its signed delivery of run `id` to jobpulse
// through nginx. `extra` is more JSON members for the control call
// (",\"corrupt_signature\":true"). Returns the control answer:
// {"status": <jobpulse's HTTP status>, "body": <its body>, "webhook_id"}.
rapidjson::Document Deliver(const std::string& id, const std::string& webhook_id,
                            const std::string& extra = "") {
  std::string body = R"({"url":")" + TheStack().Url("/api/webhooks/replicate") + "\"";
  if (!webhook_id.empty()) body += R"(,"webhook_id":")" + webhook_id + "\"";
  body += extra + "}";
  return Parse(Sim().Control("POST", "/runs/" + id + "/webhook", body));
}

int HttpStatus(const rapidjson::Document& answer) { return answer["status"].GetInt(); }

// The pending inbox rows with this webhook id (0 or 1).
int PendingRows(const std::string& webhook_id) {
  auto pending = TheStore().PendingDeliveries(100000);
  BOOST_TEST_REQUIRE(pending.ok(), pending.status().ToString());
  int n = 0;
  for (const Store::Delivery& d : *pending) n += d.webhook_id == webhook_id;
  return n;
}

int64_t InboxTotal() {
  auto counts = TheStore().CountDeliveries();
  BOOST_TEST_REQUIRE(counts.ok(), counts.status().ToString());
  return counts->pending + counts->applied + counts->rejected;
}

InboxReport ApplyInbox() {
  const Config defaults;
  PriceTable prices;
  prices.per_second = defaults.replicate.hardware_prices.value;
  prices.default_sku = defaults.replicate.default_hardware.value;
  auto report = ApplyPendingDeliveries(TheStore(), prices, NowMicros, 1000);
  BOOST_TEST_REQUIRE(report.ok(), report.status().ToString());
  return *report;
}

std::string JobStatusOf(const std::string& id) {
  const HttpResult r = Http("GET", TheStack().Url("/api/cloud/jobs/" + id));
  return r.status == 200 ? Str(Parse(r.body)["job"], "status") : "http " + std::to_string(r.status);
}

int64_t SecretFetches() {
  const auto doc = Parse(Sim().Control("GET", "/counters"));
  const auto& endpoints = doc["endpoints"];
  const auto it = endpoints.FindMember("webhook_secret");
  return it == endpoints.MemberEnd() ? 0 : it->value.GetInt64();
}

// A delivery built and signed in this process, for header-level cases the
// simulator's sender does not cover.
HttpResult PostSigned(const std::string& webhook_id, const std::string& body,
                      const std::vector<std::string>& header_names = {
                          "webhook-id", "webhook-timestamp", "webhook-signature"}) {
  const std::string ts = std::to_string(std::time(nullptr));
  const std::string sig = SignWebhook(*DecodeWebhookSecret(kSecret), webhook_id, ts, body);
  return Http("POST", TheStack().Url("/api/webhooks/replicate"), body,
              {"Content-Type: application/json", header_names[0] + ": " + webhook_id,
               header_names[1] + ": " + ts, header_names[2] + ": " + sig});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(webhooks_through_nginx, *boost::unit_test::fixture<ConfiguredSecretStack>())

BOOST_AUTO_TEST_CASE(signed_delivery_is_received_and_stored_once) {
  CreateRun("whit-run-1", "processing");
  auto answer = Deliver("whit-run-1", "msg_whit_0001");
  BOOST_TEST(HttpStatus(answer) == 200);
  BOOST_TEST(Str(answer, "body") == R"({"status":"received"})");
  BOOST_TEST(PendingRows("msg_whit_0001") == 1);
  auto pending = TheStore().PendingDeliveries(100000);
  BOOST_TEST_REQUIRE(pending.ok());
  for (const Store::Delivery& d : *pending) {
    if (d.webhook_id != "msg_whit_0001") continue;
    BOOST_TEST(d.provider == "replicate");
    const auto run = Parse(d.body);  // the raw run object, as sent
    BOOST_TEST(Str(run, "id") == "whit-run-1");
    BOOST_TEST(Str(run, "status") == "processing");
  }
  // Nothing applies it in this stack (no worker): the job does not exist yet.
  BOOST_TEST(JobStatusOf("whit-run-1") == "http 404");

  const int64_t total = InboxTotal();
  answer = Deliver("whit-run-1", "msg_whit_0001");
  BOOST_TEST(HttpStatus(answer) == 200);
  BOOST_TEST(Str(answer, "body") == R"({"status":"duplicate"})");
  BOOST_TEST(PendingRows("msg_whit_0001") == 1);
  BOOST_TEST(InboxTotal() == total);
}

BOOST_AUTO_TEST_CASE(bad_signatures_and_stale_timestamps_are_401_and_store_nothing) {
  CreateRun("whit-run-2", "processing");
  const int64_t total = InboxTotal();

  auto answer = Deliver("whit-run-2", "msg_whit_corrupt", R"(,"corrupt_signature":true)");
  BOOST_TEST(HttpStatus(answer) == 401);
  auto error = Parse(Str(answer, "body"));
  BOOST_TEST(Str(error, "error") == "invalid_signature");
  BOOST_TEST(Str(error["details"], "check") == "bad_signature");

  answer = Deliver("whit-run-2", "msg_whit_stale",
                   R"(,"timestamp":)" + std::to_string(std::time(nullptr) - 400));
  BOOST_TEST(HttpStatus(answer) == 401);
  error = Parse(Str(answer, "body"));
  BOOST_TEST(Str(error, "error") == "invalid_signature");
  BOOST_TEST(Str(error["details"], "check") == "stale_timestamp");

  answer = Deliver("whit-run-2", "msg_whit_future",
                   R"(,"timestamp":)" + std::to_string(std::time(nullptr) + 400));
  BOOST_TEST(HttpStatus(answer) == 401);

  answer = Deliver("whit-run-2", "msg_whit_wrong_key",
                   std::string(R"(,"secret":")") + kOtherSecret + "\"");
  BOOST_TEST(HttpStatus(answer) == 401);

  for (const char* id :
       {"msg_whit_corrupt", "msg_whit_stale", "msg_whit_future", "msg_whit_wrong_key"}) {
    BOOST_TEST(PendingRows(id) == 0);
  }
  BOOST_TEST(InboxTotal() == total);
  // No response carried the secret.
  BOOST_TEST(std::string(answer["body"].GetString()).find(std::string(kSecret).substr(6)) ==
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_rotation_with_several_signatures_is_accepted) {
  CreateRun("whit-run-3", "starting");
  const auto answer = Deliver("whit-run-3", "msg_whit_rotation", R"(,"extra_signatures":true)");
  BOOST_TEST(HttpStatus(answer) == 200);
  BOOST_TEST(Str(answer, "body") == R"({"status":"received"})");
}

BOOST_AUTO_TEST_CASE(headers_reach_the_handler_in_any_case_and_the_body_is_checked_after_them) {
  // libfcgi hands every header over as HTTP_<NAME>; nginx folds the case.
  HttpResult r = PostSigned("msg_whit_case", R"({"id":"whit-run-case","status":"starting"})",
                            {"Webhook-ID", "WEBHOOK-TIMESTAMP", "Webhook-Signature"});
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"status":"received"})");

  r = PostSigned("msg_whit_array", "[1]");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(Str(Parse(r.body), "error") == "invalid_json");
  r = Http("POST", TheStack().Url("/api/webhooks/replicate"), "[1]",
           {"Content-Type: application/json"});
  BOOST_TEST(r.status == 401);
  BOOST_TEST(Str(Parse(r.body)["details"], "check") == "missing_headers");
  BOOST_TEST(PendingRows("msg_whit_array") == 0);

  r = Http("GET", TheStack().Url("/api/webhooks/replicate"));
  BOOST_TEST(r.status == 405);
  BOOST_TEST(r.Header("allow") == "POST");
}

BOOST_AUTO_TEST_CASE(a_stored_delivery_pokes_the_worker_socket_next_to_the_database) {
  PokeListener worker;  // stands in for the worker, which this stack does not run
  const Status opened = worker.Open(WorkerPokeSocketPath(TheStack().db_path()));
  BOOST_TEST_REQUIRE(opened.ok(), opened.ToString());
  CreateRun("whit-run-poke", "processing");
  BOOST_TEST(Str(Deliver("whit-run-poke", "msg_whit_poke"), "body") == R"({"status":"received"})");
  BOOST_TEST(worker.Drain());
}

BOOST_AUTO_TEST_CASE(applied_deliveries_show_in_the_job_api) {
  CreateRun("whit-run-4", "processing");
  BOOST_TEST(HttpStatus(Deliver("whit-run-4", "msg_whit_apply_1")) == 200);
  InboxReport report = ApplyInbox();
  BOOST_TEST(report.failed == 0);
  BOOST_TEST(report.applied >= 1);  // with the earlier tests' rows
  BOOST_TEST(JobStatusOf("whit-run-4") == "running");
  BOOST_TEST(PendingRows("msg_whit_apply_1") == 0);

  SetRunStatus("whit-run-4", "succeeded");
  BOOST_TEST(HttpStatus(Deliver("whit-run-4", "msg_whit_apply_2")) == 200);
  // Replicate retries the terminal webhook with the same id.
  BOOST_TEST(Str(Deliver("whit-run-4", "msg_whit_apply_2"), "body") == R"({"status":"duplicate"})");
  report = ApplyInbox();
  BOOST_TEST(report.applied == 1);
  BOOST_TEST(report.failed == 0);
  BOOST_TEST(JobStatusOf("whit-run-4") == "completed");
  BOOST_TEST(ApplyInbox().applied == 0);

  auto events = TheStore().EventsAfter(0, 100000);
  BOOST_TEST_REQUIRE(events.ok());
  int changes = 0;
  for (const auto& e : *events)
    changes += e.job_id == "whit-run-4" && e.type == "job_status_changed";
  BOOST_TEST(changes == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(webhook_secret_from_the_provider,
                      *boost::unit_test::fixture<FetchedSecretStack>())

BOOST_AUTO_TEST_CASE(fetched_once_and_shared_by_the_pool) {
  Sim().Control("POST", "/counters/reset");
  CreateRun("whit-fetch-1", "processing");
  for (int i = 0; i < 8; ++i) {
    const auto answer = Deliver("whit-fetch-1", "msg_whit_fetch_" + std::to_string(i));
    BOOST_TEST(HttpStatus(answer) == 200, "delivery " << i << ": " << Str(answer, "body"));
  }
  // Three handlers served eight deliveries; the first fetched, the others read the cache.
  BOOST_TEST(SecretFetches() == 1);
  auto cached = TheStore().GetServiceState("webhook_secret:replicate");
  BOOST_TEST_REQUIRE(cached.ok());
  BOOST_TEST_REQUIRE(cached->has_value());
  BOOST_TEST((*cached)->value == kSecret);
  // Unauthenticated deliveries do not trigger fetches either.
  Deliver("whit-fetch-1", "msg_whit_fetch_bad", R"(,"corrupt_signature":true)");
  BOOST_TEST(SecretFetches() == 1);
}

BOOST_AUTO_TEST_CASE(an_expired_cache_is_fetched_again_and_a_failed_fetch_is_503) {
  CreateRun("whit-fetch-2", "processing");
  BOOST_TEST(HttpStatus(Deliver("whit-fetch-2", "msg_whit_expire_0")) == 200);
  const int64_t before = SecretFetches();
  // Age the cache past its 300 s.
  BOOST_TEST_REQUIRE(
      TheStore()
          .PutServiceState("webhook_secret:replicate", kSecret, NowMicros() - 301 * kSecond)
          .ok());
  // With no fresh secret, a request that fails a check needing none is 401 at once.
  const auto stale = Deliver("whit-fetch-2", "msg_whit_expire_stale",
                             R"(,"timestamp":)" + std::to_string(std::time(nullptr) - 400));
  BOOST_TEST(HttpStatus(stale) == 401);
  const HttpResult junk = Http("POST", TheStack().Url("/api/webhooks/replicate"), "{}",
                               {"Content-Type: application/json"});
  BOOST_TEST(junk.status == 401);
  BOOST_TEST(SecretFetches() == before);

  Sim().Control("POST", "/faults", R"({"endpoint":"webhook_secret","status":500})");
  auto answer = Deliver("whit-fetch-2", "msg_whit_expire_1");
  BOOST_TEST(HttpStatus(answer) == 503);
  const auto error = Parse(Str(answer, "body"));
  BOOST_TEST(Str(error, "error") == "webhook_secret_unavailable");
  BOOST_TEST(Str(answer, "body").find(std::string(kSecret).substr(6)) == std::string::npos);
  BOOST_TEST(PendingRows("msg_whit_expire_1") == 0);

  // Replicate retries the delivery; by then the secret can be fetched again.
  Sim().Control("DELETE", "/faults");
  answer = Deliver("whit-fetch-2", "msg_whit_expire_1");
  BOOST_TEST(HttpStatus(answer) == 200);
  BOOST_TEST(PendingRows("msg_whit_expire_1") == 1);
  BOOST_TEST(SecretFetches() == before + 2);  // the failed fetch and the good one
}

BOOST_AUTO_TEST_SUITE_END()

// Plain CGI reads the headers from the process environment (HTTP_WEBHOOK_ID, ...).
BOOST_AUTO_TEST_SUITE(webhooks_as_cgi)

BOOST_AUTO_TEST_CASE(signed_delivery_through_plain_cgi) {
  char dir_template[] = "/tmp/jobpulse-cgi-webhook-XXXXXX";
  BOOST_TEST_REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string body = R"({"id":"whit-cgi-run","status":"processing"})";
  const std::string ts = std::to_string(std::time(nullptr));
  const std::string signature =
      SignWebhook(*DecodeWebhookSecret(kSecret), "msg_whit_cgi", ts, body);

  int exit_status = -1;
  const std::string out = testing::RunCgi({{"JOBPULSE_DB", dir + "/cgi.db"},
                                           {"REPLICATE_WEBHOOK_SECRET", kSecret},
                                           {"REQUEST_METHOD", "POST"},
                                           {"REQUEST_URI", "/api/webhooks/replicate"},
                                           {"CONTENT_LENGTH", std::to_string(body.size())},
                                           {"CONTENT_TYPE", "application/json"},
                                           {"HTTP_WEBHOOK_ID", "msg_whit_cgi"},
                                           {"HTTP_WEBHOOK_TIMESTAMP", ts},
                                           {"HTTP_WEBHOOK_SIGNATURE", signature}},
                                          body, &exit_status);
  BOOST_TEST(exit_status == 0);
  BOOST_TEST(out.rfind("Status: 200 OK\r\n", 0) == 0u, out);
  BOOST_TEST(out.substr(out.find("\r\n\r\n") + 4) == R"({"status":"received"})");

  {
    auto store = Store::Open(dir + "/cgi.db");
    BOOST_TEST_REQUIRE(store.ok(), store.status().ToString());
    auto pending = (*store)->PendingDeliveries(10);
    BOOST_TEST_REQUIRE(pending.ok());
    BOOST_TEST_REQUIRE(pending->size() == 1u);
    BOOST_TEST((*pending)[0].webhook_id == "msg_whit_cgi");
    BOOST_TEST((*pending)[0].body == body);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
