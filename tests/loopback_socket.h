// For tests and benchmarks that play an HTTP client of the stack: a TCP
// connection to 127.0.0.1, and one that has asked nginx for the event stream.
// Header-only and free of Boost.Test, so the bench programs can use it too.
#ifndef JOBPULSE_TESTS_LOOPBACK_SOCKET_H_
#define JOBPULSE_TESTS_LOOPBACK_SOCKET_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace jobpulse::testing {

// A blocking socket connected to 127.0.0.1:port (close-on-exec), or -1 with
// the failing call and errno's text in *error. The caller closes it.
inline int ConnectToLoopback(int port, std::string* error) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error =
        std::string("connect to 127.0.0.1:") + std::to_string(port) + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

// ConnectToLoopback, then `GET /api/events` sent through nginx at that port
// (HTTP/1.0, Host 127.0.0.1: a name nginx answers for, SPEC §11). The answer
// is the caller's to read; -1 with *error when either step failed.
inline int OpenEventStream(int port, std::string* error) {
  const int fd = ConnectToLoopback(port, error);
  if (fd < 0) return -1;
  const std::string request = "GET /api/events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    *error = std::string("send the events request: ") + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace jobpulse::testing

#endif  // JOBPULSE_TESTS_LOOPBACK_SOCKET_H_
