// Unit tests for lib/config: defaults, YAML, environment, file discovery and
// the messages a broken configuration produces. The environment is always a
// map here, never the real one, so the tests do not depend on the shell.
#include "lib/config.h"

#include <stdlib.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "lib/config_settings.h"

namespace jobpulse {
namespace {

namespace fs = std::filesystem;

EnvLookup MapEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "jobpulse_config_test.XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }

  // Writes `text` to `name` (creating parent directories); returns the full path.
  std::string Write(const std::string& name, const std::string& text) const {
    const fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }

 private:
  fs::path path_;
};

EnvLookup NoEnv() { return MapEnv({}); }

// Loads `yaml` as if from /etc/jp.yaml and returns the error message ("" if it loaded).
std::string YamlError(const std::string& yaml, const EnvLookup& env = NoEnv()) {
  const Result<Config> result = LoadConfigFromYaml(yaml, "/etc/jp.yaml", env);
  if (result.ok()) return "";
  BOOST_CHECK(result.status().code() == Status::Code::kInvalidArgument);
  BOOST_CHECK_EQUAL(result.status().error(), "invalid_config");
  return result.status().message();
}

Config MustLoadYaml(const std::string& yaml, const EnvLookup& env = NoEnv()) {
  Result<Config> result = LoadConfigFromYaml(yaml, "/etc/jp.yaml", env);
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  return std::move(result).value();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Values a setting of the table accepts, to try in turn: strings try these
// until one passes the row's checks.
std::vector<std::string> AcceptedCandidates(const SettingSpec& spec) {
  return std::visit(
      [&](const auto& ref) -> std::vector<std::string> {
        using T = std::decay_t<decltype(ref.Of(Config()).value)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::optional<bool>>) {
          return {"false"};
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          return {"[]"};
        } else if constexpr (std::is_same_v<T, std::map<std::string, double>>) {
          return {"{cpu: 0.5}"};
        } else if constexpr (std::is_same_v<T, std::string> ||
                             std::is_same_v<T, std::optional<std::string>>) {
          return {"gpu-h100", "https://example.test",        "whsec_0123456789abcdef", "weekly",
                  "0660",     "postgresql://db.example/jobs"};
        } else {
          return {std::to_string(spec.min)};
        }
      },
      spec.field);
}

// "a.b.c" set to `value` as nested YAML maps.
std::string YamlFor(const std::string& key, const std::string& value) {
  std::string yaml, indent;
  size_t start = 0;
  for (size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', start)) {
    yaml += indent + key.substr(start, dot - start) + ":\n";
    indent += "  ";
    start = dot + 1;
  }
  return yaml + indent + key.substr(start) + ": " + value + "\n";
}

// The "key = value (source)" line of DescribeConfig's text, "" when none.
std::string LineOf(const std::string& text, const std::string& key) {
  const size_t at = text.find("\n" + key + " = ");
  if (at == std::string::npos) return "";
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

constexpr ConfigSource kDefault = ConfigSource::kDefault;
constexpr ConfigSource kYaml = ConfigSource::kEnterpriseConfig;
constexpr ConfigSource kEnv = ConfigSource::kEnv;

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults_apply_without_file_or_environment) {
  TempDir cwd;
  const Result<Config> result = LoadConfig(NoEnv(), cwd.path());
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  const Config& c = *result;
  const ReplicateConfig& r = c.replicate;

  BOOST_CHECK_EQUAL(c.enterprise_config_path, "");
  BOOST_CHECK(!c.polling_enabled.value.has_value());
  BOOST_CHECK_EQUAL(c.polling_interval_seconds.value, 30);
  BOOST_CHECK_EQUAL(c.queue_processing_enabled.value, true);
  BOOST_CHECK_EQUAL(c.queue_processing_interval_seconds.value, 5);
  BOOST_CHECK_EQUAL(c.database_path.value, "var/jobpulse.db");
  BOOST_CHECK(!r.api_token.value.has_value());
  BOOST_CHECK_EQUAL(r.base_url.value, "https://api.replicate.com/v1");
  BOOST_CHECK(!r.webhook_url.value.has_value());
  BOOST_CHECK(!r.webhook_secret.value.has_value());
  BOOST_CHECK_EQUAL(r.webhook_require_signature.value, true);
  BOOST_CHECK_EQUAL(r.webhook_timestamp_tolerance_seconds.value, 300);
  BOOST_CHECK_EQUAL(r.sync_max_jobs.value, 100);
  BOOST_CHECK(r.sync_models.value.empty());
  BOOST_CHECK_EQUAL(r.default_hardware.value, "gpu-l40s");
  BOOST_CHECK_EQUAL(r.max_concurrent_requests.value, 8);
  BOOST_CHECK_EQUAL(c.sse_max_connections_per_ip.value, 5);
  BOOST_CHECK_EQUAL(c.sse_max_connections.value, 1000);
  BOOST_CHECK_EQUAL(c.sse_heartbeat_seconds.value, 15);
  BOOST_CHECK_EQUAL(c.sse_retention_events.value, 100000);
  BOOST_CHECK_EQUAL(c.sse_retention_hours.value, 24);
  BOOST_CHECK_EQUAL(c.inline_progress_max_age_seconds.value, 5);
  BOOST_CHECK_EQUAL(c.api_max_body_bytes.value, 16 * 1024 * 1024);
  BOOST_CHECK_EQUAL(c.listen_port.value, 8001);
  BOOST_CHECK_EQUAL(c.fcgi_max_requests.value, 1000);

  const std::map<std::string, double>& prices = r.hardware_prices.value;
  BOOST_CHECK_EQUAL(prices.size(), 19u);
  BOOST_CHECK_EQUAL(prices.at("cpu"), 0.000100);
  BOOST_CHECK_EQUAL(prices.at("gpu-t4"), 0.000225);
  BOOST_CHECK_EQUAL(prices.at("gpu-l40s"), 0.000975);
  BOOST_CHECK_EQUAL(prices.at("gpu-2x-l40s"), 0.001950);
  BOOST_CHECK_EQUAL(prices.at("gpu-a100-large-8x"), 0.011200);
  BOOST_CHECK_EQUAL(prices.at("gpu-h100"), 0.001525);
  BOOST_CHECK_EQUAL(prices.at("gpu-h100-2x"), 0.003050);
  BOOST_CHECK(prices == DefaultHardwarePrices());

  BOOST_CHECK(c.polling_enabled.source == kDefault);
  BOOST_CHECK(c.polling_interval_seconds.source == kDefault);
  BOOST_CHECK(c.database_path.source == kDefault);
  BOOST_CHECK(r.api_token.source == kDefault);
  BOOST_CHECK(r.hardware_prices.source == kDefault);
  BOOST_CHECK(c.listen_port.source == kDefault);
  BOOST_CHECK(c.fcgi_max_requests.source == kDefault);
}

BOOST_AUTO_TEST_CASE(default_constructed_config_holds_the_defaults) {
  const Config c;
  BOOST_CHECK_EQUAL(c.replicate.hardware_prices.value.at("gpu-l40s"), 0.000975);
  BOOST_CHECK_EQUAL(c.polling_interval_seconds.value, 30);
}

BOOST_AUTO_TEST_CASE(yaml_overrides_every_key_with_enterprise_source) {
  const Config c = MustLoadYaml(R"(# shared with SimpleTuner
background:
  job_status_polling:
    enabled: false
    interval_seconds: 60
  queue_processing:
    enabled: no
    interval_seconds: 7
database:
  path: /srv/jp.db
providers:
  replicate:
    api_token: r8_abc
    base_url: http://127.0.0.1:9000/v1/
    webhook_url: https://jobs.example.com/api/webhooks/replicate
    webhook_secret: whsec_c2VjcmV0
    webhook_require_signature: off
    webhook_timestamp_tolerance_seconds: 600
    sync_max_jobs: 250
    sync_models: [acme/flux-lora, ostris/flux-dev-lora-trainer]
    hardware_prices:
      gpu-l40s: 0.001
    default_hardware: gpu-h100
    max_concurrent_requests: 16
sse:
  max_connections_per_ip: 9
  max_connections: 2000
  heartbeat_seconds: 20
  retention_events: 5000
  retention_hours: 48
inline_progress:
  max_age_seconds: 3
api:
  max_body_bytes: 1048576
listen:
  port: 9001
fcgi:
  max_requests: 500
unknown_simpletuner_key: {ignored: true}
)");
  const ReplicateConfig& r = c.replicate;
  BOOST_CHECK_EQUAL(c.enterprise_config_path, "/etc/jp.yaml");
  BOOST_REQUIRE(c.polling_enabled.value.has_value());
  BOOST_CHECK_EQUAL(*c.polling_enabled.value, false);
  BOOST_CHECK_EQUAL(c.polling_interval_seconds.value, 60);
  BOOST_CHECK_EQUAL(c.queue_processing_enabled.value, false);
  BOOST_CHECK_EQUAL(c.queue_processing_interval_seconds.value, 7);
  BOOST_CHECK_EQUAL(c.database_path.value, "/srv/jp.db");
  BOOST_CHECK_EQUAL(r.api_token.value.value_or(""), "r8_abc");
  BOOST_CHECK_EQUAL(r.base_url.value, "http://127.0.0.1:9000/v1");  // trailing slash stripped
  BOOST_CHECK_EQUAL(r.webhook_url.value.value_or(""),
                    "https://jobs.example.com/api/webhooks/replicate");
  BOOST_CHECK_EQUAL(r.webhook_secret.value.value_or(""), "whsec_c2VjcmV0");
  BOOST_CHECK_EQUAL(r.webhook_require_signature.value, false);
  BOOST_CHECK_EQUAL(r.webhook_timestamp_tolerance_seconds.value, 600);
  BOOST_CHECK_EQUAL(r.sync_max_jobs.value, 250);
  BOOST_CHECK(r.sync_models.value ==
              (std::vector<std::string>{"acme/flux-lora", "ostris/flux-dev-lora-trainer"}));
  BOOST_CHECK_EQUAL(r.hardware_prices.value.at("gpu-l40s"), 0.001);
  BOOST_CHECK_EQUAL(r.default_hardware.value, "gpu-h100");
  BOOST_CHECK_EQUAL(r.max_concurrent_requests.value, 16);
  BOOST_CHECK_EQUAL(c.sse_max_connections_per_ip.value, 9);
  BOOST_CHECK_EQUAL(c.sse_max_connections.value, 2000);
  BOOST_CHECK_EQUAL(c.sse_heartbeat_seconds.value, 20);
  BOOST_CHECK_EQUAL(c.sse_retention_events.value, 5000);
  BOOST_CHECK_EQUAL(c.sse_retention_hours.value, 48);
  BOOST_CHECK_EQUAL(c.inline_progress_max_age_seconds.value, 3);
  BOOST_CHECK_EQUAL(c.api_max_body_bytes.value, 1048576);
  BOOST_CHECK_EQUAL(c.listen_port.value, 9001);
  BOOST_CHECK_EQUAL(c.fcgi_max_requests.value, 500);

  for (ConfigSource source : {c.polling_enabled.source,
                              c.polling_interval_seconds.source,
                              c.queue_processing_enabled.source,
                              c.queue_processing_interval_seconds.source,
                              c.database_path.source,
                              r.api_token.source,
                              r.base_url.source,
                              r.webhook_url.source,
                              r.webhook_secret.source,
                              r.webhook_require_signature.source,
                              r.webhook_timestamp_tolerance_seconds.source,
                              r.sync_max_jobs.source,
                              r.sync_models.source,
                              r.hardware_prices.source,
                              r.default_hardware.source,
                              r.max_concurrent_requests.source,
                              c.sse_max_connections_per_ip.source,
                              c.sse_max_connections.source,
                              c.sse_heartbeat_seconds.source,
                              c.sse_retention_events.source,
                              c.sse_retention_hours.source,
                              c.inline_progress_max_age_seconds.source,
                              c.api_max_body_bytes.source,
                              c.listen_port.source,
                              c.fcgi_max_requests.source}) {
    BOOST_CHECK(source == kYaml);
  }
}

BOOST_AUTO_TEST_CASE(the_events_socket_comes_from_yaml_or_environment) {
  const Config defaults = MustLoadYaml("");
  BOOST_CHECK_EQUAL(defaults.sse_socket_path.value, "");
  BOOST_CHECK(defaults.sse_socket_path.source == ConfigSource::kDefault);
  BOOST_CHECK(Contains(DescribeConfig(defaults),
                       "\nsse.socket_path = (events.sock beside the database) (default)\n"));
  const Config yaml = MustLoadYaml("sse:\n  socket_path: /run/jp/events.sock\n");
  BOOST_CHECK_EQUAL(yaml.sse_socket_path.value, "/run/jp/events.sock");
  BOOST_CHECK(yaml.sse_socket_path.source == kYaml);
  const Config env = MustLoadYaml("sse:\n  socket_path: /run/jp/events.sock\n",
                                  MapEnv({{"JOBPULSE_EVENTS_SOCKET", "/tmp/e.sock"}}));
  BOOST_CHECK_EQUAL(env.sse_socket_path.value, "/tmp/e.sock");
  BOOST_CHECK(env.sse_socket_path.source == kEnv);
  BOOST_CHECK(Contains(DescribeConfig(env), "\nsse.socket_path = /tmp/e.sock (env)\n"));
  BOOST_CHECK_EQUAL(YamlError("sse:\n  socket_path: [a]\n").substr(0, 32),
                    "/etc/jp.yaml:2: key sse.socket_p");
}

// The Debian package's nginx runs as www-data and reaches the worker's socket
// through its group; YAML's plain 0660 is read as the text "0660".
BOOST_AUTO_TEST_CASE(the_events_socket_mode_is_0600_or_0660) {
  BOOST_CHECK_EQUAL(MustLoadYaml("").sse_socket_mode.value, "0600");
  const Config group = MustLoadYaml("sse:\n  socket_mode: 0660\n");
  BOOST_CHECK_EQUAL(group.sse_socket_mode.value, "0660");
  BOOST_CHECK(group.sse_socket_mode.source == kYaml);
  BOOST_CHECK(Contains(DescribeConfig(group), "\nsse.socket_mode = 0660 (enterprise config)\n"));
  BOOST_CHECK_EQUAL(YamlError("sse:\n  socket_mode: 0666\n"),
                    "/etc/jp.yaml:2: key sse.socket_mode: must be 0600 or 0660, got \"0666\"");
}

BOOST_AUTO_TEST_CASE(environment_beats_yaml) {
  const Config c = MustLoadYaml(
      "background:\n  job_status_polling:\n    interval_seconds: 60\n"
      "database:\n  path: /srv/yaml.db\n"
      "providers:\n  replicate:\n    api_token: yaml-token\n"
      "listen:\n  port: 9001\n",
      MapEnv({{"SIMPLETUNER_JOB_POLL_INTERVAL", "10"},
              {"JOBPULSE_DB", "/srv/env.db"},
              {"REPLICATE_API_TOKEN", "env-token"},
              {"REPLICATE_BASE_URL", "http://localhost:8999/v1"},
              {"REPLICATE_WEBHOOK_URL", "https://example.com/hook"},
              {"REPLICATE_WEBHOOK_SECRET", "whsec_env"},
              {"JOBPULSE_PORT", "8080"},
              {"JOBPULSE_MAX_REQUESTS", "42"}}));
  BOOST_CHECK_EQUAL(c.polling_interval_seconds.value, 10);
  BOOST_CHECK(c.polling_interval_seconds.source == kEnv);
  BOOST_CHECK_EQUAL(c.database_path.value, "/srv/env.db");
  BOOST_CHECK(c.database_path.source == kEnv);
  BOOST_CHECK_EQUAL(c.replicate.api_token.value.value_or(""), "env-token");
  BOOST_CHECK(c.replicate.api_token.source == kEnv);
  BOOST_CHECK_EQUAL(c.replicate.base_url.value, "http://localhost:8999/v1");
  BOOST_CHECK(c.replicate.base_url.source == kEnv);
  BOOST_CHECK_EQUAL(c.replicate.webhook_url.value.value_or(""), "https://example.com/hook");
  BOOST_CHECK(c.replicate.webhook_url.source == kEnv);
  BOOST_CHECK_EQUAL(c.replicate.webhook_secret.value.value_or(""), "whsec_env");
  BOOST_CHECK(c.replicate.webhook_secret.source == kEnv);
  BOOST_CHECK_EQUAL(c.listen_port.value, 8080);
  BOOST_CHECK(c.listen_port.source == kEnv);
  BOOST_CHECK_EQUAL(c.fcgi_max_requests.value, 42);
  BOOST_CHECK(c.fcgi_max_requests.source == kEnv);
}

BOOST_AUTO_TEST_CASE(empty_environment_variable_counts_as_unset) {
  TempDir cwd;
  cwd.Write("simpletuner-enterprise.yaml",
            "background:\n  job_status_polling:\n    interval_seconds: 60\n");
  const Result<Config> result = LoadConfig(MapEnv({{"SIMPLETUNER_JOB_POLL_INTERVAL", ""},
                                                   {"SIMPLETUNER_ENTERPRISE_CONFIG", ""},
                                                   {"REPLICATE_API_TOKEN", ""},
                                                   {"JOBPULSE_PORT", ""}}),
                                           cwd.path());
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  BOOST_CHECK_EQUAL(result->polling_interval_seconds.value, 60);
  BOOST_CHECK(result->polling_interval_seconds.source == kYaml);
  BOOST_CHECK(!result->replicate.api_token.value.has_value());
  BOOST_CHECK(result->replicate.api_token.source == kDefault);
  BOOST_CHECK_EQUAL(result->listen_port.value, 8001);
  BOOST_CHECK(result->listen_port.source == kDefault);
}

BOOST_AUTO_TEST_CASE(empty_and_comment_only_yaml_load_defaults) {
  for (const char* yaml : {"", "# nothing here\n# at all\n", "---\n"}) {
    const Config c = MustLoadYaml(yaml);
    BOOST_CHECK_EQUAL(c.polling_interval_seconds.value, 30);
    BOOST_CHECK(c.polling_interval_seconds.source == kDefault);
  }
}

BOOST_AUTO_TEST_CASE(null_values_keep_the_defaults) {
  const Config c = MustLoadYaml(
      "background:\n  job_status_polling:\n    enabled:\n    interval_seconds: ~\n"
      "providers:\n  replicate:\n    api_token: \"\"\nsse:\n");
  BOOST_CHECK(!c.polling_enabled.value.has_value());
  BOOST_CHECK_EQUAL(c.polling_interval_seconds.value, 30);
  BOOST_CHECK(c.polling_interval_seconds.source == kDefault);
  BOOST_CHECK(!c.replicate.api_token.value.has_value());
}

BOOST_AUTO_TEST_CASE(booleans_accept_yaml_spellings) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"true", true}, {"false", false}, {"yes", true},  {"no", false},
      {"on", true},   {"off", false},   {"True", true}, {"OFF", false}};
  for (const auto& [text, expected] : cases) {
    const Config c = MustLoadYaml("background:\n  queue_processing:\n    enabled: " + text + "\n");
    BOOST_CHECK_EQUAL(c.queue_processing_enabled.value, expected);
  }
  BOOST_CHECK_EQUAL(YamlError("background:\n  queue_processing:\n    enabled: maybe\n"),
                    "/etc/jp.yaml:3: key background.queue_processing.enabled: must be true or "
                    "false, got \"maybe\"");
}

