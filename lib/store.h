// The job store: the one database every process shares (SPEC §1, §3, §8),
// as the sum of its tables' interfaces, so that a caller needing only one
// table can take just that interface:
//   lib/job_store.h      jobs: reads, the merge's writes, the worker's queries, metrics
//   lib/event_log.h      the event log SSE clients follow
//   lib/webhook_inbox.h  stored webhook deliveries and their apply pass
//   lib/queue_store.h    the submission queue (SPEC §12)
//   lib/leases.h         named expiring locks across processes
//   lib/service_state.h  small shared records (poller status, circuits, sync, secret cache)
//   lib/counters.h       the operational counters every process adds to (metrics)
// Open() gives the SQLite engine (lib/sqlite_store.h) or, for a postgresql://
// URL, the PostgreSQL engine (lib/pg_store.h, issue 12); callers see no SQL
// and no engine type.
//
// Each process opens one Store and keeps it (handlers serve many requests,
// the worker runs for days).
//
// Errors: see each interface; Open's below.
// Thread-safety: a Store is one connection; use it from one thread at a time.
#ifndef JOBPULSE_LIB_STORE_H_
#define JOBPULSE_LIB_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "lib/counters.h"
#include "lib/event_log.h"
#include "lib/job_store.h"
#include "lib/leases.h"
#include "lib/queue_store.h"
#include "lib/service_state.h"
#include "lib/status.h"
#include "lib/webhook_inbox.h"

namespace jobpulse {

struct Config;

// Wake-ups from other processes and machines: PostgreSQL's LISTEN/NOTIFY on a
// connection of its own. The schema's triggers notify kEvents when events are
// appended and kWork when a delivery, a submission, a queue change or a
// watcher's demand is written, at commit, to every listener on every machine.
// Not copyable; closing it stops listening. One thread at a time.
enum class WakeChannel { kEvents, kWork };

class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  // Readable when a notification may have arrived: poll it, then Drain().
  virtual int fd() const = 0;
  // Reads what arrived without blocking; true when at least one notification
  // did. Errors: kUnavailable when the connection broke (open a new feed;
  // changes made meanwhile were not announced, so look once).
  virtual Result<bool> Drain() = 0;
};

class Store : public JobStore,
              public EventLog,
              public WebhookInbox,
              public Leases,
              public ServiceStateStore,
              public QueueStore,
              public CounterStore {
 public:
  // Opens the SQLite database at `path` (creating the file and its private
  // parent directory if needed) and brings its schema up to date.
  // Errors: kUnavailable "database_unavailable" when the file cannot be opened
  // or migrated, with the path and the cause.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  // With a non-empty `url` (postgresql:// or postgres://), connects to that
  // PostgreSQL database instead and brings its schema up to date; `path`
  // then only anchors this machine's sockets (path() returns it).
  // Errors: kUnavailable "database_unavailable" (the URL's password masked);
  // kInvalidArgument "invalid_database_url" for another scheme.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const std::string& url);
  // The configured database: database.url when set, else database.path.
  static Result<std::unique_ptr<Store>> Open(const Config& config);

  ~Store() override = default;

  // "sqlite" or "postgresql".
  virtual const char* engine() const = 0;

  // Where the database is (the worker's sockets live next to it). With
  // PostgreSQL, database.path: where this machine's sockets live.
  virtual const std::string& path() const = 0;

  // A cheap query proving the connection works.
  virtual Status Ping() = 0;

  // Bytes an unprivileged writer may still use on the database's file system
  // (statvfs); a full disk can still absorb small writes into WAL space
  // already allocated, so health looks at this too. Errors: kUnavailable.
  virtual Result<int64_t> FreeDiskBytes() = 0;

  // Changes whenever the database may have changed, by any process. Equal
  // values mean equal contents.
  virtual Result<std::string> ChangeVersion() = 0;

  // The write-ahead log after a checkpoint: frames in it, frames copied back
  // into the database file.
  struct WalState {
    int64_t frames = 0;
    int64_t checkpointed = 0;
  };
  // A RESTART checkpoint: copies the whole WAL back into the database file and
  // waits until no reader still uses the log, so that the next commit starts
  // it again from its beginning. It waits at most `max_wait_ms` for the writer
  // and the readers; other connections' commits wait while it does. The worker
  // runs one every 100 ms: under a steady stream of overlapping readers and
  // writers (a webhook flood) SQLite's own checkpoints never find a moment
  // without readers, and the log grew past 300 MB in 20 seconds, each commit
  // paying for a checkpoint of a few pages and its two fsyncs.
  // Failures: kBusy when the wait ran out (what could be copied without
  // waiting longer was copied) or another connection is checkpointing.
  virtual Result<WalState> Checkpoint(int max_wait_ms) = 0;

  // A feed of `channel`'s notifications, or nullptr when the engine has none
  // (SQLite: one machine, where the handlers' pokes and a short poll do).
  // Errors: kUnavailable when its connection cannot be opened.
  virtual Result<std::unique_ptr<ChangeFeed>> Listen(WakeChannel channel) = 0;

  // The workers' leadership: true while this connection leads, i.e. is the
  // one worker sharing the database that polls, runs the safety net, the
  // queue loop and the dispatcher's recovery. Cheap; call it every loop.
  // SQLite: always true (one machine, one worker). PostgreSQL: a session
  // advisory lock, taken when free and kept while the connection lives, so a
  // leader that dies (kill -9 included) frees it as soon as the server sees its
  // connection close. Errors: the connection's (then not leading).
  virtual Result<bool> TryLead() = 0;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_STORE_H_
