// The simulator's data model: one Replicate run (prediction or training), its
// status transitions and its JSON shape, following reference/replicate.md §2-§3.
// Everything here is a pure value or a pure function, except the random and
// cycling helpers, which are thread-safe.
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_MODEL_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/json_writer.h"

namespace replicate_sim {

inline constexpr char kDefaultModel[] = "simpletuner/advanced-trainer-l40s";

// How a run moves by itself: demo runs, and runs created through /v1 while the
// run_seconds setting is above 0 (progress.h does the moving).
struct Pace {
  int64_t processing_at = 0;  // when "starting" turns into "processing"
  double duration_s = 150;    // processing time from start to success
  bool fail = false;
  double fail_at = 0.6;  // progress fraction at which a failing run dies
  double logged = -1;    // progress already written to the logs; -1: not started
};

struct Run {
  std::string id;  // 26 chars [a-z0-9]
  bool training = false;
  std::string model;    // "owner/name"
  std::string version;  // 64 hex
  // Any string: unknown values are stored verbatim so clients can be tested
  // against statuses Replicate may add later.
  std::string status = "starting";
  std::string source = "api";
  std::string input_json = "{}";           // one JSON value, already compact
  std::optional<std::string> output_json;  // one JSON value; JSON null when unset
  std::string logs;
  std::optional<std::string> error;
  std::map<std::string, double> metrics;
  std::optional<double> predict_time;  // replaces the computed value when set
  int64_t created_at = 0;              // microseconds since the epoch
  std::optional<int64_t> started_at;
  std::optional<int64_t> completed_at;
  // Echoed like Replicate does; a run with a webhook gets deliveries as it
  // changes (webhook_sender.h). No filter means every event.
  std::optional<std::string> webhook;
  std::optional<std::vector<std::string>> webhook_events_filter;
  // Not rendered (Replicate's objects carry no destination): names the model
  // in a succeeded training's default output.
  std::string destination;
  std::optional<Pace> pace;  // unset: only the control API moves the run
};

// succeeded, failed, canceled and aborted; everything else (including unknown
// strings) is treated as still running.
bool IsTerminal(std::string_view status);

// Moves `run` to `status` at `now_micros`:
//  - "processing" sets started_at when unset (never before created_at);
//  - a terminal status sets completed_at, backfills started_at (except for
//    "aborted", which by definition never started), fills metrics and, for
//    "succeeded", a default output;
//  - any other status clears completed_at, so the object stays self-consistent.
void ApplyStatus(Run& run, const std::string& status, int64_t now_micros);

// Recomputes predict_time/total_time from the timestamps (or run.predict_time).
// No-op for runs that are not terminal.
void FillTerminalMetrics(Run& run);

// Next number of fractional digits for timestamps in one response, cycling
// through 9, 6, 3, 2, 4, 0, because Replicate's precision varies from response to
// response and clients must not depend on it.
int NextTimestampDigits();

// "YYYY-MM-DDTHH:MM:SS[.f...]Z" with `digits` (0-9) fractional digits, truncated.
std::string FormatSimTimestamp(int64_t micros, int digits);

struct RenderOptions {
  std::string base_url;  // "http://127.0.0.1:port", no trailing slash
  int digits = 6;
  bool include_logs = true;  // list items omit logs, as the real list does
};

void WriteRun(jobpulse::JsonWriter& w, const Run& run, const RenderOptions& options);
std::string RunJson(const Run& run, const RenderOptions& options);

std::string RandomRunId();                            // 26 chars [a-z0-9]
std::string RandomWebhookId();                        // "msg_" + 27 base62 chars
std::string RandomHex(int n);                         // n lowercase hex digits
std::string VersionForModel(std::string_view model);  // stable 64-hex per model name

// List position: newest-first order is (created_at desc, id desc). A forward
// cursor selects the runs after the position, a backward one those before it.
struct Cursor {
  bool backward = false;
  int64_t created_at = 0;
  std::string id;
};
// Opaque URL-safe token (base64url of a small key=value string).
std::string EncodeCursor(const Cursor& cursor);
std::optional<Cursor> DecodeCursor(std::string_view token);

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_MODEL_H_
