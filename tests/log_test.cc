// The log line format, and that a message never makes a second line.
#include "lib/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

namespace jobpulse {
namespace {

// Runs `log` with stderr sent to a temporary file; returns what was written.
template <typename F>
std::string CaptureStderr(F log) {
  char path[] = "/tmp/jobpulse-log-test-XXXXXX";
  const int fd = mkstemp(path);
  BOOST_REQUIRE(fd >= 0);
  const int saved = dup(STDERR_FILENO);
  BOOST_REQUIRE(saved >= 0);
  BOOST_REQUIRE(dup2(fd, STDERR_FILENO) >= 0);
  log();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string out;
  char buf[4096];
  ssize_t n;
  lseek(fd, 0, SEEK_SET);
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  unlink(path);
  return out;
}

BOOST_AUTO_TEST_SUITE(log_lines)

BOOST_AUTO_TEST_CASE(a_line_has_time_program_pid_level_and_message) {
  const std::string out = CaptureStderr([] {
    SetLogProgramName("jobpulse-test");
    LogInfo("first");
    LogWarning("second");
    LogError("third");
    SetLogProgramName("jobpulse");
  });
  const std::string pid = std::to_string(getpid());
  const std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z jobpulse-test\[)" + pid +
                        R"(\] info: first\n)"
                        R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z jobpulse-test\[)" +
                        pid +
                        R"(\] warning: second\n)"
                        R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z jobpulse-test\[)" +
                        pid + R"(\] error: third\n)");
  BOOST_TEST(std::regex_match(out, line), out);
}

// Provider text reaches log messages (an unknown status, an error body): it
// may not forge a line of its own or send terminal escapes.
BOOST_AUTO_TEST_CASE(control_characters_are_escaped_so_one_call_is_one_line) {
  const std::string out = CaptureStderr([] {
    LogWarning(std::string("unknown status 'x\n2026-01-01T00:00:00.000000Z jobpulse[1] error: "
                           "forged'\r\t\x1b[31m\x7f") +
               std::string(1, '\0') + "end");
  });
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 1);
  BOOST_TEST(out.back() == '\n');
  const std::string expected =
      "warning: unknown status 'x\\n2026-01-01T00:00:00.000000Z jobpulse[1] error: "
      "forged'\\r\\t\\x1b[31m\\x7f\\x00end\n";
  BOOST_TEST(out.size() > expected.size());
  BOOST_TEST(out.substr(out.size() - expected.size()) == expected);
}

BOOST_AUTO_TEST_CASE(utf8_text_is_kept) {
  const std::string out = CaptureStderr([] { LogInfo("caf\xc3\xa9 \xe2\x9c\x93"); });
  BOOST_TEST(out.substr(out.size() - 16) == "info: caf\xc3\xa9 \xe2\x9c\x93\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
