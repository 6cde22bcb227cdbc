// Inline progress derivation (SPEC §5).
//
// Matching is hand-written byte scanning over an ASCII-lowercased copy of each
// line: the patterns are few and fixed, std::regex is slow and throws on
// pathological input, and this runs on every log ingestion.
#include "lib/progress.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobpulse {
namespace {

// Only the newest lines matter; older ones describe a phase that is over, and
// the bound keeps derivation cost independent of log length.
constexpr size_t kWindowLines = 50;
constexpr size_t kMaxLogCodePoints = 80;
constexpr size_t kKeptCodePoints = 77;
// 18 digits always fit in unsigned long long (< 10^18 < 2^63); longer runs are
// ids or hashes rather than counters, so they are not fractions at all.
constexpr size_t kMaxDigits = 18;

// GCC/Clang extension; __extension__ keeps -Wpedantic quiet about it.
__extension__ typedef unsigned __int128 Uint128;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Non-ASCII bytes pass through unchanged, so offsets match the original line.
std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void SkipSpaces(std::string_view s, size_t& pos) {
  while (pos < s.size() && IsSpace(s[pos])) ++pos;
}

// Reads a whole digit run at `pos`. Rejects runs that are too long and
// decimals ("0.5"), which are losses or learning rates, not counters.
bool ParseCount(std::string_view s, size_t& pos, unsigned long long& value) {
  size_t end = pos;
  while (end < s.size() && IsDigit(s[end])) ++end;
  const size_t digits = end - pos;
  if (digits == 0 || digits > kMaxDigits) return false;
  if (end + 1 < s.size() && s[end] == '.' && IsDigit(s[end + 1])) return false;
  unsigned long long v = 0;
  for (size_t i = pos; i < end; ++i) v = v * 10 + static_cast<unsigned>(s[i] - '0');
  value = v;
  pos = end;
  return true;
}

struct Fraction {
  unsigned long long num = 0;
  unsigned long long den = 0;
};

// "a/b" at `pos`, whitespace allowed before and around the slash.
std::optional<Fraction> ParseSlashFraction(std::string_view s, size_t pos) {
  Fraction f;
  SkipSpaces(s, pos);
  if (!ParseCount(s, pos, f.num)) return std::nullopt;
  SkipSpaces(s, pos);
  if (pos >= s.size() || s[pos] != '/') return std::nullopt;
  ++pos;
  SkipSpaces(s, pos);
  if (!ParseCount(s, pos, f.den)) return std::nullopt;
  return f;
}

// After a step keyword "a b" is accepted too, because some trainers print
// "step 7 14"; the space form needs at least one separating blank.
std::optional<Fraction> ParseStepFraction(std::string_view s, size_t pos) {
  if (auto f = ParseSlashFraction(s, pos)) return f;
  Fraction f;
  SkipSpaces(s, pos);
  if (!ParseCount(s, pos, f.num)) return std::nullopt;
  const size_t before_gap = pos;
  SkipSpaces(s, pos);
  if (pos == before_gap || !ParseCount(s, pos, f.den)) return std::nullopt;
  return f;
}

// tqdm renders "desc: 45%|████▌     | 450/1000 [...]"; the counts after the
// closing bar are exact, unlike the rounded percentage before it.
std::optional<Fraction> FindTqdmFraction(std::string_view lower) {
  for (size_t i = lower.find("%|"); i != std::string_view::npos; i = lower.find("%|", i + 1)) {
    if (i == 0 || !IsDigit(lower[i - 1])) continue;
    const size_t close = lower.find('|', i + 2);
    if (close == std::string_view::npos) return std::nullopt;
    if (auto f = ParseSlashFraction(lower, close + 1)) return f;
  }
  return std::nullopt;
}

// "step", "steps", "global_step" (a substring match covers the prefix), each
// with an optional ':'. Every occurrence is tried so that e.g. "step_time 0.5
// step 10/100" still finds the counter.
std::optional<Fraction> FindStepFraction(std::string_view lower) {
  for (size_t i = lower.find("step"); i != std::string_view::npos; i = lower.find("step", i + 1)) {
    size_t pos = i + 4;
    if (pos < lower.size() && lower[pos] == 's') ++pos;
    if (pos < lower.size() && lower[pos] == ':') ++pos;
    if (auto f = ParseStepFraction(lower, pos)) return f;
  }
  return std::nullopt;
}

std::optional<Fraction> FindEpochFraction(std::string_view lower) {
  for (size_t i = lower.find("epoch"); i != std::string_view::npos;
       i = lower.find("epoch", i + 1)) {
    size_t pos = i + 5;
    if (pos < lower.size() && lower[pos] == ':') ++pos;
    if (auto f = ParseSlashFraction(lower, pos)) return f;
  }
  return std::nullopt;
}

// Precedence within a line: the tqdm bar is the most precise, and a step
// counter is finer-grained than the epoch it belongs to.
std::optional<Fraction> FindFraction(std::string_view lower) {
  if (auto f = FindTqdmFraction(lower)) return f;
  if (auto f = FindStepFraction(lower)) return f;
  return FindEpochFraction(lower);
}

// "loading" must start a word so that "uploading"/"downloading" (I/O around a
// job, not its preprocessing) do not count.
bool HasLoadingWord(std::string_view lower) {
  for (size_t i = lower.find("loading"); i != std::string_view::npos;
       i = lower.find("loading", i + 1)) {
    if (i == 0 || !IsLetter(lower[i - 1])) return true;
  }
  return false;
}

std::optional<std::string> StageOf(std::string_view lower) {
  auto has = [lower](std::string_view needle) {
    return lower.find(needle) != std::string_view::npos;
  };
  if (has("preprocessing") || HasLoadingWord(lower)) return "Preprocessing";
  if (has("warming up") || has("warmup")) return "Warmup";
  if (has("checkpoint")) return "Saving checkpoint";
  if (has("validat")) return "Validation";
  if (has("step") || has("epoch")) return "Training";
  return std::nullopt;
}

// Length of the well-formed UTF-8 prefix of `s` starting at a lead byte, or the
// length of its maximal ill-formed subpart (at least 1) with `valid` false.
// Follows Unicode's "maximal subpart" practice, as Python and browsers do.
size_t Utf8Sequence(std::string_view s, size_t pos, bool& valid) {
  const auto lead = static_cast<unsigned char>(s[pos]);
  valid = false;
  if (lead < 0x80) {
    valid = true;
    return 1;
  }
  size_t need;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 1;  // continuation byte, C0/C1 (always overlong) or F5..FF
  }
  size_t len = 1;
  for (size_t k = 0; k < need; ++k, lo = 0x80, hi = 0xBF) {
    if (pos + len >= s.size()) return len;
    const auto c = static_cast<unsigned char>(s[pos + len]);
    if (c < lo || c > hi) return len;
    ++len;
  }
  valid = true;
  return len;
}

}  // namespace

