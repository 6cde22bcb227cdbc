// The shared fixture of the store's tests (tests/store_test.cc,
// job_store_test.cc, event_log_store_test.cc, webhook_inbox_store_test.cc): a
// fresh database in a temporary directory, a raw sqlite3 connection for checks
// the interfaces do not expose, and small helpers.
#ifndef JOBPULSE_TESTS_STORE_FIXTURE_H_
#define JOBPULSE_TESTS_STORE_FIXTURE_H_

#include <rapidjson/document.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
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
#include "lib/sqlite_store.h"
#include "lib/state_machine.h"
#include "lib/status.h"
#include "lib/store.h"

namespace jobpulse {
namespace store_test {

namespace fs = std::filesystem;

inline constexpr int64_t kSecond = 1000000;
inline constexpr int64_t kDay = 86400 * kSecond;
// 2026-11-28T10:00:00Z in microseconds.
inline constexpr int64_t kNow = int64_t{1795860000} * kSecond;

inline const char* const kLog = "Step 1500/5000 - loss: 0.0234";

inline std::string Show(JobStatus s) { return JobStatusName(s); }
inline std::string Show(const std::optional<std::string>& v) {
  return v ? "\"" + *v + "\"" : "null";
}
inline std::string Show(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "null"; }

inline PriceTable Prices() {
  PriceTable prices;
  prices.per_second = {{"gpu-h100", 0.001525}, {"gpu-l40s", 0.000975}};
  prices.default_sku = "gpu-l40s";
  return prices;
}

inline Observation ProviderObs(const std::string& external_id, const std::string& provider_status) {
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

  ApplyOutcome MustApply(JobStore& store, const Observation& obs, int64_t now,
                         bool create_if_missing = true) {
    auto outcome = store.Apply(obs, prices, now, create_if_missing);
    BOOST_REQUIRE_MESSAGE(outcome.ok(), outcome.status().ToString());
    return std::move(outcome).value();
  }

  Job MustGet(JobStore& store, const std::string& job_id) {
    auto job = store.GetJob(job_id);
    BOOST_REQUIRE_MESSAGE(job.ok(), job.status().ToString());
    BOOST_REQUIRE_MESSAGE(job.value().has_value(), "no job " << job_id);
    return *job.value();
  }

  // Every engine's store is also its event log.
  std::vector<Event> AllEvents(JobStore& store, int64_t after = 0) {
    auto events = dynamic_cast<EventLog&>(store).EventsAfter(after, 1000000);
    BOOST_REQUIRE_MESSAGE(events.ok(), events.status().ToString());
    return std::move(events).value();
  }

  JobPage MustList(JobStore& store, const JobFilter& filter) {
    auto page = store.ListJobs(filter);
    BOOST_REQUIRE_MESSAGE(page.ok(), page.status().ToString());
    return std::move(page).value();
  }

  fs::path dir;
  std::string db_path;
  PriceTable prices = Prices();
};

inline std::vector<std::string> Ids(const JobPage& page) {
  std::vector<std::string> ids;
  for (const Job& job : page.jobs) ids.push_back(job.job_id);
  return ids;
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Every row of the jobs and events tables as text, to compare before and after.
inline std::string Dump(RawDb& raw) {
  return raw.QueryText(
             "SELECT group_concat(quote(job_id) || quote(status) || quote(version) || "
             "quote(logs_tail) || quote(stage) || quote(progress) || quote(last_log) || "
             "quote(log_bytes_seen) || quote(updated_at) || quote(logs_fetched_at), '|') "
             "FROM jobs") +
         "#" + raw.QueryText("SELECT group_concat(id || type || data, '|') FROM events");
}

inline unsigned Mode(const std::string& path) {
  struct stat st;
  BOOST_REQUIRE_MESSAGE(::stat(path.c_str(), &st) == 0, path);
  return st.st_mode & 0777;
}

// A process that has exited, for a lease owner that cannot be alive.
inline pid_t DeadPid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

}  // namespace store_test
}  // namespace jobpulse

#endif  // JOBPULSE_TESTS_STORE_FIXTURE_H_
