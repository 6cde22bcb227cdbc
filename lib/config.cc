// Configuration loading (SPEC §2). Three layers applied in order, each recording
// its source: the defaults in config.h, the enterprise YAML, the environment.
// Every check runs where the value is read, so an error can still name the file
// line or the variable that produced it; the first error wins.
//
// Size: over 500 lines because every setting is written out four times
// (header, YAML read, environment, description); issue 10 (the module split)
// replaces that with one table of settings.
#include "lib/config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

namespace jobpulse {
namespace {

namespace fs = std::filesystem;

constexpr char kFileName[] = "simpletuner-enterprise.yaml";

Status ConfigError(std::string message) {
  return Status::Error(Status::Code::kInvalidArgument, "invalid_config", std::move(message));
}

// Echoing the offending value makes typos obvious; bounding and escaping it
// keeps a stray block scalar from flooding the startup log.
std::string Quote(std::string_view text) {
  constexpr size_t kMaxChars = 64;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxChars; ++i) {
    const char c = text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  if (text.size() > kMaxChars) out += "...";
  out += '"';
  return out;
}

// Strict on purpose: "1.5", "1e3", "0x10" and " 30" are rejected rather than
// truncated or guessed at.
std::optional<int64_t> ParseInteger(std::string_view text) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// from_chars accepts "inf" and "nan", which would poison every cost estimate.
std::optional<double> ParsePrice(std::string_view text) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value) || value < 0) return std::nullopt;
  return value;
}

std::string IntProblem(int64_t min, int64_t max, const std::string& got) {
  return "must be an integer between " + std::to_string(min) + " and " + std::to_string(max) +
         ", got " + got;
}

// The client appends paths such as "/predictions", so a trailing slash would
// double up; strip it rather than reject a URL people commonly write.
std::string StripTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// "" when `url` (after normalisation) is an http(s) URL with a host.
std::string UrlProblem(const std::string& original, const std::string& url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.starts_with(scheme) && url.size() > scheme.size() && url[scheme.size()] != '/') {
      return "";
    }
  }
  return "must be an http:// or https:// URL, got " + Quote(original);
}

// The value is a secret: say what is wrong without echoing any of it.
std::string WebhookSecretProblem(const std::string& secret) {
  return secret.starts_with("whsec_") ? "" : "must start with \"whsec_\"";
}

// A secret too; short tokens are guessable, and the text never shows.
std::string ApiTokenProblem(const std::string& token) {
  if (token.size() < 16) return "must be at least 16 characters";
  for (const char c : token) {
    if (c <= ' ' || c == 0x7f) return "must not contain spaces or control characters";
  }
  return "";
}

// "https://host[:port]" exactly as a browser sends Origin: no path, no slash.
std::string OriginProblem(const std::string& origin) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!origin.starts_with(scheme)) continue;
    const std::string_view rest = std::string_view(origin).substr(scheme.size());
    if (!rest.empty() && rest.find_first_of("/?# ") == std::string_view::npos) return "";
  }
  return "must be an origin like \"https://host:port\" (no path), got " + Quote(origin);
}

// A DNS name or an address nginx can match in server_name.
std::string ServerNameProblem(const std::string& name) {
  if (name.empty() || name.size() > 253) return "must be a host name, got " + Quote(name);
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return "must be a host name, got " + Quote(name);
  }
  return "";
}

// "[a, b]" for --check-config.
std::string List(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const std::string& item : items) out += (out.size() > 1 ? ", " : "") + item;
  return out + "]";
}

std::string ModelProblem(const std::string& model) {
  const size_t slash = model.find('/');
  if (slash != std::string::npos && slash > 0 && slash + 1 < model.size() &&
      model.find('/', slash + 1) == std::string::npos) {
    return "";
  }
  return "must be \"owner/name\", got " + Quote(model);
}

// Null (`key:` or `key: ~`) means the same as leaving the key out, as it does
// for SimpleTuner's own YAML readers.
bool Present(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "null";
  }
}

// Zombie nodes (absent keys) throw from Mark(), and some nodes carry no mark.
int LineOf(const YAML::Node& node, int fallback) {
  if (!node.IsDefined()) return fallback;
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark.line + 1;
}

