// Everything the simulator remembers between requests: runs, injected faults,
// request counters and the live configuration, behind one mutex. Requests are
// tiny, so a single lock costs nothing and rules out lock-ordering bugs.
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_STATE_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_STATE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/replicate_sim/model.h"
#include "tests/replicate_sim/webhook_sender.h"

namespace replicate_sim {

// Endpoint names used by faults and counters.
inline constexpr const char* kEndpointNames[] = {
    "list_predictions", "get_prediction",    "cancel_prediction", "list_trainings",
    "get_training",     "cancel_training",   "account",           "webhook_secret",
    "hardware",         "create_prediction", "create_training"};

// How list pages spell their `next` and `previous` links.
inline constexpr const char* kNextLinkModes[] = {"absolute", "replicate", "relative"};

struct Config {
  int page_size = 100;
  int latency_ms = 0;  // added to every /v1 request
  bool gzip = false;
  // "absolute": the simulator's own URLs (http://127.0.0.1:<port>/v1/...);
  // "replicate": https://api.replicate.com/v1/..., as the real API names them
  // (what a client behind a proxy or mirror sees); "relative": /v1/....
  std::string next_links = "absolute";
  std::vector<std::string> tokens;
  std::string webhook_secret;
  // Runs created through /v1 move by themselves when run_seconds > 0: they turn
  // "processing" at the first tick run_start_ms after creation and succeed
  // run_seconds after that. 0 leaves them to the control API, so tests that move
  // runs by hand see nothing else move them. The runner ticks every tick_ms.
  double run_seconds = 0;
  int run_start_ms = 1000;
  int tick_ms = 2000;
};

struct Fault {
  std::string endpoint;  // one of kEndpointNames or "*"
  int status = 0;        // 0: answer normally (after any delay)
  int retry_after = 1;
  bool retry_after_given = false;  // non-429 faults send Retry-After only when asked
  bool retry_after_header = true;
  bool retry_after_body = true;
  // 429 only: when >= 0, the only hint is the detail text ("resets in ~Ns."):
  // no Retry-After header and no retry_after field.
  int retry_after_text = -1;
  int delay_ms = 0;
  bool malformed = false;
  bool drop = false;
  int64_t remaining = -1;  // requests left to affect; -1 until cleared
  // Carry the request out first (a create makes its run), then answer with the
  // fault, as when a provider did the work but the answer was lost.
  bool after_create = false;
};

struct SimState {
  std::mutex mu;
  // Everything below is guarded by mu.
  std::map<std::string, Run> runs;
  std::vector<Fault> faults;  // oldest first; the newest match wins
  uint64_t total_requests = 0;
  std::map<std::string, uint64_t> endpoint_counts;
  std::map<std::string, uint64_t> run_counts;
  Config config;
  Config initial_config;  // what the command line said; POST /_sim/reset restores it
  std::string base_url;   // fixed once listening
  // Bare version id -> the model it was created with, so a prediction created
  // by version alone names its model as Replicate would.
  std::map<std::string, std::string> version_models;

  // Not guarded by mu: it has its own lock, always taken after mu (never the
  // other way round) and never held during a delivery.
  WebhookSender webhooks;
};

// Takes the newest fault matching `endpoint`, consuming one use of its count.
// Caller holds state.mu.
std::optional<Fault> TakeFault(SimState& state, const std::string& endpoint);

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_STATE_H_
