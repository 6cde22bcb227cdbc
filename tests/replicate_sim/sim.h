// Request handling for the simulator: the Replicate API under /v1 (api.cc) and
// the unauthenticated control API under /_sim (control.cc). Handle() is called
// concurrently from connection threads; all shared data lives in SimState.
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_SIM_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_SIM_H_

#include <string>
#include <vector>

#include "tests/replicate_sim/server.h"
#include "tests/replicate_sim/state.h"

namespace replicate_sim {

// A /v1 path, mapped to its endpoint (one of kEndpointNames).
struct ApiRoute {
  std::string endpoint;              // empty: no such endpoint
  std::string allow;                 // the methods the path allows, "GET" or "GET, POST"
  std::string id;                    // run id of get/cancel
  std::string owner, name, version;  // the model (and version) of a create
};

class Simulator {
 public:
  explicit Simulator(SimState& state) : state_(state) {}

  HttpResponse Handle(const HttpRequest& req);

 private:
  // api.cc
  HttpResponse HandleApi(const HttpRequest& req);
  HttpResponse ApiAfterRouting(const HttpRequest& req, const ApiRoute& route);
  HttpResponse List(const HttpRequest& req, bool trainings_only);
  HttpResponse Get(const std::string& id, bool trainings_only);
  HttpResponse Cancel(const std::string& id, bool trainings_only);

  // api_create.cc
  HttpResponse CreatePrediction(const HttpRequest& req, const ApiRoute& route);
  HttpResponse CreateTraining(const HttpRequest& req, const ApiRoute& route);
  HttpResponse InsertCreated(Run run);

  // control.cc
  HttpResponse HandleControl(const HttpRequest& req);
  HttpResponse Counters();
  HttpResponse UpdateConfig(const HttpRequest& req);
  HttpResponse ConfigJson();  // caller holds state_.mu
  HttpResponse WebhooksJson();

  // control_runs.cc
  HttpResponse ControlRuns(const HttpRequest& req, const std::vector<std::string>& path);
  HttpResponse CreateRun(const HttpRequest& req);
  HttpResponse UpdateRun(const HttpRequest& req, const std::string& id, const std::string& action);
  HttpResponse SendWebhook(const HttpRequest& req, const std::string& id);

  // control_faults.cc
  HttpResponse AddFault(const HttpRequest& req);
  HttpResponse FaultsJson();  // caller holds state_.mu

  SimState& state_;
};

// Problem-details error (application/problem+json), as Replicate sends them.
HttpResponse Problem(int status, const std::string& detail);

// Success body with Content-Type application/json.
HttpResponse Json(int status, std::string body);

// Control API error, {"error": "...", "status": N}.
HttpResponse ControlError(int status, const std::string& message);
// The control API's 405, with the Allow header.
HttpResponse WrongMethod(const std::string& method, const char* allowed);

// Control answers use a fixed six fractional digits: only the /v1 surface and
// webhooks vary precision, so a test reading control output gets stable text and
// the /v1 precision cycle is not advanced by test setup.
inline constexpr int kControlDigits = 6;

// "/v1/predictions/abc/" -> {"v1", "predictions", "abc"}; empty segments dropped.
std::vector<std::string> SplitPath(const std::string& path);

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_SIM_H_
