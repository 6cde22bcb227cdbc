#include "tests/integration/stack.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/loopback_socket.h"

namespace jobpulse::testing {
namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t AppendHeader(char* data, size_t size, size_t n, void* out) {
  const std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

int RunCommand(const std::vector<std::string>& argv, const std::string& log,
               const std::function<void()>& child_setup = {}) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (child_setup) child_setup();
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string RepoRoot() { return EnvOr("JOBPULSE_ROOT", std::filesystem::current_path().string()); }

std::string BinDir() { return EnvOr("JOBPULSE_BIN_DIR", RepoRoot() + "/build"); }

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RunCgi(const std::vector<std::pair<std::string, std::string>>& env,
                   const std::string& body, int* exit_status) {
  int in_pipe[2];
  int out_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
  if (!body.empty() &&
      write(in_pipe[1], body.data(), body.size()) != static_cast<ssize_t>(body.size())) {
    throw std::runtime_error("writing the CGI body failed");
  }
  close(in_pipe[1]);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    close(in_pipe[0]);
    close(out_pipe[0]);
    close(out_pipe[1]);
    for (const char* name : {"SIMPLETUNER_ENTERPRISE_CONFIG", "REPLICATE_API_TOKEN",
                             "REPLICATE_BASE_URL", "SIMPLETUNER_CONFIG_DIR"}) {
      unsetenv(name);
    }
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    const std::string bin = BinDir() + "/jobpulse-fcgi";
    execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(out_pipe[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string HttpResult::Header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpResult Http(const std::string& method, const std::string& url, const std::string& body,
                const std::vector<std::string>& headers) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  // Without this libcurl sends "Expect: 100-continue" for large bodies and waits.
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  } else {
    result.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return result;
}

Stack::Stack(const StackOptions& options) {
  char tmpl[] = "/tmp/jobpulse-it-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  db_path_ = (options.db_dir.empty() ? dir_ : options.db_dir) + "/jobpulse.db";
  database_url_ = options.database_url;
  port_ = options.port ? options.port : FreePort();
  const std::string run_dir = dir_ + "/run";
  std::vector<std::string> gen = {RepoRoot() + "/nginx/gen-config",
                                  "--run-dir",
                                  run_dir,
                                  "--port",
                                  std::to_string(port_),
                                  "--root",
                                  RepoRoot(),
                                  "--bin-dir",
                                  BinDir(),
                                  "--pool-size",
                                  std::to_string(options.pool_size)};
  if (options.with_worker) gen.push_back("--worker");
  std::string yaml_path;
  if (!options.enterprise_yaml.empty()) {
    yaml_path = dir_ + "/simpletuner-enterprise.yaml";
    std::ofstream(yaml_path) << options.enterprise_yaml;
  }
  // The environment of gen-config (it reads listen.server_names) and of supervisord.
  const auto set_env = [&] {
    setenv("JOBPULSE_DB", db_path_.c_str(), 1);
    if (!options.database_url.empty()) {
      setenv("JOBPULSE_DATABASE_URL", options.database_url.c_str(), 1);
    } else {
      unsetenv("JOBPULSE_DATABASE_URL");
    }
    setenv("JOBPULSE_MAX_REQUESTS", std::to_string(options.max_requests).c_str(), 1);
    if (!yaml_path.empty()) {
      setenv("SIMPLETUNER_ENTERPRISE_CONFIG", yaml_path.c_str(), 1);
    } else {
      unsetenv("SIMPLETUNER_ENTERPRISE_CONFIG");
    }
    for (const char* name :
         {"REPLICATE_API_TOKEN", "REPLICATE_BASE_URL", "REPLICATE_WEBHOOK_URL",
          "REPLICATE_WEBHOOK_SECRET", "SIMPLETUNER_CONFIG_DIR", "SIMPLETUNER_JOB_POLL_INTERVAL",
          "JOBPULSE_PORT", "JOBPULSE_API_TOKEN"}) {
      unsetenv(name);
    }
    if (!options.replicate_base_url.empty()) {
      setenv("REPLICATE_BASE_URL", options.replicate_base_url.c_str(), 1);
    }
    if (!options.replicate_token.empty()) {
      setenv("REPLICATE_API_TOKEN", options.replicate_token.c_str(), 1);
    }
    if (!options.api_token.empty()) setenv("JOBPULSE_API_TOKEN", options.api_token.c_str(), 1);
    for (const auto& [name, value] : options.extra_env) setenv(name.c_str(), value.c_str(), 1);
  };
  if (RunCommand(gen, dir_ + "/gen-config.log", set_env) != 0) {
    throw std::runtime_error("gen-config failed: " + ReadFile(dir_ + "/gen-config.log"));
  }
  if (options.patch_config) options.patch_config(run_dir);

  supervisord_ = fork();
  if (supervisord_ < 0) throw std::runtime_error("fork failed");
  if (supervisord_ == 0) {
    setpgid(0, 0);  // one process group: the destructor can always clean up
    const int fd = open((dir_ + "/supervisord.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    set_env();
    const std::string conf = run_dir + "/supervisord.conf";
    execlp("supervisord", "supervisord", "-n", "-c", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(supervisord_, supervisord_);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Http("GET", Url("/api/cloud/health")).status == 200) return;
    int status;
    if (waitpid(supervisord_, &status, WNOHANG) == supervisord_) {
      supervisord_ = -1;
      throw std::runtime_error("supervisord exited during start-up:\n" + Logs());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string logs = Logs();
  Stop();
  throw std::runtime_error("the stack did not answer /api/cloud/health within 30 s:\n" + logs);
}

namespace {

// Kills what a stack's supervisord left behind when it was killed before it
// could stop its programs (they run in process groups of their own, so the
// group kill misses them): every process whose command line or environment
// names the stack's directory. Returns how many.
int KillLeftovers(const std::string& dir) {
  int killed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == getpid()) continue;
    std::string text;
    for (const char* part : {"/cmdline", "/environ"}) {
      std::ifstream in(entry.path().string() + part, std::ios::binary);
      text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (text.find(dir + "/") != std::string::npos && kill(pid, SIGKILL) == 0) ++killed;
  }
  return killed;
}

}  // namespace

Stack::~Stack() {
  Stop();
  std::error_code ec;
  if (!std::getenv("JOBPULSE_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir_, ec);
}

void Stack::Stop() {
  if (supervisord_ <= 0) return;
  kill(supervisord_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int status;
  while (waitpid(supervisord_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-supervisord_, SIGKILL);
      waitpid(supervisord_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Anything of the group that outlived supervisord (it should not) goes too.
  kill(-supervisord_, SIGKILL);
  supervisord_ = -1;
  if (const int left = KillLeftovers(dir_); left > 0) {
    std::fprintf(stderr, "stack %s: killed %d programs supervisord left running\n", dir_.c_str(),
                 left);
  }
}

bool Stack::WaitForEvents(int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string error;
    const int fd = OpenEventStream(port_, &error);
    std::string got;
    if (fd >= 0) {
      // Until the connected message, the end of the answer (a 502 while the
      // worker starts) or a second without a byte.
      char buf[4096];
      pollfd p{fd, POLLIN, 0};
      while (got.find("\"type\":\"connected\"") == std::string::npos && poll(&p, 1, 1000) == 1) {
        const ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
    }
    if (fd >= 0) close(fd);
    if (got.rfind("HTTP/1.1 200", 0) == 0 &&
        got.find("\"type\":\"connected\"") != std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::unique_ptr<Store> Stack::OpenStore() const {
  auto opened = Store::Open(db_path_, database_url_);
  if (!opened.ok())
    throw std::runtime_error("cannot open the stack's store: " + opened.status().ToString());
  return std::move(opened.value());
}

std::string Stack::Url(const std::string& path_and_query) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path_and_query;
}

std::string Stack::Logs() const {
  return "--- supervisord ---\n" + ReadFile(dir_ + "/supervisord.out") + "--- fcgi ---\n" +
         ReadFile(dir_ + "/run/fcgi.log") + "--- nginx ---\n" + ReadFile(dir_ + "/run/nginx.log") +
         "--- worker ---\n" + ReadFile(dir_ + "/run/worker.log");
}

int Stack::ProgramPid(const std::string& program) const {
  return std::atoi(SupervisorCtl("pid " + program).c_str());
}

std::string Stack::SupervisorCtl(const std::string& args) const {
  const std::string cmd = "supervisorctl -c " + dir_ + "/run/supervisord.conf " + args + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "popen failed";
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

}  // namespace jobpulse::testing

namespace jobpulse::testing {

Simulator::Simulator(const std::vector<std::string>& extra_args) {
  char tmpl[] = "/tmp/jobpulse-sim-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  const std::string port_file = dir_ + "/port";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = open((dir_ + "/sim.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    const std::string bin = BinDir() + "/replicate-sim";
    std::vector<std::string> args = {bin, "--port", "0", "--port-file", port_file};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = ReadFile(port_file);
    if (!text.empty()) {
      port_ = std::atoi(text.c_str());
      if (port_ > 0) return;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("replicate-sim exited: " + ReadFile(dir_ + "/sim.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("replicate-sim did not start within 10 s");
}

Simulator::~Simulator() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::error_code ec;
  if (!std::getenv("JOBPULSE_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir_, ec);
}

std::string Simulator::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

void SimulatedStack::Start(StackOptions options, const std::vector<std::string>& sim_args,
                           bool open_store) {
  sim_ = std::make_unique<Simulator>(sim_args);
  options.replicate_base_url = sim_->base_url();
  options.replicate_token = Simulator::kToken;
  stack_ = std::make_unique<Stack>(options);
  if (!open_store) return;
  store_ = stack_->OpenStore();
}

void SimulatedStack::Stop() {
  store_.reset();
  stack_.reset();
  sim_.reset();
}

std::string Simulator::Control(const std::string& method, const std::string& path,
                               const std::string& body, long* status) const {
  const HttpResult r = Http(method, "http://127.0.0.1:" + std::to_string(port_) + "/_sim" + path,
                            body, {"Content-Type: application/json"});
  if (status) *status = r.status;
  if (r.status < 200 || r.status >= 300) {
    throw std::runtime_error("simulator control " + method + " " + path + " -> " +
                             std::to_string(r.status) + " " + r.error + " " + r.body);
  }
  return r.body;
}

}  // namespace jobpulse::testing
