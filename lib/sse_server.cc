// SSE server: plain Asio on a unix socket with a hand-written HTTP/1.1
// request-head parser (we only ever need the request line and two headers, so
// Beast's parser and its per-connection buffers would cost memory for nothing).
//
// Everything below Impl's "io thread only" line runs on the one io thread, so
// none of it needs locks. Memory per idle stream is the socket, one Conn and
// its small frame queue; event frames are built once per poll and shared by
// every client through shared_ptr<const std::string>.
//
// What a request head admits and what the frames look like is
// lib/sse_protocol.h's; this file moves bytes and keeps the clients.
//
// Size: ~660 lines, over the house's 500, because Impl is one state machine on
// one thread (accept, head, stream, replay, fan-out, slow-client cut,
// heartbeat, the PostgreSQL events feed, shutdown) over one set of
// connections and counters; split across files, each part would need the
// whole of it.
#include "lib/sse_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

// clang-format off
// <utility> must come before the Asio headers: with GCC 12, Boost 1.74's Asio
// uses std::exchange without including it (asio#944).
#include <utility>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
// clang-format on

#include "lib/access.h"
#include "lib/http.h"
#include "lib/json_writer.h"
#include "lib/log.h"
#include "lib/private_files.h"
#include "lib/sse_protocol.h"
#include "lib/store.h"

namespace jobpulse {
namespace {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;
using Frame = std::shared_ptr<const std::string>;
using ErrorCode = boost::system::error_code;

constexpr size_t kMaxHeadBytes = 16 * 1024;
constexpr size_t kHeadReadChunk = 1024;
constexpr auto kHeadTimeout = std::chrono::seconds(10);
constexpr int kReplayBatch = 500;
constexpr int kLiveBatch = 1000;
// Live batches read per poll before yielding the io thread to other work.
constexpr int kLiveBatchesPerPoll = 8;
// Frames handed to one writev; Asio caps an iovec list at 64 anyway.
constexpr size_t kMaxWriteBuffers = 32;
// A queue vector grown by a burst is given back once it drains, so an idle
// client does not keep a burst-sized array.
constexpr size_t kKeepQueueCapacity = 16;
const char kHeartbeat[] = ": heartbeat\n\n";

Status Unavailable(std::string message) {
  return Status::Error(Status::Code::kUnavailable, "sse_unavailable", std::move(message));
}

}  // namespace

struct SseServer::Impl {
  // One accepted socket: first reading its request head, then (if it is an
  // accepted stream) an event stream until either side closes.
  struct Conn : std::enable_shared_from_this<Conn> {
    explicit Conn(asio::io_context& io) : socket(io) {}
    Local::socket socket;
    std::string head;  // the request head while it is read; empty afterwards
    std::unique_ptr<asio::steady_timer> head_timer;
    std::string ip;  // the per-IP slot this stream holds
    bool streaming = false;
    bool live = false;  // false while Last-Event-ID replay is catching up
    bool writing = false;
    bool closed = false;
    int64_t cursor = 0;  // newest event id queued for this client
    // Frames not yet fully written: queue[queue_head..], the first one from
    // byte `offset`. `unsent` counts those bytes.
    std::vector<Frame> queue;
    size_t queue_head = 0;
    size_t offset = 0;
    size_t unsent = 0;
    // Slow-client check (see CheckSlowClients): bytes unsent at the last
    // poll tick and bytes written since.
    size_t unsent_at_tick = 0;
    size_t sent_since_tick = 0;
    std::array<char, 16> sink;  // the EOF-watching read discards into this
  };
  using ConnPtr = std::shared_ptr<Conn>;

  explicit Impl(SseOptions o) : options(std::move(o)) {}

  const SseOptions options;
  std::atomic<int64_t> clients{0};
  std::atomic<int64_t> rejected{0};
  std::atomic<int64_t> dropped_slow{0};
  std::atomic<int64_t> last_event_id{0};
  std::atomic<bool> notify_pending{false};

