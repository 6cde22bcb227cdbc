// Unit tests for lib/store.h against a real SQLite file in a fresh temporary
// directory: schema and pragmas, Apply and its events, compare-and-set across
// connections, concurrent writers, listing, deletion, metrics and service state.
#include <boost/test/unit_test.hpp>
// (The test module itself is defined once, in tests/main_test.cc.)

#include <rapidjson/document.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lib/cost.h"
#include "lib/job.h"
#include "lib/state_machine.h"
#include "lib/status.h"
#include "lib/store.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecond = 1000000;
constexpr int64_t kDay = 86400 * kSecond;
// 2026-11-28T10:00:00Z in microseconds.
constexpr int64_t kNow = int64_t{1795860000} * kSecond;

const char* const kLog = "Step 1500/5000 - loss: 0.0234";

std::string Show(JobStatus s) { return JobStatusName(s); }
std::string Show(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "null"; }
std::string Show(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "null"; }

PriceTable Prices() {
  PriceTable prices;
  prices.per_second = {{"gpu-h100", 0.001525}, {"gpu-l40s", 0.000975}};
  prices.default_sku = "gpu-l40s";
  return prices;
}

Observation ProviderObs(const std::string& external_id, const std::string& provider_status) {
  Observation obs;
  obs.provider = "replicate";
  obs.external_id = external_id;
  obs.provider_status = provider_status;
  return obs;
}

// A raw sqlite3 connection for checks the Store API does not expose.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    BOOST_REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                  nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // The first column of the first row as text ("" when there is none).
  std::string QueryText(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    BOOST_REQUIRE_MESSAGE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK,
                          sqlite3_errmsg(db_));
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      if (p) out = p;
    }
    sqlite3_finalize(stmt);
    return out;
  }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    const std::string message = err ? err : "";
    sqlite3_free(err);
    BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << message);
  }

 private:
  sqlite3* db_ = nullptr;
};