std::vector<std::string_view> SplitLogLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  // "\r\n" yields an empty piece between the two breaks, which is dropped like
  // any other blank line.
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != '\n' && text[i] != '\r') continue;
    size_t b = start;
    size_t e = i;
    while (b < e && IsSpace(text[b])) ++b;
    while (e > b && IsSpace(text[e - 1])) --e;
    if (e > b) lines.push_back(text.substr(b, e - b));
    start = i + 1;
  }
  return lines;
}

Progress DeriveRunningProgress(std::string_view log_text) {
  Progress result;
  const std::vector<std::string_view> lines = SplitLogLines(log_text);
  if (lines.empty()) return result;

  result.last_log = TruncateLogLine(SanitizeUtf8(lines.back()));

  const size_t window_begin = lines.size() > kWindowLines ? lines.size() - kWindowLines : 0;
  bool progress_decided = false;
  for (size_t i = lines.size(); i-- > window_begin;) {
    if (result.stage && progress_decided) break;
    const std::string lower = LowerAscii(lines[i]);
    if (!result.stage) result.stage = StageOf(lower);
    if (!progress_decided) {
      // The newest fraction decides even when it has no percent (b == 0):
      // an older line must not override what the job says now.
      if (const auto f = FindFraction(lower)) {
        result.progress = PercentOf(f->num, f->den);
        progress_decided = true;
      }
    }
  }
  // A running job whose logs name no phase is most likely just training.
  if (!result.stage) result.stage = "Training";
  return result;
}

Progress ProgressForStatus(const Progress& stored, bool running) {
  if (running) return stored;
  return Progress{std::nullopt, std::nullopt, stored.last_log};
}

std::string SanitizeUtf8(std::string_view bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    bool valid = false;
    const size_t len = Utf8Sequence(bytes, pos, valid);
    if (valid) {
      out.append(bytes.substr(pos, len));
    } else {
      out.append(kReplacement);
    }
    pos += len;
  }
  return out;
}

std::string TruncateLogLine(std::string_view line) {
  size_t code_points = 0;
  size_t cut = line.size();  // byte offset where code point kKeptCodePoints + 1 starts
  for (size_t i = 0; i < line.size(); ++i) {
    if (IsContinuation(static_cast<unsigned char>(line[i]))) continue;
    if (code_points == kKeptCodePoints) cut = i;
    ++code_points;
    if (code_points > kMaxLogCodePoints) return std::string(line.substr(0, cut)) + "...";
  }
  return std::string(line);
}

std::optional<double> PercentOf(unsigned long long a, unsigned long long b) {
  if (b == 0) return std::nullopt;
  if (a >= b) return 100.0;
  // Tenths of a percent, exactly: 1000*a needs up to 74 bits.
  const Uint128 scaled = static_cast<Uint128>(a) * 1000;
  Uint128 tenths = scaled / b;
  const Uint128 twice_rem = (scaled % b) * 2;
  if (twice_rem > b || (twice_rem == b && (tenths & 1) != 0)) ++tenths;
  // Dividing an exact integer by 10.0 gives the double nearest to the decimal,
  // i.e. the same value as the literal 6.2 in the caller's code.
  return static_cast<double>(static_cast<uint64_t>(tenths)) / 10.0;
}

std::string LogTail(std::string_view logs, size_t max_bytes) {
  if (logs.size() <= max_bytes) return std::string(logs);
  const size_t cut = logs.size() - max_bytes;
  std::string_view kept = logs.substr(cut);
  // A cut right after a line break already starts a whole line.
  const char before = logs[cut - 1];
  if (before == '\n' || (before == '\r' && kept.front() != '\n')) return std::string(kept);
  const size_t brk = kept.find_first_of("\r\n");
  size_t start = brk == std::string_view::npos ? kept.size() : brk + 1;
  // Treat "\r\n" as one break so the tail does not begin with a stray '\n'.
  if (start < kept.size() && kept[brk] == '\r' && kept[start] == '\n') ++start;
  // No usable break (none, or only at the very end): keep the partial line, cut
  // at a code point boundary, rather than nothing.
  if (start >= kept.size()) {
    start = 0;
    while (start < kept.size() && IsContinuation(static_cast<unsigned char>(kept[start]))) ++start;
  }
  return std::string(kept.substr(start));
}

}  // namespace jobpulse
