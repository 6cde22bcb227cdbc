#include "tests/integration/two_nodes.h"

#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "lib/pg_store.h"
#include "lib/timestamp.h"
#include "lib/webhook_signature.h"
#include "tests/integration/json_check.h"

namespace jobpulse::two_nodes {

using testing::Http;
using testing::HttpResult;

SseStream::SseStream(int port, const std::string& last_event_id) {
  std::string error;
  fd_ = testing::ConnectToLoopback(port, &error);
  BOOST_TEST_REQUIRE(fd_ >= 0, error);
  std::string request = "GET /api/events HTTP/1.0\r\nHost: 127.0.0.1\r\n";
  if (!last_event_id.empty()) request += "Last-Event-ID: " + last_event_id + "\r\n";
  request += "\r\n";
  BOOST_TEST_REQUIRE(send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
                     static_cast<ssize_t>(request.size()));
}

SseStream::~SseStream() {
  if (fd_ >= 0) close(fd_);
}

int SseStream::Find(const std::string& needle, size_t from) const {
  for (size_t i = from; i < frames_.size(); ++i) {
    if (frames_[i].data.find(needle) != std::string::npos) return static_cast<int>(i);
  }
  return -1;
}

bool SseStream::ReadSome() {
  char buf[65536];
  const ssize_t n = read(fd_, buf, sizeof(buf));
  if (n <= 0) {
    close(fd_);
    fd_ = -1;
    return false;
  }
  raw_.append(buf, static_cast<size_t>(n));
  Split();
  return true;
}

void SseStream::Split() {
  if (head_.empty()) {
    const size_t end = raw_.find("\r\n\r\n");
    if (end == std::string::npos) return;
    head_ = raw_.substr(0, end);
    raw_.erase(0, end + 4);
  }
  const auto now = Clock::now();
  size_t end;
  while ((end = raw_.find("\n\n")) != std::string::npos) {
    const std::string block = raw_.substr(0, end);
    raw_.erase(0, end + 2);
    Frame frame;
    frame.at = now;
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

namespace {

std::unique_ptr<testing::Stack> StartNode(const std::string& name) {
  testing::StackOptions options;
  options.pool_size = kPoolSize;
  options.with_worker = true;
  options.replicate_base_url = Nodes::sim->base_url();
  options.replicate_token = testing::Simulator::kToken;
  options.database_url =
      Nodes::cluster->url(Nodes::database) + "&application_name=" + std::string(name);
  // Polling on (no webhook URL), the queue loop every second, the §12
  // limits, and room for case c's ten waiting syncs a node.
  options.enterprise_yaml =
      "background:\n  job_status_polling:\n    enabled: true\n"
      "  queue_processing:\n    interval_seconds: 1\n"
      "queue:\n  max_concurrent: " +
      std::to_string(kMaxConcurrent) +
      "\n  user_max_concurrent: " + std::to_string(kUserMaxConcurrent) +
      "\napi:\n  max_provider_waiters: 24\n";
  options.extra_env = {{"SIMPLETUNER_JOB_POLL_INTERVAL", std::to_string(kPollSeconds)},
                       {"REPLICATE_WEBHOOK_SECRET", kSecret}};
  auto stack = std::make_unique<testing::Stack>(options);
  BOOST_TEST_REQUIRE(stack->WaitForEvents(15000), name << "'s /api/events never answered:\n"
                                                       << stack->Logs());
  return stack;
}

}  // namespace

Nodes::Nodes() {
  cluster = std::make_unique<testing::PgCluster>();
  database = "two_nodes_" + std::to_string(getpid());
  cluster->CreateDatabase(database);
  auto connected = PgConnection::Connect(cluster->url(database));
  BOOST_TEST_REQUIRE(connected.ok(), connected.status().ToString());
  sql = std::move(*connected);
  sim = std::make_unique<testing::Simulator>(std::vector<std::string>{"--webhook-secret", kSecret});
  a = StartNode("jobpulse-a");
  b = StartNode("jobpulse-b");
  // The workers have opened their store by now, which migrates the schema.
  BOOST_TEST_REQUIRE(SqlInt("SELECT count(*) FROM pg_tables WHERE tablename = 'jobs'") == 1,
                     "no jobs table in the shared database: the programs do not use "
                     "JOBPULSE_DATABASE_URL (database.url)");
}

Nodes::~Nodes() {
  a.reset();
  b.reset();
  sim.reset();
  sql.reset();
  cluster.reset();
}

testing::Stack& A() { return *Nodes::a; }
testing::Stack& B() { return *Nodes::b; }
testing::Simulator& Sim() { return *Nodes::sim; }

std::string NameOf(const testing::Stack& node) {
  return &node == Nodes::a.get() ? "jobpulse-a" : "jobpulse-b";
}

int64_t SqlInt(const std::string& sql) {
  auto rows = Nodes::sql->Query(sql, {}, "two_nodes query");
  BOOST_TEST_REQUIRE(rows.ok(), sql << ": " << rows.status().ToString());
  BOOST_TEST_REQUIRE(rows->size() == 1, sql);
  return rows->Int(0, 0);
}

std::vector<int64_t> SqlInts(const std::string& sql) {
  auto rows = Nodes::sql->Query(sql, {}, "two_nodes query");
  BOOST_TEST_REQUIRE(rows.ok(), sql << ": " << rows.status().ToString());
  std::vector<int64_t> out;
  for (int i = 0; i < rows->size(); ++i) out.push_back(rows->Int(i, 0));
  return out;
}

std::string LeaderName() {
  const std::string key = std::to_string(PgStore::kLeaderLockKey);
  auto rows = Nodes::sql->Query(
      "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
      "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
      "AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint",
      {key}, "who leads");
  BOOST_TEST_REQUIRE(rows.ok(), rows.status().ToString());
  return rows->size() == 1 ? rows->Text(0, 0) : rows->size() == 0 ? "" : "<several>";
}

HttpResult PostSigned(const testing::Stack& node, const std::string& webhook_id,
                      const std::string& body) {
  const std::string timestamp = std::to_string(NowMicros() / 1000000);
  const auto key = DecodeWebhookSecret(kSecret);
  BOOST_TEST_REQUIRE(key.has_value());
  return Http("POST", node.Url("/api/webhooks/replicate"), body,
              {"Content-Type: application/json", "webhook-id: " + webhook_id,
               "webhook-timestamp: " + timestamp,
               "webhook-signature: " + SignWebhook(*key, webhook_id, timestamp, body)});
}

std::string RunBody(const std::string& id, const std::string& status) {
  std::string body = R"({"id":")" + id + R"(","model":"simpletuner/advanced-trainer-l40s",)" +
                     R"("version":"v1","status":")" + status +
                     R"(","created_at":"2026-11-28T10:00:00.000Z",)" +
                     R"("started_at":"2026-11-28T10:00:05.000Z","logs":"Loading model\n")";
  if (status == "succeeded") {
    body += R"(,"completed_at":"2026-11-28T10:30:00.000Z","metrics":{"predict_time":1795.0})";
  }
  return body + "}";
}

void CreateRun(const std::string& id, const std::string& status) {
  Sim().Control("POST", "/runs",
                R"({"id":")" + id + R"(","status":")" + status +
                    R"(","model":"simpletuner/advanced-trainer-l40s","kind":"prediction"})");
}

int64_t RunGets(const std::string& id) {
  const auto doc = testing::Parse(Sim().Control("GET", "/counters"));
  const auto it = doc["runs"].FindMember(id.c_str());
  return it == doc["runs"].MemberEnd() ? 0 : it->value.GetInt64();
}

int64_t EndpointCount(const std::string& endpoint) {
  const auto doc = testing::Parse(Sim().Control("GET", "/counters"));
  const auto it = doc["endpoints"].FindMember(endpoint.c_str());
  return it == doc["endpoints"].MemberEnd() ? 0 : it->value.GetInt64();
}

double MillisBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

Percentiles Summarize(std::vector<double> values) {
  Percentiles p;
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::min(values.size(), std::max<size_t>(rank, 1)) - 1];
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.max = values.back();
  return p;
}

}  // namespace jobpulse::two_nodes
