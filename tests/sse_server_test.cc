// Unit tests for lib/sse_server.h: a real SseServer on a unix socket in a fresh
// temporary directory, reading a real Store file that the tests append events
// to, and plain POSIX clients (every read bounded by a poll() deadline).
#include <boost/test/unit_test.hpp>
// (The test module itself is defined once, in tests/main_test.cc.)

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lib/access.h"
#include "lib/sse_server.h"
#include "lib/status.h"
#include "lib/store.h"

namespace jobpulse {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int64_t kNow = int64_t{1795860000} * 1000000;  // 2026-11-28T10:00:00Z
const char kStreamHead[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\nConnection: keep-alive\r\n\r\n";
const char kReset[] = "data: {\"type\":\"reset\"}\n\n";

std::string Connected(int64_t last_event_id) {
  return "retry: 3000\n\ndata: {\"type\":\"connected\",\"last_event_id\":" +
         std::to_string(last_event_id) + "}\n\n";
}

std::string EventJson(int n) {
  return "{\"type\":\"jobs_synced\",\"provider\":\"replicate\",\"new\":" + std::to_string(n) +
         ",\"updated\":0,\"at\":\"2026-11-28T10:00:00Z\"}";
}

std::string Frame(int64_t id, const std::string& json) {
  return "id: " + std::to_string(id) + "\ndata: " + json + "\n\n";
}

// Waits up to `limit` for `done` to hold.
bool WaitFor(const std::function<bool()>& done, milliseconds limit = milliseconds(20000)) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// A blocking-free unix-socket HTTP client that keeps everything it received.
class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  const std::string& data() const { return data_; }
  bool eof() const { return eof_; }

  void Send(const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  void Get(const std::string& target, std::optional<std::string> real_ip = std::nullopt,
           std::optional<std::string> last_event_id = std::nullopt,
           const std::string& method = "GET") {
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
    if (real_ip) request += "X-Real-IP: " + *real_ip + "\r\n";
    if (last_event_id) request += "Last-Event-ID: " + *last_event_id + "\r\n";
    request += "Accept: text/event-stream\r\n\r\n";
    Send(request);
  }

  // Reads until `done(data())` holds, EOF, or `limit` passes.
  bool ReadUntil(const std::function<bool(const std::string&)>& done,
                 milliseconds limit = milliseconds(20000)) {
    const auto deadline = Clock::now() + limit;
    while (!done(data_)) {
      if (eof_) return false;
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd pfd{fd_, POLLIN, 0};
      // Short waits, so a `done` that looks at more than data_ (another
      // thread's target) is checked again even while nothing arrives.
      if (::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 50))) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n <= 0) {
        eof_ = true;
      } else {
        data_.append(buf, static_cast<size_t>(n));
      }
    }
    return true;
  }
  bool ReadContains(const std::string& needle, milliseconds limit = milliseconds(20000)) {
    return ReadUntil([&](const std::string& d) { return d.find(needle) != std::string::npos; },
                     limit);
  }
  bool ReadBytes(size_t size, milliseconds limit = milliseconds(20000)) {
    return ReadUntil([&](const std::string& d) { return d.size() >= size; }, limit);
  }
  bool ReadToEof(milliseconds limit = milliseconds(20000)) {
    ReadUntil([](const std::string&) { return false; }, limit);
    return eof_;
  }
  // Everything after the stream head and the connected message.
  std::string Body() const {
    const size_t at = data_.find("\"type\":\"connected\"");
    if (at == std::string::npos) return "";
    return data_.substr(data_.find("\n\n", at) + 2);
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string data_;
};