BOOST_AUTO_TEST_CASE(polling_enabled_auto_means_unset) {
  const Config c = MustLoadYaml("background:\n  job_status_polling:\n    enabled: auto\n");
  BOOST_CHECK(!c.polling_enabled.value.has_value());
  BOOST_CHECK(c.polling_enabled.source == kDefault);
  const Config on = MustLoadYaml("background:\n  job_status_polling:\n    enabled: true\n");
  BOOST_CHECK(on.polling_enabled.value == std::optional<bool>(true));
  BOOST_CHECK(on.polling_enabled.source == kYaml);
}

BOOST_AUTO_TEST_CASE(malformed_yaml_names_file_and_line) {
  BOOST_CHECK_EQUAL(YamlError("listen:\n  port: 8001\nsse: [1, 2\napi: 3\n"),
                    "/etc/jp.yaml:4: end of sequence flow not found");
  BOOST_CHECK_EQUAL(YamlError("listen:\n  port: 8001\n\tbad: tab\n"),
                    "/etc/jp.yaml:3: illegal tab when looking for indentation");

  TempDir dir;
  const std::string path = dir.Write("simpletuner-enterprise.yaml", "a: b: c\n");
  const Result<Config> result = LoadConfig(NoEnv(), dir.path());
  BOOST_REQUIRE(!result.ok());
  BOOST_CHECK_EQUAL(result.status().message(), path + ":1: illegal map value");
}

