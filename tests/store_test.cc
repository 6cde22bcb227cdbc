// Unit tests for lib/store.h over its SQLite engine as a whole: opening
// (files, concurrent opens, refusals), privacy of the files, connections
// sharing one database, service state and leases across processes.
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

BOOST_AUTO_TEST_SUITE(store)

BOOST_FIXTURE_TEST_CASE(opening_twice_shares_one_database, StoreFixture) {
  auto first = OpenStore();
  auto second = OpenStore();
  MustApply(*first, ProviderObs("ext-1", "starting"), kNow);
  const Job seen = MustGet(*second, "ext-1");
  BOOST_TEST(Show(seen.status) == "queued");

  // Reopening an up-to-date file leaves its version alone.
  first.reset();
  auto third = OpenStore();
  BOOST_TEST(MustGet(*third, "ext-1").version == 1);
  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("PRAGMA user_version") == std::to_string(SqliteStore::kSchemaVersion));
}

// Several processes (the FastCGI pool, the worker) open a new database at the
// same moment; none of them may fail.
BOOST_FIXTURE_TEST_CASE(simultaneous_opens_of_a_new_file_all_succeed, StoreFixture) {
  constexpr int kRounds = 50;
  constexpr int kThreads = 8;
  for (int round = 0; round < kRounds; ++round) {
    const std::string path = (dir / ("round" + std::to_string(round)) / "jobs.db").string();
    std::atomic<bool> go{false};
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        auto store = Store::Open(path);
        if (!store.ok()) {
          errors[t] = store.status().ToString();
        } else if (Status s = store.value()->Ping(); !s.ok()) {
          errors[t] = s.ToString();
        }
      });
    }
    go = true;
    for (auto& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) {
      BOOST_TEST_CONTEXT("round " << round << ", thread " << t) { BOOST_TEST(errors[t] == ""); }
    }
    RawDb raw(path);
    BOOST_TEST(raw.QueryText("PRAGMA journal_mode") == "wal");
    BOOST_TEST(raw.QueryText("PRAGMA user_version") == std::to_string(SqliteStore::kSchemaVersion));
  }
}

BOOST_FIXTURE_TEST_CASE(file_that_is_not_a_database_is_unavailable, StoreFixture) {
  const std::string path = (dir / "garbage.db").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    BOOST_REQUIRE(f != nullptr);
    const std::string junk(4096, 'x');
    BOOST_REQUIRE(std::fwrite(junk.data(), 1, junk.size(), f) == junk.size());
    std::fclose(f);
  }
  auto store = Store::Open(path);
  BOOST_REQUIRE(!store.ok());
  BOOST_TEST((store.status().code() == Status::Code::kUnavailable));
  BOOST_TEST(store.status().error() == "database_unavailable");
  BOOST_TEST(Contains(store.status().message(), path));
}

BOOST_FIXTURE_TEST_CASE(path_below_a_regular_file_is_unavailable, StoreFixture) {
  const std::string blocker = (dir / "not-a-dir").string();
  {
    std::FILE* f = std::fopen(blocker.c_str(), "wb");
    BOOST_REQUIRE(f != nullptr);
    std::fclose(f);
  }
  const std::string path = blocker + "/jobs.db";
  auto store = Store::Open(path);
  BOOST_REQUIRE(!store.ok());
  BOOST_TEST((store.status().code() == Status::Code::kUnavailable));
  BOOST_TEST(store.status().error() == "database_unavailable");
  BOOST_TEST(Contains(store.status().message(), path));
}

BOOST_FIXTURE_TEST_CASE(a_new_database_is_0600_in_a_0700_directory, StoreFixture) {
  const mode_t old_umask = ::umask(022);
  {
    auto store = OpenStore();
    MustApply(*store, ProviderObs("ext-m", "processing"), kNow);
    BOOST_TEST(Mode(db_path) == 0600u);
    BOOST_TEST(Mode(db_path + "-wal") == 0600u);
    BOOST_TEST(Mode(db_path + "-shm") == 0600u);
    BOOST_TEST(Mode(fs::path(db_path).parent_path().string()) == 0700u);
  }
  // A file left readable by an older version is tightened when opened.
  ::chmod(db_path.c_str(), 0644);
  auto again = OpenStore();
  BOOST_TEST(Mode(db_path) == 0600u);
  ::umask(old_umask);
}

