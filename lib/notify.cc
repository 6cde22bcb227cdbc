#include "lib/notify.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "lib/private_files.h"

namespace jobpulse {
namespace {

Status SocketError(const std::string& what, const std::string& path, int err) {
  return Status::Error(Status::Code::kUnavailable, "poke_socket_unavailable",
                       what + " " + path + ": " + std::strerror(err), {{"path", path}});
}

}  // namespace

std::string WorkerPokeSocketPath(const std::string& database_path) {
  return SocketBesideDatabase(database_path, "worker.poke");
}

void PokeWorker(const std::string& socket_path) {
  sockaddr_un addr;
  if (!UnixSocketAddress(socket_path, &addr)) return;
  // One unconnected socket for the process, made on first use: each sendto
  // names the path again, so a listener that restarted is found, and a poke
  // costs one system call instead of three (socket, sendto, close), which
  // under a webhook flood was a sixteenth of a handler's time. Safe from
  // several threads: sendto on one socket is.
  static std::atomic<int> shared_fd{-1};
  int fd = shared_fd.load();
  if (fd < 0) {
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return;  // out of descriptors: the next poke tries again
    int expected = -1;
    if (!shared_fd.compare_exchange_strong(expected, fd)) {
      close(fd);  // another thread made it first
      fd = expected;
    }
  }
  const char byte = 1;
  // Every failure is fine: ENOENT/ECONNREFUSED (no worker), EAGAIN (its queue
  // is full, so it has pokes to read anyway). The worker also polls the tables.
  ssize_t sent;
  do {
    sent = sendto(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                  sizeof(addr));
  } while (sent < 0 && errno == EINTR);
}

PokeListener::~PokeListener() {
  if (fd_ < 0) return;
  close(fd_);
  struct stat st;
  if (lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
    unlink(path_.c_str());
  }
}

Status PokeListener::Open(const std::string& socket_path) {
  if (fd_ >= 0) {
    return Status::Error(Status::Code::kInternal, "poke_socket_open",
                         "the poke listener is already open at " + path_);
  }
  sockaddr_un addr;
  if (!UnixSocketAddress(socket_path, &addr)) {
    return Status::Error(Status::Code::kUnavailable, "poke_socket_unavailable",
                         "poke socket path is empty or longer than " +
                             std::to_string(sizeof(addr.sun_path) - 1) + " bytes: " + socket_path,
                         {{"path", socket_path}});
  }
  // A datagram socket cannot be asked whether someone still listens: one
  // worker runs per database, so a socket there is a killed worker's.
  if (Status s = RemoveStaleSocket(socket_path, "poke_socket_unavailable"); !s.ok()) return s;
  struct stat st;
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketError("cannot create the poke socket for", socket_path, errno);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    return SocketError("cannot bind the poke socket", socket_path, err);
  }
  // Only the service's own user may poke (handlers and worker run as one user).
  if (chmod(socket_path.c_str(), 0600) != 0 || lstat(socket_path.c_str(), &st) != 0) {
    const int err = errno;
    close(fd);
    unlink(socket_path.c_str());
    return SocketError("cannot set up the poke socket", socket_path, err);
  }
  fd_ = fd;
  path_ = socket_path;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  return Status::Ok();
}

bool PokeListener::Drain() {
  if (fd_ < 0) return false;
  bool any = false;
  char buf[64];
  for (;;) {
    const ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n >= 0) {
      any = true;
      continue;
    }
    if (errno == EINTR) continue;
    return any;  // EAGAIN: nothing left; anything else: nothing readable either
  }
}

}  // namespace jobpulse
