// lib/pg_db.h against a real PostgreSQL server (a throwaway cluster,
// tests/pg_cluster.h): statements with parameters prepared once, NULLs and
// hostile text round-trip, transactions roll back unless committed, and the
// server's failures arrive as the Status the store's callers know.
#include "lib/pg_db.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/pg_cluster.h"

namespace jobpulse {
namespace {

using testing::SharedPgCluster;

std::unique_ptr<PgConnection> Connect() {
  auto db = PgConnection::Connect(SharedPgCluster().conninfo());
  BOOST_TEST_REQUIRE(db.ok(), db.status().ToString());
  return std::move(*db);
}

// A table of the test's own, created afresh.
std::unique_ptr<PgConnection> WithTable(const std::string& table) {
  auto db = Connect();
  BOOST_TEST_REQUIRE(db->Exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
                                  " (id text PRIMARY KEY, n bigint, x double precision, note text)",
                              "create table")
                         .ok());
  return db;
}

int64_t Count(PgConnection& db, const std::string& table) {
  auto rows = db.Query("SELECT count(*) FROM " + table, {}, "count");
  BOOST_TEST_REQUIRE(rows.ok(), rows.status().ToString());
  return rows->Int(0, 0);
}

BOOST_AUTO_TEST_SUITE(pg_db)

BOOST_AUTO_TEST_CASE(urls_lose_their_password_and_sqlstates_map_to_statuses) {
  BOOST_TEST(MaskDatabaseUrl("postgresql://app:s3cr%40t@db.example:5432/jobs?sslmode=require") ==
             "postgresql://app:***@db.example:5432/jobs?sslmode=require");
  BOOST_TEST(MaskDatabaseUrl("postgresql://app@db/jobs") == "postgresql://app@db/jobs");
  BOOST_TEST(MaskDatabaseUrl("postgresql://db/jobs") == "postgresql://db/jobs");
  BOOST_TEST(MaskDatabaseUrl("postgresql://db/a:b@c") == "postgresql://db/a:b@c");
  BOOST_TEST(MaskDatabaseUrl("host=db user=app") == "host=db user=app");
  BOOST_TEST(MaskDatabaseUrl("postgresql://u:p@ss@db/jobs") == "postgresql://u:***@db/jobs");
  BOOST_TEST(MaskDatabaseUrl("postgresql:///jobs?host=/run/pg&password=hunter2&user=app") ==
             "postgresql:///jobs?host=/run/pg&password=***&user=app");
  BOOST_TEST(MaskDatabaseUrl("postgres://db/jobs?password=hunter2") ==
             "postgres://db/jobs?password=***");
  BOOST_TEST(MaskDatabaseUrl("host=db password=hunter2 user=app") ==
             "host=db password=*** user=app");
  BOOST_TEST(MaskDatabaseUrl("host=db mypassword=x") == "host=db mypassword=x");
  BOOST_TEST(MaskDatabaseUrl("host=db password = 'a \\' b' user=app") ==
             "host=db password = *** user=app");
  BOOST_TEST(IsPostgresUrl("postgresql://db/jobs"));
  BOOST_TEST(IsPostgresUrl("postgres://db/jobs"));
  BOOST_TEST(!IsPostgresUrl("mysql://db/jobs"));
  BOOST_TEST(!IsPostgresUrl("host=db"));
  const auto code = [](const char* sqlstate) { return PgStatus(sqlstate, "m", "w").error(); };
  BOOST_TEST(code("40001") == "database_busy");
  BOOST_TEST(code("40P01") == "database_busy");
  BOOST_TEST(code("55P03") == "database_busy");
  BOOST_TEST(code("") == "database_unavailable");
  BOOST_TEST(code("08006") == "database_unavailable");
  BOOST_TEST(code("53100") == "database_unavailable");
  BOOST_TEST(code("57P01") == "database_unavailable");
  BOOST_TEST(code("23505") == "database_constraint");
  BOOST_TEST(code("42601") == "database_error");
  BOOST_TEST(PgStatus("42601", "syntax error", "list jobs").message() == "list jobs: syntax error");
}

BOOST_AUTO_TEST_CASE(text_postgresql_refuses_is_repaired_byte_by_byte) {
  const std::string fffd = "\xEF\xBF\xBD";
  BOOST_TEST(PgSafeText("plain \xc3\xa9 \xf0\x9f\x98\x80") == "plain \xc3\xa9 \xf0\x9f\x98\x80");
  BOOST_TEST(PgSafeText(std::string("a\0b", 3)) == "a" + fffd + "b");
  BOOST_TEST(PgSafeText("\xff\xfe") == fffd + fffd);
  BOOST_TEST(PgSafeText("\xc0\xaf") == fffd + fffd);                        // overlong '/'
  BOOST_TEST(PgSafeText("\xed\xa0\x80") == fffd + fffd + fffd);             // a surrogate
  BOOST_TEST(PgSafeText("\xf4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // past U+10FFFF
  BOOST_TEST(PgSafeText("cut \xe2\x82") == "cut " + fffd + fffd);
  BOOST_TEST(PgSafeText("") == "");
  // And through a statement: the server takes it.
  auto db = WithTable("t_hostile");
  const std::string hostile = std::string("log \0 line \xff\n", 13);
  BOOST_TEST_REQUIRE(
      db->Query("INSERT INTO t_hostile (id, note) VALUES ('h', $1)", {hostile}, "insert").ok());
  auto rows = db->Query("SELECT note FROM t_hostile", {}, "select");
  BOOST_TEST_REQUIRE(rows.ok());
  BOOST_TEST(rows->Text(0, 0) == "log " + fffd + " line " + fffd + "\n");
}

BOOST_AUTO_TEST_CASE(parameters_round_trip_and_statements_are_prepared_once) {
  auto db = WithTable("t_round_trip");
  const std::string hostile = "it's \"quoted\"; DROP TABLE t_round_trip; -- \xc3\xa9\n\t$1";
  const std::string insert = "INSERT INTO t_round_trip (id, n, x, note) VALUES ($1, $2, $3, $4)";
  const size_t before = db->prepared_count();
  for (int i = 0; i < 3; ++i) {
    auto done = db->Query(insert,
                          {"id-" + std::to_string(i), std::to_string((int64_t{1} << 40) + i),
                           "0.25", i == 1 ? PgParam() : PgParam(hostile)},
                          "insert");
    BOOST_TEST_REQUIRE(done.ok(), done.status().ToString());
    BOOST_TEST(done->affected() == 1);
  }
  BOOST_TEST(db->prepared_count() == before + 1);
  auto rows = db->Query("SELECT id, n, x, note FROM t_round_trip ORDER BY id", {}, "select");
  BOOST_TEST_REQUIRE(rows.ok(), rows.status().ToString());
  BOOST_TEST_REQUIRE(rows->size() == 3);
  BOOST_TEST(rows->Text(0, 0) == "id-0");
  BOOST_TEST(rows->Int(0, 1) == (int64_t{1} << 40));
  BOOST_TEST(rows->Real(2, 2) == 0.25);
  BOOST_TEST(rows->Text(0, 3) == hostile);
  BOOST_TEST(rows->IsNull(1, 3));
  BOOST_TEST(!rows->OptText(1, 3).has_value());
  BOOST_TEST(rows->Text(1, 3) == "");
  BOOST_TEST(!rows->OptInt(0, 0).has_value());  // "id-0" is not a number
  BOOST_TEST(rows->IsNull(5, 0));               // past the end: NULL, not a crash
  BOOST_TEST(Count(*db, "t_round_trip") == 3);
  auto updated = db->Query("UPDATE t_round_trip SET n = n + 1", {}, "update");
  BOOST_TEST_REQUIRE(updated.ok());
  BOOST_TEST(updated->affected() == 3);
}

BOOST_AUTO_TEST_CASE(a_transaction_rolls_back_unless_committed) {
  auto db = WithTable("t_txn");
  {
    PgConnection::Transaction txn(*db);
    BOOST_TEST_REQUIRE(txn.status().ok());
    BOOST_TEST(db->Query("INSERT INTO t_txn (id) VALUES ($1)", {"gone"}, "insert").ok());
  }
  BOOST_TEST(Count(*db, "t_txn") == 0);
  {
    PgConnection::Transaction txn(*db, PgConnection::Transaction::Isolation::kRepeatableRead);
    BOOST_TEST_REQUIRE(txn.status().ok());
    BOOST_TEST(db->Query("INSERT INTO t_txn (id) VALUES ($1)", {"kept"}, "insert").ok());
    BOOST_TEST(txn.Commit().ok());
  }
  BOOST_TEST(Count(*db, "t_txn") == 1);
  // A failed statement aborts the transaction: its commit says so.
  {
    PgConnection::Transaction txn(*db);
    BOOST_TEST(db->Query("INSERT INTO t_txn (id) VALUES ($1)", {"late"}, "insert").ok());
    auto dup = db->Query("INSERT INTO t_txn (id) VALUES ($1)", {"kept"}, "insert again");
    BOOST_TEST(dup.status().error() == "database_constraint");
    BOOST_TEST(dup.status().message().find("insert again: ") == 0u);
    const Status commit = txn.Commit();
    BOOST_TEST(commit.error() == "database_error");
  }
  BOOST_TEST(Count(*db, "t_txn") == 1);
}

BOOST_AUTO_TEST_CASE(a_lock_held_elsewhere_is_busy_and_bad_sql_is_an_error) {
  auto first = WithTable("t_locks");
  auto second = Connect();
  BOOST_TEST_REQUIRE(first->Query("INSERT INTO t_locks (id) VALUES ('r')", {}, "insert").ok());
  PgConnection::Transaction holder(*first);
  BOOST_TEST_REQUIRE(
      first->Query("SELECT id FROM t_locks WHERE id = 'r' FOR UPDATE", {}, "lock").ok());
  BOOST_TEST_REQUIRE(second->Exec("SET lock_timeout = '50ms'", "set").ok());
  const auto start = std::chrono::steady_clock::now();
  auto blocked = second->Query("UPDATE t_locks SET n = 1 WHERE id = 'r'", {}, "update");
  BOOST_TEST(blocked.status().error() == "database_busy");
  const bool quick = std::chrono::steady_clock::now() - start < std::chrono::seconds(5);
  BOOST_TEST(quick);
  BOOST_TEST(second->Query("SELEC 1", {}, "typo").status().error() == "database_error");
  // The connection is still usable after both failures.
  auto one = second->Query("SELECT $1::int + 1", {"41"}, "add");
  BOOST_TEST_REQUIRE(one.ok());
  BOOST_TEST(one->Int(0, 0) == 42);
}

BOOST_AUTO_TEST_CASE(no_server_is_unavailable_and_the_password_stays_out) {
  auto db = PgConnection::Connect("postgresql://app:hunter2-secret@" + SharedPgCluster().dir() +
                                  "-missing/jobs?connect_timeout=2");
  BOOST_TEST(!db.ok());
  BOOST_TEST(db.status().error() == "database_unavailable");
  BOOST_TEST(db.status().message().find("hunter2") == std::string::npos, db.status().message());
  auto refused = PgConnection::Connect(
      "host=127.0.0.1 port=1 user=app password=hunter2-secret "
      "dbname=jobs connect_timeout=2");
  BOOST_TEST(refused.status().error() == "database_unavailable");
  BOOST_TEST(refused.status().message().find("hunter2") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
