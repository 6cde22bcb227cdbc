// Helpers for the simulator's own tests (sim_create_it.cc, sim_webhooks_it.cc):
// a simulator for the suite, /v1 calls with the token, and readers of the
// control API's webhook log and counters.
#ifndef JOBPULSE_TESTS_INTEGRATION_SIM_HELPERS_H_
#define JOBPULSE_TESTS_INTEGRATION_SIM_HELPERS_H_

#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "lib/webhook_signature.h"
#include "tests/integration/json_check.h"
#include "tests/integration/sim_receiver.h"
#include "tests/integration/stack.h"

namespace jobpulse::sim_test {

using testing::Eventually;
using testing::Http;
using testing::HttpResult;
using testing::Parse;
using testing::Simulator;
using testing::WebhookReceiver;

// The Standard Webhooks test vector secret.
inline constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
inline const std::string kVersion(64, 'c');

struct SimFixture {
  SimFixture() {
    sim = std::make_unique<Simulator>(std::vector<std::string>{"--webhook-secret", kSecret});
  }
  ~SimFixture() { sim.reset(); }
  static inline std::unique_ptr<Simulator> sim;
};

inline Simulator& Sim() { return *SimFixture::sim; }

inline void ResetSim() {
  Sim().Control("DELETE", "/faults");
  Sim().Control("POST", "/reset");
}

inline std::string Str(const rapidjson::Value& v) {
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : "<not a string>";
}

inline HttpResult V1(const std::string& method, const std::string& path,
                     const std::string& body = "") {
  return Http(method, "http://127.0.0.1:" + std::to_string(Sim().port()) + "/v1" + path, body,
              {"Authorization: Bearer " + std::string(Simulator::kToken),
               "Content-Type: application/json"});
}

inline std::string TrainingsPath() {
  return "/models/acme/trainer/versions/" + kVersion + "/trainings";
}

// Creates a training with `extra` JSON members (",\"webhook\":...") and
// returns its id; fails the test unless the answer is 201.
inline std::string CreateTraining(const std::string& extra = "") {
  const HttpResult r =
      V1("POST", TrainingsPath(), R"({"destination":"me/lora","input":{"steps":10})" + extra + "}");
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  return Str(Parse(r.body)["id"]);
}

inline void Move(const std::string& id, const std::string& what, const std::string& body) {
  Sim().Control("POST", "/runs/" + id + "/" + what, body);
}

// GET /_sim/webhooks's deliveries.
inline rapidjson::Document Deliveries() { return Parse(Sim().Control("GET", "/webhooks")); }

inline size_t DeliveryCount() { return Deliveries()["deliveries"].Size(); }

inline bool WaitForDeliveries(size_t n, int timeout_ms = 5000) {
  return Eventually([&] { return DeliveryCount() >= n; }, timeout_ms, 20);
}

// The events of the log, in order, comma-separated.
inline std::string Events() {
  std::string out;
  const auto doc = Deliveries();
  for (const auto& d : doc["deliveries"].GetArray()) {
    out += (out.empty() ? "" : ",") + Str(d["event"]);
  }
  return out;
}

inline int64_t WebhookCounter(const char* name) {
  return Parse(Sim().Control("GET", "/counters"))["webhooks"][name].GetInt64();
}

inline int64_t Listed(const std::string& path) {
  const HttpResult r = V1("GET", path);
  BOOST_TEST_REQUIRE(r.status == 200);
  return static_cast<int64_t>(Parse(r.body)["results"].Size());
}

// lib/webhook_signature.h's verdict on a delivery the receiver got: "ok" when
// the signature (and a timestamp within 5 minutes) checks out.
inline std::string Verdict(const WebhookReceiver::Request& req) {
  const auto header = [&](const char* name) {
    const auto it = req.headers.find(name);
    return it == req.headers.end() ? std::string() : it->second;
  };
  return WebhookCheckName(VerifyWebhook(kSecret, header("webhook-id"), header("webhook-timestamp"),
                                        header("webhook-signature"), req.body,
                                        static_cast<int64_t>(std::time(nullptr)), 300));
}

inline void CheckInvalid(const HttpResult& r, const std::string& field) {
  BOOST_TEST(r.status == 422);
  BOOST_TEST(r.Header("content-type") == "application/problem+json");
  const auto doc = Parse(r.body);
  BOOST_TEST(doc["status"].GetInt() == 422);
  BOOST_TEST(Str(doc["detail"]).rfind("- " + field + ": ", 0) == 0u, Str(doc["detail"]));
  BOOST_TEST(Str(doc["invalid_fields"][0]["field"]) == field);
}

}  // namespace jobpulse::sim_test

#endif  // JOBPULSE_TESTS_INTEGRATION_SIM_HELPERS_H_
