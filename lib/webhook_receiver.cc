#include "lib/webhook_receiver.h"

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <string>
#include <string_view>
#include <utility>

#include "lib/job.h"
#include "lib/json_limits.h"
#include "lib/log.h"
#include "lib/notify.h"
#include "lib/replicate_run.h"
#include "lib/timestamp.h"
#include "lib/webhook_signature.h"

namespace jobpulse {
namespace {

// How long a webhook secret fetched from the provider is trusted (SPEC §2, as
// SimpleTuner does): a rotated secret is picked up within this time.
constexpr int64_t kSecretTtl = 300 * kMicrosPerSecond;
// How long a handler waits for the worker's intake before storing a delivery
// itself (lib/delivery_intake.h).
constexpr int kIntakeTimeoutMs = 2000;
// A throwaway key: with it, VerifyWebhook's verdict is meaningful only for the
// checks that need no secret (headers, timestamp), which is what it is for.
constexpr const char* kProbeSecret = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// True when `body` is one JSON object and nothing else. A SAX pass that builds
// nothing, since a run's full logs can make a delivery megabytes long.
bool IsJsonObject(std::string_view body) {
  size_t first = 0;
  while (first < body.size() && (body[first] == ' ' || body[first] == '\t' || body[first] == '\n' ||
                                 body[first] == '\r')) {
    ++first;
  }
  if (first == body.size() || body[first] != '{') return false;
  if (!JsonDepthWithin(body)) return false;  // SPEC §9: nesting limit
  rapidjson::MemoryStream stream(body.data(), body.size());
  rapidjson::BaseReaderHandler<> ignore;
  rapidjson::Reader reader;
  constexpr unsigned kFlags =
      rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
  return !reader.Parse<kFlags>(stream, ignore).IsError();
}

// The 401 for a delivery that failed `check`; names the check, never the secret.
Status InvalidSignature(WebhookCheck check) {
  return Status::Error(Status::Code::kUnauthenticated, "invalid_signature",
                       std::string("webhook signature check failed: ") + WebhookCheckMessage(check),
                       {{"check", WebhookCheckName(check)}});
}

}  // namespace

WebhookReceiver::WebhookReceiver(const Config& config)
    : require_signature_(config.replicate.webhook_require_signature.value),
      tolerance_seconds_(config.replicate.webhook_timestamp_tolerance_seconds.value),
      configured_secret_(config.replicate.webhook_secret.value),
      poke_path_(WorkerPokeSocketPath(config.database_path.value)),
      intake_(IntakeSocketPath(config.database_path.value)) {}

Result<bool> WebhookReceiver::Receive(const HttpRequest& request, Store& store, Provider& provider,
                                      int64_t now) {
  const std::string* id_header = request.Header("webhook-id");
  const std::string_view webhook_id = id_header ? std::string_view(*id_header) : "";
  if (require_signature_) {
    if (Status s = Authenticate(request, store, provider, now); !s.ok()) return s;
  } else if (webhook_id.empty()) {
    return Status::Error(Status::Code::kInvalidArgument, "missing_webhook_id",
                         "the webhook-id header is required to recognise repeated deliveries");
  }
  if (!IsJsonObject(request.body)) {
    return Status::Error(Status::Code::kInvalidArgument, "invalid_json",
                         "the body must be a JSON object (a Replicate prediction or training)");
  }
  // SPEC §7: a run id that no URL could address is refused before anything is
  // stored, so no job appears that cannot be fetched, cancelled or deleted.
  if (auto run = ParseReplicateRun(request.body); !run.ok() || !IsValidJobId(run->external_id)) {
    return Status::Error(
        Status::Code::kInvalidArgument, "invalid_run_id",
        "the delivery's run id must be a string of 1 to 128 characters of [A-Za-z0-9._:-]");
  }
  // The worker stores it with the other handlers' deliveries in one
  // transaction and pokes itself; without an answer from it, this handler
  // stores it (a copy the worker stored meanwhile is then a duplicate).
  auto inserted =
      intake_.Submit(webhook_id, provider.name(), request.body, now, kIntakeTimeoutMs, now);
  if (inserted.ok()) return inserted;
  inserted = store.InsertDelivery(webhook_id, provider.name(), request.body, now);
  // A duplicate was poked for when it was first stored.
  if (inserted.ok() && *inserted) PokeWorker(poke_path_);
  return inserted;
}

Status WebhookReceiver::Authenticate(const HttpRequest& request, Store& store, Provider& provider,
                                     int64_t now) {
  const std::string* id = request.Header("webhook-id");
  const std::string* timestamp = request.Header("webhook-timestamp");
  const std::string* signature = request.Header("webhook-signature");
  const auto verify = [&](std::string_view secret) {
    return VerifyWebhook(secret, id ? *id : "", timestamp ? *timestamp : "",
                         signature ? *signature : "", request.body, now / kMicrosPerSecond,
                         tolerance_seconds_);
  };
  std::optional<std::string> secret = KnownSecret(store, provider, now);
  if (!secret) {
    // A fetch is a provider call, so only a request that passes every check
    // needing no secret may cause one. VerifyWebhook runs those first: with a
    // throwaway key, a well-formed, fresh delivery fails only at the signature.
    const WebhookCheck pre = verify(kProbeSecret);
    if (pre != WebhookCheck::kBadSignature && pre != WebhookCheck::kOk) {
      return InvalidSignature(pre);
    }
    auto fetched = FetchSecret(store, provider, now);
    if (!fetched.ok()) return fetched.status();
    secret = std::move(*fetched);
  }
  const WebhookCheck check = verify(*secret);
  if (check == WebhookCheck::kBadSecret) {
    // Our configuration, not the sender, is wrong: 503, like no secret at all.
    LogError(
        "webhook rejected: the Replicate webhook secret does not decode "
        "(providers.replicate.webhook_secret / REPLICATE_WEBHOOK_SECRET)");
    return Status::Error(
        Status::Code::kUnavailable, "webhook_secret_unavailable",
        "the configured Replicate webhook secret is not a valid whsec_ secret; set "
        "providers.replicate.webhook_secret (REPLICATE_WEBHOOK_SECRET)");
  }
  return check == WebhookCheck::kOk ? Status::Ok() : InvalidSignature(check);
}

// The cache lives in the database, not in this process, because handlers are
// many and short-lived: one fetch serves the whole pool for the TTL.
std::optional<std::string> WebhookReceiver::KnownSecret(Store& store, const Provider& provider,
                                                        int64_t now) {
  if (provider.name() == kReplicateProvider && configured_secret_) return *configured_secret_;
  return CachedWebhookSecret(store, provider.name(), kSecretTtl, now);
}

// A fetched secret that does not decode is not cached, so the next delivery
// asks again. Concurrent handlers with a cold cache may each fetch once.
Result<std::string> WebhookReceiver::FetchSecret(Store& store, Provider& provider, int64_t now) {
  auto fetched = provider.WebhookSecret();
  if (!fetched.ok()) {
    LogWarning("cannot get the " + provider.display_name() +
               " webhook secret: " + fetched.status().ToString());
    return Status::Error(Status::Code::kUnavailable, "webhook_secret_unavailable",
                         "no " + provider.display_name() +
                             " webhook secret: set providers.replicate.webhook_secret "
                             "(REPLICATE_WEBHOOK_SECRET), or an API token to fetch it; fetching "
                             "failed: " +
                             fetched.status().message());
  }
  if (!DecodeWebhookSecret(*fetched)) {
    LogWarning(provider.display_name() + " returned a webhook secret that is not whsec_ base64");
    return Status::Error(
        Status::Code::kUnavailable, "webhook_secret_unavailable",
        provider.display_name() + " returned a webhook secret that is not a valid whsec_ secret");
  }
  if (Status s = CacheWebhookSecret(store, provider.name(), *fetched, now); !s.ok()) {
    LogWarning("cannot cache the " + provider.display_name() + " webhook secret: " + s.ToString());
  }
  return fetched;
}

}  // namespace jobpulse
