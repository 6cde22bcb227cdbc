// Configuration (SPEC §2): built-in defaults, then simpletuner-enterprise.yaml,
// then the environment; later wins. Every value remembers where it came from so
// `--check-config` can show it. Which YAML key and which variable set a field,
// and what its value must be, is one table (lib/config_settings.h); a field
// here without a row there is never read or shown.
//
// The YAML is read from $SIMPLETUNER_ENTERPRISE_CONFIG, else
// ./simpletuner-enterprise.yaml, else $SIMPLETUNER_CONFIG_DIR/simpletuner-enterprise.yaml.
// A missing file is fine; a malformed one, a wrong type or an out-of-range value
// is an error whose message names the file (or the environment variable), the
// line and the key. Unknown keys are ignored: the enterprise file is shared with
// SimpleTuner, which has many keys of its own.
//
// YAML details: keys nest as maps along the dotted paths of the SPEC table
// (`background: {job_status_polling: {interval_seconds: 30}}`). A null value
// (`key:` or `key: ~`) is the same as leaving the key out; for the optional
// strings so is "". Quoted and plain scalars are read alike (`port: "8001"` is
// 8001). Booleans accept true/false, yes/no, on/off; background.job_status_polling.enabled
// also accepts `auto`, the same as unset. Integers must be plain decimal integers
// within the range noted on each field. An environment variable set to "" counts
// as unset. Error messages never contain the text of a secret.
//
// Thread-safety: Config is a plain value; LoadConfig has no global state.
#ifndef JOBPULSE_LIB_CONFIG_H_
#define JOBPULSE_LIB_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/status.h"

namespace jobpulse {

enum class ConfigSource { kDefault, kEnterpriseConfig, kEnv };

// "default", "enterprise config", "env": the words SPEC §6 logs.
const char* ConfigSourceName(ConfigSource source);

template <typename T>
struct Setting {
  T value{};
  ConfigSource source = ConfigSource::kDefault;
};

// The price table of reference/replicate.md §6 ($/s by exact SKU string).
std::map<std::string, double> DefaultHardwarePrices();

struct ReplicateConfig {
  Setting<std::optional<std::string>> api_token;  // secret
  // http:// or https://; trailing slashes are stripped so the client can append "/predictions".
  Setting<std::string> base_url{"https://api.replicate.com/v1"};
  Setting<std::optional<std::string>> webhook_url;     // http:// or https://
  Setting<std::optional<std::string>> webhook_secret;  // secret, "whsec_..."
  Setting<bool> webhook_require_signature{true};
  Setting<int> webhook_timestamp_tolerance_seconds{300};  // 1..86400
  Setting<int> sync_max_jobs{100};                        // 1..10000
  Setting<std::vector<std::string>> sync_models;          // "owner/name"; empty = all
  // $/s per SKU, finite and >= 0. The YAML map is merged over the defaults: it
  // overrides or adds SKUs and never removes one.
  Setting<std::map<std::string, double>> hardware_prices{DefaultHardwarePrices()};
  Setting<std::string> default_hardware{"gpu-l40s"};  // must have a price
  Setting<int> max_concurrent_requests{8};            // 1..256
};

struct Config {
  // Where the YAML came from; empty when no file was found.
  std::string enterprise_config_path;

