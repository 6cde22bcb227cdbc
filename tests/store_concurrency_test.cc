// Two connections to one database at once, as two machines' workers and
// FastCGI processes are (tests/engine_fixture.h, both engines): the queue's
// limits and claims, the cost limit and idempotency keys of submissions,
// and the inbox's exactly-once apply must hold across connections, not only
// within one. Each case starts its threads together and checks exact counts.
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "lib/queue_store.h"
#include "tests/engine_fixture.h"
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

Submission Queued(const std::string& job_id, const std::optional<std::string>& user = {}) {
  Submission s;
  s.job_id = job_id;
  s.provider = "replicate";
  s.user_id = user;
  s.request_json = R"({"kind":"training","input":{}})";
  s.input_digest = "digest-" + job_id;
  return s;
}

// Runs body(connection, 0) and body(connection, 1) on two threads, each with
// its own connection to `db`'s database, started together.
template <typename Body>
void OnTwoConnections(testing::EngineStore& db, Body body) {
  testing::EngineStore other = db.Another();
  std::latch start(2);
  const auto run = [&](testing::EngineStore& mine, int worker) {
    start.arrive_and_wait();
    body(mine, worker);
  };
  std::thread second(run, std::ref(other), 1);
  run(db, 0);
  second.join();
}

BOOST_AUTO_TEST_SUITE(store_concurrency)

// SPEC §12's limits across workers: max_concurrent = 3, user_max = 2 over 20
// entries of three users, two claimers draining the queue side by side.
BOOST_DATA_TEST_CASE_F(StoreFixture, concurrent_claimers_keep_both_limits_and_never_share_an_entry,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  const std::vector<std::string> users = {"ann", "bob", "cid"};
  for (int i = 0; i < 20; ++i) {
    const auto out =
        db.queue().Submit(Queued("e" + std::to_string(100 + i), users[i % 3]), prices, kNow + i);
    BOOST_REQUIRE_MESSAGE(out.ok(), out.status().ToString());
  }
  std::mutex mu;
  std::vector<std::string> claimed;  // every claim of both workers
  int64_t most_running = 0, most_of_a_user = 0;
  std::vector<std::string> errors;
  OnTwoConnections(db, [&](testing::EngineStore& mine, int) {
    for (int round = 0; round < 400; ++round) {
      {
        std::lock_guard lock(mu);
        if (claimed.size() >= 20 || !errors.empty()) return;
      }
      auto claims = mine.queue().ClaimNextEntries(3, 2, kNow + 100, 2);
      if (!claims.ok()) {
        std::lock_guard lock(mu);
        errors.push_back(claims.status().ToString());
        return;
      }
      // What is running right after the claim, while it still runs.
      const int64_t running = std::stoll(mine.QueryText(
          "SELECT count(*) FROM queue WHERE status IN ('dispatching', 'dispatched')"));
      const int64_t of_a_user = std::stoll(mine.QueryText(
          "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM queue WHERE status IN "
          "('dispatching', 'dispatched') GROUP BY user_id) AS per_user"));
      {
        std::lock_guard lock(mu);
        most_running = std::max(most_running, running);
        most_of_a_user = std::max(most_of_a_user, of_a_user);
        for (const DispatchClaim& c : *claims) claimed.push_back(c.entry.job_id);
      }
      // Each claimed job ends (a refusal), which frees its slots.
      for (const DispatchClaim& c : *claims) {
        const auto failed =
            mine.queue().FailDispatch(c.entry.job_id, "refused", prices, kNow + 200);
        if (!failed.ok()) {
          std::lock_guard lock(mu);
          errors.push_back(failed.status().ToString());
        }
      }
      if (claims->empty()) std::this_thread::yield();
    }
  });
  BOOST_TEST(errors.empty(), (errors.empty() ? "" : errors.front()));
  const std::set<std::string> distinct(claimed.begin(), claimed.end());
  BOOST_TEST(claimed.size() == 20u);
  BOOST_TEST(distinct.size() == 20u);
  BOOST_TEST(most_running <= 3);
  BOOST_TEST(most_of_a_user <= 2);
  BOOST_TEST(db.QueryText("SELECT count(*) FROM queue WHERE status = 'closed'") == "20");
}

