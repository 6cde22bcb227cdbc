// B3 (SPEC §10): one poll cycle over 1000 active jobs with 50 ms of provider
// latency and max_concurrent_requests 32. Ideal schedule 1.56 s; sequential 50 s.
//
//   build/bench_poll_cycle [jobs=1000] [latency_ms=50] [parallel=32] [runs=3]
//
// The jobs are created in the simulator, imported with one full sync, then
// `jobpulse-worker --once` runs one cycle against them; the bench times it.
// A warm-up cycle is discarded, then `runs` cycles are timed over the same
// jobs (they stay active; every cycle polls them all); row B3
// (tests/bench/report) is the median with its spread.
#include <curl/curl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/bench/report/report.h"
#include "tests/integration/stack.h"

using jobpulse::testing::Http;
using jobpulse::testing::Simulator;

int main(int argc, char** argv) {
  const int jobs = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int latency_ms = argc > 2 ? std::atoi(argv[2]) : 50;
  const int parallel = argc > 3 ? std::atoi(argv[3]) : 32;
  const int runs = argc > 4 ? std::atoi(argv[4]) : 3;
  jobpulse::bench::Row row = jobpulse::bench::MakeRow(
      "B3",
      "worker --once, " + std::to_string(jobs) + " jobs, " + std::to_string(latency_ms) +
          " ms latency, " + std::to_string(parallel) + " parallel, " + std::to_string(runs) +
          " runs",
      "s", jobpulse::bench::Direction::kAtMost, 2.0);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Simulator sim;
  for (int j = 0; j < jobs; ++j) {
    sim.Control("POST", "/runs",
                R"({"id":"cycle)" + std::to_string(j) +
                    R"(","status":"processing","logs":"Step 1/100 - loss: 0.5\n"})");
  }
  char tmpl[] = "/tmp/jobpulse-b3-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string yaml = dir + "/enterprise.yaml";
  std::ofstream(yaml) << "providers:\n  replicate:\n    sync_max_jobs: " << jobs
                      << "\n    max_concurrent_requests: " << parallel << "\n";
  const std::string env = "env SIMPLETUNER_ENTERPRISE_CONFIG=" + yaml + " JOBPULSE_DB=" + dir +
                          "/b3.db REPLICATE_BASE_URL=" + sim.base_url() +
                          " REPLICATE_API_TOKEN=" + Simulator::kToken + " ";
  const std::string bin = jobpulse::testing::BinDir() + "/jobpulse-worker";

  // Import the jobs with one sync through a stack.
  {
    jobpulse::testing::StackOptions options;
    options.pool_size = 1;
    options.replicate_base_url = sim.base_url();
    options.replicate_token = Simulator::kToken;
    options.enterprise_yaml =
        "providers:\n  replicate:\n    sync_max_jobs: " + std::to_string(jobs) + "\n";
    options.extra_env = {{"JOBPULSE_DB", dir + "/b3.db"}};
    jobpulse::testing::Stack stack(options);
    const auto r = Http("POST", stack.Url("/api/cloud/jobs/sync"));
    if (r.status != 200) {
      std::fprintf(stderr, "sync failed: %ld %s\n", r.status, r.body.c_str());
      row.problems.push_back("sync failed: " + std::to_string(r.status));
      jobpulse::bench::Report(row);
      return 1;
    }
  }
  sim.Control("POST", "/config", R"({"latency_ms":)" + std::to_string(latency_ms) + "}");
  std::printf("B3 one poll cycle: %d active jobs, %d ms provider latency, %d in parallel\n", jobs,
              latency_ms, parallel);
  for (int run = 0; run <= runs; ++run) {  // run 0: the warm-up
    sim.Control("POST", "/counters/reset");
    const std::string log_path = dir + "/once" + std::to_string(run) + ".log";
    const auto start = std::chrono::steady_clock::now();
    const int rc = std::system((env + bin + " --once > " + log_path + " 2>&1").c_str());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string log = jobpulse::testing::ReadFile(log_path);
    const size_t line = log.find("one poll cycle:");
    std::printf("  %s:\n",
                run == 0 ? "warm-up (discarded)" : ("run " + std::to_string(run)).c_str());
    std::printf(
        "  worker --once: %.2f s wall (process start, store open, cycle, exit); "
        "ideal schedule %.2f s, sequential %.1f s\n",
        seconds, jobs * latency_ms / 1000.0 / parallel, jobs * latency_ms / 1000.0);
    std::printf("  %s", line == std::string::npos
                            ? "no cycle line\n"
                            : log.substr(line, log.find('\n', line) - line + 1).c_str());
    const bool ok = rc == 0 && log.find(" 0 failed") != std::string::npos;
    std::printf("  B3 %s\n", ok && seconds <= 2.0 ? "PASS" : "FAIL");
    if (run == 0) continue;
    row.samples.push_back(seconds);
    if (!ok) {
      row.problems.push_back("run " + std::to_string(run) + ": worker --once exited " +
                             std::to_string(rc) + " or polls failed: " + log);
    }
  }
  const bool pass = jobpulse::bench::Report(row);
  std::system(("rm -rf " + dir).c_str());
  curl_global_cleanup();
  return pass ? 0 : 1;
}
