// How a provider run is tied to the submission that created it (SPEC §12's
// reconciliation). First by the job id the run's webhook URL carries
// (`?job_id=<local id>`, added when the create is sent); without a webhook,
// by the input's digest (with model, version and creation time, compared by
// the dispatcher): SHA-256 of the input written as compact JSON, members in
// their order, the way RapidJSON's Writer writes a parsed value. The
// submission digests its input that way when it is accepted, and a listed
// run digests its echoed `input` the same way, so an input sent and echoed
// unchanged gives the same digest whatever spacing either side used.
//
// Pure; thread-safe.
#ifndef JOBPULSE_LIB_RUN_MATCH_H_
#define JOBPULSE_LIB_RUN_MATCH_H_

#include <string>
#include <string_view>

namespace jobpulse {

// 64 lower-case hex digits: SHA-256 of `compact_json` as given.
std::string InputDigest(std::string_view compact_json);

// `webhook_url` with `job_id=<job_id>` added to its query (before any
// fragment). `job_id` follows the job-id rule, so it needs no escaping.
std::string WebhookUrlForJob(std::string_view webhook_url, std::string_view job_id);

// The decoded value of the query parameter `job_id` in `url`; "" when there
// is none.
std::string JobIdInWebhookUrl(std::string_view url);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_RUN_MATCH_H_
