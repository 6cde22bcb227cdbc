// The worker in the real stack: supervisord runs nginx, the FastCGI pool and
// the worker; the simulator plays Replicate. Status changes and progress reach
// an SSE client through nginx with no API call from the client; signed
// deliveries are applied exactly once, also across a kill -9 of the worker;
// Last-Event-ID resumes without loss; limits and Retry-After pauses hold.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "lib/delivery_intake.h"
#include "lib/store.h"
#include "lib/timestamp.h"
#include "lib/webhook_signature.h"
#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"

namespace jobpulse {
namespace {

using testing::Eventually;
using testing::Http;
using testing::HttpResult;
using testing::Simulator;
using testing::Stack;
using Clock = std::chrono::steady_clock;

using testing::Parse;

std::string Str(const rapidjson::Value& v, const char* key) {
  const auto it = v.FindMember(key);
  if (it == v.MemberEnd()) return "<missing>";
  if (it->value.IsNull()) return "null";
  return it->value.IsString() ? it->value.GetString() : "<not a string>";
}

struct Frame {
  int64_t id = 0;  // 0: no id line
  std::string data;
};

// A plain HTTP/1.0 client for /api/events through nginx (HTTP/1.0 keeps nginx
// from chunking, so the stream is the SSE text as is).
class SseClient {
 public:
  SseClient(int port, const std::string& last_event_id = "") {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_TEST_REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    std::string request = "GET /api/events HTTP/1.0\r\nHost: 127.0.0.1\r\n";
    if (!last_event_id.empty()) request += "Last-Event-ID: " + last_event_id + "\r\n";
    request += "\r\n";
    BOOST_TEST_REQUIRE(write(fd_, request.data(), request.size()) ==
                       static_cast<ssize_t>(request.size()));
  }
  ~SseClient() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  // Reads until `done(frames)` or the timeout; returns whether done.
  template <typename Pred>
  bool ReadUntil(Pred done, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done(frames_)) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[65536];
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) return done(frames_);
      raw_.append(buf, static_cast<size_t>(n));
      Split();
    }
    return true;
  }

  const std::string& head() const { return head_; }
  const std::vector<Frame>& frames() const { return frames_; }
  // Frames with a data payload of the given "type".
  std::vector<Frame> OfType(const std::string& type) const {
    std::vector<Frame> out;
    for (const auto& f : frames_) {
      if (f.data.find("\"type\":\"" + type + "\"") != std::string::npos) out.push_back(f);
    }
    return out;
  }

 private:
  void Split() {
    if (head_.empty()) {
      const size_t end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head_ = raw_.substr(0, end);
      raw_.erase(0, end + 4);
    }
    size_t end;
    while ((end = raw_.find("\n\n")) != std::string::npos) {
      const std::string block = raw_.substr(0, end);
      raw_.erase(0, end + 2);
      Frame frame;
      size_t start = 0;
      while (start < block.size()) {
        size_t nl = block.find('\n', start);
        if (nl == std::string::npos) nl = block.size();
        const std::string line = block.substr(start, nl - start);
        if (line.rfind("id: ", 0) == 0) frame.id = std::atoll(line.c_str() + 4);
        if (line.rfind("data: ", 0) == 0) frame.data = line.substr(6);
        start = nl + 1;
      }
      if (!frame.data.empty()) frames_.push_back(frame);
    }
  }

  int fd_ = -1;
  std::string raw_;
  std::string head_;
  std::vector<Frame> frames_;
};

struct WorkerStack {
  WorkerStack() {
    testing::StackOptions options;
    options.pool_size = 3;
    options.with_worker = true;
    options.extra_env = {{"SIMPLETUNER_JOB_POLL_INTERVAL", "1"},
                         {"REPLICATE_WEBHOOK_SECRET", kSecret}};
    env.Start(options);
  }
  ~WorkerStack() { env.Stop(); }
  static constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  static inline testing::SimulatedStack env;
};

Simulator& Sim() { return WorkerStack::env.sim(); }
Stack& TheStack() { return WorkerStack::env.stack(); }

void CreateRun(const std::string& id, const std::string& status) {
  Sim().Control("POST", "/runs",
                R"({"id":")" + id + R"(","status":")" + status +
                    R"(","model":"simpletuner/advanced-trainer-l40s","kind":"training"})");
}

void SetRunStatus(const std::string& id, const std::string& status) {
  Sim().Control("POST", "/runs/" + id + "/status", R"({"status":")" + status + "\"}");
}

