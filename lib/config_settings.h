// The table of settings (SPEC §2) that lib/config.cc reads and describes: one
// row per setting names its dotted YAML key, its environment variable, the
// Config field it fills and what the value must be. LoadConfig's YAML pass,
// its environment pass, DescribeConfig and DescribeConfigForShell all walk this
// one table in its order, so adding a setting is a row here plus the field in
// lib/config.h.
//
// The kind of a setting is the type of its field:
//   int, int64_t          a decimal integer within [min, max]
//   std::optional<int>    the same, or unset (described as `unset_text`)
//   bool                  true/false, yes/no, on/off
//   std::optional<bool>   the same, or unset; "auto" also means unset
//   std::optional<double> a finite number >= 0, or unset
//   std::string           a non-empty string; `check` and `normalise` apply
//   std::optional<std::string>  the same, "" meaning unset
//   std::vector<std::string>    a YAML list of strings, each passing `check`
//   std::map<std::string, double>  SKU -> $/s, merged over the defaults
// An environment variable's text goes through the same reading and checks as
// a YAML scalar with that text (it is not parsed as YAML), so the messages
// differ only in their prefix ("VAR: " instead of "file:line: key k: ");
// an empty variable counts as unset.
//
// Thread-safety: the table is immutable.
#ifndef JOBPULSE_LIB_CONFIG_SETTINGS_H_
#define JOBPULSE_LIB_CONFIG_SETTINGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lib/config.h"

namespace jobpulse {

// Where a setting lives: a member of Config or of Config::replicate.
template <typename T>
struct ConfigField {
  Setting<T> Config::*top = nullptr;
  Setting<T> ReplicateConfig::*replicate = nullptr;

  Setting<T>& Of(Config& config) const {
    return top != nullptr ? config.*top : config.replicate.*replicate;
  }
  const Setting<T>& Of(const Config& config) const {
    return top != nullptr ? config.*top : config.replicate.*replicate;
  }
};

using ConfigFieldRef =
    std::variant<ConfigField<int>, ConfigField<int64_t>, ConfigField<std::optional<int>>,
                 ConfigField<bool>, ConfigField<std::optional<bool>>,
                 ConfigField<std::optional<double>>, ConfigField<std::string>,
                 ConfigField<std::optional<std::string>>, ConfigField<std::vector<std::string>>,
                 ConfigField<std::map<std::string, double>>>;

// "" when the text is acceptable, else what is wrong ("must be ..."). A check
// of a secret never quotes the text.
using TextCheck = std::string (*)(const std::string& text);

struct SettingSpec {
  const char* key;            // dotted YAML key, also the name DescribeConfig shows
  bool in_yaml = true;        // false: only the environment sets it (fcgi.pool_size)
  const char* env = nullptr;  // the environment variable, if any
  ConfigFieldRef field;
  int64_t min = 0;  // integers: the accepted range
  int64_t max = 0;
  TextCheck check = nullptr;  // strings, and each item of a list
  // Strings: the value stored, from the text `check` accepted (e.g. without
  // trailing slashes).
  std::string (*normalise)(std::string) = nullptr;
  // Optional strings only: never shown, only "****"/"(unset)" (DescribeConfig)
  // or "set"/"unset" (DescribeConfigForShell).
  bool secret = false;
  // Optional strings: what the descriptions show instead of the text (a URL
  // with its password masked).
  std::string (*shown)(std::string_view text) = nullptr;
  // What DescribeConfig shows for an unset optional or an empty string.
  const char* unset_text = "(unset)";
  const char* list_of = "strings";  // lists: "must be a list of <list_of>, got ..."
  const char* item = "a string";    // lists: "must be <item>, got ..." for a non-scalar item
  // Checked after the setting is read (from the YAML or the environment),
  // against the whole configuration read so far: "" when consistent.
  std::string (*relation)(const Config& config) = nullptr;
};

// The file the YAML layer is read from (lib/config.h says where it is looked for).
inline constexpr char kEnterpriseConfigFileName[] = "simpletuner-enterprise.yaml";

// Every setting, in the order they are read and described.
std::span<const SettingSpec> ConfigSettings();

// A value echoed in an error message: quoted, escaped, at most 64 characters.
std::string QuoteConfigValue(std::string_view text);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_CONFIG_SETTINGS_H_
