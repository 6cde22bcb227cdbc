// Receiving a provider's webhook delivery in a handler (SPEC §7): the Standard
// Webhooks signature, with the secret from the configuration, the store's
// cache or the provider; the checks on the body; and the hand-over of the raw
// delivery to the worker's intake, or to the inbox when no worker answers.
// Applying deliveries is the worker's (lib/webhook_inbox.h).
//
// Authentication comes first, so unauthenticated junk gets 401 whatever it
// contains; the only provider call is the occasional secret fetch, and only a
// delivery that passes every check needing no secret can cause one.
//
// Thread-safety: one thread at a time (it keeps one intake connection).
#ifndef JOBPULSE_LIB_WEBHOOK_RECEIVER_H_
#define JOBPULSE_LIB_WEBHOOK_RECEIVER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "lib/config.h"
#include "lib/delivery_intake.h"
#include "lib/http.h"
#include "lib/provider.h"
#include "lib/status.h"
#include "lib/store.h"

namespace jobpulse {

class WebhookReceiver {
 public:
  // `config` gives the signature settings and a configured secret; the
  // database path gives the worker's intake socket and poke socket.
  explicit WebhookReceiver(const Config& config);

  // Verifies `request` as a delivery from `provider` and stores it. Returns true
  // for a new delivery, false for a repeated webhook-id (already stored).
  // Errors (nothing stored): kUnauthenticated "invalid_signature" (details name
  // the failed check); kInvalidArgument "missing_webhook_id" (unsigned mode),
  // "invalid_json" (not one JSON object within the nesting limit),
  // "invalid_run_id" (SPEC §9's job-id rule); kUnavailable
  // "webhook_secret_unavailable" (no secret configured and none could be
  // fetched, or the configured one does not decode); the store's errors.
  // `now` is microseconds since the epoch.
  Result<bool> Receive(const HttpRequest& request, Store& store, Provider& provider, int64_t now);

 private:
  // The secret that verifies `provider`'s deliveries without a provider call:
  // the configured one, else the one cached in the store less than 300 s ago.
  std::optional<std::string> KnownSecret(Store& store, const Provider& provider, int64_t now);
  // Asks the provider for it and caches it in the store (service_state
  // "webhook_secret:<provider>"). Errors: kUnavailable "webhook_secret_unavailable".
  Result<std::string> FetchSecret(Store& store, Provider& provider, int64_t now);
  // Checks the signature headers of `request`; OK when it is authentic.
  Status Authenticate(const HttpRequest& request, Store& store, Provider& provider, int64_t now);

  bool require_signature_;
  int tolerance_seconds_;
  std::optional<std::string> configured_secret_;  // Replicate's, from the configuration
  // WorkerPokeSocketPath of the database, worked out once (path arithmetic
  // allocates, and a webhook flood pokes once per delivery).
  std::string poke_path_;
  IntakeClient intake_;  // one connection kept
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_WEBHOOK_RECEIVER_H_