// A fresh mkdtemp directory, removed with everything in it at the end.
struct StoreFixture {
  StoreFixture() {
    std::string pattern = (fs::temp_directory_path() / "jobpulse_store_test.XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    db_path = (dir / "data" / "jobs.db").string();
  }
  ~StoreFixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  std::unique_ptr<Store> OpenStore() {
    auto store = Store::Open(db_path);
    BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    return std::move(store).value();
  }

  ApplyOutcome MustApply(Store& store, const Observation& obs, int64_t now,
                         bool create_if_missing = true) {
    auto outcome = store.Apply(obs, prices, now, create_if_missing);
    BOOST_REQUIRE_MESSAGE(outcome.ok(), outcome.status().ToString());
    return std::move(outcome).value();
  }

  Job MustGet(Store& store, const std::string& job_id) {
    auto job = store.GetJob(job_id);
    BOOST_REQUIRE_MESSAGE(job.ok(), job.status().ToString());
    BOOST_REQUIRE_MESSAGE(job.value().has_value(), "no job " << job_id);
    return *job.value();
  }

  std::vector<Event> AllEvents(Store& store, int64_t after = 0) {
    auto events = store.EventsAfter(after, 1000000);
    BOOST_REQUIRE_MESSAGE(events.ok(), events.status().ToString());
    return std::move(events).value();
  }

  JobPage MustList(Store& store, const JobFilter& filter) {
    auto page = store.ListJobs(filter);
    BOOST_REQUIRE_MESSAGE(page.ok(), page.status().ToString());
    return std::move(page).value();
  }

  fs::path dir;
  std::string db_path;
  PriceTable prices = Prices();
};

std::vector<std::string> Ids(const JobPage& page) {
  std::vector<std::string> ids;
  for (const Job& job : page.jobs) ids.push_back(job.job_id);
  return ids;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

BOOST_AUTO_TEST_SUITE(store)

BOOST_FIXTURE_TEST_CASE(open_creates_file_and_parent_directory_in_wal_mode, StoreFixture) {
  BOOST_TEST(!fs::exists(fs::path(db_path).parent_path()));
  auto store = OpenStore();
  BOOST_TEST(fs::exists(db_path));
  BOOST_TEST(store->path() == db_path);
  BOOST_TEST(store->Ping().ok());

  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("PRAGMA journal_mode") == "wal");
  BOOST_TEST(raw.QueryText("PRAGMA user_version") == std::to_string(Store::kSchemaVersion));
  BOOST_TEST(raw.QueryText("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                           "('jobs', 'events', 'service_state')") == "3");
}

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
  BOOST_TEST(raw.QueryText("PRAGMA user_version") == std::to_string(Store::kSchemaVersion));
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
    BOOST_TEST(raw.QueryText("PRAGMA user_version") == std::to_string(Store::kSchemaVersion));
  }
}

BOOST_FIXTURE_TEST_CASE(newer_schema_version_is_unavailable, StoreFixture) {
  const std::string path = (dir / "future.db").string();
  {
    RawDb raw(path);
    raw.Exec("PRAGMA user_version = 999");
  }
  auto store = Store::Open(path);
  BOOST_REQUIRE(!store.ok());
  BOOST_TEST((store.status().code() == Status::Code::kUnavailable));
  BOOST_TEST(store.status().error() == "database_unavailable");
  BOOST_TEST(Contains(store.status().message(), path));
  BOOST_TEST(Contains(store.status().message(), "999"));
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

BOOST_FIXTURE_TEST_CASE(apply_creates_then_updates_by_provider_and_external_id, StoreFixture) {
  auto store = OpenStore();
  const ApplyOutcome created = MustApply(*store, ProviderObs("ext-1", "starting"), kNow);
  BOOST_TEST(created.created);
  BOOST_TEST(created.status_changed);
  BOOST_TEST(created.changed);
  BOOST_TEST(created.job.job_id == "ext-1");
  BOOST_TEST(created.job.version == 1);
  BOOST_TEST(created.job.updated_at == kNow);

  // Same (provider, external_id), no job_id: the same row.
  const ApplyOutcome updated =
      MustApply(*store, ProviderObs("ext-1", "processing"), kNow + kSecond);
  BOOST_TEST(!updated.created);
  BOOST_TEST(updated.status_changed);
  BOOST_TEST(updated.job.job_id == "ext-1");
  BOOST_TEST(Show(updated.job.status) == "running");
  BOOST_TEST(updated.job.version == 2);
  BOOST_TEST(updated.job.updated_at == kNow + kSecond);

  // A job_id that names the row also finds it.
  Observation by_id;
  by_id.job_id = "ext-1";
  by_id.provider_status = "succeeded";
  const ApplyOutcome by_job_id = MustApply(*store, by_id, kNow + 2 * kSecond);
  BOOST_TEST(!by_job_id.created);
  BOOST_TEST(Show(by_job_id.job.status) == "completed");
  BOOST_TEST(by_job_id.job.version == 3);

  // The same external id at another provider is another job.
  Observation other = ProviderObs("ext-1", "starting");
  other.provider = "modal";
  other.job_id = "modal-1";
  const ApplyOutcome second = MustApply(*store, other, kNow + 3 * kSecond);
  BOOST_TEST(second.created);
  BOOST_TEST(second.job.job_id == "modal-1");

  BOOST_TEST(MustList(*store, JobFilter{}).total == 2);
  BOOST_TEST(Show(MustGet(*store, "ext-1").status) == "completed");
}

BOOST_FIXTURE_TEST_CASE(every_field_round_trips_through_get_job, StoreFixture) {
  auto store = OpenStore();
  Observation obs = ProviderObs("vrsafsk7mnrgj0cf0p2ax766s4", "processing");
  obs.job_id = "j_01HZX";
  obs.created_at = kNow - 900 * kSecond + 123456;
  obs.started_at = kNow - 812 * kSecond + 400000;
  obs.completed_at = kNow - 5 * kSecond;  // odd for a running job, but it must survive
  obs.predict_time = 502.71;
  obs.config_name = "flux-lora";
  obs.hardware_type = "gpu-h100";
  obs.error_message = "warning: \"quoted\" \xE2\x9C\x93";
  obs.output_url = "https://replicate.delivery/x/out.safetensors";
  obs.metadata = {{"model", "owner/name"}, {"version", "5c7d5dc6"}, {"source", "api"}};
  obs.logs = std::string("Loading model\r\n") + kLog + "\n";
  const ApplyOutcome outcome = MustApply(*store, obs, kNow);

  const Job job = MustGet(*store, "j_01HZX");
  BOOST_TEST((job == outcome.job));
  BOOST_TEST(job.job_id == "j_01HZX");
  BOOST_TEST(job.job_type == "cloud");
  BOOST_TEST(Show(job.provider) == "\"replicate\"");
  BOOST_TEST(Show(job.external_id) == "\"vrsafsk7mnrgj0cf0p2ax766s4\"");
  BOOST_TEST(Show(job.status) == "running");
  BOOST_TEST(Show(job.config_name) == "\"flux-lora\"");
  BOOST_TEST(job.created_at == kNow - 900 * kSecond + 123456);
  BOOST_TEST(Show(job.started_at) == std::to_string(kNow - 812 * kSecond + 400000));
  BOOST_TEST(Show(job.completed_at) == std::to_string(kNow - 5 * kSecond));
  BOOST_REQUIRE(job.cost_usd.has_value());
  BOOST_TEST(std::abs(*job.cost_usd - 502.71 * 0.001525) <= 1e-9);
  BOOST_TEST(Show(job.hardware_type) == "\"gpu-h100\"");
  BOOST_TEST(Show(job.error_message) == "\"warning: \"quoted\" \xE2\x9C\x93\"");
  BOOST_TEST(Show(job.output_url) == "\"https://replicate.delivery/x/out.safetensors\"");
  BOOST_TEST(!job.user_id.has_value());
  BOOST_TEST(job.metadata.size() == 3u);
  BOOST_TEST(job.metadata.at("model") == "owner/name");
  BOOST_TEST(job.metadata.at("version") == "5c7d5dc6");
  BOOST_TEST(job.metadata.at("source") == "api");
  BOOST_TEST(Show(job.progress.stage) == "\"Training\"");
  BOOST_REQUIRE(job.progress.progress.has_value());
  BOOST_TEST(*job.progress.progress == 30.0);
  BOOST_TEST(Show(job.progress.last_log) == std::string("\"") + kLog + "\"");
  BOOST_TEST(job.logs_tail == *obs.logs);
  BOOST_TEST(Show(job.logs_fetched_at) == std::to_string(kNow));
  BOOST_TEST(Show(job.last_progress_event_at) == std::to_string(kNow));
  BOOST_TEST(Show(job.progress_wanted_at) == "null");
  BOOST_TEST(Show(job.unknown_provider_status) == "null");
  BOOST_TEST(job.version == 1);
  BOOST_TEST(job.updated_at == kNow);

  // FindByExternalId reads the same row.
  auto found = store->FindByExternalId("replicate", "vrsafsk7mnrgj0cf0p2ax766s4");
  BOOST_REQUIRE(found.ok());
  BOOST_REQUIRE(found.value().has_value());
  BOOST_TEST((*found.value() == job));

  auto missing = store->GetJob("nope");
  BOOST_REQUIRE(missing.ok());
  BOOST_TEST(!missing.value().has_value());
}

BOOST_FIXTURE_TEST_CASE(created_job_appends_one_status_event_with_null_previous, StoreFixture) {
  auto store = OpenStore();
  MustApply(*store, ProviderObs("ext-1", "starting"), kNow);
  const std::vector<Event> events = AllEvents(*store);
  BOOST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].job_id == "ext-1");
  BOOST_TEST(events[0].type == "job_status_changed");
  BOOST_TEST(events[0].created_at == kNow);
  BOOST_TEST(events[0].id >= 1);
  BOOST_TEST(events[0].data ==
             "{\"type\":\"job_status_changed\",\"job_id\":\"ext-1\",\"status\":\"queued\","
             "\"previous_status\":null,\"provider\":\"replicate\","
             "\"at\":\"2026-11-28T10:00:00.000000Z\"}");
}