class Fixture {
 public:
  Fixture() {
    char tmpl[] = "/tmp/sse_test.XXXXXX";
    BOOST_REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    options_.socket_path = dir_ + "/events.sock";
    options_.database_path = dir_ + "/jobpulse.db";
    auto store = Store::Open(options_.database_path);
    BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    store_ = std::move(store.value());
  }
  ~Fixture() {
    server_.reset();
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  SseOptions& options() { return options_; }
  Store& store() { return *store_; }
  SseServer& server() { return *server_; }
  const std::string& socket_path() const { return options_.socket_path; }

  void StartServer() {
    server_ = std::make_unique<SseServer>(options_);
    const Status s = server_->Start();
    BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  }

  int64_t Append(const std::string& json) {
    auto id = store_->AppendEvent("", EventType::kJobsSynced, json, kNow);
    BOOST_REQUIRE_MESSAGE(id.ok(), id.status().ToString());
    return *id;
  }

  // Connects a GET /api/events client and waits for its connected message.
  std::unique_ptr<Client> Stream(std::optional<std::string> ip = std::nullopt,
                                 std::optional<std::string> last_event_id = std::nullopt,
                                 const std::string& target = "/api/events") {
    auto client = std::make_unique<Client>(socket_path());
    BOOST_REQUIRE(client->connected());
    client->Get(target, std::move(ip), std::move(last_event_id));
    BOOST_REQUIRE_MESSAGE(client->ReadContains("\"type\":\"connected\""), client->data());
    BOOST_REQUIRE(client->ReadContains("}\n\n"));
    return client;
  }

 private:
  std::string dir_;
  SseOptions options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SseServer> server_;
};

// A request to `target` that the server answers and closes.
std::string OneShot(const std::string& socket_path, const std::string& target,
                    std::optional<std::string> ip = std::nullopt,
                    const std::string& method = "GET") {
  Client client(socket_path);
  BOOST_REQUIRE(client.connected());
  client.Get(target, std::move(ip), std::nullopt, method);
  BOOST_CHECK(client.ReadToEof());
  return client.data();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sse_server)

BOOST_AUTO_TEST_CASE(stream_head_retry_and_connected_message) {
  Fixture f;
  f.Append(EventJson(1));
  f.Append(EventJson(2));
  f.StartServer();
  auto client = f.Stream();
  BOOST_CHECK_EQUAL(client->data(), std::string(kStreamHead) + Connected(2));
  BOOST_CHECK_EQUAL(client->data().find("Content-Length"), std::string::npos);
  BOOST_CHECK_EQUAL(f.server().stats().clients, 1);
  BOOST_CHECK_EQUAL(f.server().stats().last_event_id, 2);
}

// 0600 by default; 0660 (sse.socket_mode) lets a web server in the socket's
// group connect, as the Debian package's www-data does.
BOOST_AUTO_TEST_CASE(socket_mode_is_0600_unless_configured) {
  for (const unsigned mode : {0600u, 0660u}) {
    Fixture f;
    f.options().socket_mode = mode;
    f.StartServer();
    struct stat st = {};
    BOOST_REQUIRE_EQUAL(::stat(f.socket_path().c_str(), &st), 0);
    BOOST_CHECK(S_ISSOCK(st.st_mode));
    BOOST_CHECK_EQUAL(st.st_mode & 07777, mode);
  }
}

BOOST_AUTO_TEST_CASE(event_after_connect_arrives_as_exact_frame) {
  Fixture f;
  f.StartServer();
  auto client = f.Stream();
  const std::string json = EventJson(7);
  const int64_t id = f.Append(json);
  const auto start = Clock::now();
  BOOST_REQUIRE(client->ReadContains(Frame(id, json), milliseconds(10000)));
  BOOST_CHECK_EQUAL(client->Body(), Frame(id, json));
  BOOST_TEST_MESSAGE("polled delivery took "
                     << std::chrono::duration_cast<milliseconds>(Clock::now() - start).count()
                     << " ms");
  BOOST_CHECK_EQUAL(f.server().stats().last_event_id, id);
}

BOOST_AUTO_TEST_CASE(notify_delivers_without_waiting_for_the_poll) {
  Fixture f;
  f.options().poll_interval_ms = 5000;  // the poll alone would take seconds
  f.StartServer();
  auto client = f.Stream();
  const std::string json = EventJson(8);
  const int64_t id = f.Append(json);
  const auto start = Clock::now();
  f.server().Notify();
  BOOST_REQUIRE(client->ReadContains(Frame(id, json), milliseconds(10000)));
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
  // Well under the 5 s poll: the notify, not the poll, delivered it (a bound
  // with room for the sanitizer build on a loaded machine, not a timing).
  BOOST_CHECK_LT(took, 2500);
  BOOST_CHECK_EQUAL(client->Body(), Frame(id, json));
}

BOOST_AUTO_TEST_CASE(several_events_arrive_in_order) {
  Fixture f;
  f.StartServer();
  auto client = f.Stream();
  std::string expected;
  for (int i = 0; i < 5; ++i) {
    const std::string json = EventJson(i);
    expected += Frame(f.Append(json), json);
    if (i == 2) f.server().Notify();  // some in one poll, some in another
  }
  f.server().Notify();
  BOOST_REQUIRE(client->ReadContains(expected));
  BOOST_CHECK_EQUAL(client->Body(), expected);
}

BOOST_AUTO_TEST_CASE(last_event_id_header_replays_then_goes_live) {
  Fixture f;
  for (int i = 1; i <= 5; ++i) f.Append(EventJson(i));
  f.StartServer();
  auto client = f.Stream("10.0.0.1", "2");
  std::string expected = Frame(3, EventJson(3)) + Frame(4, EventJson(4)) + Frame(5, EventJson(5));
  BOOST_REQUIRE(client->ReadContains(expected));
  BOOST_CHECK(client->data().find(std::string(kStreamHead) + Connected(5)) == 0);
  expected += Frame(f.Append(EventJson(6)), EventJson(6));
  f.server().Notify();
  BOOST_REQUIRE(client->ReadContains(expected));
  BOOST_CHECK_EQUAL(client->Body(), expected);
}

BOOST_AUTO_TEST_CASE(last_event_id_query_replays_then_goes_live) {
  Fixture f;
  for (int i = 1; i <= 5; ++i) f.Append(EventJson(i));
  f.StartServer();
  auto client = f.Stream(std::nullopt, std::nullopt, "/api/events?_=123&last_event_id=2");
  std::string expected = Frame(3, EventJson(3)) + Frame(4, EventJson(4)) + Frame(5, EventJson(5));
  BOOST_REQUIRE(client->ReadContains(expected));
  expected += Frame(f.Append(EventJson(6)), EventJson(6));
  f.server().Notify();
  BOOST_REQUIRE(client->ReadContains(expected));
  BOOST_CHECK_EQUAL(client->Body(), expected);
}

BOOST_AUTO_TEST_CASE(id_older_than_retained_log_gives_one_reset) {
  Fixture f;
  for (int i = 1; i <= 10; ++i) f.Append(EventJson(i));
  auto pruned = f.store().PruneEvents(3, 0);  // keeps 8, 9, 10
  BOOST_REQUIRE(pruned.ok());
  BOOST_REQUIRE_EQUAL(*pruned, 7);
  f.StartServer();

  auto stale = f.Stream(std::nullopt, "2");
  // The last id before the oldest retained one is still a seamless resume.
  auto edge = f.Stream(std::nullopt, "7");
  const std::string replay =
      Frame(8, EventJson(8)) + Frame(9, EventJson(9)) + Frame(10, EventJson(10));
  BOOST_REQUIRE(edge->ReadContains(replay));

  const std::string live = Frame(f.Append(EventJson(11)), EventJson(11));
  f.server().Notify();
  BOOST_REQUIRE(stale->ReadContains(live));
  BOOST_CHECK_EQUAL(stale->Body(), kReset + live);
  BOOST_REQUIRE(edge->ReadContains(live));
  BOOST_CHECK_EQUAL(edge->Body(), replay + live);
}

BOOST_AUTO_TEST_CASE(no_replay_without_last_event_id) {
  Fixture f;
  f.StartServer();
  for (int i = 1; i <= 3; ++i) f.Append(EventJson(i));  // after Start, before the client
  auto client = f.Stream();
  BOOST_CHECK(client->data().find(Connected(3)) != std::string::npos);
  client->ReadUntil([](const std::string&) { return false; }, milliseconds(300));
  BOOST_CHECK_EQUAL(client->Body(), "");
  const std::string live = Frame(f.Append(EventJson(4)), EventJson(4));
  BOOST_REQUIRE(client->ReadContains(live));
  BOOST_CHECK_EQUAL(client->Body(), live);
}

BOOST_AUTO_TEST_CASE(sixth_stream_from_one_ip_gets_429) {
  Fixture f;
  f.options().retry_after_seconds = 7;
  f.StartServer();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(f.Stream("192.0.2.1"));
  const std::string answer = OneShot(f.socket_path(), "/api/events", "192.0.2.1");
  BOOST_CHECK(answer.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0) == 0);
  BOOST_CHECK(answer.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
  BOOST_CHECK(answer.find("\r\nRetry-After: 7\r\n") != std::string::npos);
  const std::string body = answer.substr(answer.find("\r\n\r\n") + 4);
  BOOST_CHECK(body.rfind("{\"error\":\"too_many_connections\",\"message\":\"", 0) == 0);
  BOOST_CHECK(body.back() == '}');
  BOOST_CHECK_EQUAL(f.server().stats().rejected, 1);
  BOOST_CHECK_EQUAL(f.server().stats().clients, 5);
  auto other = f.Stream("192.0.2.2");
  BOOST_CHECK_EQUAL(f.server().stats().clients, 6);
}

BOOST_AUTO_TEST_CASE(closing_a_client_frees_its_slot_at_once) {
  Fixture f;
  f.options().heartbeat_seconds = 3600;  // the release must not wait for a write
  f.StartServer();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(f.Stream("192.0.2.1"));
  BOOST_CHECK_EQUAL(f.server().stats().clients, 5);
  clients[2]->Close();
  BOOST_CHECK(WaitFor([&] { return f.server().stats().clients == 4; }, milliseconds(10000)));
  auto again = f.Stream("192.0.2.1");
  BOOST_CHECK_EQUAL(f.server().stats().clients, 5);
  BOOST_CHECK_EQUAL(f.server().stats().rejected, 0);
}

BOOST_AUTO_TEST_CASE(max_connections_caps_all_streams) {
  Fixture f;
  f.options().max_connections = 3;
  f.StartServer();
  auto a = f.Stream("198.51.100.1");
  auto b = f.Stream("198.51.100.2");
  auto c = f.Stream();  // no X-Real-IP: counted as "unix"
  const std::string answer = OneShot(f.socket_path(), "/api/events", "198.51.100.4");
  BOOST_CHECK(answer.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0) == 0);
  BOOST_CHECK(answer.find("\"error\":\"too_many_connections\"") != std::string::npos);
  BOOST_CHECK_EQUAL(f.server().stats().rejected, 1);
  b->Close();
  BOOST_REQUIRE(WaitFor([&] { return f.server().stats().clients == 2; }, milliseconds(10000)));
  auto d = f.Stream("198.51.100.4");
  BOOST_CHECK_EQUAL(f.server().stats().clients, 3);
}

