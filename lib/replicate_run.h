// Replicate's run objects (predictions and trainings, reference/replicate.md
// §1) and list pages, turned into observations for the merge of
// lib/state_machine.h, and what Replicate's statuses mean locally (SPEC §4).
// Tolerant of what real traffic holds: 0-9 fractional
// digits, missing or null fields, unknown statuses, outputs of any JSON type
// (SPEC §3: kept as JSON up to kMaxOutputBytes; output_url only from real
// http(s) URLs, a training's `weights` first).
//
// Pure functions; thread-safe.
#ifndef JOBPULSE_LIB_REPLICATE_RUN_H_
#define JOBPULSE_LIB_REPLICATE_RUN_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/state_machine.h"
#include "lib/status.h"

namespace jobpulse {

// Replicate's name: the value of jobs.provider (and Observation::provider) for
// its runs, its key in the provider registry (lib/provider_registry.h).
inline constexpr char kReplicateProvider[] = "replicate";

// A Replicate status as a local status (SPEC §4): starting -> queued,
// processing -> running, succeeded -> completed, failed -> failed, canceled ->
// cancelled, aborted -> cancelled with the error message "aborted: deadline
// passed before start". Anything else (case matters) -> no status and no
// message: the merge records and logs it as unknown.
MappedStatus MapReplicateStatus(std::string_view provider_status);

// Turns one prediction or training object (JSON text) into an observation.
// Errors: kUpstream "provider_error" when it is not a JSON object with a
// non-empty string `id`. Unparseable timestamps are dropped, not errors.
Result<Observation> ParseReplicateRun(std::string_view json);

// One page of GET /predictions or /trainings: its runs, in page order, and
// its raw `next` link (unset when there is none or it is empty). An item that
// is not a run object with an id comes back as an observation with an empty
// external_id, so one bad item does not hide the rest of the page; callers
// skip and count it (the job-id rule refuses ""). Errors: kUpstream
// "provider_error" when the page is not an object with a `results` array.
struct ReplicatePage {
  std::vector<Observation> runs;
  std::optional<std::string> next;
};
Result<ReplicatePage> ParseReplicatePage(std::string_view json);

// The hardware SKU a SimpleTuner trainer model runs on, from its name
// ("simpletuner/advanced-trainer-h100-x2" -> "gpu-h100-2x"); nullopt when the
// name says nothing (the configured default_hardware then applies).
std::optional<std::string> HardwareForModel(std::string_view model);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_REPLICATE_RUN_H_