// Sends the simulator's signed delivery of a run to jobpulse through nginx.
rapidjson::Document Deliver(const std::string& id, const std::string& webhook_id = "",
                            const std::string& secret = "") {
  std::string body = R"({"url":")" + TheStack().Url("/api/webhooks/replicate") + "\"";
  if (!webhook_id.empty()) body += R"(,"webhook_id":")" + webhook_id + "\"";
  body += R"(,"secret":")" + (secret.empty() ? std::string(WorkerStack::kSecret) : secret) + "\"}";
  return Parse(Sim().Control("POST", "/runs/" + id + "/webhook", body));
}

int64_t EndpointCount(const std::string& endpoint) {
  const auto doc = Parse(Sim().Control("GET", "/counters"));
  return doc["endpoints"][endpoint.c_str()].GetInt64();
}

std::string JobStatusOf(const std::string& id) {
  const HttpResult r = Http("GET", TheStack().Url("/api/cloud/jobs/" + id));
  return r.status == 200 ? Str(Parse(r.body)["job"], "status") : "http " + std::to_string(r.status);
}

int WorkerPid() { return TheStack().ProgramPid("worker"); }

// Lets the poller reach a steady state on a new run, throttles it once with
// `fault`, checks that no provider GET comes for `quiet_ms` after the 429,
// and returns how many seconds after it the calls resumed.
double SecondsPausedByOne429(const std::string& run_id, const std::string& fault, int quiet_ms) {
  CreateRun(run_id, "processing");
  BOOST_TEST_REQUIRE(Http("POST", TheStack().Url("/api/cloud/jobs/sync")).status == 200);
  BOOST_TEST_REQUIRE(Eventually([] { return EndpointCount("get_prediction") > 0; }, 5000));
  Sim().Control("POST", "/counters/reset");
  Sim().Control("POST", "/faults", fault);
  BOOST_TEST_REQUIRE(Eventually([] { return EndpointCount("get_prediction") >= 1; }, 5000));
  const auto throttled_at = Clock::now();
  // Calls already in flight when the 429 came back may still land; after that, silence.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Sim().Control("POST", "/counters/reset");
  std::this_thread::sleep_until(throttled_at + std::chrono::milliseconds(quiet_ms));
  BOOST_TEST(EndpointCount("get_prediction") == 0);
  BOOST_TEST(Eventually([] { return EndpointCount("get_prediction") > 0; }, 4000));
  const double resumed_after = std::chrono::duration<double>(Clock::now() - throttled_at).count();
  BOOST_TEST_MESSAGE("calls resumed " << resumed_after << " s after the 429 (" << fault << ")");
  return resumed_after;
}

// A Replicate prediction object as a delivery carries it, `steps` of 50
// training steps into its log.
std::string RunBody(const std::string& id, const std::string& status, int steps) {
  std::string logs = "Loading model\\n";
  for (int i = 1; i <= steps; ++i) logs += "Step " + std::to_string(i) + "/50 - loss: 0.1\\n";
  std::string body = R"({"id":")" + id + R"(","model":"simpletuner/advanced-trainer-l40s",)" +
                     R"("version":"v1","status":")" + status +
                     R"(","created_at":"2026-11-28T10:00:00.000Z",)" +
                     R"("started_at":"2026-11-28T10:00:05.000Z","logs":")" + logs + "\"";
  if (status == "succeeded") {
    body += R"(,"completed_at":"2026-11-28T10:30:00.000Z","metrics":{"predict_time":1795.0},)"
            R"("output":{"weights":"https://replicate.delivery/x/weights.tar"})";
  }
  return body + "}";
}

// Signs `body` as Replicate would and POSTs it through nginx.
HttpResult PostSigned(const std::string& webhook_id, const std::string& body) {
  const std::string timestamp = std::to_string(NowMicros() / 1000000);
  const auto key = DecodeWebhookSecret(WorkerStack::kSecret);
  BOOST_TEST_REQUIRE(key.has_value());
  return Http("POST", TheStack().Url("/api/webhooks/replicate"), body,
              {"Content-Type: application/json", "webhook-id: " + webhook_id,
               "webhook-timestamp: " + timestamp,
               "webhook-signature: " + SignWebhook(*key, webhook_id, timestamp, body)});
}

