// DescribeConfig and DescribeConfigForShell (lib/config.h): both walk the
// settings table of lib/config_settings.h, so every setting is shown in both,
// in the table's order. No secret's text is ever shown.
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "lib/config.h"
#include "lib/config_settings.h"
#include "lib/pg_db.h"

namespace jobpulse {
namespace {

// One described value: `text` for --check-config, `shell` for the shell form.
struct Shown {
  std::string key;
  std::string text;
  std::string shell;
  ConfigSource source;
};

// The text of one value, and its shell form ("" for an unset one).
template <typename T>
std::pair<std::string, std::string> Show(const SettingSpec&, const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return {value ? "true" : "false", value ? "true" : "false"};
  } else if constexpr (std::is_same_v<T, double>) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", value);
    return {buf, buf};
  } else {
    static_assert(std::is_same_v<T, int> || std::is_same_v<T, int64_t>);
    return {std::to_string(value), std::to_string(value)};
  }
}

template <typename T>
std::pair<std::string, std::string> Show(const SettingSpec& spec, const std::optional<T>& value) {
  if (spec.secret) return {value ? "****" : "(unset)", value ? "set" : "unset"};
  if (!value) return {spec.unset_text, ""};
  if constexpr (std::is_same_v<T, std::string>) {
    if (spec.shown != nullptr) return {spec.shown(*value), spec.shown(*value)};
    return {*value, *value};
  } else {
    return Show(spec, *value);
  }
}

std::pair<std::string, std::string> Show(const SettingSpec& spec, const std::string& value) {
  if (value.empty()) return {spec.unset_text, ""};
  return {value, value};
}

// "[a, b]" for --check-config, one item a line for the shell.
std::pair<std::string, std::string> Show(const SettingSpec&,
                                         const std::vector<std::string>& items) {
  std::string text = "[";
  std::string shell;
  for (const std::string& item : items) {
    text += (text.size() > 1 ? ", " : "") + item;
    shell += (shell.empty() ? "" : "\n") + item;
  }
  return {text + "]", shell};
}

std::string FormatPrice(double price) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", price);
  return buf;
}

// One line per SKU; an entry the YAML left alone is still reported as a
// default even though the map as a whole came from the file.
void AddPrices(const SettingSpec& spec, const Setting<std::map<std::string, double>>& prices,
               std::vector<Shown>* out) {
  const std::map<std::string, double> defaults = DefaultHardwarePrices();
  for (const auto& [sku, price] : prices.value) {
    const auto it = defaults.find(sku);
    const bool is_default = it != defaults.end() && it->second == price;
    out->push_back({std::string(spec.key) + "." + sku, FormatPrice(price), FormatPrice(price),
                    is_default ? ConfigSource::kDefault : prices.source});
  }
}

std::vector<Shown> ShowAll(const Config& config) {
  std::vector<Shown> out;
  for (const SettingSpec& spec : ConfigSettings()) {
    std::visit(
        [&](const auto& ref) {
          const auto& setting = ref.Of(config);
          using T = std::decay_t<decltype(setting.value)>;
          if constexpr (std::is_same_v<T, std::map<std::string, double>>) {
            AddPrices(spec, setting, &out);
          } else {
            auto [text, shell] = Show(spec, setting.value);
            out.push_back({spec.key, std::move(text), std::move(shell), setting.source});
          }
        },
        spec.field);
  }
  return out;
}

// 'text' with every ' written as '\'' : inert under sh's eval.
std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// "cfg_" and the key with every character but letters, digits and _ as _.
std::string ShellName(const std::string& key) {
  std::string name = "cfg_";
  for (const char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    name += ok ? c : '_';
  }
  return name;
}

const char* DatabaseEngineName(const Config& config) {
  return config.database_url.value ? "postgresql" : "sqlite";
}

}  // namespace

std::string DescribeConfig(const Config& config) {
  std::string out;
  if (config.enterprise_config_path.empty()) {
    out += "enterprise config: none found (looked for $SIMPLETUNER_ENTERPRISE_CONFIG, ./";
    out += kEnterpriseConfigFileName;
    out += ", $SIMPLETUNER_CONFIG_DIR/";
    out += kEnterpriseConfigFileName;
    out += ")\n";
  } else {
    out += "enterprise config: " + config.enterprise_config_path + "\n";
  }
  out += std::string("database engine: ") + DatabaseEngineName(config) + "\n";
  for (const Shown& shown : ShowAll(config)) {
    out += shown.key + " = " + shown.text + " (" + ConfigSourceName(shown.source) + ")\n";
  }
  return out;
}

std::string DescribeConfigForShell(const Config& config) {
  std::string out = "cfg_enterprise_config=" + ShellQuote(config.enterprise_config_path) + "\n";
  out += "cfg_database_engine=" + ShellQuote(DatabaseEngineName(config)) + "\n";
  for (const Shown& shown : ShowAll(config)) {
    out += ShellName(shown.key) + "=" + ShellQuote(shown.shell) + "\n";
  }
  return out;
}

}  // namespace jobpulse