// A value's place in the file.
struct Field {
  YAML::Node node;  // null when absent
  std::string key;  // dotted path
  int line = 1;     // 1-based
};

// Reads the known keys of the document into a Config. Errors are sticky: once
// one is recorded the remaining reads do nothing, so Read() walks the keys top
// to bottom without checking after every one.
class YamlReader {
 public:
  explicit YamlReader(std::string path) : path_(std::move(path)) {}

  Status Read(const YAML::Node& root, Config* config) {
    if (!Present(root)) return Status::Ok();  // empty or comments only
    if (!root.IsMap()) {
      return ConfigError(path_ + ":" + std::to_string(LineOf(root, 1)) +
                         ": the top level must be a map, got " + Describe(root));
    }
    const Field top{root, "", LineOf(root, 1)};

    const Field background = Section(top, "background");
    const Field polling = Section(background, "job_status_polling");
    ReadPollingEnabled(Child(polling, "enabled"), &config->polling_enabled);
    ReadInt(Child(polling, "interval_seconds"), 1, 86400, &config->polling_interval_seconds);
    const Field queue = Section(background, "queue_processing");
    ReadBool(Child(queue, "enabled"), &config->queue_processing_enabled);
    ReadInt(Child(queue, "interval_seconds"), 1, 86400, &config->queue_processing_interval_seconds);

    ReadString(Child(Section(top, "database"), "path"), &config->database_path);

    ReadReplicate(Section(Section(top, "providers"), "replicate"), &config->replicate);

    const Field sse = Section(top, "sse");
    ReadInt(Child(sse, "max_connections_per_ip"), 1, 100000, &config->sse_max_connections_per_ip);
    ReadInt(Child(sse, "max_connections"), 1, 1000000, &config->sse_max_connections);
    ReadInt(Child(sse, "heartbeat_seconds"), 1, 3600, &config->sse_heartbeat_seconds);
    ReadInt(Child(sse, "retention_events"), 1, 100000000, &config->sse_retention_events);
    ReadInt(Child(sse, "retention_hours"), 1, 87600, &config->sse_retention_hours);
    ReadString(Child(sse, "socket_path"), &config->sse_socket_path);

    ReadInt(Child(Section(top, "inline_progress"), "max_age_seconds"), 1, 3600,
            &config->inline_progress_max_age_seconds);
    const Field api = Section(top, "api");
    ReadInt(Child(api, "max_body_bytes"), 1, int64_t{1} << 30, &config->api_max_body_bytes);
    ReadOptionalString(Child(api, "token"), &config->api_token, ApiTokenProblem);
    ReadStrings(Child(api, "allowed_origins"), OriginProblem, "\"https://host[:port]\"",
                &config->api_allowed_origins);
    ReadOptionalInt(Child(api, "max_provider_waiters"), 1, 1024, &config->api_max_provider_waiters);
    const Field listen = Section(top, "listen");
    ReadInt(Child(listen, "port"), 1, 65535, &config->listen_port);
    ReadStrings(Child(listen, "server_names"), ServerNameProblem, "host names",
                &config->listen_server_names);
    ReadInt(Child(Section(top, "webhooks"), "retention_hours"), 0, 87600,
            &config->webhooks_retention_hours);
    ReadInt(Child(Section(top, "fcgi"), "max_requests"), 1, 10000000, &config->fcgi_max_requests);
    return error_;
  }

