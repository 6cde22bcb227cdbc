// Server-Sent Events for browsers (SPEC §8): HTTP/1.1 on a unix socket that
// nginx relays as /api/events. Boost.Asio/Beast stays inside sse_server.cc.
//
// The server owns one thread running a single-threaded io_context and its own
// Store connection (read-only use). It streams rows of the event log: it
// reads Store::EventsAfter at once after Notify() and, on SQLite, every
// `poll_interval_ms`; on PostgreSQL when the events channel's notification
// arrives (Store::Listen: appended on any machine), polling only while that
// feed is being reopened. So events written by any process (handlers, the
// worker, another machine's) reach every client.
//
// Per connection: "retry: 3000", a {"type":"connected"} message, then frames
// "id: <event id>\ndata: <json>\n\n" (no event: name), and a ": heartbeat"
// comment every heartbeat_seconds. Last-Event-ID (header, or ?last_event_id=)
// replays every retained event after that id, or sends one {"type":"reset"}
// message when that id is older than the retained log. Without it nothing is
// replayed. Limits: max_per_ip per client IP (from X-Real-IP, else the peer)
// and max_connections in all; over a limit the answer is 429 with a JSON body
// {"error":"too_many_connections",...} and Retry-After. A client that has more
// than max_backlog_bytes unsent is disconnected (it resumes with
// Last-Event-ID). A closed client frees its slot at once (an outstanding read
// notices EOF).
// With SseOptions::api_token set, a stream needs the token (SPEC §11, checked
// by lib/access.h HasValidCredentials); otherwise the answer is 401 JSON.
//
// Thread-safety: Start/Stop/Notify/stats may be called from any thread.
#ifndef JOBPULSE_LIB_SSE_SERVER_H_
#define JOBPULSE_LIB_SSE_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "lib/status.h"

namespace jobpulse {

struct SseOptions {
  std::string socket_path;      // unix socket to listen on (a stale file is replaced)
  unsigned socket_mode = 0600;  // its permissions: 0600, or 0660 for a web server in its group
  std::string database_path;    // the store to read events from: Store::Open's
  std::string database_url;     // path and url
  int max_connections = 1000;
  int max_per_ip = 5;
  int heartbeat_seconds = 15;
  size_t max_backlog_bytes = 256 * 1024;
  int retry_ms = 3000;
  int poll_interval_ms = 25;    // an indexed id > ? query: cheap enough at 40 Hz
  int retry_after_seconds = 5;  // sent with 429
  // SPEC §11: when set, a stream needs it (Authorization: Bearer, X-API-Key or
  // the session cookie, lib/access.h); otherwise 401 JSON with
  // WWW-Authenticate: Bearer.
  std::optional<std::string> api_token;
};

struct SseStats {
  int64_t clients = 0;        // open event streams
  int64_t rejected = 0;       // 429s so far
  int64_t dropped_slow = 0;   // clients cut off for falling behind
  int64_t last_event_id = 0;  // newest event id sent out
};

class SseServer {
 public:
  explicit SseServer(SseOptions options);
  ~SseServer();  // Stop()s
  SseServer(const SseServer&) = delete;
  SseServer& operator=(const SseServer&) = delete;

  // Binds the socket (mode 0600) and starts the thread. Errors: kUnavailable
  // when the socket cannot be bound or the store cannot be opened.
  Status Start();
  // New events may be in the log: look now instead of at the next poll.
  void Notify();
  // Closes the listener and every client, joins the thread. Idempotent.
  void Stop();
  SseStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_SSE_SERVER_H_
