// libFuzzer target: the configuration loader (lib/config.h). Input: a flags
// byte, then the YAML text; when the text holds a 0x1E byte, what follows the
// last one is not YAML but the value of one environment variable (picked by
// the flags). A seed is "\0" + a simpletuner-enterprise.yaml.
//   - LoadConfigFromYaml never throws or crashes; an error is invalid_config
//     and names the file (or the variable);
//   - a loaded Config keeps the documented ranges, and neither DescribeConfig
//     nor DescribeConfigForShell depends on the text of any secret;
//   - no secret value marked "SECRET-" (the seeds use such values) appears in
//     an error message or in either description.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config.h"
#include "tests/fuzz/fuzz_util.h"

namespace jobpulse {
namespace {

constexpr const char* kPath = "fuzz.yaml";
constexpr std::string_view kMarker = "SECRET-";

const char* const kEnvNames[] = {
    "REPLICATE_API_TOKEN", "REPLICATE_WEBHOOK_SECRET", "JOBPULSE_API_TOKEN",
    "REPLICATE_BASE_URL",  "REPLICATE_WEBHOOK_URL",    "SIMPLETUNER_JOB_POLL_INTERVAL",
    "JOBPULSE_PORT",       "JOBPULSE_MAX_REQUESTS",    "JOBPULSE_DB",
    "JOBPULSE_POOL_SIZE",
};
constexpr size_t kEnvCount = sizeof kEnvNames / sizeof kEnvNames[0];

bool IsSecretEnv(std::string_view name) {
  return name == "REPLICATE_API_TOKEN" || name == "REPLICATE_WEBHOOK_SECRET" ||
         name == "JOBPULSE_API_TOKEN";
}

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string_view::npos;
       pos = text.find(what, pos + 1)) {
    ++n;
  }
  return n;
}

// Markers in every scalar (keys included) of a YAML tree, walked with an
// explicit stack and a node budget (aliases may repeat nodes).
size_t MarkersInTree(const YAML::Node& root) {
  size_t n = 0;
  size_t budget = 100000;
  std::vector<YAML::Node> todo{root};
  while (!todo.empty()) {
    if (budget-- == 0) return SIZE_MAX;
    const YAML::Node node = todo.back();
    todo.pop_back();
    if (node.IsScalar()) {
      n += Count(node.Scalar(), kMarker);
    } else if (node.IsSequence()) {
      for (const auto& item : node) todo.push_back(item);
    } else if (node.IsMap()) {
      for (const auto& kv : node) {
        todo.push_back(kv.first);
        todo.push_back(kv.second);
      }
    }
  }
  return n;
}

// True when every marker in `yaml` stands, once, in the value of a secret key
// (providers.replicate.api_token and webhook_secret, api.token) as yaml-cpp
// reads it. Then no marker may show anywhere.
bool MarkersOnlyInSecrets(const std::string& yaml) {
  const size_t in_text = Count(yaml, kMarker);
  if (in_text == 0) return true;
  try {
    const YAML::Node root = YAML::Load(yaml);
    if (!root.IsMap()) return false;
    size_t in_secrets = 0;
    const auto secret = [&in_secrets](const YAML::Node& node) {
      if (node && node.IsScalar()) in_secrets += Count(node.Scalar(), kMarker);
    };
    const YAML::Node providers = root["providers"];
    if (providers && providers.IsMap()) {
      const YAML::Node replicate = providers["replicate"];
      if (replicate && replicate.IsMap()) {
        secret(replicate["api_token"]);
        secret(replicate["webhook_secret"]);
      }
    }
    const YAML::Node api = root["api"];
    if (api && api.IsMap()) secret(api["token"]);
    return in_secrets == in_text && MarkersInTree(root) == in_text;
  } catch (const std::exception&) {
    return false;  // unknown: skip the check
  }
}

