// Unit tests for lib/sqlite_db.h against a real SQLite file: the scoped
// statement reset, the one-step transaction, error mapping, migrations.
#include "lib/sqlite_db.h"

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace jobpulse {
namespace {

namespace fs = std::filesystem;

const char* const kOneTable[] = {"CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER) STRICT;"};
const char* const kTwoSteps[] = {"CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER) STRICT;",
                                 "INSERT INTO t VALUES ('migrated', 2);"};

struct DbFixture {
  DbFixture() {
    std::string pattern = (fs::temp_directory_path() / "jobpulse_sqlite_db_test.XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    path = (dir / "db" / "t.db").string();
  }
  ~DbFixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::unique_ptr<SqliteDb> Open(std::span<const char* const> migrations) {
    auto db = SqliteDb::Open(path, migrations);
    BOOST_REQUIRE_MESSAGE(db.ok(), db.status().ToString());
    return std::move(db).value();
  }
  int64_t Count(SqliteDb& db) {
    auto n = db.QueryInt("SELECT count(*) FROM t", "count");
    BOOST_REQUIRE_MESSAGE(n.ok(), n.status().ToString());
    return *n;
  }
  fs::path dir;
  std::string path;
};

BOOST_AUTO_TEST_SUITE(sqlite_db)

BOOST_FIXTURE_TEST_CASE(a_query_left_mid_way_starts_over_next_time, DbFixture) {
  auto db = Open(kOneTable);
  const std::string sql = "SELECT 1 UNION ALL SELECT 2";
  {
    Query q = db->Prepare(sql);
    BOOST_REQUIRE(q.ok());
    auto row = q->Step("first");
    BOOST_REQUIRE(row.ok());
    BOOST_TEST(*row);
    BOOST_TEST(q->Int(0) == 1);
  }
  Query again = db->Prepare(sql);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(*again->Step("again"));
  BOOST_TEST(again->Int(0) == 1);
  BOOST_TEST(*again->Step("again"));
  BOOST_TEST(again->Int(0) == 2);
  BOOST_TEST(!*again->Step("again"));
}

BOOST_FIXTURE_TEST_CASE(bindings_do_not_leak_into_the_next_use, DbFixture) {
  auto db = Open(kOneTable);
  {
    Query q = db->Prepare("SELECT ?1 IS NULL, ?1");
    q->Bind(1, int64_t{7});
    BOOST_TEST(*q->Step("bound"));
    BOOST_TEST(q->Int(0) == 0);
    BOOST_TEST(q->Int(1) == 7);
  }
  Query q = db->Prepare("SELECT ?1 IS NULL, ?1");
  BOOST_TEST(*q->Step("unbound"));
  BOOST_TEST(q->Int(0) == 1);
  BOOST_TEST(!q->OptInt(1).has_value());
}

BOOST_FIXTURE_TEST_CASE(a_transaction_rolls_back_unless_committed, DbFixture) {
  auto db = Open(kOneTable);
  {
    SqliteDb::Transaction txn(*db, SqliteDb::Transaction::Mode::kImmediate);
    BOOST_REQUIRE(txn.status().ok());
    BOOST_REQUIRE(db->Exec("INSERT INTO t VALUES ('a', 1)").ok());
  }
  BOOST_TEST(Count(*db) == 0);
  {
    SqliteDb::Transaction txn(*db, SqliteDb::Transaction::Mode::kImmediate);
    BOOST_REQUIRE(txn.status().ok());
    BOOST_REQUIRE(db->Exec("INSERT INTO t VALUES ('a', 1)").ok());
    BOOST_REQUIRE(txn.Commit().ok());
  }
  BOOST_TEST(Count(*db) == 1);
}

BOOST_FIXTURE_TEST_CASE(a_read_snapshot_begins_while_another_connection_writes, DbFixture) {
  auto first = Open(kOneTable);
  auto second = Open(kOneTable);
  SqliteDb::Transaction holding(*first, SqliteDb::Transaction::Mode::kImmediate);
  BOOST_REQUIRE(holding.status().ok());
  // A deferred transaction is only a snapshot: it begins at once.
  SqliteDb::Transaction reading(*second, SqliteDb::Transaction::Mode::kDeferred);
  BOOST_TEST(reading.status().ok());
}

BOOST_FIXTURE_TEST_CASE(errors_are_mapped_by_kind, DbFixture) {
  auto db = Open(kOneTable);
  BOOST_REQUIRE(db->Exec("INSERT INTO t VALUES ('a', 1)").ok());
  Query dup = db->Prepare("INSERT INTO t VALUES ('a', 2)");
  BOOST_REQUIRE(dup.ok());
  const Status conflict = dup->Run("insert");
  BOOST_TEST((conflict.code() == Status::Code::kConflict));
  BOOST_TEST(conflict.error() == "database_constraint");
  BOOST_TEST(conflict.message().starts_with("insert: UNIQUE constraint failed"));

  Query bad = db->Prepare("SELEC nonsense");
  BOOST_TEST(!bad.ok());
  BOOST_TEST((bad.status().code() == Status::Code::kInternal));
  BOOST_TEST(bad.status().error() == "database_error");
  BOOST_TEST(bad.status().message().starts_with("prepare: "));

  auto none = db->QueryInt("SELECT v FROM t WHERE k = 'missing'", "missing value");
  BOOST_TEST(!none.ok());
  BOOST_TEST(none.status().message().starts_with("missing value: "));
}

BOOST_FIXTURE_TEST_CASE(changes_and_last_insert_id_follow_the_last_write, DbFixture) {
  auto db = Open(kOneTable);
  BOOST_REQUIRE(db->Exec("INSERT INTO t VALUES ('a', 1), ('b', 2), ('c', 3)").ok());
  BOOST_TEST(db->Changes() == 3);
  BOOST_TEST(db->LastInsertId() == 3);
  BOOST_REQUIRE(db->Exec("UPDATE t SET v = v + 1 WHERE v >= 2").ok());
  BOOST_TEST(db->Changes() == 2);
  auto before = db->ChangeVersion();
  BOOST_REQUIRE(before.ok());
  BOOST_REQUIRE(db->Exec("DELETE FROM t WHERE k = 'a'").ok());
  auto after = db->ChangeVersion();
  BOOST_REQUIRE(after.ok());
  BOOST_TEST(*before != *after);
}

BOOST_FIXTURE_TEST_CASE(migrations_apply_the_missing_steps_once, DbFixture) {
  {
    auto db = Open(kOneTable);
    BOOST_TEST(*db->QueryInt("PRAGMA user_version", "version") == 1);
    BOOST_TEST(Count(*db) == 0);
  }
  {
    auto db = Open(kTwoSteps);
    BOOST_TEST(*db->QueryInt("PRAGMA user_version", "version") == 2);
    BOOST_TEST(Count(*db) == 1);
  }
  auto db = Open(kTwoSteps);  // nothing left to apply: no second row
  BOOST_TEST(Count(*db) == 1);
}

BOOST_FIXTURE_TEST_CASE(a_newer_schema_is_refused, DbFixture) {
  { Open(kTwoSteps); }
  auto older = SqliteDb::Open(path, kOneTable);
  BOOST_REQUIRE(!older.ok());
  BOOST_TEST((older.status().code() == Status::Code::kUnavailable));
  BOOST_TEST(older.status().error() == "database_unavailable");
  BOOST_TEST(older.status().message() ==
             "cannot open database " + path +
                 ": schema version 2 is newer than this binary supports (1)");
}

BOOST_FIXTURE_TEST_CASE(a_checkpoint_copies_every_frame_back, DbFixture) {
  auto db = Open(kOneTable);
  BOOST_REQUIRE(db->Exec("INSERT INTO t VALUES ('a', 1)").ok());
  auto wal = db->Checkpoint(1000);
  BOOST_REQUIRE_MESSAGE(wal.ok(), wal.status().ToString());
  BOOST_TEST(wal->frames > 0);
  BOOST_TEST(wal->checkpointed == wal->frames);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
