// The fault suite (SPEC §6, §7, §9): the real stack (supervisord, nginx, the
// pool, the worker) against a simulator that is slow, failing, throttling,
// malformed or dropping connections, handlers and the worker killed with -9,
// and a database on its own small tmpfs that fills up or turns read-only.
// Throughout, a reader checks that GET /api/cloud/jobs keeps answering fast;
// afterwards the database passes PRAGMA integrity_check.
//
// The disk tests mount a tmpfs and need root (CI runs as root); elsewhere they
// are skipped and say so.
#include <rapidjson/document.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/timestamp.h"
#include "lib/webhook_signature.h"
#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"

namespace jobpulse {
namespace {

using testing::Eventually;
using testing::Http;
using testing::HttpResult;
using testing::Parse;
using testing::Simulator;
using testing::Stack;
using Clock = std::chrono::steady_clock;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kTmpfsSize = "size=48m";

bool IsRoot() { return ::geteuid() == 0; }

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One stack for the suite; its database lives on a tmpfs of its own when we
// may mount one, so a test can fill it or make it read-only.
struct FaultStack {
  FaultStack() {
    char tmpl[] = "/tmp/jobpulse-fault-db-XXXXXX";
    BOOST_TEST_REQUIRE(mkdtemp(tmpl) != nullptr);
    db_dir = tmpl;
    if (IsRoot()) {
      mounted = ::mount("tmpfs", db_dir.c_str(), "tmpfs", 0, kTmpfsSize) == 0;
      if (mounted) ::chmod(db_dir.c_str(), 0700);
    }
    testing::StackOptions options;
    options.pool_size = 4;  // two of them may wait on the provider
    options.with_worker = true;
    options.db_dir = db_dir;
    options.enterprise_yaml = "webhooks:\n  retention_hours: 0\n";
    options.extra_env = {{"SIMPLETUNER_JOB_POLL_INTERVAL", "1"},
                         {"REPLICATE_WEBHOOK_SECRET", kSecret}};
    env.Start(options, {}, /*open_store=*/false);  // the remount needs every file closed
  }
  ~FaultStack() {
    env.Stop();
    if (mounted) ::umount2(db_dir.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(db_dir, ec);
  }
  static inline std::string db_dir;
  static inline bool mounted = false;
  static inline testing::SimulatedStack env;
};

Stack& TheStack() { return FaultStack::env.stack(); }
Simulator& Sim() { return FaultStack::env.sim(); }
std::string Url(const std::string& path) { return TheStack().Url(path); }

boost::test_tools::assertion_result CanMount(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result ok(FaultStack::mounted);
  ok.message() << "needs root to mount a tmpfs for the database";
  return ok;
}

void CreateRun(const std::string& id, const std::string& status) {
  Sim().Control("POST", "/runs", R"({"id":")" + id + R"(","status":")" + status + "\"}");
}

std::string Str(const rapidjson::Value& v, const char* key) {
  const auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "<none>";
}

std::string ErrorOf(const HttpResult& r) { return Str(Parse(r.body), "error"); }

HttpResult PostSync() {
  return Http("POST", Url("/api/cloud/jobs/sync"), R"({"provider":"replicate"})",
              {"Content-Type: application/json"});
}

// A signed delivery of a run `id` whose log is `log_bytes` long.
HttpResult PostWebhook(const std::string& webhook_id, const std::string& id,
                       size_t log_bytes = 16) {
  const std::string body = R"({"id":")" + id + R"(","status":"processing","logs":")" +
                           std::string(log_bytes, 'x') + "\"}";
  const std::string ts = std::to_string(NowMicros() / 1000000);
  const auto key = DecodeWebhookSecret(kSecret);
  return Http(
      "POST", Url("/api/webhooks/replicate"), body,
      {"Content-Type: application/json", "webhook-id: " + webhook_id, "webhook-timestamp: " + ts,
       "webhook-signature: " + SignWebhook(*key, webhook_id, ts, body)});
}

// Reads the list every 50 ms on its own thread until stopped; remembers the
// slowest answer and any that was not 200.
class Reader {
 public:
  Reader()
      : thread_([this] {
          while (!stop_) {
            const auto start = Clock::now();
            const HttpResult r = Http("GET", Url("/api/cloud/jobs?limit=5"));
            const double ms = MillisSince(start);
            slowest_ms_ = std::max(slowest_ms_.load(), ms);
            if (r.status != 200) ++failures_;
            ++reads_;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }) {}
  ~Reader() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  double slowest_ms() const { return slowest_ms_; }
  int failures() const { return failures_; }
  int reads() const { return reads_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<double> slowest_ms_{0};
  std::atomic<int> failures_{0};
  std::atomic<int> reads_{0};
  std::thread thread_;
};

// A raw read of the stack's database, for what the API does not show.
std::string QueryText(const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(TheStack().db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db);
  return out;
}

// PRAGMA wal_checkpoint(TRUNCATE) on a connection of the test's own; false
// when it could not finish (a reader or writer of the stack kept it busy past
// the busy timeout).
bool Checkpoint() {
  sqlite3* db = nullptr;
  bool done = false;
  if (sqlite3_open_v2(TheStack().db_path().c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
      SQLITE_OK) {
    sqlite3_busy_timeout(db, 2000);
    // A connection takes up WAL mode at its first read, not at open.
    sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
    int log_frames = 0;
    int checkpointed = 0;
    done = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                     &checkpointed) == SQLITE_OK;
  }
  sqlite3_close_v2(db);
  return done;
}

int64_t JobCount() { return std::atoll(QueryText("SELECT count(*) FROM jobs").c_str()); }

bool Remount(bool read_only) {
  const unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
  return ::mount("tmpfs", FaultStack::db_dir.c_str(), "tmpfs", flags, kTmpfsSize) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(faults_through_the_stack, *boost::unit_test::fixture<FaultStack>())

// SPEC §6 "The pool is never held hostage": 20 clients on the provider paths
// while the provider takes 10 s; reads and webhooks keep being answered.
BOOST_AUTO_TEST_CASE(a_slow_provider_never_holds_the_pool) {
  for (int i = 0; i < 3; ++i) CreateRun("slow" + std::to_string(i), "processing");
  BOOST_TEST_REQUIRE(PostSync().status == 200);
  Sim().Control("POST", "/faults", R"({"endpoint":"*","delay_ms":10000})");
  Reader reader;
  std::vector<std::thread> clients;
  std::atomic<int> busy{0}, waited{0}, other{0};
  for (int i = 0; i < 20; ++i) {
    clients.emplace_back([&, i] {
      const char* paths[] = {"/api/cloud/jobs?sync_active=true",
                             "/api/cloud/jobs/slow0/logs?refresh=true"};
      const HttpResult r = i % 3 == 0 ? PostSync() : Http("GET", Url(paths[i % 2]));
      if (r.status == 503 && ErrorOf(r) == "provider_busy" && r.Header("retry-after") == "1") {
        ++busy;
      } else if (r.status == 200 || r.status == 502) {
        ++waited;
      } else {
        ++other;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto hook_start = Clock::now();
  const HttpResult hook = PostWebhook("msg_slow_provider", "slow-hook");
  const double hook_ms = MillisSince(hook_start);
  for (auto& c : clients) c.join();
  reader.Stop();
  Sim().Control("DELETE", "/faults");
  BOOST_TEST_MESSAGE("slowest list read while the provider was slow: "
                     << reader.slowest_ms() << " ms over " << reader.reads() << " reads; " << busy
                     << " provider_busy, " << waited << " waited, webhook " << hook_ms << " ms");
  BOOST_TEST(reader.failures() == 0);
  BOOST_TEST(reader.slowest_ms() < 1000.0);
  BOOST_TEST(hook.status == 200);
  BOOST_TEST(hook_ms < 1000.0);
  BOOST_TEST(other == 0);
  BOOST_TEST(waited <= 2 * 2);  // two slots, each reused at most once in the window
  BOOST_TEST(busy >= 16);
}

// SPEC §6: the 5 s budget of sync_active is a deadline, whatever the provider does.
BOOST_AUTO_TEST_CASE(sync_active_answers_within_its_deadline) {
  CreateRun("deadline0", "processing");
  BOOST_TEST_REQUIRE(PostSync().status == 200);
  // The worker polls every second; once its calls hang too, the jobs go stale
  // (past the 5 s freshness) and sync_active must fetch them itself.
  Sim().Control("POST", "/faults", R"({"endpoint":"get_prediction","delay_ms":10000})");
  std::this_thread::sleep_for(std::chrono::milliseconds(6000));
  const auto start = Clock::now();
  const HttpResult r = Http("GET", Url("/api/cloud/jobs?sync_active=true&limit=1"));
  const double ms = MillisSince(start);
  Sim().Control("DELETE", "/faults");
  BOOST_TEST_MESSAGE("sync_active with a 10 s provider: " << ms << " ms, X-Sync-Active: "
                                                          << r.Header("x-sync-active"));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(ms < 5500.0);
  const std::string report = r.Header("x-sync-active");
  BOOST_TEST(report.find("refreshed=0;") == 0u, report);
  BOOST_TEST(report.find("; failed=0") == std::string::npos, report);  // it did try
}

// A provider that fails in each way Replicate can (5xx, 429, garbage, a
// dropped connection) on every endpoint, while the worker polls every second:
// a full sync answers the right envelope and writes nothing, sync_active and
// logs?refresh=true answer at once from what is stored or with the envelope,
// and reads never slow down.
BOOST_AUTO_TEST_CASE(provider_faults_change_nothing_and_keep_reads_fast) {
  CreateRun("fault-new", "processing");
  const struct {
    const char* fault;
    long status;
    const char* error;
  } cases[] = {
      {R"({"endpoint":"*","status":500})", 502, "provider_error"},
      {R"({"endpoint":"*","status":503,"retry_after":2})", 502, "provider_error"},
      {R"({"endpoint":"*","status":429,"retry_after":2})", 429, "provider_rate_limited"},
      {R"({"endpoint":"*","malformed":true})", 502, "provider_error"},
      {R"({"endpoint":"*","drop":true})", 502, "provider_error"},
  };
  Reader reader;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.fault) {
      Sim().Control("DELETE", "/faults");
      Sim().Control("POST", "/faults", c.fault);
      const int64_t before = JobCount();
      const HttpResult r = PostSync();
      BOOST_TEST(r.status == c.status);
      BOOST_TEST(ErrorOf(r) == c.error);
      BOOST_TEST(JobCount() == before);
      const HttpResult active = Http("GET", Url("/api/cloud/jobs?sync_active=true&limit=1"));
      BOOST_TEST(active.status == 200);
      BOOST_TEST(active.Header("x-sync-active").find("refreshed=0;") == 0u,
                 active.Header("x-sync-active"));
      const HttpResult logs = Http("GET", Url("/api/cloud/jobs/slow0/logs?refresh=true"));
      BOOST_TEST((logs.status == c.status || logs.status == 503), logs.body);
      BOOST_TEST(Parse(logs.body).HasMember("error"));
      // Inline progress answers from the cache whatever the provider does.
      BOOST_TEST(Http("GET", Url("/api/cloud/jobs/slow0/inline-progress")).status == 200);
      std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // a poll cycle in the fault
    }
  }
  Sim().Control("DELETE", "/faults");
  reader.Stop();
  BOOST_TEST_MESSAGE("slowest list read during provider faults: "
                     << reader.slowest_ms() << " ms over " << reader.reads() << " reads");
  BOOST_TEST(reader.failures() == 0);
  BOOST_TEST(reader.slowest_ms() < 1000.0);
  BOOST_TEST(QueryText("PRAGMA integrity_check") == "ok");
}

// SPEC §6: a sync whose handler was killed frees its claim at once.
BOOST_AUTO_TEST_CASE(kill_9_of_a_handler_mid_sync_frees_sync_at_once) {
  Sim().Control("POST", "/faults", R"({"endpoint":"list_predictions","delay_ms":4000})");
  HttpResult killed;
  std::thread syncing([&] { killed = PostSync(); });
  std::string owner;
  BOOST_TEST_REQUIRE(Eventually(
      [&] {
        owner = QueryText("SELECT owner FROM leases WHERE name = 'sync:replicate'");
        return owner.starts_with("pid:");
      },
      3000));
  const pid_t pid = std::atoi(owner.c_str() + 4);
  BOOST_TEST_REQUIRE(pid > 1);
  BOOST_TEST_REQUIRE(::kill(pid, SIGKILL) == 0);
  syncing.join();
  BOOST_TEST(killed.status >= 500);
  BOOST_TEST(Parse(killed.body).IsObject());  // nginx's own error, as a JSON envelope
  Sim().Control("DELETE", "/faults");
  const auto start = Clock::now();
  const HttpResult again = PostSync();
  const double ms = MillisSince(start);
  BOOST_TEST_MESSAGE("sync after kill -9 of its handler: " << again.status << " in " << ms
                                                           << " ms");
  BOOST_TEST(again.status == 200);
  BOOST_TEST(ms < 1000.0);
}

// SPEC §9: a full disk is a clear 503 and health says so; freeing space heals
// it without restarting anything.
BOOST_AUTO_TEST_CASE(a_full_disk_is_503_and_recovers_by_itself,
                     *boost::unit_test::precondition(CanMount)) {
  const int worker = TheStack().ProgramPid("worker");
  const std::string filler = FaultStack::db_dir + "/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string block(1 << 20, 'f');
    while (out.write(block.data(), block.size())) {
    }
  }
  // Bigger than any WAL space already allocated: it needs new pages.
  const HttpResult refused = PostWebhook("msg_full_disk", "full-disk", 6 << 20);
  BOOST_TEST(refused.status == 503);
  BOOST_TEST(ErrorOf(refused) == "database_unavailable");
  BOOST_TEST(refused.Header("retry-after") == "5");
  const HttpResult health = Http("GET", Url("/api/cloud/health"));
  BOOST_TEST(health.status == 503);
  BOOST_TEST(Str(Parse(health.body)["components"]["database"], "status") == "down");
  BOOST_TEST(Http("GET", Url("/api/cloud/jobs?limit=1")).status == 200);

  std::filesystem::remove(filler);
  BOOST_TEST(Eventually([] { return Http("GET", Url("/api/cloud/health")).status == 200; }, 10000));
  BOOST_TEST(PostWebhook("msg_full_disk", "full-disk", 6 << 20).status == 200);
  BOOST_TEST(TheStack().ProgramPid("worker") == worker);
}

// SPEC §9: a database on a read-only file system is a clear 503 from the
// handlers, the worker waits for it instead of exiting until supervisord gives
// up, and both come back when it is writable, without a restart. (A mount
// with files open for writing cannot be made read-only, so the programs stop
// first and start on the read-only file system.)
BOOST_AUTO_TEST_CASE(a_read_only_database_is_503_and_everything_recovers_by_itself,
                     *boost::unit_test::precondition(CanMount)) {
  TheStack().SupervisorCtl("stop worker jobpulse-fcgi:*");
  BOOST_TEST_REQUIRE(Remount(true));
  TheStack().SupervisorCtl("start jobpulse-fcgi:* worker");
  HttpResult refused;
  BOOST_TEST(Eventually(
      [&] {
        refused = Http("GET", Url("/api/cloud/jobs?limit=1"));
        return refused.status == 503 && ErrorOf(refused) == "database_unavailable";
      },
      10000));
  BOOST_TEST(refused.Header("retry-after") != "");
  BOOST_TEST(PostWebhook("msg_read_only", "read-only").status == 503);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  const std::string status = TheStack().SupervisorCtl("status worker");
  BOOST_TEST(status.find("RUNNING") != std::string::npos, status);
  const int worker = TheStack().ProgramPid("worker");

  BOOST_TEST_REQUIRE(Remount(false));
  BOOST_TEST(
      Eventually([] { return Http("GET", Url("/api/cloud/jobs?limit=1")).status == 200; }, 10000));
  // The worker's retries back off 1, 2, 4, 8 s: it is back within the next one.
  BOOST_TEST(Eventually(
      [] {
        const HttpResult h = Http("GET", Url("/api/cloud/health"));
        return h.status == 200 && Str(Parse(h.body)["components"]["worker"], "status") == "ok";
      },
      15000));
  BOOST_TEST(TheStack().ProgramPid("worker") == worker);
  BOOST_TEST(PostWebhook("msg_read_only", "read-only").status == 200);
  BOOST_TEST(Eventually(
      [] { return QueryText("SELECT status FROM jobs WHERE job_id = 'read-only'") == "running"; },
      10000));
}

// SPEC §7: a flood of deliveries for a fixed count; with retention 0 the
// applied bodies are dropped while it goes on and the file stays small.
BOOST_AUTO_TEST_CASE(a_webhook_flood_keeps_the_inbox_within_its_retention) {
  constexpr int kDeliveries = 1000;
  constexpr size_t kLogBytes = 16 * 1024;
  std::atomic<int> accepted{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < kDeliveries; i += 4) {
        const std::string id = "flood-" + std::to_string(i % 50);
        if (PostWebhook("msg_flood_" + std::to_string(i), id, kLogBytes + i).status == 200) {
          ++accepted;
        }
      }
    });
  }
  for (auto& s : senders) s.join();
  BOOST_TEST(accepted == kDeliveries);
  BOOST_TEST(Eventually(
      [] {
        return QueryText("SELECT count(*) FROM webhook_inbox WHERE applied_at IS NULL") == "0" &&
               QueryText("SELECT coalesce(sum(length(body)), 0) FROM webhook_inbox") == "0" &&
               std::atoi(QueryText("PRAGMA freelist_count").c_str()) < 100;
      },
      20000));
  // Freed pages go back to the file system when the WAL holding the vacuum is
  // checkpointed; the worker's own checkpoints do that in time, this one now.
  const int64_t used = std::atoll(
      QueryText("SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, "
                "pragma_freelist_count, pragma_page_size")
          .c_str());
  // A TRUNCATE checkpoint gives up when the stack's readers keep it busy past
  // its timeout; the file is judged once one has gone through.
  uintmax_t file_bytes = 0;
  const bool shrunk = Eventually(
      [&] {
        const bool checkpointed = Checkpoint();
        file_bytes = std::filesystem::file_size(TheStack().db_path());
        return checkpointed && file_bytes < kDeliveries * kLogBytes / 2;
      },
      20000, 500);
  BOOST_TEST_MESSAGE("after " << kDeliveries << " deliveries of " << kLogBytes << " B: " << used
                              << " B in use, database file " << file_bytes << " B");
  BOOST_TEST(used < static_cast<int64_t>(kDeliveries * kLogBytes / 4));
  BOOST_TEST(shrunk,
             "database file " << file_bytes << " B, bound " << kDeliveries * kLogBytes / 2 << " B");
}

// kill -9 of the worker in the middle of its poll cycles and inbox passes:
// supervisord starts it again, and every acknowledged delivery is applied.
BOOST_AUTO_TEST_CASE(kill_9_of_the_worker_mid_cycle_loses_nothing_acknowledged) {
  for (int i = 0; i < 20; ++i) CreateRun("cycle" + std::to_string(i), "processing");
  BOOST_TEST_REQUIRE(PostSync().status == 200);
  // Slow polls, so the kill lands inside a cycle.
  Sim().Control("POST", "/faults", R"({"endpoint":"get_prediction","delay_ms":300})");
  std::atomic<int> acknowledged{0};
  std::thread sender([&] {
    for (int i = 0; i < 300; ++i) {
      const HttpResult r =
          PostWebhook("msg_kill_" + std::to_string(i), "cycle" + std::to_string(i % 20));
      if (r.status == 200) ++acknowledged;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const int worker = TheStack().ProgramPid("worker");
  BOOST_TEST_REQUIRE(worker > 1);
  BOOST_TEST_REQUIRE(::kill(worker, SIGKILL) == 0);
  sender.join();
  Sim().Control("DELETE", "/faults");
  BOOST_TEST(acknowledged == 300);
  BOOST_TEST(Eventually(
      [&] {
        const int pid = TheStack().ProgramPid("worker");
        return pid > 1 && pid != worker;
      },
      10000));
  BOOST_TEST(Eventually(
      [] {
        return QueryText(
                   "SELECT count(*) FROM webhook_inbox WHERE webhook_id LIKE 'msg_kill_%' "
                   "AND applied_at IS NOT NULL") == "300";
      },
      20000));
  BOOST_TEST(QueryText("PRAGMA integrity_check") == "ok");
}

// After everything above: the file is sound and every acknowledged delivery
// of this suite was applied.
BOOST_AUTO_TEST_CASE(the_database_passes_its_integrity_check) {
  BOOST_TEST(QueryText("PRAGMA integrity_check") == "ok");
  BOOST_TEST(QueryText("SELECT count(*) FROM webhook_inbox WHERE applied_at IS NULL") == "0");
  BOOST_TEST(QueryText("SELECT count(*) FROM jobs WHERE job_id LIKE 'flood-%'") == "50");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
