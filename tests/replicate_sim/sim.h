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

class Simulator {
 public:
  explicit Simulator(SimState& state) : state_(state) {}

  HttpResponse Handle(const HttpRequest& req);

 private:
  // api.cc
  HttpResponse HandleApi(const HttpRequest& req);
  HttpResponse ApiAfterRouting(const HttpRequest& req, const std::string& endpoint,
                               const std::string& id);
  HttpResponse List(const HttpRequest& req, bool trainings_only);
  HttpResponse Get(const std::string& id, bool trainings_only);
  HttpResponse Cancel(const std::string& id, bool trainings_only);

  // control.cc
  HttpResponse HandleControl(const HttpRequest& req);
  HttpResponse CreateRun(const HttpRequest& req);
  HttpResponse UpdateRun(const HttpRequest& req, const std::string& id, const std::string& action);
  HttpResponse SendWebhook(const HttpRequest& req, const std::string& id);
  HttpResponse AddFault(const HttpRequest& req);
  HttpResponse Counters();
  HttpResponse UpdateConfig(const HttpRequest& req);
  HttpResponse ConfigJson();  // caller holds state_.mu
  HttpResponse FaultsJson();  // caller holds state_.mu

  SimState& state_;
};

// Problem-details error (application/problem+json), as Replicate sends them.
HttpResponse Problem(int status, const std::string& detail);

// Success body with Content-Type application/json.
HttpResponse Json(int status, std::string body);

// "/v1/predictions/abc/" -> {"v1", "predictions", "abc"}; empty segments dropped.
std::vector<std::string> SplitPath(const std::string& path);

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_SIM_H_
