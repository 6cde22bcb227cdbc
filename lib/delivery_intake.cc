#include "lib/delivery_intake.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "lib/log.h"
#include "lib/private_files.h"
#include "lib/store.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

// More connections than any handler pool; a handler keeps one.
constexpr size_t kMaxConnections = 256;

Status IntakeError(const std::string& what, const std::string& path, int err) {
  return Status::Error(Status::Code::kUnavailable, "intake_unavailable",
                       what + " " + path + (err ? std::string(": ") + std::strerror(err) : ""),
                       {{"path", path}});
}

template <typename T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
bool Take(std::string_view* in, T* value) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(value, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

// The payload of one request (after its length): false when malformed.
bool ParseRequest(std::string_view in, Store::NewDelivery* out) {
  uint16_t id_length = 0;
  uint8_t provider_length = 0;
  if (!Take(&in, &id_length) || id_length == 0 || in.size() < id_length) return false;
  out->webhook_id.assign(in.substr(0, id_length));
  in.remove_prefix(id_length);
  if (!Take(&in, &provider_length) || provider_length == 0 || in.size() < provider_length) {
    return false;
  }
  out->provider.assign(in.substr(0, provider_length));
  in.remove_prefix(provider_length);
  if (!Take(&in, &out->received_at)) return false;
  out->body.assign(in);
  return true;
}

int MillisLeft(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

std::string IntakeSocketPath(const std::string& database_path) {
  return SocketBesideDatabase(database_path, "worker.intake");
}

// --- IntakeClient -------------------------------------------------------------------------

IntakeClient::~IntakeClient() { Close(); }

void IntakeClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool IntakeClient::Connect(int64_t now) {
  if (fd_ >= 0) return true;
  if (now < retry_connect_at_) return false;
  sockaddr_un addr;
  fd_ = UnixSocketAddress(path_, &addr)
            ? socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
            : -1;
  // A unix socket connects at once or not at all (no worker, or its backlog
  // is full); EAGAIN is that full backlog.
  if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Close();
    retry_connect_at_ = now + kMicrosPerSecond;
    return false;
  }
  return true;
}

Result<bool> IntakeClient::Submit(std::string_view webhook_id, std::string_view provider,
                                  std::string_view body, int64_t received_at, int timeout_ms,
                                  int64_t now) {
  const auto unavailable = [&](const char* why) -> Status {
    Close();  // whatever the worker answers later must not be read as the next answer
    // A worker that did not answer is not asked again for a second: a stuck
    // one would otherwise cost every delivery the whole timeout.
    retry_connect_at_ = now + kMicrosPerSecond;
    return Status::Error(Status::Code::kUnavailable, "intake_unavailable", why);
  };
  const size_t payload = 2 + webhook_id.size() + 1 + provider.size() + 8 + body.size();
  if (webhook_id.empty() || webhook_id.size() > UINT16_MAX || provider.empty() ||
      provider.size() > UINT8_MAX || payload > kMaxIntakeFrameBytes) {
    return Status::Error(Status::Code::kUnavailable, "intake_unavailable",
                         "the delivery does not fit the intake's request");
  }
  if (!Connect(now))
    return Status::Error(Status::Code::kUnavailable, "intake_unavailable",
                         "no worker listens on " + path_);
  std::string request;
  request.reserve(4 + payload);
  Put(&request, static_cast<uint32_t>(payload));
  Put(&request, static_cast<uint16_t>(webhook_id.size()));
  request.append(webhook_id);
  Put(&request, static_cast<uint8_t>(provider.size()));
  request.append(provider);
  Put(&request, received_at);
  request.append(body);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return unavailable("the worker's intake connection broke");
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, MillisLeft(deadline)) <= 0) return unavailable("the worker did not read");
  }
  for (;;) {
    char answer = 0;
    const ssize_t n = recv(fd_, &answer, 1, 0);
    if (n == 1) {
      if (answer == 'I') return true;
      if (answer == 'D') return false;
      return unavailable("the worker could not store the delivery");
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || errno != EAGAIN) return unavailable("the worker's intake connection broke");
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, MillisLeft(deadline)) <= 0) return unavailable("the worker did not answer");
  }
}

// --- IntakeServer -------------------------------------------------------------------------

// The requests read in one pass, and the connection each came from.
struct IntakeServer::Batch {
  std::vector<Store::NewDelivery> deliveries;
  std::vector<size_t> owners;
};

struct IntakeServer::State {
  struct Connection {
    int fd = -1;
    std::string in;
    bool closed = false;
  };

  // Takes every waiting connection, up to kMaxConnections (the rest are closed).
  void AcceptAll();
  // Appends what `c` has to read to c.in; marks it closed at EOF, on an error
  // or past the frame limit.
  static void Receive(Connection& c);
  // Moves the complete requests at the front of c.in into `batch` (as
  // `owner`'s); a malformed or oversized one closes the connection.
  static void CutRequests(Connection& c, size_t owner, Batch* batch);

  int listen_fd = -1;
  std::unique_ptr<Store> store;
  std::vector<Connection> connections;
};