// Waits until the worker has applied every stored delivery.
bool InboxDrained() {
  return Eventually(
      [] {
        auto counts = WorkerStack::env.store().CountDeliveries();
        return counts.ok() && counts->pending == 0;
      },
      10000);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(worker_in_the_stack, *boost::unit_test::fixture<WorkerStack>())

BOOST_AUTO_TEST_CASE(health_and_polling_status_see_the_worker) {
  BOOST_TEST_REQUIRE(Eventually(
      [] {
        const HttpResult r = Http("GET", TheStack().Url("/api/cloud/health"));
        return r.status == 200 && Str(Parse(r.body)["components"]["worker"], "status") == "ok";
      },
      10000));
  BOOST_TEST_REQUIRE(Eventually(
      [] {
        const auto doc = Parse(Http("GET", TheStack().Url("/api/cloud/polling/status")).body);
        return doc["last_cycle_at"].IsString();
      },
      5000));
  const auto doc = Parse(Http("GET", TheStack().Url("/api/cloud/polling/status")).body);
  BOOST_TEST(doc["enabled"].GetBool());
  BOOST_TEST(Str(doc, "source") == "auto");
  BOOST_TEST(doc["interval_seconds"].GetInt() == 1);
  BOOST_TEST(Str(doc, "interval_source") == "env");
  BOOST_TEST(!doc["webhook_configured"].GetBool());
}

BOOST_AUTO_TEST_CASE(status_changes_reach_an_sse_client_in_order) {
  CreateRun("sse-run", "starting");
  BOOST_TEST_REQUIRE(Http("POST", TheStack().Url("/api/cloud/jobs/sync")).status == 200);
  BOOST_TEST_REQUIRE(Eventually([] { return JobStatusOf("sse-run") == "queued"; }, 3000));

  SseClient client(TheStack().port());
  BOOST_TEST_REQUIRE(client.ReadUntil([](const auto& frames) { return !frames.empty(); }, 5000));
  BOOST_TEST(client.head().find("200 OK") != std::string::npos);
  BOOST_TEST(client.head().find("text/event-stream") != std::string::npos);
  BOOST_TEST(client.frames()[0].data.find("\"type\":\"connected\"") != std::string::npos);

  std::vector<double> delays_ms;
  for (const auto& [status, expected, previous] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"processing", "running", "queued"}, {"succeeded", "completed", "running"}}) {
    const auto changed_at = Clock::now();
    SetRunStatus("sse-run", status);
    const bool got = client.ReadUntil(
        [&](const auto&) {
          for (const auto& f : client.OfType("job_status_changed")) {
            if (f.data.find("\"job_id\":\"sse-run\"") != std::string::npos &&
                f.data.find("\"status\":\"" + expected + "\"") != std::string::npos) {
              return true;
            }
          }
          return false;
        },
        10000);
    BOOST_TEST_REQUIRE(got, "no " << expected << " event");
    delays_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - changed_at).count());
  }
  const auto events = client.OfType("job_status_changed");
  std::vector<std::string> mine;
  int64_t last_id = 0;
  for (const auto& f : events) {
    if (f.data.find("\"job_id\":\"sse-run\"") == std::string::npos) continue;
    BOOST_TEST(f.id > last_id);
    last_id = f.id;
    const auto doc = Parse(f.data);
    mine.push_back(Str(doc, "previous_status") + "->" + Str(doc, "status"));
    BOOST_TEST(Str(doc, "provider") == "replicate");
  }
  BOOST_TEST(mine == (std::vector<std::string>{"queued->running", "running->completed"}),
             boost::test_tools::per_element());
  BOOST_TEST_MESSAGE("simulator change -> SSE client delays (ms): " << delays_ms[0] << ", "
                                                                    << delays_ms[1]);
}