  Setting<std::optional<bool>> polling_enabled;  // unset = auto (SPEC §6)
  Setting<int> polling_interval_seconds{30};     // 1..86400
  Setting<bool> queue_processing_enabled{true};
  Setting<int> queue_processing_interval_seconds{5};  // 1..86400
  // SPEC §12: dispatched active jobs in all and per user, dispatch attempts
  // before a job fails, and the spend beyond which submissions are refused
  // (unset: no limit) over the period "daily", "weekly" or "monthly".
  Setting<int> queue_max_concurrent{5};       // 1..10000
  Setting<int> queue_user_max_concurrent{2};  // 1..10000
  Setting<int> queue_max_attempts{3};         // 1..100
  Setting<std::optional<double>> queue_cost_limit_usd;
  Setting<std::string> queue_cost_limit_period{"monthly"};
  Setting<std::string> database_path{"var/jobpulse.db"};
  // Issue 12: a postgresql:// URL selects PostgreSQL, shared by every machine
  // (YAML database.url, env JOBPULSE_DATABASE_URL); database.path then only
  // says where this machine's sockets live. Unset: SQLite at database.path.
  Setting<std::optional<std::string>> database_url;
  ReplicateConfig replicate;
  Setting<int> sse_max_connections_per_ip{5};  // 1..100000
  Setting<int> sse_max_connections{1000};      // 1..1000000
  Setting<int> sse_heartbeat_seconds{15};      // 1..3600
  Setting<int> sse_retention_events{100000};   // 1..100000000
  // The worker's SSE unix socket, which nginx relays /api/events to
  // (YAML sse.socket_path, env JOBPULSE_EVENTS_SOCKET); empty: "events.sock"
  // next to the database (DefaultEventsSocket in lib/worker.h).
  Setting<std::string> sse_socket_path;
  // Its permissions: "0600" (the default: only the worker's user, who must
  // then also run nginx) or "0660" (also the socket's group, for a web server
  // running as another user: the Debian package's www-data, through the
  // setgid /run/jobpulse). YAML only.
  Setting<std::string> sse_socket_mode{"0600"};
  Setting<int> sse_retention_hours{24};                   // 1..87600
  Setting<int> inline_progress_max_age_seconds{5};        // 1..3600
  Setting<int64_t> api_max_body_bytes{16 * 1024 * 1024};  // 1..1 GiB
  // SPEC §11: when set, /api/cloud/, /api/queue/ and /api/events need it. A secret.
  // YAML api.token, env JOBPULSE_API_TOKEN.
  Setting<std::optional<std::string>> api_token;
  // Extra origins ("https://host[:port]", no path) allowed to change state (SPEC §11).
  Setting<std::vector<std::string>> api_allowed_origins;
  // Handlers that may wait on a provider at once across the pool (SPEC §6);
  // unset = half the pool, at least 1. 1..1024.
  Setting<std::optional<int>> api_max_provider_waiters;
  Setting<int> listen_port{8001};  // 1..65535
  // Extra host names make run's nginx answers for (SPEC §11), besides
  // 127.0.0.1, localhost and [::1].
  Setting<std::vector<std::string>> listen_server_names;
  // Applied webhook deliveries keep their body this long (SPEC §7); 0 drops
  // it as soon as the worker prunes. 0..87600.
  Setting<int> webhooks_retention_hours{24};
  // FastCGI handler recycling (SPEC §1): requests per process before it exits,
  // randomised ±25 % by the handler. YAML fcgi.max_requests, env JOBPULSE_MAX_REQUESTS.
  Setting<int> fcgi_max_requests{1000};  // 1..10000000
  // Serving FastCGI processes in the pool (env JOBPULSE_POOL_SIZE, which make
  // run's supervisord sets); half of it may wait on a provider by default.
  Setting<int> fcgi_pool_size{4};  // 1..1024
};

// Reads an environment variable; returns nullopt when unset. Tests pass a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
EnvLookup ProcessEnv();

// Loads defaults, the YAML (located as described above) and the environment.
// Errors: kInvalidArgument with error "invalid_config" and a message such as
//   "/etc/x.yaml:12: key background.job_status_polling.interval_seconds: must be an
//    integer between 1 and 86400, got \"abc\""
// or "SIMPLETUNER_JOB_POLL_INTERVAL: must be an integer between 1 and 86400, got \"0\"".
// `cwd` is where ./simpletuner-enterprise.yaml is looked for ("" = the process cwd);
// relative $SIMPLETUNER_ENTERPRISE_CONFIG and $SIMPLETUNER_CONFIG_DIR resolve against it.
Result<Config> LoadConfig(const EnvLookup& env, const std::string& cwd = "");

// Same, with the YAML given as text. `path` is used in messages and recorded as
// enterprise_config_path; nothing is read from it.
Result<Config> LoadConfigFromYaml(const std::string& yaml_text, const std::string& path,
                                  const EnvLookup& env);

// The effective configuration for `--check-config` (jobpulse-fcgi and
// jobpulse-worker): a first line naming the enterprise config file (or saying
// none was found), a line "database engine: sqlite" or "postgresql" (from
// database.url), then one "key = value (source)" line per setting under its
// dotted YAML key, hardware_prices as one line per SKU (an SKU still at its
// built-in price says "default"). Secrets are shown as "****" when set and
// "(unset)" otherwise: never their text; database.url with its password as
// "***". For people; scripts read the form below.
std::string DescribeConfig(const Config& config);

// The same values for `--check-config=sh`, as sh assignments safe to `eval`:
//   cfg_enterprise_config='/etc/simpletuner-enterprise.yaml'   ('' when none)
//   cfg_database_engine='sqlite'                               (or 'postgresql')
//   cfg_listen_port='8001'
// one line per setting of DescribeConfig, in its order. The name is "cfg_" and
// the dotted key with every character other than a letter or digit turned into
// "_" (providers.replicate.hardware_prices.gpu-l40s ->
// cfg_providers_replicate_hardware_prices_gpu_l40s); every value is in single
// quotes, a ' inside written '\''. Booleans are true/false; an unset optional
// (background.job_status_polling.enabled when auto, api.max_provider_waiters
// at half the pool, sse.socket_path beside the database) is ''; a list has one
// item a line; a secret is set or unset, never its text. Sources are not shown.
std::string DescribeConfigForShell(const Config& config);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_CONFIG_H_
