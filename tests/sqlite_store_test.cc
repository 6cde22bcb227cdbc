// Unit tests for lib/sqlite_store.h, the SQLite engine itself: the file and
// its pragmas, the schema version and its migrations, the WAL checkpoint.
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

BOOST_AUTO_TEST_SUITE(sqlite_store)

BOOST_FIXTURE_TEST_CASE(open_creates_file_and_parent_directory_in_wal_mode, StoreFixture) {
  BOOST_TEST(!fs::exists(fs::path(db_path).parent_path()));
  auto store = OpenStore();
  BOOST_TEST(fs::exists(db_path));
  BOOST_TEST(store->path() == db_path);
  BOOST_TEST(store->Ping().ok());

  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("PRAGMA journal_mode") == "wal");
  BOOST_TEST(raw.QueryText("PRAGMA user_version") == std::to_string(SqliteStore::kSchemaVersion));
  BOOST_TEST(raw.QueryText("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                           "('jobs', 'events', 'service_state')") == "3");
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

// Issue 13: a database made by the first released schema (1) opens with this
// binary, migrates once through every step to the current schema, and keeps
// its jobs, events and service state, searchable and queue-ready.
BOOST_FIXTURE_TEST_CASE(a_database_of_the_first_schema_migrates_to_the_current_one, StoreFixture) {
  fs::create_directories(fs::path(db_path).parent_path());
  {
    RawDb raw(db_path);
    raw.Exec(SqliteMigrations()[0]);
    raw.Exec(
        "INSERT INTO jobs (job_id, provider, external_id, status, config_name, created_at, "
        "metadata, updated_at) VALUES ('r8-first', 'replicate', 'r8-first', 'completed', "
        "'flux-first', 1764320000000000, '{\"model\":\"acme/trainer\"}', 1764320000000000)");
    raw.Exec(
        "INSERT INTO events (job_id, type, data, created_at) VALUES ('r8-first', "
        "'job_status_changed', '{}', 1764320000000000)");
    raw.Exec("INSERT INTO service_state VALUES ('note', 'kept', 1764320000000000)");
    raw.Exec("PRAGMA user_version = 1");
  }
  auto store = OpenStore();
  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("PRAGMA user_version") == std::to_string(SqliteStore::kSchemaVersion));
  const Job job = MustGet(*store, "r8-first");
  BOOST_TEST((job.status == JobStatus::kCompleted));
  BOOST_TEST(job.config_name.value_or("") == "flux-first");
  BOOST_TEST(raw.QueryText("SELECT count(*) FROM events") == "1");
  BOOST_TEST(raw.QueryText("SELECT value FROM service_state WHERE name = 'note'") == "kept");
  JobFilter filter;
  filter.query = "flux-fir";
  BOOST_TEST((Ids(MustList(*store, filter)) == std::vector<std::string>{"r8-first"}));
  BOOST_TEST(raw.QueryText("SELECT count(*) FROM queue") == "0");
  BOOST_TEST(raw.QueryText("PRAGMA integrity_check") == "ok");
  // Opened again: nothing left to migrate, nothing changed.
  store.reset();
  auto again = OpenStore();
  BOOST_TEST(MustGet(*again, "r8-first").version == job.version);
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
    for (const char* column : {"log_bytes_seen", "output", "output_truncated", "not_found_count",
                               "not_found_since", "rate", "eta_seconds"}) {
      raw.Exec(std::string("ALTER TABLE jobs DROP COLUMN ") + column);
    }
    for (const char* trigger :
         {"jobs_search_insert", "jobs_search_update", "jobs_search_delete",
          "jobs_search_rows_insert", "jobs_search_rows_update", "jobs_search_rows_delete",
          "jobs_close_queue_entry", "jobs_delete_queue_entry"}) {
      raw.Exec(std::string("DROP TRIGGER ") + trigger);
    }
    raw.Exec("DROP TABLE job_search");
    raw.Exec("DROP TABLE job_search_rows");
    raw.Exec("DROP VIEW job_search_fields");
    raw.Exec("DROP TABLE queue");
    raw.Exec("DROP TABLE job_search_pending");
    raw.Exec("DROP TABLE counters");
    raw.Exec("PRAGMA user_version = 3");
  }
  auto store = OpenStore();
  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("PRAGMA user_version") == "9");
  const Job url = MustGet(*store, "url");
  BOOST_TEST(Show(url.output_url) == "\"https://replicate.delivery/w.tar\"");
  BOOST_TEST(url.log_bytes_seen == 18);
  BOOST_TEST(Show(MustGet(*store, "text").output_url) == "null");
  // Versions 5 and 6 index the jobs that were already there for the search.
  BOOST_TEST(raw.QueryText("SELECT group_concat(job_id, ',') FROM (SELECT job_id FROM job_search "
                           "ORDER BY job_id)") == "text,url");
  BOOST_TEST(raw.QueryText("SELECT group_concat(job_id || ':' || status || ':' || "
                           "replace(text, char(10), '|'), ',') FROM (SELECT * FROM "
                           "job_search_rows ORDER BY job_id)") ==
             "text:completed:text|||,url:completed:url|||");
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

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
