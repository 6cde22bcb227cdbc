// The webhook intake: a handler hands a verified delivery to the worker, which
// stores the deliveries of all handlers in one transaction (group commit) and
// answers each once its inbox row is committed (SPEC §7: durable before 200).
//
// Why: under a flood of deliveries every handler committed its own row, and
// four handlers plus the worker contending for SQLite's one write lock spent
// more CPU on lock retries, sleeps and per-commit page writes than on the
// deliveries (issue 14, B5). One writer committing batches does not contend.
//
// The intake is an optimisation, never a dependency: when no worker answers
// (not running, restarting, busy past the timeout) the handler stores the
// delivery itself, as before. A delivery the worker stored after the handler
// gave up is then found as a duplicate of its own webhook id, so none is lost
// and none is stored twice.
//
// Protocol, over a unix stream socket next to the database (0600): a request
// is a 4-byte length (host order) and that many bytes: a 2-byte id length, the
// webhook id, a 1-byte provider length, the provider, an 8-byte receipt time
// (Unix microseconds) and the body. The answer is one byte: 'I' stored, 'D' a
// duplicate, 'E' not stored (the handler stores it itself). Requests over
// kMaxIntakeFrameBytes or malformed close the connection.
#ifndef JOBPULSE_LIB_DELIVERY_INTAKE_H_
#define JOBPULSE_LIB_DELIVERY_INTAKE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "lib/status.h"

namespace jobpulse {

// Largest request accepted: the API's body limit is far smaller.
constexpr size_t kMaxIntakeFrameBytes = 64 * 1024 * 1024;

// "worker.intake" next to the database file (see WorkerPokeSocketPath).
std::string IntakeSocketPath(const std::string& database_path);

// The handler's end: one connection, kept across requests and reopened after
// any failure. Not thread-safe (a handler serves one request at a time).
class IntakeClient {
 public:
  explicit IntakeClient(std::string socket_path) : path_(std::move(socket_path)) {}
  ~IntakeClient();
  IntakeClient(const IntakeClient&) = delete;
  IntakeClient& operator=(const IntakeClient&) = delete;

  // Hands one delivery to the worker and waits at most `timeout_ms` for its
  // answer: true when it was stored, false when its webhook id was already
  // stored. Errors: kUnavailable when no answer came (no worker, a broken
  // connection, the timeout, an 'E' answer); the delivery may or may not be
  // stored, and the caller stores it itself. After any failure the worker is
  // not asked again for a second (answered kUnavailable at once), so a handler
  // without a working worker pays one failed attempt a second, not one a
  // request.
  Result<bool> Submit(std::string_view webhook_id, std::string_view provider, std::string_view body,
                      int64_t received_at, int timeout_ms, int64_t now);

 private:
  bool Connect(int64_t now);
  void Close();

  std::string path_;
  int fd_ = -1;
  int64_t retry_connect_at_ = 0;
};

// The worker's end: a thread with its own database connection that reads the
// requests of every connected handler, stores what it has in one transaction,
// answers, and then calls `on_stored` (the worker pokes its own loop, which
// applies the new deliveries). Stop() (or the destructor) ends the thread.
class IntakeServer {
 public:
  // `database_path` and `database_url` as Store::Open(path, url) takes them.
  IntakeServer(std::string socket_path, std::string database_path, std::string database_url,
               std::function<void()> on_stored);
  ~IntakeServer();
  IntakeServer(const IntakeServer&) = delete;
  IntakeServer& operator=(const IntakeServer&) = delete;

  // Binds the socket (a stale file is replaced), opens the database and
  // starts the thread. Errors: kUnavailable (the socket or the database).
  Status Start();
  void Stop();

  // Deliveries stored since Start (for tests and logs).
  int64_t stored() const { return stored_.load(); }

 private:
  struct State;
  struct Batch;
  void Run();
  // One transaction for the batch, then each handler's answer byte.
  void StoreAndAnswer(const Batch& batch);

  std::string socket_path_;
  std::string database_path_;
  std::string database_url_;
  std::function<void()> on_stored_;
  std::unique_ptr<State> state_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> stored_{0};
  int wake_[2] = {-1, -1};
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_DELIVERY_INTAKE_H_