// The closing-note numbers: how long a status change at the provider takes to
// reach a browser, through the 1 s poller and through a webhook delivery.
BOOST_AUTO_TEST_CASE(delay_from_a_simulator_change_to_the_sse_client) {
  SseClient client(TheStack().port());
  BOOST_TEST_REQUIRE(client.ReadUntil([](const auto& f) { return !f.empty(); }, 5000));
  const auto wait_for = [&](const std::string& id, const std::string& status) {
    return client.ReadUntil(
        [&](const auto&) {
          for (const auto& f : client.OfType("job_status_changed")) {
            if (f.data.find("\"job_id\":\"" + id + "\"") != std::string::npos &&
                f.data.find("\"status\":\"" + status + "\"") != std::string::npos) {
              return true;
            }
          }
          return false;
        },
        10000);
  };
  const auto summary = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return "median " + std::to_string(v[v.size() / 2]) + " ms, worst " + std::to_string(v.back()) +
           " ms over " + std::to_string(v.size());
  };
  std::vector<double> polled, pushed;
  for (int i = 0; i < 5; ++i) {
    const std::string id = "delay-poll" + std::to_string(i);
    CreateRun(id, "starting");
    BOOST_TEST_REQUIRE(Http("POST", TheStack().Url("/api/cloud/jobs/sync")).status == 200);
    BOOST_TEST_REQUIRE(wait_for(id, "queued"));
    for (const auto& [sim_status, local] : std::vector<std::pair<std::string, std::string>>{
             {"processing", "running"}, {"succeeded", "completed"}}) {
      const auto changed = Clock::now();
      SetRunStatus(id, sim_status);
      BOOST_TEST_REQUIRE(wait_for(id, local));
      polled.push_back(std::chrono::duration<double, std::milli>(Clock::now() - changed).count());
    }
  }
  for (int i = 0; i < 5; ++i) {
    const std::string id = "delay-push" + std::to_string(i);
    CreateRun(id, "starting");
    int n = 0;
    for (const auto& [sim_status, local] : std::vector<std::pair<std::string, std::string>>{
             {"processing", "running"}, {"succeeded", "completed"}}) {
      const auto changed = Clock::now();
      SetRunStatus(id, sim_status);
      BOOST_TEST_REQUIRE(Str(Deliver(id, "msg_delay_" + id + "_" + std::to_string(n++)), "body") ==
                         R"({"status":"received"})");
      BOOST_TEST_REQUIRE(wait_for(id, local));
      pushed.push_back(std::chrono::duration<double, std::milli>(Clock::now() - changed).count());
    }
  }
  BOOST_TEST_MESSAGE("provider change -> SSE client, poller every 1 s: " << summary(polled));
  BOOST_TEST_MESSAGE("provider change -> SSE client, webhook delivery: " << summary(pushed));
  BOOST_TEST(*std::max_element(polled.begin(), polled.end()) < 3000.0);
  BOOST_TEST(*std::max_element(pushed.begin(), pushed.end()) < 1000.0);
}

BOOST_AUTO_TEST_CASE(progress_events_follow_the_logs) {
  CreateRun("sse-prog", "processing");
  BOOST_TEST_REQUIRE(Http("POST", TheStack().Url("/api/cloud/jobs/sync")).status == 200);
  SseClient client(TheStack().port());
  Sim().Control("POST", "/runs/sse-prog/logs", R"({"append":"Step 10/100 - loss: 0.5\n"})");
  const auto has = [&](const std::string& needle) {
    return client.ReadUntil(
        [&](const auto&) {
          for (const auto& f : client.OfType("job_progress")) {
            if (f.data.find("\"job_id\":\"sse-prog\"") != std::string::npos &&
                f.data.find(needle) != std::string::npos) {
              return true;
            }
          }
          return false;
        },
        10000);
  };
  BOOST_TEST(has(R"("stage":"Training","progress":10.0,"last_log":"Step 10/100 - loss: 0.5")"));
  Sim().Control("POST", "/runs/sse-prog/logs", R"({"append":"Running validation\n"})");
  BOOST_TEST(has(R"("stage":"Validation","progress":10.0)"));
}

BOOST_AUTO_TEST_CASE(signed_deliveries_are_applied_once) {
  // The worker's intake listens beside the database, for its own user only
  // (lib/delivery_intake.h); the handlers hand their deliveries to it.
  struct stat intake;
  BOOST_TEST_REQUIRE(::lstat(IntakeSocketPath(WorkerStack::env.store().path()).c_str(), &intake) ==
                     0);
  BOOST_TEST(S_ISSOCK(intake.st_mode));
  BOOST_TEST((intake.st_mode & 0777) == 0600u);
  CreateRun("wh-run", "processing");
  auto answer = Deliver("wh-run", "msg_worker_test_0001");
  BOOST_TEST(answer["status"].GetInt() == 200);
  BOOST_TEST(Str(answer, "body") == R"({"status":"received"})");
  BOOST_TEST_REQUIRE(Eventually([] { return JobStatusOf("wh-run") == "running"; }, 5000));

  SetRunStatus("wh-run", "succeeded");
  answer = Deliver("wh-run", "msg_worker_test_0002");
  BOOST_TEST(Str(answer, "body") == R"({"status":"received"})");
  answer = Deliver("wh-run", "msg_worker_test_0002");
  BOOST_TEST(Str(answer, "body") == R"({"status":"duplicate"})");
  BOOST_TEST_REQUIRE(Eventually([] { return JobStatusOf("wh-run") == "completed"; }, 5000));
  auto events = WorkerStack::env.store().EventsAfter(0, 100000);
  BOOST_TEST_REQUIRE(events.ok());
  int changes = 0;
  for (const auto& e : *events) changes += e.job_id == "wh-run" && e.type == "job_status_changed";
  BOOST_TEST(changes == 2);  // created running, then completed

  answer = Deliver("wh-run", "msg_worker_test_0003", "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH");
  BOOST_TEST(answer["status"].GetInt() == 401);
}