void CheckRanges(const Config& c) {
  const auto in = [](int64_t v, int64_t lo, int64_t hi, const char* what) {
    FUZZ_CHECK(v >= lo && v <= hi, std::string(what) + " = " + std::to_string(v));
  };
  in(c.polling_interval_seconds.value, 1, 86400, "polling_interval_seconds");
  in(c.queue_processing_interval_seconds.value, 1, 86400, "queue_processing_interval_seconds");
  in(c.sse_max_connections_per_ip.value, 1, 100000, "sse_max_connections_per_ip");
  in(c.sse_max_connections.value, 1, 1000000, "sse_max_connections");
  in(c.sse_heartbeat_seconds.value, 1, 3600, "sse_heartbeat_seconds");
  in(c.inline_progress_max_age_seconds.value, 1, 3600, "inline_progress_max_age_seconds");
  in(c.api_max_body_bytes.value, 1, int64_t{1} << 30, "api_max_body_bytes");
  in(c.listen_port.value, 1, 65535, "listen_port");
  in(c.fcgi_max_requests.value, 1, 10000000, "fcgi_max_requests");
  in(c.replicate.sync_max_jobs.value, 1, 10000, "sync_max_jobs");
  in(c.replicate.max_concurrent_requests.value, 1, 256, "max_concurrent_requests");
  in(c.replicate.webhook_timestamp_tolerance_seconds.value, 1, 86400, "tolerance");
  if (c.api_max_provider_waiters.value) {
    in(*c.api_max_provider_waiters.value, 1, 1024, "api_max_provider_waiters");
  }
  const std::string& base = c.replicate.base_url.value;
  FUZZ_CHECK(base.rfind("http://", 0) == 0 || base.rfind("https://", 0) == 0, base);
  FUZZ_CHECK(base.back() != '/', base);
  FUZZ_CHECK(!c.database_path.value.empty(), "empty database path");
  for (const auto& [sku, price] : c.replicate.hardware_prices.value) {
    FUZZ_CHECK(std::isfinite(price) && price >= 0, sku + " = " + std::to_string(price));
  }
  FUZZ_CHECK(c.replicate.hardware_prices.value.contains(c.replicate.default_hardware.value),
             "default_hardware without a price");
  if (c.replicate.webhook_secret.value) {
    FUZZ_CHECK(c.replicate.webhook_secret.value->rfind("whsec_", 0) == 0, "webhook secret");
  }
  if (c.api_token.value) FUZZ_CHECK(c.api_token.value->size() >= 16, "short api token");
}

}  // namespace
}  // namespace jobpulse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace jobpulse;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string yaml(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::optional<std::string> env_value;
  const char* env_name = kEnvNames[flags % kEnvCount];
  if (const size_t sep = yaml.rfind('\x1e'); sep != std::string::npos) {
    env_value = yaml.substr(sep + 1);
    yaml.resize(sep);
  }
  const EnvLookup env = [&](const std::string& name) -> std::optional<std::string> {
    if (env_value && name == env_name) return env_value;
    return std::nullopt;
  };

  Result<Config> loaded = [&]() -> Result<Config> {
    try {
      return LoadConfigFromYaml(yaml, kPath, env);
    } catch (const std::exception& e) {
      FUZZ_CHECK(false, std::string("LoadConfigFromYaml threw: ") + e.what());
    }
    return Status::Internal("unreachable");
  }();

  // Markers only in secret values (of the YAML, or of a secret variable):
  // then none may show.
  const bool env_ok = !env_value || IsSecretEnv(env_name) || Count(*env_value, kMarker) == 0;
  const bool secrets_marked = env_ok && MarkersOnlyInSecrets(yaml);

  if (!loaded.ok()) {
    const Status& s = loaded.status();
    FUZZ_CHECK(s.error() == "invalid_config", s.ToString());
    FUZZ_CHECK(
        s.message().rfind(kPath, 0) == 0 || (env_value && s.message().rfind(env_name, 0) == 0),
        s.message());
    if (secrets_marked) FUZZ_CHECK(s.message().find(kMarker) == std::string::npos, s.message());
    return 0;
  }
  CheckRanges(*loaded);
  const std::string described = DescribeConfig(*loaded);
  if (secrets_marked) FUZZ_CHECK(described.find(kMarker) == std::string::npos, described);
  Config other = *loaded;
  for (auto* secret :
       {&other.replicate.api_token, &other.replicate.webhook_secret, &other.api_token}) {
    if (secret->value) secret->value = "whsec_other";
  }
  FUZZ_CHECK(DescribeConfig(other) == described, "DescribeConfig shows a secret's text");
  const std::string shell = DescribeConfigForShell(*loaded);
  if (secrets_marked) FUZZ_CHECK(shell.find(kMarker) == std::string::npos, shell);
  FUZZ_CHECK(DescribeConfigForShell(other) == shell,
             "DescribeConfigForShell shows a secret's text");
  return 0;
}
