// Demo mode (--demo): keeps a handful of SimpleTuner-looking trainings moving so
// `make run` shows live progress without a Replicate account. Each demo run has
// a Pace, so the runner (runner.h) advances it with realistic log lines
// (progress.h); each finishes after about 2-3 minutes, and a ticker thread here
// replaces it by a new one every 2 s.
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_DEMO_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_DEMO_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "tests/replicate_sim/state.h"

namespace replicate_sim {

class Demo {
 public:
  explicit Demo(SimState& state);
  ~Demo();
  Demo(const Demo&) = delete;
  Demo& operator=(const Demo&) = delete;

  // Creates the initial runs: one processing, one starting, one that will fail
  // with "CUDA out of memory", and one that succeeded an hour ago.
  void Seed();
  void Start();
  void Stop();

 private:
  void Tick(int64_t now);  // caller holds state_.mu
  void Spawn(int64_t now);
  void Prune();
  double Uniform(double lo, double hi);

  SimState& state_;
  std::set<std::string> demo_ids_;            // guarded by state_.mu
  std::string history_id_;                    // the seeded hour-old run, never pruned
  int spawned_ = 0;                           // guarded by state_.mu
  std::mt19937 rng_{std::random_device{}()};  // guarded by state_.mu

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
};

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_DEMO_H_
