#include "tests/bench/engine/engine.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/pg_cluster.h"

namespace jobpulse::bench {

Engine SelectedEngine() {
  const char* value = std::getenv("JOBPULSE_BENCH_ENGINE");
  const std::string name = value ? value : "";
  if (name.empty() || name == "sqlite") return Engine::kSqlite;
  if (name == "postgresql") return Engine::kPostgresql;
  std::fprintf(stderr, "JOBPULSE_BENCH_ENGINE=%s: expected sqlite or postgresql\n", name.c_str());
  std::exit(2);
}

Row ForEngine(Row row, Engine engine) {
  if (engine == Engine::kSqlite) return row;
  row.id += "-pg";
  row.what += "; on PostgreSQL (throwaway local cluster, fsync off)";
  row.report_only = true;
  return row;
}

BenchDatabase::BenchDatabase(Engine engine) {
  if (engine == Engine::kSqlite) return;
  cluster_ = std::make_unique<testing::PgCluster>();
  cluster_->CreateDatabase("jobpulse_bench");
  url_ = cluster_->url("jobpulse_bench");
}

// Out of line: PgCluster is complete only here.
BenchDatabase::~BenchDatabase() = default;

}  // namespace jobpulse::bench
