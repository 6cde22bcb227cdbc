// Configuration loading (SPEC §2). Three layers applied in order, each recording
// its source: the defaults in config.h, the enterprise YAML, the environment.
// Both passes (here) and both descriptions (config_describe.cc) walk the
// settings table of lib/config_settings.h; what a value must be is decided by its field's type
// and its row. Every check runs where the value is read, so an error can still
// name the file line or the variable that produced it; the first error wins
// (the YAML before the environment, each in table order).
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
#include <type_traits>
#include <utility>

#include "lib/config_settings.h"

namespace jobpulse {
namespace {

namespace fs = std::filesystem;

Status ConfigError(std::string message) {
  return Status::Error(Status::Code::kInvalidArgument, "invalid_config", std::move(message));
}

std::string Quote(std::string_view text) { return QuoteConfigValue(text); }

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

// A value's place: in the file, or an environment variable (then `node` is a
// scalar holding the variable's text).
struct Field {
  YAML::Node node;            // null when absent
  std::string key;            // dotted path
  int line = 1;               // 1-based
  const char* env = nullptr;  // the variable, when the value comes from one
};

// Reads the settings of the table into a Config, from the YAML document or
// from the environment. Errors are sticky: once one is recorded the remaining
// reads do nothing, so a pass walks the table without checking after each row.
class SettingReader {
 public:
  explicit SettingReader(std::string path) : path_(std::move(path)) {}

  Status ReadYaml(const YAML::Node& root, Config* config) {
    if (!Present(root)) return Status::Ok();  // empty or comments only
    if (!root.IsMap()) {
      return ConfigError(path_ + ":" + std::to_string(LineOf(root, 1)) +
                         ": the top level must be a map, got " + Describe(root));
    }
    source_ = ConfigSource::kEnterpriseConfig;
    const Field top{root, "", LineOf(root, 1)};
    for (const SettingSpec& spec : ConfigSettings()) {
      if (spec.in_yaml) ReadRow(spec, Lookup(top, spec.key), config);
    }
    return error_;
  }

  // An empty variable counts as unset.
  Status ReadEnv(const EnvLookup& env, Config* config) {
    source_ = ConfigSource::kEnv;
    for (const SettingSpec& spec : ConfigSettings()) {
      if (spec.env == nullptr || !env) continue;
      const std::optional<std::string> text = env(spec.env);
      if (!text || text->empty()) continue;
      ReadRow(spec, Field{YAML::Node(*text), spec.key, 1, spec.env}, config);
    }
    return error_;
  }

 private:
  void ReadRow(const SettingSpec& spec, const Field& field, Config* config) {
    if (!error_.ok() || !Present(field.node)) return;
    std::visit([&](const auto& ref) { Read(spec, field, &ref.Of(*config)); }, spec.field);
    if (error_.ok() && spec.relation != nullptr) Check(field, spec.relation(*config));
  }

  void Fail(const Field& field, const std::string& problem) {
    if (!error_.ok()) return;
    if (field.env != nullptr) {
      error_ = ConfigError(std::string(field.env) + ": " + problem);
      return;
    }
    error_ = ConfigError(path_ + ":" + std::to_string(field.line) + ": key " + field.key + ": " +
                         problem);
  }

  void Check(const Field& field, const std::string& problem) {
    if (!problem.empty()) Fail(field, problem);
  }

  Field Child(const Field& parent, std::string_view name) const {
    const std::string key(name);
    Field child{YAML::Node(), parent.key.empty() ? key : parent.key + "." + key, parent.line};
    if (parent.node.IsMap()) {
      const YAML::Node& map = parent.node;  // const: lookups must not insert
      const YAML::Node value = map[key];
      if (value.IsDefined()) child.node = value;
    }
    child.line = LineOf(child.node, parent.line);
    return child;
  }

  Field Section(const Field& parent, std::string_view name) {
    Field section = Child(parent, name);
    if (Present(section.node) && !section.node.IsMap()) {
      Fail(section, "must be a map, got " + Describe(section.node));
      section.node = YAML::Node();
    }
    return section;
  }

  // The field at a dotted key; a section on the way that is not a map is an
  // error. Recursive because assigning to a bound YAML::Node would overwrite
  // the document's node rather than rebind it.
  Field Lookup(const Field& parent, std::string_view key) {
    const size_t dot = key.find('.');
    if (dot == std::string_view::npos) return Child(parent, key);
    return Lookup(Section(parent, key.substr(0, dot)), key.substr(dot + 1));
  }

  template <typename T>
  void Read(const SettingSpec& spec, const Field& field, Setting<T>* out) {
    static_assert(std::is_same_v<T, int> || std::is_same_v<T, int64_t>);
    std::optional<int64_t> value;
    if (field.node.IsScalar()) value = ParseInteger(field.node.Scalar());
    if (!value || *value < spec.min || *value > spec.max) {
      return Fail(field, IntProblem(spec.min, spec.max, Describe(field.node)));
    }
    *out = {static_cast<T>(*value), source_};
  }

  void Read(const SettingSpec& spec, const Field& field, Setting<std::optional<int>>* out) {
    Setting<int> value;
    Read(spec, field, &value);
    if (error_.ok()) *out = {value.value, source_};
  }

