// A small W3C WebDriver client for the browser tests: libcurl + RapidJSON, driving
// Debian's chromedriver and headless Chromium (packages chromium, chromium-driver).
//
// The constructor starts /usr/bin/chromedriver on a free 127.0.0.1 port in a process
// group of its own (led by a small watchdog that kills the group when chromedriver
// exits or the test binary dies), waits for GET /status to say ready and opens a
// session whose Chromium uses a fresh temporary profile. The destructor always ends
// the session, kills the process group (chromedriver and every Chromium process) and
// removes the temporary directory. Every HTTP call to chromedriver has a timeout and every
// wait is bounded, so a hung browser fails a test instead of hanging it.
//
// Errors from chromedriver (W3C error codes such as "no such element" or "stale
// element reference") are thrown as WebDriverError. Thread-compatible: one instance
// per test, used from one thread.
#ifndef JOBPULSE_TESTS_INTEGRATION_WEBDRIVER_H_
#define JOBPULSE_TESTS_INTEGRATION_WEBDRIVER_H_

#include <rapidjson/document.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace jobpulse::testing {

class WebDriverError : public std::runtime_error {
 public:
  WebDriverError(const std::string& code, const std::string& message)
      : std::runtime_error(code.empty() ? message : code + ": " + message), code_(code) {}
  // The W3C error code ("no such element", "stale element reference", ...);
  // empty for transport failures and answers that are not WebDriver JSON.
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

struct BrowserLogEntry {
  std::string level;  // "SEVERE", "WARNING", "INFO", "DEBUG"
  std::string message;
  std::string source;  // "console-api", "network", "javascript", ...
  int64_t timestamp = 0;
};

struct WebDriverOptions {
  std::string chromedriver = "/usr/bin/chromedriver";
  std::string chromium = "/usr/bin/chromium";
  int width = 1280;  // --window-size
  int height = 900;
  int startup_timeout_ms = 30000;  // chromedriver ready + session created
  int command_timeout_ms = 30000;  // each HTTP call to chromedriver
  int page_load_timeout_ms = 20000;
  int script_timeout_ms = 10000;
};

class WebDriver {
 public:
  // Throws std::runtime_error (with chromedriver's log) when it cannot start.
  explicit WebDriver(const WebDriverOptions& options = {});
  ~WebDriver();
  WebDriver(const WebDriver&) = delete;
  WebDriver& operator=(const WebDriver&) = delete;

  // "" when both binaries exist and are executable, else what is missing and how to
  // install it.
  static std::string MissingBinaries(const WebDriverOptions& options = {});

  void Navigate(const std::string& url);
  std::string CurrentUrl();

  // The element reference of the first match, or "" when nothing matches.
  std::string Find(const std::string& css);
  std::vector<std::string> FindAll(const std::string& css);
  // The same, searching below `element`.
  std::string FindIn(const std::string& element, const std::string& css);
  std::vector<std::string> FindAllIn(const std::string& element, const std::string& css);

  // The focused element (document.activeElement).
  std::string ActiveElement();

  // WebDriver key codes for SendKeys (UTF-8 of U+E004 and U+E007).
  static constexpr const char* kTab = "\xEE\x80\x84";
  static constexpr const char* kEnter = "\xEE\x80\x87";

  void Click(const std::string& element);
  void SendKeys(const std::string& element, const std::string& text);
  // The rendered text (innerText-like: CSS text-transform applies, hidden text is "").
  std::string Text(const std::string& element);
  // The attribute's value, or nullopt when the element has no such attribute.
  std::optional<std::string> Attribute(const std::string& element, const std::string& name);
  // The DOM property, as JSON ("null", "true", "25", "\"text\"").
  std::string Property(const std::string& element, const std::string& name);
  bool Displayed(const std::string& element);

  // Runs `js` as a function body with `arguments` = args_json (a JSON array; element
  // references can be passed as {"element-6066-11e4-a52e-4f735466cecf": id}) and
  // returns the JSON of its return value ("null" when it returns nothing).
  std::string ExecuteScript(const std::string& js, const std::string& args_json = "[]");
  rapidjson::Document ExecuteScriptJson(const std::string& js, const std::string& args_json = "[]");
  // The JSON argument that stands for an element in ExecuteScript's args.
  static std::string ElementArg(const std::string& element);

  // Polls `predicate` every 100 ms until it returns true or timeout_ms passes.
  // A "stale element reference" or "no such element" thrown by the predicate counts
  // as false (the page re-rendered under it); other errors propagate.
  bool WaitFor(const std::function<bool()>& predicate, int timeout_ms);

  // Saves a PNG of the viewport.
  void Screenshot(const std::string& path);

  // Every browser log entry since the session started (chromedriver hands each
  // entry out once; this keeps them all).
  std::vector<BrowserLogEntry> BrowserLog();

  void SetWindowSize(int width, int height);

  // Ends the session and stops chromedriver; idempotent.
  void Quit();

  const std::string& session_id() const { return session_; }
  int port() const { return port_; }
  // chromedriver's own output, for failure messages.
  std::string DriverLog() const;

 private:
  rapidjson::Document Command(const std::string& method, const std::string& path,
                              const std::string& body = "");
  std::string SessionPath(const std::string& rest) const;
  void StartDriver();
  void StopDriver();

  WebDriverOptions options_;
  std::string dir_;  // temporary: profile/ and chromedriver.log
  int port_ = 0;
  pid_t group_ = -1;  // the watchdog that leads chromedriver's process group
  std::string session_;
  std::vector<BrowserLogEntry> log_;
};

}  // namespace jobpulse::testing

#endif  // JOBPULSE_TESTS_INTEGRATION_WEBDRIVER_H_