BOOST_FIXTURE_TEST_CASE(each_status_change_appends_exactly_one_event, StoreFixture) {
  auto store = OpenStore();
  MustApply(*store, ProviderObs("ext-1", "starting"), kNow);
  BOOST_TEST(AllEvents(*store).size() == 1u);

  MustApply(*store, ProviderObs("ext-1", "processing"), kNow + kSecond);
  std::vector<Event> events = AllEvents(*store);
  BOOST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[1].type == "job_status_changed");
  BOOST_TEST(Contains(events[1].data, "\"status\":\"running\""));
  BOOST_TEST(Contains(events[1].data, "\"previous_status\":\"queued\""));

  // The same observation again: no write, no event, no version bump.
  const ApplyOutcome noop =
      MustApply(*store, ProviderObs("ext-1", "processing"), kNow + 2 * kSecond);
  BOOST_TEST(!noop.changed);
  BOOST_TEST(!noop.status_changed);
  BOOST_TEST(noop.job.version == 2);
  BOOST_TEST(AllEvents(*store).size() == 2u);
  const Job stored = MustGet(*store, "ext-1");
  BOOST_TEST(stored.version == 2);
  BOOST_TEST(stored.updated_at == kNow + kSecond);

  // A backwards observation is a no-op too.
  MustApply(*store, ProviderObs("ext-1", "starting"), kNow + 3 * kSecond);
  BOOST_TEST(AllEvents(*store).size() == 2u);

  MustApply(*store, ProviderObs("ext-1", "succeeded"), kNow + 4 * kSecond);
  events = AllEvents(*store);
  BOOST_REQUIRE(events.size() == 3u);
  BOOST_TEST(events[2].data ==
             "{\"type\":\"job_status_changed\",\"job_id\":\"ext-1\",\"status\":\"completed\","
             "\"previous_status\":\"running\",\"provider\":\"replicate\","
             "\"at\":\"2026-11-28T10:00:04.000000Z\"}");
  BOOST_TEST(events[0].id < events[1].id);
  BOOST_TEST(events[1].id < events[2].id);

  // A terminal job observed as failed: nothing.
  MustApply(*store, ProviderObs("ext-1", "failed"), kNow + 5 * kSecond);
  BOOST_TEST(AllEvents(*store).size() == 3u);

  // EventsAfter is exclusive and honours the limit.
  auto after = store->EventsAfter(events[0].id, 1);
  BOOST_REQUIRE(after.ok());
  BOOST_REQUIRE(after.value().size() == 1u);
  BOOST_TEST(after.value()[0].id == events[1].id);
  BOOST_TEST(AllEvents(*store, events[2].id).empty());
}

BOOST_FIXTURE_TEST_CASE(progress_change_appends_a_progress_event, StoreFixture) {
  auto store = OpenStore();
  MustApply(*store, ProviderObs("ext-1", "processing"), kNow);
  const int64_t last = AllEvents(*store).back().id;

  Observation obs = ProviderObs("ext-1", "processing");
  obs.logs = kLog;
  MustApply(*store, obs, kNow + kSecond);
  std::vector<Event> events = AllEvents(*store, last);
  BOOST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].type == "job_progress");
  BOOST_TEST(events[0].job_id == "ext-1");
  BOOST_TEST(events[0].data ==
             "{\"type\":\"job_progress\",\"job_id\":\"ext-1\",\"stage\":\"Training\","
             "\"progress\":30.0,\"last_log\":\"Step 1500/5000 - loss: 0.0234\","
             "\"at\":\"2026-11-28T10:00:01.000000Z\"}");

  // Within a second: the row moves, no event.
  obs.logs = "Step 2000/5000 - loss: 0.0200";
  MustApply(*store, obs, kNow + kSecond + 500000);
  BOOST_TEST(AllEvents(*store, last).size() == 1u);
  const Job job = MustGet(*store, "ext-1");
  BOOST_REQUIRE(job.progress.progress.has_value());
  BOOST_TEST(*job.progress.progress == 40.0);

  // A second later: another event.
  obs.logs = "Step 2500/5000 - loss: 0.0180";
  MustApply(*store, obs, kNow + 2 * kSecond);
  events = AllEvents(*store, last);
  BOOST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[1].type == "job_progress");
  BOOST_TEST(Contains(events[1].data, "\"progress\":50.0"));
}

