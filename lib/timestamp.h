// RFC 3339 timestamps in UTC (SPEC §3). Internally a timestamp is microseconds
// since the Unix epoch; on the wire and in the database it is
// "YYYY-MM-DDTHH:MM:SS.ffffffZ", which sorts lexicographically.
// Pure functions except NowMicros; thread-safe.
#ifndef JOBPULSE_LIB_TIMESTAMP_H_
#define JOBPULSE_LIB_TIMESTAMP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jobpulse {

// Microseconds in a second: every timestamp and duration in jobpulse counts them.
constexpr int64_t kMicrosPerSecond = 1000000;

// Parses "2026-11-28T10:00:00Z", with 0-9 fractional digits (digits past the
// sixth are truncated), a "Z"/"z" or a "+HH:MM"/"-HH:MM" offset, and "T", "t" or a
// space between date and time. Returns nullopt for anything else, including
// impossible dates (2026-02-30) and a missing offset.
std::optional<int64_t> ParseTimestamp(std::string_view text);

// Formats as "YYYY-MM-DDTHH:MM:SS.ffffffZ".
std::string FormatTimestamp(int64_t micros);

// ParseTimestamp then FormatTimestamp; nullopt when unparseable.
std::optional<std::string> NormalizeTimestamp(std::string_view text);

// The wall clock, in microseconds since the epoch.
int64_t NowMicros();

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_TIMESTAMP_H_
