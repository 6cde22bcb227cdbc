// The poke: how a FastCGI handler tells the worker "look at the database now"
// (after every successful write request: a webhook delivery to apply, events
// to send; and when someone is watching a job). One byte over a
// unix datagram socket; only a hint, since the worker also polls the tables,
// so a lost poke only delays.
#ifndef JOBPULSE_LIB_NOTIFY_H_
#define JOBPULSE_LIB_NOTIFY_H_

#include <string>

#include "lib/status.h"

namespace jobpulse {

// Where the worker listens for pokes: "worker.poke" next to the database file
// (`database.path`), e.g. "var/jobpulse.db" -> "var/worker.poke". The handler
// and the worker derive it from the same setting, so nothing else has to be
// configured, and the socket lives where both already need write access. A
// path without a directory gives "worker.poke" (relative to the working
// directory, like the database itself). Unix socket paths are limited to 107
// bytes; past that Open fails and pokes are dropped (the worker still polls).
std::string WorkerPokeSocketPath(const std::string& database_path);

// Sends one byte to `socket_path` without blocking; a missing or busy worker
// (ENOENT, ECONNREFUSED, EAGAIN) is ignored. Never fails.
void PokeWorker(const std::string& socket_path);

// The worker's end: a non-blocking datagram socket bound at `socket_path`
// (mode 0600; a stale file is replaced). Not copyable; closes and unlinks on
// destruction.
class PokeListener {
 public:
  PokeListener() = default;
  ~PokeListener();
  PokeListener(const PokeListener&) = delete;
  PokeListener& operator=(const PokeListener&) = delete;

  Status Open(const std::string& socket_path);
  // The file descriptor to poll for readability; -1 before Open.
  int fd() const { return fd_; }
  // Reads every pending poke; true when there was at least one.
  bool Drain();

 private:
  int fd_ = -1;
  std::string path_;
  // The bound file's identity: the destructor unlinks `path_` only while it is
  // still our socket, not one a newer listener has put in its place.
  unsigned long long dev_ = 0;
  unsigned long long ino_ = 0;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_NOTIFY_H_
