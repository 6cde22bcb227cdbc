// replicate-sim: a local stand-in for api.replicate.com for jobpulse's tests and
// demo. See tests/replicate_sim/README.md for the command line and control API.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "lib/webhook_signature.h"
#include "tests/replicate_sim/demo.h"
#include "tests/replicate_sim/runner.h"
#include "tests/replicate_sim/server.h"
#include "tests/replicate_sim/sim.h"
#include "tests/replicate_sim/state.h"

namespace {

// A fixed, valid secret so runs without --webhook-secret are reproducible.
constexpr char kDefaultSecret[] = "whsec_am9icHVsc2UtcmVwbGljYXRlLXNpbS1r";

struct Options {
  int port = 0;
  std::string host = "127.0.0.1";
  std::vector<std::string> tokens;
  std::string webhook_secret = kDefaultSecret;
  int page_size = 100;
  bool gzip = false;
  bool demo = false;
  std::string port_file;
  std::string next_links = "absolute";
};

constexpr char kUsage[] =
    "usage: replicate-sim [--port N] [--host 127.0.0.1] [--token T]... [--webhook-secret "
    "whsec_...]\n"
    "                     [--page-size N] [--next-links absolute|replicate|relative] [--gzip]\n"
    "                     [--demo] [--port-file PATH]\n";

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "replicate-sim: %s\n%s", message.c_str(), kUsage);
  std::exit(2);
}

int ParseInt(const std::string& flag, const std::string& text, int lo, int hi) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < lo || v > hi) {
    Die(flag + " wants an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<int>(v);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const auto next = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--port") {
      o.port = ParseInt(arg, next(), 0, 65535);
    } else if (arg == "--host") {
      o.host = next();
    } else if (arg == "--token") {
      o.tokens.push_back(next());
    } else if (arg == "--webhook-secret") {
      o.webhook_secret = next();
    } else if (arg == "--page-size") {
      o.page_size = ParseInt(arg, next(), 1, 10000);
    } else if (arg == "--next-links") {
      o.next_links = next();
      const auto& modes = replicate_sim::kNextLinkModes;
      if (std::find(std::begin(modes), std::end(modes), o.next_links) == std::end(modes)) {
        Die("--next-links must be absolute, replicate or relative");
      }
    } else if (arg == "--port-file") {
      o.port_file = next();
    } else if (arg == "--demo" && !has_value) {
      o.demo = true;
    } else if (arg == "--gzip" && !has_value) {
      o.gzip = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      Die("unknown argument " + std::string(argv[i]));
    }
  }
  if (o.tokens.empty()) o.tokens.push_back("r8_sim_token");
  if (o.host == "localhost") o.host = "127.0.0.1";
  // Loopback only: the control API has no authentication.
  in_addr addr{};
  if (inet_pton(AF_INET, o.host.c_str(), &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127) {
    Die("--host must be an IPv4 loopback address (127.x.x.x)");
  }
  if (!jobpulse::DecodeWebhookSecret(o.webhook_secret)) {
    Die("--webhook-secret is not valid whsec_ base64");
  }
  return o;
}

// Written to a temporary name and renamed, so a reader polling for the file never
// sees it half-written.
bool WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Blocks the shutdown signals before any thread starts so every thread inherits
// the mask and only main's sigwait receives them. SIGPIPE is ignored so a
// client hanging up mid-write is an error code, not death.
sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return stop_signals;
}

replicate_sim::Config ConfigFrom(const Options& options) {
  replicate_sim::Config config;
  config.page_size = options.page_size;
  config.gzip = options.gzip;
  config.next_links = options.next_links;
  config.tokens = options.tokens;
  config.webhook_secret = options.webhook_secret;
  // The demo's own runs take 2-3 minutes; runs created through /v1 match them.
  if (options.demo) config.run_seconds = 150;
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseArgs(argc, argv);

  sigset_t stop_signals = BlockStopSignals();
  curl_global_init(CURL_GLOBAL_DEFAULT);

  replicate_sim::SimState state;
  state.config = ConfigFrom(options);
  state.initial_config = state.config;

  replicate_sim::Simulator simulator(state);
  replicate_sim::HttpServer server(
      [&simulator](const replicate_sim::HttpRequest& req) { return simulator.Handle(req); });
  std::string error;
  if (!server.Listen(options.host, options.port, &error)) {
    std::fprintf(stderr, "replicate-sim: %s\n", error.c_str());
    return 1;
  }
  const std::string base_url = "http://" + options.host + ":" + std::to_string(server.port());
  {
    std::lock_guard<std::mutex> lock(state.mu);
    state.base_url = base_url;
  }

  std::unique_ptr<replicate_sim::Demo> demo;
  if (options.demo) {
    demo = std::make_unique<replicate_sim::Demo>(state);
    demo->Seed();
    demo->Start();
  }
  // Four senders: one receiver that never answers holds up only its own runs.
  state.webhooks.Start(4);
  replicate_sim::Runner runner(state);
  runner.Start();
  std::thread acceptor([&server] { server.Run(); });

  // Announce only once the socket accepts connections, so a parent process can
  // wait for this line (or the port file) and connect straight away.
  std::printf("replicate-sim listening on %s\n", base_url.c_str());
  std::fflush(stdout);
  if (!options.port_file.empty() && !WritePortFile(options.port_file, server.port())) {
    std::fprintf(stderr, "replicate-sim: cannot write %s\n", options.port_file.c_str());
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);

  if (demo) demo->Stop();
  runner.Stop();
  // Deliveries in flight are abandoned (curl's progress callback notices within
  // about a second), so a receiver that never answers cannot hold up the exit.
  const bool senders_done = state.webhooks.Stop(2000);
  const bool drained = server.Stop(2000);
  acceptor.join();
  std::fflush(stdout);
  if (!drained || !senders_done) {
    // A connection thread is still busy (a long injected delay or a webhook in
    // flight); tearing down globals under it would crash, so leave without them.
    std::_Exit(0);
  }
  curl_global_cleanup();
  return 0;
}
