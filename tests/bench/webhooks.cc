// B5 (SPEC §10): signed webhook deliveries through nginx, durable (each stored
// in the inbox before its 200), at >= 5000/s; and inbox -> SSE p99 <= 100 ms.
//
//   build/bench_webhooks [deliveries=20000] [connections=64] [pool=4]
//
// Deliveries are signed ahead of time (Standard Webhooks, lib/webhook_signature.h)
// and sent with libcurl multi over `connections` keep-alive connections. Then
// the worker applies them; an SSE client through nginx timestamps the arrival
// of each job's job_status_changed event against the moment its delivery was
// answered.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lib/store.h"
#include "lib/timestamp.h"
#include "lib/webhook_signature.h"
#include "tests/integration/stack.h"

using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Delivery {
  std::string id;
  std::string body;
  curl_slist* headers = nullptr;
  Clock::time_point answered;
  long status = 0;
};

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int connections = argc > 2 ? std::atoi(argv[2]) : 64;
  const int pool = argc > 3 ? std::atoi(argv[3]) : 4;  // make run's default pool
  curl_global_init(CURL_GLOBAL_DEFAULT);
  jobpulse::testing::StackOptions options;
  options.pool_size = pool;
  options.with_worker = true;
  options.max_requests = 1000000;
  options.extra_env = {{"REPLICATE_WEBHOOK_SECRET", kSecret},
                       {"REPLICATE_API_TOKEN", "r8_unused"},
                       {"REPLICATE_BASE_URL", "http://127.0.0.1:9/v1"}};
  // Polling stays on but has nothing to reach; deliveries are the only input.
  jobpulse::testing::Stack stack(options);
  const std::string key = *jobpulse::DecodeWebhookSecret(kSecret);
  const std::string ts = std::to_string(jobpulse::NowMicros() / 1000000);
  std::vector<Delivery> deliveries(count);
  for (int i = 0; i < count; ++i) {
    Delivery& d = deliveries[i];
    d.id = "b5run" + std::to_string(i);
    d.body = R"({"id":")" + d.id +
             R"(","model":"simpletuner/advanced-trainer-l40s","status":"processing",)"
             R"("created_at":"2026-11-28T10:00:00Z","started_at":"2026-11-28T10:00:01Z",)"
             R"("logs":"Step 10/100 - loss: 0.5\n","metrics":{}})";
    const std::string msg_id = "msg_b5_" + std::to_string(i);
    d.headers = curl_slist_append(d.headers, "Content-Type: application/json");
    d.headers = curl_slist_append(d.headers, ("webhook-id: " + msg_id).c_str());
    d.headers = curl_slist_append(d.headers, ("webhook-timestamp: " + ts).c_str());
    d.headers = curl_slist_append(
        d.headers,
        ("webhook-signature: " + jobpulse::SignWebhook(key, msg_id, ts, d.body)).c_str());
    d.headers = curl_slist_append(d.headers, "Expect:");
  }

  // An SSE client through nginx, reading in its own thread.
  std::map<std::string, Clock::time_point> seen;
  std::mutex seen_mutex;
  std::atomic<bool> stop{false};
  const int sse = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(stack.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(sse, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return 1;
  // Host: one of the names nginx answers for (SPEC §11; any other gets 421).
  const std::string request = "GET /api/events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(sse, request.data(), request.size()) < 0) return 1;
  std::thread reader([&] {
    std::string buffer;
    char buf[65536];
    while (!stop) {
      pollfd p{sse, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = read(sse, buf, sizeof(buf));
      if (n <= 0) break;
      const auto now = Clock::now();
      buffer.append(buf, static_cast<size_t>(n));
      size_t end;
      while ((end = buffer.find("\n\n")) != std::string::npos) {
        const std::string frame = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        if (frame.find("job_status_changed") == std::string::npos) continue;
        const size_t at = frame.find("\"job_id\":\"");
        if (at == std::string::npos) continue;
        const size_t from = at + 10;
        std::lock_guard<std::mutex> lock(seen_mutex);
        seen.emplace(frame.substr(from, frame.find('"', from) - from), now);
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(connections));
  const std::string url = stack.Url("/api/webhooks/replicate");
  int next = 0, running = 0, done = 0;
  const auto add = [&] {
    while (running < connections && next < count) {
      CURL* e = curl_easy_init();
      Delivery& d = deliveries[next];
      curl_easy_setopt(e, CURLOPT_URL, url.c_str());
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, d.body.c_str());
      curl_easy_setopt(e, CURLOPT_HTTPHEADER, d.headers);
      curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, Discard);
      curl_easy_setopt(e, CURLOPT_PRIVATE, &d);
      curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
      curl_multi_add_handle(multi, e);
      ++next;
      ++running;
    }
  };
  const auto start = Clock::now();
  add();
  while (running > 0) {
    int still = 0;
    curl_multi_perform(multi, &still);
    CURLMsg* msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left)) != nullptr) {
      if (msg->msg != CURLMSG_DONE) continue;
      Delivery* d = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &d);
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &d->status);
      d->answered = Clock::now();
      curl_multi_remove_handle(multi, msg->easy_handle);
      curl_easy_cleanup(msg->easy_handle);
      --running;
      ++done;
    }
    add();
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  int ok = 0;
  for (const auto& d : deliveries) ok += d.status == 200;

  // Wait (bounded) until every delivery's event has arrived.
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(seen_mutex);
      if (static_cast<int>(seen.size()) >= ok) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  reader.join();
  close(sse);
  auto store = jobpulse::Store::Open(stack.db_path());
  auto counts = (*store)->CountDeliveries();
  std::vector<double> latencies;
  for (const auto& d : deliveries) {
    const auto it = seen.find(d.id);
    if (it != seen.end()) {
      latencies.push_back(
          std::chrono::duration<double, std::milli>(it->second - d.answered).count());
    }
  }
  const double rate = ok / seconds;
  const double p99 = Percentile(latencies, 0.99);
  std::printf("B5 signed webhooks through nginx: %d deliveries, %d connections\n", count,
              connections);
  std::printf(
      "  %d answered 200 in %.2f s = %.0f/s (target >= 5000/s); inbox applied %lld, "
      "pending %lld\n",
      ok, seconds, rate, counts.ok() ? static_cast<long long>(counts->applied) : -1LL,
      counts.ok() ? static_cast<long long>(counts->pending) : -1LL);
  std::printf(
      "  200 answer -> SSE event: p50 %.1f ms, p99 %.1f ms over %zu (target p99 <= 100 ms; "
      "includes the backlog while deliveries keep arriving)\n",
      Percentile(latencies, 0.5), p99, latencies.size());
  const bool pass = ok == count && rate >= 5000 && p99 <= 100;
  std::printf("  B5 %s\n", pass ? "PASS" : "FAIL");
  for (auto& d : deliveries) curl_slist_free_all(d.headers);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return pass ? 0 : 1;
}
