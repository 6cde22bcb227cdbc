// One-line log messages on stderr, which supervisord collects per program.
// Callers must never pass secrets (tokens, webhook secrets); messages built
// from a Status are safe, since no Status carries one. Thread-safe (one
// write(2) per line).
#ifndef JOBPULSE_LIB_LOG_H_
#define JOBPULSE_LIB_LOG_H_

#include <string_view>

namespace jobpulse {

// "2026-11-28T10:00:00.000000Z jobpulse-fcgi[123] warning: <message>", with
// the message's control characters escaped ("\n", "\r", "\t", "\x1b"), so
// one call is always one line.
void LogInfo(std::string_view message);
void LogWarning(std::string_view message);
void LogError(std::string_view message);

// The program name used in log lines (default "jobpulse").
void SetLogProgramName(std::string_view name);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_LOG_H_
