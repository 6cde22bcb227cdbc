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
  // A message can carry text from outside (a provider's status, an error
  // body): control characters are escaped, so it can never start a line of
  // its own or move the terminal's cursor.
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      line += "\\n";
    } else if (c == '\r') {
      line += "\\r";
    } else if (c == '\t') {
      line += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      line += "\\x";
      line += kHex[byte >> 4];
      line += kHex[byte & 15];
    } else {
      line.push_back(c);
    }
  }
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