BOOST_FIXTURE_TEST_CASE(unknown_status_is_remembered_without_an_event, StoreFixture) {
  auto store = OpenStore();
  MustApply(*store, ProviderObs("ext-1", "processing"), kNow);
  const ApplyOutcome first = MustApply(*store, ProviderObs("ext-1", "paused"), kNow + kSecond);
  BOOST_TEST(Show(first.unknown_status) == "\"paused\"");
  BOOST_TEST(!first.changed);
  BOOST_TEST(!first.status_changed);
  const Job job = MustGet(*store, "ext-1");
  BOOST_TEST(Show(job.status) == "running");
  BOOST_TEST(Show(job.unknown_provider_status) == "\"paused\"");
  BOOST_TEST(job.updated_at == kNow);  // nothing a client sees moved
  BOOST_TEST(AllEvents(*store).size() == 1u);

  // A second Store (another process) sees it as already reported.
  auto other = OpenStore();
  const ApplyOutcome second = MustApply(*other, ProviderObs("ext-1", "paused"), kNow + 2 * kSecond);
  BOOST_TEST(Show(second.unknown_status) == "null");
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

BOOST_FIXTURE_TEST_CASE(list_jobs_newest_first_with_filters_and_pagination, StoreFixture) {
  auto store = OpenStore();
  const struct {
    const char* id;
    const char* provider;
    const char* status;
    int64_t created_at;
  } jobs[] = {
      {"a", "replicate", "starting", kNow - 5 * kSecond},
      {"b", "replicate", "processing", kNow - 4 * kSecond},
      {"c", "modal", "succeeded", kNow - 3 * kSecond},
      {"d", "replicate", "failed", kNow - 2 * kSecond},
      {"e", "replicate", "canceled", kNow - 2 * kSecond},  // same time as d: job_id breaks ties
      {"f", "modal", "processing", kNow - 1 * kSecond},
  };
  for (const auto& j : jobs) {
    Observation obs = ProviderObs(std::string("ext-") + j.id, j.status);
    obs.job_id = j.id;
    obs.provider = j.provider;
    obs.created_at = j.created_at;
    MustApply(*store, obs, kNow);
  }
  {
    // A local job, as the sqlite3 CLI or another component might have written it.
    RawDb raw(db_path);
    raw.Exec(
        "INSERT INTO jobs (job_id, job_type, status, created_at, updated_at) VALUES "
        "('g', 'local', 'running', " +
        std::to_string(kNow - 10 * kSecond) + ", " + std::to_string(kNow) + ")");
  }

  JobPage all = MustList(*store, JobFilter{});
  BOOST_TEST(all.total == 7);
  BOOST_TEST(Ids(all) == (std::vector<std::string>{"f", "e", "d", "c", "b", "a", "g"}),
             boost::test_tools::per_element());

  JobFilter statuses;
  statuses.statuses = {JobStatus::kRunning, JobStatus::kFailed, JobStatus::kCancelled};
  JobPage by_status = MustList(*store, statuses);
  BOOST_TEST(by_status.total == 5);
  BOOST_TEST(Ids(by_status) == (std::vector<std::string>{"f", "e", "d", "b", "g"}),
             boost::test_tools::per_element());

  JobFilter provider;
  provider.provider = "modal";
  JobPage by_provider = MustList(*store, provider);
  BOOST_TEST(by_provider.total == 2);
  BOOST_TEST(Ids(by_provider) == (std::vector<std::string>{"f", "c"}),
             boost::test_tools::per_element());

  JobFilter combined;
  combined.statuses = {JobStatus::kRunning};
  combined.provider = "replicate";
  JobPage by_both = MustList(*store, combined);
  BOOST_TEST(by_both.total == 1);
  BOOST_TEST(Ids(by_both) == (std::vector<std::string>{"b"}), boost::test_tools::per_element());

  JobFilter local;
  local.job_type = "local";
  JobPage by_type = MustList(*store, local);
  BOOST_TEST(by_type.total == 1);
  BOOST_TEST(Ids(by_type) == (std::vector<std::string>{"g"}), boost::test_tools::per_element());
  BOOST_TEST(by_type.jobs[0].job_type == "local");
  BOOST_TEST(Show(by_type.jobs[0].provider) == "null");
  BOOST_TEST(by_type.jobs[0].metadata.empty());

  JobFilter cloud_running;
  cloud_running.job_type = "cloud";
  cloud_running.statuses = {JobStatus::kRunning};
  cloud_running.provider = "modal";
  JobPage all_three = MustList(*store, cloud_running);
  BOOST_TEST(all_three.total == 1);
  BOOST_TEST(Ids(all_three) == (std::vector<std::string>{"f"}), boost::test_tools::per_element());

  JobFilter page;
  page.limit = 2;
  page.offset = 0;
  BOOST_TEST(Ids(MustList(*store, page)) == (std::vector<std::string>{"f", "e"}),
             boost::test_tools::per_element());
  page.offset = 2;
  JobPage second = MustList(*store, page);
  BOOST_TEST(second.total == 7);
  BOOST_TEST(Ids(second) == (std::vector<std::string>{"d", "c"}), boost::test_tools::per_element());
  page.offset = 6;
  BOOST_TEST(Ids(MustList(*store, page)) == (std::vector<std::string>{"g"}),
             boost::test_tools::per_element());
  page.offset = 7;
  JobPage past_end = MustList(*store, page);
  BOOST_TEST(past_end.jobs.empty());
  BOOST_TEST(past_end.total == 7);

  JobFilter filtered_page;
  filtered_page.statuses = {JobStatus::kRunning, JobStatus::kFailed, JobStatus::kCancelled};
  filtered_page.limit = 2;
  filtered_page.offset = 2;
  JobPage fp = MustList(*store, filtered_page);
  BOOST_TEST(fp.total == 5);
  BOOST_TEST(Ids(fp) == (std::vector<std::string>{"d", "b"}), boost::test_tools::per_element());

  JobFilter nothing;
  nothing.provider = "nobody";
  JobPage none = MustList(*store, nothing);
  BOOST_TEST(none.total == 0);
  BOOST_TEST(none.jobs.empty());
}

BOOST_FIXTURE_TEST_CASE(delete_job_only_deletes_terminal_jobs, StoreFixture) {
  auto store = OpenStore();
  MustApply(*store, ProviderObs("running-1", "processing"), kNow);
  MustApply(*store, ProviderObs("done-1", "succeeded"), kNow);

  const Status running = store->DeleteJob("running-1");
  BOOST_TEST((running.code() == Status::Code::kConflict));
  BOOST_TEST(running.error() == "invalid_job_state");
  BOOST_TEST(running.details().size() == 2u);
  BOOST_TEST(running.details()[1].first == "current_state");
  BOOST_TEST(running.details()[1].second == "running");
  BOOST_TEST(Show(MustGet(*store, "running-1").status) == "running");

  const Status done = store->DeleteJob("done-1");
  BOOST_TEST(done.ok(), done.ToString());
  auto gone = store->GetJob("done-1");
  BOOST_REQUIRE(gone.ok());
  BOOST_TEST(!gone.value().has_value());

  for (const char* id : {"done-1", "never-existed"}) {
    const Status missing = store->DeleteJob(id);
    BOOST_TEST((missing.code() == Status::Code::kNotFound));
    BOOST_TEST(missing.error() == "job_not_found");
    BOOST_TEST(Contains(missing.message(), id));
  }
  BOOST_TEST(MustList(*store, JobFilter{}).total == 1);

  // The store stays usable after the failed deletes (no transaction left open).
  MustApply(*store, ProviderObs("running-1", "failed"), kNow + kSecond);
  BOOST_TEST(store->DeleteJob("running-1").ok());
  BOOST_TEST(MustList(*store, JobFilter{}).total == 0);
}

BOOST_FIXTURE_TEST_CASE(metrics_count_jobs_in_the_window, StoreFixture) {
  auto store = OpenStore();
  PriceTable flat;
  flat.per_second = {{"gpu-test", 0.001}};
  flat.default_sku = "gpu-test";
  // 2026-11-28T12:00:00Z
  const int64_t now = int64_t{1795867200} * kSecond;
  const auto add = [&](const std::string& id, const std::string& provider_status,
                       int64_t created_at, std::optional<int64_t> duration_s,
                       std::optional<double> predict_time) {
    Observation obs = ProviderObs(id, provider_status);
    obs.created_at = created_at;
    if (duration_s) {
      obs.started_at = created_at + 10 * kSecond;
      obs.completed_at = *obs.started_at + *duration_s * kSecond;
    }
    obs.predict_time = predict_time;
    auto outcome = store->Apply(obs, flat, now);
    BOOST_REQUIRE_MESSAGE(outcome.ok(), outcome.status().ToString());
  };
  add("done-a", "succeeded", now - kDay, 100, 1000);             // 2026-11-27, $1
  add("done-b", "succeeded", now - kDay + kSecond, 300, 2000);   // 2026-11-27, $2
  add("failed-c", "failed", now - 2 * kDay, std::nullopt, 500);  // 2026-11-26, $0.5
  add("running-d", "processing", now - 3600 * kSecond, std::nullopt, std::nullopt);
  add("cancelled-g", "canceled", now - 29 * kDay, std::nullopt, std::nullopt);  // 2026-10-30
  add("queued-edge", "starting", now - 30 * kDay, std::nullopt, std::nullopt);  // 2026-10-29
  add("old-done", "succeeded", now - 30 * kDay - 1, 50, 100000);                // excluded
  add("older-done", "succeeded", now - 40 * kDay, 70, 100000);                  // excluded
  {
    Observation pending;
    pending.source = Observation::Source::kLocal;
    pending.job_id = "pending-e";
    auto outcome = store->Apply(pending, flat, now);  // created_at = now
    BOOST_REQUIRE(outcome.ok());
  }

  auto result = store->ComputeMetrics(30, now);
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  const Metrics& m = result.value();
  BOOST_TEST(m.period_days == 30);
  BOOST_TEST(m.job_count == 7);
  BOOST_TEST(std::abs(m.total_cost - 3.5) <= 1e-9);
  BOOST_TEST(m.jobs_by_status.size() == 7u);
  const std::map<std::string, int64_t> expected = {
      {"pending", 1},   {"uploading", 0}, {"queued", 1},    {"running", 1},
      {"completed", 2}, {"failed", 1},    {"cancelled", 1},
  };
  for (const auto& [status, count] : expected) {
    BOOST_TEST_CONTEXT("status " << status) {
      BOOST_REQUIRE(m.jobs_by_status.count(status) == 1u);
      BOOST_TEST(m.jobs_by_status.at(status) == count);
    }
  }
  BOOST_REQUIRE(m.avg_job_duration_seconds.has_value());
  BOOST_TEST(std::abs(*m.avg_job_duration_seconds - 200.0) <= 1e-9);

  BOOST_REQUIRE(m.cost_by_day.size() == 5u);
  const struct {
    const char* date;
    int64_t jobs;
    double cost;
  } days[] = {
      {"2026-10-29", 1, 0}, {"2026-10-30", 1, 0}, {"2026-11-26", 1, 0.5},
      {"2026-11-27", 2, 3}, {"2026-11-28", 2, 0},
  };
  for (size_t i = 0; i < m.cost_by_day.size(); ++i) {
    BOOST_TEST_CONTEXT("day " << i) {
      BOOST_TEST(m.cost_by_day[i].date == days[i].date);
      BOOST_TEST(m.cost_by_day[i].jobs == days[i].jobs);
      BOOST_TEST(std::abs(m.cost_by_day[i].cost_usd - days[i].cost) <= 1e-9);
    }
  }

  // A one-day window holds only the last day's jobs; no completed job -> no average.
  auto narrow = store->ComputeMetrics(1, now);
  BOOST_REQUIRE(narrow.ok());
  BOOST_TEST(narrow.value().job_count ==
             4);  // done-a (exactly 1 day), done-b, running-d, pending-e
  BOOST_TEST(narrow.value().jobs_by_status.at("completed") == 2);
  BOOST_TEST(narrow.value().jobs_by_status.at("failed") == 0);

  // A window that ends long after every job was created: all of them are too old.
  auto later = store->ComputeMetrics(30, now + 100 * kDay);
  BOOST_REQUIRE(later.ok());
  BOOST_TEST(later.value().job_count == 0);
  BOOST_TEST(later.value().total_cost == 0.0);
  BOOST_TEST(later.value().jobs_by_status.size() == 7u);
  BOOST_TEST(later.value().jobs_by_status.at("completed") == 0);
  BOOST_TEST(!later.value().avg_job_duration_seconds.has_value());
  BOOST_TEST(later.value().cost_by_day.empty());
}

BOOST_FIXTURE_TEST_CASE(metrics_of_an_empty_store_are_zero, StoreFixture) {
  auto store = OpenStore();
  auto result = store->ComputeMetrics(7, kNow);
  BOOST_REQUIRE(result.ok());
  const Metrics& m = result.value();
  BOOST_TEST(m.period_days == 7);
  BOOST_TEST(m.job_count == 0);
  BOOST_TEST(m.total_cost == 0.0);
  BOOST_TEST(m.jobs_by_status.size() == 7u);
  for (const auto& [status, count] : m.jobs_by_status) BOOST_TEST(count == 0, status);
  BOOST_TEST(!m.avg_job_duration_seconds.has_value());
  BOOST_TEST(m.cost_by_day.empty());
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

BOOST_FIXTURE_TEST_CASE(apply_without_create_rejects_an_unknown_job, StoreFixture) {
  auto store = OpenStore();
  Observation obs;
  obs.job_id = "j_missing";
  obs.status = JobStatus::kCancelled;
  obs.source = Observation::Source::kLocal;
  auto result = store->Apply(obs, Prices(), kNow, /*create_if_missing=*/false);
  BOOST_REQUIRE(!result.ok());
  BOOST_TEST((result.status().code() == Status::Code::kNotFound));
  BOOST_TEST(result.status().error() == "job_not_found");
  BOOST_TEST(Contains(result.status().message(), "j_missing"));
  BOOST_REQUIRE(result.status().details().size() == 1u);
  BOOST_TEST(result.status().details()[0].first == "job_id");
  BOOST_TEST(result.status().details()[0].second == "j_missing");

  auto by_external = store->Apply(ProviderObs("ext-missing", "processing"), Prices(), kNow, false);
  BOOST_REQUIRE(!by_external.ok());
  BOOST_TEST((by_external.status().code() == Status::Code::kNotFound));
  BOOST_TEST(Contains(by_external.status().message(), "ext-missing"));

  BOOST_TEST(MustList(*store, JobFilter{}).total == 0);
  BOOST_TEST(AllEvents(*store).empty());

  // The connection is not left inside a transaction: a normal Apply works,
  // and then create_if_missing=false finds the job.
  MustApply(*store, ProviderObs("ext-1", "starting"), kNow);
  Observation cancel;
  cancel.job_id = "ext-1";
  cancel.status = JobStatus::kCancelled;
  cancel.source = Observation::Source::kLocal;
  const ApplyOutcome cancelled = MustApply(*store, cancel, kNow + kSecond, false);
  BOOST_TEST(Show(cancelled.job.status) == "cancelled");
}

BOOST_FIXTURE_TEST_CASE(append_event_is_listed_with_job_events, StoreFixture) {
  auto store = OpenStore();
  MustApply(*store, ProviderObs("ext-1", "starting"), kNow);
  auto id = store->AppendEvent("", "jobs_synced", "{\"type\":\"jobs_synced\"}", kNow + kSecond);
  BOOST_REQUIRE(id.ok());
  const std::vector<Event> events = AllEvents(*store);
  BOOST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[1].id == id.value());
  BOOST_TEST(events[1].id > events[0].id);
  BOOST_TEST(events[1].job_id == "");
  BOOST_TEST(events[1].type == "jobs_synced");
  BOOST_TEST(events[1].data == "{\"type\":\"jobs_synced\"}");
  BOOST_TEST(events[1].created_at == kNow + kSecond);
}

BOOST_FIXTURE_TEST_CASE(oldest_and_newest_event_ids_follow_appends_and_pruning, StoreFixture) {
  auto store = OpenStore();
  BOOST_TEST(store->OldestEventId().value() == 0);
  BOOST_TEST(store->NewestEventId().value() == 0);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = store->AppendEvent("", "jobs_synced", "{\"type\":\"jobs_synced\"}", kNow + i);
    BOOST_REQUIRE(id.ok());
    ids.push_back(*id);
  }
  BOOST_TEST(store->OldestEventId().value() == ids.front());
  BOOST_TEST(store->NewestEventId().value() == ids.back());
  // Keeping the newest two moves the oldest, not the newest.
  BOOST_TEST(store->PruneEvents(2, 0).value() == 3);
  BOOST_TEST(store->OldestEventId().value() == ids[3]);
  BOOST_TEST(store->NewestEventId().value() == ids.back());
}

