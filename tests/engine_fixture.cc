#include "tests/engine_fixture.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "lib/pg_db.h"
#include "tests/pg_cluster.h"

namespace jobpulse::testing {
namespace {

namespace fs = std::filesystem;

}  // namespace

std::string FreshPgDatabase() {
  static std::atomic<int> next{0};
  const std::string name = "engine_" + std::to_string(getpid()) + "_" + std::to_string(++next);
  auto admin = PgConnection::Connect(SharedPgCluster().conninfo());
  BOOST_TEST_REQUIRE(admin.ok(), admin.status().ToString());
  const Status made = (*admin)->Exec("CREATE DATABASE " + name, "create database");
  BOOST_TEST_REQUIRE(made.ok(), made.ToString());
  return SharedPgCluster().conninfo(name);
}

EngineStore::EngineStore(Engine engine) : engine_(engine), owns_(true) {
  if (engine == Engine::kSqlite) {
    std::string pattern = (fs::temp_directory_path() / "jobpulse_engine.XXXXXX").string();
    BOOST_TEST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    temp_dir_ = pattern;
    where_ = (fs::path(temp_dir_) / "jobs.db").string();
  } else {
    where_ = FreshPgDatabase();
  }
  Open();
}

EngineStore::EngineStore(Engine engine, std::string where)
    : engine_(engine), where_(std::move(where)) {
  Open();
}

void EngineStore::Open() {
  if (engine_ == Engine::kSqlite) {
    auto opened = Store::Open(where_);
    BOOST_TEST_REQUIRE(opened.ok(), opened.status().ToString());
    sqlite_ = std::move(*opened);
  } else {
    auto opened = PgStore::Open(where_);
    BOOST_TEST_REQUIRE(opened.ok(), opened.status().ToString());
    pg_ = std::move(*opened);
  }
}

EngineStore::~EngineStore() {
  sqlite_.reset();
  pg_.reset();
  if (owns_ && !temp_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(temp_dir_, ec);
  }
}

EngineStore EngineStore::Another() const { return EngineStore(engine_, where_); }

ServiceStateStore& EngineStore::state() {
  return sqlite_ ? static_cast<ServiceStateStore&>(*sqlite_) : *pg_;
}
Leases& EngineStore::leases() { return sqlite_ ? static_cast<Leases&>(*sqlite_) : *pg_; }
WebhookInbox& EngineStore::inbox() { return sqlite_ ? static_cast<WebhookInbox&>(*sqlite_) : *pg_; }
JobStore& EngineStore::jobs() { return sqlite_ ? static_cast<JobStore&>(*sqlite_) : *pg_; }
EventLog& EngineStore::events() { return sqlite_ ? static_cast<EventLog&>(*sqlite_) : *pg_; }
QueueStore& EngineStore::queue() { return store(); }
Store& EngineStore::store() { return sqlite_ ? *sqlite_ : static_cast<Store&>(*pg_); }

std::string EngineStore::QueryText(const std::string& sql) {
  if (engine_ == Engine::kPostgres) {
    auto db = PgConnection::Connect(where_);
    BOOST_TEST_REQUIRE(db.ok(), db.status().ToString());
    auto rows = (*db)->Query(sql, {}, "test query");
    BOOST_TEST_REQUIRE(rows.ok(), sql + ": " + rows.status().ToString());
    return rows->size() > 0 && !rows->IsNull(0, 0) ? rows->Text(0, 0) : "";
  }
  sqlite3* db = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open_v2(where_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
                     SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt);
    const auto* text = rc == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : nullptr;
    if (text) out = reinterpret_cast<const char*>(text);
  }
  const std::string error = sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
  BOOST_TEST_REQUIRE((rc == SQLITE_ROW || rc == SQLITE_DONE), sql + ": " + error);
  return out;
}

void EngineStore::Exec(const std::string& sql) { QueryText(sql); }

CounterStore& EngineStore::counters() {
  return sqlite_ ? static_cast<CounterStore&>(*sqlite_) : *pg_;
}

}  // namespace jobpulse::testing
