// Unit tests for lib/webhook_signature.h: the Svix test vector from
// reference/replicate.md §4, multi-entry headers, versions, timestamp tolerance and
// secret decoding.
#include "lib/webhook_signature.h"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>

namespace jobpulse {
namespace {

// The Standard Webhooks vector that Replicate's own client libraries test against.
constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kId[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr char kTimestamp[] = "1614265330";
constexpr int64_t kNow = 1614265330;
constexpr char kBody[] = R"({"test": 2432232314})";
constexpr char kSignature[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
constexpr int64_t kTolerance = 300;

WebhookCheck Verify(std::string_view signature_header, int64_t now = kNow,
                    std::string_view body = kBody, std::string_view timestamp = kTimestamp) {
  return VerifyWebhook(kSecret, kId, timestamp, signature_header, body, now, kTolerance);
}

std::string Name(WebhookCheck c) { return WebhookCheckMessage(c); }

BOOST_AUTO_TEST_SUITE(webhook_signature)

BOOST_AUTO_TEST_CASE(every_check_has_a_stable_name_and_a_message) {
  const std::pair<WebhookCheck, const char*> names[] = {
      {WebhookCheck::kOk, "ok"},
      {WebhookCheck::kMissingHeaders, "missing_headers"},
      {WebhookCheck::kBadSecret, "bad_secret"},
      {WebhookCheck::kBadTimestamp, "bad_timestamp"},
      {WebhookCheck::kStaleTimestamp, "stale_timestamp"},
      {WebhookCheck::kBadSignature, "bad_signature"}};
  for (const auto& [check, name] : names) {
    BOOST_TEST(std::string(WebhookCheckName(check)) == name);
    BOOST_TEST(std::string(WebhookCheckMessage(check)) != "unknown webhook check result");
  }
  BOOST_TEST(std::string(WebhookCheckMessage(WebhookCheck::kBadSignature)) ==
             "no webhook-signature entry matches");
}

BOOST_AUTO_TEST_CASE(signs_the_known_vector) {
  const std::optional<std::string> key = DecodeWebhookSecret(kSecret);
  BOOST_REQUIRE(key.has_value());
  BOOST_TEST(key->size() == 24u);
  BOOST_TEST(SignWebhook(*key, kId, kTimestamp, kBody) == kSignature);
}

BOOST_AUTO_TEST_CASE(bare_base64_secret_decodes_like_the_prefixed_one) {
  BOOST_CHECK(DecodeWebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") ==
              DecodeWebhookSecret(kSecret));
}

BOOST_AUTO_TEST_CASE(verifies_the_known_vector) {
  BOOST_TEST(Name(Verify(kSignature)) == Name(WebhookCheck::kOk));
}

BOOST_AUTO_TEST_CASE(invalid_signature_fails) {
  BOOST_TEST(Name(Verify("v1,invalid_signature")) == Name(WebhookCheck::kBadSignature));
}

BOOST_AUTO_TEST_CASE(any_entry_may_match) {
  const std::string header = std::string("v1,invalid_signature ") + kSignature;
  BOOST_TEST(Name(Verify(header)) == Name(WebhookCheck::kOk));
  // Order does not matter either.
  BOOST_TEST(Name(Verify(std::string(kSignature) + " v1,invalid_signature")) ==
             Name(WebhookCheck::kOk));
}

BOOST_AUTO_TEST_CASE(other_versions_and_commaless_entries_are_skipped) {
  const std::string bare = std::string(kSignature).substr(3);
  BOOST_TEST(Name(Verify("v2," + bare)) == Name(WebhookCheck::kBadSignature));
  BOOST_TEST(Name(Verify(bare)) == Name(WebhookCheck::kBadSignature));
  BOOST_TEST(Name(Verify("v2," + bare + " garbage " + kSignature)) == Name(WebhookCheck::kOk));
}

BOOST_AUTO_TEST_CASE(timestamp_tolerance_is_inclusive_in_both_directions) {
  BOOST_TEST(Name(Verify(kSignature, kNow + 300)) == Name(WebhookCheck::kOk));
  BOOST_TEST(Name(Verify(kSignature, kNow - 300)) == Name(WebhookCheck::kOk));
  BOOST_TEST(Name(Verify(kSignature, kNow + 301)) == Name(WebhookCheck::kStaleTimestamp));
  BOOST_TEST(Name(Verify(kSignature, kNow - 301)) == Name(WebhookCheck::kStaleTimestamp));
}

BOOST_AUTO_TEST_CASE(non_numeric_timestamp_is_rejected) {
  for (const char* ts : {"abc", "1614265330.5", "-1614265330", " 1614265330",
                         "2021-02-25T15:02:10Z", "1234567890123456789"}) {
    BOOST_TEST_CONTEXT("timestamp: " << ts) {
      BOOST_TEST(Name(Verify(kSignature, kNow, kBody, ts)) == Name(WebhookCheck::kBadTimestamp));
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_headers) {
  BOOST_TEST(Name(VerifyWebhook(kSecret, "", kTimestamp, kSignature, kBody, kNow, kTolerance)) ==
             Name(WebhookCheck::kMissingHeaders));
  BOOST_TEST(Name(VerifyWebhook(kSecret, kId, "", kSignature, kBody, kNow, kTolerance)) ==
             Name(WebhookCheck::kMissingHeaders));
  BOOST_TEST(Name(VerifyWebhook(kSecret, kId, kTimestamp, "", kBody, kNow, kTolerance)) ==
             Name(WebhookCheck::kMissingHeaders));
}

BOOST_AUTO_TEST_CASE(body_changed_by_one_byte_fails) {
  BOOST_TEST(Name(Verify(kSignature, kNow, R"({"test": 2432232315})")) ==
             Name(WebhookCheck::kBadSignature));
  // Re-serialised JSON (no space) is a different body too.
  BOOST_TEST(Name(Verify(kSignature, kNow, R"({"test":2432232314})")) ==
             Name(WebhookCheck::kBadSignature));
}

BOOST_AUTO_TEST_CASE(garbage_secret_is_bad_secret) {
  for (const char* secret : {"invalid_secret_format", "whsec_", "", "whsec_not base64!", "whsec_A",
                             "bad", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"}) {
    BOOST_TEST_CONTEXT("secret: " << secret) {
      BOOST_TEST(!DecodeWebhookSecret(secret).has_value());
      BOOST_TEST(Name(VerifyWebhook(secret, kId, kTimestamp, kSignature, kBody, kNow,
                                    kTolerance)) == Name(WebhookCheck::kBadSecret));
    }
  }
}

BOOST_AUTO_TEST_CASE(messages_never_contain_the_secret) {
  for (WebhookCheck c :
       {WebhookCheck::kOk, WebhookCheck::kMissingHeaders, WebhookCheck::kBadSecret,
        WebhookCheck::kBadTimestamp, WebhookCheck::kStaleTimestamp, WebhookCheck::kBadSignature}) {
    const std::string message = WebhookCheckMessage(c);
    BOOST_TEST(!message.empty());
    BOOST_TEST(message.find("MfKQ9r8G") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(sign_then_verify_round_trips_for_other_keys) {
  const std::string secret = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
  const std::optional<std::string> key = DecodeWebhookSecret(secret);
  BOOST_REQUIRE(key.has_value());
  const std::string body = R"({"id":"abc","status":"succeeded"})";
  const std::string sig = SignWebhook(*key, "msg_x", "1700000000", body);
  BOOST_TEST(sig.size() == 47u);  // "v1," + 44 base64 chars
  BOOST_TEST(Name(VerifyWebhook(secret, "msg_x", "1700000000", sig, body, 1700000000, 300)) ==
             Name(WebhookCheck::kOk));
  // The same signature under the first fixture's secret must not verify.
  BOOST_TEST(Name(VerifyWebhook(kSecret, "msg_x", "1700000000", sig, body, 1700000000, 300)) ==
             Name(WebhookCheck::kBadSignature));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
