// Inline progress: stage, percent and last log line derived from a job's log text
// (SPEC §5). Pure functions; no I/O, thread-safe.
//
// The derivation runs when logs are ingested (poll, webhook, refresh) and its
// result is stored on the job row, so reads never parse logs.
#ifndef JOBPULSE_LIB_PROGRESS_H_
#define JOBPULSE_LIB_PROGRESS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobpulse {

struct Progress {
  std::optional<std::string> stage;     // "Preprocessing", "Warmup", "Saving checkpoint",
                                        // "Validation", "Training"; null without logs
  std::optional<double> progress;       // percent, 0..100, one decimal; null if no fraction
  std::optional<std::string> last_log;  // newest line, <= 80 code points, valid UTF-8
  // From the tqdm suffix of the bar that set progress (SPEC §5 step 6); null
  // without one, or when progress came from a step or epoch counter.
  std::optional<double> rate;          // steps per second, 3 significant digits
  std::optional<int64_t> eta_seconds;  // the bar's remaining time

  bool operator==(const Progress&) const = default;
};

// Splits `text` into lines on "\n", "\r\n" and a bare "\r" (tqdm redraws),
// trims ASCII whitespace from each and drops empty ones. Oldest first.
std::vector<std::string_view> SplitLogLines(std::string_view text);

// Derives progress for a job in status `running` from its whole log text
// (SPEC §5 steps 1-5), before any tail cut. Cost depends only on the newest 50
// non-empty lines (and blank ones between them), however long the text: they
// are found by scanning back from the end, and each is matched on its first
// 4 KiB.
//   last_log: the newest line, sanitised and cut to 80 code points.
//   progress: from tqdm bars ("45%|...| 450/1000", "10% 103/1000"), "step a/b"
//     ("steps", "global_step", "a b" also) and "epoch a/b". Bars labelled with
//     a preprocessing, validation or checkpoint word and steps after "val",
//     "eval" or "validation" never count; nor do bars whose total differs from
//     the training total (the newest step counter's, or a steps-labelled
//     bar's, else the newest training bar's). Epochs count only without one.
//   rate, eta_seconds: the "[elapsed<remaining, X it/s]" suffix of the bar
//     that set progress (lib/tqdm_suffix.h); null for counters without one.
//   stage: the newest line naming a phase (keywords at a word start, ASCII
//     case-insensitive); preprocessing words are ignored once an older line
//     shows training; "Training" when no line names one.
// An empty or whitespace-only text yields all nulls.
Progress DeriveRunningProgress(std::string_view log_text);

// What the API reports for a job: for `running` jobs the stored derivation; for
// any other status stage, progress, rate and eta_seconds are null and last_log
// is kept (§5 step 7).
Progress ProgressForStatus(const Progress& stored, bool running);

// Replaces invalid UTF-8 sequences with U+FFFD.
std::string SanitizeUtf8(std::string_view bytes);

// `line` cut to 80 code points: longer lines become the first 77 + "...".
// `line` must be valid UTF-8 (see SanitizeUtf8).
std::string TruncateLogLine(std::string_view line);

// 100*a/b rounded to one decimal with ties to even, clamped to 0..100;
// nullopt when b == 0. Exact (integer arithmetic), so 1/16 -> 6.2, 3/16 -> 18.8.
std::optional<double> PercentOf(unsigned long long a, unsigned long long b);

// The newest `max_bytes` of `logs`, starting at a line boundary when one exists
// in the kept part and never in the middle of a UTF-8 sequence. What the store
// keeps as a job's log tail (64 KiB).
std::string LogTail(std::string_view logs, size_t max_bytes);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_PROGRESS_H_
