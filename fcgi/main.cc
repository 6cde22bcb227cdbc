// jobpulse-fcgi: the FastCGI front end of the REST API (SPEC §1, §9).
//
// Three ways to run, chosen by what fd 0 is:
//  - a FastCGI listening socket (supervisord [fcgi-program], spawn-fcgi,
//    mod_fcgid): serve up to max_requests (±25 % per process) requests, then
//    exit 0 so the supervisor starts a fresh process;
//  - anything else: plain CGI, one request from the environment and stdin.
// `--check-config` prints the effective configuration with each value's source
// and exits (78 when it is invalid); `--check-config=sh` prints it as sh
// assignments for scripts to eval (DescribeConfigForShell in lib/config.h:
// cfg_listen_port='8001', a secret as set/unset), which nginx/jobpulse-run reads.
// `--listen-port` and `--server-names` print listen.port and listen.server_names
// (one a line, for nginx/gen-config).
// `--slot N` is supervisord's %(process_num)d. Slot 0 of a pool holds the
// listening socket without serving: supervisord closes the socket when the last
// process of the group has exited, and with recycling handlers that moment
// comes often enough to turn into 502s; the holder keeps it open, so waiting
// connections sit in the backlog until a fresh handler accepts them.
//
// Everything but moving bytes lives in lib/ (Api::Handle).
#include <fcgiapp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/api.h"
#include "lib/config.h"
#include "lib/counters.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/store.h"
#include "lib/timestamp.h"

extern char** environ;  // CGI mode: the request's variables are the process environment

namespace jobpulse {
namespace {

volatile sig_atomic_t g_stop = 0;

void OnStopSignal(int) { g_stop = 1; }

// The request's CGI variables, read in one pass over its "NAME=value" entries
// (a FastCGI request's params, or the process environment in CGI mode). The
// first entry of a name wins, as with getenv; the views point into the
// entries, which outlive the request's handling.
struct CgiParams {
  explicit CgiParams(char** entries);

  std::string_view method, uri, script_name, path_info, query_string, if_none_match, https,
      request_scheme, server_port, content_length;
  // The request headers, as lib/http.h names them: the web server passes each
  // as HTTP_<NAME> with '-' turned into '_' ("Webhook-ID" -> HTTP_WEBHOOK_ID ->
  // "webhook-id"), plus Content-Type, which CGI names CONTENT_TYPE (the body's
  // length is read separately, from CONTENT_LENGTH).
  std::vector<std::pair<std::string, std::string>> headers;