  std::mutex lifecycle_mu;  // serializes Start and Stop
  bool running = false;
  std::unique_ptr<asio::io_context> io;
  std::thread thread;

  // ---- io thread only (set up by Start before the thread exists) ----
  std::unique_ptr<Store> store;
  std::unique_ptr<Local::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> poll_timer;
  std::unique_ptr<asio::steady_timer> heartbeat_timer;
  std::unique_ptr<asio::steady_timer> accept_retry_timer;
  // PostgreSQL: the events channel (Store::Listen) and the wait on its
  // socket, which libpq owns (released, never closed, by us).
  std::unique_ptr<ChangeFeed> feed;
  std::unique_ptr<asio::posix::stream_descriptor> feed_wait;
  std::chrono::steady_clock::time_point feed_retry_at;
  Frame heartbeat = std::make_shared<const std::string>(kHeartbeat);
  bool stopping = false;
  bool store_failing = false;
  int64_t newest = 0;                 // newest event id fanned out
  std::unordered_set<ConnPtr> conns;  // every open socket, so Stop can close them
  std::unordered_map<std::string, int> per_ip;
  int64_t streams = 0;

  void Accept() {
    auto conn = std::make_shared<Conn>(*io);
    acceptor->async_accept(conn->socket, [this, conn](const ErrorCode& ec) {
      if (stopping || ec == asio::error::operation_aborted) return;
      if (ec) {
        // Typically EMFILE: retrying at once would spin, so back off a little.
        LogWarning("sse: accept failed: " + ec.message());
        accept_retry_timer->expires_after(std::chrono::milliseconds(100));
        accept_retry_timer->async_wait([this](const ErrorCode& e) {
          if (!e && !stopping) Accept();
        });
        return;
      }
      conns.insert(conn);
      conn->head_timer = std::make_unique<asio::steady_timer>(*io, kHeadTimeout);
      conn->head_timer->async_wait([this, conn](const ErrorCode& e) {
        if (!e && !conn->streaming) Close(conn);
      });
      ReadHead(conn);
      Accept();
    });
  }

  void ReadHead(const ConnPtr& conn) {
    const size_t old_size = conn->head.size();
    conn->head.resize(std::min(old_size + kHeadReadChunk, kMaxHeadBytes));
    conn->socket.async_read_some(
        asio::buffer(conn->head.data() + old_size, conn->head.size() - old_size),
        [this, conn, old_size](const ErrorCode& ec, size_t n) {
          if (conn->closed) return;
          if (ec) return Close(conn);
          conn->head.resize(old_size + n);
          const size_t from = old_size >= 3 ? old_size - 3 : 0;
          size_t end = conn->head.find("\r\n\r\n", from);
          if (end == std::string::npos) end = conn->head.find("\n\n", from);
          if (end != std::string::npos) return OnHead(conn, end);
          if (conn->head.size() >= kMaxHeadBytes) {
            HttpResponse too_large = ErrorResponse(Status::Error(
                Status::Code::kTooLarge, "request_too_large", "Request head over 16 KiB"));
            too_large.status = 431;  // the head, not a body, is too large
            return Reply(conn, ClosingReply(too_large));
          }
          ReadHead(conn);
        });
  }

  void OnHead(const ConnPtr& conn, size_t head_end) {
    conn->head_timer.reset();  // cancels the timeout
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    auto admitted =
        AdmitStream(std::string_view(conn->head).substr(0, head_end), options.api_token, now);
    if (auto* refusal = std::get_if<std::string>(&admitted)) {
      return Reply(conn, std::move(*refusal));
    }
    StreamRequest& request = std::get<StreamRequest>(admitted);
    conn->head.clear();
    conn->head.shrink_to_fit();
    BeginStream(conn, std::move(request.ip), request.resume);
  }

  // Writes a whole non-stream response, then closes.
  void Reply(const ConnPtr& conn, std::string response) {
    conn->head_timer.reset();
    auto body = std::make_shared<const std::string>(std::move(response));
    asio::async_write(conn->socket, asio::buffer(*body),
                      [this, conn, body](const ErrorCode&, size_t) { Close(conn); });
  }

