// A minimal blocking HTTP/1.1 server on Boost.Beast: one thread per connection
// with keep-alive, so a handler that sleeps (an injected delay) holds up only its
// own connection. Beast stays inside server.cc; handlers see plain structs.
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_SERVER_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_SERVER_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace replicate_sim {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as received, with the query string
  std::string path;                            // percent-decoded, without the query string
  std::map<std::string, std::string> query;    // percent-decoded; last value wins
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool drop = false;  // close the connection without writing anything
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  explicit HttpServer(Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; port 0 picks an ephemeral port. False with *error set on failure.
  bool Listen(const std::string& host, int port, std::string* error);
  int port() const { return port_; }

  // Accepts until Stop(); each connection gets a detached thread.
  void Run();

  // Unblocks Run() and every connection thread, then waits up to `grace_ms` for
  // the connection threads to finish. Returns false if some are still running.
  bool Stop(int grace_ms);

 private:
  struct Impl;
  // Registers an accepted connection; false when stopping (the caller closes it).
  bool Track(int fd);
  // Called by a connection thread before it closes its socket, so Stop() never
  // shuts down a descriptor number that has been reused.
  void Untrack(int fd);
  void Finished();

  Handler handler_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable idle_;
  std::set<int> open_fds_;  // guarded by mu_
  int active_ = 0;          // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
};

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_SERVER_H_
