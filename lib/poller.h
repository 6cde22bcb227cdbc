// The background poller's policy (SPEC §6): whether it runs, how often, and
// how provider trouble slows it down. The worker (lib/worker.h) drives it.
//
// Pure functions and plain values; thread-safe.
#ifndef JOBPULSE_LIB_POLLER_H_
#define JOBPULSE_LIB_POLLER_H_

#include <cstdint>
#include <random>
#include <string>

#include "lib/config.h"

namespace jobpulse {

struct PollingDecision {
  bool enabled = false;
  std::string source;  // "enterprise config" or "auto"
  int interval_seconds = 30;
  std::string interval_source;  // "default", "enterprise config" or "env"
  bool webhook_configured = false;
};

// Enabled when the YAML says enabled: true; disabled when false; when unset,
// enabled iff no provider has a webhook_url.
PollingDecision DecidePolling(const Config& config);

// The worker's startup line, e.g. "job status polling: on (source: auto,
// interval: 30s, interval_source: default, webhook configured: no)".
std::string DescribePolling(const PollingDecision& decision);

// Per-job backoff after `failures` consecutive failed fetches: exponential from
// the poll interval, with ±20 % jitter, capped at 10 minutes (microseconds).
int64_t PollBackoffMicros(int failures, int interval_seconds, std::mt19937_64& rng);

// Per-provider circuit: opens after 5 consecutive failures for 30 s.
class ProviderCircuit {
 public:
  static constexpr int kFailureThreshold = 5;
  static constexpr int64_t kOpenMicros = 30 * 1000000LL;

  // False while open (until `open_until`).
  bool AllowsCalls(int64_t now) const { return now >= open_until_; }
  void RecordSuccess() { consecutive_failures_ = 0; }
  // Returns true when this failure opened the circuit.
  bool RecordFailure(int64_t now);
  // A 429: no calls until now + seconds.
  void PauseFor(int seconds, int64_t now);
  bool open(int64_t now) const { return now < open_until_; }

 private:
  int consecutive_failures_ = 0;
  int64_t open_until_ = 0;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_POLLER_H_
