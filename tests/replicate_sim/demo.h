// Demo mode (--demo): keeps a handful of SimpleTuner-looking trainings moving so
// `make run` shows live progress without a Replicate account. A ticker thread
// advances them every 2 s with realistic log lines (tqdm bars, and every 250
// steps a checkpoint and a validation pass with its own sample bar); each
// finishes after about 2-3 minutes and is replaced by a new one.
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_DEMO_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_DEMO_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

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
  // How one demo training unfolds. Guarded by state_.mu like the runs.
  struct Plan {
    std::string id;
    int64_t processing_at = 0;  // when "starting" turns into "processing"
    double duration_s = 150;    // processing time from start to success
    bool fail = false;
    double fail_at = 0.6;  // progress fraction at which a failing run dies
    double logged = -1;    // progress already written to logs; -1: not started
  };

  void Tick(int64_t now);                           // caller holds state_.mu
  bool Advance(Run& run, Plan& plan, int64_t now);  // true when the run ended
  void Spawn(int64_t now);
  void Prune();
  double Uniform(double lo, double hi);

  SimState& state_;
  std::vector<Plan> plans_;                   // guarded by state_.mu
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
