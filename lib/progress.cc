// Inline progress derivation (SPEC §5).
//
// Matching is hand-written byte scanning over an ASCII-lowercased copy of each
// line: the patterns are few and fixed, std::regex is slow and throws on
// pathological input, and this runs on every log ingestion. Logs can be many
// MiB, so only the newest lines are ever looked at: they are found by scanning
// backwards from the end, and each is matched on a bounded prefix.
#include "lib/progress.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/tqdm_suffix.h"

namespace jobpulse {
namespace {

// Only the newest lines matter; older ones describe a phase that is over, and
// the bound keeps derivation cost independent of log length.
constexpr size_t kWindowLines = 50;
// Counters and stage words sit at the start of a line; a bound keeps a
// megabyte-long line (a dumped tensor, a base64 blob) from costing megabytes.
constexpr size_t kMatchedBytes = 4096;
constexpr size_t kMaxLogCodePoints = 80;
constexpr size_t kKeptCodePoints = 77;
// A code point (or an invalid subpart replaced by U+FFFD) takes at most 4 bytes,
// so this prefix holds the first 81 code points: enough to decide truncation.
constexpr size_t kLastLogBytes = (kMaxLogCodePoints + 1) * 4;
// 18 digits always fit in unsigned long long (< 10^18 < 2^63); longer runs are
// ids or hashes rather than counters, so they are not fractions at all.
constexpr size_t kMaxDigits = 18;
// tqdm prints a whole percentage, 0..100.
constexpr size_t kMaxPercentDigits = 3;

using Words = std::span<const std::string_view>;

// Stage keywords (SPEC §5 step 5), each matched at a word start, so "step"
// also covers "steps" and "validat" covers "validation"/"validating".
constexpr std::string_view kPreprocessingWords[] = {"preprocessing", "loading", "caching"};
constexpr std::string_view kWarmupWords[] = {"warming up", "warmup"};
constexpr std::string_view kCheckpointWords[] = {"checkpoint"};
constexpr std::string_view kValidationWords[] = {"validat",    "val step", "eval",
                                                 "generating", "sampling", "samples"};
constexpr std::string_view kTrainingWords[] = {"step", "global_step", "epoch"};
// A bar labelled with one of these counts the training run's own steps.
constexpr std::string_view kStepLabelWords[] = {"step", "global_step"};
// The word right before "step" that makes it a validation counter.
constexpr std::string_view kValidationStepPrefixes[] = {"val", "eval", "validation"};

// GCC/Clang extension; __extension__ keeps -Wpedantic quiet about it.
__extension__ typedef unsigned __int128 Uint128;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsWordChar(char c) { return IsLetter(c) || IsDigit(c) || c == '_'; }
bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

std::string_view Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Non-ASCII bytes pass through unchanged, so offsets match the original line.
std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The newest `max_lines` non-empty trimmed lines, newest first. Walks back from
// the end so a long log costs only its tail; "\r\n" leaves an empty piece
// between its two breaks, which is dropped like any blank line.
std::vector<std::string_view> NewestLines(std::string_view text, size_t max_lines) {
  std::vector<std::string_view> lines;
  size_t end = text.size();
  while (end > 0 && lines.size() < max_lines) {
    // A plain loop: find_last_of tests each byte against its set with memchr.
    size_t begin = end;
    while (begin > 0 && text[begin - 1] != '\n' && text[begin - 1] != '\r') --begin;
    const std::string_view line = Trim(text.substr(begin, end - begin));
    if (!line.empty()) lines.push_back(line);
    if (begin == 0) break;
    end = begin - 1;
  }
  return lines;
}

// Where `word` occurs in lower[from, until) starting a word (SPEC §5 step 3:
// not preceded by a letter, digit or '_'), or npos.
size_t FindWord(std::string_view lower, std::string_view word, size_t from = 0,
                size_t until = std::string_view::npos) {
  const std::string_view scope = lower.substr(0, std::min(until, lower.size()));
  for (size_t i = scope.find(word, from); i != std::string_view::npos;
       i = scope.find(word, i + 1)) {
    if (i == 0 || !IsWordChar(scope[i - 1])) return i;
  }
  return std::string_view::npos;
}

bool HasAnyWord(std::string_view lower, Words words, size_t from = 0,
                size_t until = std::string_view::npos) {
  for (const std::string_view word : words) {
    if (FindWord(lower, word, from, until) != std::string_view::npos) return true;
  }
  return false;
}

void SkipSpaces(std::string_view s, size_t& pos) {
  while (pos < s.size() && IsSpace(s[pos])) ++pos;
}

// Reads a whole digit run at `pos`. Rejects runs that are too long, decimals
// ("0.5": losses, learning rates) and percentages ("45%": a bar's percent, not
// its counts).
bool ParseCount(std::string_view s, size_t& pos, unsigned long long& value) {
  size_t end = pos;
  while (end < s.size() && IsDigit(s[end])) ++end;
  const size_t digits = end - pos;
  if (digits == 0 || digits > kMaxDigits) return false;
  if (end + 1 < s.size() && s[end] == '.' && IsDigit(s[end + 1])) return false;
  if (end < s.size() && s[end] == '%') return false;
  unsigned long long v = 0;
  for (size_t i = pos; i < end; ++i) v = v * 10 + static_cast<unsigned>(s[i] - '0');
  value = v;
  pos = end;
  return true;
}

enum class FractionKind { kBar, kStep, kEpoch };

struct Fraction {
  unsigned long long num = 0;
  unsigned long long den = 0;
  FractionKind kind = FractionKind::kStep;
  size_t pos = 0;                 // where it starts in the line, to order a line's fractions
  bool training = true;           // false for validation, preprocessing and checkpoint counters
  bool step_labelled = false;     // a bar whose label names steps
  std::optional<BarSpeed> speed;  // a bar's tqdm suffix
};

// "a/b" at `pos` (whitespace allowed before and around the slash); on success
// `pos` is moved past it.
bool ParseSlashFraction(std::string_view s, size_t& pos, Fraction& f) {
  size_t p = pos;
  SkipSpaces(s, p);
  if (!ParseCount(s, p, f.num)) return false;
  SkipSpaces(s, p);
  if (p >= s.size() || s[p] != '/') return false;
  ++p;
  SkipSpaces(s, p);
  if (!ParseCount(s, p, f.den)) return false;
  pos = p;
  return true;
}

// After a step keyword "a b" is accepted too, because some trainers print
// "step 7 14"; the space form needs at least one separating blank.
bool ParseStepFraction(std::string_view s, size_t pos, Fraction& f) {
  if (ParseSlashFraction(s, pos, f)) return true;
  SkipSpaces(s, pos);
  if (!ParseCount(s, pos, f.num)) return false;
  const size_t before_gap = pos;
  SkipSpaces(s, pos);
  return pos != before_gap && ParseCount(s, pos, f.den);
}

// "Val Step 3/40", "eval step 2/8": the word right before a step keyword says
// the counter belongs to a validation loop, not to training.
bool FollowsValidationWord(std::string_view lower, size_t keyword) {
  size_t end = keyword;
  while (end > 0 && (lower[end - 1] == ' ' || lower[end - 1] == '\t')) --end;
  if (end == keyword) return false;
  size_t begin = end;
  while (begin > 0 && IsLetter(lower[begin - 1])) --begin;
  if (begin > 0 && IsWordChar(lower[begin - 1])) return false;
  const std::string_view word = lower.substr(begin, end - begin);
  return std::find(std::begin(kValidationStepPrefixes), std::end(kValidationStepPrefixes), word) !=
         std::end(kValidationStepPrefixes);
}

// A bar whose label names preprocessing, validation or a checkpoint counts
// something other than training steps (latents, pipeline components, samples).
bool LabelIsTraining(std::string_view lower, size_t label_begin, size_t label_end) {
  for (const Words words :
       {Words(kPreprocessingWords), Words(kValidationWords), Words(kCheckpointWords)}) {
    if (HasAnyWord(lower, words, label_begin, label_end)) return false;
  }
  return true;
}

// tqdm renders "desc: 45%|████▌     | 450/1000 [...]", and without the bar
// ("desc:  10% 103/1000 [...]") in notebooks and plain consoles; the counts are
// exact, unlike the rounded percentage. The label is the text between the
// previous bar on the line (or its start) and the percentage.
void FindBars(std::string_view lower, std::vector<Fraction>& out) {
  size_t label_begin = 0;
  for (size_t pct = lower.find('%'); pct != std::string_view::npos;
       pct = lower.find('%', pct + 1)) {
    size_t digits = pct;
    while (digits > 0 && IsDigit(lower[digits - 1])) --digits;
    if (digits == pct || pct - digits > kMaxPercentDigits) continue;
    if (digits > 0 && lower[digits - 1] == '.') continue;  // "12.5%" is no tqdm percentage
    size_t pos = pct + 1;
    SkipSpaces(lower, pos);
    if (pos < lower.size() && lower[pos] == '|') {
      const size_t close = lower.find('|', pos + 1);
      if (close == std::string_view::npos) continue;
      pos = close + 1;
    }
    Fraction f;
    f.kind = FractionKind::kBar;
    f.pos = digits;
    if (!ParseSlashFraction(lower, pos, f)) continue;
    f.speed = ParseTqdmSuffix(lower.substr(pos));
    f.training = LabelIsTraining(lower, label_begin, digits);
    f.step_labelled = HasAnyWord(lower, kStepLabelWords, label_begin, digits);
    out.push_back(f);
    label_begin = pos;
    pct = pos - 1;
  }
}

// "step", "steps" or "global_step" at a word start, an optional ':', then the
// counts. "global_step" needs its own search: its "step" follows '_' and so
// starts no word.
void FindStepFractions(std::string_view lower, std::vector<Fraction>& out) {
  for (const std::string_view keyword : kStepLabelWords) {
    for (size_t i = FindWord(lower, keyword); i != std::string_view::npos;
         i = FindWord(lower, keyword, i + 1)) {
      size_t pos = i + keyword.size();
      if (pos < lower.size() && lower[pos] == 's') ++pos;
      if (pos < lower.size() && lower[pos] == ':') ++pos;
      Fraction f;
      f.kind = FractionKind::kStep;
      f.pos = i;
      if (!ParseStepFraction(lower, pos, f)) continue;
      f.training = !FollowsValidationWord(lower, i);
      out.push_back(f);
    }
  }
}

void FindEpochFractions(std::string_view lower, std::vector<Fraction>& out) {
  for (size_t i = FindWord(lower, "epoch"); i != std::string_view::npos;
       i = FindWord(lower, "epoch", i + 1)) {
    size_t pos = i + std::string_view("epoch").size();
    if (pos < lower.size() && lower[pos] == ':') ++pos;
    Fraction f;
    f.kind = FractionKind::kEpoch;
    f.pos = i;
    if (ParseSlashFraction(lower, pos, f)) out.push_back(f);
  }
}

struct ScannedLine {
  std::string lower;                // the matched prefix, ASCII-lowercased
  std::vector<Fraction> fractions;  // rightmost (printed last, so newest) first
};

ScannedLine ScanLine(std::string_view line) {
  ScannedLine scanned{LowerAscii(line.substr(0, kMatchedBytes)), {}};
  FindBars(scanned.lower, scanned.fractions);
  FindStepFractions(scanned.lower, scanned.fractions);
  FindEpochFractions(scanned.lower, scanned.fractions);
  std::sort(scanned.fractions.begin(), scanned.fractions.end(),
            [](const Fraction& a, const Fraction& b) { return a.pos > b.pos; });
  return scanned;
}

using Total = std::optional<unsigned long long>;

// SPEC §5 step 4: how many steps the run trains. A step counter or a bar
// labelled with steps says so outright; without one, the newest training bar
// (labelled with the run's name, say) is the best evidence.
Total TrainingTotal(const std::vector<ScannedLine>& lines) {
  Total newest_bar_total;
  for (const ScannedLine& line : lines) {
    for (const Fraction& f : line.fractions) {
      if (!f.training || f.kind == FractionKind::kEpoch) continue;
      if (f.kind == FractionKind::kStep || f.step_labelled) return f.den;
      if (!newest_bar_total) newest_bar_total = f.den;
    }
  }
  return newest_bar_total;
}

// Bars with another total count pipeline components or samples, not steps.
bool SetsProgress(const Fraction& f, const Total& total) {
  return f.training && f.kind != FractionKind::kEpoch && total && f.den == *total;
}

// The fraction that sets progress, or nullptr. The newest one decides even
// when it has no percent (b == 0): an older line must not override what the
// job says now.
const Fraction* ProgressFraction(const std::vector<ScannedLine>& lines, const Total& total) {
  for (const ScannedLine& line : lines) {
    for (const Fraction& f : line.fractions) {
      const bool counts =
          total ? SetsProgress(f, total) : f.training && f.kind == FractionKind::kEpoch;
      if (counts) return &f;
    }
  }
  return nullptr;
}

// SPEC §5 step 5 for one line, its categories in order. Loading once training
// has begun belongs to validation or checkpointing, so `training_begun` (an
// older line holds a training fraction) skips the preprocessing words.
std::optional<std::string> StageOfLine(const ScannedLine& line, const Total& total,
                                       bool training_begun) {
  const std::string_view lower = line.lower;
  if (!training_begun && HasAnyWord(lower, kPreprocessingWords)) return "Preprocessing";
  if (HasAnyWord(lower, kWarmupWords)) return "Warmup";
  if (HasAnyWord(lower, kCheckpointWords)) return "Saving checkpoint";
  if (HasAnyWord(lower, kValidationWords)) return "Validation";
  if (HasAnyWord(lower, kTrainingWords)) return "Training";
  for (const Fraction& f : line.fractions) {
    if (f.kind == FractionKind::kBar && SetsProgress(f, total)) return "Training";
  }
  return std::nullopt;
}

std::string StageOf(const std::vector<ScannedLine>& lines, const Total& total) {
  // begun[i]: some line older than lines[i] (newest first) holds a training fraction.
  std::vector<bool> begun(lines.size());
  bool seen = false;
  for (size_t i = lines.size(); i-- > 0;) {
    begun[i] = seen;
    for (const Fraction& f : lines[i].fractions) seen = seen || f.training;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (auto stage = StageOfLine(lines[i], total, begun[i])) return *stage;
  }
  // A running job whose logs name no phase is most likely just training.
  return "Training";
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
    const std::string_view line = Trim(text.substr(start, i - start));
    if (!line.empty()) lines.push_back(line);
    start = i + 1;
  }
  return lines;
}

Progress DeriveRunningProgress(std::string_view log_text) {
  Progress result;
  const std::vector<std::string_view> newest = NewestLines(log_text, kWindowLines);
  if (newest.empty()) return result;

  result.last_log = TruncateLogLine(SanitizeUtf8(newest.front().substr(0, kLastLogBytes)));

  std::vector<ScannedLine> lines;
  lines.reserve(newest.size());
  for (const std::string_view line : newest) lines.push_back(ScanLine(line));
  const Total total = TrainingTotal(lines);
  if (const Fraction* f = ProgressFraction(lines, total)) {
    result.progress = PercentOf(f->num, f->den);
    if (f->speed) {
      result.rate = f->speed->rate;
      result.eta_seconds = f->speed->eta_seconds;
    }
  }
  result.stage = StageOf(lines, total);
  return result;
}

Progress ProgressForStatus(const Progress& stored, bool running) {
  if (running) return stored;
  Progress shown;
  shown.last_log = stored.last_log;
  return shown;
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
  if (kept.empty()) return std::string();  // max_bytes == 0 (found by tests/fuzz/progress_fuzz)
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
