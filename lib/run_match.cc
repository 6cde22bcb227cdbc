#include "lib/run_match.h"

#include <openssl/sha.h>

#include "lib/http.h"

namespace jobpulse {

std::string InputDigest(std::string_view compact_json) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(compact_json.data()), compact_json.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (const unsigned char byte : digest) {
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
  }
  return out;
}

std::string WebhookUrlForJob(std::string_view webhook_url, std::string_view job_id) {
  const size_t hash = webhook_url.find('#');
  const std::string_view base = webhook_url.substr(0, hash);
  const std::string_view fragment =
      hash == std::string_view::npos ? std::string_view() : webhook_url.substr(hash);
  std::string out(base);
  if (base.find('?') == std::string_view::npos) {
    out += '?';
  } else if (base.back() != '?' && base.back() != '&') {
    out += '&';
  }
  out += "job_id=";
  out += job_id;
  out += fragment;
  return out;
}

std::string JobIdInWebhookUrl(std::string_view url) {
  const size_t question = url.find('?');
  if (question == std::string_view::npos) return "";
  std::string_view query = url.substr(question + 1);
  query = query.substr(0, query.find('#'));
  return QueryParams(query).Get("job_id").value_or("");
}

}  // namespace jobpulse
