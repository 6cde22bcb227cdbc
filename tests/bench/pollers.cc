// B2 (SPEC §10): provider calls per minute when 50 UI clients poll
// inline-progress every 5 s for 20 running jobs, through nginx and the
// FastCGI pool, with no worker (the handlers' per-job lease does the work).
//
//   build/bench_pollers [seconds=60] [clients=50] [jobs=20]
//
// Prints the simulator's GET count for the runs and the rate against the
// target (one call per job per 5 s = jobs * 12 per minute) and against what
// SimpleTuner does (one call per request = clients * jobs * 12 per minute).
#include <curl/curl.h>
#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/stack.h"

using jobpulse::testing::Http;
using jobpulse::testing::Simulator;
using jobpulse::testing::Stack;

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 60;
  const int clients = argc > 2 ? std::atoi(argv[2]) : 50;
  const int jobs = argc > 3 ? std::atoi(argv[3]) : 20;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Simulator sim;
  for (int j = 0; j < jobs; ++j) {
    sim.Control("POST", "/runs",
                R"({"id":"bench)" + std::to_string(j) +
                    R"(","status":"processing","logs":"Step 1/1000 - loss: 0.5\n"})");
  }
  jobpulse::testing::StackOptions options;
  options.pool_size = 4;
  options.replicate_base_url = sim.base_url();
  options.replicate_token = Simulator::kToken;
  Stack stack(options);
  if (Http("POST", stack.Url("/api/cloud/jobs/sync")).status != 200) {
    std::fprintf(stderr, "sync failed\n");
    return 1;
  }
  sim.Control("POST", "/counters/reset");

  std::atomic<bool> stop{false};
  std::atomic<long> served{0}, failed{0};
  // The runs keep moving while the clients watch.
  std::thread mover([&] {
    int step = 1;
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      ++step;
      for (int j = 0; j < jobs; ++j) {
        sim.Control("POST", "/runs/bench" + std::to_string(j) + "/logs",
                    R"({"append":"Step )" + std::to_string(step) + R"(/1000 - loss: 0.4\n"})");
      }
    }
  });
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      // Spread the clients over the 5 s period, as real browsers are.
      auto next = start + std::chrono::milliseconds(c * 5000 / clients);
      while (next < end) {
        std::this_thread::sleep_until(next);
        for (int j = 0; j < jobs; ++j) {
          const auto r = Http(
              "GET", stack.Url("/api/cloud/jobs/bench" + std::to_string(j) + "/inline-progress"));
          (r.status == 200 ? served : failed)++;
        }
        next += std::chrono::seconds(5);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  mover.join();

  rapidjson::Document counters;
  counters.Parse(sim.Control("GET", "/counters").c_str());
  long gets = 0;
  for (int j = 0; j < jobs; ++j) {
    const auto it = counters["runs"].FindMember(("bench" + std::to_string(j)).c_str());
    if (it != counters["runs"].MemberEnd()) gets += it->value.GetInt64();
  }
  const double per_minute = gets * 60.0 / elapsed;
  // One call per job per started 5 s period of the run.
  const long budget = static_cast<long>(jobs) * static_cast<long>(std::ceil(elapsed / 5.0));
  std::printf("B2 inline-progress pollers: %d clients x %d running jobs, every 5 s, %.1f s\n",
              clients, jobs, elapsed);
  std::printf("  requests served %ld, failed %ld\n", served.load(), failed.load());
  const bool pass = gets <= budget && failed == 0;
  std::printf(
      "  provider GETs %ld = %.1f/min; target <= %ld in this run (one per job per 5 s, "
      "%d/min); SimpleTuner would make %d/min (ratio %.1fx)\n",
      gets, per_minute, budget, jobs * 12, clients * jobs * 12,
      gets ? clients * jobs * 12 / per_minute : 0.0);
  std::printf("  B2 %s\n", pass ? "PASS" : "FAIL");
  curl_global_cleanup();
  return pass ? 0 : 1;
}