  void BeginStream(const ConnPtr& conn, std::string ip, std::optional<int64_t> resume) {
    // Read the log first so `newest` is current: a client without
    // Last-Event-ID then starts after every event committed before it came.
    Poll();
    if (streams >= options.max_connections || per_ip[ip] >= options.max_per_ip) {
      if (per_ip[ip] == 0) per_ip.erase(ip);
      rejected.fetch_add(1);
      return Reply(conn, ClosingReply(ErrorResponse(
                             Status::Error(Status::Code::kRateLimited, "too_many_connections",
                                           streams >= options.max_connections
                                               ? "Too many event streams are open; retry later"
                                               : "Too many event streams from this address; "
                                                 "retry later")
                                 .set_retry_after_seconds(options.retry_after_seconds))));
    }
    ++per_ip[ip];
    conn->ip = std::move(ip);
    conn->streaming = true;
    clients.store(++streams);

    std::string start =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "X-Accel-Buffering: no\r\nConnection: keep-alive\r\n\r\nretry: " +
        std::to_string(options.retry_ms) + "\n\n" + TypeMessage("connected", newest);
    conn->cursor = newest;
    conn->live = true;
    if (resume) {
      auto oldest = store->OldestEventId();
      if (!oldest.ok()) {
        LogWarning("sse: " + oldest.status().ToString());
        return Close(conn);  // it reconnects with the same id
      }
      // An id past the newest one (log non-empty) comes from another
      // database: the client's view cannot be patched either.
      if (*oldest > 0 && (*resume < *oldest - 1 || *resume > newest)) {
        start += TypeMessage("reset", std::nullopt);
      } else if (*resume < newest) {
        conn->cursor = *resume;
        conn->live = false;
      }
    }
    Enqueue(*conn, std::make_shared<const std::string>(std::move(start)));
    if (!conn->live) Replay(conn);
    Flush(conn);
    WatchForEof(conn);
  }

  // Queues Last-Event-ID catch-up frames up to `newest`, half a backlog at a
  // time (the next part is read when the queue drains), so a long replay
  // neither trips the slow-client check nor holds much memory.
  void Replay(const ConnPtr& conn) {
    while (!conn->live && conn->unsent < ReplayChunk()) {
      auto events = store->EventsAfter(conn->cursor, kReplayBatch);
      if (!events.ok()) {
        LogWarning("sse: replay: " + events.status().ToString());
        return Close(conn);
      }
      bool done = events->size() < static_cast<size_t>(kReplayBatch);
      for (const Event& e : *events) {
        if (e.id > newest) {
          done = true;  // the live fan-out delivers the rest
          break;
        }
        if (conn->unsent >= ReplayChunk()) {
          done = false;
          break;
        }
        Enqueue(*conn, std::make_shared<const std::string>(EventFrame(e.id, e.data)));
        conn->cursor = e.id;
      }
      if (done) {
        conn->cursor = newest;
        conn->live = true;
      }
    }
  }

  size_t ReplayChunk() const { return std::max<size_t>(1, options.max_backlog_bytes / 2); }

  // Keeps one read outstanding so a client that goes away frees its slot at
  // once, not at the next write. Whatever a client sends is discarded.
  void WatchForEof(const ConnPtr& conn) {
    conn->socket.async_read_some(asio::buffer(conn->sink),
                                 [this, conn](const ErrorCode& ec, size_t) {
                                   if (conn->closed) return;
                                   if (ec) return Close(conn);
                                   WatchForEof(conn);
                                 });
  }

  static void Enqueue(Conn& conn, Frame frame) {
    conn.unsent += frame->size();
    conn.queue.push_back(std::move(frame));
  }