// Inline progress's read (issue 14): what it answers and decides on, equal to
// the whole read's.
BOOST_FIXTURE_TEST_CASE(progress_read_is_the_whole_jobs_progress_part, StoreFixture) {
  auto store = OpenStore();
  Observation obs = ProviderObs("ext-1", "processing");
  obs.logs = std::string(kLog) + "\n";
  obs.metadata["model"] = "simpletuner/advanced-trainer-l40s";
  obs.config_name = "lora-v1";
  MustApply(*store, obs, kNow);
  BOOST_REQUIRE(store->RecordProgressDemand("ext-1", kNow + kSecond).ok());
  const Job whole = MustGet(*store, "ext-1");
  auto read = store->GetJobProgress("ext-1");
  BOOST_REQUIRE(read.ok() && read.value().has_value());
  const JobProgress& part = **read;
  BOOST_TEST(part.job_id == "ext-1");
  BOOST_TEST(Show(part.provider) == "\"replicate\"");
  BOOST_TEST(Show(part.external_id) == "\"ext-1\"");
  BOOST_TEST(Show(part.status) == "running");
  BOOST_TEST(Show(part.progress.stage) == Show(whole.progress.stage));
  BOOST_TEST(Show(part.progress.last_log) == "\"" + std::string(kLog) + "\"");
  BOOST_REQUIRE(part.progress.progress.has_value());
  BOOST_TEST(*part.progress.progress == 30.0);
  BOOST_TEST(Show(part.logs_fetched_at) == Show(whole.logs_fetched_at));
  BOOST_TEST(Show(part.progress_wanted_at) == std::to_string(kNow + kSecond));
  BOOST_TEST((part == ProgressOf(whole)));
  // A job that is not there is nullopt, as with the whole read.
  auto missing = store->GetJobProgress("ext-2");
  BOOST_REQUIRE(missing.ok());
  BOOST_TEST(!missing.value().has_value());
}