// Submissions cannot get past a reached limit, nor does the check that
// serializes them refuse one below it: 2 × 10 concurrent submissions.
BOOST_DATA_TEST_CASE_F(StoreFixture, concurrent_submissions_respect_the_cost_limit_exactly,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  prices.per_second = {{"gpu-l40s", 0.001}};
  Observation done = ProviderObs("done", "succeeded");
  done.created_at = kNow - 100 * kSecond;
  done.predict_time = 1000;  // $1.00 spent
  MustApply(db.jobs(), done, kNow);
  for (const double limit_usd : {1.5, 1.0}) {
    const std::string round = limit_usd > 1.0 ? "below" : "reached";
    std::mutex mu;
    int created = 0;
    std::vector<std::string> refusals;
    OnTwoConnections(db, [&](testing::EngineStore& mine, int worker) {
      for (int i = 0; i < 10; ++i) {
        Submission s = Queued(round + "-" + std::to_string(worker) + "-" + std::to_string(i));
        s.cost_limit = CostLimit{limit_usd, kNow - kDay, "daily"};
        const auto out = mine.queue().Submit(s, prices, kNow + i);
        std::lock_guard lock(mu);
        if (out.ok()) {
          created += out->created ? 1 : 0;
        } else {
          refusals.push_back(out.status().error() + " " + out.status().message());
        }
      }
    });
    if (limit_usd > 1.0) {
      BOOST_TEST(created == 20);
      BOOST_TEST(refusals.empty());
    } else {
      BOOST_TEST(created == 0);
      BOOST_TEST(refusals == std::vector<std::string>(
                                 20,
                                 "cost_limit_exceeded Submission refused: $1.00 spent of the "
                                 "$1.00 daily limit"),
                 boost::test_tools::per_element());
    }
  }
  BOOST_TEST(MustList(db.jobs(), JobFilter{}).total == 21);
}

// The same idempotency key from two connections at once: one job, and both
// answers name it.
BOOST_DATA_TEST_CASE_F(StoreFixture, a_concurrent_duplicate_key_gets_the_first_submissions_job,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  std::mutex mu;
  std::vector<std::string> answers[2];
  int created = 0;
  std::vector<std::string> errors;
  OnTwoConnections(db, [&](testing::EngineStore& mine, int worker) {
    for (int k = 0; k < 10; ++k) {
      Submission s = Queued("key" + std::to_string(k) + "-by-" + std::to_string(worker));
      s.idempotency_key = "key-" + std::to_string(k);
      const auto out = mine.queue().Submit(s, prices, kNow + k);
      std::lock_guard lock(mu);
      if (!out.ok()) {
        errors.push_back(out.status().ToString());
        continue;
      }
      created += out->created ? 1 : 0;
      answers[worker].push_back(out->job.job_id);
    }
  });
  BOOST_TEST(errors.empty(), (errors.empty() ? "" : errors.front()));
  BOOST_TEST(created == 10);
  BOOST_TEST(answers[0] == answers[1], boost::test_tools::per_element());
  BOOST_TEST(MustList(db.jobs(), JobFilter{}).total == 10);
}

// Two workers apply the same 50 pending deliveries at once: each delivery
// is applied once, by one of them, and its "applied" mark is that worker's.
BOOST_DATA_TEST_CASE_F(StoreFixture, two_workers_apply_each_pending_delivery_once,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  std::vector<WebhookInbox::PendingApply> batch;
  for (int i = 0; i < 50; ++i) {
    const std::string id = "msg-" + std::to_string(100 + i);
    const auto stored = db.inbox().InsertDelivery(id, "replicate", "{}", kNow + i);
    BOOST_REQUIRE(stored.ok() && *stored);
    batch.push_back({id, ProviderObs("run-" + std::to_string(100 + i), "processing")});
  }
  const int64_t at[2] = {kNow + 1000, kNow + 2000};  // each worker's clock
  std::mutex mu;
  int applied[2] = {0, 0};
  std::vector<std::string> errors;
  OnTwoConnections(db, [&](testing::EngineStore& mine, int worker) {
    // As ApplyPendingDeliveries: the batch, or one by one when it failed.
    std::vector<ApplyOutcome> outcomes;
    auto all = mine.inbox().ApplyDeliveries(batch, prices, at[worker]);
    if (all.ok()) outcomes = std::move(*all);
    for (size_t i = 0; !all.ok() && i < batch.size(); ++i) {
      auto one =
          mine.inbox().ApplyDelivery(batch[i].webhook_id, batch[i].observation, prices, at[worker]);
      if (!one.ok()) {
        std::lock_guard lock(mu);
        errors.push_back(one.status().ToString());
        continue;
      }
      outcomes.push_back(std::move(*one));
    }
    std::lock_guard lock(mu);
    for (const ApplyOutcome& o : outcomes) applied[worker] += o.created ? 1 : 0;
  });
  BOOST_TEST(errors.empty(), (errors.empty() ? "" : errors.front()));
  BOOST_TEST(applied[0] + applied[1] == 50);
  // A delivery applied twice would carry the second worker's mark.
  for (int w = 0; w < 2; ++w) {
    BOOST_TEST(db.QueryText("SELECT count(*) FROM webhook_inbox WHERE applied_at = " +
                            std::to_string(at[w])) == std::to_string(applied[w]));
  }
  BOOST_TEST(AllEvents(db.jobs()).size() == 50u);  // one job_created each
  const auto counts = db.inbox().CountDeliveries();
  BOOST_REQUIRE(counts.ok());
  BOOST_TEST(counts->applied == 50);
  BOOST_TEST(counts->pending == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