  void Flush(const ConnPtr& conn) {
    if (conn->writing || conn->closed || conn->queue_head == conn->queue.size()) return;
    // A buffer sequence over the first frames of the queue, without
    // allocating: writev takes as many as the socket accepts.
    struct Buffers {
      std::array<asio::const_buffer, kMaxWriteBuffers> items;
      size_t count = 0;
      const asio::const_buffer* begin() const { return items.data(); }
      const asio::const_buffer* end() const { return items.data() + count; }
    } buffers;
    for (size_t i = conn->queue_head; i < conn->queue.size() && buffers.count < kMaxWriteBuffers;
         ++i) {
      const std::string& frame = *conn->queue[i];
      const size_t skip = i == conn->queue_head ? conn->offset : 0;
      buffers.items[buffers.count++] = asio::buffer(frame.data() + skip, frame.size() - skip);
    }
    conn->writing = true;
    conn->socket.async_write_some(buffers, [this, conn](const ErrorCode& ec, size_t n) {
      conn->writing = false;
      if (conn->closed) return;
      if (ec) return Close(conn);
      Consume(*conn, n);
      if (!conn->live && conn->queue_head == conn->queue.size()) Replay(conn);
      Flush(conn);
    });
  }

  static void Consume(Conn& conn, size_t n) {
    conn.unsent -= n;
    conn.sent_since_tick += n;
    while (n > 0) {
      const size_t left = conn.queue[conn.queue_head]->size() - conn.offset;
      if (n < left) {
        conn.offset += n;
        break;
      }
      n -= left;
      conn.offset = 0;
      conn.queue[conn.queue_head++].reset();
    }
    if (conn.queue_head == conn.queue.size()) {
      conn.queue.clear();
      conn.queue_head = 0;
      if (conn.queue.capacity() > kKeepQueueCapacity) conn.queue.shrink_to_fit();
    } else if (conn.queue_head > 64 && conn.queue_head * 2 > conn.queue.size()) {
      conn.queue.erase(conn.queue.begin(), conn.queue.begin() + conn.queue_head);
      conn.queue_head = 0;
    }
  }

  void Close(ConnPtr conn) {
    if (conn->closed) return;
    conn->closed = true;
    ErrorCode ignored;
    conn->socket.close(ignored);  // cancels the outstanding read and write
    conn->head_timer.reset();
    conn->queue.clear();
    conn->queue.shrink_to_fit();
    conn->unsent = 0;
    if (conn->streaming) {
      auto it = per_ip.find(conn->ip);
      if (it != per_ip.end() && --it->second <= 0) per_ip.erase(it);
      clients.store(--streams);
    }
    conns.erase(conn);
  }

  // Reads new rows once for everybody and fans their frames out to the live
  // streams. A replaying stream is left alone; it catches up by itself.
  void Poll() {
    if (stopping) return;
    for (int batch = 0; batch < kLiveBatchesPerPoll; ++batch) {
      auto events = store->EventsAfter(newest, kLiveBatch);
      if (!events.ok()) {
        if (!store_failing) LogWarning("sse: reading events: " + events.status().ToString());
        store_failing = true;
        return;
      }
      if (store_failing) LogInfo("sse: reading events works again");
      store_failing = false;
      if (events->empty()) return;
      std::vector<std::pair<int64_t, Frame>> frames;
      frames.reserve(events->size());
      for (const Event& e : *events) {
        frames.emplace_back(e.id, std::make_shared<const std::string>(EventFrame(e.id, e.data)));
      }
      newest = frames.back().first;
      last_event_id.store(newest);
      for (const ConnPtr& conn : conns) {
        if (!conn->streaming || !conn->live) continue;
        for (const auto& [id, frame] : frames) {
          if (id > conn->cursor) Enqueue(*conn, frame);
        }
        conn->cursor = newest;
        Flush(conn);
      }
      if (events->size() < static_cast<size_t>(kLiveBatch)) return;
    }
    PostPoll();  // more than a poll's worth is waiting: continue after other handlers
  }

  void PostPoll() {
    if (notify_pending.exchange(true)) return;
    asio::post(*io, [this] {
      notify_pending.store(false);
      Poll();
    });
  }

