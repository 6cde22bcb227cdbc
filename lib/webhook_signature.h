// Replicate webhook signatures: the Standard Webhooks (Svix) scheme described in
// reference/replicate.md §4. A delivery carries webhook-id, webhook-timestamp and
// webhook-signature headers; the signature is base64(HMAC-SHA256(key, id "." ts "." body))
// where the key is the base64-decoded part of a "whsec_..." secret.
//
// Used by the webhook receiver to authenticate deliveries and by the Replicate
// simulator to produce them, so both sides share one implementation of the format.
//
// All functions are pure (the clock is a parameter) and thread-safe: they keep no
// state and use only OpenSSL's stateless one-shot APIs.
#ifndef JOBPULSE_LIB_WEBHOOK_SIGNATURE_H_
#define JOBPULSE_LIB_WEBHOOK_SIGNATURE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jobpulse {

// Decodes "whsec_<base64>" into raw key bytes. A bare base64 string without the
// prefix is accepted too, as some tools hand out the secret that way. The base64 is
// the standard alphabet, padded to a multiple of 4 characters (as Svix issues it).
// Returns nullopt when the text is not such base64 or decodes to no bytes.
std::optional<std::string> DecodeWebhookSecret(std::string_view secret);

// Returns one signature entry, "v1,<base64 HMAC-SHA256(key_bytes, id "." timestamp "." body)>",
// or "v1," alone when OpenSSL fails (it matches no signature). `body` must be
// the exact bytes sent; re-serialised JSON would not match. Thread-safe: each
// thread keeps its own keyed HMAC context.
std::string SignWebhook(std::string_view key_bytes, std::string_view webhook_id,
                        std::string_view timestamp, std::string_view body);

enum class WebhookCheck {
  kOk,
  kMissingHeaders,  // id, timestamp or signature header empty
  kBadSecret,       // our configured secret does not decode (a server misconfiguration)
  kBadTimestamp,    // not a decimal integer number of seconds
  kStaleTimestamp,  // outside the tolerance window, either direction
  kBadSignature,    // no v1 entry matched
};

// Human-readable description for logs and error bodies. Never contains the secret,
// the expected signature or any request data. Static storage; do not free.
const char* WebhookCheckMessage(WebhookCheck c);
// The check's stable name ("bad_signature"), for machine-readable details.
const char* WebhookCheckName(WebhookCheck check);

// Verifies one delivery against the raw request body.
//  - The header is a space-separated list of "<version>,<base64>" entries; the
//    delivery is valid when any "v1" entry matches. Entries of other versions and
//    entries without a comma are skipped, not errors, so a future scheme or a
//    rotation that adds entries does not break us.
//  - Each candidate is compared in constant time (CRYPTO_memcmp) against the
//    expected value, so timing does not leak how many bytes were right.
//  - `timestamp` must be 1 to 18 ASCII digits (Unix seconds; no sign, no fraction)
//    and lie within tolerance_seconds of now_seconds in both directions (inclusive),
//    which bounds replays of captured deliveries. A negative tolerance acts as 0.
// Checks run in this order: missing headers, secret, timestamp format, staleness,
// signature; the first failure is returned.
WebhookCheck VerifyWebhook(std::string_view secret, std::string_view webhook_id,
                           std::string_view timestamp, std::string_view signature_header,
                           std::string_view body, int64_t now_seconds, int64_t tolerance_seconds);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_WEBHOOK_SIGNATURE_H_
