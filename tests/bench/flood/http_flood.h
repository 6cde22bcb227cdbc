// A lean HTTP/1.1 load client for the benchmarks: prepared requests sent over
// keep-alive TCP connections to 127.0.0.1, one outstanding request per
// connection, on one thread with epoll.
//
// Why not libcurl multi: building and freeing an easy handle per request cost
// the B5 client about 100 us of CPU per delivery, a fifth of the whole
// delivery on a 2-core machine, so the benchmark mostly measured its client.
// Here a request is one write() and its answer one or two read()s.
#ifndef JOBPULSE_TESTS_BENCH_FLOOD_HTTP_FLOOD_H_
#define JOBPULSE_TESTS_BENCH_FLOOD_HTTP_FLOOD_H_

#include <chrono>
#include <string>
#include <vector>

namespace jobpulse::bench {

struct FloodRequest {
  std::string bytes;  // the whole request: request line, headers, body
  // Filled by Flood: the answer's status (0 when none came) and when its last
  // byte was read.
  int status = 0;
  std::chrono::steady_clock::time_point answered;
};

struct FloodOptions {
  int port = 0;  // 127.0.0.1:port
  int connections = 64;
  std::chrono::milliseconds deadline{60000};  // for the whole batch
};

// Sends every request once, in order of connection availability, and fills
// in each one's status and answer time. A connection the server closes (for
// example after nginx's keepalive_requests) is reopened; a request that got
// no answer byte before the close is sent again on the new connection.
// Returns an empty string on success, or why the batch stopped early (connect
// failure, a malformed answer, the deadline); requests not answered keep
// status 0. Not thread-safe; blocks until done.
std::string Flood(const FloodOptions& options, std::vector<FloodRequest>& requests);

}  // namespace jobpulse::bench

#endif  // JOBPULSE_TESTS_BENCH_FLOOD_HTTP_FLOOD_H_
