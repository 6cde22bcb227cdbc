// The store engines a suite runs against, one after the other (issue 12: one
// suite, two backends): SQLite in a fresh file, PostgreSQL in a fresh
// database of the shared throwaway cluster (tests/pg_cluster.h). A case
// written as
//   BOOST_DATA_TEST_CASE(name, kEngines, engine) { EngineStore db(engine); ... }
// runs once per engine, its log naming the engine.
//
// Both engines are whole Stores: store() reaches every interface, and the
// accessors below name the one a case is about. Exec and QueryText run raw
// SQL that both dialects accept, on a connection of their own, for the
// states and checks the interfaces do not reach.
#ifndef JOBPULSE_TESTS_ENGINE_FIXTURE_H_
#define JOBPULSE_TESTS_ENGINE_FIXTURE_H_

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <ostream>
#include <string>

#include "lib/counters.h"
#include "lib/event_log.h"
#include "lib/job_store.h"
#include "lib/leases.h"
#include "lib/pg_store.h"
#include "lib/queue_store.h"
#include "lib/service_state.h"
#include "lib/store.h"
#include "lib/webhook_inbox.h"

namespace jobpulse::testing {

enum class Engine { kSqlite, kPostgres };

inline std::ostream& operator<<(std::ostream& out, Engine engine) {
  return out << (engine == Engine::kSqlite ? "sqlite" : "postgresql");
}

inline const auto kEngines = boost::unit_test::data::make({Engine::kSqlite, Engine::kPostgres});

// A database of its own in the shared cluster (created now): its conninfo.
std::string FreshPgDatabase();

class EngineStore {
 public:
  explicit EngineStore(Engine engine);
  ~EngineStore();
  EngineStore(const EngineStore&) = delete;
  EngineStore& operator=(const EngineStore&) = delete;

  // A second connection to the same database (another process's view).
  EngineStore Another() const;

  ServiceStateStore& state();
  Leases& leases();
  CounterStore& counters();
  EventLog& events();
  JobStore& jobs();
  WebhookInbox& inbox();
  QueueStore& queue();
  Store& store();

  // Runs `sql` (fails the case on an error).
  void Exec(const std::string& sql);
  // The first column of the first row as text ("" for none or NULL).
  std::string QueryText(const std::string& sql);

 private:
  EngineStore(Engine engine, std::string where);
  void Open();

  Engine engine_;
  std::string where_;     // the SQLite file, or the PostgreSQL conninfo
  std::string temp_dir_;  // SQLite's directory, removed by the first owner
  bool owns_ = false;
  std::unique_ptr<Store> sqlite_;
  std::unique_ptr<PgStore> pg_;
};

}  // namespace jobpulse::testing

#endif  // JOBPULSE_TESTS_ENGINE_FIXTURE_H_
