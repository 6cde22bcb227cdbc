// HttpClient's many-request calls against a small server on 127.0.0.1 that
// answers GET /delay/MS/NAME after MS milliseconds with body NAME, one
// connection per request, and counts what it saw.
#include "lib/http_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/loopback_listener.h"

namespace jobpulse {
namespace {

class DelayServer {
 public:
  DelayServer() {
    fd_ = testing::ListenOnLoopback(64, &port_);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~DelayServer() {
    shutdown(fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    for (auto& t : connections_) t.join();
    close(fd_);
  }

  OutboundRequest Get(int delay_ms, const std::string& name) const {
    OutboundRequest request;
    request.url = "http://127.0.0.1:" + std::to_string(port_) + "/delay/" +
                  std::to_string(delay_ms) + "/" + name;
    return request;
  }
  int requests() const { return requests_; }
  // requests() once it reaches `at_least` or after `limit`: a connection the
  // client cut early may still wait in the backlog for the acceptor thread.
  int RequestsWhenAtLeast(int at_least, std::chrono::milliseconds limit) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (requests_ < at_least && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return requests_;
  }
  int max_in_flight() const { return max_in_flight_; }

 private:
  void Accept() {
    for (int i = 0; i < 200; ++i) {  // bounded: no test sends more
      const int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      connections_.emplace_back([this, conn] { Answer(conn); });
    }
  }

  void Answer(int conn) {
    const int now = ++in_flight_;
    for (int seen = max_in_flight_;
         now > seen && !max_in_flight_.compare_exchange_weak(seen, now);) {
    }
    ++requests_;
    std::string head;
    char buf[1024];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = read(conn, buf, sizeof buf);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    // "GET /delay/MS/NAME HTTP/1.1"
    const size_t path = head.find("/delay/");
    const int delay_ms = path == std::string::npos ? 0 : std::atoi(head.c_str() + path + 7);
    const size_t name_at = head.find('/', path + 7) + 1;
    const std::string name = head.substr(name_at, head.find(' ', name_at) - name_at);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    --in_flight_;
    const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(name.size()) +
        "\r\nConnection: close\r\n\r\n" + name;
    (void)!write(conn, response.data(), response.size());
    close(conn);
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::atomic<int> requests_{0};
};

std::string Body(const Result<OutboundResponse>& r) {
  return r.ok() ? r->body : r.status().ToString();
}

BOOST_AUTO_TEST_SUITE(http_client)

BOOST_AUTO_TEST_CASE(request_outcomes_name_the_answer_for_the_metrics) {
  const auto answer = [](long status) {
    OutboundResponse r;
    r.status = status;
    return Result<OutboundResponse>(r);
  };
  BOOST_TEST(RequestOutcome(answer(200)) == "ok");
  BOOST_TEST(RequestOutcome(answer(201)) == "ok");
  BOOST_TEST(RequestOutcome(answer(404)) == "not_found");
  BOOST_TEST(RequestOutcome(answer(429)) == "rate_limited");
  BOOST_TEST(RequestOutcome(answer(401)) == "client_error");
  BOOST_TEST(RequestOutcome(answer(503)) == "server_error");
  BOOST_TEST(RequestOutcome(answer(302)) == "server_error");
  BOOST_TEST(RequestOutcome(Result<OutboundResponse>(Status::Error(
                 Status::Code::kUpstream, "provider_error", "timed out"))) == "transport_error");
  BOOST_TEST(RequestOutcome(Result<OutboundResponse>(NotReached())) == "");
}

BOOST_AUTO_TEST_CASE(perform_each_hands_over_answers_as_they_arrive) {
  DelayServer server;
  HttpClient client;
  const std::vector<OutboundRequest> requests = {server.Get(400, "slow"), server.Get(0, "fast1"),
                                                 server.Get(0, "fast2")};
  std::vector<std::string> order;
  client.PerformEach(
      requests, 2, 10000, [] { return true; },
      [&](size_t index, Result<OutboundResponse> r) {
        order.push_back(std::to_string(index) + ":" + Body(r));
      });
  // The slow one was started first and ends last; the window of 2 let the
  // third start as soon as the second ended.
  const std::vector<std::string> expected = {"1:fast1", "2:fast2", "0:slow"};
  BOOST_TEST(order == expected, boost::test_tools::per_element());
  BOOST_TEST(server.requests() == 3);
  BOOST_TEST(server.max_in_flight() <= 2);
}

BOOST_AUTO_TEST_CASE(perform_each_starts_nothing_once_told_to_stop) {
  DelayServer server;
  HttpClient client;
  std::vector<OutboundRequest> requests;
  for (int i = 0; i < 6; ++i) requests.push_back(server.Get(0, "r" + std::to_string(i)));
  int answered = 0;
  int allowed = 0;
  std::vector<size_t> not_reached;
  client.PerformEach(
      requests, 1, 10000, [&] { return ++allowed <= 2; },
      [&](size_t index, Result<OutboundResponse> r) {
        if (r.ok()) {
          BOOST_TEST(r->body == "r" + std::to_string(index));
          ++answered;
        } else {
          BOOST_TEST(IsNotReached(r.status()));
          not_reached.push_back(index);
        }
      });
  // keep_starting said yes twice, then no: the other four were never sent
  // and come back NotReached in request order.
  BOOST_TEST(answered == 2);
  const std::vector<size_t> expected = {2, 3, 4, 5};
  BOOST_TEST(not_reached == expected, boost::test_tools::per_element());
  BOOST_TEST(server.requests() == 2);
}

BOOST_AUTO_TEST_CASE(perform_all_keeps_request_order_and_the_window) {
  DelayServer server;
  HttpClient client;
  std::vector<OutboundRequest> requests;
  for (int i = 0; i < 8; ++i) requests.push_back(server.Get(i % 2 ? 0 : 100, std::to_string(i)));
  const auto results = client.PerformAll(requests, 3, 10000);
  BOOST_TEST_REQUIRE(results.size() == 8u);
  for (int i = 0; i < 8; ++i) BOOST_TEST(Body(results[i]) == std::to_string(i));
  BOOST_TEST(server.requests() == 8);
  BOOST_TEST(server.max_in_flight() <= 3);
  BOOST_TEST(server.max_in_flight() >= 2);
}

BOOST_AUTO_TEST_CASE(requests_not_started_within_the_budget_are_not_reached) {
  DelayServer server;
  HttpClient client;
  const std::vector<OutboundRequest> requests = {server.Get(1500, "a"), server.Get(0, "b")};
  // One at a time with a 300 ms budget: the first is cut at the deadline (its
  // timeout shrank to the budget), the second never starts. The bound on the
  // time is the server's 1.5 s delay, the point where the first request would
  // have run to its end; anything tighter failed once on a loaded CI machine
  // (sanitizers, 2 cores).
  const auto start = std::chrono::steady_clock::now();
  const auto results = client.PerformAll(requests, 1, 300);
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(!results[0].ok());
  BOOST_TEST(!IsNotReached(results[0].status()));
  BOOST_TEST(IsNotReached(results[1].status()));
  BOOST_TEST(server.RequestsWhenAtLeast(1, std::chrono::seconds(5)) == 1);
  BOOST_TEST(took < std::chrono::milliseconds(1500));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
