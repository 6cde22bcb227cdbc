// jobpulse-worker: the long-running background process (lib/worker.h has the
// design). Thin: flags, configuration, signals.
//
//   jobpulse-worker                 run until SIGTERM/SIGINT (under supervisord)
//   jobpulse-worker --once          one poll cycle and one inbox pass (for cron)
//   jobpulse-worker --check-config  print the effective configuration and exit
//   jobpulse-worker --check-config=sh  the same as sh assignments to eval
//                                      (DescribeConfigForShell in lib/config.h)
//   jobpulse-worker --backup FILE   a consistent copy of the live database
//   jobpulse-worker --restore FILE  the database replaced by a copy (service stopped)
//   jobpulse-worker --migrate-to URL  the database's data copied into an empty
//                                     PostgreSQL database (lib/pg_migrate.h)
#include <signal.h>

#include <cstring>
#include <iostream>
#include <optional>
#include <string>

#include "lib/backup.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/notify.h"
#include "lib/pg_db.h"
#include "lib/pg_migrate.h"
#include "lib/worker.h"

namespace {

jobpulse::Worker* g_worker = nullptr;

void OnStopSignal(int) {
  if (g_worker) g_worker->RequestStop();
}

// --backup or --restore: one line on stdout saying what was copied.
int CopyDatabase(const std::string& db, const std::string& backup_to,
                 const std::string& restore_from) {
  const bool backup = !backup_to.empty();
  auto report = backup ? jobpulse::BackupDatabase(db, backup_to)
                       : jobpulse::RestoreDatabase(restore_from, db);
  if (!report.ok()) {
    jobpulse::LogError((backup ? "backup: " : "restore: ") + report.status().ToString());
    return report.status().code() == jobpulse::Status::Code::kConflict ? 75 : 1;  // EX_TEMPFAIL
  }
  std::cout << (backup ? "backup of " + db + " written to " + backup_to
                       : "restored " + db + " from " + restore_from)
            << ": " << report->bytes << " bytes, schema " << report->schema_version << ", "
            << report->jobs << " jobs, " << report->events << " events, " << report->queue_entries
            << " queue entries\n";
  return 0;
}

// --migrate-to: one line per table copied and a summary on stdout.
int MigrateDatabase(const std::string& db, const std::string& url) {
  auto report = jobpulse::MigrateSqliteToPostgres(db, url);
  if (!report.ok()) {
    jobpulse::LogError(report.status().ToString());
    return report.status().code() == jobpulse::Status::Code::kConflict ? 75 : 1;  // EX_TEMPFAIL
  }
  int64_t rows = 0;
  for (const auto& table : report->tables) {
    std::cout << table.name << ": " << table.rows << " copied\n";
    rows += table.rows;
  }
  std::cout << "migrated " << db << " (schema " << report->sqlite_schema_version << ") to "
            << jobpulse::MaskDatabaseUrl(url) << ": " << rows << " rows in " << report->seconds
            << " s; next event id " << report->next_event_id << "\n";
  return 0;
}

// The command line; nullopt (after the usage line) when it is not one.
struct Flags {
  bool once = false;
  bool check_config = false;
  bool check_config_sh = false;
  std::string backup_to;
  std::string restore_from;
  std::string migrate_to;
};

std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--backup") == 0 && i + 1 < argc) {
      f.backup_to = argv[++i];
    } else if (std::strcmp(argv[i], "--restore") == 0 && i + 1 < argc) {
      f.restore_from = argv[++i];
    } else if (std::strcmp(argv[i], "--migrate-to") == 0 && i + 1 < argc) {
      f.migrate_to = argv[++i];
    } else if (std::strcmp(argv[i], "--once") == 0) {
      f.once = true;
    } else if (std::strcmp(argv[i], "--check-config") == 0) {
      f.check_config = true;
    } else if (std::strcmp(argv[i], "--check-config=sh") == 0) {
      f.check_config_sh = true;
    } else {
      std::cerr << "usage: jobpulse-worker [--once | --check-config[=sh] | --backup FILE | "
                   "--restore FILE | --migrate-to URL]\n";
      return std::nullopt;
    }
  }
  return f;
}

// The worker itself, until a signal (or one cycle with --once).
int RunWorker(const jobpulse::Config& config, bool once) {
  jobpulse::WorkerOptions options;
  const std::string db = config.database_path.value;
  options.poke_socket = jobpulse::WorkerPokeSocketPath(db);
  options.events_socket = config.sse_socket_path.value.empty() ? jobpulse::DefaultEventsSocket(db)
                                                               : config.sse_socket_path.value;
  options.serve_events = !once;
  options.take_deliveries = !once;
  options.wait_for_database = !once;

  jobpulse::Worker worker(config, options);
  g_worker = &worker;
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (jobpulse::Status s = worker.Start(); !s.ok()) {
    jobpulse::LogError("cannot start: " + s.ToString());
    return 1;
  }
  if (once) {
    worker.RunOnce();
  } else {
    worker.Run();
  }
  g_worker = nullptr;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Flags> flags = ParseFlags(argc, argv);
  if (!flags) return 2;
  jobpulse::SetLogProgramName("jobpulse-worker");
  auto config = jobpulse::LoadConfig(jobpulse::ProcessEnv());
  if (!config.ok()) {
    jobpulse::LogError(config.status().message());
    return 78;  // EX_CONFIG
  }
  if (flags->check_config) {
    std::cout << jobpulse::DescribeConfig(*config);
    return 0;
  }
  if (flags->check_config_sh) {
    std::cout << jobpulse::DescribeConfigForShell(*config);
    return 0;
  }
  if (!flags->backup_to.empty() || !flags->restore_from.empty()) {
    return CopyDatabase(config->database_path.value, flags->backup_to, flags->restore_from);
  }
  if (!flags->migrate_to.empty()) {
    return MigrateDatabase(config->database_path.value, flags->migrate_to);
  }
  return RunWorker(*config, flags->once);
}
