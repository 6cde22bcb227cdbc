// libFuzzer target: SPEC §5's log derivation (lib/progress.h). The input is a
// log text; every function must keep its documented invariants on it.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "lib/progress.h"
#include "tests/fuzz/fuzz_util.h"

namespace jobpulse {
namespace {

using fuzz::CodePoints;
using fuzz::ValidUtf8;

bool IsCont(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

bool KnownStage(const std::string& s) {
  return s == "Preprocessing" || s == "Warmup" || s == "Saving checkpoint" || s == "Validation" ||
         s == "Training";
}

// What §5 step 2 promises of last_log.
void CheckLogLine(const std::string& line) {
  FUZZ_CHECK(!line.empty(), "empty last_log");
  FUZZ_CHECK(ValidUtf8(line), line);
  FUZZ_CHECK(CodePoints(line) <= 80, line);
  FUZZ_CHECK(line.find_first_of("\r\n") == std::string::npos, line);
  FUZZ_CHECK(line[0] != ' ' && line[0] != '\t', line);
}

void CheckDerivation(std::string_view text) {
  const Progress p = DeriveRunningProgress(text);
  FUZZ_CHECK(p == DeriveRunningProgress(text), "not deterministic");
  const bool has_lines = !SplitLogLines(text).empty();
  FUZZ_CHECK(p.last_log.has_value() == has_lines, "last_log iff there are lines");
  FUZZ_CHECK(p.stage.has_value() == has_lines, "stage iff there are lines");
  if (!has_lines) FUZZ_CHECK(!p.progress, "progress without lines");
  if (p.stage) FUZZ_CHECK(KnownStage(*p.stage), *p.stage);
  if (p.progress) {
    const double v = *p.progress;
    FUZZ_CHECK(std::isfinite(v) && v >= 0.0 && v <= 100.0, std::to_string(v));
    // One decimal: the double nearest to a multiple of 0.1.
    FUZZ_CHECK(std::nearbyint(v * 10) / 10.0 == v, std::to_string(v));
  }
  if (p.last_log) CheckLogLine(*p.last_log);
  // What reads report for other statuses (§5 step 7).
  const Progress other = ProgressForStatus(p, false);
  FUZZ_CHECK(!other.stage && !other.progress && other.last_log == p.last_log, "step 7");
  FUZZ_CHECK(ProgressForStatus(p, true) == p, "running keeps the derivation");
}

// Only the newest 50 lines count (§5 step 3): an older line changes nothing.
void CheckWindow(std::string_view text) {
  if (SplitLogLines(text).size() < 50) return;
  const std::string longer =
      "Loading model 1/2 step 3/4 epoch 5/6 45% 7/8 checkpoint\n" + std::string(text);
  FUZZ_CHECK(DeriveRunningProgress(longer) == DeriveRunningProgress(text), "window of 50 lines");
}

void CheckSanitize(std::string_view text) {
  const std::string clean = SanitizeUtf8(text);
  FUZZ_CHECK(ValidUtf8(clean), "SanitizeUtf8 output is not UTF-8");
  FUZZ_CHECK(SanitizeUtf8(clean) == clean, "SanitizeUtf8 is not idempotent");
  if (ValidUtf8(text)) FUZZ_CHECK(clean == text, "SanitizeUtf8 changed valid UTF-8");
  FUZZ_CHECK(clean.size() <= 3 * text.size(), "SanitizeUtf8 grew too much");

  const std::string cut = TruncateLogLine(clean);
  FUZZ_CHECK(ValidUtf8(cut), "TruncateLogLine output is not UTF-8");
  const size_t n = CodePoints(clean);
  if (n <= 80) {
    FUZZ_CHECK(cut == clean, "TruncateLogLine cut a short line");
  } else {
    FUZZ_CHECK(CodePoints(cut) == 80, "TruncateLogLine kept " + std::to_string(CodePoints(cut)));
    FUZZ_CHECK(cut.size() >= 3 && cut.compare(cut.size() - 3, 3, "...") == 0, "no ellipsis");
    FUZZ_CHECK(clean.compare(0, cut.size() - 3, cut, 0, cut.size() - 3) == 0, "not a prefix");
  }
}

void CheckTail(std::string_view logs, size_t max_bytes) {
  const std::string tail = LogTail(logs, max_bytes);
  if (logs.size() <= max_bytes) {
    FUZZ_CHECK(tail == logs, "a short log was cut");
    return;
  }
  FUZZ_CHECK(tail.size() <= max_bytes, "tail over the limit");
  const size_t start = logs.size() - tail.size();
  FUZZ_CHECK(logs.substr(start) == tail, "tail is not a suffix");
  if (tail.empty()) return;
  const char before = logs[start - 1];
  const bool at_line = before == '\n' || before == '\r';
  FUZZ_CHECK(at_line || !IsCont(tail[0]), "tail starts inside a UTF-8 sequence");
  // (A kept part that is only the "\n" of a "\r\n" has nothing better to offer.)
  FUZZ_CHECK(!(before == '\r' && tail[0] == '\n' && tail.size() > 1), "tail starts inside a CRLF");
  // A line break inside the kept part (not at its very end) is where it starts.
  const std::string_view kept = logs.substr(logs.size() - max_bytes);
  const size_t brk = kept.find_first_of("\r\n");
  if (brk != std::string_view::npos && brk + 2 < kept.size()) {
    FUZZ_CHECK(at_line, "tail does not start at a line although the kept part has a break");
  }
}

void CheckPercent(std::string_view text) {
  if (text.size() < 16) return;
  unsigned long long a, b;
  std::memcpy(&a, text.data(), 8);
  std::memcpy(&b, text.data() + 8, 8);
  for (const unsigned long long den : {b, b >> 40, b & 0xFFFF}) {
    const auto pct = PercentOf(a % (den * 2 + 1), den);
    FUZZ_CHECK(pct.has_value() == (den != 0), "PercentOf null iff b == 0");
    if (pct) FUZZ_CHECK(*pct >= 0.0 && *pct <= 100.0, std::to_string(*pct));
  }
}

}  // namespace
}  // namespace jobpulse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  jobpulse::CheckDerivation(text);
  jobpulse::CheckWindow(text);
  jobpulse::CheckSanitize(text);
  for (const size_t max : {size_t{0}, size_t{1}, size_t{3}, size / 2, size > 0 ? size - 1 : 0}) {
    jobpulse::CheckTail(text, max);
  }
  jobpulse::CheckPercent(text);
  return 0;
}