void IntakeServer::State::AcceptAll() {
  int fd;
  while ((fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
    if (connections.size() >= kMaxConnections) {
      close(fd);
      continue;
    }
    connections.push_back({fd, {}, false});
  }
}

void IntakeServer::State::Receive(Connection& c) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = recv(c.fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      c.in.append(buffer, static_cast<size_t>(n));
      if (c.in.size() > kMaxIntakeFrameBytes + 4) c.closed = true;
      if (c.closed || n < static_cast<ssize_t>(sizeof(buffer))) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || errno != EAGAIN) c.closed = true;  // the handler went away
    return;
  }
}

void IntakeServer::State::CutRequests(Connection& c, size_t owner, Batch* batch) {
  size_t at = 0;
  while (!c.closed && c.in.size() - at >= 4) {
    uint32_t length = 0;
    std::memcpy(&length, c.in.data() + at, 4);
    if (length > kMaxIntakeFrameBytes) {
      c.closed = true;
      break;
    }
    if (c.in.size() - at - 4 < length) break;
    Store::NewDelivery d;
    if (!ParseRequest(std::string_view(c.in).substr(at + 4, length), &d)) {
      c.closed = true;
      break;
    }
    batch->deliveries.push_back(std::move(d));
    batch->owners.push_back(owner);
    at += 4 + length;
  }
  c.in.erase(0, at);
}

IntakeServer::IntakeServer(std::string socket_path, std::string database_path,
                           std::string database_url, std::function<void()> on_stored)
    : socket_path_(std::move(socket_path)),
      database_path_(std::move(database_path)),
      database_url_(std::move(database_url)),
      on_stored_(std::move(on_stored)) {}

IntakeServer::~IntakeServer() { Stop(); }

Status IntakeServer::Start() {
  if (state_) return Status::Error(Status::Code::kInternal, "intake_started", "already started");
  auto state = std::make_unique<State>();
  auto store = Store::Open(database_path_, database_url_);
  if (!store.ok()) return store.status();
  state->store = std::move(*store);
  sockaddr_un addr;
  if (!UnixSocketAddress(socket_path_, &addr)) {
    return IntakeError("intake socket path is empty or too long:", socket_path_, 0);
  }
  // One worker runs per database: a socket file there is a killed worker's.
  if (Status s = RemoveStaleSocket(socket_path_, "intake_unavailable"); !s.ok()) return s;
  state->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (state->listen_fd < 0) return IntakeError("cannot create the intake socket", "", errno);
  if (bind(state->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      chmod(socket_path_.c_str(), 0600) != 0 || listen(state->listen_fd, 128) != 0) {
    const int err = errno;
    close(state->listen_fd);
    unlink(socket_path_.c_str());
    return IntakeError("cannot set up the intake socket", socket_path_, err);
  }
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int err = errno;
    close(state->listen_fd);
    unlink(socket_path_.c_str());
    return IntakeError("cannot create the intake's wake pipe for", socket_path_, err);
  }
  state_ = std::move(state);
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void IntakeServer::Stop() {
  if (!state_) return;
  stop_ = true;
  if (thread_.joinable()) {
    const char byte = 1;
    (void)!write(wake_[1], &byte, 1);
    thread_.join();
  }
  for (auto& c : state_->connections) close(c.fd);
  close(state_->listen_fd);
  unlink(socket_path_.c_str());
  close(wake_[0]);
  close(wake_[1]);
  state_.reset();
}

void IntakeServer::Run() {
  State& st = *state_;
  std::vector<pollfd> fds;
  Batch batch;
  while (!stop_) {
    fds.assign({{wake_[0], POLLIN, 0}, {st.listen_fd, POLLIN, 0}});
    for (const auto& c : st.connections) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
    if (stop_) break;
    // Connections accepted now are polled next time: fds[i + 2] is connection i.
    const size_t polled = fds.size() - 2;
    if (fds[1].revents & POLLIN) st.AcceptAll();
    batch.deliveries.clear();
    batch.owners.clear();
    for (size_t i = 0; i < polled; ++i) {
      if (!(fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      State::Receive(st.connections[i]);
      State::CutRequests(st.connections[i], i, &batch);
    }
    if (!batch.deliveries.empty()) StoreAndAnswer(batch);
    std::erase_if(st.connections, [](const State::Connection& c) {
      if (c.closed) close(c.fd);
      return c.closed;
    });
  }
}

void IntakeServer::StoreAndAnswer(const Batch& batch) {
  State& st = *state_;
  auto inserted = st.store->InsertDeliveries(batch.deliveries);
  if (!inserted.ok()) LogWarning("webhook intake: " + inserted.status().ToString());
  // Counted and the worker poked before any handler has its answer: whoever
  // learns a delivery is stored also finds it in stored() (a test read 399 of
  // 400 when the count came after the answers).
  const int64_t stored = inserted.ok() ? std::count(inserted->begin(), inserted->end(), true) : 0;
  if (stored > 0) {
    stored_ += stored;
    if (on_stored_) on_stored_();
  }
  for (size_t k = 0; k < batch.deliveries.size(); ++k) {
    State::Connection& c = st.connections[batch.owners[k]];
    const char answer = !inserted.ok() ? 'E' : (*inserted)[k] ? 'I' : 'D';
    if (!c.closed && send(c.fd, &answer, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) c.closed = true;
  }
}

}  // namespace jobpulse
