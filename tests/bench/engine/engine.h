// Which database engine a bench program measures (issue 12). SQLite, the
// embedded default, unless $JOBPULSE_BENCH_ENGINE is "postgresql"
// (tests/bench/run sets it on its second pass over B1, B5 and B6): then the
// program starts a throwaway PostgreSQL cluster (tests/pg_cluster.h: a unix
// socket in a temporary directory, fsync off), creates one database and gives
// its URL to the Stack, and its rows get a "-pg" suffix.
//
// The PostgreSQL rows are report only (tests/bench/report): SPEC §10's
// targets were set for the embedded default, and a cluster on the same two
// cores with fsync off is neither a real server's durability nor its load, so
// no target is claimed for it. The summary prints them next to SQLite's.
#ifndef JOBPULSE_TESTS_BENCH_ENGINE_ENGINE_H_
#define JOBPULSE_TESTS_BENCH_ENGINE_ENGINE_H_

#include <memory>
#include <string>

#include "tests/bench/report/report.h"

namespace jobpulse::testing {
class PgCluster;
}

namespace jobpulse::bench {

enum class Engine { kSqlite, kPostgresql };

// $JOBPULSE_BENCH_ENGINE: unset, "" or "sqlite" is SQLite, "postgresql" is
// PostgreSQL; anything else ends the program with status 2 and a message,
// since measuring the wrong engine under the right name would be worse.
Engine SelectedEngine();

// `row` as `engine` reports it: unchanged on SQLite; on PostgreSQL its id gets
// "-pg", its text says which engine, and it is report only.
Row ForEngine(Row row, Engine engine);

// A bench stack's database: nothing of its own on SQLite (the stack's file);
// on PostgreSQL a cluster with one database, stopped and removed with this
// object (so declare it before the Stack that uses it).
class BenchDatabase {
 public:
  // Throws std::runtime_error when the cluster does not start.
  explicit BenchDatabase(Engine engine);
  ~BenchDatabase();
  BenchDatabase(const BenchDatabase&) = delete;
  BenchDatabase& operator=(const BenchDatabase&) = delete;

  // StackOptions::database_url: "" on SQLite.
  const std::string& url() const { return url_; }

 private:
  std::unique_ptr<testing::PgCluster> cluster_;
  std::string url_;
};

}  // namespace jobpulse::bench

#endif  // JOBPULSE_TESTS_BENCH_ENGINE_ENGINE_H_
