// B7 (issue 11): job submission through nginx at >= 2,000/s, and dispatch of
// every submitted job within 5 s of the last submission, with
// queue.max_concurrent 1,000 and a simulator that takes 50 ms to answer.
//
//   build/bench_queue [submissions=1000] [latency_ms=50] [runs=3]
//
// Each run is a fresh stack (nginx, the FastCGI pool, the worker) wired to a
// fresh simulator whose every /v1 answer waits `latency_ms`. The submissions
// are prepared ahead and sent over 64 keep-alive connections by the lean
// client of tests/bench/flood. Rows (tests/bench/report): B7-submit, the
// submissions answered 202 per second; B7-dispatch, the seconds from the
// last 202 to the moment every entry is dispatched (the create answered and
// recorded), read from the database every 10 ms.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "lib/store.h"
#include "tests/bench/flood/http_flood.h"
#include "tests/bench/report/report.h"
#include "tests/integration/stack.h"

using Clock = std::chrono::steady_clock;

namespace {

constexpr int kConnections = 64;
// Creates in flight at once: 1,000 creates at 50 ms each, 32 at a time, is
// about 1.6 s of waiting on the provider.
constexpr int kParallelCreates = 32;

struct RunResult {
  double submit_rate = std::numeric_limits<double>::quiet_NaN();
  double dispatch_seconds = std::numeric_limits<double>::quiet_NaN();
  std::string problem;
};

RunResult OneRun(int submissions, int latency_ms) {
  RunResult result;
  jobpulse::testing::SimulatedStack s;
  jobpulse::testing::StackOptions options;
  options.pool_size = 8;
  options.with_worker = true;
  options.max_requests = 1000000;
  options.enterprise_yaml =
      "background:\n  job_status_polling:\n    enabled: false\n"
      "queue:\n  max_concurrent: " +
      std::to_string(submissions) + "\n  user_max_concurrent: " + std::to_string(submissions) +
      "\nproviders:\n  replicate:\n    max_concurrent_requests: " +
      std::to_string(kParallelCreates) + "\n";
  s.Start(options);
  s.sim().Control("POST", "/config", "{\"latency_ms\":" + std::to_string(latency_ms) + "}");

  std::vector<jobpulse::bench::FloodRequest> requests(static_cast<size_t>(submissions));
  for (int i = 0; i < submissions; ++i) {
    const std::string body =
        R"({"kind":"prediction","model":"acme/sdxl","input":{"prompt":"a cat","seed":)" +
        std::to_string(i) + "}}";
    requests[static_cast<size_t>(i)].bytes =
        "POST /api/cloud/jobs/submit HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  jobpulse::bench::FloodOptions flood;
  flood.port = s.stack().port();
  flood.connections = kConnections;
  const auto start = Clock::now();
  const std::string error = jobpulse::bench::Flood(flood, requests);
  int accepted = 0;
  Clock::time_point last = start;
  for (const auto& r : requests) {
    if (r.status != 202) continue;
    ++accepted;
    last = std::max(last, r.answered);
  }
  if (!error.empty()) result.problem = "client: " + error;
  if (accepted != submissions) {
    result.problem += " " + std::to_string(submissions - accepted) + " submissions not 202";
  }
  result.submit_rate = accepted / std::chrono::duration<double>(last - start).count();

  // Every entry dispatched: read the queue's counts every 10 ms, 60 s at most.
  const auto deadline = last + std::chrono::seconds(60);
  int64_t dispatched = 0;
  while (Clock::now() < deadline) {
    auto counts = s.store().CountQueue(0);
    if (counts.ok()) dispatched = counts->by_status[jobpulse::QueueStatus::kDispatched];
    if (dispatched >= accepted) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (dispatched >= accepted) {
    result.dispatch_seconds = std::chrono::duration<double>(Clock::now() - last).count();
  } else {
    result.problem += " only " + std::to_string(dispatched) + " of " + std::to_string(accepted) +
                      " dispatched within 60 s";
  }
  std::printf(
      "B7 %d submissions, simulator latency %d ms: %.0f/s accepted (%d of %d 202), "
      "all dispatched %.2f s after the last%s%s\n",
      submissions, latency_ms, result.submit_rate, accepted, submissions, result.dispatch_seconds,
      result.problem.empty() ? "" : "; ", result.problem.c_str());
  std::fflush(stdout);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const int submissions = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int latency_ms = argc > 2 ? std::atoi(argv[2]) : 50;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  const std::string suffix = ", " + std::to_string(runs) + " runs x " +
                             std::to_string(submissions) + " over " + std::to_string(kConnections) +
                             " connections";
  jobpulse::bench::Row submit_row =
      jobpulse::bench::MakeRow("B7-submit", "submissions answered 202 through nginx" + suffix,
                               "submissions/s", jobpulse::bench::Direction::kAtLeast, 2000);
  jobpulse::bench::Row dispatch_row = jobpulse::bench::MakeRow(
      "B7-dispatch",
      "last 202 -> every job dispatched, max_concurrent " + std::to_string(submissions) +
          ", simulator latency " + std::to_string(latency_ms) + " ms" + suffix,
      "s", jobpulse::bench::Direction::kAtMost, 5);
  for (int run = 1; run <= runs; ++run) {
    RunResult r;
    try {
      r = OneRun(submissions, latency_ms);
    } catch (const std::exception& e) {
      r.problem = std::string("run failed: ") + e.what();
    }
    const std::string which = "run " + std::to_string(run) + ": ";
    if (!r.problem.empty()) {
      submit_row.problems.push_back(which + r.problem);
      dispatch_row.problems.push_back(which + r.problem);
    }
    submit_row.samples.push_back(r.submit_rate);
    dispatch_row.samples.push_back(r.dispatch_seconds);
  }
  const bool pass = jobpulse::bench::Report(submit_row) & jobpulse::bench::Report(dispatch_row);
  return pass ? 0 : 1;
}
