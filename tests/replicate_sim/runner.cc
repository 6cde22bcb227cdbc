#include "tests/replicate_sim/runner.h"

#include <chrono>

#include "lib/timestamp.h"
#include "tests/replicate_sim/progress.h"

namespace replicate_sim {

void Runner::Start() {
  thread_ = std::thread([this] {
    using Clock = std::chrono::steady_clock;
    auto last_tick = Clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stop_; })) {
      lock.unlock();
      {
        std::lock_guard<std::mutex> state_lock(state_.mu);
        const auto now = Clock::now();
        if (now - last_tick >= std::chrono::milliseconds(state_.config.tick_ms)) {
          last_tick = now;
          Tick(jobpulse::NowMicros());
        }
      }
      lock.lock();
    }
  });
}

void Runner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Runner::Tick(int64_t now) {
  for (auto& [id, run] : state_.runs) {
    if (!run.pace) continue;
    // Canceled (or finished by hand) since the last tick: nothing left to run.
    if (IsTerminal(run.status)) {
      run.pace.reset();
      continue;
    }
    const RunDigest before = Digest(run);
    if (AdvanceRun(run, now)) run.pace.reset();
    NotifyChange(state_, before, run);
  }
}

}  // namespace replicate_sim
