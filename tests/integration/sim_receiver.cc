#include "tests/integration/sim_receiver.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "tests/loopback_listener.h"

namespace jobpulse::testing {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads until `have` holds `n` bytes or the peer stops (the read timeout ends
// a stalled one).
bool ReadUntil(int fd, std::string* have, size_t n) {
  char buf[8192];
  while (have->size() < n) {
    const ssize_t got = read(fd, buf, sizeof buf);
    if (got <= 0) return false;
    have->append(buf, static_cast<size_t>(got));
  }
  return true;
}

}  // namespace

WebhookReceiver::WebhookReceiver(std::deque<int> script, bool silent)
    : silent_(silent), script_(std::move(script)) {
  listener_ = ListenOnLoopback(16, &port_);
  thread_ = std::thread([this] { Serve(); });
}

WebhookReceiver::~WebhookReceiver() {
  stop_ = true;
  thread_.join();
  for (int fd : held_) close(fd);
  close(listener_);
}

std::string WebhookReceiver::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<WebhookReceiver::Request> WebhookReceiver::Requests() {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void WebhookReceiver::Serve() {
  while (!stop_) {
    pollfd p{listener_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int fd = accept(listener_, nullptr, nullptr);
    if (fd < 0) continue;
    ++accepted_;
    if (silent_) {
      held_.push_back(fd);
      continue;
    }
    Handle(fd);
    close(fd);
  }
}

void WebhookReceiver::Handle(int fd) {
  const timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string data;
  size_t header_end = std::string::npos;
  char buf[8192];
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t got = read(fd, buf, sizeof buf);
    if (got <= 0) return;
    data.append(buf, static_cast<size_t>(got));
  }
  Request req;
  size_t line_end = data.find("\r\n");
  const std::string request_line = data.substr(0, line_end);
  const size_t sp = request_line.find(' ');
  req.target = request_line.substr(sp + 1, request_line.rfind(' ') - sp - 1);
  while (line_end < header_end) {
    const size_t next = data.find("\r\n", line_end + 2);
    const std::string line = data.substr(line_end + 2, next - line_end - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      const size_t value = line.find_first_not_of(' ', colon + 1);
      req.headers[Lower(line.substr(0, colon))] =
          value == std::string::npos ? "" : line.substr(value);
    }
    line_end = next;
  }
  const size_t length = std::strtoul(req.headers["content-length"].c_str(), nullptr, 10);
  if (!ReadUntil(fd, &data, header_end + 4 + length)) return;
  req.body = data.substr(header_end + 4, length);
  {
    std::lock_guard<std::mutex> lock(mu_);
    req.answered = script_.empty() ? 200 : script_.front();
    if (!script_.empty()) script_.pop_front();
    requests_.push_back(req);
  }
  const std::string answer = "HTTP/1.1 " + std::to_string(req.answered) +
                             " Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  (void)!write(fd, answer.data(), answer.size());
}

}  // namespace jobpulse::testing