BOOST_AUTO_TEST_CASE(wrong_typed_value_names_file_line_and_key) {
  BOOST_CHECK_EQUAL(YamlError("# comment\nbackground:\n  queue_processing:\n    enabled: true\n"
                              "  job_status_polling:\n    interval_seconds: abc\n"),
                    "/etc/jp.yaml:6: key background.job_status_polling.interval_seconds: must be "
                    "an integer between 1 and 86400, got \"abc\"");
  BOOST_CHECK_EQUAL(YamlError("listen:\n  port: [8001]\n"),
                    "/etc/jp.yaml:2: key listen.port: must be an integer between 1 and 65535, got "
                    "a list");
  BOOST_CHECK_EQUAL(YamlError("database:\n  path: {a: 1}\n"),
                    "/etc/jp.yaml:2: key database.path: must be a string, got a map");
}

// SPEC §12's queue keys: limits, attempts and the spending limit.
BOOST_AUTO_TEST_CASE(queue_settings_read_and_refuse_what_they_cannot_mean) {
  const Result<Config> c = LoadConfigFromYaml(
      "queue:\n  max_concurrent: 20\n  user_max_concurrent: 4\n  max_attempts: 5\n"
      "  cost_limit_usd: 125.5\n  cost_limit_period: weekly\n",
      "/etc/jp.yaml", NoEnv());
  BOOST_REQUIRE(c.ok());
  BOOST_CHECK_EQUAL(c->queue_max_concurrent.value, 20);
  BOOST_CHECK_EQUAL(c->queue_user_max_concurrent.value, 4);
  BOOST_CHECK_EQUAL(c->queue_max_attempts.value, 5);
  BOOST_CHECK_EQUAL(c->queue_cost_limit_usd.value.value_or(-1), 125.5);
  BOOST_CHECK_EQUAL(c->queue_cost_limit_period.value, "weekly");
  BOOST_CHECK(Contains(DescribeConfig(*c), "queue.cost_limit_usd = 125.5 (enterprise config)"));
  BOOST_CHECK(Contains(DescribeConfig(Config()), "queue.cost_limit_usd = none (default)"));
  BOOST_CHECK_EQUAL(YamlError("queue:\n  cost_limit_period: hourly\n"),
                    "/etc/jp.yaml:2: key queue.cost_limit_period: must be daily, weekly or "
                    "monthly, got \"hourly\"");
  BOOST_CHECK_EQUAL(YamlError("queue:\n  cost_limit_usd: -1\n"),
                    "/etc/jp.yaml:2: key queue.cost_limit_usd: must be a finite number >= 0, got "
                    "\"-1\"");
  BOOST_CHECK_EQUAL(YamlError("queue:\n  max_concurrent: 0\n"),
                    "/etc/jp.yaml:2: key queue.max_concurrent: must be an integer between 1 and "
                    "10000, got \"0\"");
}