  void Read(const SettingSpec&, const Field& field, Setting<std::optional<double>>* out) {
    std::optional<double> value;
    if (field.node.IsScalar()) value = ParsePrice(field.node.Scalar());
    if (!value) return Fail(field, "must be a finite number >= 0, got " + Describe(field.node));
    *out = {*value, source_};
  }

  // yaml-cpp's bool conversion accepts true/false, yes/no, on/off (and y/n).
  void Read(const SettingSpec&, const Field& field, Setting<bool>* out) {
    bool value = false;
    if (!field.node.IsScalar() || !YAML::convert<bool>::decode(field.node, value)) {
      return Fail(field, "must be true or false, got " + Describe(field.node));
    }
    *out = {value, source_};
  }

  // "auto" is accepted as an explicit spelling of the unset default (§6).
  void Read(const SettingSpec& spec, const Field& field, Setting<std::optional<bool>>* out) {
    if (field.node.IsScalar() && field.node.Scalar() == "auto") return;
    Setting<bool> value;
    Read(spec, field, &value);
    if (error_.ok()) *out = {value.value, source_};
  }

  // The text of a string setting, checked; nullopt after a failure.
  std::optional<std::string> Text(const SettingSpec& spec, const Field& field) {
    if (!field.node.IsScalar()) {
      Fail(field, "must be a string, got " + Describe(field.node));
      return std::nullopt;
    }
    const std::string& text = field.node.Scalar();
    if (spec.check != nullptr) Check(field, spec.check(text));
    if (!error_.ok()) return std::nullopt;
    return spec.normalise != nullptr ? spec.normalise(text) : text;
  }

  void Read(const SettingSpec& spec, const Field& field, Setting<std::string>* out) {
    if (field.node.IsScalar() && field.node.Scalar().empty()) {
      return Fail(field, "must not be empty");
    }
    if (auto text = Text(spec, field)) *out = {std::move(*text), source_};
  }

  // An empty string means unset, as for environment variables. Type errors
  // never echo the value: this reads the secrets too.
  void Read(const SettingSpec& spec, const Field& field, Setting<std::optional<std::string>>* out) {
    if (field.node.IsScalar() && field.node.Scalar().empty()) return;
    if (auto text = Text(spec, field)) *out = {std::move(*text), source_};
  }

  void Read(const SettingSpec& spec, const Field& field, Setting<std::vector<std::string>>* out) {
    if (!field.node.IsSequence()) {
      return Fail(field, std::string("must be a list of ") + spec.list_of + ", got " +
                             Describe(field.node));
    }
    std::vector<std::string> items;
    for (const YAML::Node& item : field.node) {
      const Field entry{item, field.key, LineOf(item, field.line), field.env};
      if (!item.IsScalar()) {
        return Fail(entry, std::string("must be ") + spec.item + ", got " + Describe(item));
      }
      if (spec.check != nullptr) Check(entry, spec.check(item.Scalar()));
      items.push_back(item.Scalar());
    }
    if (error_.ok()) *out = {std::move(items), source_};
  }

  // Merged over the defaults rather than replacing them, so listing one new
  // SKU does not silently drop the price of every other.
  void Read(const SettingSpec&, const Field& field, Setting<std::map<std::string, double>>* out) {
    if (!field.node.IsMap()) {
      return Fail(field, "must be a map of SKU to $/s, got " + Describe(field.node));
    }
    std::map<std::string, double> prices = out->value;
    for (const auto& entry : field.node) {
      const int line = LineOf(entry.first, field.line);
      if (!entry.first.IsScalar() || entry.first.Scalar().empty()) {
        return Fail({entry.first, field.key, line, field.env}, "SKU must be a non-empty string");
      }
      const std::string& sku = entry.first.Scalar();
      const Field price_field{entry.second, field.key + "." + sku, LineOf(entry.second, line),
                              field.env};
      std::optional<double> price;
      if (entry.second.IsScalar()) price = ParsePrice(entry.second.Scalar());
      if (!price) {
        return Fail(price_field, "must be a finite number >= 0, got " + Describe(entry.second));
      }
      prices[sku] = *price;
    }
    *out = {std::move(prices), source_};
  }

  std::string path_;
  ConfigSource source_ = ConfigSource::kDefault;
  Status error_;
};

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

std::optional<std::string> NonEmpty(const EnvLookup& env, const std::string& name) {
  if (!env) return std::nullopt;
  std::optional<std::string> value = env(name);
  if (value && value->empty()) return std::nullopt;
  return value;
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
  } else if (fs::path here = base / kEnterpriseConfigFileName; fs::exists(here, ec)) {
    path = here.string();
  } else if (auto dir = NonEmpty(env, "SIMPLETUNER_CONFIG_DIR")) {
    const fs::path there = base / *dir / kEnterpriseConfigFileName;
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
  SettingReader reader(where);
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    Status status = reader.ReadYaml(root, &config);
    if (!status.ok()) return status;
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return ConfigError(where + ": " + e.msg);
    return ConfigError(where + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  Status status = reader.ReadEnv(env, &config);
  if (!status.ok()) return status;
  return config;
}

}  // namespace jobpulse
