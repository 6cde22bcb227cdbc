// Submission and the queue through the real stack (SPEC §12, issue 11): nginx,
// the FastCGI pool and the worker under supervisord, the Replicate simulator
// making the runs and sending their signed webhooks back through nginx. The
// dispatcher's rules one by one, without processes: tests/dispatcher_test.cc.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lib/config.h"
#include "lib/run_match.h"
#include "lib/timestamp.h"
#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"
#include "tests/loopback_socket.h"

namespace jobpulse::testing {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

std::string Str(const rapidjson::Value& v) {
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : "<not a string>";
}

struct QueueStack {
  // The worker polls too rarely to matter: runs end through their webhooks.
  void Start(const std::string& queue_yaml) {
    port = FreePort();
    StackOptions options;
    options.port = port;
    options.with_worker = true;
    options.enterprise_yaml =
        "background:\n  job_status_polling:\n    enabled: false\n" + queue_yaml;
    options.extra_env = {{"REPLICATE_WEBHOOK_URL",
                          "http://127.0.0.1:" + std::to_string(port) + "/api/webhooks/replicate"}};
    s.Start(options);
    BOOST_TEST_REQUIRE(s.stack().WaitForEvents(10000), s.stack().Logs());
  }
  // Submits a prediction for `user`; returns the new job's id.
  std::string Submit(const std::string& user, int n) {
    const std::string body = R"({"kind":"prediction","model":"acme/sdxl","input":{"n":)" +
                             std::to_string(n) + R"(},"user_id":")" + user + R"("})";
    const HttpResult r = Http("POST", s.stack().Url("/api/cloud/jobs/submit"), body,
                              {"Content-Type: application/json"});
    BOOST_TEST_REQUIRE(r.status == 202, r.body);
    const auto doc = Parse(r.body);
    return Str(doc["job"]["job_id"]);
  }
  int Creates() {
    const auto doc = Parse(s.sim().Control("GET", "/counters"));
    const auto& endpoints = doc["endpoints"];
    const auto it = endpoints.FindMember("create_prediction");
    return it == endpoints.MemberEnd() ? 0 : it->value.GetInt();
  }
  // The simulator's runs, by the job id their webhook URL carries.
  std::map<std::string, std::vector<std::string>> RunsByJob() {
    const HttpResult r = Http("GET", s.sim().base_url() + "/predictions", "",
                              {"Authorization: Bearer " + std::string(Simulator::kToken)});
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    const auto doc = Parse(r.body);
    std::map<std::string, std::vector<std::string>> runs;
    for (const auto& run : doc["results"].GetArray()) {
      const auto hook = run.FindMember("webhook");
      const std::string url = hook == run.MemberEnd() ? "" : Str(hook->value);
      runs[JobIdInWebhookUrl(url)].push_back(Str(run["id"]));
    }
    return runs;
  }
  Job JobOf(const std::string& id) {
    auto job = s.store().GetJob(id);
    BOOST_TEST_REQUIRE((job.ok() && job->has_value()), "no job " << id);
    return **job;
  }
  QueueEntry EntryOf(const std::string& id) {
    auto entry = s.store().GetQueueEntry(id);
    BOOST_TEST_REQUIRE((entry.ok() && entry->has_value()), "no entry " << id);
    return **entry;
  }
  std::vector<QueueEntry> Entries(QueueStatus status) {
    QueueFilter filter;
    filter.statuses = {status};
    filter.limit = 500;
    auto page = s.store().ListQueue(filter);
    BOOST_TEST_REQUIRE(page.ok(), page.status().ToString());
    return page->entries;
  }
  std::string Post(const std::string& path, const std::string& body = "{}", long expected = 200) {
    const HttpResult r =
        Http("POST", s.stack().Url(path), body, {"Content-Type: application/json"});
    BOOST_TEST(r.status == expected, path << " -> " << r.status << " " << r.body);
    return r.body;
  }