 private:
  void ReadReplicate(const Field& replicate, ReplicateConfig* r) {
    ReadOptionalString(Child(replicate, "api_token"), &r->api_token, nullptr);
    const Field base_url = Child(replicate, "base_url");
    ReadString(base_url, &r->base_url);
    if (error_.ok() && r->base_url.source == ConfigSource::kEnterpriseConfig) {
      const std::string original = r->base_url.value;
      r->base_url.value = StripTrailingSlashes(original);
      Check(base_url, UrlProblem(original, r->base_url.value));
    }
    const Field webhook_url = Child(replicate, "webhook_url");
    ReadOptionalString(webhook_url, &r->webhook_url, nullptr);
    if (r->webhook_url.value)
      Check(webhook_url, UrlProblem(*r->webhook_url.value, *r->webhook_url.value));
    ReadOptionalString(Child(replicate, "webhook_secret"), &r->webhook_secret,
                       WebhookSecretProblem);
    ReadBool(Child(replicate, "webhook_require_signature"), &r->webhook_require_signature);
    ReadInt(Child(replicate, "webhook_timestamp_tolerance_seconds"), 1, 86400,
            &r->webhook_timestamp_tolerance_seconds);
    ReadInt(Child(replicate, "sync_max_jobs"), 1, 10000, &r->sync_max_jobs);
    ReadModels(Child(replicate, "sync_models"), &r->sync_models);
    ReadPrices(Child(replicate, "hardware_prices"), &r->hardware_prices);
    const Field default_hardware = Child(replicate, "default_hardware");
    ReadString(default_hardware, &r->default_hardware);
    // Prices can only be added or overridden, so only a YAML default_hardware
    // can lack a price; without one every cost estimate would silently be null.
    if (error_.ok() && !r->hardware_prices.value.contains(r->default_hardware.value)) {
      Fail(default_hardware, "no price for " + Quote(r->default_hardware.value) +
                                 " in providers.replicate.hardware_prices");
    }
    ReadInt(Child(replicate, "max_concurrent_requests"), 1, 256, &r->max_concurrent_requests);
  }

  void Fail(const Field& field, const std::string& problem) {
    if (!error_.ok()) return;
    error_ = ConfigError(path_ + ":" + std::to_string(field.line) + ": key " + field.key + ": " +
                         problem);
  }

  void Check(const Field& field, const std::string& problem) {
    if (!problem.empty()) Fail(field, problem);
  }

  Field Child(const Field& parent, const char* name) const {
    Field child{YAML::Node(), parent.key.empty() ? name : parent.key + "." + name, parent.line};
    if (parent.node.IsMap()) {
      const YAML::Node& map = parent.node;  // const: lookups must not insert
      const YAML::Node value = map[name];
      if (value.IsDefined()) child.node = value;
    }
    child.line = LineOf(child.node, parent.line);
    return child;
  }

  Field Section(const Field& parent, const char* name) {
    Field section = Child(parent, name);
    if (Present(section.node) && !section.node.IsMap()) {
      Fail(section, "must be a map, got " + Describe(section.node));
      section.node = YAML::Node();
    }
    return section;
  }

  template <typename T>
  void ReadInt(const Field& field, int64_t min, int64_t max, Setting<T>* out) {
    if (!error_.ok() || !Present(field.node)) return;
    std::optional<int64_t> value;
    if (field.node.IsScalar()) value = ParseInteger(field.node.Scalar());
    if (!value || *value < min || *value > max) {
      return Fail(field, IntProblem(min, max, Describe(field.node)));
    }
    *out = {static_cast<T>(*value), ConfigSource::kEnterpriseConfig};
  }

  // yaml-cpp's bool conversion accepts true/false, yes/no, on/off (and y/n).
  std::optional<bool> ParseBool(const Field& field) {
    bool value = false;
    if (field.node.IsScalar() && YAML::convert<bool>::decode(field.node, value)) return value;
    Fail(field, "must be true or false, got " + Describe(field.node));
    return std::nullopt;
  }

  void ReadBool(const Field& field, Setting<bool>* out) {
    if (!error_.ok() || !Present(field.node)) return;
    if (auto value = ParseBool(field)) *out = {*value, ConfigSource::kEnterpriseConfig};
  }

  // "auto" is accepted as an explicit spelling of the unset default (§6).
  void ReadPollingEnabled(const Field& field, Setting<std::optional<bool>>* out) {
    if (!error_.ok() || !Present(field.node)) return;
    if (field.node.IsScalar() && field.node.Scalar() == "auto") return;
    if (auto value = ParseBool(field)) *out = {*value, ConfigSource::kEnterpriseConfig};
  }

