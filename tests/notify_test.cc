// Unit tests for lib/notify.h: the handler-to-worker poke over a unix datagram
// socket in a temporary directory.
#include <boost/test/unit_test.hpp>
// (Boost.Test first, as in every test file of this binary.)
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "lib/notify.h"

namespace jobpulse {
namespace {

struct TempDir {
  TempDir() {
    path = (std::filesystem::temp_directory_path() / "jobpulse_notify_test_XXXXXX").string();
    BOOST_REQUIRE_MESSAGE(mkdtemp(path.data()) != nullptr, "mkdtemp failed");
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

// A bound socket file with nobody behind it, as a SIGKILLed worker leaves it.
void LeaveStaleSocket(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  BOOST_REQUIRE(path.size() < sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  close(fd);
  struct stat st;
  BOOST_REQUIRE(lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode));
}

BOOST_AUTO_TEST_SUITE(notify)

BOOST_AUTO_TEST_CASE(socket_path_is_next_to_the_database) {
  BOOST_TEST(WorkerPokeSocketPath("var/jobpulse.db") == "var/worker.poke");
  BOOST_TEST(WorkerPokeSocketPath("/srv/jp/data/jobs.sqlite") == "/srv/jp/data/worker.poke");
  BOOST_TEST(WorkerPokeSocketPath("jobpulse.db") == "worker.poke");
}

BOOST_AUTO_TEST_CASE(poke_is_received_and_drained) {
  TempDir dir;
  const std::string path = dir.path + "/worker.poke";
  PokeListener listener;
  BOOST_TEST(listener.fd() == -1);
  const Status opened = listener.Open(path);
  BOOST_TEST_REQUIRE(opened.ok(), opened.ToString());
  BOOST_TEST(listener.fd() >= 0);

  struct stat st;
  BOOST_TEST_REQUIRE(lstat(path.c_str(), &st) == 0);
  BOOST_TEST(S_ISSOCK(st.st_mode));
  BOOST_TEST((st.st_mode & 0777) == 0600);

  PokeWorker(path);
  PokeWorker(path);
  PokeWorker(path);
  BOOST_TEST(Readable(listener.fd(), 1000));
  BOOST_TEST(listener.Drain());  // all three in one drain
  BOOST_TEST(!Readable(listener.fd(), 0));
  BOOST_TEST(!listener.Drain());

  PokeWorker(path);
  BOOST_TEST(listener.Drain());
}

BOOST_AUTO_TEST_CASE(poke_to_a_missing_socket_is_harmless) {
  TempDir dir;
  PokeWorker(dir.path + "/nobody-listens.poke");
  PokeWorker(dir.path + "/no/such/dir/worker.poke");
  PokeWorker("");
  PokeWorker(std::string(200, 'x'));  // longer than a unix socket path can be
  // A socket file whose listener is gone (a killed worker): ECONNREFUSED.
  const std::string path = dir.path + "/worker.poke";
  LeaveStaleSocket(path);
  PokeWorker(path);
  // A listener that closed normally unlinks its file.
  {
    PokeListener closed;
    BOOST_TEST_REQUIRE(closed.Open(dir.path + "/closed.poke").ok());
  }
  BOOST_TEST(!std::filesystem::exists(dir.path + "/closed.poke"));
  PokeWorker(dir.path + "/closed.poke");
}

BOOST_AUTO_TEST_CASE(drain_with_nothing_pending_returns_false) {
  TempDir dir;
  PokeListener listener;
  BOOST_TEST(!listener.Drain());  // not open yet
  BOOST_TEST_REQUIRE(listener.Open(dir.path + "/worker.poke").ok());
  BOOST_TEST(!listener.Drain());
}

BOOST_AUTO_TEST_CASE(a_stale_socket_file_is_replaced) {
  TempDir dir;
  const std::string path = dir.path + "/worker.poke";
  LeaveStaleSocket(path);
  PokeWorker(path);  // ECONNREFUSED: nobody reads it
  PokeListener listener;
  const Status opened = listener.Open(path);
  BOOST_TEST_REQUIRE(opened.ok(), opened.ToString());
  BOOST_TEST(!listener.Drain());  // the poke sent to the dead socket is gone, as it should be
  PokeWorker(path);
  BOOST_TEST(Readable(listener.fd(), 1000));
  BOOST_TEST(listener.Drain());
}

BOOST_AUTO_TEST_CASE(the_old_listener_does_not_unlink_its_successor) {
  TempDir dir;
  const std::string path = dir.path + "/worker.poke";
  auto old_listener = std::make_unique<PokeListener>();
  BOOST_TEST_REQUIRE(old_listener->Open(path).ok());
  PokeListener new_listener;
  BOOST_TEST_REQUIRE(new_listener.Open(path).ok());
  old_listener.reset();
  BOOST_TEST(std::filesystem::exists(path));
  PokeWorker(path);
  BOOST_TEST(Readable(new_listener.fd(), 1000));
  BOOST_TEST(new_listener.Drain());
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_socket_is_left_alone) {
  TempDir dir;
  const std::string path = dir.path + "/worker.poke";
  std::ofstream(path) << "not a socket";
  PokeListener listener;
  const Status opened = listener.Open(path);
  BOOST_TEST(!opened.ok());
  BOOST_TEST(opened.error() == "poke_socket_unavailable");
  BOOST_TEST(std::filesystem::is_regular_file(path));
  BOOST_TEST(listener.fd() == -1);
}

BOOST_AUTO_TEST_CASE(a_path_too_long_for_a_unix_socket_is_an_error) {
  PokeListener listener;
  const Status opened = listener.Open("/tmp/" + std::string(200, 'x'));
  BOOST_TEST(!opened.ok());
  BOOST_TEST(opened.message().find("longer than 107 bytes") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