  int port = 0;
  SimulatedStack s;
};

BOOST_AUTO_TEST_SUITE(queue_through_the_stack)

// SPEC §12 with limits 5 and 2: 20 submissions by 3 users; runs end one by
// one through their webhooks, and each freed slot is filled within a second.
BOOST_AUTO_TEST_CASE(twenty_submissions_under_limits_5_and_2_across_three_users) {
  QueueStack q;
  q.Start("queue:\n  max_concurrent: 5\n  user_max_concurrent: 2\n");
  const std::vector<std::string> users = {"ann", "bob", "cid"};
  std::vector<std::string> ids;
  std::map<std::string, std::string> user_of;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(q.Submit(users[i % 3], i));
    user_of[ids.back()] = users[i % 3];
  }
  BOOST_TEST_REQUIRE(Eventually([&] { return q.Creates() == 5; }, 5000), q.Creates());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(q.Creates() == 5);  // never more than 5

  // Positions: the waiting ones in submission order, 1..15, exactly.
  const auto waiting =
      Parse(Http("GET", q.s.stack().Url("/api/queue?status=waiting&limit=100")).body);
  BOOST_TEST(waiting["total"].GetInt() == 15);
  std::vector<std::string> expected_order;
  for (const std::string& id : ids) {
    if (q.EntryOf(id).status == QueueStatus::kWaiting) expected_order.push_back(id);
  }
  std::vector<std::string> listed;
  int n = 0;
  for (const auto& e : waiting["entries"].GetArray()) {
    listed.push_back(Str(e["job_id"]));
    BOOST_TEST(e["position"].GetInt() == ++n);
  }
  BOOST_TEST(listed == expected_order, boost::test_tools::per_element());
  const auto position =
      Parse(Http("GET", q.s.stack().Url("/api/queue/position/" + expected_order[3])).body);
  BOOST_TEST(position["position"].GetInt() == 4);

  int64_t slowest_ms = 0;
  int finished = 0;
  while (finished < 20) {
    // The running ones, checked against both limits.
    const auto running = q.Entries(QueueStatus::kDispatched);
    std::map<std::string, int> per_user;
    for (const QueueEntry& e : running) ++per_user[e.user_id.value_or("")];
    BOOST_TEST(running.size() <= 5u);
    for (const auto& [user, count] : per_user) BOOST_TEST(count <= 2, user << " runs " << count);
    BOOST_TEST_REQUIRE(!running.empty());
    // End the oldest running one at the simulator; its webhook frees the slot.
    const std::string job = running.back().job_id;
    const std::string run = q.JobOf(job).external_id.value_or("");
    const int creates_before = q.Creates();
    // A slot frees; a waiting entry takes it unless its user is at the limit.
    --per_user[user_of[job]];
    bool more_waiting = false;
    for (const QueueEntry& e : q.Entries(QueueStatus::kWaiting)) {
      more_waiting |= per_user[e.user_id.value_or("")] < 2;
    }
    q.s.sim().Control("POST", "/runs/" + run + "/status", R"({"status":"succeeded"})");
    ++finished;
    // The slot frees when jobpulse learns the run ended (its webhook); from
    // then, the next entry's create must reach the provider within a second.
    BOOST_TEST_REQUIRE(
        Eventually([&] { return q.JobOf(job).status == JobStatus::kCompleted; }, 5000, 2));
    const auto freed = Clock::now();
    if (more_waiting) {
      BOOST_TEST_REQUIRE(Eventually([&] { return q.Creates() == creates_before + 1; }, 5000, 2),
                         "no dispatch after " << job << " ended:\n"
                                              << ReadFile(q.s.stack().dir() + "/run/worker.log"));
      slowest_ms = std::max(slowest_ms, MillisSince(freed));
    }
    BOOST_TEST_REQUIRE(
        Eventually([&] { return q.Entries(QueueStatus::kDispatching).empty(); }, 5000, 5));
  }
  BOOST_TEST_MESSAGE("slowest slot refill: " << slowest_ms << " ms");
  BOOST_TEST(slowest_ms <= 1000);
  BOOST_TEST(q.Creates() == 20);
  const auto runs = q.RunsByJob();
  for (const std::string& id : ids) {
    BOOST_TEST(runs.count(id) == 1u, id);
    if (runs.count(id)) BOOST_TEST(runs.at(id).size() == 1u, id);
  }
}

