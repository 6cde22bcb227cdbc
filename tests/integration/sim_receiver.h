// A webhook receiver for the simulator's tests: an HTTP server on 127.0.0.1
// that records each POST (headers and raw body) and answers it with the next
// status of a script (200 once the script is used up), or, when silent, accepts
// connections and never answers. One connection at a time, which is all the
// simulator's sender needs (it sends one delivery per run at a time).
#ifndef JOBPULSE_TESTS_INTEGRATION_SIM_RECEIVER_H_
#define JOBPULSE_TESTS_INTEGRATION_SIM_RECEIVER_H_

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace jobpulse::testing {

class WebhookReceiver {
 public:
  struct Request {
    std::string target;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    int answered = 0;  // the status it was given
  };

  explicit WebhookReceiver(std::deque<int> script = {}, bool silent = false);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  // "http://127.0.0.1:<port><path>"
  std::string Url(const std::string& path) const;
  std::vector<Request> Requests();
  int Accepted() const { return accepted_.load(); }

 private:
  void Serve();
  void Handle(int fd);

  int listener_ = -1;
  int port_ = 0;
  bool silent_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::deque<int> script_;         // guarded by mu_
  std::vector<Request> requests_;  // guarded by mu_
  std::vector<int> held_;          // silent mode's open connections; Serve's own
  std::thread thread_;
};

}  // namespace jobpulse::testing

#endif  // JOBPULSE_TESTS_INTEGRATION_SIM_RECEIVER_H_