  void ReadString(const Field& field, Setting<std::string>* out) {
    if (!error_.ok() || !Present(field.node)) return;
    if (!field.node.IsScalar()) return Fail(field, "must be a string, got " + Describe(field.node));
    if (field.node.Scalar().empty()) return Fail(field, "must not be empty");
    *out = {field.node.Scalar(), ConfigSource::kEnterpriseConfig};
  }

  // An empty string means unset, as for environment variables. Type errors
  // never echo the value: this reads the secrets too.
  void ReadOptionalString(const Field& field, Setting<std::optional<std::string>>* out,
                          std::string (*problem)(const std::string&)) {
    if (!error_.ok() || !Present(field.node)) return;
    if (!field.node.IsScalar()) return Fail(field, "must be a string, got " + Describe(field.node));
    const std::string& value = field.node.Scalar();
    if (value.empty()) return;
    if (problem != nullptr) Check(field, problem(value));
    if (error_.ok()) *out = {value, ConfigSource::kEnterpriseConfig};
  }

  // A list of strings, each checked by `problem` ("" when fine).
  void ReadStrings(const Field& field, std::string (*problem)(const std::string&), const char* what,
                   Setting<std::vector<std::string>>* out) {
    if (!error_.ok() || !Present(field.node)) return;
    if (!field.node.IsSequence()) {
      return Fail(field,
                  std::string("must be a list of ") + what + ", got " + Describe(field.node));
    }
    std::vector<std::string> items;
    for (const YAML::Node& item : field.node) {
      const Field entry{item, field.key, LineOf(item, field.line)};
      if (!item.IsScalar()) return Fail(entry, "must be a string, got " + Describe(item));
      Check(entry, problem(item.Scalar()));
      items.push_back(item.Scalar());
    }
    if (error_.ok()) *out = {std::move(items), ConfigSource::kEnterpriseConfig};
  }

  void ReadOptionalInt(const Field& field, int64_t min, int64_t max,
                       Setting<std::optional<int>>* out) {
    if (!error_.ok() || !Present(field.node)) return;
    Setting<int> value;
    ReadInt(field, min, max, &value);
    if (error_.ok()) *out = {value.value, value.source};
  }

  void ReadModels(const Field& field, Setting<std::vector<std::string>>* out) {
    if (!error_.ok() || !Present(field.node)) return;
    if (!field.node.IsSequence()) {
      return Fail(field, "must be a list of \"owner/name\" strings, got " + Describe(field.node));
    }
    std::vector<std::string> models;
    for (const YAML::Node& item : field.node) {
      const Field entry{item, field.key, LineOf(item, field.line)};
      if (!item.IsScalar()) return Fail(entry, "must be \"owner/name\", got " + Describe(item));
      Check(entry, ModelProblem(item.Scalar()));
      models.push_back(item.Scalar());
    }
    if (error_.ok()) *out = {std::move(models), ConfigSource::kEnterpriseConfig};
  }

  // Merged over the defaults rather than replacing them, so listing one new
  // SKU does not silently drop the price of every other.
  void ReadPrices(const Field& field, Setting<std::map<std::string, double>>* out) {
    if (!error_.ok() || !Present(field.node)) return;
    if (!field.node.IsMap()) {
      return Fail(field, "must be a map of SKU to $/s, got " + Describe(field.node));
    }
    std::map<std::string, double> prices = out->value;
    for (const auto& entry : field.node) {
      const int line = LineOf(entry.first, field.line);
      if (!entry.first.IsScalar() || entry.first.Scalar().empty()) {
        return Fail({entry.first, field.key, line}, "SKU must be a non-empty string");
      }
      const std::string& sku = entry.first.Scalar();
      const Field price_field{entry.second, field.key + "." + sku, LineOf(entry.second, line)};
      std::optional<double> price;
      if (entry.second.IsScalar()) price = ParsePrice(entry.second.Scalar());
      if (!price) {
        return Fail(price_field, "must be a finite number >= 0, got " + Describe(entry.second));
      }
      prices[sku] = *price;
    }
    *out = {std::move(prices), ConfigSource::kEnterpriseConfig};
  }

  std::string path_;
  Status error_;
};