 private:
  void AddHeader(std::string_view name, std::string_view value);
  bool have_content_type_ = false;  // nginx sends it twice, as CONTENT_TYPE and HTTP_CONTENT_TYPE
};

CgiParams::CgiParams(char** entries) {
  const std::pair<std::string_view, std::string_view*> wanted[] = {
      {"REQUEST_METHOD", &method},
      {"REQUEST_URI", &uri},
      {"SCRIPT_NAME", &script_name},
      {"PATH_INFO", &path_info},
      {"QUERY_STRING", &query_string},
      {"HTTP_IF_NONE_MATCH", &if_none_match},
      {"HTTPS", &https},
      {"REQUEST_SCHEME", &request_scheme},
      {"SERVER_PORT", &server_port},
      {"CONTENT_LENGTH", &content_length}};
  bool seen[std::size(wanted)] = {};
  for (char** entry = entries; entry && *entry; ++entry) {
    const std::string_view text(*entry);
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = text.substr(0, eq);
    const std::string_view value = text.substr(eq + 1);
    for (size_t i = 0; i < std::size(wanted); ++i) {
      if (!seen[i] && name == wanted[i].first) {
        *wanted[i].second = value;
        seen[i] = true;
        break;
      }
    }
    AddHeader(name, value);
  }
}

void CgiParams::AddHeader(std::string_view name, std::string_view value) {
  if (name == "CONTENT_TYPE") name = "HTTP_CONTENT_TYPE";
  if (name.size() <= 5 || name.substr(0, 5) != "HTTP_") return;
  if (name == "HTTP_CONTENT_TYPE") {
    if (have_content_type_) return;
    have_content_type_ = true;
  }
  std::string lower;
  lower.reserve(name.size() - 5);
  for (const char c : name.substr(5)) {
    lower.push_back(c == '_' ? '-'
                             : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  headers.emplace_back(std::move(lower), std::string(value));
}

HttpRequest RequestFrom(CgiParams& params) {
  HttpRequest request;
  request.method = params.method;
  std::string uri(params.uri);
  if (uri.empty()) uri = std::string(params.script_name).append(params.path_info);
  const size_t q = uri.find('?');
  request.path = uri.substr(0, q);
  request.query = q == std::string::npos ? std::string(params.query_string) : uri.substr(q + 1);
  request.if_none_match = params.if_none_match;
  request.headers = std::move(params.headers);
  // nginx's fastcgi_params: HTTPS "on" over TLS (if_not_empty), REQUEST_SCHEME
  // $scheme; Apache and others set HTTPS alone.
  const std::string_view https = params.https;
  request.scheme =
      (!https.empty() && https != "off" && https != "0") || params.request_scheme == "https"
          ? "https"
          : "http";
  request.server_port = params.server_port;
  return request;
}

// The CGI response. A Content-Length (none on 204 and 304, which have no body)
// lets the web server pass the length on instead of chunking the body.
std::string Serialize(const HttpResponse& response) {
  std::string out;
  out.reserve(128 + response.body.size());
  out.append("Status: ").append(std::to_string(response.status)).append(" ");
  out.append(ReasonPhrase(response.status)).append("\r\n");
  for (const auto& [name, value] : response.headers) {
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (response.status != 204 && response.status != 304) {
    out.append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n");
  }
  out.append("\r\n").append(response.body);
  return out;
}

// The body, or the response that replaces the request (413, 400). Reads the
// stream to its end even when the body is refused, so the peer never blocks.
Result<std::string> ReadBody(std::string_view content_length, int64_t max_bytes,
                             const std::function<int(char*, int)>& read) {
  auto length = ParseContentLength(content_length, max_bytes);
  std::string body;
  char buf[16384];
  int n;
  if (!length.ok()) {
    while ((n = read(buf, sizeof(buf))) > 0) {
    }
    return length.status();
  }
  body.reserve(static_cast<size_t>(*length));
  while (static_cast<int64_t>(body.size()) < *length &&
         (n = read(buf, static_cast<int>(std::min<int64_t>(sizeof(buf), *length - body.size())))) >
             0) {
    body.append(buf, n);
  }
  return body;
}

// Ends a FastCGI request without libfcgi's lingering close. libfcgi's own
// close shuts down its side and then waits in poll() (up to 2 s) until the web
// server has closed the connection too, so that unread input cannot turn into
// a reset that discards the answer. That wait puts the handler to sleep once per
// request while it holds nothing but a finished connection, and the next
// request then starts on a cold cache (issue 14: the ratio of inline progress to
// a bare handler rose from ~0.8 to ~0.9 without it). The input is read to its
// end first (the empty FCGI_STDIN record that ends every request), so no
// unread data remains, and the socket is closed at once: the answer is
// already queued before the end-of-request record, and the web server reads
// it to the end.
void CloseWithoutLingering(FCGX_Request* rq) {
  char buf[4096];
  while (FCGX_GetStr(buf, sizeof(buf), rq->in) > 0) {
  }
  FCGX_Detach(rq);  // libfcgi then closes the socket without shutdown() and poll()
  FCGX_Finish_r(rq);
}

int MaxRequestsWithJitter(int base) {
  std::random_device rd;
  std::mt19937 rng(rd());
  const int spread = base / 4;
  if (spread == 0) return base;
  return base + std::uniform_int_distribution<int>(-spread, spread)(rng);
}

struct Options {
  int slot = -1;
  bool check_config = false;
  bool check_config_sh = false;
  bool listen_port = false;
  bool server_names = false;
};

bool ParseOptions(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--slot" && i + 1 < argc) {
      options->slot = std::atoi(argv[++i]);
    } else if (arg == "--check-config") {
      options->check_config = true;
    } else if (arg == "--check-config=sh") {
      options->check_config_sh = true;
    } else if (arg == "--listen-port") {
      options->listen_port = true;
    } else if (arg == "--server-names") {
      options->server_names = true;
    } else {
      std::cerr << "usage: jobpulse-fcgi [--slot N] [--check-config[=sh]] [--listen-port] "
                   "[--server-names]\n";
      return false;
    }
  }
  return true;
}

// The answers of the print-and-exit options, or nullopt to serve.
std::optional<int> PrintRequested(const Options& options, const Config& config) {
  if (options.check_config) {
    std::cout << DescribeConfig(config);
  } else if (options.check_config_sh) {  // for nginx/jobpulse-run
    std::cout << DescribeConfigForShell(config);
  } else if (options.listen_port) {
    std::cout << config.listen_port.value << "\n";
  } else if (options.server_names) {  // listen.server_names, one a line, for nginx/gen-config
    for (const std::string& name : config.listen_server_names.value) std::cout << name << "\n";
  } else {
    return std::nullopt;
  }
  return 0;
}

// Serves CGI's one request (environment and stdio), or FastCGI requests
// until the recycling limit; both through the same `serve`.
int Serve(const Config& config, bool cgi) {
  std::unique_ptr<Store> store;
  const auto open_store = [&]() -> Result<Store*> {
    if (!store) {
      auto opened = Store::Open(config);
      if (!opened.ok()) {
        LogError(opened.status().message());
        return opened.status();
      }
      store = std::move(opened.value());
    }
    return store.get();
  };
  Api api(config, open_store, NowMicros);
  // This handler's counts reach the database within a second, whatever the
  // traffic, and at exit (lib/counters.h).
  CounterFlushThread counts(
      [&config]() -> Result<std::unique_ptr<CounterStore>> {
        auto opened = Store::Open(config);
        if (!opened.ok()) return opened.status();
        return std::unique_ptr<CounterStore>(std::move(*opened));
      },
      NowMicros);
  const int64_t max_body = config.api_max_body_bytes.value;
  const auto serve = [&](char** entries, const std::function<int(char*, int)>& read) {
    CgiParams params(entries);
    auto body = ReadBody(params.content_length, max_body, read);
    HttpRequest request = RequestFrom(params);
    HttpResponse response = body.ok() ? (request.body = std::move(*body), api.Handle(request))
                                      : ErrorResponse(body.status());
    if (response.status >= 500) {
      LogError(request.method + " " + request.path + " -> " + std::to_string(response.status) +
               " " + response.body);
    }
    return Serialize(response);
  };

  if (cgi) {
    const std::string out = serve(environ, [](char* buf, int n) {
      return static_cast<int>(std::fread(buf, 1, static_cast<size_t>(n), stdin));
    });
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  FCGX_Init();
  FCGX_Request rq;
  FCGX_InitRequest(&rq, 0, 0);
  const int max_requests = MaxRequestsWithJitter(config.fcgi_max_requests.value);
  int served = 0;
  for (; served < max_requests && FCGX_Accept_r(&rq) == 0; ++served) {
    const std::string out =
        serve(rq.envp, [&rq](char* buf, int n) { return FCGX_GetStr(buf, n, rq.in); });
    FCGX_PutStr(out.data(), static_cast<int>(out.size()), rq.out);
    CloseWithoutLingering(&rq);
  }
  if (served == max_requests) ProcessCounters().Add(kHandlerRecyclesTotal, "");
  return 0;  // `counts` writes what is left as it goes
}

int Main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) return 2;
  SetLogProgramName("jobpulse-fcgi");
  auto config = LoadConfig(ProcessEnv());
  if (!config.ok()) {
    LogError(config.status().message());
    return 78;  // EX_CONFIG: supervisord shows it; a restart loop would not fix it
  }
  if (auto printed = PrintRequested(options, *config)) return *printed;
  const bool cgi = FCGX_IsCGI();
  if (!cgi && options.slot == 0) {
    // The socket holder: never accepts, exits on TERM like its siblings.
    signal(SIGTERM, OnStopSignal);
    signal(SIGINT, OnStopSignal);
    while (!g_stop) pause();
    return 0;
  }
  return Serve(*config, cgi);
}

}  // namespace
}  // namespace jobpulse

int main(int argc, char** argv) { return jobpulse::Main(argc, argv); }