BOOST_FIXTURE_TEST_CASE(writers_on_two_connections_see_each_others_writes, StoreFixture) {
  auto a = OpenStore();
  auto b = OpenStore();
  Observation obs;
  obs.source = Observation::Source::kLocal;
  obs.job_id = "j1";
  obs.status = JobStatus::kPending;
  BOOST_TEST(MustApply(*a, obs, kNow).job.version == 1);

  obs.status = JobStatus::kUploading;
  const ApplyOutcome by_b = MustApply(*b, obs, kNow + 1);
  BOOST_TEST(by_b.job.version == 2);
  BOOST_TEST(Show(by_b.job.status) == "uploading");

  obs.status = JobStatus::kQueued;
  const ApplyOutcome by_a = MustApply(*a, obs, kNow + 2);
  BOOST_TEST(by_a.job.version == 3);
  BOOST_TEST(Show(by_a.job.status) == "queued");
  BOOST_TEST(by_a.status_changed);

  // A stale observation written through b is merged against a's write.
  obs.status = JobStatus::kUploading;
  const ApplyOutcome stale = MustApply(*b, obs, kNow + 3);
  BOOST_TEST(Show(stale.job.status) == "queued");
  BOOST_TEST(stale.job.version == 3);

  obs.status = JobStatus::kRunning;
  BOOST_TEST(MustApply(*b, obs, kNow + 4).job.version == 4);
  const Job seen_by_a = MustGet(*a, "j1");
  BOOST_TEST(seen_by_a.version == 4);
  BOOST_TEST(Show(seen_by_a.status) == "running");

  const std::vector<Event> events = AllEvents(*a);
  BOOST_REQUIRE(events.size() == 4u);
  BOOST_TEST(Contains(events[1].data, "\"previous_status\":\"pending\""));
  BOOST_TEST(Contains(events[2].data, "\"previous_status\":\"uploading\""));
  BOOST_TEST(Contains(events[3].data, "\"previous_status\":\"queued\""));
}