BOOST_AUTO_TEST_CASE(no_acknowledged_delivery_is_lost_when_the_worker_is_killed) {
  constexpr int kRuns = 500;
  for (int i = 0; i < kRuns; ++i) CreateRun("kill" + std::to_string(i), "processing");
  std::atomic<int> acked{0};
  std::atomic<int> sent{0};
  std::vector<std::string> acked_ids[4];
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < kRuns; i += 4) {
        const std::string id = "kill" + std::to_string(i);
        const std::string webhook_id = "msg_kill_" + std::to_string(i);
        ++sent;
        const auto answer = Deliver(id, webhook_id);
        if (answer["status"].GetInt() == 200) {
          ++acked;
          acked_ids[t].push_back(id);
        }
      }
    });
  }
  // Kill -9 the worker in the middle of it; supervisord starts it again.
  BOOST_TEST_REQUIRE(Eventually([&] { return sent.load() >= kRuns / 4; }, 30000));
  const int pid = WorkerPid();
  BOOST_TEST_REQUIRE(pid > 0);
  BOOST_TEST(kill(pid, SIGKILL) == 0);
  for (auto& s : senders) s.join();
  BOOST_TEST_MESSAGE("deliveries acknowledged: " << acked.load() << " of " << kRuns << "; worker "
                                                 << pid << " killed");
  BOOST_TEST_REQUIRE(Eventually([&] { return WorkerPid() > 0 && WorkerPid() != pid; }, 15000));
  // Every acknowledged delivery ends up applied, each exactly once.
  BOOST_TEST_REQUIRE(Eventually(
      [] {
        auto counts = WorkerStack::env.store().CountDeliveries();
        return counts.ok() && counts->pending == 0;
      },
      30000));
  auto events = WorkerStack::env.store().EventsAfter(0, 10000000);
  BOOST_TEST_REQUIRE(events.ok());
  std::map<std::string, int> created;
  for (const auto& e : *events) {
    if (e.type == "job_status_changed" && e.job_id.rfind("kill", 0) == 0) ++created[e.job_id];
  }
  int missing = 0, duplicated = 0;
  for (const auto& list : acked_ids) {
    for (const auto& id : list) {
      const auto it = created.find(id);
      if (it == created.end()) ++missing;
      if (it != created.end() && it->second != 1) ++duplicated;
    }
  }
  BOOST_TEST(acked.load() == kRuns);
  BOOST_TEST(missing == 0);
  BOOST_TEST(duplicated == 0);
  // Finish the runs so the 1 s poller stops fetching 500 jobs for the next tests.
  for (int i = 0; i < kRuns; ++i) SetRunStatus("kill" + std::to_string(i), "succeeded");
  BOOST_TEST(Eventually(
      [] {
        auto active = WorkerStack::env.store().ListActiveJobs(std::string("replicate"));
        return active.ok() && active->size() < 10;
      },
      30000));
}

BOOST_AUTO_TEST_CASE(last_event_id_resumes_without_loss) {
  CreateRun("resume0", "starting");
  BOOST_TEST_REQUIRE(Http("POST", TheStack().Url("/api/cloud/jobs/sync")).status == 200);
  int64_t last_seen = 0;
  {
    SseClient client(TheStack().port());
    BOOST_TEST_REQUIRE(client.ReadUntil([](const auto& f) { return !f.empty(); }, 5000));
    SetRunStatus("resume0", "processing");
    BOOST_TEST_REQUIRE(client.ReadUntil(
        [&](const auto&) {
          for (const auto& f : client.OfType("job_status_changed")) {
            if (f.data.find("resume0") != std::string::npos) return true;
          }
          return false;
        },
        10000));
    for (const auto& f : client.frames()) last_seen = std::max(last_seen, f.id);
  }
  // While disconnected: more changes.
  SetRunStatus("resume0", "succeeded");
  CreateRun("resume1", "processing");
  BOOST_TEST_REQUIRE(Http("POST", TheStack().Url("/api/cloud/jobs/sync")).status == 200);
  BOOST_TEST_REQUIRE(Eventually([] { return JobStatusOf("resume0") == "completed"; }, 10000));
  auto missed = WorkerStack::env.store().EventsAfter(last_seen, 100000);
  BOOST_TEST_REQUIRE(missed.ok());
  BOOST_TEST_REQUIRE(!missed->empty());

  SseClient again(TheStack().port(), std::to_string(last_seen));
  const int64_t newest = missed->back().id;
  BOOST_TEST_REQUIRE(again.ReadUntil(
      [&](const auto& frames) {
        for (const auto& f : frames) {
          if (f.id == newest) return true;
        }
        return false;
      },
      5000));
  std::vector<int64_t> replayed;
  for (const auto& f : again.frames()) {
    if (f.id > 0) replayed.push_back(f.id);
  }
  std::vector<int64_t> expected;
  for (const auto& e : *missed) expected.push_back(e.id);
  BOOST_TEST(std::vector<int64_t>(replayed.begin(), replayed.begin() + expected.size()) == expected,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sixth_connection_from_one_ip_gets_429) {
  // The five slots one IP may hold. The previous test's clients may still be
  // closing (the worker frees a slot once it sees the socket close, which on a
  // loaded machine takes a moment), so a 429 for one of these five is retried
  // until every one of them is a stream.
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < 5; ++i) {
    std::unique_ptr<SseClient> client;
    BOOST_TEST_REQUIRE(Eventually(
        [&] {
          client = std::make_unique<SseClient>(TheStack().port());
          return client->ReadUntil([](const auto& f) { return !f.empty(); }, 5000);
        },
        10000));
    clients.push_back(std::move(client));
  }
  SseClient sixth(TheStack().port());
  sixth.ReadUntil([](const auto&) { return false; }, 1500);
  BOOST_TEST(sixth.head().find(" 429 ") != std::string::npos, sixth.head());
  BOOST_TEST(sixth.head().find("Retry-After:") != std::string::npos);
  // A closed client frees its slot.
  clients.pop_back();
  BOOST_TEST(Eventually(
      [] {
        SseClient c(TheStack().port());
        c.ReadUntil([](const auto& f) { return !f.empty(); }, 1000);
        return c.head().find(" 200 ") != std::string::npos;
      },
      5000));
}