BOOST_AUTO_TEST_CASE(section_of_wrong_type_names_key_and_line) {
  BOOST_CHECK_EQUAL(YamlError("listen:\n  port: 8001\nbackground: 5\n"),
                    "/etc/jp.yaml:3: key background: must be a map, got \"5\"");
  BOOST_CHECK_EQUAL(YamlError("providers:\n  replicate:\n    - a\n"),
                    "/etc/jp.yaml:3: key providers.replicate: must be a map, got a list");
  BOOST_CHECK_EQUAL(YamlError("- a\n- b\n"),
                    "/etc/jp.yaml:1: the top level must be a map, got a list");
}

BOOST_AUTO_TEST_CASE(interval_range_is_1_to_86400) {
  const std::string prefix = "background:\n  job_status_polling:\n    interval_seconds: ";
  BOOST_CHECK_EQUAL(YamlError(prefix + "0\n"),
                    "/etc/jp.yaml:3: key background.job_status_polling.interval_seconds: must be "
                    "an integer between 1 and 86400, got \"0\"");
  BOOST_CHECK_EQUAL(YamlError(prefix + "86401\n"),
                    "/etc/jp.yaml:3: key background.job_status_polling.interval_seconds: must be "
                    "an integer between 1 and 86400, got \"86401\"");
  BOOST_CHECK(Contains(YamlError(prefix + "1.5\n"), "got \"1.5\""));
  BOOST_CHECK(Contains(YamlError(prefix + "-3\n"), "got \"-3\""));
  BOOST_CHECK(Contains(YamlError(prefix + "99999999999999999999\n"), "between 1 and 86400"));
  BOOST_CHECK_EQUAL(MustLoadYaml(prefix + "1\n").polling_interval_seconds.value, 1);
  BOOST_CHECK_EQUAL(MustLoadYaml(prefix + "86400\n").polling_interval_seconds.value, 86400);
  BOOST_CHECK_EQUAL(MustLoadYaml(prefix + "\"45\"\n").polling_interval_seconds.value, 45);
}

BOOST_AUTO_TEST_CASE(environment_errors_name_the_variable) {
  auto env_error = [](const std::string& name, const std::string& value) {
    const Result<Config> result = LoadConfigFromYaml("", "", MapEnv({{name, value}}));
    return result.ok() ? std::string() : result.status().message();
  };
  BOOST_CHECK_EQUAL(env_error("SIMPLETUNER_JOB_POLL_INTERVAL", "0"),
                    "SIMPLETUNER_JOB_POLL_INTERVAL: must be an integer between 1 and 86400, got "
                    "\"0\"");
  BOOST_CHECK_EQUAL(env_error("SIMPLETUNER_JOB_POLL_INTERVAL", "86401"),
                    "SIMPLETUNER_JOB_POLL_INTERVAL: must be an integer between 1 and 86400, got "
                    "\"86401\"");
  BOOST_CHECK_EQUAL(env_error("SIMPLETUNER_JOB_POLL_INTERVAL", "1"), "");
  BOOST_CHECK_EQUAL(env_error("SIMPLETUNER_JOB_POLL_INTERVAL", "86400"), "");
  BOOST_CHECK_EQUAL(env_error("JOBPULSE_PORT", "http"),
                    "JOBPULSE_PORT: must be an integer between 1 and 65535, got \"http\"");
  BOOST_CHECK_EQUAL(env_error("JOBPULSE_MAX_REQUESTS", "0"),
                    "JOBPULSE_MAX_REQUESTS: must be an integer between 1 and 10000000, got \"0\"");
  BOOST_CHECK_EQUAL(env_error("REPLICATE_BASE_URL", "api.replicate.com"),
                    "REPLICATE_BASE_URL: must be an http:// or https:// URL, got "
                    "\"api.replicate.com\"");
  BOOST_CHECK_EQUAL(env_error("REPLICATE_WEBHOOK_URL", "ftp://x"),
                    "REPLICATE_WEBHOOK_URL: must be an http:// or https:// URL, got \"ftp://x\"");
}

BOOST_AUTO_TEST_CASE(base_url_must_be_http_and_loses_trailing_slash) {
  BOOST_CHECK_EQUAL(YamlError("providers:\n  replicate:\n    base_url: api.replicate.com/v1\n"),
                    "/etc/jp.yaml:3: key providers.replicate.base_url: must be an http:// or "
                    "https:// URL, got \"api.replicate.com/v1\"");
  BOOST_CHECK(!YamlError("providers:\n  replicate:\n    base_url: https://\n").empty());
  const Result<Config> result =
      LoadConfigFromYaml("", "", MapEnv({{"REPLICATE_BASE_URL", "https://r8.example/v1//"}}));
  BOOST_REQUIRE(result.ok());
  BOOST_CHECK_EQUAL(result->replicate.base_url.value, "https://r8.example/v1");
}

