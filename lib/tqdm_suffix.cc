// Hand-written like the rest of the progress scan (lib/progress.cc): the
// suffix is short and fixed, and hostile log text must cost little.
#include "lib/tqdm_suffix.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

namespace jobpulse {
namespace {

// tqdm's suffix is a few dozen bytes; a postfix (loss=..., lr=...) can add
// more. Anything longer is not a suffix we read.
constexpr size_t kMaxSuffixBytes = 256;
// Durations beyond this (over ten years) are nonsense, and it keeps the
// arithmetic far from overflow.
constexpr int64_t kMaxSeconds = int64_t{10} * 366 * 86400;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "MM:SS" or "H:MM:SS" (tqdm's format_interval), minutes and seconds below 60
// when they follow a larger unit.
std::optional<int64_t> ParseInterval(std::string_view s) {
  int64_t parts[3] = {0, 0, 0};
  int count = 0;
  size_t pos = 0;
  while (pos <= s.size()) {
    if (count == 3) return std::nullopt;
    size_t end = pos;
    while (end < s.size() && IsDigit(s[end])) ++end;
    if (end == pos || end - pos > 9) return std::nullopt;
    int64_t v = 0;
    for (size_t i = pos; i < end; ++i) v = v * 10 + (s[i] - '0');
    parts[count++] = v;
    if (end == s.size()) break;
    if (s[end] != ':') return std::nullopt;
    pos = end + 1;
  }
  if (count < 2) return std::nullopt;
  for (int i = 1; i < count; ++i) {
    if (parts[i] >= 60) return std::nullopt;
  }
  const int64_t seconds =
      count == 3 ? parts[0] * 3600 + parts[1] * 60 + parts[2] : parts[0] * 60 + parts[1];
  if (seconds > kMaxSeconds) return std::nullopt;
  return seconds;
}

// "7.8it/s" -> 7.8; "1.25s/it" -> 0.8; "?it/s" and anything else -> nullopt.
std::optional<double> ParseRate(std::string_view s) {
  size_t end = 0;
  while (end < s.size() && (IsDigit(s[end]) || s[end] == '.')) ++end;
  if (end == 0 || end > 24) return std::nullopt;
  std::string lower;
  for (const char c : s.substr(end))
    lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  const std::string_view unit = Trim(lower);
  const bool per_second = unit == "it/s";
  if (!per_second && unit != "s/it") return std::nullopt;
  const std::string number(s.substr(0, end));
  char* parsed_end = nullptr;
  const double x = std::strtod(number.c_str(), &parsed_end);
  if (parsed_end != number.c_str() + number.size() || !std::isfinite(x) || x < 0) {
    return std::nullopt;
  }
  if (per_second) return RoundSignificant3(x);
  if (x == 0) return std::nullopt;  // "0.00s/it": no rate we can state
  return RoundSignificant3(1 / x);
}

}  // namespace

double RoundSignificant3(double value) {
  if (!std::isfinite(value) || value <= 0) return value;
  const int magnitude = static_cast<int>(std::floor(std::log10(value)));
  const double scale = std::pow(10.0, 2 - magnitude);
  return std::round(value * scale) / scale;
}

std::optional<BarSpeed> ParseTqdmSuffix(std::string_view rest) {
  rest = Trim(rest.substr(0, std::min(rest.size(), kMaxSuffixBytes + 16)));
  if (rest.empty() || rest.front() != '[') return std::nullopt;
  const size_t close = rest.find(']');
  if (close == std::string_view::npos || close > kMaxSuffixBytes) return std::nullopt;
  const std::string_view inside = rest.substr(1, close - 1);
  const size_t comma = inside.find(',');
  const std::string_view times = Trim(inside.substr(0, comma));
  const size_t less = times.find('<');
  if (less == std::string_view::npos) return std::nullopt;
  if (!ParseInterval(Trim(times.substr(0, less)))) return std::nullopt;
  BarSpeed speed;
  speed.eta_seconds = ParseInterval(Trim(times.substr(less + 1)));  // "?" -> nullopt
  if (comma != std::string_view::npos) {
    std::string_view after = inside.substr(comma + 1);
    after = Trim(after.substr(0, after.find(',')));  // a postfix follows another comma
    speed.rate = ParseRate(after);
  }
  return speed;
}

}  // namespace jobpulse
