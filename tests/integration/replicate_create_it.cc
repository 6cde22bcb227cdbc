// ReplicateClient::CreateRun (lib/replicate_create.cc) against the simulator:
// the three create endpoints, the webhook that carries the local job id, a
// refusal as a final error, and the answers after which a run may exist
// anyway (a 5xx or a dropped connection after the create, a 429).
#include <boost/test/unit_test.hpp>
#include <string>

#include "lib/replicate_client.h"
#include "tests/integration/sim_helpers.h"

namespace jobpulse::sim_test {
namespace {

CreateRunRequest Training(const std::string& input = R"({"steps":10})") {
  CreateRunRequest r;
  r.kind = "training";
  r.model = "acme/trainer";
  r.version = kVersion;
  r.destination = "me/lora";
  r.input_json = input;
  r.webhook_url = "http://127.0.0.1:9/api/webhooks/replicate?job_id=sub-abc";
  return r;
}

ReplicateClient Client() {
  return ReplicateClient(std::string(Simulator::kToken), Sim().base_url());
}

BOOST_AUTO_TEST_SUITE(replicate_create, *boost::unit_test::fixture<SimFixture>())

BOOST_AUTO_TEST_CASE(each_kind_is_created_at_its_endpoint_with_the_webhook) {
  ResetSim();
  ReplicateClient client = Client();
  auto training = client.CreateRun(Training(), 5000);
  BOOST_REQUIRE_MESSAGE(training.ok(), training.status().ToString());
  BOOST_TEST(training->external_id.size() == 26u);
  BOOST_TEST(training->provider_status.value_or("") == "starting");
  const auto run = Parse(Sim().Control("GET", "/runs/" + training->external_id));
  BOOST_TEST(Str(run["model"]) == "acme/trainer");
  BOOST_TEST(Str(run["version"]) == kVersion);
  BOOST_TEST(Str(run["webhook"]) == "http://127.0.0.1:9/api/webhooks/replicate?job_id=sub-abc");
  BOOST_TEST(run["webhook_events_filter"].Size() == 4u);
  BOOST_TEST(run["input"]["steps"].GetInt() == 10);

  CreateRunRequest versioned = Training();
  versioned.kind = "prediction";
  versioned.destination.reset();
  versioned.webhook_url.reset();
  auto prediction = client.CreateRun(versioned, 5000);
  BOOST_REQUIRE_MESSAGE(prediction.ok(), prediction.status().ToString());
  BOOST_TEST(!Parse(Sim().Control("GET", "/runs/" + prediction->external_id)).HasMember("webhook"));
  CreateRunRequest official = versioned;
  official.version.reset();
  official.model = "black/flux";
  auto by_model = client.CreateRun(official, 5000);
  BOOST_REQUIRE_MESSAGE(by_model.ok(), by_model.status().ToString());
  BOOST_TEST(Str(Parse(Sim().Control("GET", "/runs/" + by_model->external_id))["model"]) ==
             "black/flux");
  const auto counters = Parse(Sim().Control("GET", "/counters"));
  BOOST_TEST(counters["endpoints"]["create_training"].GetInt() == 1);
  BOOST_TEST(counters["endpoints"]["create_prediction"].GetInt() == 2);
}

BOOST_AUTO_TEST_CASE(a_refusal_is_final_and_a_lost_answer_is_not) {
  ResetSim();
  ReplicateClient client = Client();
  // 422 from the provider (an input that is not an object): final.
  auto refused = client.CreateRun(Training("[1]"), 5000);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST((refused.status().code() == Status::Code::kInvalidArgument));
  BOOST_TEST(refused.status().error() == "provider_rejected");
  BOOST_TEST(refused.status().message().find("HTTP 422") != std::string::npos,
             refused.status().message());
  BOOST_TEST(Listed("/trainings") == 0);

  // A 504 after the run was made: an upstream error, and the run exists.
  Sim().Control("POST", "/faults",
                R"({"endpoint":"create_training","status":504,"after_create":true,"count":1})");
  auto lost = client.CreateRun(Training(), 5000);
  BOOST_REQUIRE(!lost.ok());
  BOOST_TEST((lost.status().code() == Status::Code::kUpstream));
  BOOST_TEST(Listed("/trainings") == 1);

  // A timeout: the connection is held past the call's timeout.
  Sim().Control("POST", "/faults",
                R"({"endpoint":"create_training","after_create":true,"delay_ms":1500,)"
                R"("drop":true,"count":1})");
  auto timed_out = client.CreateRun(Training(), 500);
  BOOST_REQUIRE(!timed_out.ok());
  BOOST_TEST((timed_out.status().code() == Status::Code::kUpstream));
  BOOST_TEST(Eventually([] { return Listed("/trainings") == 2; }, 5000));

  // 429: a wait, with the provider's Retry-After.
  Sim().Control("POST", "/faults",
                R"({"endpoint":"create_training","status":429,"retry_after":7,"count":1})");
  auto throttled = client.CreateRun(Training(), 5000);
  BOOST_REQUIRE(!throttled.ok());
  BOOST_TEST((throttled.status().code() == Status::Code::kRateLimited));
  BOOST_TEST(throttled.status().retry_after_seconds() == 7);
  BOOST_TEST(Listed("/trainings") == 2);

  // Without a token nothing is sent.
  ReplicateClient unconfigured(std::nullopt, Sim().base_url());
  auto none = unconfigured.CreateRun(Training(), 5000);
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST(none.status().error() == "provider_not_configured");
  BOOST_TEST(Parse(Sim().Control("GET", "/counters"))["endpoints"]["create_training"].GetInt() ==
             4);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse::sim_test
