// The two-node suite's world (issue 12): one throwaway PostgreSQL cluster,
// one database in it, one Replicate simulator and two complete jobpulse
// stacks, A and B (each its own run directory, nginx port, FastCGI pool and
// worker), on the same database.url. Each stack's connections carry an
// application_name of their own ("jobpulse-a", "jobpulse-b"), so the suite
// can ask PostgreSQL which worker holds the leadership lock.
#ifndef JOBPULSE_TESTS_INTEGRATION_TWO_NODES_H_
#define JOBPULSE_TESTS_INTEGRATION_TWO_NODES_H_

#include <poll.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "lib/pg_db.h"
#include "lib/store.h"
#include "tests/integration/stack.h"
#include "tests/loopback_socket.h"
#include "tests/pg_cluster.h"

namespace jobpulse::two_nodes {

using Clock = std::chrono::steady_clock;

// The Standard Webhooks test vector secret, configured on both nodes.
inline constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
// The poll interval of both workers, in seconds (the smallest allowed).
inline constexpr int kPollSeconds = 1;
// §12 limits of both nodes.
inline constexpr int kMaxConcurrent = 3;
inline constexpr int kUserMaxConcurrent = 2;
// Handlers per node: case c holds ten of them in one sync at once.
inline constexpr int kPoolSize = 11;

struct Frame {
  int64_t id = 0;  // 0: no id line
  std::string data;
  Clock::time_point at;  // when its last byte was read
};

// An HTTP/1.0 reader of /api/events through a node's nginx (no chunking: the
// stream is the SSE text as is).
class SseStream {
 public:
  explicit SseStream(int port, const std::string& last_event_id = "");
  ~SseStream();
  SseStream(const SseStream&) = delete;
  SseStream& operator=(const SseStream&) = delete;

  // Reads until `done()` or `timeout_ms`; returns whether done.
  template <typename Pred>
  bool ReadUntil(Pred done, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || fd_ < 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      if (!ReadSome()) return done();
    }
    return true;
  }
  // The first frame at or after index `from` whose data holds `needle`, or -1.
  int Find(const std::string& needle, size_t from = 0) const;
  const std::string& head() const { return head_; }
  const std::vector<Frame>& frames() const { return frames_; }

 private:
  bool ReadSome();  // false at the end of the stream
  void Split();

  int fd_ = -1;
  std::string raw_;
  std::string head_;
  std::vector<Frame> frames_;
};

// The world of the suite, built once by the fixture.
struct Nodes {
  Nodes();
  ~Nodes();

  static inline std::unique_ptr<testing::PgCluster> cluster;
  static inline std::string database;  // its name in the cluster
  static inline std::unique_ptr<testing::Simulator> sim;
  static inline std::unique_ptr<testing::Stack> a;
  static inline std::unique_ptr<testing::Stack> b;
  static inline std::unique_ptr<PgConnection> sql;  // the suite's own queries
};

testing::Stack& A();
testing::Stack& B();
testing::Simulator& Sim();
// "jobpulse-a" / "jobpulse-b" for A / B.
std::string NameOf(const testing::Stack& node);

// One integer from the shared database (BOOST_TEST_REQUIRE on failure).
int64_t SqlInt(const std::string& sql);
// The first column of every row, as integers.
std::vector<int64_t> SqlInts(const std::string& sql);
// The application_name of the session holding the workers' leadership lock
// (PgStore::kLeaderLockKey), "" when no session holds it.
std::string LeaderName();

// Signs `body` as Replicate would (kSecret) and POSTs it to `node`'s nginx.
testing::HttpResult PostSigned(const testing::Stack& node, const std::string& webhook_id,
                               const std::string& body);
// A Replicate prediction object for run `id` in `status`.
std::string RunBody(const std::string& id, const std::string& status);
// POST /_sim/runs for a run of `id` in `status`.
void CreateRun(const std::string& id, const std::string& status);
// The simulator's GET count for run `id` (counters.runs), 0 when none.
int64_t RunGets(const std::string& id);
int64_t EndpointCount(const std::string& endpoint);

double MillisBetween(Clock::time_point from, Clock::time_point to);
// Nearest-rank percentiles of a sample (all 0 when it is empty).
struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};
Percentiles Summarize(std::vector<double> values);

}  // namespace jobpulse::two_nodes

#endif  // JOBPULSE_TESTS_INTEGRATION_TWO_NODES_H_