// The worker's checkpoint (issue 14): it copies the whole log back while
// nobody reads, and the next commit starts the log again from its beginning
// (a PASSIVE checkpoint would leave it to grow past the 100 jobs' frames).
BOOST_FIXTURE_TEST_CASE(a_checkpoint_copies_the_log_back_and_restarts_it, StoreFixture) {
  auto store = OpenStore();
  for (int i = 0; i < 100; ++i) {
    Observation obs = ProviderObs("ckpt-" + std::to_string(i), "processing");
    obs.logs = std::string(kLog) + "\n";
    MustApply(*store, obs, kNow + i);
  }
  auto wal = store->Checkpoint(50);
  BOOST_REQUIRE_MESSAGE(wal.ok(), wal.status().ToString());
  BOOST_TEST(wal->frames > 100);
  BOOST_TEST(wal->checkpointed == wal->frames);
  const int64_t frames_before = wal->frames;
  MustApply(*store, ProviderObs("ckpt-after", "processing"), kNow + 1000);
  wal = store->Checkpoint(50);
  BOOST_REQUIRE(wal.ok());
  BOOST_TEST(wal->checkpointed == wal->frames);
  BOOST_TEST(wal->frames > 0);
  BOOST_TEST(wal->frames < 20);
  BOOST_TEST(wal->frames < frames_before);
}

// The worker's demand read (SPEC §5): running jobs asked about since a time.
BOOST_FIXTURE_TEST_CASE(watched_jobs_are_the_running_ones_asked_about_lately, StoreFixture) {
  auto store = OpenStore();
  for (const char* id : {"w-1", "w-2", "w-3"})
    MustApply(*store, ProviderObs(id, "processing"), kNow);
  MustApply(*store, ProviderObs("w-4", "succeeded"), kNow);
  BOOST_REQUIRE(store->RecordProgressDemand("w-1", kNow + 10 * kSecond).ok());
  BOOST_REQUIRE(store->RecordProgressDemand("w-2", kNow + 30 * kSecond).ok());
  BOOST_REQUIRE(store->RecordProgressDemand("w-4", kNow + 30 * kSecond).ok());
  const auto ids = [&](int64_t since) {
    std::vector<std::string> out;
    auto jobs = store->ListWatchedJobs(since);
    BOOST_REQUIRE_MESSAGE(jobs.ok(), jobs.status().ToString());
    for (const Job& job : *jobs) out.push_back(job.job_id);
    return out;
  };
  BOOST_TEST(ids(kNow) == (std::vector<std::string>{"w-1", "w-2"}),
             boost::test_tools::per_element());
  BOOST_TEST(ids(kNow + 20 * kSecond) == std::vector<std::string>{"w-2"},
             boost::test_tools::per_element());
  BOOST_TEST(ids(kNow + 40 * kSecond).empty());
}