BOOST_AUTO_TEST_CASE(provider_429_pauses_every_call_for_its_retry_after) {
  const double resumed_after = SecondsPausedByOne429(
      "rl-run", R"({"endpoint":"get_prediction","status":429,"retry_after":5,"count":1})", 4600);
  BOOST_TEST(resumed_after >= 4.6);
}

// SPEC §6: a 429 whose only hint is Replicate's text ("resets in ~3s.")
// pauses the poller for those 3 s, not the 10 s default nor 1 s.
BOOST_AUTO_TEST_CASE(a_429_with_only_a_text_hint_pauses_the_poller_for_that_long) {
  const double resumed_after = SecondsPausedByOne429(
      "rl-text", R"({"endpoint":"get_prediction","retry_after_text":3,"count":1})", 2600);
  BOOST_TEST(resumed_after >= 2.6);
  BOOST_TEST(resumed_after < 6.0);
}

// SPEC §4: deliveries arrive out of order; an older one changes nothing that
// a client can see: not the logs, not inline progress, not the SSE stream.
BOOST_AUTO_TEST_CASE(out_of_order_deliveries_never_move_logs_or_progress_back) {
  const std::string id = "ooo-run";
  SseClient client(TheStack().port());
  BOOST_TEST_REQUIRE(client.ReadUntil([](const auto& f) { return !f.empty(); }, 5000));
  const auto inline_progress = [&] {
    const HttpResult r = Http("GET", TheStack().Url("/api/cloud/jobs/" + id + "/inline-progress"));
    return r.status == 200 ? r.body : "http " + std::to_string(r.status);
  };
  const auto logs_end = [&] {
    const HttpResult r = Http("GET", TheStack().Url("/api/cloud/jobs/" + id + "/logs"));
    const auto doc = Parse(r.body);
    const std::string logs =
        r.status == 200 ? Str(doc, "logs") : "http " + std::to_string(r.status);
    return logs.size() > 23 ? logs.substr(logs.size() - 23) : logs;
  };

  BOOST_TEST_REQUIRE(PostSigned("msg_ooo_1", RunBody(id, "processing", 26)).status == 200);
  BOOST_TEST_REQUIRE(InboxDrained());
  const std::string at52 =
      R"({"job_id":"ooo-run","stage":"Training","last_log":"Step 26/50 - loss: 0.1","progress":52.0,"rate":null,"eta_seconds":null})";
  BOOST_TEST(inline_progress() == at52);

  // An older processing delivery, 2 steps in.
  BOOST_TEST_REQUIRE(PostSigned("msg_ooo_0", RunBody(id, "processing", 2)).status == 200);
  BOOST_TEST_REQUIRE(InboxDrained());
  BOOST_TEST(inline_progress() == at52);
  BOOST_TEST(logs_end() == "Step 26/50 - loss: 0.1\n");

  BOOST_TEST_REQUIRE(PostSigned("msg_ooo_3", RunBody(id, "succeeded", 50)).status == 200);
  BOOST_TEST_REQUIRE(InboxDrained());
  BOOST_TEST(JobStatusOf(id) == "completed");
  // The processing delivery from before the end, arriving after it.
  BOOST_TEST_REQUIRE(PostSigned("msg_ooo_2", RunBody(id, "processing", 47)).status == 200);
  BOOST_TEST_REQUIRE(InboxDrained());
  BOOST_TEST(JobStatusOf(id) == "completed");
  BOOST_TEST(logs_end() == "Step 50/50 - loss: 0.1\n");
  BOOST_TEST(
      inline_progress() ==
      R"({"job_id":"ooo-run","stage":null,"last_log":"Step 50/50 - loss: 0.1","progress":null,"rate":null,"eta_seconds":null})");

  // The stream: running then completed, and progress only ever at 52 %.
  BOOST_TEST_REQUIRE(client.ReadUntil(
      [&](const auto&) {
        for (const auto& f : client.OfType("job_status_changed")) {
          if (f.data.find(R"("job_id":"ooo-run","status":"completed")") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      10000));
  client.ReadUntil([](const auto&) { return false; }, 500);  // anything still in flight
  std::vector<std::string> statuses;
  for (const auto& f : client.OfType("job_status_changed")) {
    if (f.data.find(R"("job_id":"ooo-run")") == std::string::npos) continue;
    const auto doc = Parse(f.data);
    statuses.push_back(Str(doc, "status"));
  }
  BOOST_TEST(statuses == (std::vector<std::string>{"running", "completed"}),
             boost::test_tools::per_element());
  std::vector<std::string> progress;
  for (const auto& f : client.OfType("job_progress")) {
    if (f.data.find(R"("job_id":"ooo-run")") == std::string::npos) continue;
    const auto doc = Parse(f.data);
    progress.push_back(doc["progress"].IsNumber() ? std::to_string(doc["progress"].GetDouble())
                                                  : "null");
  }
  BOOST_TEST(progress == (std::vector<std::string>{"52.000000"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

// The worker's startup line for each way polling can be decided (SPEC §6).
BOOST_AUTO_TEST_CASE(polling_startup_line_matches_the_configuration) {
  char tmpl[] = "/tmp/jobpulse-poll-XXXXXX";
  BOOST_TEST_REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  struct Case {
    std::string yaml;
    std::vector<std::pair<std::string, std::string>> env;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"", {}, "job status polling: on (source: auto, interval: 30s, interval_source: default"},
      {"",
       {{"SIMPLETUNER_JOB_POLL_INTERVAL", "12"}},
       "job status polling: on (source: auto, interval: 12s, interval_source: env"},
      {"background:\n  job_status_polling:\n    enabled: false\n    interval_seconds: 45\n",
       {},
       "job status polling: off (source: enterprise config, interval: 45s, interval_source: "
       "enterprise config"},
      {"",
       {{"REPLICATE_WEBHOOK_URL", "https://example.invalid/hook"}},
       "job status polling: off (source: auto, interval: 30s, interval_source: default, webhook "
       "configured: yes)"},
      {"background:\n  job_status_polling:\n    enabled: true\n",
       {{"REPLICATE_WEBHOOK_URL", "https://example.invalid/hook"}},
       "job status polling: on (source: enterprise config, interval: 30s"},
  };
  int n = 0;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("case " << n) {
      const std::string yaml = dir + "/case" + std::to_string(n) + ".yaml";
      std::ofstream(yaml) << c.yaml << "\n";
      const std::string log = dir + "/case" + std::to_string(n) + ".log";
      const pid_t pid = fork();
      if (pid == 0) {
        for (const char* name : {"REPLICATE_API_TOKEN", "REPLICATE_WEBHOOK_URL",
                                 "SIMPLETUNER_JOB_POLL_INTERVAL", "SIMPLETUNER_CONFIG_DIR"}) {
          unsetenv(name);
        }
        setenv("SIMPLETUNER_ENTERPRISE_CONFIG", yaml.c_str(), 1);
        setenv("JOBPULSE_DB", (dir + "/case.db").c_str(), 1);
        for (const auto& [k, v] : c.env) setenv(k.c_str(), v.c_str(), 1);
        freopen(log.c_str(), "w", stderr);
        const std::string bin = testing::BinDir() + "/jobpulse-worker";
        execl(bin.c_str(), bin.c_str(), "--once", static_cast<char*>(nullptr));
        _exit(127);
      }
      int status = 0;
      waitpid(pid, &status, 0);
      BOOST_TEST(WEXITSTATUS(status) == 0);
      const std::string out = testing::ReadFile(log);
      BOOST_TEST(out.find(c.expected) != std::string::npos, "got: " << out);
    }
    ++n;
  }
  // --check-config: every value with its source, the token masked.
  {
    const std::string out_path = dir + "/check.out";
    const std::string cmd = "env REPLICATE_API_TOKEN=r8_very_secret_value JOBPULSE_DB=" + dir +
                            "/case.db SIMPLETUNER_ENTERPRISE_CONFIG= " + testing::BinDir() +
                            "/jobpulse-worker --check-config > " + out_path + " 2>&1";
    BOOST_TEST(std::system(cmd.c_str()) == 0);
    const std::string out = testing::ReadFile(out_path);
    BOOST_TEST(out.find("providers.replicate.api_token = **** (env)") != std::string::npos, out);
    BOOST_TEST(out.find("database.path = " + dir + "/case.db (env)") != std::string::npos);
    BOOST_TEST(out.find("r8_very_secret_value") == std::string::npos);
  }
  // --check-config=sh: what nginx/jobpulse-run evals; the token only as "set".
  {
    const std::string out_path = dir + "/check_sh.out";
    const std::string cmd =
        "env REPLICATE_API_TOKEN=r8_very_secret_value JOBPULSE_PORT=8123 JOBPULSE_DB=\"" + dir +
        "/it's.db\" SIMPLETUNER_ENTERPRISE_CONFIG= " + testing::BinDir() +
        "/jobpulse-worker --check-config=sh > " + out_path + " 2>&1";
    BOOST_TEST(std::system(cmd.c_str()) == 0);
    const std::string raw = testing::ReadFile(out_path);
    BOOST_TEST(raw.find("r8_very_secret_value") == std::string::npos, raw);
    const std::string eval_path = dir + "/check_sh.eval";
    const std::string eval_cmd =
        "sh -c '. \"$1\" && printf \"%s|%s|%s\" "
        "\"$cfg_providers_replicate_api_token\" \"$cfg_database_path\" "
        "\"$cfg_listen_port\"' sh " +
        out_path + " > " + eval_path;
    BOOST_TEST(std::system(eval_cmd.c_str()) == 0);
    BOOST_TEST(testing::ReadFile(eval_path) == "set|" + dir + "/it's.db|8123");
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace jobpulse

namespace jobpulse {

// With polling off, a job someone watches is still kept within
// inline_progress.max_age_seconds of the provider: the handlers record demand
// and poke, the worker fetches (SPEC §5, §6 demand refresh).
BOOST_AUTO_TEST_CASE(watched_jobs_stay_fresh_with_polling_off) {
  Simulator sim;
  sim.Control("POST", "/runs", R"({"id":"watched","status":"processing","logs":"Step 1/100\n"})");
  sim.Control("POST", "/runs", R"({"id":"unwatched","status":"processing","logs":"Step 1/100\n"})");
  testing::StackOptions options;
  options.pool_size = 2;
  options.with_worker = true;
  options.replicate_base_url = sim.base_url();
  options.replicate_token = Simulator::kToken;
  options.enterprise_yaml = "background:\n  job_status_polling:\n    enabled: false\n";
  Stack stack(options);
  BOOST_TEST_REQUIRE(Http("POST", stack.Url("/api/cloud/jobs/sync")).status == 200);
  // Wait for the worker's heartbeat, so handlers leave refreshes to it.
  BOOST_TEST_REQUIRE(Eventually(
      [&] {
        const HttpResult r = Http("GET", stack.Url("/api/cloud/health"));
        return r.status == 200 && Str(Parse(r.body)["components"]["worker"], "status") == "ok";
      },
      10000));
  sim.Control("POST", "/runs/watched/logs", R"({"append":"Step 40/100\n"})");
  sim.Control("POST", "/runs/unwatched/logs", R"({"append":"Step 40/100\n"})");
  const auto started = Clock::now();
  const std::string url = stack.Url("/api/cloud/jobs/watched/inline-progress");
  BOOST_TEST_REQUIRE(Eventually(
      [&] {
        return Parse(Http("GET", url).body)["progress"].IsNumber() &&
               Parse(Http("GET", url).body)["progress"].GetDouble() == 40.0;
      },
      8000));
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  BOOST_TEST_MESSAGE("watched job fresh after " << seconds << " s");
  BOOST_TEST(seconds < 6.0);
  // Nobody watched the other one and nobody polls: the provider was not asked.
  const auto counters = Parse(sim.Control("GET", "/counters"));
  const auto& runs = counters["runs"];
  BOOST_TEST(!runs.HasMember("unwatched"));
  BOOST_TEST(runs["watched"].GetInt64() >= 1);
}

}  // namespace jobpulse
