// B1 and B6 (SPEC §10), measured with wrk through the same nginx and pool:
//  B1: GET /api/cloud/jobs/{id}/inline-progress req/s vs a bare libfcgi hello
//      handler (tests/bench/hello) behind the same nginx and pool size: >= 0.8.
//  B6: GET /api/cloud/jobs?limit=50 with 100 000 jobs stored, vs B1: >= 0.5.
//
//   build/bench_throughput [seconds=10] [jobs=100000] [pool=2]
//
// wrk (Debian package) runs with 2 threads and 64 connections; on a 2-core
// machine wrk, nginx and the handlers share the cores, so the numbers are
// relative, which is what the targets are.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "lib/store.h"
#include "lib/timestamp.h"
#include "tests/integration/stack.h"

namespace {

double Wrk(const std::string& url, int seconds) {
  const std::string out = "/tmp/jobpulse-wrk.out";
  const std::string cmd =
      "wrk -t2 -c64 -d" + std::to_string(seconds) + "s " + url + " > " + out + " 2>&1";
  if (std::system(cmd.c_str()) != 0) return -1;
  const std::string text = jobpulse::testing::ReadFile(out);
  const size_t at = text.find("Requests/sec:");
  if (at == std::string::npos) return -1;
  if (text.find("Non-2xx") != std::string::npos) {
    std::fprintf(stderr, "non-2xx answers in wrk run of %s:\n%s\n", url.c_str(), text.c_str());
    return -1;
  }
  return std::atof(text.c_str() + at + 13);
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 10;
  const int jobs = argc > 2 ? std::atoi(argv[2]) : 100000;
  const int pool = argc > 3 ? std::atoi(argv[3]) : 2;
  if (std::system("command -v wrk > /dev/null") != 0) {
    std::fprintf(stderr, "wrk is missing: make bench installs it (apt-get install wrk)\n");
    return 1;
  }
  jobpulse::testing::StackOptions options;
  options.pool_size = pool;
  options.max_requests = 1000000;  // measure serving, not recycling
  double hello = 0, inline_progress = 0, list = 0;
  {
    // The baseline: the same stack rendered with the hello binary as the handler.
    const std::string bin = "/tmp/jobpulse-hello-bin";
    std::filesystem::create_directories(bin);
    std::filesystem::remove(bin + "/jobpulse-fcgi");
    std::filesystem::create_symlink(jobpulse::testing::BinDir() + "/bench_hello_fcgi",
                                    bin + "/jobpulse-fcgi");
    setenv("JOBPULSE_BIN_DIR", bin.c_str(), 1);
    // The stack waits for /api/cloud/health, which hello answers with 200 too.
    jobpulse::testing::Stack stack(options);
    hello = Wrk(stack.Url("/api/cloud/jobs/hello/inline-progress"), seconds);
    unsetenv("JOBPULSE_BIN_DIR");
  }
  {
    jobpulse::testing::Stack stack(options);
    auto store = jobpulse::Store::Open(stack.db_path());
    if (!store.ok()) return 1;
    jobpulse::PriceTable prices;
    prices.per_second = {{"gpu-l40s", 0.000975}};
    const int64_t t0 = jobpulse::NowMicros() - int64_t{jobs} * 1000000;
    for (int i = 0; i < jobs; ++i) {
      jobpulse::Observation obs;
      obs.provider = "replicate";
      obs.external_id = "bench" + std::to_string(i);
      obs.provider_status = i % 10 == 0 ? "processing" : "succeeded";
      obs.created_at = t0 + int64_t{i} * 1000000;
      obs.started_at = *obs.created_at;
      if (i % 10) obs.completed_at = *obs.created_at + 600000000;
      if (i == jobs - 1) obs.logs = "Step 1500/5000 - loss: 0.0234\n";
      obs.metadata["model"] = "simpletuner/advanced-trainer-l40s";
      if (!(*store)->Apply(obs, prices, jobpulse::NowMicros()).ok()) return 1;
    }
    const std::string running = "bench" + std::to_string(jobs - 1 - (jobs - 1) % 10);
    inline_progress = Wrk(stack.Url("/api/cloud/jobs/" + running + "/inline-progress"), seconds);
    list = Wrk(stack.Url("/api/cloud/jobs?limit=50"), seconds);
  }
  const double b1 = hello > 0 ? inline_progress / hello : 0;
  const double b6 = inline_progress > 0 ? list / inline_progress : 0;
  std::printf("B1/B6 through nginx, pool %d, wrk -t2 -c64 -d%ds, %d jobs stored\n", pool, seconds,
              jobs);
  std::printf("  hello handler          %9.0f req/s\n", hello);
  std::printf("  inline-progress        %9.0f req/s  B1 ratio %.2f (target >= 0.8) %s\n",
              inline_progress, b1, b1 >= 0.8 ? "PASS" : "FAIL");
  std::printf("  jobs?limit=50          %9.0f req/s  B6 ratio %.2f (target >= 0.5) %s\n", list, b6,
              b6 >= 0.5 ? "PASS" : "FAIL");
  return b1 >= 0.8 && b6 >= 0.5 ? 0 : 1;
}