BOOST_AUTO_TEST_SUITE_END()

// SPEC §4 and §3 in the store: stale observations, the lost-job rule, outputs.
BOOST_AUTO_TEST_SUITE(store_fidelity)

// Every row of the jobs and events tables as text, to compare before and after.
std::string Dump(RawDb& raw) {
  return raw.QueryText(
             "SELECT group_concat(quote(job_id) || quote(status) || quote(version) || "
             "quote(logs_tail) || quote(stage) || quote(progress) || quote(last_log) || "
             "quote(log_bytes_seen) || quote(updated_at) || quote(logs_fetched_at), '|') "
             "FROM jobs") +
         "#" + raw.QueryText("SELECT group_concat(id || type || data, '|') FROM events");
}

BOOST_FIXTURE_TEST_CASE(a_stale_observation_writes_nothing_at_all, StoreFixture) {
  auto store = OpenStore();
  Observation newer = ProviderObs("ext-s", "succeeded");
  newer.logs = "Step 1/4\nStep 2/4\nStep 3/4\nStep 4/4\n";
  newer.fetched = true;
  MustApply(*store, newer, kNow);
  RawDb raw(db_path);
  const std::string before = Dump(raw);

  Observation older = ProviderObs("ext-s", "processing");
  older.logs = "Step 1/4\nStep 2/4\n";
  older.fetched = true;
  const ApplyOutcome outcome = MustApply(*store, older, kNow + 5 * kSecond);
  BOOST_TEST(outcome.stale);
  BOOST_TEST(!outcome.changed);
  BOOST_TEST(Dump(raw) == before);
  BOOST_TEST(MustGet(*store, "ext-s").logs_tail == *newer.logs);
}

BOOST_FIXTURE_TEST_CASE(a_404_only_counts_until_the_rule_fails_the_job, StoreFixture) {
  auto store = OpenStore();
  Observation running = ProviderObs("ext-l", "processing");
  running.started_at = kNow - 3600 * kSecond;
  MustApply(*store, running, kNow);
  const Job job = MustGet(*store, "ext-l");
  const size_t events_before = AllEvents(*store).size();

  ApplyOutcome first = MustApply(*store, NotFoundObservation(job), kNow + 60 * kSecond);
  MustApply(*store, NotFoundObservation(job), kNow + 300 * kSecond);
  BOOST_TEST(Show(MustGet(*store, "ext-l").status) == "running");
  BOOST_TEST(MustGet(*store, "ext-l").not_found_count == 2);
  BOOST_TEST(!first.changed);
  BOOST_TEST(AllEvents(*store).size() == events_before);

  const ApplyOutcome lost = MustApply(*store, NotFoundObservation(job), kNow + 660 * kSecond);
  BOOST_TEST(lost.status_changed);
  const Job failed = MustGet(*store, "ext-l");
  BOOST_TEST(Show(failed.status) == "failed");
  BOOST_TEST(Show(failed.error_message) == "\"not found at provider\"");
  BOOST_TEST(Show(failed.completed_at) == std::to_string(kNow + 60 * kSecond));
  const std::vector<Event> events = AllEvents(*store);
  BOOST_REQUIRE(events.size() == events_before + 1);
  BOOST_TEST(events.back().type == "job_status_changed");
  BOOST_TEST(Contains(events.back().data, R"("status":"failed","previous_status":"running")"));
}

BOOST_FIXTURE_TEST_CASE(a_404_for_an_unknown_job_creates_nothing, StoreFixture) {
  auto store = OpenStore();
  Job ghost;
  ghost.job_id = "ghost";
  ghost.provider = "replicate";
  ghost.external_id = "ghost";
  auto outcome = store->Apply(NotFoundObservation(ghost), prices, kNow);
  BOOST_REQUIRE(!outcome.ok());
  BOOST_TEST(outcome.status().error() == "job_not_found");
  BOOST_TEST(MustList(*store, JobFilter{}).total == 0);
}

BOOST_FIXTURE_TEST_CASE(output_round_trips_and_list_pages_leave_bulk_columns_unread, StoreFixture) {
  auto store = OpenStore();
  Observation obs = ProviderObs("ext-o", "succeeded");
  obs.output = R"(["a","b"])";
  obs.logs = "Step 4/4\n";
  MustApply(*store, obs, kNow);
  const Job stored = MustGet(*store, "ext-o");
  BOOST_TEST(Show(stored.output) == R"("["a","b"]")");
  BOOST_TEST(stored.logs_tail == "Step 4/4\n");
  BOOST_TEST(stored.log_bytes_seen == 9);
  const JobPage page = MustList(*store, JobFilter{});
  BOOST_REQUIRE(page.jobs.size() == 1u);
  BOOST_TEST(Show(page.jobs[0].output) == "null");
  BOOST_TEST(page.jobs[0].logs_tail == "");
  BOOST_TEST(Show(page.jobs[0].progress.last_log) == "\"Step 4/4\"");
}

// A database written by the previous release (schema 3) opens, keeps its
// jobs, and loses only output_url values that were never URLs.
BOOST_FIXTURE_TEST_CASE(a_schema_3_database_migrates_in_place, StoreFixture) {
  {
    auto store = OpenStore();
    MustApply(*store, ProviderObs("url", "succeeded"), kNow);
    MustApply(*store, ProviderObs("text", "succeeded"), kNow);
  }
  {
    RawDb raw(db_path);
    raw.Exec(
        "UPDATE jobs SET output_url = 'https://replicate.delivery/w.tar', "
        "logs_tail = 'Step 1/2\nStep 2/2\n' WHERE job_id = 'url'");
    raw.Exec("UPDATE jobs SET output_url = 'hello Alice' WHERE job_id = 'text'");
    for (const char* column :
         {"log_bytes_seen", "output", "output_truncated", "not_found_count", "not_found_since"}) {
      raw.Exec(std::string("ALTER TABLE jobs DROP COLUMN ") + column);
    }
    raw.Exec("PRAGMA user_version = 3");
  }
  auto store = OpenStore();
  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("PRAGMA user_version") == "4");
  const Job url = MustGet(*store, "url");
  BOOST_TEST(Show(url.output_url) == "\"https://replicate.delivery/w.tar\"");
  BOOST_TEST(url.log_bytes_seen == 18);
  BOOST_TEST(Show(MustGet(*store, "text").output_url) == "null");
}