std::optional<std::string> NonEmpty(const EnvLookup& env, const std::string& name) {
  if (!env) return std::nullopt;
  std::optional<std::string> value = env(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

Status EnvError(const std::string& name, const std::string& problem) {
  return ConfigError(name + ": " + problem);
}

template <typename T>
Status ApplyEnvInt(const EnvLookup& env, const std::string& name, int64_t min, int64_t max,
                   Setting<T>* out) {
  const std::optional<std::string> text = NonEmpty(env, name);
  if (!text) return Status::Ok();
  const std::optional<int64_t> value = ParseInteger(*text);
  if (!value || *value < min || *value > max) {
    return EnvError(name, IntProblem(min, max, Quote(*text)));
  }
  *out = {static_cast<T>(*value), ConfigSource::kEnv};
  return Status::Ok();
}

Status ApplyEnvironment(const EnvLookup& env, Config* config) {
  ReplicateConfig& r = config->replicate;
  Status status = ApplyEnvInt(env, "SIMPLETUNER_JOB_POLL_INTERVAL", 1, 86400,
                              &config->polling_interval_seconds);
  if (!status.ok()) return status;
  status = ApplyEnvInt(env, "JOBPULSE_PORT", 1, 65535, &config->listen_port);
  if (!status.ok()) return status;
  status = ApplyEnvInt(env, "JOBPULSE_MAX_REQUESTS", 1, 10000000, &config->fcgi_max_requests);
  if (!status.ok()) return status;
  status = ApplyEnvInt(env, "JOBPULSE_POOL_SIZE", 1, 1024, &config->fcgi_pool_size);
  if (!status.ok()) return status;

  if (auto value = NonEmpty(env, "JOBPULSE_DB")) {
    config->database_path = {*value, ConfigSource::kEnv};
  }
  if (auto value = NonEmpty(env, "JOBPULSE_EVENTS_SOCKET")) {
    config->sse_socket_path = {*value, ConfigSource::kEnv};
  }
  if (auto value = NonEmpty(env, "REPLICATE_API_TOKEN")) {
    r.api_token = {*value, ConfigSource::kEnv};
  }
  if (auto value = NonEmpty(env, "REPLICATE_BASE_URL")) {
    const std::string url = StripTrailingSlashes(*value);
    const std::string problem = UrlProblem(*value, url);
    if (!problem.empty()) return EnvError("REPLICATE_BASE_URL", problem);
    r.base_url = {url, ConfigSource::kEnv};
  }
  if (auto value = NonEmpty(env, "REPLICATE_WEBHOOK_URL")) {
    const std::string problem = UrlProblem(*value, *value);
    if (!problem.empty()) return EnvError("REPLICATE_WEBHOOK_URL", problem);
    r.webhook_url = {*value, ConfigSource::kEnv};
  }
  if (auto value = NonEmpty(env, "JOBPULSE_API_TOKEN")) {
    const std::string problem = ApiTokenProblem(*value);
    if (!problem.empty()) return EnvError("JOBPULSE_API_TOKEN", problem);
    config->api_token = {*value, ConfigSource::kEnv};
  }
  if (auto value = NonEmpty(env, "REPLICATE_WEBHOOK_SECRET")) {
    const std::string problem = WebhookSecretProblem(*value);
    if (!problem.empty()) return EnvError("REPLICATE_WEBHOOK_SECRET", problem);
    r.webhook_secret = {*value, ConfigSource::kEnv};
  }
  return Status::Ok();
}

// stdio rather than ifstream so a failure comes with errno's reason.
Status ReadFile(const std::string& path, std::string* text) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return ConfigError(path + ": is a directory");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return ConfigError(path + ": cannot open: " + std::strerror(errno));
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) text->append(buf, n);
  const bool failed = std::ferror(file) != 0;
  const int saved_errno = errno;
  std::fclose(file);
  if (failed) return ConfigError(path + ": cannot read: " + std::strerror(saved_errno));
  return Status::Ok();
}

std::string FormatPrice(double price) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", price);
  return buf;
}

}  // namespace

const char* ConfigSourceName(ConfigSource source) {
  switch (source) {
    case ConfigSource::kDefault:
      return "default";
    case ConfigSource::kEnterpriseConfig:
      return "enterprise config";
    case ConfigSource::kEnv:
      return "env";
  }
  return "default";
}

