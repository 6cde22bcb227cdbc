// A throwaway PostgreSQL cluster for tests (issue 12): initdb into a fresh
// temporary directory, a server listening only on a unix socket in that
// directory (no TCP port to collide on), trust authentication for the
// `jobpulse` role, fsync off. The destructor stops it (immediate mode) and
// removes the directory; a watchdog process does the same when the test
// process dies without running it (a crash, SIGKILL, a time limit). As root the cluster runs as
// `nobody`, because the server refuses to run as root; otherwise as the calling user.
#ifndef JOBPULSE_TESTS_PG_CLUSTER_H_
#define JOBPULSE_TESTS_PG_CLUSTER_H_

#include <sys/types.h>

#include <string>

namespace jobpulse::testing {

class PgCluster {
 public:
  // Throws std::runtime_error with initdb's or pg_ctl's output when the
  // cluster cannot be made or started.
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // "host=<dir> port=5432 user=jobpulse dbname=<dbname>".
  std::string conninfo(const std::string& dbname = "postgres") const;
  // The same as a URL, what database.url takes:
  // "postgresql:///<dbname>?host=<dir>&port=5432&user=jobpulse".
  std::string url(const std::string& dbname) const;
  // CREATE DATABASE `name` (letters, digits and '_'); throws
  // std::runtime_error with the server's message when it fails.
  void CreateDatabase(const std::string& name) const;
  const std::string& dir() const { return dir_; }

  // The directory of initdb and pg_ctl (the newest /usr/lib/postgresql/N/bin),
  // or "" when PostgreSQL's server is not installed.
  static std::string BinDir();

 private:
  // Runs `command` (as `nobody` when root); returns its exit status and
  // appends its output to `*output`.
  int Run(const std::string& command, std::string* output) const;

  // Forks the watchdog (see pg_cluster.cc).
  void StartWatchdog();

  std::string bin_;
  std::string dir_;
  bool started_ = false;
  int watchdog_pipe_ = -1;  // the write end; closing it wakes the watchdog
  pid_t watchdog_ = -1;
};

// One cluster for the whole test binary, started on first use.
PgCluster& SharedPgCluster();

}  // namespace jobpulse::testing

#endif  // JOBPULSE_TESTS_PG_CLUSTER_H_
