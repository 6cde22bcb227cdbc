// Unit tests for lib/private_files.h: the 0700 directory, the 0600 files,
// stale sockets and socket addresses, against a real temporary directory.
#include "lib/private_files.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace jobpulse {
namespace {

namespace fs = std::filesystem;

unsigned Mode(const std::string& path) {
  struct stat st;
  BOOST_REQUIRE_MESSAGE(::stat(path.c_str(), &st) == 0, path);
  return st.st_mode & 0777;
}

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "jobpulse_private_test.XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

BOOST_AUTO_TEST_SUITE(private_files)

BOOST_FIXTURE_TEST_CASE(new_directories_are_0700_whatever_the_umask, TempDir) {
  const mode_t old_umask = ::umask(0);
  const std::string nested = path + "/a/b/c";
  const Status s = EnsurePrivateDirectory(nested);
  ::umask(old_umask);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  for (const std::string& dir : {path + "/a", path + "/a/b", nested}) {
    BOOST_TEST(Mode(dir) == 0700u, dir);
  }
  BOOST_TEST(EnsurePrivateDirectory("").ok());
  ::chmod(path.c_str(), 0755);  // an existing directory is left as it is
  BOOST_TEST(EnsurePrivateDirectory(path).ok());
  BOOST_TEST(Mode(path) == 0755u);
}

BOOST_FIXTURE_TEST_CASE(files_and_their_wal_siblings_become_0600, TempDir) {
  const std::string db = path + "/jobs.db";
  BOOST_REQUIRE(EnsurePrivateFile(db).ok());
  BOOST_TEST(Mode(db) == 0600u);
  BOOST_TEST(fs::file_size(db) == 0u);
  for (const std::string& f : {db, db + "-wal", db + "-shm"}) {
    std::ofstream(f) << "x";
    ::chmod(f.c_str(), 0664);
  }
  BOOST_REQUIRE(EnsurePrivateFile(db).ok());
  for (const std::string& f : {db, db + "-wal", db + "-shm"}) BOOST_TEST(Mode(f) == 0600u, f);
  BOOST_TEST(fs::file_size(db) == 1u);  // an existing file keeps its contents
}

BOOST_FIXTURE_TEST_CASE(a_path_below_a_file_is_unavailable, TempDir) {
  std::ofstream(path + "/plain") << "x";
  const Status s = EnsurePrivateDirectory(path + "/plain/sub");
  BOOST_TEST((s.code() == Status::Code::kUnavailable));
  BOOST_TEST(s.error() == "database_unavailable");
  BOOST_TEST(s.message().find(path + "/plain/sub") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(only_a_socket_file_is_removed_as_stale, TempDir) {
  const std::string sock = path + "/s.sock";
  BOOST_TEST(RemoveStaleSocket(sock, "x_unavailable").ok());  // nothing there
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr;
  BOOST_REQUIRE(UnixSocketAddress(sock, &addr));
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  ::close(fd);  // the file stays: a killed process leaves it so
  BOOST_REQUIRE(fs::exists(sock));
  BOOST_TEST(RemoveStaleSocket(sock, "x_unavailable").ok());
  BOOST_TEST(!fs::exists(sock));

  const std::string plain = path + "/data.txt";
  std::ofstream(plain) << "mine";
  const Status s = RemoveStaleSocket(plain, "x_unavailable");
  BOOST_TEST((s.code() == Status::Code::kUnavailable));
  BOOST_TEST(s.error() == "x_unavailable");
  BOOST_TEST(fs::exists(plain));
}

BOOST_AUTO_TEST_CASE(socket_paths_beside_the_database_and_their_length) {
  BOOST_TEST(SocketBesideDatabase("var/jobpulse.db", "events.sock") == "var/events.sock");
  BOOST_TEST(SocketBesideDatabase("jobpulse.db", "events.sock") == "events.sock");
  sockaddr_un addr;
  BOOST_TEST(UnixSocketAddress(std::string(107, 'a'), &addr));
  BOOST_TEST(std::strlen(addr.sun_path) == 107u);
  BOOST_TEST(!UnixSocketAddress(std::string(108, 'a'), &addr));
  BOOST_TEST(!UnixSocketAddress("", &addr));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
