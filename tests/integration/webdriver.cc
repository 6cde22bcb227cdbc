#include "tests/integration/webdriver.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/stack.h"

namespace jobpulse::testing {
namespace {

using Clock = std::chrono::steady_clock;

// The W3C key under which an element reference travels.
constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";

std::string JsonString(const std::string& s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return buffer.GetString();
}

std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct Reply {
  long status = 0;  // 0: transport failure
  std::string body;
  std::string error;
};

Reply Call(const std::string& method, const std::string& url, const std::string& body,
           int timeout_ms) {
  Reply reply;
  CURL* curl = curl_easy_init();
  if (!curl) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json; charset=utf-8");
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  } else {
    reply.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

std::string ElementId(const rapidjson::Value& value) {
  if (value.IsObject()) {
    const auto it = value.FindMember(kElementKey);
    if (it != value.MemberEnd() && it->value.IsString()) return it->value.GetString();
  }
  throw WebDriverError("", "not an element reference: " + ToJson(value));
}

std::string Base64Decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    if (c == '=') break;
    const size_t v = kAlphabet.find(c);
    if (v == std::string::npos) {
      if (c == '\n' || c == '\r' || c == ' ') continue;
      throw WebDriverError("", "screenshot is not base64");
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

bool Executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// Whether a process of group `pgid` is still running. Zombies do not count: killed
// Chromium processes are reparented to init, which may reap them late.
bool GroupRunning(pid_t pgid) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    // /proc/N/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces and ')'.
    const std::string stat = ReadFile(entry.path().string() + "/stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    int pgrp = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d %d", &state, &ppid, &pgrp) != 3) continue;
    if (pgrp == pgid && state != 'Z' && state != 'X') return true;
  }
  return false;
}

// The process StartDriver forks (only async-signal-safe calls from here on): it
// leads a new process group, starts chromedriver in it and waits. When chromedriver
// exits, when it is told to stop (SIGTERM to the group) or when the test binary dies
// (PR_SET_PDEATHSIG), it SIGKILLs the whole group: chromedriver and every Chromium
// process, which would otherwise outlive chromedriver.
[[noreturn]] void RunWatchdog(pid_t parent, const char* log_path, const char* chromedriver,
                              const char* port_arg) {
  setpgid(0, 0);
  sigset_t signals;
  sigemptyset(&signals);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&signals, sig);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(1);
  const int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
  }
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, 0);
  const pid_t driver = fork();
  if (driver == 0) {
    sigprocmask(SIG_UNBLOCK, &signals, nullptr);
    execl(chromedriver, chromedriver, port_arg, static_cast<char*>(nullptr));
    _exit(127);
  }
  while (driver > 0) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) break;
    if (sig != SIGCHLD) break;
    int status;
    if (waitpid(driver, &status, WNOHANG) == driver) break;
  }
  kill(0, SIGKILL);  // the whole group, this process included
  _exit(1);
}

}  // namespace

std::string WebDriver::MissingBinaries(const WebDriverOptions& options) {
  std::string missing;
  for (const auto& path : {options.chromium, options.chromedriver}) {
    if (!Executable(path)) missing += (missing.empty() ? "" : ", ") + path;
  }
  if (missing.empty()) return "";
  return "the browser tests need " + missing +
         ", which is missing: run `make test-deps` (Debian packages chromium, "
         "chromium-driver, fonts-liberation)";
}