BOOST_FIXTURE_TEST_CASE(concurrent_writers_never_move_a_status_backwards, StoreFixture) {
  constexpr int kThreads = 4;
  constexpr int kJobs = 20;
  constexpr int kPerThread = 200;
  const JobStatus kAll[] = {JobStatus::kPending,  JobStatus::kUploading, JobStatus::kQueued,
                            JobStatus::kRunning,  JobStatus::kCompleted, JobStatus::kFailed,
                            JobStatus::kCancelled};

  std::atomic<int> errors{0};
  std::atomic<int64_t> clock{kNow};
  std::mutex first_error_mutex;
  std::string first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto fail = [&](const Status& status) {
        ++errors;
        std::lock_guard<std::mutex> lock(first_error_mutex);
        if (first_error.empty()) first_error = status.ToString();
      };
      auto opened = Store::Open(db_path);  // each thread its own connection, opened together
      if (!opened.ok()) return fail(opened.status());
      Store& store = *opened.value();
      std::mt19937 rng(1234 + t);
      // Each thread moves every job forward from its own point of view; the
      // threads interleave, so the store also sees stale observations.
      std::vector<int> floor(kJobs, 0);
      for (int i = 0; i < kPerThread; ++i) {
        const int j = static_cast<int>(rng() % kJobs);
        std::uniform_int_distribution<int> pick(floor[j], 6);
        const int index = pick(rng);
        floor[j] = std::min(index, 3);
        Observation obs;
        obs.provider = "replicate";
        obs.external_id = "ext-" + std::to_string(j);
        if (index == 3 && rng() % 2) {
          obs.provider_status = "processing";
        } else {
          obs.status = kAll[index];
        }
        auto outcome = store.Apply(obs, Prices(), clock.fetch_add(1000));
        if (!outcome.ok()) fail(outcome.status());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  BOOST_TEST(errors.load() == 0, first_error);
  auto reader = OpenStore();

  std::map<std::string, std::vector<std::pair<std::optional<std::string>, std::string>>> history;
  for (const Event& e : AllEvents(*reader)) {
    BOOST_REQUIRE(e.type == "job_status_changed");
    rapidjson::Document doc;
    doc.Parse(e.data.c_str());
    BOOST_REQUIRE(!doc.HasParseError());
    BOOST_REQUIRE(doc["status"].IsString());
    std::optional<std::string> previous;
    if (doc["previous_status"].IsString()) previous = doc["previous_status"].GetString();
    history[e.job_id].emplace_back(previous, doc["status"].GetString());
  }
  BOOST_TEST(history.size() == static_cast<size_t>(kJobs));
  BOOST_TEST(MustList(*reader, JobFilter{}).total == kJobs);

  for (const auto& [job_id, changes] : history) {
    BOOST_TEST_CONTEXT("job " << job_id) {
      BOOST_REQUIRE(!changes.empty());
      BOOST_TEST(Show(changes.front().first) == "null");
      std::set<std::string> distinct;
      int last_rank = -1;
      std::string last_status;
      for (const auto& [previous, status] : changes) {
        const auto parsed = ParseJobStatus(status);
        BOOST_REQUIRE(parsed.has_value());
        const int rank = JobStatusRank(*parsed);
        BOOST_TEST(rank > last_rank);
        if (!last_status.empty()) BOOST_TEST(Show(previous) == "\"" + last_status + "\"");
        last_rank = rank;
        last_status = status;
        distinct.insert(status);
      }
      BOOST_TEST(distinct.size() == changes.size());
      const Job job = MustGet(*reader, job_id);
      BOOST_TEST(Show(job.status) == last_status);
      BOOST_TEST(job.job_id == job_id);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(service_state_round_trips_and_overwrites, StoreFixture) {
  auto store = OpenStore();
  auto missing = store->GetServiceState("worker_heartbeat");
  BOOST_REQUIRE(missing.ok());
  BOOST_TEST(!missing.value().has_value());

  BOOST_TEST(store->PutServiceState("worker_heartbeat", "pid=42", kNow).ok());
  auto first = store->GetServiceState("worker_heartbeat");
  BOOST_REQUIRE(first.ok());
  BOOST_REQUIRE(first.value().has_value());
  BOOST_TEST(first.value()->value == "pid=42");
  BOOST_TEST(first.value()->updated_at == kNow);

  BOOST_TEST(store->PutServiceState("worker_heartbeat", "pid=43", kNow + 5 * kSecond).ok());
  BOOST_TEST(store->PutServiceState("last_sync", "{\"new\":1}", kNow + 6 * kSecond).ok());

  // Another connection sees the overwrite.
  auto other = OpenStore();
  auto second = other->GetServiceState("worker_heartbeat");
  BOOST_REQUIRE(second.ok());
  BOOST_REQUIRE(second.value().has_value());
  BOOST_TEST(second.value()->value == "pid=43");
  BOOST_TEST(second.value()->updated_at == kNow + 5 * kSecond);
  auto sync = other->GetServiceState("last_sync");
  BOOST_REQUIRE(sync.ok());
  BOOST_REQUIRE(sync.value().has_value());
  BOOST_TEST(sync.value()->value == "{\"new\":1}");

  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("SELECT count(*) FROM service_state") == "2");
}

BOOST_FIXTURE_TEST_CASE(a_lease_whose_owner_process_died_is_free_at_once, StoreFixture) {
  auto store = OpenStore();
  const std::string dead = "pid:" + std::to_string(DeadPid()) + ":1";
  const std::string alive = "pid:" + std::to_string(::getpid()) + ":2";
  auto taken = store->TryAcquireLease("sync:replicate", dead, 120 * kSecond, kNow);
  BOOST_REQUIRE(taken.ok());
  BOOST_TEST(*taken);
  taken = store->TryAcquireLease("sync:replicate", alive, 120 * kSecond, kNow + kSecond);
  BOOST_REQUIRE(taken.ok());
  BOOST_TEST(*taken);  // the holder died: no 120 s wait
  // A live holder keeps it.
  taken = store->TryAcquireLease("sync:replicate", "pid:" + std::to_string(::getpid()) + ":3",
                                 120 * kSecond, kNow + 2 * kSecond);
  BOOST_REQUIRE(taken.ok());
  BOOST_TEST(!*taken);
  // Owners not naming a pid are never presumed dead.
  BOOST_TEST(*store->TryAcquireLease("other", "someone", 120 * kSecond, kNow));
  BOOST_TEST(!*store->TryAcquireLease("other", alive, 120 * kSecond, kNow));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
