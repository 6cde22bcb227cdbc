// lib/submission.h as a unit: the field each bad body names, priorities, the
// Idempotency-Key rule, new job ids, what MakeSubmission records, and the
// create read back from a queued request. Through the API (status codes, the
// database before and after): tests/api_queue_test.cc.
#include "lib/submission.h"

#include <boost/test/unit_test.hpp>
#include <set>
#include <string>

#include "lib/job.h"
#include "lib/run_match.h"

namespace jobpulse {
namespace {

const char kVersion[] = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa";

std::string FieldOf(const std::string& body) {
  auto parsed = ParseSubmitRequest(body);
  if (parsed.ok()) return "(accepted)";
  const auto& details = parsed.status().details();
  for (const auto& [key, value] : details) {
    if (key == "field") return value;
  }
  return parsed.status().error();
}

BOOST_AUTO_TEST_SUITE(submission)

BOOST_AUTO_TEST_CASE(each_bad_body_names_its_field) {
  const std::string training =
      std::string(R"({"kind":"training","model":"acme/trainer","version":")") + kVersion +
      R"(","destination":"me/out","input":{"steps":10})";
  BOOST_TEST(FieldOf(training + "}") == "(accepted)");
  BOOST_TEST(FieldOf("[]") == "invalid_json");
  BOOST_TEST(FieldOf("{") == "invalid_json");
  BOOST_TEST(FieldOf(R"({"kind":"train"})") == "kind");
  BOOST_TEST(FieldOf(R"({"kind":"prediction","model":"nope","input":{}})") == "model");
  BOOST_TEST(FieldOf(R"({"kind":"training","model":"a/b","input":{}})") == "version");
  BOOST_TEST(FieldOf(std::string(R"({"kind":"training","model":"a/b","input":{},"version":")") +
                     kVersion + "\"}") == "destination");
  BOOST_TEST(FieldOf(R"({"kind":"prediction","model":"a/b","destination":"c/d","input":{}})") ==
             "destination");
  BOOST_TEST(FieldOf(R"({"kind":"prediction","model":"a/b","input":[1]})") == "input");
  BOOST_TEST(FieldOf(training + R"(,"priority":51})") == "priority");
  BOOST_TEST(FieldOf(training + R"(,"priority":"asap"})") == "priority");
  BOOST_TEST(FieldOf(training + R"(,"user_id":"a b"})") == "user_id");
  BOOST_TEST(FieldOf(training + R"(,"config_name":""})") == "config_name");
}

BOOST_AUTO_TEST_CASE(priorities_by_name_or_number) {
  BOOST_TEST(ParsePriorityBody(R"({"priority":"urgent"})").value() == 30);
  BOOST_TEST(ParsePriorityBody(R"({"priority":"low"})").value() == 0);
  BOOST_TEST(ParsePriorityBody(R"({"priority":50})").value() == 50);
  BOOST_TEST(!ParsePriorityBody(R"({"priority":-1})").ok());
  BOOST_TEST(!ParsePriorityBody(R"({"priority":2.5})").ok());
  BOOST_TEST(!ParsePriorityBody(R"({})").ok());
}

BOOST_AUTO_TEST_CASE(idempotency_keys_are_printable_ascii_up_to_255) {
  BOOST_TEST(IsValidIdempotencyKey("a"));
  BOOST_TEST(IsValidIdempotencyKey(std::string(255, 'k')));
  BOOST_TEST(!IsValidIdempotencyKey(""));
  BOOST_TEST(!IsValidIdempotencyKey(std::string(256, 'k')));
  BOOST_TEST(!IsValidIdempotencyKey("a b"));
  BOOST_TEST(!IsValidIdempotencyKey("caf\xc3\xa9"));
}

BOOST_AUTO_TEST_CASE(new_job_ids_follow_the_rule_and_differ) {
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    const std::string id = NewSubmittedJobId();
    BOOST_TEST(id.size() == 28u);
    BOOST_TEST(id.rfind("sub-", 0) == 0u);
    BOOST_TEST(IsValidJobId(id));
    ids.insert(id);
  }
  BOOST_TEST(ids.size() == 200u);
}

BOOST_AUTO_TEST_CASE(a_submission_records_the_create_and_reads_back) {
  const std::string body = std::string(R"({"kind":"training","model":"acme/trainer","version":")") +
                           kVersion +
                           R"(","destination":"me/out","input":{ "steps" : 10, "lr": 0.5 },)"
                           R"("priority":"high","user_id":"ann","config_name":"flux-lora"})";
  auto request = ParseSubmitRequest(body);
  BOOST_TEST_REQUIRE(request.ok(), request.status().ToString());
  const Submission s = MakeSubmission(*request, "sub-x", "replicate", std::string("key-1"));
  BOOST_TEST(s.job_id == "sub-x");
  BOOST_TEST(s.priority == 20);
  BOOST_TEST(s.user_id.value_or("") == "ann");
  BOOST_TEST(s.idempotency_key.value_or("") == "key-1");
  BOOST_TEST(s.metadata.at("kind") == "training");
  BOOST_TEST(s.metadata.at("destination") == "me/out");
  BOOST_TEST(s.request_json ==
             std::string(R"({"kind":"training","model":"acme/trainer","version":")") + kVersion +
                 R"(","destination":"me/out","input":{"steps":10,"lr":0.5}})");
  BOOST_TEST(s.input_digest == InputDigest(R"({"steps":10,"lr":0.5})"));

  auto create = CreateRunRequestFrom(s.request_json, std::string("https://h/hook?job_id=sub-x"));
  BOOST_TEST_REQUIRE(create.ok(), create.status().ToString());
  BOOST_TEST(create->kind == "training");
  BOOST_TEST(create->model == "acme/trainer");
  BOOST_TEST(create->version.value_or("") == kVersion);
  BOOST_TEST(create->destination.value_or("") == "me/out");
  BOOST_TEST(create->input_json == R"({"steps":10,"lr":0.5})");
  BOOST_TEST(create->webhook_url.value_or("") == "https://h/hook?job_id=sub-x");
}

BOOST_AUTO_TEST_CASE(a_queued_request_that_is_not_ours_is_an_internal_error) {
  for (const char* stored : {"", "[]", R"({"kind":"prediction"})",
                             R"({"kind":"prediction","model":"a/b","input":"x"})"}) {
    auto create = CreateRunRequestFrom(stored, std::nullopt);
    BOOST_TEST(!create.ok(), stored);
    BOOST_TEST(create.status().error() == "invalid_queued_request");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
