// For tests that play an HTTP server: a TCP socket listening on 127.0.0.1 at
// a port the kernel picks. Fails the current test when the kernel refuses.
#ifndef JOBPULSE_TESTS_LOOPBACK_LISTENER_H_
#define JOBPULSE_TESTS_LOOPBACK_LISTENER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>

namespace jobpulse::testing {

// The listening socket (the caller closes it); its port in *port.
inline int ListenOnLoopback(int backlog, int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  BOOST_REQUIRE(listen(fd, backlog) == 0);
  socklen_t len = sizeof addr;
  BOOST_REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  *port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace jobpulse::testing

#endif  // JOBPULSE_TESTS_LOOPBACK_LISTENER_H_