BOOST_AUTO_TEST_CASE(explicit_config_file_must_exist) {
  TempDir dir;
  const std::string missing = dir.path() + "/nope.yaml";
  const Result<Config> result =
      LoadConfig(MapEnv({{"SIMPLETUNER_ENTERPRISE_CONFIG", missing}}), dir.path());
  BOOST_REQUIRE(!result.ok());
  BOOST_CHECK(result.status().code() == Status::Code::kInvalidArgument);
  BOOST_CHECK_EQUAL(result.status().error(), "invalid_config");
  BOOST_CHECK_EQUAL(result.status().message(),
                    "SIMPLETUNER_ENTERPRISE_CONFIG: no such file: " + missing);
}

BOOST_AUTO_TEST_CASE(explicit_config_file_wins_over_discovery) {
  TempDir dir;
  dir.Write("simpletuner-enterprise.yaml", "listen:\n  port: 1111\n");
  const std::string named = dir.Write("etc/custom.yaml", "listen:\n  port: 2222\n");
  // Relative to cwd, like the other relative paths of §2.
  const Result<Config> result =
      LoadConfig(MapEnv({{"SIMPLETUNER_ENTERPRISE_CONFIG", "etc/custom.yaml"}}), dir.path());
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  BOOST_CHECK_EQUAL(result->listen_port.value, 2222);
  BOOST_CHECK_EQUAL(result->enterprise_config_path, named);
}

BOOST_AUTO_TEST_CASE(discovery_prefers_cwd_file_over_config_dir) {
  TempDir cwd;
  TempDir config_dir;
  const std::string here = cwd.Write("simpletuner-enterprise.yaml", "listen:\n  port: 1111\n");
  config_dir.Write("simpletuner-enterprise.yaml", "listen:\n  port: 2222\n");
  const Result<Config> result =
      LoadConfig(MapEnv({{"SIMPLETUNER_CONFIG_DIR", config_dir.path()}}), cwd.path());
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  BOOST_CHECK_EQUAL(result->listen_port.value, 1111);
  BOOST_CHECK(result->listen_port.source == kYaml);
  BOOST_CHECK_EQUAL(result->enterprise_config_path, here);
}

BOOST_AUTO_TEST_CASE(discovery_falls_back_to_config_dir) {
  TempDir cwd;
  TempDir config_dir;
  const std::string there =
      config_dir.Write("simpletuner-enterprise.yaml", "listen:\n  port: 2222\n");
  const Result<Config> result =
      LoadConfig(MapEnv({{"SIMPLETUNER_CONFIG_DIR", config_dir.path()}}), cwd.path());
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  BOOST_CHECK_EQUAL(result->listen_port.value, 2222);
  BOOST_CHECK_EQUAL(result->enterprise_config_path, there);

  // A config dir without the file is not an error.
  TempDir empty_dir;
  const Result<Config> none =
      LoadConfig(MapEnv({{"SIMPLETUNER_CONFIG_DIR", empty_dir.path()}}), cwd.path());
  BOOST_REQUIRE(none.ok());
  BOOST_CHECK_EQUAL(none->enterprise_config_path, "");
  BOOST_CHECK_EQUAL(none->listen_port.value, 8001);
}

BOOST_AUTO_TEST_CASE(hardware_prices_merge_over_defaults) {
  const Config c = MustLoadYaml(
      "providers:\n  replicate:\n    hardware_prices:\n"
      "      gpu-l40s: 0.000972\n      gpu-b200: 0.0025\n      cpu: 0\n");
  const std::map<std::string, double>& prices = c.replicate.hardware_prices.value;
  BOOST_CHECK_EQUAL(prices.size(), DefaultHardwarePrices().size() + 1);
  BOOST_CHECK_EQUAL(prices.at("gpu-l40s"), 0.000972);  // overridden
  BOOST_CHECK_EQUAL(prices.at("gpu-b200"), 0.0025);    // added
  BOOST_CHECK_EQUAL(prices.at("cpu"), 0.0);
  BOOST_CHECK_EQUAL(prices.at("gpu-h100"), 0.001525);  // untouched default
  BOOST_CHECK(c.replicate.hardware_prices.source == kYaml);
}

BOOST_AUTO_TEST_CASE(hardware_prices_must_be_finite_and_non_negative) {
  const std::string prefix = "providers:\n  replicate:\n    hardware_prices:\n      gpu-t4: ";
  BOOST_CHECK_EQUAL(YamlError(prefix + "-0.1\n"),
                    "/etc/jp.yaml:4: key providers.replicate.hardware_prices.gpu-t4: must be a "
                    "finite number >= 0, got \"-0.1\"");
  BOOST_CHECK(Contains(YamlError(prefix + "cheap\n"), "got \"cheap\""));
  BOOST_CHECK(Contains(YamlError(prefix + ".inf\n"), "got \".inf\""));
  BOOST_CHECK(Contains(YamlError(prefix + "nan\n"), "got \"nan\""));
  BOOST_CHECK_EQUAL(YamlError("providers:\n  replicate:\n    hardware_prices: [1]\n"),
                    "/etc/jp.yaml:3: key providers.replicate.hardware_prices: must be a map of SKU "
                    "to $/s, got a list");
  BOOST_CHECK_EQUAL(MustLoadYaml(prefix + "2.5e-4\n").replicate.hardware_prices.value.at("gpu-t4"),
                    0.00025);
}

BOOST_AUTO_TEST_CASE(default_hardware_needs_a_price) {
  BOOST_CHECK_EQUAL(YamlError("providers:\n  replicate:\n    default_hardware: gpu-z9\n"),
                    "/etc/jp.yaml:3: key providers.replicate.default_hardware: no price for "
                    "\"gpu-z9\" in providers.replicate.hardware_prices");
  const Config c = MustLoadYaml(
      "providers:\n  replicate:\n    default_hardware: gpu-z9\n"
      "    hardware_prices: {gpu-z9: 0.01}\n");
  BOOST_CHECK_EQUAL(c.replicate.default_hardware.value, "gpu-z9");
}

BOOST_AUTO_TEST_CASE(sync_models_must_be_owner_slash_name) {
  const Config c = MustLoadYaml("providers:\n  replicate:\n    sync_models:\n      - a/b\n");
  BOOST_CHECK(c.replicate.sync_models.value == std::vector<std::string>{"a/b"});
  BOOST_CHECK(c.replicate.sync_models.source == kYaml);

  const std::string prefix = "providers:\n  replicate:\n    sync_models:\n      - ok/model\n";
  for (const char* bad : {"justname", "/name", "owner/", "a/b/c"}) {
    BOOST_CHECK_EQUAL(YamlError(prefix + "      - " + bad + "\n"),
                      std::string("/etc/jp.yaml:5: key providers.replicate.sync_models: must be "
                                  "\"owner/name\", got \"") +
                          bad + "\"");
  }
  BOOST_CHECK_EQUAL(YamlError("providers:\n  replicate:\n    sync_models: a/b\n"),
                    "/etc/jp.yaml:3: key providers.replicate.sync_models: must be a list of "
                    "\"owner/name\" strings, got \"a/b\"");
}

