// Unit tests for lib/job_store.h, on both engines where they read only through
// the interfaces (the two that inspect raw SQLite rows stay SQLite's): Apply (creation,
// updates, stale and lost jobs, the job-id rule), every field's round trip,
// listing, deletion, metrics and the worker's queries.
#include "tests/engine_fixture.h"
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

BOOST_AUTO_TEST_SUITE(job_store)

BOOST_DATA_TEST_CASE_F(StoreFixture, apply_creates_then_updates_by_provider_and_external_id,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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

BOOST_DATA_TEST_CASE_F(StoreFixture, every_field_round_trips_through_get_job, testing::kEngines,
                       engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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

BOOST_DATA_TEST_CASE_F(StoreFixture, unknown_status_is_remembered_without_an_event,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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
  testing::EngineStore other_db = db.Another();
  JobStore* other = &other_db.jobs();
  const ApplyOutcome second = MustApply(*other, ProviderObs("ext-1", "paused"), kNow + 2 * kSecond);
  BOOST_TEST(Show(second.unknown_status) == "null");
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

BOOST_DATA_TEST_CASE_F(StoreFixture, delete_job_only_deletes_terminal_jobs, testing::kEngines,
                       engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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

BOOST_DATA_TEST_CASE_F(StoreFixture, metrics_count_jobs_in_the_window, testing::kEngines, engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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

BOOST_DATA_TEST_CASE_F(StoreFixture, metrics_of_an_empty_store_are_zero, testing::kEngines,
                       engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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

BOOST_DATA_TEST_CASE_F(StoreFixture, apply_without_create_rejects_an_unknown_job, testing::kEngines,
                       engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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

// Inline progress's read (issue 14): what it answers and decides on, equal to
// the whole read's.
BOOST_DATA_TEST_CASE_F(StoreFixture, progress_read_is_the_whole_jobs_progress_part,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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

// The worker's demand read (SPEC §5): running jobs asked about since a time.
BOOST_DATA_TEST_CASE_F(StoreFixture, watched_jobs_are_the_running_ones_asked_about_lately,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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

BOOST_DATA_TEST_CASE_F(StoreFixture, a_404_only_counts_until_the_rule_fails_the_job,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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

BOOST_DATA_TEST_CASE_F(StoreFixture, a_404_for_an_unknown_job_creates_nothing, testing::kEngines,
                       engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
  Job ghost;
  ghost.job_id = "ghost";
  ghost.provider = "replicate";
  ghost.external_id = "ghost";
  auto outcome = store->Apply(NotFoundObservation(ghost), prices, kNow);
  BOOST_REQUIRE(!outcome.ok());
  BOOST_TEST(outcome.status().error() == "job_not_found");
  BOOST_TEST(MustList(*store, JobFilter{}).total == 0);
}

BOOST_DATA_TEST_CASE_F(StoreFixture, output_round_trips_and_list_pages_leave_bulk_columns_unread,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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

BOOST_DATA_TEST_CASE_F(StoreFixture, a_job_id_no_url_could_address_is_never_created,
                       testing::kEngines, engine) {
  testing::EngineStore db(engine);
  JobStore* store = &db.jobs();
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
}  // namespace store_test
}  // namespace jobpulse