BOOST_AUTO_TEST_SUITE_END()

// SPEC §11 "Secrets at rest", §6 crashed lease holders, §7 inbox retention.
BOOST_AUTO_TEST_SUITE(store_hardening)

unsigned Mode(const std::string& path) {
  struct stat st;
  BOOST_REQUIRE_MESSAGE(::stat(path.c_str(), &st) == 0, path);
  return st.st_mode & 0777;
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

// A process that has exited, for a lease owner that cannot be alive.
pid_t DeadPid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
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

// The worker's intake (lib/delivery_intake.h) stores a batch in one
// transaction: a webhook id already stored, or repeated within the batch, is a
// duplicate; the rest are stored with their own receipt times.
BOOST_FIXTURE_TEST_CASE(a_batch_of_deliveries_is_stored_with_its_duplicates_marked, StoreFixture) {
  auto store = OpenStore();
  BOOST_REQUIRE(store->InsertDelivery("old", "replicate", "{}", kNow).ok());
  auto inserted = store->InsertDeliveries({{"a", "replicate", R"({"id":"a"})", kNow + 1},
                                           {"old", "replicate", "{}", kNow + 2},
                                           {"b", "replicate", R"({"id":"b"})", kNow + 3},
                                           {"a", "replicate", R"({"id":"a2"})", kNow + 4}});
  BOOST_REQUIRE_MESSAGE(inserted.ok(), inserted.status().ToString());
  BOOST_TEST(*inserted == (std::vector<bool>{true, false, true, false}),
             boost::test_tools::per_element());
  auto pending = store->PendingDeliveries(10);
  BOOST_REQUIRE(pending.ok());
  BOOST_REQUIRE(pending->size() == 3u);
  BOOST_TEST((*pending)[1].webhook_id == "a");
  BOOST_TEST((*pending)[1].body == R"({"id":"a"})");
  BOOST_TEST((*pending)[1].received_at == kNow + 1);
  BOOST_TEST((*pending)[2].webhook_id == "b");
  BOOST_TEST((*pending)[2].received_at == kNow + 3);
}

BOOST_FIXTURE_TEST_CASE(inbox_bodies_and_rows_are_pruned_by_age, StoreFixture) {
  auto store = OpenStore();
  const std::string body = R"({"id":"r1","status":"processing"})" + std::string(4096, ' ');
  for (const char* id : {"old-applied", "new-applied", "old-rejected", "pending"}) {
    BOOST_REQUIRE(store->InsertDelivery(id, "replicate", body, kNow - 8 * kDay).ok());
  }
  Observation obs = ProviderObs("r1", "processing");
  BOOST_REQUIRE(store->ApplyDelivery("old-applied", obs, prices, kNow - 8 * kDay).ok());
  BOOST_REQUIRE(store->ApplyDelivery("new-applied", obs, prices, kNow - 2 * kDay).ok());
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE(store->RecordDeliveryFailure("old-rejected", "bad", 3, kNow - 8 * kDay).ok());
  }
  auto pruned = store->PruneDeliveries(kNow - kDay, kNow - 7 * kDay);
  BOOST_REQUIRE_MESSAGE(pruned.ok(), pruned.status().ToString());
  // Two bodies dropped (both applied deliveries are past a day), then two rows
  // deleted (the applied and the rejected one past 7 days).
  BOOST_TEST(*pruned == 4);
  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("SELECT group_concat(webhook_id || ':' || length(body), ',') FROM "
                           "(SELECT * FROM webhook_inbox ORDER BY webhook_id)") ==
             "new-applied:0,pending:" + std::to_string(body.size()));
  // The pending delivery is still there to apply, and its id still dedupes.
  auto again = store->InsertDelivery("pending", "replicate", body, kNow);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(!*again);
  BOOST_TEST(raw.QueryText("PRAGMA auto_vacuum") == "2");  // incremental on new files
}

// Pages left free by an earlier prune whose vacuum did not run are returned by
// the next prune even when it has nothing to drop.
BOOST_FIXTURE_TEST_CASE(a_prune_with_nothing_to_drop_still_returns_free_pages, StoreFixture) {
  auto store = OpenStore();
  const std::string body = R"({"id":"r1","status":"processing"})" + std::string(64 * 1024, ' ');
  for (int i = 0; i < 20; ++i) {
    BOOST_REQUIRE(store->InsertDelivery("d" + std::to_string(i), "replicate", body, kNow).ok());
  }
  RawDb raw(db_path);
  raw.Exec("DELETE FROM webhook_inbox");  // frees the pages without a vacuum
  BOOST_REQUIRE(std::stoi(raw.QueryText("PRAGMA freelist_count")) > 100);
  auto pruned = store->PruneDeliveries(kNow - kDay, kNow - 7 * kDay);
  BOOST_REQUIRE_MESSAGE(pruned.ok(), pruned.status().ToString());
  BOOST_TEST(*pruned == 0);
  BOOST_TEST(raw.QueryText("PRAGMA freelist_count") == "0");
}

BOOST_FIXTURE_TEST_CASE(a_job_id_no_url_could_address_is_never_created, StoreFixture) {
  auto store = OpenStore();
  for (const std::string& id : {std::string("bad/id..x"), std::string(129, 'x'), std::string("")}) {
    BOOST_TEST_CONTEXT(id) {
      auto outcome = store->Apply(ProviderObs(id, "processing"), prices, kNow);
      BOOST_REQUIRE(!outcome.ok());
      BOOST_TEST(outcome.status().error() == "invalid_job_id");
    }
  }
  BOOST_TEST(MustList(*store, JobFilter{}).total == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
