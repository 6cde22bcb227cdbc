#include "tests/replicate_sim/demo.h"

#include <chrono>

#include "lib/json_writer.h"
#include "lib/timestamp.h"
#include "tests/replicate_sim/progress.h"

namespace replicate_sim {
namespace {

constexpr int kMaxDemoRuns = 8;
constexpr int kActive = 3;
constexpr int64_t kSecond = 1000000;

std::string DemoInput(int n) {
  jobpulse::JsonWriter w;
  w.BeginObject()
      .Key("hub_model_id")
      .String("simuser/lora-demo-" + std::to_string(n))
      .Key("max_train_steps")
      .Int(kTrainSteps)
      .Key("learning_rate")
      .Double(1e-4)
      .EndObject();
  return w.str();
}

Run NewRun(int n, int64_t created_at) {
  Run run;
  run.id = RandomRunId();
  run.training = true;
  run.model = kDefaultModel;
  run.version = VersionForModel(run.model);
  run.input_json = DemoInput(n);
  run.created_at = created_at;
  return run;
}

}  // namespace

Demo::Demo(SimState& state) : state_(state) {}

Demo::~Demo() { Stop(); }

double Demo::Uniform(double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng_);
}

void Demo::Seed() {
  const int64_t now = jobpulse::NowMicros();
  std::lock_guard<std::mutex> lock(state_.mu);

  // Finished an hour ago, with its whole log.
  Run history = NewRun(++spawned_, now - 65 * 60 * kSecond);
  ApplyStatus(history, "processing", history.created_at + 40 * kSecond);
  history.logs = BackfillLogs(1.0, 150);
  ApplyStatus(history, "succeeded", *history.started_at + 150 * kSecond);
  history_id_ = history.id;

  // Mid-run: started a minute ago, logs backfilled up to now.
  Run running = NewRun(++spawned_, now - 75 * kSecond);
  ApplyStatus(running, "processing", now - 65 * kSecond);
  running.pace = Pace{*running.started_at, 160, false, 0.6, 65.0 / 160};
  running.logs = BackfillLogs(running.pace->logged, running.pace->duration_s);

  // Just queued.
  Run queued = NewRun(++spawned_, now);
  queued.pace = Pace{now + 10 * kSecond, 140, false, 0.6, -1};

  // Will die of an out-of-memory error about a minute from now.
  Run doomed = NewRun(++spawned_, now - 40 * kSecond);
  ApplyStatus(doomed, "processing", now - 32 * kSecond);
  doomed.pace = Pace{*doomed.started_at, 150, true, 0.6, 32.0 / 150};
  doomed.logs = BackfillLogs(doomed.pace->logged, doomed.pace->duration_s);

  for (Run* run : {&history, &running, &queued, &doomed}) {
    demo_ids_.insert(run->id);
    state_.runs[run->id] = std::move(*run);
  }
}

void Demo::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(2), [this] { return stop_; })) {
      lock.unlock();
      {
        std::lock_guard<std::mutex> state_lock(state_.mu);
        Tick(jobpulse::NowMicros());
      }
      lock.lock();
    }
  });
}

void Demo::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Demo::Tick(int64_t now) {
  // The runner (runner.h) moves demo runs along their pace; here a run that
  // ended, was canceled or vanished in a reset is replaced by a new one.
  int active = 0;
  for (const std::string& id : demo_ids_) {
    const auto run = state_.runs.find(id);
    active += run != state_.runs.end() && !IsTerminal(run->second.status);
  }
  for (int i = active; i < kActive; ++i) Spawn(now);
  Prune();
}

void Demo::Spawn(int64_t now) {
  Run run = NewRun(++spawned_, now);
  Pace pace;
  pace.processing_at = now + static_cast<int64_t>(Uniform(8, 12) * kSecond);
  pace.duration_s = Uniform(120, 160);
  // Every fourth new run fails, so the failure path keeps showing up too.
  pace.fail = spawned_ % 4 == 0;
  pace.fail_at = Uniform(0.5, 0.7);
  run.pace = pace;
  demo_ids_.insert(run.id);
  state_.runs[run.id] = std::move(run);
}

void Demo::Prune() {
  // Forget ids removed by a reset, then drop the oldest finished demo runs (but
  // never the seeded hour-old one) until at most kMaxDemoRuns remain.
  for (auto it = demo_ids_.begin(); it != demo_ids_.end();) {
    it = state_.runs.count(*it) ? std::next(it) : demo_ids_.erase(it);
  }
  while (static_cast<int>(demo_ids_.size()) > kMaxDemoRuns) {
    const Run* oldest = nullptr;
    for (const std::string& id : demo_ids_) {
      const Run& run = state_.runs.at(id);
      if (id == history_id_ || !IsTerminal(run.status)) continue;
      if (!oldest || run.created_at < oldest->created_at) oldest = &run;
    }
    if (!oldest) return;
    const std::string id = oldest->id;
    demo_ids_.erase(id);
    state_.runs.erase(id);
  }
}

}  // namespace replicate_sim
