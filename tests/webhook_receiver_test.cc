// WebhookReceiver (lib/webhook_receiver.h) on its own: what it stores, what it
// refuses with which error, and where its secret comes from. The same checks
// through the router and the envelope are in api_test.cc (api_webhooks).
#include "lib/webhook_receiver.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "lib/provider_registry.h"
#include "lib/replicate_client.h"
#include "lib/timestamp.h"
#include "lib/webhook_signature.h"
#include "tests/temp_store.h"

namespace jobpulse {
namespace {

// The Standard Webhooks test vector secret (reference/replicate.md §4).
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr int64_t kNow = 1764320000 * kMicrosPerSecond;

std::string RunBody(const std::string& id) {
  return R"({"id":")" + id + R"(","status":"processing","created_at":"2026-11-28T09:00:00Z"})";
}

std::string DetailOf(const Status& status, const std::string& key) {
  for (const auto& [name, value] : status.details()) {
    if (name == key) return value;
  }
  return "";
}

HttpRequest Signed(const std::string& webhook_id, const std::string& body,
                   const std::string& secret = kSecret, int64_t now = kNow) {
  const std::string ts = std::to_string(now / kMicrosPerSecond);
  const auto key = DecodeWebhookSecret(secret);
  BOOST_REQUIRE(key.has_value());
  HttpRequest request{"POST", "/api/webhooks/replicate", "", "", body, {}};
  request.headers = {{"webhook-id", webhook_id},
                     {"webhook-timestamp", ts},
                     {"webhook-signature", SignWebhook(*key, webhook_id, ts, body)}};
  return request;
}

// A store, a configuration whose database is that store's (so the intake
// socket is one no worker listens on: deliveries go to the inbox), and the
// Replicate provider without a token (a secret fetch fails).
struct ReceiverFixture : testing::TempStore {
  ReceiverFixture() { config.database_path.value = dir + "/jobs.db"; }

  Result<bool> Receive(const HttpRequest& request, int64_t now = kNow) {
    if (!receiver) receiver = std::make_unique<WebhookReceiver>(config);
    if (!provider) provider = MakeProvider("replicate", config);
    return receiver->Receive(request, *store, *provider, now);
  }

  std::vector<std::string> StoredIds() {
    auto pending = store->PendingDeliveries(100);
    BOOST_REQUIRE(pending.ok());
    std::vector<std::string> ids;
    for (const auto& d : *pending) ids.push_back(d.webhook_id);
    return ids;
  }

  Config config;
  std::unique_ptr<WebhookReceiver> receiver;
  std::unique_ptr<Provider> provider;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(webhook_receiver)

BOOST_FIXTURE_TEST_CASE(a_signed_delivery_is_stored_once, ReceiverFixture) {
  config.replicate.webhook_secret.value = kSecret;
  auto first = Receive(Signed("msg_1", RunBody("r8-a")));
  BOOST_TEST_REQUIRE(first.ok(), first.status().ToString());
  BOOST_TEST(*first == true);
  auto again = Receive(Signed("msg_1", RunBody("r8-a")));
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(*again == false);
  BOOST_TEST(StoredIds() == std::vector<std::string>{"msg_1"});
}

BOOST_FIXTURE_TEST_CASE(a_wrong_signature_stores_nothing, ReceiverFixture) {
  config.replicate.webhook_secret.value = kSecret;
  auto r = Receive(Signed("msg_2", RunBody("r8-b"), "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  BOOST_TEST(!r.ok());
  BOOST_TEST((r.status().code() == Status::Code::kUnauthenticated));
  BOOST_TEST(r.status().error() == "invalid_signature");
  BOOST_TEST(DetailOf(r.status(), "check") == "bad_signature");
  BOOST_TEST(StoredIds().empty());
}

BOOST_FIXTURE_TEST_CASE(bodies_that_are_not_a_run_are_refused_after_the_signature,
                        ReceiverFixture) {
  config.replicate.webhook_secret.value = kSecret;
  const std::pair<std::string, std::string> cases[] = {
      {"[1,2]", "invalid_json"},
      {"{\"id\":", "invalid_json"},
      {std::string(100, '[') + std::string(100, ']'), "invalid_json"},
      {R"({"id":"a/b","status":"processing"})", "invalid_run_id"},
      {R"({"status":"processing"})", "invalid_run_id"}};
  int n = 0;
  for (const auto& [body, error] : cases) {
    auto r = Receive(Signed("msg_bad_" + std::to_string(n++), body));
    BOOST_TEST(!r.ok(), body);
    BOOST_TEST((r.status().code() == Status::Code::kInvalidArgument), body);
    BOOST_TEST(r.status().error() == error, body);
  }
  BOOST_TEST(StoredIds().empty());
}

BOOST_FIXTURE_TEST_CASE(unsigned_mode_still_needs_a_webhook_id, ReceiverFixture) {
  config.replicate.webhook_require_signature.value = false;
  HttpRequest request{"POST", "/api/webhooks/replicate", "", "", RunBody("r8-c"), {}};
  auto r = Receive(request);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.status().error() == "missing_webhook_id");
  request.headers = {{"webhook-id", "msg_unsigned"}};
  auto stored = Receive(request);
  BOOST_TEST_REQUIRE(stored.ok(), stored.status().ToString());
  BOOST_TEST(*stored == true);
  BOOST_TEST(StoredIds() == std::vector<std::string>{"msg_unsigned"});
}

// No secret configured: a fresh cached one (another handler fetched it)
// verifies; an expired one is not used, and without a token nothing can be
// fetched: 503's kUnavailable, nothing stored.
BOOST_FIXTURE_TEST_CASE(the_secret_comes_from_the_cache_while_it_is_fresh, ReceiverFixture) {
  BOOST_TEST_REQUIRE(store->PutServiceState("webhook_secret:replicate", kSecret, kNow).ok());
  auto fresh = Receive(Signed("msg_3", RunBody("r8-d")));
  BOOST_TEST_REQUIRE(fresh.ok(), fresh.status().ToString());
  BOOST_TEST(*fresh == true);

  const int64_t later = kNow + 300 * kMicrosPerSecond;
  auto expired = Receive(Signed("msg_4", RunBody("r8-e"), kSecret, later), later);
  BOOST_TEST(!expired.ok());
  BOOST_TEST((expired.status().code() == Status::Code::kUnavailable));
  BOOST_TEST(expired.status().error() == "webhook_secret_unavailable");
  BOOST_TEST(StoredIds() == std::vector<std::string>{"msg_3"});
}

// Without any secret, a delivery that fails a check needing none (here: no
// headers) is 401 before the provider is asked.
BOOST_FIXTURE_TEST_CASE(a_delivery_without_headers_never_causes_a_secret_fetch, ReceiverFixture) {
  HttpRequest request{"POST", "/api/webhooks/replicate", "", "", RunBody("r8-f"), {}};
  auto r = Receive(request);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.status().error() == "invalid_signature");
  BOOST_TEST(DetailOf(r.status(), "check") == "missing_headers");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
