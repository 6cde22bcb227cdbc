// The poke: how a FastCGI handler tells the worker "look at the database now"
// (a webhook delivery arrived, someone is watching a job). One byte over a
// unix datagram socket; only a hint, since the worker also polls the tables,
// so a lost poke only delays.
#ifndef JOBPULSE_LIB_NOTIFY_H_
#define JOBPULSE_LIB_NOTIFY_H_

#include <string>

#include "lib/status.h"

namespace jobpulse {

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
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_NOTIFY_H_