WebDriver::WebDriver(const WebDriverOptions& options) : options_(options) {
  if (const std::string missing = MissingBinaries(options_); !missing.empty()) {
    throw std::runtime_error(missing);
  }
  char tmpl[] = "/tmp/jobpulse-chrome-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::filesystem::create_directories(dir_ + "/profile");
  try {
    StartDriver();
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("capabilities");
    w.StartObject();
    w.Key("alwaysMatch");
    w.StartObject();
    w.Key("browserName");
    w.String("chrome");
    w.Key("goog:chromeOptions");
    w.StartObject();
    w.Key("binary");
    w.String(options_.chromium.c_str());
    w.Key("args");
    w.StartArray();
    for (const std::string& arg :
         {std::string("--headless=new"), std::string("--no-sandbox"), std::string("--disable-gpu"),
          std::string("--disable-quic"), std::string("--no-first-run"),
          std::string("--disable-background-networking"), std::string("--disable-component-update"),
          std::string("--disable-sync"), std::string("--disable-dev-shm-usage"),
          "--user-data-dir=" + dir_ + "/profile",
          "--window-size=" + std::to_string(options_.width) + "," +
              std::to_string(options_.height)}) {
      w.String(arg.c_str());
    }
    w.EndArray();
    w.EndObject();
    w.Key("goog:loggingPrefs");
    w.StartObject();
    w.Key("browser");
    w.String("ALL");
    w.EndObject();
    w.Key("timeouts");
    w.StartObject();
    w.Key("implicit");
    w.Int(0);
    w.Key("pageLoad");
    w.Int(options_.page_load_timeout_ms);
    w.Key("script");
    w.Int(options_.script_timeout_ms);
    w.EndObject();
    w.EndObject();
    w.EndObject();
    w.EndObject();
    const Reply reply = Call("POST", "http://127.0.0.1:" + std::to_string(port_) + "/session",
                             buffer.GetString(), options_.startup_timeout_ms);
    rapidjson::Document doc;
    doc.Parse(reply.body.c_str());
    if (reply.status != 200 || doc.HasParseError() || !doc.IsObject() || !doc.HasMember("value") ||
        !doc["value"].IsObject() || !doc["value"].HasMember("sessionId") ||
        !doc["value"]["sessionId"].IsString()) {
      throw std::runtime_error("chromedriver did not create a session (HTTP " +
                               std::to_string(reply.status) + " " + reply.error +
                               "): " + reply.body + "\n--- chromedriver ---\n" + DriverLog());
    }
    session_ = doc["value"]["sessionId"].GetString();
  } catch (...) {
    Quit();
    throw;
  }
}

WebDriver::~WebDriver() {
  try {
    Quit();
  } catch (...) {
  }
}

void WebDriver::StartDriver() {
  const std::string log_path = dir_ + "/chromedriver.log";
  std::string failures;
  // A port found free can be taken before chromedriver binds it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = FreePort();
    const std::string port_arg = "--port=" + std::to_string(port_);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      RunWatchdog(parent, log_path.c_str(), options_.chromedriver.c_str(), port_arg.c_str());
    }
    setpgid(pid, pid);
    group_ = pid;
    const auto deadline = Clock::now() + std::chrono::milliseconds(options_.startup_timeout_ms);
    bool exited = false;
    while (Clock::now() < deadline) {
      const Reply r =
          Call("GET", "http://127.0.0.1:" + std::to_string(port_) + "/status", "", 2000);
      if (r.status == 200 && r.body.find("\"ready\":true") != std::string::npos) return;
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!exited) {
      kill(-pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      group_ = -1;
      throw std::runtime_error("chromedriver was not ready within " +
                               std::to_string(options_.startup_timeout_ms) + " ms:\n" +
                               DriverLog());
    }
    kill(-pid, SIGKILL);  // anything it started
    group_ = -1;
    failures += "attempt " + std::to_string(attempt + 1) + " on port " + std::to_string(port_) +
                ": chromedriver exited\n";
  }
  throw std::runtime_error("chromedriver did not start:\n" + failures + DriverLog());
}