// replicate.com/pricing, as recorded in reference/replicate.md §6; the SKU
// strings of the multi-GPU A40 and A100 variants come from the same page.
std::map<std::string, double> DefaultHardwarePrices() {
  return {
      {"cpu", 0.000100},
      {"gpu-t4", 0.000225},
      {"gpu-a40-small", 0.000575},
      {"gpu-a40-large", 0.000725},
      {"gpu-a40-large-2x", 0.001450},
      {"gpu-a40-large-4x", 0.002900},
      {"gpu-a40-large-8x", 0.005800},
      {"gpu-l40s", 0.000975},
      {"gpu-2x-l40s", 0.001950},
      {"gpu-4x-l40s", 0.003900},
      {"gpu-8x-l40s", 0.007800},
      {"gpu-a100-large", 0.001400},
      {"gpu-a100-large-2x", 0.002800},
      {"gpu-a100-large-4x", 0.005600},
      {"gpu-a100-large-8x", 0.011200},
      {"gpu-h100", 0.001525},
      {"gpu-h100-2x", 0.003050},
      {"gpu-h100-4x", 0.006100},
      {"gpu-h100-8x", 0.012200},
  };
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<Config> LoadConfig(const EnvLookup& env, const std::string& cwd) {
  std::error_code ec;
  fs::path base = cwd.empty() ? fs::current_path(ec) : fs::path(cwd);
  std::string path;
  if (auto explicit_path = NonEmpty(env, "SIMPLETUNER_ENTERPRISE_CONFIG")) {
    // Unlike the discovered locations, a file named explicitly must exist: a
    // typo here would otherwise run the service on defaults without a word.
    const fs::path named = base / *explicit_path;
    if (!fs::exists(named, ec)) {
      return ConfigError("SIMPLETUNER_ENTERPRISE_CONFIG: no such file: " + named.string());
    }
    path = named.string();
  } else if (fs::path here = base / kFileName; fs::exists(here, ec)) {
    path = here.string();
  } else if (auto dir = NonEmpty(env, "SIMPLETUNER_CONFIG_DIR")) {
    const fs::path there = base / *dir / kFileName;
    if (fs::exists(there, ec)) path = there.string();
  }

  std::string text;
  if (!path.empty()) {
    Status status = ReadFile(path, &text);
    if (!status.ok()) return status;
  }
  return LoadConfigFromYaml(text, path, env);
}

Result<Config> LoadConfigFromYaml(const std::string& yaml_text, const std::string& path,
                                  const EnvLookup& env) {
  Config config;
  config.enterprise_config_path = path;
  const std::string where = path.empty() ? "<yaml>" : path;
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    Status status = YamlReader(where).Read(root, &config);
    if (!status.ok()) return status;
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return ConfigError(where + ": " + e.msg);
    return ConfigError(where + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  Status status = ApplyEnvironment(env, &config);
  if (!status.ok()) return status;
  return config;
}

std::string DescribeConfig(const Config& config) {
  std::string out;
  if (config.enterprise_config_path.empty()) {
    out += "enterprise config: none found (looked for $SIMPLETUNER_ENTERPRISE_CONFIG, ./";
    out += kFileName;
    out += ", $SIMPLETUNER_CONFIG_DIR/";
    out += kFileName;
    out += ")\n";
  } else {
    out += "enterprise config: " + config.enterprise_config_path + "\n";
  }
  auto line = [&out](const std::string& key, const std::string& value, ConfigSource source) {
    out += key + " = " + value + " (" + ConfigSourceName(source) + ")\n";
  };
  auto optional = [](const std::optional<std::string>& value) {
    return value ? *value : std::string("(unset)");
  };
  auto secret = [](const std::optional<std::string>& value) {
    return value ? std::string("****") : std::string("(unset)");
  };
  auto boolean = [](bool value) { return std::string(value ? "true" : "false"); };
  auto number = [](int64_t value) { return std::to_string(value); };

  const Setting<std::optional<bool>>& enabled = config.polling_enabled;
  line("background.job_status_polling.enabled",
       enabled.value ? boolean(*enabled.value) : std::string("auto"), enabled.source);
  line("background.job_status_polling.interval_seconds",
       number(config.polling_interval_seconds.value), config.polling_interval_seconds.source);
  line("background.queue_processing.enabled", boolean(config.queue_processing_enabled.value),
       config.queue_processing_enabled.source);
  line("background.queue_processing.interval_seconds",
       number(config.queue_processing_interval_seconds.value),
       config.queue_processing_interval_seconds.source);
  line("database.path", config.database_path.value, config.database_path.source);

  const ReplicateConfig& r = config.replicate;
  const std::string p = "providers.replicate.";
  line(p + "api_token", secret(r.api_token.value), r.api_token.source);
  line(p + "base_url", r.base_url.value, r.base_url.source);
  line(p + "webhook_url", optional(r.webhook_url.value), r.webhook_url.source);
  line(p + "webhook_secret", secret(r.webhook_secret.value), r.webhook_secret.source);
  line(p + "webhook_require_signature", boolean(r.webhook_require_signature.value),
       r.webhook_require_signature.source);
  line(p + "webhook_timestamp_tolerance_seconds",
       number(r.webhook_timestamp_tolerance_seconds.value),
       r.webhook_timestamp_tolerance_seconds.source);
  line(p + "sync_max_jobs", number(r.sync_max_jobs.value), r.sync_max_jobs.source);
  line(p + "sync_models", List(r.sync_models.value), r.sync_models.source);
  // One line per SKU; an entry the YAML left alone is still reported as a
  // default even though the map as a whole came from the file.
  const std::map<std::string, double> defaults = DefaultHardwarePrices();
  for (const auto& [sku, price] : r.hardware_prices.value) {
    const auto it = defaults.find(sku);
    const bool is_default = it != defaults.end() && it->second == price;
    line(p + "hardware_prices." + sku, FormatPrice(price),
         is_default ? ConfigSource::kDefault : r.hardware_prices.source);
  }
  line(p + "default_hardware", r.default_hardware.value, r.default_hardware.source);
  line(p + "max_concurrent_requests", number(r.max_concurrent_requests.value),
       r.max_concurrent_requests.source);

  line("sse.max_connections_per_ip", number(config.sse_max_connections_per_ip.value),
       config.sse_max_connections_per_ip.source);
  line("sse.max_connections", number(config.sse_max_connections.value),
       config.sse_max_connections.source);
  line("sse.heartbeat_seconds", number(config.sse_heartbeat_seconds.value),
       config.sse_heartbeat_seconds.source);
  line("sse.retention_events", number(config.sse_retention_events.value),
       config.sse_retention_events.source);
  line("sse.retention_hours", number(config.sse_retention_hours.value),
       config.sse_retention_hours.source);
  line("sse.socket_path",
       config.sse_socket_path.value.empty() ? "(events.sock beside the database)"
                                            : config.sse_socket_path.value,
       config.sse_socket_path.source);
  line("inline_progress.max_age_seconds", number(config.inline_progress_max_age_seconds.value),
       config.inline_progress_max_age_seconds.source);
  line("api.max_body_bytes", number(config.api_max_body_bytes.value),
       config.api_max_body_bytes.source);
  line("api.token", secret(config.api_token.value), config.api_token.source);
  line("api.allowed_origins", List(config.api_allowed_origins.value),
       config.api_allowed_origins.source);
  line("api.max_provider_waiters",
       config.api_max_provider_waiters.value ? number(*config.api_max_provider_waiters.value)
                                             : std::string("(half the pool)"),
       config.api_max_provider_waiters.source);
  line("listen.port", number(config.listen_port.value), config.listen_port.source);
  line("listen.server_names", List(config.listen_server_names.value),
       config.listen_server_names.source);
  line("webhooks.retention_hours", number(config.webhooks_retention_hours.value),
       config.webhooks_retention_hours.source);
  line("fcgi.max_requests", number(config.fcgi_max_requests.value),
       config.fcgi_max_requests.source);
  line("fcgi.pool_size", number(config.fcgi_pool_size.value), config.fcgi_pool_size.source);
  return out;
}

}  // namespace jobpulse
