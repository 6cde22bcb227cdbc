// lib/backup.h against real SQLite files: a backup taken while another
// connection keeps writing is whole and consistent (integrity check, row
// counts between the start and the end of the copy), a restore refuses while
// the database is open elsewhere and refuses copies that are not sound, and
// what it restores is what was backed up.
#include "lib/backup.h"

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "lib/timestamp.h"
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

int64_t CountJobs(Store& store) {
  auto page = store.ListJobs(JobFilter{});
  BOOST_REQUIRE(page.ok());
  return page->total;
}

void AddJob(Store& store, const std::string& id) {
  Observation obs = ProviderObs(id, "processing");
  obs.logs = "Step 1/100 - loss: 0.5\n";
  auto applied = store.Apply(obs, PriceTable{}, kNow);
  BOOST_REQUIRE_MESSAGE(applied.ok(), applied.status().ToString());
}

BOOST_AUTO_TEST_SUITE(backup)

BOOST_FIXTURE_TEST_CASE(a_backup_under_write_load_is_whole_and_consistent, StoreFixture) {
  auto store = OpenStore();
  for (int i = 0; i < 2000; ++i) AddJob(*store, "r8-before-" + std::to_string(i));
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::atomic<int> failed{0};
  // No Boost.Test assertion off the test's thread: failures are counted.
  std::thread writer([&] {
    auto own = Store::Open(db_path);
    if (!own.ok()) {
      ++failed;
      return;
    }
    while (!stop) {
      Observation obs = ProviderObs("r8-during-" + std::to_string(written), "processing");
      if ((*own)->Apply(obs, PriceTable{}, kNow).ok()) {
        ++written;
      } else {
        ++failed;
      }
    }
  });
  for (int i = 0; i < 10000 && written < 50 && failed == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const int64_t at_start = 2000 + written;
  const std::string copy = (dir / "backup.db").string();
  auto report = BackupDatabase(db_path, copy);
  const int64_t at_end = 2000 + written;
  // The writer goes on a little after the copy, then stops.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop = true;
  writer.join();
  BOOST_TEST(failed == 0);
  BOOST_REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  BOOST_TEST_MESSAGE("backup: " << report->jobs << " jobs in the copy, " << written
                                << " written by the other connection meanwhile");
  BOOST_TEST(report->jobs >= at_start);
  BOOST_TEST(report->jobs <= at_end + 1);  // one committed, not yet counted
  BOOST_TEST(report->schema_version == SqliteStore::kSchemaVersion);
  BOOST_TEST(written > 50);
  struct stat st {};
  BOOST_REQUIRE(::stat(copy.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600);
  BOOST_TEST(report->bytes == st.st_size);
  BOOST_TEST(!fs::exists(copy + ".tmp"));
  BOOST_TEST(!fs::exists(copy + "-wal"));  // one self-contained file
  RawDb raw(copy);
  BOOST_TEST(raw.QueryText("PRAGMA journal_mode") == "delete");
  BOOST_TEST(raw.QueryText("PRAGMA integrity_check") == "ok");
  BOOST_TEST(raw.QueryText("SELECT count(*) FROM jobs") == std::to_string(report->jobs));
  // Every job of the copy is whole: each one's event came with it.
  BOOST_TEST(raw.QueryText("SELECT count(*) FROM jobs WHERE job_id NOT IN (SELECT job_id FROM "
                           "events)") == "0");
}

BOOST_FIXTURE_TEST_CASE(a_restore_waits_for_the_service_to_stop_and_brings_the_copy_back,
                        StoreFixture) {
  auto store = OpenStore();
  for (int i = 0; i < 20; ++i) AddJob(*store, "r8-kept-" + std::to_string(i));
  const std::string copy = (dir / "nightly.db").string();
  auto backup = BackupDatabase(db_path, copy);
  BOOST_REQUIRE_MESSAGE(backup.ok(), backup.status().ToString());
  AddJob(*store, "r8-after-the-backup");

  auto refused = RestoreDatabase(copy, db_path);  // the store is still open
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST((refused.status().code() == Status::Code::kConflict));
  BOOST_TEST(refused.status().error() == "database_in_use");
  BOOST_TEST(CountJobs(*store) == 21);  // untouched

  store.reset();
  auto restored = RestoreDatabase(copy, db_path);
  BOOST_REQUIRE_MESSAGE(restored.ok(), restored.status().ToString());
  BOOST_TEST(restored->jobs == 20);
  auto reopened = OpenStore();
  BOOST_TEST(CountJobs(*reopened) == 20);
  BOOST_TEST(!reopened->GetJob("r8-after-the-backup").value().has_value());
  RawDb raw(db_path);
  BOOST_TEST(raw.QueryText("PRAGMA journal_mode") == "wal");
  struct stat st {};
  BOOST_REQUIRE(::stat(db_path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600);
}

BOOST_FIXTURE_TEST_CASE(a_restore_refuses_what_is_not_a_sound_copy, StoreFixture) {
  {
    auto store = OpenStore();
    AddJob(*store, "r8-live");
  }
  const std::string text = (dir / "notes.txt").string();
  std::ofstream(text) << "not a database at all, but long enough to look like one maybe\n";
  const std::string future = (dir / "future.db").string();
  {
    RawDb raw(future);
    raw.Exec("CREATE TABLE jobs (x); CREATE TABLE events (y); PRAGMA user_version = 99");
  }
  for (const std::string& bad : {text, future, (dir / "missing.db").string()}) {
    auto refused = RestoreDatabase(bad, db_path);
    BOOST_TEST(!refused.ok(), bad);
    BOOST_TEST(refused.status().error() == "invalid_backup",
               bad << ": " << refused.status().ToString());
  }
  auto store = OpenStore();
  BOOST_TEST(CountJobs(*store) == 1);  // the live database is as it was
}

BOOST_FIXTURE_TEST_CASE(a_backup_of_no_database_writes_nothing, StoreFixture) {
  const std::string copy = (dir / "none.db").string();
  auto report = BackupDatabase((dir / "absent" / "jobs.db").string(), copy);
  BOOST_REQUIRE(!report.ok());
  BOOST_TEST((report.status().code() == Status::Code::kUnavailable));
  BOOST_TEST(report.status().error() == "backup_failed");
  BOOST_TEST(!fs::exists(copy));
  BOOST_TEST(!fs::exists(copy + ".tmp"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