BOOST_AUTO_TEST_CASE(heartbeat_comments_arrive) {
  Fixture f;
  f.options().heartbeat_seconds = 1;
  f.StartServer();
  auto client = f.Stream();
  BOOST_REQUIRE(client->ReadContains(": heartbeat\n\n", milliseconds(10000)));
  BOOST_CHECK(client->Body().rfind(": heartbeat\n\n", 0) == 0);
}

BOOST_AUTO_TEST_CASE(slow_client_is_dropped_and_others_get_everything) {
  Fixture f;
  f.options().max_backlog_bytes = 4096;
  f.StartServer();
  auto slow = f.Stream("203.0.113.1");  // never reads again
  auto fast = f.Stream("203.0.113.2");
  // The fast client reads all along, as a browser does, while the events are
  // written: one that waited for the writing to end would be as slow as the
  // other on a loaded machine, where 200 commits outlast two ticks.
  const size_t before = fast->data().size();  // read before the reader thread owns it
  std::atomic<size_t> want{std::numeric_limits<size_t>::max()};
  bool got_all = false;
  std::thread reader([&] {
    // A liveness bound, not a timing: the sanitizer build on a loaded machine is slow.
    got_all = fast->ReadUntil([&](const std::string& d) { return d.size() >= want.load(); },
                              milliseconds(60000));
  });
  struct StopReaderOnFailure {  // a failed Append throws past the join below
    std::atomic<size_t>& want;
    std::thread& reader;
    ~StopReaderOnFailure() {
      if (!reader.joinable()) return;
      want.store(0);
      reader.join();
    }
  } stop_reader{want, reader};
  // ~1.6 MB: far more than the kernel buffers a unix socket pair holds.
  std::string expected;
  for (int i = 0; i < 200; ++i) {
    const std::string json = "{\"type\":\"job_progress\",\"job_id\":\"j" + std::to_string(i) +
                             "\",\"last_log\":\"" + std::string(8000, 'x') + "\"}";
    expected += Frame(f.Append(json), json);
    if (i % 50 == 49) f.server().Notify();
  }
  want.store(before + expected.size());
  f.server().Notify();
  reader.join();
  BOOST_REQUIRE(got_all);
  BOOST_CHECK(fast->Body() == expected);
  BOOST_REQUIRE(WaitFor([&] { return f.server().stats().dropped_slow == 1; }));
  BOOST_CHECK_EQUAL(f.server().stats().clients, 1);
  // The slow client finds its stream ended once it reads what was sent.
  BOOST_CHECK(slow->ReadToEof());
  BOOST_CHECK_LT(slow->Body().size(), expected.size());
  // The fast one is still live.
  const std::string live = Frame(f.Append(EventJson(1)), EventJson(1));
  f.server().Notify();
  BOOST_REQUIRE(fast->ReadContains(live));
  BOOST_CHECK_EQUAL(f.server().stats().dropped_slow, 1);
}

