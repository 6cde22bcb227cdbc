#include "lib/log.h"

#include <unistd.h>

#include <string>

#include "lib/timestamp.h"

namespace jobpulse {
namespace {

std::string& ProgramName() {
  static std::string name = "jobpulse";
  return name;
}

void Write(const char* level, std::string_view message) {
  std::string line = FormatTimestamp(NowMicros()) + " " + ProgramName() + "[" +
                     std::to_string(getpid()) + "] " + level + ": ";
  line.append(message.data(), message.size());
  line.push_back('\n');
  // One write per line, so lines from concurrent processes never interleave.
  const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  (void)written;  // nowhere left to report a failing stderr
}

}  // namespace

void LogInfo(std::string_view message) { Write("info", message); }
void LogWarning(std::string_view message) { Write("warning", message); }
void LogError(std::string_view message) { Write("error", message); }
void SetLogProgramName(std::string_view name) { ProgramName() = std::string(name); }

}  // namespace jobpulse
