// lib/pg_schema.h against a real PostgreSQL server (the shared throwaway
// cluster, tests/pg_cluster.h). Each case makes a database of its own
// (CREATE DATABASE), so the cases never see each other's tables. What is
// checked: a fresh database migrates once, whoever and however many call it;
// a newer database is refused untouched; the PostgreSQL tables match the
// SQLite engine's (the same columns, types translated, NOT NULLs, defaults,
// indexes and queue triggers, read from a fresh SQLite store); the queue
// triggers close and delete entries exactly as SQLite's do on the same
// statements; event ids are never reused; and constraint failures arrive as
// "database_constraint".
#include "lib/pg_schema.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/sqlite_store.h"
#include "tests/pg_cluster.h"

namespace jobpulse {
namespace {

using testing::SharedPgCluster;

// The tables of the PostgreSQL schema besides schema_version, sorted.
const std::vector<std::string> kTables = {"counters", "events",        "jobs",         "leases",
                                          "queue",    "service_state", "webhook_inbox"};

std::unique_ptr<PgConnection> Connect(const std::string& dbname) {
  auto db = PgConnection::Connect(SharedPgCluster().conninfo(dbname));
  BOOST_TEST_REQUIRE(db.ok(), db.status().ToString());
  return std::move(*db);
}

// A new, empty database named after the running case; returns its name.
std::string FreshDatabase() {
  static std::atomic<int> counter{0};
  std::string name = "pg_schema_" + std::to_string(++counter) + "_" +
                     boost::unit_test::framework::current_test_case().p_name.get();
  name.resize(std::min<size_t>(name.size(), 63));  // PostgreSQL's identifier limit
  auto admin = Connect("postgres");
  const Status created = admin->Exec("CREATE DATABASE " + name, "create database");
  BOOST_TEST_REQUIRE(created.ok(), created.ToString());
  return name;
}

// The rows of `sql`, each as its `cols` columns joined by '|' (NULL: "NULL").
std::vector<std::string> Rows(PgConnection& db, const std::string& sql, int cols,
                              const std::vector<PgParam>& params = {}) {
  auto rows = db.Query(sql, params, "test query");
  BOOST_TEST_REQUIRE(rows.ok(), rows.status().ToString());
  std::vector<std::string> out;
  for (int r = 0; r < rows->size(); ++r) {
    std::string line;
    for (int c = 0; c < cols; ++c) {
      if (c) line += '|';
      line += rows->IsNull(r, c) ? "NULL" : rows->Text(r, c);
    }
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> Rows(SqliteDb& db, const std::string& sql, int cols) {
  Query q = db.Prepare(sql);
  BOOST_TEST_REQUIRE(q.ok(), q.status().ToString());
  std::vector<std::string> out;
  for (;;) {
    auto row = q->Step("test query");
    BOOST_TEST_REQUIRE(row.ok(), row.status().ToString());
    if (!*row) break;
    std::string line;
    for (int c = 0; c < cols; ++c) {
      if (c) line += '|';
      line += q->IsNull(c) ? "NULL" : q->Text(c);
    }
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> PublicTables(PgConnection& db) {
  return Rows(db,
              "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
              "ORDER BY table_name",
              1);
}

// A fresh SQLite database at the SQLite engine's latest schema, removed at the end.
struct TempSqlite {
  TempSqlite() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "jobpulse-pg-schema.XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    auto opened = SqliteDb::Open(dir + "/jobs.db", SqliteMigrations());
    BOOST_TEST_REQUIRE(opened.ok(), opened.status().ToString());
    db = std::move(opened.value());
  }
  ~TempSqlite() {
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  std::unique_ptr<SqliteDb> db;
};

// A fresh database brought to kPgSchemaVersion.
std::unique_ptr<PgConnection> MigratedDatabase() {
  auto db = Connect(FreshDatabase());
  const Status migrated = MigratePg(*db);
  BOOST_TEST_REQUIRE(migrated.ok(), migrated.ToString());
  return db;
}

BOOST_AUTO_TEST_SUITE(pg_schema)

BOOST_AUTO_TEST_CASE(a_fresh_database_migrates_to_the_latest_version_once) {
  BOOST_TEST(PgMigrations().size() == static_cast<size_t>(kPgSchemaVersion));
  auto db = Connect(FreshDatabase());
  BOOST_TEST_REQUIRE(PublicTables(*db).empty());
  const Status first = MigratePg(*db);
  BOOST_TEST_REQUIRE(first.ok(), first.ToString());
  // xmin names the transaction that wrote the row: a second run that
  // rewrote it would change it.
  const auto version = Rows(*db, "SELECT version, xmin::text FROM schema_version", 2);
  BOOST_TEST_REQUIRE(version.size() == 1u);
  BOOST_TEST(version[0].substr(0, version[0].find('|')) == std::to_string(kPgSchemaVersion));
  std::vector<std::string> expected = kTables;
  expected.push_back("schema_version");
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(PublicTables(*db) == expected, boost::test_tools::per_element());

  const Status again = MigratePg(*db);
  BOOST_TEST(again.ok(), again.ToString());
  BOOST_TEST(Rows(*db, "SELECT version, xmin::text FROM schema_version", 2) == version,
             boost::test_tools::per_element());
  BOOST_TEST(PublicTables(*db) == expected, boost::test_tools::per_element());
  // The connection is left outside any transaction: a statement commits.
  BOOST_TEST(db->Exec("CREATE TABLE scratch (x int); DROP TABLE scratch", "scratch table").ok());
}

BOOST_AUTO_TEST_CASE(eight_connections_migrating_at_once_migrate_once) {
  const std::string name = FreshDatabase();
  constexpr int kCallers = 8;
  std::vector<std::unique_ptr<PgConnection>> connections;
  for (int i = 0; i < kCallers; ++i) connections.push_back(Connect(name));
  std::vector<Status> results(kCallers);
  std::latch start(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = MigratePg(*connections[i]);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kCallers; ++i)
    BOOST_TEST(results[i].ok(), i << ": " << results[i].ToString());
  BOOST_TEST(Rows(*connections[0], "SELECT version FROM schema_version", 1) ==
                 std::vector<std::string>{std::to_string(kPgSchemaVersion)},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_database_newer_than_the_binary_is_refused_untouched) {
  auto db = Connect(FreshDatabase());
  const int newer = kPgSchemaVersion + 5;
  BOOST_TEST_REQUIRE(db->Exec("CREATE TABLE schema_version (version integer NOT NULL); "
                              "INSERT INTO schema_version VALUES (" +
                                  std::to_string(newer) + ")",
                              "newer schema_version")
                         .ok());
  const Status refused = MigratePg(*db);
  BOOST_TEST((refused.code() == Status::Code::kUnavailable));
  BOOST_TEST(refused.error() == "database_unavailable");
  BOOST_TEST(refused.message().find("schema version " + std::to_string(newer) +
                                    " is newer than this binary supports (" +
                                    std::to_string(kPgSchemaVersion) + ")") != std::string::npos,
             refused.message());
  BOOST_TEST(Rows(*db, "SELECT version FROM schema_version", 1) ==
                 std::vector<std::string>{std::to_string(newer)},
             boost::test_tools::per_element());
  BOOST_TEST(PublicTables(*db) == std::vector<std::string>{"schema_version"},
             boost::test_tools::per_element());
  // Refused again the same way: the lock was released with the rollback.
  BOOST_TEST(MigratePg(*db).error() == "database_unavailable");
}

// Columns (name, translated type, NOT NULL, default), indexes (name, unique,
// partial) and the triggers on jobs, the same as SQLite's but for search.
BOOST_AUTO_TEST_CASE(the_tables_match_the_sqlite_engines) {
  auto pg = MigratedDatabase();
  TempSqlite sqlite;
  for (const std::string& table : kTables) {
    BOOST_TEST_CONTEXT("table " << table) {
      const auto want = Rows(*sqlite.db,
                             "SELECT name, CASE type WHEN 'INTEGER' THEN 'bigint' "
                             "WHEN 'TEXT' THEN 'text' WHEN 'REAL' THEN 'double precision' "
                             "ELSE type END, \"notnull\" OR pk > 0, dflt_value "
                             "FROM pragma_table_info('" +
                                 table + "') ORDER BY cid",
                             4);
      const auto got =
          Rows(*pg,
               "SELECT column_name, data_type, CASE is_nullable WHEN 'NO' THEN 1 ELSE 0 END, "
               "replace(column_default, '::text', '') FROM information_schema.columns "
               "WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
               4, {table});
      BOOST_TEST(got == want, boost::test_tools::per_element());
      const auto sqlite_indexes = Rows(*sqlite.db,
                                       "SELECT name, \"unique\", partial FROM pragma_index_list('" +
                                           table + "') WHERE origin = 'c' ORDER BY name",
                                       3);
      const auto pg_indexes = Rows(*pg,
                                   "SELECT c.relname, CASE WHEN i.indisunique THEN 1 ELSE 0 END, "
                                   "CASE WHEN i.indpred IS NULL THEN 0 ELSE 1 END "
                                   "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                   "JOIN pg_class t ON t.oid = i.indrelid "
                                   "WHERE t.relname = $1 AND NOT i.indisprimary ORDER BY c.relname",
                                   3, {table});
      BOOST_TEST(pg_indexes == sqlite_indexes, boost::test_tools::per_element());
    }
  }
  // The wake-up triggers (version 2) are PostgreSQL's alone.
  BOOST_TEST(Rows(*pg,
                  "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                  "AND tgname NOT LIKE '%notify' ORDER BY tgname",
                  1) == Rows(*sqlite.db,
                             "SELECT name FROM sqlite_schema WHERE type = 'trigger' "
                             "AND name NOT LIKE 'jobs_search%' ORDER BY name",
                             1),
             boost::test_tools::per_element());
  // Text compares byte by byte, as SQLite's BINARY, whatever the database's locale.
  BOOST_TEST(Rows(*pg,
                  "SELECT table_name || '.' || column_name FROM information_schema.columns "
                  "WHERE table_schema = 'public' AND data_type = 'text' "
                  "AND collation_name IS DISTINCT FROM 'C'",
                  1)
                 .empty());
}

BOOST_AUTO_TEST_CASE(event_ids_grow_and_are_never_reused) {
  auto db = MigratedDatabase();
  const std::string insert =
      "INSERT INTO events (job_id, type, data, created_at) VALUES ($1, 'job.updated', '{}', $2) "
      "RETURNING id";
  for (int i = 1; i <= 3; ++i) {
    BOOST_TEST(Rows(*db, insert, 1, {"job-a", std::to_string(1000 + i)}) ==
                   std::vector<std::string>{std::to_string(i)},
               boost::test_tools::per_element());
  }
  BOOST_TEST(
      Rows(*db, "DELETE FROM events WHERE id = 3 RETURNING id", 1) == std::vector<std::string>{"3"},
      boost::test_tools::per_element());
  BOOST_TEST(Rows(*db, insert, 1, {"job-a", "1004"}) == std::vector<std::string>{"4"},
             boost::test_tools::per_element());
  // Nobody picks an id: one given explicitly (a pruned one) is refused.
  auto chosen = db->Query(
      "INSERT INTO events (id, job_id, type, data, created_at) VALUES (3, '', 't', '{}', 1)", {},
      "insert with an id");
  BOOST_TEST(chosen.status().error() == "database_error");
  BOOST_TEST(Rows(*db, "SELECT id FROM events ORDER BY id", 1) ==
                 (std::vector<std::string>{"1", "2", "4"}),
             boost::test_tools::per_element());
  // job_id defaults to '' as in SQLite.
  BOOST_TEST(Rows(*db,
                  "INSERT INTO events (type, data, created_at) VALUES ('t', '{}', 1) "
                  "RETURNING id, job_id",
                  2) == std::vector<std::string>{"5|"},
             boost::test_tools::per_element());
}

// The same statements on both engines: the queue ends the same, and as the
// SQLite triggers say (sqlite_schema.cc v7).
BOOST_AUTO_TEST_CASE(queue_entries_close_and_go_with_their_jobs_as_in_sqlite) {
  auto pg = MigratedDatabase();
  TempSqlite sqlite;
  const std::vector<std::string> statements = {
      "INSERT INTO jobs (job_id, status, created_at, updated_at) VALUES "
      "('j-done', 'queued', 1000, 1000), ('j-running', 'queued', 1001, 1001), "
      "('j-late', 'failed', 1002, 1002), ('j-gone', 'queued', 1003, 1003)",
      "INSERT INTO queue (job_id, provider, priority, status, queued_at, dispatched_at, request, "
      "input_digest) VALUES "
      "('j-done', 'replicate', 10, 'waiting', 1000, NULL, '{}', 'd1'), "
      "('j-running', 'replicate', 10, 'waiting', 1001, NULL, '{}', 'd2'), "
      "('j-late', 'replicate', 10, 'dispatched', 1002, 1502, '{}', 'd3'), "
      "('j-gone', 'replicate', 10, 'waiting', 1003, NULL, '{}', 'd4')",
      // Terminal from queued: closed at the job's updated_at.
      "UPDATE jobs SET status = 'completed', updated_at = 5000 WHERE job_id = 'j-done'",
      // Neither another column nor terminal to terminal touches it again.
      "UPDATE jobs SET updated_at = 6000 WHERE job_id = 'j-done'",
      "UPDATE jobs SET status = 'failed', updated_at = 7000 WHERE job_id = 'j-done'",
      // Not terminal: still waiting.
      "UPDATE jobs SET status = 'running', updated_at = 5001 WHERE job_id = 'j-running'",
      // Terminal already: the trigger does not fire, the entry stays open.
      "UPDATE jobs SET status = 'cancelled', updated_at = 5002 WHERE job_id = 'j-late'",
      "DELETE FROM jobs WHERE job_id = 'j-gone'",
  };
  for (const std::string& sql : statements) {
    BOOST_TEST_CONTEXT(sql) {
      BOOST_TEST_REQUIRE(sqlite.db->Exec(sql.c_str()).ok());
      const Status s = pg->Exec(sql, "statement");
      BOOST_TEST_REQUIRE(s.ok(), s.ToString());
    }
  }
  const std::string read =
      "SELECT job_id, status, closed_at, dispatched_at FROM queue ORDER BY job_id";
  const std::vector<std::string> expected = {
      "j-done|closed|5000|NULL", "j-late|dispatched|NULL|1502", "j-running|waiting|NULL|NULL"};
  BOOST_TEST(Rows(*pg, read, 4) == expected, boost::test_tools::per_element());
  BOOST_TEST(Rows(*sqlite.db, read, 4) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(constraint_failures_are_database_constraint) {
  auto db = MigratedDatabase();
  const std::string job =
      "INSERT INTO jobs (job_id, provider, external_id, status, created_at, updated_at) "
      "VALUES ($1, $2, $3, 'queued', 1, 1)";
  BOOST_TEST_REQUIRE(db->Query(job, {"a", "replicate", "ext-1"}, "job").ok());
  auto twin = db->Query(job, {"b", "replicate", "ext-1"}, "same external id");
  BOOST_TEST(twin.status().error() == "database_constraint");
  BOOST_TEST(db->Query(job, {"b", "modal", "ext-1"}, "other provider").ok());
  // NULLs are distinct in the unique index, as in SQLite.
  BOOST_TEST(db->Query(job, {"c", PgParam(), PgParam()}, "no external id").ok());
  BOOST_TEST(db->Query(job, {"d", PgParam(), PgParam()}, "no external id again").ok());
  BOOST_TEST(db->Query(job, {"a", "modal", "ext-2"}, "same job id").status().error() ==
             "database_constraint");

  const std::string entry =
      "INSERT INTO queue (job_id, provider, priority, status, queued_at, request, input_digest, "
      "idempotency_key) VALUES ($1, 'replicate', 10, $2, 1, $3, 'digest', $4)";
  BOOST_TEST_REQUIRE(db->Query(entry, {"a", "waiting", "{}", "key-1"}, "entry").ok());
  // SQLite's queue has NOT NULLs and unique indexes, no CHECK: these are its constraints.
  BOOST_TEST(
      db->Query(entry, {"b", "waiting", PgParam(), PgParam()}, "no request").status().error() ==
      "database_constraint");
  BOOST_TEST(db->Query(entry, {"b", PgParam(), "{}", PgParam()}, "no status").status().error() ==
             "database_constraint");
  BOOST_TEST(
      db->Query(entry, {"b", "waiting", "{}", "key-1"}, "same idempotency key").status().error() ==
      "database_constraint");
  BOOST_TEST(db->Query(entry, {"a", "waiting", "{}", PgParam()}, "same job").status().error() ==
             "database_constraint");
  BOOST_TEST(db->Query(entry, {"b", "waiting", "{}", PgParam()}, "no key").ok());
  BOOST_TEST(db->Query(entry, {"c", "waiting", "{}", PgParam()}, "no key again").ok());
  BOOST_TEST(Rows(*db, "SELECT job_id FROM queue ORDER BY job_id", 1) ==
                 (std::vector<std::string>{"a", "b", "c"}),
             boost::test_tools::per_element());

  const std::string counter =
      "INSERT INTO counters (name, labels, value, updated_at) VALUES ($1, $2, 1, 1)";
  BOOST_TEST_REQUIRE(db->Query(counter, {"jobpulse_x_total", ""}, "counter").ok());
  BOOST_TEST(db->Query(counter, {"jobpulse_x_total", ""}, "same series").status().error() ==
             "database_constraint");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
