#include "tests/replicate_sim/server.h"

// <utility> must precede Asio: Boost 1.74 with GCC 12 uses std::exchange without
// including it (reference/stack.md §7).
#include <utility>
// Asio and Beast only below this line.
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <exception>
#include <system_error>
#include <thread>

namespace replicate_sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out += ' ';
    } else {
      out += in[i];
    }
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

HttpRequest Convert(const http::request<http::string_body>& req) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  const std::string_view target = r.target;
  const size_t question = target.find('?');
  r.path = PercentDecode(target.substr(0, question), false);
  if (question != std::string_view::npos) {
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      const size_t eq = pair.find('=');
      r.query[PercentDecode(pair.substr(0, eq), true)] =
          eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), true);
    }
  }
  for (const auto& field : req) {
    const auto name = field.name_string();
    std::string& value = r.headers[Lower(std::string_view(name.data(), name.size()))];
    if (!value.empty()) value += ", ";
    value += std::string(field.value());
  }
  r.body = req.body();
  return r;
}

void ServeConnection(tcp::socket& socket, const Handler& handler) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::read(socket, buffer, parser, ec);
    // EOF, a reset or bytes that are not HTTP: nothing useful to answer.
    if (ec) break;
    const http::request<http::string_body>& req = parser.get();
    HttpResponse out;
    try {
      out = handler(Convert(req));
    } catch (const std::exception&) {
      out = HttpResponse{};
      out.status = 500;
      out.content_type = "application/problem+json";
      out.body = R"({"detail":"replicate-sim internal error","status":500})";
    }
    if (out.drop) {
      socket.shutdown(tcp::socket::shutdown_both, ec);
      return;
    }
    http::response<http::string_body> res;
    res.version(req.version());
    res.result(static_cast<unsigned>(out.status));
    res.set(http::field::server, "replicate-sim");
    res.set(http::field::content_type, out.content_type);
    for (const auto& [name, value] : out.headers) res.set(name, value);
    res.body() = std::move(out.body);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    http::write(socket, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

std::string HttpRequest::Header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

struct HttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
};

HttpServer::HttpServer(Handler handler)
    : handler_(std::move(handler)), impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() = default;

bool HttpServer::Listen(const std::string& host, int port, std::string* error) {
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    *error = "bad address " + host + ": " + ec.message();
    return false;
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  tcp::acceptor& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
    return false;
  }
  port_ = acceptor.local_endpoint().port();
  return true;
}

void HttpServer::Run() {
  for (;;) {
    auto socket = std::make_unique<tcp::socket>(impl_->io);
    beast::error_code ec;
    impl_->acceptor.accept(*socket, ec);
    if (ec) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
      }
      // Out of descriptors or a connection reset before accept: back off briefly
      // rather than spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    const int fd = socket->native_handle();
    if (!Track(fd)) return;
    try {
      std::thread([this, fd, s = std::move(socket)]() mutable {
        ServeConnection(*s, handler_);
        Untrack(fd);
        s.reset();  // closes before Finished(), so Stop() never waits on a dead socket
        Finished();
      }).detach();
    } catch (const std::system_error&) {
      // No thread available: the socket was moved into the failed lambda and is
      // closed with it; just balance the bookkeeping.
      Untrack(fd);
      Finished();
    }
  }
}

bool HttpServer::Track(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  open_fds_.insert(fd);
  ++active_;
  return true;
}

void HttpServer::Untrack(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  open_fds_.erase(fd);
}

void HttpServer::Finished() {
  std::lock_guard<std::mutex> lock(mu_);
  --active_;
  idle_.notify_all();
}

bool HttpServer::Stop(int grace_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  // shutdown(2) rather than close: it wakes a thread blocked in accept() or
  // read() on the descriptor without freeing the number under its feet.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  return idle_.wait_for(lock, std::chrono::milliseconds(grace_ms), [this] { return active_ == 0; });
}

}  // namespace replicate_sim