  // A client is cut off when more than max_backlog_bytes of what it was
  // already owing at the previous tick are still unsent. Judging only data
  // older than one tick lets a reading client absorb any burst (one poll can
  // queue far more than the limit to everyone at once), while one that stopped
  // reading goes within two ticks of passing the limit.
  void CheckSlowClients() {
    std::vector<ConnPtr> slow;
    for (const ConnPtr& conn : conns) {
      if (!conn->streaming) continue;
      const size_t stale = conn->unsent_at_tick > conn->sent_since_tick
                               ? conn->unsent_at_tick - conn->sent_since_tick
                               : 0;
      if (stale > options.max_backlog_bytes) {
        slow.push_back(conn);
      } else {
        conn->unsent_at_tick = conn->unsent;
        conn->sent_since_tick = 0;
      }
    }
    for (ConnPtr& conn : slow) {
      LogInfo("sse: dropping a slow client (" + conn->ip + ", " + std::to_string(conn->unsent) +
              " bytes unsent)");
      Close(std::move(conn));
      // Counted after the close: whoever reads stats() from another thread and
      // sees the drop also sees the client gone from `clients`.
      dropped_slow.fetch_add(1);
    }
  }

  // The tick judges slow clients, and reads the log unless a feed says when
  // to: without one (SQLite; a PostgreSQL feed being reopened) it polls.
  void SchedulePollTick() {
    poll_timer->expires_after(std::chrono::milliseconds(std::max(1, options.poll_interval_ms)));
    poll_timer->async_wait([this](const ErrorCode& ec) {
      if (ec || stopping) return;
      CheckSlowClients();
      if (!feed) {
        Poll();
        if (std::string_view(store->engine()) != "sqlite") OpenFeed();
      }
      SchedulePollTick();
    });
  }

  // At most once a second; a failure leaves the tick polling meanwhile.
  void OpenFeed() {
    const auto now = std::chrono::steady_clock::now();
    if (now < feed_retry_at) return;
    feed_retry_at = now + std::chrono::seconds(1);
    auto opened = store->Listen(WakeChannel::kEvents);
    if (!opened.ok()) {
      LogWarning("sse: event wake-ups: " + opened.status().ToString());
      return;
    }
    if (!*opened) return;
    feed = std::move(*opened);
    feed_wait = std::make_unique<asio::posix::stream_descriptor>(*io, feed->fd());
    WaitForFeed();
    Poll();  // what was appended before the LISTEN
  }

  void WaitForFeed() {
    feed_wait->async_wait(asio::posix::stream_descriptor::wait_read, [this](const ErrorCode& ec) {
      if (ec || stopping) return;
      auto arrived = feed->Drain();
      if (!arrived.ok()) {
        LogWarning("sse: event wake-ups: " + arrived.status().ToString());
        CloseFeed();
        Poll();
        return;
      }
      if (*arrived) Poll();
      WaitForFeed();
    });
  }

  void CloseFeed() {
    if (feed_wait) {
      ErrorCode ignored;
      feed_wait->cancel(ignored);
      feed_wait->release();
      feed_wait.reset();
    }
    feed.reset();
  }

  void ScheduleHeartbeat() {
    heartbeat_timer->expires_after(std::chrono::seconds(std::max(1, options.heartbeat_seconds)));
    heartbeat_timer->async_wait([this](const ErrorCode& ec) {
      if (ec || stopping) return;
      for (const ConnPtr& conn : conns) {
        if (!conn->streaming) continue;
        Enqueue(*conn, heartbeat);
        Flush(conn);
      }
      ScheduleHeartbeat();
    });
  }

