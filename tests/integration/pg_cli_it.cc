// The worker's command line with PostgreSQL (issue 12), run as the real
// binary: --check-config names the engine and masks the password,
// --migrate-to moves a SQLite database into an empty PostgreSQL one (and
// refuses a filled one, exit 75, writing nothing), --backup refuses with
// database.url set, and a migrated database serves the stack's API.
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/store.h"
#include "tests/integration/stack.h"
#include "tests/pg_cluster.h"

namespace jobpulse::testing {
namespace {

struct Ran {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// bin/jobpulse-worker with `args`, in an environment of `env` alone (and PATH).
Ran RunWorkerBinary(const std::vector<std::string>& args,
                    const std::vector<std::pair<std::string, std::string>>& env) {
  int out[2];
  BOOST_TEST_REQUIRE(pipe(out) == 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(out[0]);
    close(out[1]);
    clearenv();
    setenv("PATH", "/usr/bin:/bin", 1);
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    const std::string bin = BinDir() + "/jobpulse-worker";
    std::vector<char*> argv{const_cast<char*>(bin.c_str())};
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  Ran ran;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) ran.output.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ran.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return ran;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

BOOST_AUTO_TEST_SUITE(worker_cli_postgresql)

BOOST_AUTO_TEST_CASE(check_config_names_the_engine_and_masks_the_password) {
  const Ran shown = RunWorkerBinary(
      {"--check-config"},
      {{"JOBPULSE_DATABASE_URL", "postgresql://app:TOPSECRET@db.example:5432/jobs"}});
  BOOST_TEST(shown.exit_code == 0);
  BOOST_TEST(Contains(shown.output, "\ndatabase engine: postgresql\n"), shown.output);
  BOOST_TEST(
      Contains(shown.output, "\ndatabase.url = postgresql://app:***@db.example:5432/jobs (env)\n"));
  BOOST_TEST(!Contains(shown.output, "TOPSECRET"));

  const Ran bad = RunWorkerBinary({"--check-config"},
                                  {{"JOBPULSE_DATABASE_URL", "mysql://app:TOPSECRET@db/jobs"}});
  BOOST_TEST(bad.exit_code == 78);
  BOOST_TEST(
      Contains(bad.output, "JOBPULSE_DATABASE_URL: must be a postgresql:// or postgres:// URL"),
      bad.output);
  BOOST_TEST(!Contains(bad.output, "TOPSECRET"));
}

BOOST_AUTO_TEST_CASE(migrate_to_copies_into_an_empty_database_once_and_backup_refuses) {
  PgCluster& cluster = SharedPgCluster();
  const std::string dbname = "cli_" + std::to_string(getpid());
  cluster.CreateDatabase(dbname);
  const std::string url = cluster.url(dbname);

  // A SQLite database with two jobs and their events.
  char dir_template[] = "/tmp/jobpulse_cli.XXXXXX";
  BOOST_TEST_REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string sqlite_path = std::string(dir_template) + "/jobs.db";
  int64_t events = 0;
  {
    auto store = Store::Open(sqlite_path);
    BOOST_TEST_REQUIRE(store.ok());
    for (const char* run : {"run-a", "run-b"}) {
      Observation obs;
      obs.provider = "replicate";
      obs.external_id = run;
      obs.provider_status = "processing";
      BOOST_TEST_REQUIRE((*store)->Apply(obs, PriceTable(), 1795860000000000).ok());
    }
    auto newest = (*store)->NewestEventId();
    BOOST_TEST_REQUIRE(newest.ok());
    events = *newest;
  }
  BOOST_TEST_REQUIRE(events >= 2);

  const Ran moved = RunWorkerBinary({"--migrate-to", url}, {{"JOBPULSE_DB", sqlite_path}});
  BOOST_TEST(moved.exit_code == 0, moved.output);
  BOOST_TEST(Contains(moved.output, "jobs: 2 copied"), moved.output);
  BOOST_TEST(Contains(moved.output, "events: " + std::to_string(events) + " copied"));

  auto pg = Store::Open(sqlite_path, url);
  BOOST_TEST_REQUIRE(pg.ok(), pg.status().ToString());
  auto found = (*pg)->FindByExternalId("replicate", "run-b");
  BOOST_TEST_REQUIRE(found.ok());
  BOOST_TEST_REQUIRE(found->has_value());
  BOOST_TEST(std::string(JobStatusName((*found)->status)) == "running");
  auto newest = (*pg)->NewestEventId();
  BOOST_TEST_REQUIRE(newest.ok());
  BOOST_TEST(*newest == events);

  // Again: the target holds data now; nothing is written.
  const Ran again = RunWorkerBinary({"--migrate-to", url}, {{"JOBPULSE_DB", sqlite_path}});
  BOOST_TEST(again.exit_code == 75, again.output);
  auto after = (*pg)->NewestEventId();
  BOOST_TEST_REQUIRE(after.ok());
  BOOST_TEST(*after == events);

  // The SQLite backup has nothing to copy on PostgreSQL.
  const Ran backup =
      RunWorkerBinary({"--backup", std::string(dir_template) + "/copy.db"},
                      {{"JOBPULSE_DB", sqlite_path}, {"JOBPULSE_DATABASE_URL", url}});
  BOOST_TEST(backup.exit_code == 64, backup.output);
  BOOST_TEST(Contains(backup.output, "pg_dump"));
  BOOST_TEST(access((std::string(dir_template) + "/copy.db").c_str(), F_OK) != 0);
  std::filesystem::remove_all(dir_template);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse::testing
