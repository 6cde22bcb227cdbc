// Moves every run that has a Pace (demo runs, and runs created through /v1
// while run_seconds > 0) one step per tick, and queues the webhook deliveries
// those steps cause. The tick is the live tick_ms setting, re-read every 50 ms
// so a test that shortens it does not wait out the old one.
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_RUNNER_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_RUNNER_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "tests/replicate_sim/state.h"

namespace replicate_sim {

class Runner {
 public:
  explicit Runner(SimState& state) : state_(state) {}
  ~Runner() { Stop(); }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void Start();
  void Stop();

 private:
  void Tick(int64_t now);  // caller holds state_.mu

  SimState& state_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
};

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_RUNNER_H_