BOOST_AUTO_TEST_CASE(describe_masks_secrets_and_shows_sources) {
  const Config c = MustLoadYaml(
      "background:\n  job_status_polling:\n    interval_seconds: 60\n"
      "providers:\n  replicate:\n    webhook_secret: whsec_TOPSECRETYAML\n"
      "    hardware_prices: {gpu-t4: 0.0003}\n",
      MapEnv({{"REPLICATE_API_TOKEN", "r8_TOPSECRETENV"}, {"JOBPULSE_PORT", "9000"}}));
  const std::string text = DescribeConfig(c);
  BOOST_TEST_MESSAGE(text);
  BOOST_CHECK(!Contains(text, "TOPSECRET"));
  BOOST_CHECK(Contains(text, "enterprise config: /etc/jp.yaml\n"));
  BOOST_CHECK(Contains(text, "\nproviders.replicate.api_token = **** (env)\n"));
  BOOST_CHECK(Contains(text, "\nproviders.replicate.webhook_secret = **** (enterprise config)\n"));
  BOOST_CHECK(Contains(text, "\nproviders.replicate.webhook_url = (unset) (default)\n"));
  BOOST_CHECK(Contains(text, "\nbackground.job_status_polling.enabled = auto (default)\n"));
  BOOST_CHECK(Contains(
      text, "\nbackground.job_status_polling.interval_seconds = 60 (enterprise config)\n"));
  BOOST_CHECK(Contains(text, "\nlisten.port = 9000 (env)\n"));
  BOOST_CHECK(Contains(text, "\ndatabase.path = var/jobpulse.db (default)\n"));
  BOOST_CHECK(Contains(text, "\nproviders.replicate.sync_models = [] (default)\n"));
  BOOST_CHECK(Contains(
      text, "\nproviders.replicate.hardware_prices.gpu-t4 = 0.0003 (enterprise config)\n"));
  BOOST_CHECK(
      Contains(text, "\nproviders.replicate.hardware_prices.gpu-l40s = 0.000975 (default)\n"));
  BOOST_CHECK(Contains(text, "\nfcgi.max_requests = 1000 (default)\n"));

  const std::string defaults = DescribeConfig(Config());
  BOOST_CHECK(defaults.starts_with("enterprise config: none found"));
  BOOST_CHECK(Contains(defaults, "\nproviders.replicate.api_token = (unset) (default)\n"));
  BOOST_CHECK(Contains(defaults, "\nproviders.replicate.webhook_secret = (unset) (default)\n"));
}

BOOST_AUTO_TEST_CASE(secret_errors_never_echo_the_secret) {
  const std::string token_error =
      YamlError("providers:\n  replicate:\n    api_token: [r8_LEAKYTOKEN]\n");
  BOOST_CHECK_EQUAL(token_error,
                    "/etc/jp.yaml:3: key providers.replicate.api_token: must be a string, got a "
                    "list");
  BOOST_CHECK(!Contains(token_error, "LEAKY"));

  const std::string yaml_secret_error =
      YamlError("providers:\n  replicate:\n    webhook_secret: LEAKYSECRET\n");
  BOOST_CHECK_EQUAL(yaml_secret_error,
                    "/etc/jp.yaml:3: key providers.replicate.webhook_secret: must start with "
                    "\"whsec_\"");

  const Result<Config> env_result = LoadConfigFromYaml(
      "", "", MapEnv({{"REPLICATE_WEBHOOK_SECRET", "LEAKYSECRET"}, {"REPLICATE_API_TOKEN", "x"}}));
  BOOST_REQUIRE(!env_result.ok());
  BOOST_CHECK_EQUAL(env_result.status().message(),
                    "REPLICATE_WEBHOOK_SECRET: must start with \"whsec_\"");

  // A later error in the same file must not drag the token into its message.
  const std::string later_error =
      YamlError("providers:\n  replicate:\n    api_token: r8_LEAKYTOKEN\nlisten:\n  port: r8_x\n");
  BOOST_CHECK(Contains(later_error, "listen.port"));
  BOOST_CHECK(!Contains(later_error, "LEAKY"));
}

BOOST_AUTO_TEST_CASE(access_control_and_retention_keys) {
  const Config defaults;
  BOOST_CHECK(!defaults.api_token.value.has_value());
  BOOST_CHECK(defaults.api_allowed_origins.value.empty());
  BOOST_CHECK(!defaults.api_max_provider_waiters.value.has_value());
  BOOST_CHECK(defaults.listen_server_names.value.empty());
  BOOST_CHECK_EQUAL(defaults.webhooks_retention_hours.value, 24);

  const Config c = MustLoadYaml(
      "api:\n  token: yaml-token-0123456789\n  allowed_origins:\n    - https://ops.example:8443\n"
      "  max_provider_waiters: 3\nlisten:\n  server_names: [jobs.example, 10.0.0.5]\n"
      "webhooks:\n  retention_hours: 48\n");
  BOOST_CHECK(c.api_token.value == std::optional<std::string>("yaml-token-0123456789"));
  BOOST_CHECK(c.api_token.source == kYaml);
  BOOST_CHECK(c.api_allowed_origins.value == std::vector<std::string>{"https://ops.example:8443"});
  BOOST_CHECK(c.api_max_provider_waiters.value == std::optional<int>(3));
  BOOST_CHECK(c.listen_server_names.value ==
              (std::vector<std::string>{"jobs.example", "10.0.0.5"}));
  BOOST_CHECK_EQUAL(c.webhooks_retention_hours.value, 48);

  const Config env = MustLoadYaml("api:\n  token: yaml-token-0123456789\n",
                                  MapEnv({{"JOBPULSE_API_TOKEN", "env-token-TOPSECRET-01"}}));
  BOOST_CHECK(env.api_token.value == std::optional<std::string>("env-token-TOPSECRET-01"));
  BOOST_CHECK(env.api_token.source == kEnv);
  const std::string text = DescribeConfig(env);
  BOOST_CHECK(Contains(text, "\napi.token = **** (env)\n"));
  BOOST_CHECK(!Contains(text, "TOPSECRET"));
  BOOST_CHECK(Contains(DescribeConfig(c),
                       "\nlisten.server_names = [jobs.example, 10.0.0.5] "
                       "(enterprise config)\n"));
  BOOST_CHECK(Contains(DescribeConfig(defaults),
                       "\napi.max_provider_waiters = (half the pool) (default)\n"));

  BOOST_CHECK_EQUAL(YamlError("api:\n  token: short\n"),
                    "/etc/jp.yaml:2: key api.token: must be at least 16 characters");
  BOOST_CHECK_EQUAL(YamlError("api:\n  allowed_origins: [\"https://a.example/path\"]\n"),
                    "/etc/jp.yaml:2: key api.allowed_origins: must be an origin like "
                    "\"https://host:port\" (no path), got \"https://a.example/path\"");
  BOOST_CHECK_EQUAL(YamlError("api:\n  max_provider_waiters: 0\n"),
                    "/etc/jp.yaml:2: key api.max_provider_waiters: must be an integer between 1 "
                    "and 1024, got \"0\"");
  BOOST_CHECK_EQUAL(YamlError("listen:\n  server_names: [\"bad name\"]\n"),
                    "/etc/jp.yaml:2: key listen.server_names: must be a host name, got \"bad "
                    "name\"");
  const Result<Config> bad_env =
      LoadConfigFromYaml("", "", MapEnv({{"JOBPULSE_API_TOKEN", "LEAKY"}}));
  BOOST_REQUIRE(!bad_env.ok());
  BOOST_CHECK_EQUAL(bad_env.status().message(),
                    "JOBPULSE_API_TOKEN: must be at least 16 characters");
}