  void Shutdown() {
    stopping = true;
    ErrorCode ignored;
    acceptor->close(ignored);
    poll_timer->cancel();
    heartbeat_timer->cancel();
    accept_retry_timer->cancel();
    CloseFeed();
    std::vector<ConnPtr> all(conns.begin(), conns.end());
    for (ConnPtr& conn : all) Close(std::move(conn));
  }
};

namespace {

// Binds and listens on the unix socket `path` (`mode` set before anyone can
// connect), replacing a stale socket file but never a live server's.
Status ListenOn(asio::io_context& io, const std::string& path, unsigned mode,
                Local::acceptor& acceptor) {
  ErrorCode ec;
  {
    // Only a socket nobody answers on is stale; a live server keeps its own.
    Local::socket probe(io);
    probe.connect(Local::endpoint(path), ec);
    if (!ec) return Unavailable("sse: another process is serving " + path);
  }
  if (Status s = RemoveStaleSocket(path, "sse_unavailable"); !s.ok()) {
    return Unavailable("sse: " + s.message());
  }
  const Local::endpoint endpoint(path);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (ec) return Unavailable("sse: cannot bind " + path + ": " + ec.message());
  // chmod before listen(): until then nobody can connect, so no client ever
  // sees looser permissions.
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(path.c_str());
    return Unavailable("sse: cannot chmod " + path + ": " + why);
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::unlink(path.c_str());
    return Unavailable("sse: cannot listen on " + path + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

SseServer::SseServer(SseOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

SseServer::~SseServer() { Stop(); }

Status SseServer::Start() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.lifecycle_mu);
  if (m.running) return Status::Ok();
  const std::string& path = m.options.socket_path;
  if (path.empty()) return Unavailable("sse: no socket path configured");

  auto store = Store::Open(m.options.database_path, m.options.database_url);
  if (!store.ok()) return Unavailable("sse: " + store.status().ToString());
  auto newest = (*store)->NewestEventId();
  if (!newest.ok()) return Unavailable("sse: " + newest.status().ToString());

  auto io = std::make_unique<asio::io_context>(1);
  auto acceptor = std::make_unique<Local::acceptor>(*io);
  if (Status s = ListenOn(*io, path, m.options.socket_mode, *acceptor); !s.ok()) return s;

  m.store = std::move(store.value());
  m.newest = *newest;
  m.last_event_id.store(*newest);
  m.stopping = false;
  m.store_failing = false;
  m.poll_timer = std::make_unique<asio::steady_timer>(*io);
  m.heartbeat_timer = std::make_unique<asio::steady_timer>(*io);
  m.accept_retry_timer = std::make_unique<asio::steady_timer>(*io);
  m.acceptor = std::move(acceptor);
  m.io = std::move(io);
  m.Accept();
  m.feed_retry_at = {};
  if (std::string_view(m.store->engine()) != "sqlite") m.OpenFeed();
  m.SchedulePollTick();
  m.ScheduleHeartbeat();
  m.thread = std::thread([&m] {
    try {
      m.io->run();
    } catch (const std::exception& e) {
      LogError(std::string("sse: io thread stopped: ") + e.what());
    }
  });
  m.running = true;
  return Status::Ok();
}

void SseServer::Notify() {
  Impl& m = *impl_;
  // Several notifies before the io thread gets to them make one poll. The
  // lock keeps Stop from destroying the io_context under us.
  std::lock_guard<std::mutex> lock(m.lifecycle_mu);
  if (!m.running) return;
  m.PostPoll();
}

void SseServer::Stop() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.lifecycle_mu);
  if (!m.running) return;
  asio::post(*m.io, [&m] { m.Shutdown(); });
  m.thread.join();
  // Handlers still queued (if run() ended early) hold Conns; they go with the
  // io_context, before the Store they might otherwise outlive.
  m.conns.clear();
  m.per_ip.clear();
  m.acceptor.reset();
  m.poll_timer.reset();
  m.heartbeat_timer.reset();
  m.accept_retry_timer.reset();
  m.CloseFeed();  // before the io_context its wait belongs to
  m.io.reset();
  m.store.reset();
  m.streams = 0;
  m.clients.store(0);
  m.notify_pending.store(false);
  ::unlink(m.options.socket_path.c_str());
  m.running = false;
}

SseStats SseServer::stats() const {
  SseStats s;
  s.clients = impl_->clients.load();
  s.rejected = impl_->rejected.load();
  s.dropped_slow = impl_->dropped_slow.load();
  s.last_event_id = impl_->last_event_id.load();
  return s;
}

}  // namespace jobpulse