void WebDriver::Quit() {
  if (!session_.empty() && group_ > 0) {
    // Closes Chromium cleanly; whatever happens, the group is killed below.
    Call("DELETE", "http://127.0.0.1:" + std::to_string(port_) + "/session/" + session_, "", 10000);
  }
  session_.clear();
  StopDriver();
  if (!dir_.empty()) {
    std::error_code ec;
    if (!std::getenv("JOBPULSE_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

void WebDriver::StopDriver() {
  if (group_ <= 0) return;
  const pid_t pid = group_;
  group_ = -1;
  kill(-pid, SIGTERM);
  int status;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Chromium's processes are chromedriver's children, in the same group; they are
  // reparented when chromedriver exits. Kill what is left and wait (bounded) until
  // none of them runs, so the profile directory can be removed.
  kill(-pid, SIGKILL);
  deadline = Clock::now() + std::chrono::seconds(5);
  while (GroupRunning(pid) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string WebDriver::DriverLog() const {
  return dir_.empty() ? "" : ReadFile(dir_ + "/chromedriver.log");
}

std::string WebDriver::SessionPath(const std::string& rest) const {
  return "/session/" + session_ + rest;
}

rapidjson::Document WebDriver::Command(const std::string& method, const std::string& path,
                                       const std::string& body) {
  if (session_.empty()) throw WebDriverError("invalid session id", "no session");
  const Reply reply =
      Call(method, "http://127.0.0.1:" + std::to_string(port_) + path,
           method == "POST" && body.empty() ? "{}" : body, options_.command_timeout_ms);
  if (reply.status == 0) {
    throw WebDriverError("", method + " " + path + ": " + reply.error);
  }
  rapidjson::Document doc;
  doc.Parse(reply.body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("value")) {
    throw WebDriverError("", method + " " + path + " -> HTTP " + std::to_string(reply.status) +
                                 ", not WebDriver JSON: " + reply.body.substr(0, 500));
  }
  if (reply.status != 200) {
    const rapidjson::Value& v = doc["value"];
    std::string code = "unknown error";
    std::string message = reply.body.substr(0, 500);
    if (v.IsObject()) {
      if (v.HasMember("error") && v["error"].IsString()) code = v["error"].GetString();
      if (v.HasMember("message") && v["message"].IsString()) {
        message = v["message"].GetString();
        // chromedriver appends a long native stack trace; the first line is the point.
        const size_t nl = message.find('\n');
        if (nl != std::string::npos) message.resize(nl);
      }
    }
    throw WebDriverError(code, method + " " + path + ": " + message);
  }
  return doc;
}

void WebDriver::Navigate(const std::string& url) {
  Command("POST", SessionPath("/url"), "{\"url\":" + JsonString(url) + "}");
}

std::string WebDriver::CurrentUrl() {
  const auto doc = Command("GET", SessionPath("/url"));
  return doc["value"].IsString() ? doc["value"].GetString() : "";
}

std::string WebDriver::Find(const std::string& css) {
  try {
    const auto doc = Command("POST", SessionPath("/element"),
                             "{\"using\":\"css selector\",\"value\":" + JsonString(css) + "}");
    return ElementId(doc["value"]);
  } catch (const WebDriverError& e) {
    if (e.code() == "no such element") return "";
    throw;
  }
}

std::vector<std::string> WebDriver::FindAll(const std::string& css) {
  const auto doc = Command("POST", SessionPath("/elements"),
                           "{\"using\":\"css selector\",\"value\":" + JsonString(css) + "}");
  std::vector<std::string> out;
  for (const auto& v : doc["value"].GetArray()) out.push_back(ElementId(v));
  return out;
}

std::string WebDriver::FindIn(const std::string& element, const std::string& css) {
  try {
    const auto doc = Command("POST", SessionPath("/element/" + element + "/element"),
                             "{\"using\":\"css selector\",\"value\":" + JsonString(css) + "}");
    return ElementId(doc["value"]);
  } catch (const WebDriverError& e) {
    if (e.code() == "no such element") return "";
    throw;
  }
}

std::vector<std::string> WebDriver::FindAllIn(const std::string& element, const std::string& css) {
  const auto doc = Command("POST", SessionPath("/element/" + element + "/elements"),
                           "{\"using\":\"css selector\",\"value\":" + JsonString(css) + "}");
  std::vector<std::string> out;
  for (const auto& v : doc["value"].GetArray()) out.push_back(ElementId(v));
  return out;
}

std::string WebDriver::ActiveElement() {
  const auto doc = Command("GET", SessionPath("/element/active"));
  return ElementId(doc["value"]);
}

void WebDriver::Click(const std::string& element) {
  Command("POST", SessionPath("/element/" + element + "/click"), "{}");
}

void WebDriver::SendKeys(const std::string& element, const std::string& text) {
  Command("POST", SessionPath("/element/" + element + "/value"),
          "{\"text\":" + JsonString(text) + "}");
}

std::string WebDriver::Text(const std::string& element) {
  const auto doc = Command("GET", SessionPath("/element/" + element + "/text"));
  return doc["value"].IsString() ? doc["value"].GetString() : "";
}

std::optional<std::string> WebDriver::Attribute(const std::string& element,
                                                const std::string& name) {
  const auto doc = Command("GET", SessionPath("/element/" + element + "/attribute/" + name));
  if (doc["value"].IsNull()) return std::nullopt;
  return doc["value"].IsString() ? doc["value"].GetString() : ToJson(doc["value"]);
}

std::string WebDriver::Property(const std::string& element, const std::string& name) {
  const auto doc = Command("GET", SessionPath("/element/" + element + "/property/" + name));
  return ToJson(doc["value"]);
}

bool WebDriver::Displayed(const std::string& element) {
  const auto doc = Command("GET", SessionPath("/element/" + element + "/displayed"));
  return doc["value"].IsBool() && doc["value"].GetBool();
}

std::string WebDriver::ExecuteScript(const std::string& js, const std::string& args_json) {
  const auto doc = Command("POST", SessionPath("/execute/sync"),
                           "{\"script\":" + JsonString(js) + ",\"args\":" + args_json + "}");
  return ToJson(doc["value"]);
}

rapidjson::Document WebDriver::ExecuteScriptJson(const std::string& js,
                                                 const std::string& args_json) {
  rapidjson::Document doc;
  doc.Parse(ExecuteScript(js, args_json).c_str());
  return doc;
}

std::string WebDriver::ElementArg(const std::string& element) {
  return std::string("{\"") + kElementKey + "\":" + JsonString(element) + "}";
}

bool WebDriver::WaitFor(const std::function<bool()>& predicate, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    try {
      if (predicate()) return true;
    } catch (const WebDriverError& e) {
      if (e.code() != "stale element reference" && e.code() != "no such element") throw;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void WebDriver::Screenshot(const std::string& path) {
  const auto doc = Command("GET", SessionPath("/screenshot"));
  if (!doc["value"].IsString()) throw WebDriverError("", "screenshot: no image");
  const std::string png = Base64Decode(doc["value"].GetString());
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(png.data(), static_cast<std::streamsize>(png.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<BrowserLogEntry> WebDriver::BrowserLog() {
  // chromedriver's (pre-W3C) log endpoint; each entry is handed out once.
  const auto doc = Command("POST", SessionPath("/se/log"), "{\"type\":\"browser\"}");
  if (doc["value"].IsArray()) {
    for (const auto& v : doc["value"].GetArray()) {
      BrowserLogEntry entry;
      if (v.HasMember("level") && v["level"].IsString()) entry.level = v["level"].GetString();
      if (v.HasMember("message") && v["message"].IsString()) {
        entry.message = v["message"].GetString();
      }
      if (v.HasMember("source") && v["source"].IsString()) entry.source = v["source"].GetString();
      if (v.HasMember("timestamp") && v["timestamp"].IsNumber()) {
        entry.timestamp = static_cast<int64_t>(v["timestamp"].GetDouble());
      }
      log_.push_back(entry);
    }
  }
  return log_;
}

void WebDriver::SetWindowSize(int width, int height) {
  Command("POST", SessionPath("/window/rect"),
          "{\"width\":" + std::to_string(width) + ",\"height\":" + std::to_string(height) + "}");
}

}  // namespace jobpulse::testing