BOOST_AUTO_TEST_CASE(database_url_selects_postgresql_and_never_shows_its_password) {
  const Config defaults = MustLoadYaml("");
  BOOST_CHECK(!defaults.database_url.value);
  BOOST_CHECK(Contains(DescribeConfig(defaults), "\ndatabase engine: sqlite\n"));
  BOOST_CHECK(Contains(DescribeConfig(defaults),
                       "\ndatabase.url = (unset: SQLite at database.path) (default)\n"));
  BOOST_CHECK(Contains(DescribeConfigForShell(defaults), "\ncfg_database_engine='sqlite'\n"));

  const Config yaml = MustLoadYaml("database:\n  url: postgresql://app:TOPSECRET@db:5432/jobs\n");
  BOOST_CHECK(yaml.database_url.value ==
              std::optional<std::string>("postgresql://app:TOPSECRET@db:5432/jobs"));
  BOOST_CHECK(yaml.database_url.source == kYaml);
  const std::string text = DescribeConfig(yaml);
  BOOST_CHECK(Contains(text, "\ndatabase engine: postgresql\n"));
  BOOST_CHECK(
      Contains(text, "\ndatabase.url = postgresql://app:***@db:5432/jobs (enterprise config)\n"));
  const std::string sh = DescribeConfigForShell(yaml);
  BOOST_CHECK(Contains(sh, "\ncfg_database_engine='postgresql'\n"));
  BOOST_CHECK(Contains(sh, "\ncfg_database_url='postgresql://app:***@db:5432/jobs'\n"));
  BOOST_CHECK(!Contains(text + sh, "TOPSECRET"));

  const Config env = MustLoadYaml(
      "", MapEnv({{"JOBPULSE_DATABASE_URL", "postgres:///jobs?host=/run/pg&password=TOPSECRET"}}));
  BOOST_CHECK(env.database_url.source == kEnv);
  BOOST_CHECK(Contains(DescribeConfig(env),
                       "\ndatabase.url = postgres:///jobs?host=/run/pg&password=*** (env)\n"));

  // Another scheme is refused without echoing the text, which may hold a password.
  const Result<Config> bad =
      LoadConfigFromYaml("", "", MapEnv({{"JOBPULSE_DATABASE_URL", "mysql://u:TOPSECRET@db/x"}}));
  BOOST_REQUIRE(!bad.ok());
  BOOST_CHECK_EQUAL(bad.status().message(),
                    "JOBPULSE_DATABASE_URL: must be a postgresql:// or postgres:// URL");
}

BOOST_AUTO_TEST_CASE(shell_form_prints_every_value_quoted_and_no_secret) {
  const Config c = MustLoadYaml(
      "database:\n  path: \"/srv/it's $HOME.db\"\n"
      "providers:\n  replicate:\n    webhook_secret: whsec_TOPSECRETYAML\n"
      "    sync_models: [a/b, c/d]\n    hardware_prices: {gpu-b200: 0.0025}\n"
      "listen:\n  server_names: [jobs.example]\n",
      MapEnv({{"REPLICATE_API_TOKEN", "r8_TOPSECRETENV"}, {"JOBPULSE_PORT", "9000"}}));
  const std::string sh = DescribeConfigForShell(c);
  BOOST_TEST_MESSAGE(sh);
  BOOST_CHECK(!Contains(sh, "TOPSECRET"));
  BOOST_CHECK(sh.starts_with("cfg_enterprise_config='/etc/jp.yaml'\n"));
  for (const char* line : {
           "\ncfg_background_job_status_polling_enabled=''\n",
           "\ncfg_background_job_status_polling_interval_seconds='30'\n",
           "\ncfg_background_queue_processing_enabled='true'\n",
           "\ncfg_database_path='/srv/it'\\''s $HOME.db'\n",
           "\ncfg_providers_replicate_api_token='set'\n",
           "\ncfg_providers_replicate_base_url='https://api.replicate.com/v1'\n",
           "\ncfg_providers_replicate_webhook_url=''\n",
           "\ncfg_providers_replicate_webhook_secret='set'\n",
           "\ncfg_providers_replicate_sync_models='a/b\nc/d'\n",
           "\ncfg_providers_replicate_hardware_prices_gpu_b200='0.0025'\n",
           "\ncfg_providers_replicate_hardware_prices_gpu_l40s='0.000975'\n",
           "\ncfg_sse_socket_path=''\n",
           "\ncfg_api_token='unset'\n",
           "\ncfg_api_max_provider_waiters=''\n",
           "\ncfg_listen_port='9000'\n",
           "\ncfg_listen_server_names='jobs.example'\n",
       }) {
    BOOST_CHECK_MESSAGE(Contains(sh, line), "missing: " << line);
  }
  BOOST_CHECK(sh.ends_with("\ncfg_fcgi_pool_size='4'\n"));

  // A secret's text never shows, whatever it is: only whether it is set.
  Config other = c;
  other.api_token.value = "another-token-0123456789";
  other.replicate.api_token.value = "r8_other";
  other.replicate.webhook_secret.value = "whsec_other";
  const std::string other_sh = DescribeConfigForShell(other);
  BOOST_CHECK(!Contains(other_sh, "other"));
  BOOST_CHECK(Contains(other_sh, "\ncfg_api_token='set'\n"));
}

