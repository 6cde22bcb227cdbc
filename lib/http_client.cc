#include "lib/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>

namespace jobpulse {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

size_t OnHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  auto* response = static_cast<OutboundResponse*>(out);
  // A new status line (after a redirect or 100-continue) starts a new header set.
  if (line.rfind("HTTP/", 0) == 0) response->headers.clear();
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    size_t start = colon + 1;
    while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) ++start;
    size_t end = line.size();
    while (end > start && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
      --end;
    response->headers.emplace_back(std::move(name), line.substr(start, end - start));
  }
  return size * n;
}

// One transfer: the easy handle, its header list and where the answer goes.
struct Transfer {
  EasyHandle easy;
  HeaderList headers;
  OutboundResponse response;
  char error[CURL_ERROR_SIZE] = {0};
  size_t max_body = kMaxProviderResponseBytes;
  bool too_large = false;  // the body went over max_body; the transfer was aborted
};

size_t OnBody(char* data, size_t size, size_t n, void* out) {
  auto* t = static_cast<Transfer*>(out);
  if (size * n > t->max_body - t->response.body.size()) {
    t->too_large = true;
    return 0;  // CURLE_WRITE_ERROR: stop reading
  }
  t->response.body.append(data, size * n);
  return size * n;
}

void Configure(Transfer* t, const OutboundRequest& request) {
  CURL* e = t->easy.get();
  curl_slist* list = nullptr;
  for (const auto& h : request.headers) list = curl_slist_append(list, h.c_str());
  // libcurl would otherwise wait for "100 Continue" before sending larger bodies.
  list = curl_slist_append(list, "Expect:");
  t->headers.reset(list);
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "POST" || !request.body.empty()) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, request.connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "jobpulse/0.1");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  t->max_body = request.max_response_bytes;
  // Refused before any byte is read when Content-Length already says so.
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t->max_body));
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t->response);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
}

Result<OutboundResponse> Finish(Transfer* t, CURLcode rc, const OutboundRequest& request) {
  if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return Status::Error(Status::Code::kUpstream, "provider_error",
                         request.method + " " + request.url + " failed: the response is over " +
                             std::to_string(request.max_response_bytes) + " bytes");
  }
  if (rc != CURLE_OK) {
    // The URL carries no secret (tokens travel in headers), so it may be named.
    std::string detail = t->error[0] ? t->error : curl_easy_strerror(rc);
    return Status::Error(Status::Code::kUpstream, "provider_error",
                         request.method + " " + request.url + " failed (unreachable): " + detail);
  }
  curl_easy_getinfo(t->easy.get(), CURLINFO_RESPONSE_CODE, &t->response.status);
  return std::move(t->response);
}

}  // namespace

std::string OutboundResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

struct HttpClient::Impl {
  EasyHandle easy;  // reused by Perform so its connection stays warm
  std::unique_ptr<CURLM, MultiDeleter> multi;
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) { GlobalInitOnce(); }
HttpClient::~HttpClient() = default;

Result<OutboundResponse> HttpClient::Perform(const OutboundRequest& request) {
  if (!impl_->easy) impl_->easy.reset(curl_easy_init());
  curl_easy_reset(impl_->easy.get());
  Transfer t;
  t.easy.reset(impl_->easy.release());
  Configure(&t, request);
  const CURLcode rc = curl_easy_perform(t.easy.get());
  auto result = Finish(&t, rc, request);
  impl_->easy.reset(t.easy.release());
  return result;
}

Status NotReached() {
  return Status::Error(Status::Code::kUnavailable, "not_reached",
                       "not started within the time budget");
}

bool IsNotReached(const Status& status) {
  return status.code() == Status::Code::kUnavailable && status.error() == "not_reached";
}

std::string_view RequestOutcome(const Result<OutboundResponse>& response) {
  if (!response.ok()) return IsNotReached(response.status()) ? "" : "transport_error";
  const long status = response->status;
  if (status >= 200 && status < 300) return "ok";
  if (status == 404) return "not_found";
  if (status == 429) return "rate_limited";
  if (status >= 400 && status < 500) return "client_error";
  return "server_error";
}

std::vector<Result<OutboundResponse>> HttpClient::PerformAll(
    const std::vector<OutboundRequest>& requests, int max_parallel, long budget_ms) {
  std::vector<Result<OutboundResponse>> results(requests.size(),
                                                Result<OutboundResponse>(NotReached()));
  PerformEach(
      requests, max_parallel, budget_ms, [] { return true; },
      [&](size_t index, Result<OutboundResponse> response) {
        results[index] = std::move(response);
      });
  return results;
}

// Adds request `index` to `multi`, its timeouts cut to the `left_ms` of the
// call's budget: no transfer outlives the deadline of the whole call.
std::unique_ptr<Transfer> StartTransfer(CURLM* multi, const OutboundRequest& request, size_t index,
                                        long left_ms) {
  auto t = std::make_unique<Transfer>();
  t->easy.reset(curl_easy_init());
  Configure(t.get(), request);
  curl_easy_setopt(t->easy.get(), CURLOPT_TIMEOUT_MS, std::min(request.timeout_ms, left_ms));
  curl_easy_setopt(t->easy.get(), CURLOPT_CONNECTTIMEOUT_MS,
                   std::min(request.connect_timeout_ms, left_ms));
  curl_easy_setopt(t->easy.get(), CURLOPT_PRIVATE, reinterpret_cast<char*>(index));
  curl_multi_add_handle(multi, t->easy.get());
  return t;
}

void HttpClient::PerformEach(const std::vector<OutboundRequest>& requests, int max_parallel,
                             long budget_ms, const std::function<bool()>& keep_starting,
                             const OnResponse& on_response) {
  if (requests.empty()) return;
  if (!impl_->multi) impl_->multi.reset(curl_multi_init());
  CURLM* multi = impl_->multi.get();
  max_parallel = std::max(1, max_parallel);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);

  std::vector<std::unique_ptr<Transfer>> transfers(requests.size());
  size_t next = 0;
  int running = 0;
  bool starting = true;
  const auto start_more = [&] {
    while (starting && running < max_parallel && next < requests.size()) {
      const long left_ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 deadline - std::chrono::steady_clock::now())
                                                 .count());
      if (left_ms < kMinTransferMs || !keep_starting()) {
        starting = false;
        break;
      }
      transfers[next] = StartTransfer(multi, requests[next], next, left_ms);
      ++next;
      ++running;
    }
  };
  start_more();
  while (running > 0) {
    int still_running = 0;
    curl_multi_perform(multi, &still_running);
    CURLMsg* msg;
    int queued;
    while ((msg = curl_multi_info_read(multi, &queued)) != nullptr) {
      if (msg->msg != CURLMSG_DONE) continue;
      char* index_ptr = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &index_ptr);
      const size_t index = reinterpret_cast<size_t>(index_ptr);
      const CURLcode rc = msg->data.result;
      curl_multi_remove_handle(multi, msg->easy_handle);
      Result<OutboundResponse> result = Finish(transfers[index].get(), rc, requests[index]);
      transfers[index].reset();
      --running;
      // Refill before the callback's work: the new transfers' waits on the
      // server then overlap with it.
      start_more();
      on_response(index, std::move(result));
    }
    start_more();
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  for (; next < requests.size(); ++next) on_response(next, NotReached());
}

}  // namespace jobpulse