// A create whose answer is lost after the run was made: the worker finds the
// run by the job id in its webhook URL and sends nothing again.
BOOST_AUTO_TEST_CASE(a_create_that_timed_out_after_making_its_run_makes_no_second_run) {
  QueueStack q;
  q.Start("");
  q.s.sim().Control("POST", "/faults",
                    R"({"endpoint":"create_prediction","after_create":true,"delay_ms":300,)"
                    R"("drop":true,"count":1})");
  const std::string id = q.Submit("ann", 1);
  BOOST_TEST_REQUIRE(
      Eventually([&] { return q.EntryOf(id).status == QueueStatus::kDispatched; }, 10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  BOOST_TEST(q.Creates() == 1);
  const auto runs = q.RunsByJob();
  BOOST_TEST_REQUIRE(runs.count(id) == 1u);
  BOOST_TEST(runs.at(id).size() == 1u);
  BOOST_TEST(q.JobOf(id).external_id.value_or("") == runs.at(id).front());
  BOOST_TEST(q.EntryOf(id).attempts == 1);
}

// kill -9 of the worker while each create is at the provider (the run made,
// the answer not yet given), 20 times: 20 runs, one per submission.
BOOST_AUTO_TEST_CASE(kill_9_of_the_worker_mid_dispatch_twenty_times_gives_twenty_runs) {
  QueueStack q;
  q.Start("queue:\n  max_concurrent: 100\n  user_max_concurrent: 100\n");
  q.s.sim().Control("POST", "/faults",
                    R"({"endpoint":"create_prediction","after_create":true,"delay_ms":5000})");
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    const int creates = q.Creates();
    ids.push_back(q.Submit("ann", i));
    BOOST_TEST_REQUIRE(Eventually([&] { return q.Creates() == creates + 1; }, 10000, 5),
                       "create " << i << " never reached the simulator");
    // supervisord counts a worker that dies within its startsecs (1 s) as a
    // failed start and gives up after three: kill one that is RUNNING.
    BOOST_TEST_REQUIRE(Eventually(
        [&] {
          return q.s.stack().SupervisorCtl("status worker").find("RUNNING") != std::string::npos;
        },
        10000));
    const int pid = q.s.stack().ProgramPid("worker");
    BOOST_TEST_REQUIRE(pid > 0);
    BOOST_TEST_REQUIRE(::kill(pid, SIGKILL) == 0);
    // The restarted worker adopts the run it finds instead of sending again.
    BOOST_TEST_REQUIRE(
        Eventually([&] { return q.EntryOf(ids.back()).status == QueueStatus::kDispatched; }, 15000),
        "job " << i << " not dispatched after the restart:\n"
               << q.s.stack().Logs());
  }
  BOOST_TEST(q.Creates() == 20);
  const auto runs = q.RunsByJob();
  std::set<std::string> run_ids;
  for (const std::string& id : ids) {
    BOOST_TEST_REQUIRE(runs.count(id) == 1u, id);
    BOOST_TEST(runs.at(id).size() == 1u, id);
    BOOST_TEST(q.JobOf(id).external_id.value_or("") == runs.at(id).front());
    run_ids.insert(runs.at(id).front());
  }
  BOOST_TEST(run_ids.size() == 20u);
}

// Cancelling a job that waits for a slot is local: no provider call.
BOOST_AUTO_TEST_CASE(cancel_of_a_waiting_job_makes_no_provider_call) {
  QueueStack q;
  q.Start("queue:\n  max_concurrent: 1\n");
  const std::string first = q.Submit("ann", 1);
  BOOST_TEST_REQUIRE(Eventually([&] { return q.Creates() == 1; }, 5000));
  const std::string second = q.Submit("bob", 2);
  BOOST_TEST((q.EntryOf(second).status == QueueStatus::kWaiting));
  q.s.sim().Control("POST", "/counters/reset");
  const auto cancelled = Parse(q.Post("/api/queue/" + second + "/cancel"));
  BOOST_TEST(Str(cancelled["job"]["status"]) == "cancelled");
  BOOST_TEST(Str(cancelled["entry"]["status"]) == "closed");
  BOOST_TEST((q.JobOf(second).status == JobStatus::kCancelled));
  BOOST_TEST((q.EntryOf(second).status == QueueStatus::kClosed));
  // A pass now finds nothing to send; the provider heard nothing at all.
  BOOST_TEST(q.Post("/api/queue/process") == R"({"dispatched":0})");
  const auto counters = Parse(q.s.sim().Control("GET", "/counters"));
  BOOST_TEST(counters["total"].GetInt() == 0);
  BOOST_TEST(q.RunsByJob().count(second) == 0u);
  BOOST_TEST((q.EntryOf(first).status == QueueStatus::kDispatched));
}

// POST /api/queue/process runs a pass even with the loop off, and answers
// once it ran.
BOOST_AUTO_TEST_CASE(process_runs_a_pass_and_says_how_many_it_dispatched) {
  QueueStack q;
  q.Start("  queue_processing:\n    enabled: false\n");
  for (int i = 0; i < 3; ++i) q.Submit("ann", i);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(q.Creates() == 0);                                       // the loop is off
  BOOST_TEST(q.Post("/api/queue/process") == R"({"dispatched":2})");  // ann's limit
  BOOST_TEST(q.Creates() == 2);
  BOOST_TEST(q.Post("/api/queue/process") == R"({"dispatched":0})");
  const std::string log = ReadFile(q.s.stack().dir() + "/run/worker.log");
  BOOST_TEST(log.find("queue processing: off (source: enterprise config, interval: 5s, "
                      "interval_source: default, max_concurrent: 5, user_max_concurrent: 2, "
                      "max_attempts: 3)") != std::string::npos,
             log);
}

// SPEC §12's cost limit through nginx: 409 with the figures, nothing queued
// and nothing sent.
BOOST_AUTO_TEST_CASE(over_the_cost_limit_a_submission_is_refused_with_409) {
  QueueStack q;
  q.Start("queue:\n  cost_limit_usd: 1\n  cost_limit_period: daily\n");
  Observation spent;
  spent.provider = "replicate";
  spent.external_id = "r8-spent";
  spent.provider_status = "succeeded";
  spent.created_at = NowMicros() - 60 * kMicrosPerSecond;
  spent.predict_time = 2000;  // at the L40S default price: $1.95
  PriceTable prices;
  prices.per_second = DefaultHardwarePrices();
  BOOST_TEST_REQUIRE(q.s.store().Apply(spent, prices, NowMicros()).ok());
  const HttpResult r = Http("POST", q.s.stack().Url("/api/cloud/jobs/submit"),
                            R"({"kind":"prediction","model":"acme/sdxl","input":{"n":1}})",
                            {"Content-Type: application/json", "Idempotency-Key: k-1"});
  BOOST_TEST(r.status == 409);
  const auto doc = Parse(r.body);
  BOOST_TEST(Str(doc["error"]) == "cost_limit_exceeded");
  BOOST_TEST(Str(doc["details"]["spent_usd"]) == "1.95");
  BOOST_TEST(Str(doc["details"]["limit_usd"]) == "1.00");
  BOOST_TEST(Str(doc["details"]["period"]) == "daily");
  QueueFilter all;
  auto page = q.s.store().ListQueue(all);
  BOOST_TEST_REQUIRE(page.ok());
  BOOST_TEST(page->total == 0);
  auto jobs = q.s.store().ListJobs(JobFilter{});
  BOOST_TEST_REQUIRE(jobs.ok());
  BOOST_TEST(jobs->total == 1);  // only the spent one
  BOOST_TEST(q.Creates() == 0);
}

// The queue_changed event (SPEC §12) reaches an SSE client through nginx
// with the queue's figures once things settle.
BOOST_AUTO_TEST_CASE(queue_changed_events_follow_the_queue) {
  QueueStack q;
  q.Start("queue:\n  max_concurrent: 1\n");
  std::string error;
  const int fd = OpenEventStream(q.port, &error);
  BOOST_TEST_REQUIRE(fd >= 0, error);
  q.Submit("ann", 1);
  q.Submit("bob", 2);
  q.Submit("cid", 3);
  // Depth 2 (two wait for the one slot), running 1: the last word, within
  // a few seconds (one event a second at most).
  std::string seen;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  const std::string wanted = R"("type":"queue_changed","queue_depth":2,"running":1,)";
  while (Clock::now() < deadline && seen.find(wanted) == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  BOOST_TEST(seen.find(wanted) != std::string::npos, seen);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse::testing