BOOST_AUTO_TEST_CASE(shell_form_of_the_defaults_is_exact) {
  std::string expected =
      "cfg_enterprise_config=''\n"
      "cfg_database_engine='sqlite'\n"
      "cfg_background_job_status_polling_enabled=''\n"
      "cfg_background_job_status_polling_interval_seconds='30'\n"
      "cfg_background_queue_processing_enabled='true'\n"
      "cfg_background_queue_processing_interval_seconds='5'\n"
      "cfg_queue_max_concurrent='5'\n"
      "cfg_queue_user_max_concurrent='2'\n"
      "cfg_queue_max_attempts='3'\n"
      "cfg_queue_cost_limit_usd=''\n"
      "cfg_queue_cost_limit_period='monthly'\n"
      "cfg_database_path='var/jobpulse.db'\n"
      "cfg_database_url=''\n"
      "cfg_providers_replicate_api_token='unset'\n"
      "cfg_providers_replicate_base_url='https://api.replicate.com/v1'\n"
      "cfg_providers_replicate_webhook_url=''\n"
      "cfg_providers_replicate_webhook_secret='unset'\n"
      "cfg_providers_replicate_webhook_require_signature='true'\n"
      "cfg_providers_replicate_webhook_timestamp_tolerance_seconds='300'\n"
      "cfg_providers_replicate_sync_max_jobs='100'\n"
      "cfg_providers_replicate_sync_models=''\n";
  for (const char* price :
       {"cpu='0.0001'", "gpu_2x_l40s='0.00195'", "gpu_4x_l40s='0.0039'", "gpu_8x_l40s='0.0078'",
        "gpu_a100_large='0.0014'", "gpu_a100_large_2x='0.0028'", "gpu_a100_large_4x='0.0056'",
        "gpu_a100_large_8x='0.0112'", "gpu_a40_large='0.000725'", "gpu_a40_large_2x='0.00145'",
        "gpu_a40_large_4x='0.0029'", "gpu_a40_large_8x='0.0058'", "gpu_a40_small='0.000575'",
        "gpu_h100='0.001525'", "gpu_h100_2x='0.00305'", "gpu_h100_4x='0.0061'",
        "gpu_h100_8x='0.0122'", "gpu_l40s='0.000975'", "gpu_t4='0.000225'"}) {
    expected += std::string("cfg_providers_replicate_hardware_prices_") + price + "\n";
  }
  expected +=
      "cfg_providers_replicate_default_hardware='gpu-l40s'\n"
      "cfg_providers_replicate_max_concurrent_requests='8'\n"
      "cfg_sse_max_connections_per_ip='5'\n"
      "cfg_sse_max_connections='1000'\n"
      "cfg_sse_heartbeat_seconds='15'\n"
      "cfg_sse_retention_events='100000'\n"
      "cfg_sse_retention_hours='24'\n"
      "cfg_sse_socket_path=''\n"
      "cfg_sse_socket_mode='0600'\n"
      "cfg_inline_progress_max_age_seconds='5'\n"
      "cfg_api_max_body_bytes='16777216'\n"
      "cfg_api_token='unset'\n"
      "cfg_api_allowed_origins=''\n"
      "cfg_api_max_provider_waiters=''\n"
      "cfg_listen_port='8001'\n"
      "cfg_listen_server_names=''\n"
      "cfg_webhooks_retention_hours='24'\n"
      "cfg_fcgi_max_requests='1000'\n"
      "cfg_fcgi_pool_size='4'\n";
  BOOST_CHECK_EQUAL(DescribeConfigForShell(Config()), expected);
}

// What a script gets: sh evaluates the lines back to the very values, and
// nothing in a value runs.
BOOST_AUTO_TEST_CASE(shell_form_evaluates_back_to_the_values) {
  TempDir dir;
  const std::string marker = dir.path() + "/ran";
  const std::string db = "/srv/a 'b' \"c\" $(touch " + marker + ") `touch " + marker + "`;x.db";
  Config c;
  c.database_path.value = db;
  c.listen_server_names.value = {"a.example", "b.example"};
  const std::string file = dir.Write("config.sh", DescribeConfigForShell(c));
  const std::string out_path = dir.path() + "/out";
  const std::string cmd =
      "sh -c '. \"$1\" && printf \"%s|%s|%s\" \"$cfg_database_path\" "
      "\"$cfg_listen_server_names\" \"$cfg_api_token\"' sh " +
      file + " > " + out_path;
  BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
  std::ifstream in(out_path);
  std::stringstream got;
  got << in.rdbuf();
  BOOST_CHECK_EQUAL(got.str(), db + "|a.example\nb.example|unset");
  BOOST_CHECK(!fs::exists(marker));
}

// One row of the table drives the YAML read, the environment read and both
// descriptions: set each row's key (and variable), and DescribeConfig shows
// that source for it, with a matching line in the shell form.
BOOST_AUTO_TEST_CASE(the_settings_table_drives_yaml_environment_and_description) {
  size_t rows = 0, yaml_rows = 0, env_rows = 0;
  for (const SettingSpec& spec : ConfigSettings()) {
    ++rows;
    const bool prices =
        std::holds_alternative<ConfigField<std::map<std::string, double>>>(spec.field);
    const std::string shown_key = std::string(spec.key) + (prices ? ".cpu" : "");
    const std::string defaults = DescribeConfig(Config());
    BOOST_CHECK_MESSAGE(LineOf(defaults, shown_key).ends_with(" (default)"), spec.key);
    BOOST_CHECK_MESSAGE(
        !spec.secret || std::holds_alternative<ConfigField<std::optional<std::string>>>(spec.field),
        spec.key << ": only an optional string can be a secret");
    bool yaml_done = !spec.in_yaml, env_done = spec.env == nullptr;
    for (const std::string& value : AcceptedCandidates(spec)) {
      if (!yaml_done) {
        const Result<Config> c = LoadConfigFromYaml(YamlFor(spec.key, value), "y", NoEnv());
        if (c.ok()) {
          const std::string line = LineOf(DescribeConfig(*c), shown_key);
          BOOST_CHECK_MESSAGE(line.ends_with(" (enterprise config)"), spec.key << ": " << line);
          yaml_done = true;
          ++yaml_rows;
        }
      }
      if (!env_done && value != "[]" && value != "{cpu: 0.5}") {
        const Result<Config> c = LoadConfigFromYaml("", "", MapEnv({{spec.env, value}}));
        if (c.ok()) {
          const std::string line = LineOf(DescribeConfig(*c), shown_key);
          BOOST_CHECK_MESSAGE(line.ends_with(" (env)"), spec.env << ": " << line);
          env_done = true;
          ++env_rows;
        }
      }
    }
    BOOST_CHECK_MESSAGE(yaml_done && env_done, spec.key << ": no accepted value");
  }
  BOOST_CHECK_EQUAL(env_rows, 12u);
  BOOST_CHECK_EQUAL(yaml_rows, rows - 1);  // fcgi.pool_size comes only from the environment

  // Both descriptions have one line per row (hardware_prices one per SKU) and
  // nothing else but the first two lines (the enterprise config, the engine).
  const Config defaults;
  const size_t skus = defaults.replicate.hardware_prices.value.size();
  const std::string text = DescribeConfig(defaults);
  const std::string sh = DescribeConfigForShell(defaults);
  BOOST_CHECK_EQUAL(std::count(text.begin(), text.end(), '\n'), 2 + rows - 1 + skus);
  BOOST_CHECK_EQUAL(std::count(sh.begin(), sh.end(), '\n'), 2 + rows - 1 + skus);
}

BOOST_AUTO_TEST_CASE(source_names) {
  BOOST_CHECK_EQUAL(ConfigSourceName(ConfigSource::kDefault), std::string("default"));
  BOOST_CHECK_EQUAL(ConfigSourceName(ConfigSource::kEnterpriseConfig),
                    std::string("enterprise config"));
  BOOST_CHECK_EQUAL(ConfigSourceName(ConfigSource::kEnv), std::string("env"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
