// Unit tests for lib/delivery_intake.h: handlers handing webhook deliveries to
// the worker's intake over a unix socket, with a real store in a temporary
// directory; hostile requests; the handler's fallback when no worker answers.
#include <boost/test/unit_test.hpp>
// (Boost.Test first, as in every test file of this binary.)
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "lib/delivery_intake.h"
#include "lib/timestamp.h"
#include "tests/temp_store.h"

namespace jobpulse {
namespace {

constexpr int64_t kNow = 1764900000LL * 1000000;

struct IntakeFixture : testing::TempStore {
  IntakeFixture()
      : db_path(dir + "/jobs.db"),
        socket_path(IntakeSocketPath(db_path)),
        server(socket_path, db_path, "", [this] { ++pokes; }) {}

  int64_t Pending() {
    auto counts = store->CountDeliveries();
    BOOST_REQUIRE(counts.ok());
    return counts->pending;
  }

  // A raw connection to the intake, for requests no IntakeClient would send.
  int RawConnect() {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
    BOOST_REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    return fd;
  }
  // True when the server closed `fd` within a second (EOF, no answer byte).
  static bool ClosedByServer(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) return false;
    char byte;
    return recv(fd, &byte, 1, 0) == 0;
  }

  std::string db_path;
  std::string socket_path;
  std::atomic<int> pokes{0};
  IntakeServer server;
};

BOOST_AUTO_TEST_SUITE(delivery_intake)

BOOST_FIXTURE_TEST_CASE(a_delivery_is_stored_once_and_a_repeat_is_a_duplicate, IntakeFixture) {
  BOOST_TEST_REQUIRE(server.Start().ok());
  struct stat st;
  BOOST_TEST_REQUIRE(lstat(socket_path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  IntakeClient client(socket_path);
  auto first = client.Submit("msg_1", "replicate", R"({"id":"r1"})", kNow, 2000, kNow);
  BOOST_TEST_REQUIRE(first.ok(), first.status().ToString());
  BOOST_TEST(*first == true);
  auto again = client.Submit("msg_1", "replicate", R"({"id":"r1"})", kNow + 1, 2000, kNow);
  BOOST_TEST_REQUIRE(again.ok(), again.status().ToString());
  BOOST_TEST(*again == false);
  BOOST_TEST(server.stored() == 1);
  BOOST_TEST(pokes == 1);
  auto pending = store->PendingDeliveries(10);
  BOOST_REQUIRE(pending.ok());
  BOOST_REQUIRE(pending->size() == 1u);
  BOOST_TEST((*pending)[0].webhook_id == "msg_1");
  BOOST_TEST((*pending)[0].provider == "replicate");
  BOOST_TEST((*pending)[0].body == R"({"id":"r1"})");
  BOOST_TEST((*pending)[0].received_at == kNow);
}

BOOST_FIXTURE_TEST_CASE(many_handlers_at_once_lose_nothing, IntakeFixture) {
  BOOST_TEST_REQUIRE(server.Start().ok());
  constexpr int kHandlers = 8;
  constexpr int kEach = 50;
  std::atomic<int> stored{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> handlers;
  for (int h = 0; h < kHandlers; ++h) {
    handlers.emplace_back([&, h] {
      IntakeClient client(socket_path);
      for (int i = 0; i < kEach; ++i) {
        const std::string id = "msg_" + std::to_string(h) + "_" + std::to_string(i);
        auto r =
            client.Submit(id, "replicate", "{\"n\":" + std::to_string(i) + "}", kNow, 5000, kNow);
        (r.ok() && *r ? stored : failed)++;
      }
    });
  }
  for (auto& t : handlers) t.join();
  BOOST_TEST(stored == kHandlers * kEach);
  BOOST_TEST(failed == 0);
  BOOST_TEST(server.stored() == kHandlers * kEach);
  BOOST_TEST(Pending() == kHandlers * kEach);
}

BOOST_FIXTURE_TEST_CASE(without_a_worker_the_handler_is_told_at_once, IntakeFixture) {
  // Nothing listens: the handler learns it without waiting for its timeout,
  // and then stores the delivery itself (lib/api.cc).
  IntakeClient client(socket_path);
  const auto started = std::chrono::steady_clock::now();
  auto r = client.Submit("msg_1", "replicate", "{}", kNow, 2000, kNow);
  BOOST_TEST(!r.ok());
  BOOST_TEST((r.status().code() == Status::Code::kUnavailable));
  BOOST_TEST(r.status().error() == "intake_unavailable");
  BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1000)));
  // Within a second of a failed connect no new one is tried, even once the
  // worker is up; after it, the client connects again.
  BOOST_TEST_REQUIRE(server.Start().ok());
  BOOST_TEST(!client.Submit("msg_2", "replicate", "{}", kNow, 2000, kNow + 500000).ok());
  auto later = client.Submit("msg_3", "replicate", "{}", kNow, 2000, kNow + 1000001);
  BOOST_TEST_REQUIRE(later.ok(), later.status().ToString());
  BOOST_TEST(*later == true);
  BOOST_TEST(Pending() == 1);
}

BOOST_FIXTURE_TEST_CASE(a_stopped_worker_breaks_the_kept_connection, IntakeFixture) {
  BOOST_TEST_REQUIRE(server.Start().ok());
  IntakeClient client(socket_path);
  BOOST_TEST_REQUIRE(client.Submit("msg_1", "replicate", "{}", kNow, 2000, kNow).ok());
  server.Stop();
  auto r = client.Submit("msg_2", "replicate", "{}", kNow, 2000, kNow);
  BOOST_TEST(!r.ok());
  BOOST_TEST((r.status().code() == Status::Code::kUnavailable));
  BOOST_TEST(Pending() == 1);
}

BOOST_FIXTURE_TEST_CASE(hostile_requests_close_the_connection_and_store_nothing, IntakeFixture) {
  BOOST_TEST_REQUIRE(server.Start().ok());
  const auto frame = [](uint32_t length, const std::string& payload) {
    std::string out(reinterpret_cast<const char*>(&length), 4);
    return out + payload;
  };
  const std::string no_id = std::string("\0\0", 2) + "\x09replicate" + std::string(8, '\0');
  const std::string id_past_end = std::string("\xff\x00", 2) + "short";
  const std::string no_provider = std::string("\x01\x00", 2) + "m" + std::string("\0", 1);
  const std::string no_time = std::string("\x01\x00", 2) + "m" + "\x09replicate" + "1234";
  const std::vector<std::string> hostile = {
      frame(static_cast<uint32_t>(no_id.size()), no_id),
      frame(static_cast<uint32_t>(id_past_end.size()), id_past_end),
      frame(static_cast<uint32_t>(no_provider.size()), no_provider),
      frame(static_cast<uint32_t>(no_time.size()), no_time),
      frame(0xffffffffu, "x"),                                     // past the frame limit
      frame(static_cast<uint32_t>(kMaxIntakeFrameBytes + 1), ""),  // just past it
  };
  for (size_t i = 0; i < hostile.size(); ++i) {
    BOOST_TEST_CONTEXT("request " << i) {
      const int fd = RawConnect();
      BOOST_TEST(send(fd, hostile[i].data(), hostile[i].size(), MSG_NOSIGNAL) ==
                 static_cast<ssize_t>(hostile[i].size()));
      BOOST_TEST(ClosedByServer(fd));
      close(fd);
    }
  }
  BOOST_TEST(Pending() == 0);
  BOOST_TEST(server.stored() == 0);
  // A half-sent request from a handler that went away stores nothing either.
  const int fd = RawConnect();
  const std::string partial = frame(100, "\x05\x00msg_1");
  BOOST_TEST(send(fd, partial.data(), partial.size(), MSG_NOSIGNAL) ==
             static_cast<ssize_t>(partial.size()));
  close(fd);
  // And the intake still serves the next handler.
  IntakeClient client(socket_path);
  auto r = client.Submit("msg_ok", "replicate", "{}", kNow, 2000, kNow);
  BOOST_TEST_REQUIRE(r.ok(), r.status().ToString());
  BOOST_TEST(*r == true);
  BOOST_TEST(Pending() == 1);
}

BOOST_AUTO_TEST_CASE(the_socket_sits_next_to_the_database) {
  BOOST_TEST(IntakeSocketPath("var/jobpulse.db") == "var/worker.intake");
  BOOST_TEST(IntakeSocketPath("jobpulse.db") == "worker.intake");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
