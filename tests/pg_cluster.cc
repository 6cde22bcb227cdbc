#include "tests/pg_cluster.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "lib/pg_db.h"

namespace jobpulse::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUnprivilegedUser = "nobody";

}  // namespace

std::string PgCluster::BinDir() {
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    const int version = std::atoi(name.c_str());
    if (version > best_version && fs::exists(entry.path() / "bin" / "initdb")) {
      best_version = version;
      best = (entry.path() / "bin").string();
    }
  }
  return best;
}

int PgCluster::Run(const std::string& command, std::string* output) const {
  // The paths are ours (mkdtemp, /usr/lib/postgresql): no quoting beyond this.
  const std::string full =
      (geteuid() == 0 ? std::string("runuser -u ") + kUnprivilegedUser + " -- " + command
                      : command) +
      " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output->append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

PgCluster::PgCluster() : bin_(BinDir()) {
  if (bin_.empty())
    throw std::runtime_error("PostgreSQL's server is not installed (make test-deps)");
  char tmpl[] = "/tmp/jobpulse-pg-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (geteuid() == 0) {
    const passwd* user = getpwnam(kUnprivilegedUser);
    if (!user || chown(dir_.c_str(), user->pw_uid, user->pw_gid) != 0) {
      fs::remove_all(dir_);
      throw std::runtime_error("cannot give " + dir_ + " to " + kUnprivilegedUser);
    }
  }
  std::string output;
  const std::string data = dir_ + "/data";
  if (Run(bin_ + "/initdb -D " + data + " -U jobpulse -A trust -E UTF8 --no-locale --no-sync",
          &output) != 0 ||
      Run(bin_ + "/pg_ctl -D " + data + " -l " + dir_ + "/server.log -w -t 30 -o \"-k " + dir_ +
              " -c listen_addresses='' -p 5432 -c fsync=off -c synchronous_commit=off"
              " -c full_page_writes=off\" start",
          &output) != 0) {
    std::string log;
    Run("cat " + dir_ + "/server.log", &log);
    fs::remove_all(dir_);
    throw std::runtime_error("PostgreSQL test cluster did not start:\n" + output + log);
  }
  started_ = true;
  StartWatchdog();
}

// A process that outlives nothing: it waits on a pipe whose only writer is
// this test process, and when the pipe closes (the cluster's destructor, or
// the test process dying any way at all, SIGKILL included) it stops the
// server and removes the directory. So a crashed or killed test run leaves
// no server behind.
void PgCluster::StartWatchdog() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;  // the destructor still stops it
  const std::string stop =
      (geteuid() == 0 ? std::string("runuser -u ") + kUnprivilegedUser + " -- " : std::string()) +
      bin_ + "/pg_ctl -D " + dir_ +
      "/data -m immediate -w stop >/dev/null 2>&1;"
      " rm -rf " +
      dir_;
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return;
  }
  if (pid == 0) {
    close(fds[1]);
    setsid();  // not in the test's process group: a signal to the group spares it
    // Nothing of the test's output: a runner reading it must not wait for us.
    const int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    char byte;
    while (read(fds[0], &byte, 1) != 0) {
    }
    execl("/bin/sh", "sh", "-c", stop.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[0]);
  watchdog_pipe_ = fds[1];
  watchdog_ = pid;
}

PgCluster::~PgCluster() {
  if (started_) {
    std::string output;
    Run(bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop", &output);
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (watchdog_pipe_ >= 0) close(watchdog_pipe_);  // the watchdog finds nothing left to do
  if (watchdog_ > 0) waitpid(watchdog_, nullptr, 0);
}

std::string PgCluster::conninfo(const std::string& dbname) const {
  return "host=" + dir_ + " port=5432 user=jobpulse dbname=" + dbname;
}

std::string PgCluster::url(const std::string& dbname) const {
  return "postgresql:///" + dbname + "?host=" + dir_ + "&port=5432&user=jobpulse";
}

void PgCluster::CreateDatabase(const std::string& name) const {
  auto admin = PgConnection::Connect(conninfo());
  if (!admin.ok())
    throw std::runtime_error("connect to the test cluster: " + admin.status().ToString());
  const Status made = (*admin)->Exec("CREATE DATABASE " + name, "create database");
  if (!made.ok()) throw std::runtime_error("CREATE DATABASE " + name + ": " + made.ToString());
}

PgCluster& SharedPgCluster() {
  static std::unique_ptr<PgCluster> cluster = std::make_unique<PgCluster>();
  return *cluster;
}

}  // namespace jobpulse::testing
