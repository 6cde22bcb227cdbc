// Unit tests for lib/config_settings.h: the table's own invariants (how
// lib/config.cc reads and describes it is config_test.cc's).
#include "lib/config_settings.h"

#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <variant>

namespace jobpulse {
namespace {

BOOST_AUTO_TEST_SUITE(config_settings)

BOOST_AUTO_TEST_CASE(keys_and_variables_are_unique_and_every_row_is_reachable) {
  std::set<std::string> keys;
  std::set<std::string> envs;
  for (const SettingSpec& spec : ConfigSettings()) {
    BOOST_TEST_CONTEXT("key " << spec.key) {
      BOOST_TEST(keys.insert(spec.key).second);
      if (spec.env) BOOST_TEST(envs.insert(spec.env).second);
      // A row nobody can set would be a setting in name only.
      BOOST_TEST((spec.in_yaml || spec.env != nullptr));
    }
  }
  BOOST_TEST(keys.count("background.job_status_polling.interval_seconds") == 1u);
  BOOST_TEST(keys.count("providers.replicate.api_token") == 1u);
  BOOST_TEST(envs.count("REPLICATE_API_TOKEN") == 1u);
}

BOOST_AUTO_TEST_CASE(integer_rows_have_a_range_and_only_optional_strings_are_secret) {
  for (const SettingSpec& spec : ConfigSettings()) {
    BOOST_TEST_CONTEXT("key " << spec.key) {
      const bool integer = std::holds_alternative<ConfigField<int>>(spec.field) ||
                           std::holds_alternative<ConfigField<int64_t>>(spec.field) ||
                           std::holds_alternative<ConfigField<std::optional<int>>>(spec.field);
      if (integer) BOOST_TEST(spec.min <= spec.max);
      if (spec.secret) {
        BOOST_TEST(std::holds_alternative<ConfigField<std::optional<std::string>>>(spec.field));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(the_secrets_are_the_tokens_and_the_webhook_secret) {
  std::set<std::string> secrets;
  for (const SettingSpec& spec : ConfigSettings()) {
    if (spec.secret) secrets.insert(spec.key);
  }
  BOOST_TEST((secrets == std::set<std::string>{"api.token", "providers.replicate.api_token",
                                               "providers.replicate.webhook_secret"}));
}

BOOST_AUTO_TEST_CASE(every_field_names_one_member) {
  for (const SettingSpec& spec : ConfigSettings()) {
    BOOST_TEST_CONTEXT("key " << spec.key) {
      std::visit(
          [&](const auto& field) {
            BOOST_TEST(((field.top != nullptr) != (field.replicate != nullptr)));
          },
          spec.field);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
