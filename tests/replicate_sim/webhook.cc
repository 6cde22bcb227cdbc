#include "tests/replicate_sim/webhook.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace replicate_sim {
namespace {

constexpr size_t kMaxBody = 64 * 1024;

size_t Collect(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  const size_t n = size * count;
  if (out->size() < kMaxBody) out->append(data, std::min(n, kMaxBody - out->size()));
  return n;  // keep reading so the receiver is not cut off mid-response
}

int AbortWhenCancelled(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;
}

}  // namespace

DeliveryResult PostJson(const std::string& url, const std::vector<std::string>& headers,
                        const std::string& body, long timeout_ms, const std::atomic<bool>* cancel) {
  DeliveryResult result;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    result.error = "curl_easy_init failed";
    return result;
  }
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  // Without this curl waits for "100 Continue" on larger bodies, which a minimal
  // receiver may never send.
  list = curl_slist_append(list, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> list_guard(list, curl_slist_free_all);
  char error[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  // Receivers are local; an http_proxy in the environment must not reroute them.
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "replicate-sim webhook");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  if (cancel) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, AbortWhenCancelled);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(cancel));
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    result.error = error[0] ? error : curl_easy_strerror(rc);
    result.status = 0;
    return result;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

bool IsLoopbackUrl(const std::string& url) {
  // curl's own parser, so "http://127.0.0.1@example.com/" is seen as the
  // example.com host it is.
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return false;
  char* scheme = nullptr;
  char* host = nullptr;
  const bool parsed = curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
                      curl_url_get(u.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK;
  const std::string s = parsed ? scheme : "";
  std::string h = parsed ? host : "";
  curl_free(scheme);
  curl_free(host);
  for (char& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return (s == "http" || s == "https") && (h == "127.0.0.1" || h == "localhost" || h == "[::1]");
}

}  // namespace replicate_sim
