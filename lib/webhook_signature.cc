#include "lib/webhook_signature.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <string>

namespace jobpulse {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(const unsigned char* data, size_t len) {
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += kBase64Alphabet[v & 63];
  }
  if (len - i == 1) {
    const uint32_t v = uint32_t{data[i]} << 16;
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += "==";
  } else if (len - i == 2) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict RFC 4648 decoding (standard alphabet, padded to a multiple of 4), as
// Python's base64 module and Svix require: a secret with stray characters or a
// wrong length is far more likely a paste error than something to repair.
std::optional<std::string> Base64Decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  while (!in.empty() && in.back() == '=' && padding < 2) {
    in.remove_suffix(1);
    ++padding;
  }
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

bool ParseSeconds(std::string_view s, int64_t* out) {
  // 18 digits cannot overflow int64; real timestamps have 10.
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool WithinTolerance(int64_t ts, int64_t now, int64_t tolerance) {
  if (tolerance < 0) tolerance = 0;
  int64_t diff;
  // A difference that does not fit in int64 is certainly outside any tolerance.
  if (__builtin_sub_overflow(now, ts, &diff)) return false;
  if (diff == INT64_MIN) return false;
  return (diff < 0 ? -diff : diff) <= tolerance;
}

}  // namespace

std::optional<std::string> DecodeWebhookSecret(std::string_view secret) {
  if (secret.substr(0, kSecretPrefix.size()) == kSecretPrefix) {
    secret.remove_prefix(kSecretPrefix.size());
  }
  std::optional<std::string> key = Base64Decode(secret);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

namespace {

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

// A context keyed with `key`, or nullptr when OpenSSL refuses. OpenSSL 3's
// one-shot HMAC() looks HMAC and SHA-256 up by name on every call, a tenth of
// a webhook handler's time under a flood; the secret rarely changes, so each
// thread keeps one keyed context and copies it per signature.
const EVP_MAC_CTX* KeyedHmacSha256(std::string_view key) {
  struct Cached {
    std::string key;
    MacCtx ctx;
  };
  thread_local Cached cached;
  if (cached.ctx && cached.key == key) return cached.ctx.get();
  cached.ctx.reset();
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // never freed
  if (!mac) return nullptr;
  MacCtx ctx(EVP_MAC_CTX_new(mac));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  // An empty key as a string_view may have a null data(); OpenSSL wants a
  // pointer, and the length stays 0.
  static const unsigned char kEmpty = 0;
  const auto* bytes = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (!ctx || EVP_MAC_init(ctx.get(), bytes, key.size(), params) != 1) return nullptr;
  cached.key.assign(key);
  cached.ctx = std::move(ctx);
  return cached.ctx.get();
}

}  // namespace

std::string SignWebhook(std::string_view key_bytes, std::string_view webhook_id,
                        std::string_view timestamp, std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  size_t digest_len = 0;
  const EVP_MAC_CTX* keyed = KeyedHmacSha256(key_bytes);
  MacCtx ctx(keyed ? EVP_MAC_CTX_dup(keyed) : nullptr);
  const auto update = [&](std::string_view part) {
    return EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(part.data()),
                          part.size()) == 1;
  };
  // The signed content is "id.timestamp.body" (Standard Webhooks).
  if (!ctx || !update(webhook_id) || !update(".") || !update(timestamp) || !update(".") ||
      !update(body) || EVP_MAC_final(ctx.get(), digest, &digest_len, sizeof(digest)) != 1) {
    return "v1,";  // matches no signature
  }
  return "v1," + Base64Encode(digest, digest_len);
}

namespace {

// Each check's stable name (for the 401 envelope's details) and message.
struct CheckText {
  WebhookCheck check;
  const char* name;
  const char* message;
};
constexpr CheckText kCheckTexts[] = {
    {WebhookCheck::kOk, "ok", "signature valid"},
    {WebhookCheck::kMissingHeaders, "missing_headers",
     "missing webhook-id, webhook-timestamp or webhook-signature header"},
    {WebhookCheck::kBadSecret, "bad_secret",
     "webhook secret is not valid whsec_ base64 (server configuration)"},
    {WebhookCheck::kBadTimestamp, "bad_timestamp",
     "webhook-timestamp is not an integer number of seconds"},
    {WebhookCheck::kStaleTimestamp, "stale_timestamp",
     "webhook-timestamp is outside the allowed tolerance"},
    {WebhookCheck::kBadSignature, "bad_signature", "no webhook-signature entry matches"},
};

const CheckText* TextOf(WebhookCheck c) {
  for (const CheckText& text : kCheckTexts) {
    if (text.check == c) return &text;
  }
  return nullptr;
}

}  // namespace

const char* WebhookCheckMessage(WebhookCheck c) {
  const CheckText* text = TextOf(c);
  return text ? text->message : "unknown webhook check result";
}

const char* WebhookCheckName(WebhookCheck c) {
  const CheckText* text = TextOf(c);
  return text ? text->name : "unknown";
}

WebhookCheck VerifyWebhook(std::string_view secret, std::string_view webhook_id,
                           std::string_view timestamp, std::string_view signature_header,
                           std::string_view body, int64_t now_seconds, int64_t tolerance_seconds) {
  if (webhook_id.empty() || timestamp.empty() || signature_header.empty()) {
    return WebhookCheck::kMissingHeaders;
  }
  const std::optional<std::string> key = DecodeWebhookSecret(secret);
  if (!key) return WebhookCheck::kBadSecret;
  int64_t ts = 0;
  if (!ParseSeconds(timestamp, &ts)) return WebhookCheck::kBadTimestamp;
  if (!WithinTolerance(ts, now_seconds, tolerance_seconds)) return WebhookCheck::kStaleTimestamp;

  const std::string expected_entry = SignWebhook(*key, webhook_id, timestamp, body);
  const std::string_view expected = std::string_view(expected_entry).substr(3);  // after "v1,"
  if (expected.empty()) return WebhookCheck::kBadSignature;  // OpenSSL failed: nothing matches
  bool matched = false;
  std::string_view rest = signature_header;
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    const std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    const size_t comma = entry.find(',');
    if (comma == std::string_view::npos) continue;
    if (entry.substr(0, comma) != "v1") continue;
    const std::string_view candidate = entry.substr(comma + 1);
    // The length of a valid signature is public (always 44), so only the bytes need
    // a constant-time comparison. Keep scanning after a match so the time taken does
    // not reveal which entry matched.
    if (candidate.size() == expected.size() &&
        CRYPTO_memcmp(candidate.data(), expected.data(), expected.size()) == 0) {
      matched = true;
    }
  }
  return matched ? WebhookCheck::kOk : WebhookCheck::kBadSignature;
}

}  // namespace jobpulse
