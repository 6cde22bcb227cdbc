#include "tests/bench/flood/http_flood.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>

#include "tests/loopback_socket.h"

namespace jobpulse::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  long request = -1;  // index into the batch, -1 when idle
  size_t written = 0;
  uint32_t watching = 0;  // the epoll events registered
  std::string in;
};

enum class Parse { kIncomplete, kComplete, kMalformed };

struct Answer {
  int status = 0;
  size_t length = 0;  // bytes of the buffer the answer takes
  bool close = false;
};

// Looks for a header's value on the lines of `head` (case-insensitive name).
bool HeaderValue(std::string_view head, std::string_view name, std::string_view* value) {
  size_t at = head.find("\r\n");
  while (at != std::string_view::npos && at + 2 < head.size()) {
    const size_t start = at + 2;
    const size_t end = std::min(head.find("\r\n", start), head.size());
    const std::string_view line = head.substr(start, end - start);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      *value = v;
      return true;
    }
    at = end;
  }
  return false;
}

Parse ParseAnswer(const std::string& in, Answer* answer) {
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos)
    return in.size() > 65536 ? Parse::kMalformed : Parse::kIncomplete;
  const std::string_view head(in.data(), head_end);
  if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) return Parse::kMalformed;
  answer->status = std::atoi(std::string(head.substr(9, 3)).c_str());
  std::string_view value;
  answer->close =
      HeaderValue(head, "Connection", &value) && strncasecmp(value.data(), "close", 5) == 0;
  const size_t body = head_end + 4;
  if (HeaderValue(head, "Content-Length", &value)) {
    const size_t length = std::strtoul(std::string(value).c_str(), nullptr, 10);
    if (in.size() < body + length) return Parse::kIncomplete;
    answer->length = body + length;
    return Parse::kComplete;
  }
  if (HeaderValue(head, "Transfer-Encoding", &value)) {
    const size_t last = in.find("0\r\n\r\n", body);  // our answers' bodies are JSON
    if (last == std::string::npos) return Parse::kIncomplete;
    answer->length = last + 5;
    return Parse::kComplete;
  }
  if (answer->status == 204 || answer->status == 304) {
    answer->length = body;
    return Parse::kComplete;
  }
  return Parse::kMalformed;
}

// A loopback connection set up for the flood: no Nagle, non-blocking.
int Connect(int port, std::string* error) {
  const int fd = jobpulse::testing::ConnectToLoopback(port, error);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

class Flooder {
 public:
  Flooder(const FloodOptions& options, std::vector<FloodRequest>& requests)
      : options_(options), requests_(requests), epoll_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~Flooder() {
    for (Connection& c : connections_) {
      if (c.fd >= 0) close(c.fd);
    }
    if (epoll_ >= 0) close(epoll_);
  }

  std::string Run() {
    if (epoll_ < 0) return "epoll_create1 failed";
    connections_.resize(static_cast<size_t>(std::max(1, options_.connections)));
    for (size_t i = 0; i < connections_.size(); ++i) {
      if (!Open(i) || !Assign(i)) return error_;
    }
    const auto deadline = Clock::now() + options_.deadline;
    epoll_event events[256];
    while (answered_ < requests_.size()) {
      if (Clock::now() > deadline) return "deadline passed with requests unanswered";
      const int n = epoll_wait(epoll_, events, 256, 100);
      for (int k = 0; k < n; ++k) {
        const size_t i = events[k].data.u64;
        if ((events[k].events & EPOLLOUT) && !Write(i)) return error_;
        if ((events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !Read(i)) return error_;
      }
    }
    return "";
  }

 private:
  bool Open(size_t i) {
    Connection& c = connections_[i];
    if (c.fd >= 0) close(c.fd);
    c = Connection{};
    c.fd = Connect(options_.port, &error_);
    if (c.fd < 0) return false;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    c.watching = EPOLLIN;
    return epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev) == 0 || Fail("epoll_ctl add failed");
  }

  // Gives connection i its next request, if any is left.
  bool Assign(size_t i) {
    Connection& c = connections_[i];
    c.request = -1;
    if (!retry_.empty()) {
      c.request = retry_.front();
      retry_.pop_front();
    } else if (next_ < requests_.size()) {
      c.request = static_cast<long>(next_++);
    }
    c.written = 0;
    return c.request < 0 || Write(i);
  }

  bool Write(size_t i) {
    Connection& c = connections_[i];
    if (c.request < 0) return true;
    const std::string& bytes = requests_[static_cast<size_t>(c.request)].bytes;
    while (c.written < bytes.size()) {
      const ssize_t n = write(c.fd, bytes.data() + c.written, bytes.size() - c.written);
      if (n > 0) {
        c.written += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return Watch(i, EPOLLIN | EPOLLOUT);
      return Reopen(i);  // the server went away mid-request: send it again
    }
    return Watch(i, EPOLLIN);
  }

  bool Read(size_t i) {
    Connection& c = connections_[i];
    char buffer[16384];
    for (;;) {
      const ssize_t n = read(c.fd, buffer, sizeof(buffer));
      if (n > 0) {
        c.in.append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      // Closed (or reset): an answer in progress is lost, an unstarted one is retried.
      if (!c.in.empty()) return Fail("the server closed a connection in the middle of an answer");
      return Reopen(i);
    }
    Answer answer;
    switch (ParseAnswer(c.in, &answer)) {
      case Parse::kIncomplete:
        return true;
      case Parse::kMalformed:
        return Fail("malformed answer: " + c.in.substr(0, 80));
      case Parse::kComplete:
        break;
    }
    if (c.request < 0 || answer.length != c.in.size()) return Fail("an answer nobody asked for");
    FloodRequest& request = requests_[static_cast<size_t>(c.request)];
    request.status = answer.status;
    request.answered = Clock::now();
    ++answered_;
    c.in.clear();
    if (answer.close && !Open(i)) return false;
    return Assign(i);
  }

  bool Reopen(size_t i) {
    if (connections_[i].request >= 0) retry_.push_back(connections_[i].request);
    if (++reopens_ > requests_.size() + connections_.size()) {
      return Fail("the server keeps closing connections");
    }
    return Open(i) && Assign(i);
  }

  // Changes the registration only when it differs: one syscall saved per request.
  bool Watch(size_t i, uint32_t events) {
    if (connections_[i].watching == events) return true;
    connections_[i].watching = events;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = i;
    return epoll_ctl(epoll_, EPOLL_CTL_MOD, connections_[i].fd, &ev) == 0 ||
           Fail("epoll_ctl mod failed");
  }

  bool Fail(std::string why) {
    error_ = std::move(why);
    return false;
  }

  const FloodOptions& options_;
  std::vector<FloodRequest>& requests_;
  const int epoll_;
  std::vector<Connection> connections_;
  std::deque<long> retry_;
  size_t next_ = 0;
  size_t answered_ = 0;
  size_t reopens_ = 0;
  std::string error_;
};

}  // namespace

std::string Flood(const FloodOptions& options, std::vector<FloodRequest>& requests) {
  if (requests.empty()) return "";
  return Flooder(options, requests).Run();
}

}  // namespace jobpulse::bench
