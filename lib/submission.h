// The body of POST /api/cloud/jobs/submit (SPEC §12), parsed and validated
// into the Submission the queue stores (lib/queue_store.h), and the small
// rules around it: the priority field, the Idempotency-Key header, new job
// ids and the input's digest.
//
// Every failure is kInvalidArgument "invalid_field" naming the body field
// (details.field), or "invalid_json" for a body that is not a JSON object.
// Pure except NewSubmittedJobId (random); thread-safe.
#ifndef JOBPULSE_LIB_SUBMISSION_H_
#define JOBPULSE_LIB_SUBMISSION_H_

#include <optional>
#include <string>
#include <string_view>

#include "lib/provider.h"
#include "lib/queue_store.h"
#include "lib/status.h"

namespace jobpulse {

// The largest `input` accepted, as compact JSON.
constexpr size_t kMaxSubmitInputBytes = size_t{1} << 20;

struct SubmitRequest {
  std::string kind;                        // "training" or "prediction"
  std::string model;                       // "owner/name"
  std::optional<std::string> version;      // 64 lower-case hex; required for trainings
  std::optional<std::string> destination;  // "owner/name"; trainings only, required
  std::string input_json;                  // a JSON object, compact, <= kMaxSubmitInputBytes
  std::optional<std::string> config_name;  // 1..200 characters, no control characters
  int priority = kDefaultPriority;
  std::optional<std::string> user_id;  // 1..128 characters of [A-Za-z0-9._@:-]
};

Result<SubmitRequest> ParseSubmitRequest(std::string_view body);

// `{"priority": <name or 0..50>}`, the body of the priority endpoint.
Result<int> ParsePriorityBody(std::string_view body);

// 1..255 printable ASCII characters; anything else is refused (400).
bool IsValidIdempotencyKey(std::string_view key);

// "sub-" and 24 random [a-z0-9]: a job id no provider run will have.
std::string NewSubmittedJobId();

// The queue's record of `request` for job `job_id` at `provider`: the create
// to send (kind, model, version, destination, input as one JSON object), the
// SHA-256 hex of the input, and the job's metadata (model, kind, version,
// destination).
Submission MakeSubmission(const SubmitRequest& request, std::string job_id, std::string provider,
                          std::optional<std::string> idempotency_key);

// The provider create a queued request (Submission::request_json) asks for,
// with `webhook_url` (nullopt: none). Errors: kInternal "invalid_queued_request"
// when the stored text is not what MakeSubmission writes.
Result<CreateRunRequest> CreateRunRequestFrom(std::string_view request_json,
                                              std::optional<std::string> webhook_url);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_SUBMISSION_H_