BOOST_AUTO_TEST_CASE(other_paths_get_404_and_other_methods_405) {
  Fixture f;
  f.StartServer();
  const std::string not_found = OneShot(f.socket_path(), "/api/other");
  BOOST_CHECK(not_found.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  BOOST_CHECK(not_found.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
  BOOST_CHECK(not_found.find("{\"error\":\"not_found\"") != std::string::npos);
  const std::string not_allowed = OneShot(f.socket_path(), "/api/events", std::nullopt, "POST");
  BOOST_CHECK(not_allowed.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
  BOOST_CHECK(not_allowed.find("\r\nAllow: GET\r\n") != std::string::npos);
  BOOST_CHECK_EQUAL(f.server().stats().clients, 0);
}

// SPEC §11: with a token, a stream needs it (lib/access.h, as the API).
BOOST_AUTO_TEST_CASE(with_a_token_streams_need_it) {
  Fixture f;
  const std::string token = "sse-token-0123456789abcdef";
  f.options().api_token = token;
  f.StartServer();
  const auto answer = [&](const std::string& header) {
    Client client(f.socket_path());
    BOOST_REQUIRE(client.connected());
    client.Send("GET /api/events HTTP/1.1\r\nHost: localhost\r\n" + header + "\r\n");
    client.ReadUntil(
        [](const std::string& d) { return d.find("\"type\":\"connected\"") != std::string::npos; });
    return client.data();
  };
  const std::string refused = answer("");
  BOOST_CHECK(refused.rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
  BOOST_CHECK(refused.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
  BOOST_CHECK(refused.find("\r\nWWW-Authenticate: Bearer\r\n") != std::string::npos);
  BOOST_CHECK_EQUAL(
      refused.substr(refused.find("\r\n\r\n") + 4),
      "{\"error\":\"unauthorized\",\"message\":\"" + std::string(kUnauthorizedMessage) + "\"}");
  for (const std::string& bad : std::vector<std::string>{
           "Authorization: Bearer not-it-0000000000\r\n", "X-API-Key: " + token + "x\r\n",
           "Cookie: jobpulse_session=" + SignSessionCookie(token, 1) + "\r\n",
           "Cookie: jobpulse_session=" + token + "\r\n"}) {
    BOOST_CHECK_MESSAGE(answer(bad).rfind("HTTP/1.1 401 ", 0) == 0, bad);
  }
  const int64_t tomorrow = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count() +
                           86400;
  for (const std::string& good : std::vector<std::string>{
           "Authorization: Bearer " + token + "\r\n", "x-api-key: " + token + "\r\n",
           "Cookie: a=b; jobpulse_session=" + SignSessionCookie(token, tomorrow) + "\r\n"}) {
    const std::string ok = answer(good);
    BOOST_CHECK_MESSAGE(ok.rfind(kStreamHead, 0) == 0, good << " -> " << ok);
  }
  // Every client above has gone; none of the refused ones ever held a slot.
  BOOST_CHECK(WaitFor([&] { return f.server().stats().clients == 0; }, milliseconds(10000)));
}

BOOST_AUTO_TEST_CASE(stop_closes_clients_and_removes_the_socket) {
  Fixture f;
  f.StartServer();
  BOOST_CHECK(fs::is_socket(f.socket_path()));
  BOOST_CHECK((fs::status(f.socket_path()).permissions() & fs::perms::all) ==
              (fs::perms::owner_read | fs::perms::owner_write));
  auto a = f.Stream();
  auto b = f.Stream("192.0.2.9", "0");
  f.server().Stop();
  BOOST_CHECK(a->ReadToEof(milliseconds(10000)));
  BOOST_CHECK(b->ReadToEof(milliseconds(10000)));
  BOOST_CHECK(!fs::exists(f.socket_path()));
  BOOST_CHECK_EQUAL(f.server().stats().clients, 0);
  f.server().Stop();    // idempotent
  f.server().Notify();  // harmless after Stop

  SseOptions bad = f.options();
  bad.socket_path = f.socket_path() + ".missing/events.sock";
  SseServer unbindable(bad);
  const Status s = unbindable.Start();
  BOOST_CHECK(s.code() == Status::Code::kUnavailable);
  BOOST_CHECK_EQUAL(s.error(), "sse_unavailable");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
