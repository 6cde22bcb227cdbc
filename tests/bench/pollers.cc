// B2 (SPEC §10): provider calls per minute when 50 UI clients poll
// inline-progress every 5 s for 20 running jobs, through nginx and the
// FastCGI pool, with no worker (the handlers' per-job lease does the work).
//
//   build/bench_pollers [seconds=60] [clients=50] [jobs=20] [runs=3]
//
// Prints the simulator's GET count for the runs and the rate against the
// target (one call per job per 5 s = jobs * 12 per minute) and against what
// SimpleTuner does (one call per request = clients * jobs * 12 per minute).
// The measured part runs `runs` times against the same stack (the counters
// reset before each); row B2 (tests/bench/report) is the median with its
// spread. Its figure is per minute over the run's started 5 s periods
// (GETs * 12 / periods), which is GETs per minute for a 60 s run and matches
// the per-run budget of one GET per job per started period.
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

#include "tests/bench/report/report.h"
#include "tests/integration/stack.h"

using jobpulse::testing::Http;
using jobpulse::testing::Simulator;
using jobpulse::testing::Stack;

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 60;
  const int clients = argc > 2 ? std::atoi(argv[2]) : 50;
  const int jobs = argc > 3 ? std::atoi(argv[3]) : 20;
  const int runs = argc > 4 ? std::atoi(argv[4]) : 3;
  jobpulse::bench::Row row = jobpulse::bench::MakeRow(
      "B2",
      "provider GETs, " + std::to_string(clients) + " clients x " + std::to_string(jobs) +
          " jobs every 5 s, " + std::to_string(runs) + " runs x " + std::to_string(seconds) + " s",
      "GETs/min", jobpulse::bench::Direction::kAtMost, jobs * 12.0);
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
    row.problems.push_back("sync failed");
    jobpulse::bench::Report(row);
    return 1;
  }

  std::atomic<bool> stop{false};
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
  const long periods = static_cast<long>(std::ceil(seconds / 5.0));
  for (int run = 1; run <= runs; ++run) {
    sim.Control("POST", "/counters/reset");
    std::atomic<long> served{0}, failed{0};
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

    rapidjson::Document counters;
    counters.Parse(sim.Control("GET", "/counters").c_str());
    long gets = 0;
    for (int j = 0; j < jobs; ++j) {
      const auto it = counters["runs"].FindMember(("bench" + std::to_string(j)).c_str());
      if (it != counters["runs"].MemberEnd()) gets += it->value.GetInt64();
    }
    const double per_minute = gets * 60.0 / elapsed;
    // One call per job per started 5 s period of the run (requests start
    // only within its `seconds`).
    const long budget = static_cast<long>(jobs) * periods;
    std::printf(
        "B2 inline-progress pollers: %d clients x %d running jobs, every 5 s, %.1f s (run %d of "
        "%d)\n",
        clients, jobs, elapsed, run, runs);
    std::printf("  requests served %ld, failed %ld\n", served.load(), failed.load());
    std::printf(
        "  provider GETs %ld = %.1f/min; target <= %ld in this run (one per job per 5 s, "
        "%d/min); SimpleTuner would make %d/min (ratio %.1fx)\n",
        gets, per_minute, budget, jobs * 12, clients * jobs * 12,
        gets ? clients * jobs * 12 / per_minute : 0.0);
    std::printf("  B2 run %d %s\n", run, gets <= budget && failed == 0 ? "PASS" : "FAIL");
    row.samples.push_back(static_cast<double>(gets) * 12.0 / static_cast<double>(periods));
    if (failed > 0) {
      row.problems.push_back("run " + std::to_string(run) + ": " + std::to_string(failed.load()) +
                             " inline-progress requests failed");
    }
  }
  stop = true;
  mover.join();
  const bool pass = jobpulse::bench::Report(row);
  curl_global_cleanup();
  return pass ? 0 : 1;
}
