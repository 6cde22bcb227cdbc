// The poller's policy: the enablement rules of SPEC §6, backoff and the circuit.
#include <boost/test/unit_test.hpp>
// (keep the Boost header first)
#include <random>

#include "lib/config.h"
#include "lib/poller.h"

namespace jobpulse {
namespace {

Config ConfigWith(std::optional<bool> enabled, std::optional<std::string> webhook_url,
                  int interval = 30, ConfigSource interval_source = ConfigSource::kDefault) {
  Config c;
  if (enabled) {
    c.polling_enabled.value = enabled;
    c.polling_enabled.source = ConfigSource::kEnterpriseConfig;
  }
  if (webhook_url) c.replicate.webhook_url.value = webhook_url;
  c.polling_interval_seconds.value = interval;
  c.polling_interval_seconds.source = interval_source;
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(poller)

BOOST_AUTO_TEST_CASE(polling_is_on_by_default_and_off_with_a_webhook) {
  PollingDecision d = DecidePolling(ConfigWith(std::nullopt, std::nullopt));
  BOOST_TEST(d.enabled);
  BOOST_TEST(d.source == "auto");
  BOOST_TEST(d.interval_seconds == 30);
  BOOST_TEST(d.interval_source == "default");
  BOOST_TEST(!d.webhook_configured);
  d = DecidePolling(ConfigWith(std::nullopt, "https://example.invalid/hook"));
  BOOST_TEST(!d.enabled);
  BOOST_TEST(d.source == "auto");
  BOOST_TEST(d.webhook_configured);
}

BOOST_AUTO_TEST_CASE(the_enterprise_config_decides_when_it_says_so) {
  PollingDecision d = DecidePolling(ConfigWith(true, "https://example.invalid/hook"));
  BOOST_TEST(d.enabled);
  BOOST_TEST(d.source == "enterprise config");
  d = DecidePolling(ConfigWith(false, std::nullopt, 12, ConfigSource::kEnv));
  BOOST_TEST(!d.enabled);
  BOOST_TEST(d.source == "enterprise config");
  BOOST_TEST(d.interval_seconds == 12);
  BOOST_TEST(d.interval_source == "env");
}

BOOST_AUTO_TEST_CASE(the_startup_line_names_every_reason) {
  BOOST_TEST(DescribePolling(DecidePolling(ConfigWith(std::nullopt, std::nullopt))) ==
             "job status polling: on (source: auto, interval: 30s, interval_source: default, "
             "webhook configured: no)");
  BOOST_TEST(DescribePolling(DecidePolling(
                 ConfigWith(false, "https://x.invalid", 45, ConfigSource::kEnterpriseConfig))) ==
             "job status polling: off (source: enterprise config, interval: 45s, "
             "interval_source: enterprise config, webhook configured: yes)");
}

BOOST_AUTO_TEST_CASE(backoff_doubles_with_jitter_and_stops_at_ten_minutes) {
  std::mt19937_64 rng(7);
  for (int failures = 1; failures <= 6; ++failures) {
    const double base = 10e6 * (1 << (failures - 1));
    for (int i = 0; i < 50; ++i) {
      const int64_t b = PollBackoffMicros(failures, 10, rng);
      BOOST_TEST(b >= static_cast<int64_t>(base * 0.8));
      BOOST_TEST(b <= static_cast<int64_t>(base * 1.2));
    }
  }
  for (int failures : {7, 10, 30, 1000}) {
    BOOST_TEST(PollBackoffMicros(failures, 10, rng) <= 600LL * 1000000);
    BOOST_TEST(PollBackoffMicros(failures, 10, rng) >= 480LL * 1000000);
  }
}

BOOST_AUTO_TEST_CASE(five_failures_open_the_circuit_for_thirty_seconds) {
  ProviderCircuit circuit;
  const int64_t t = 1000000000;
  for (int i = 0; i < 4; ++i) BOOST_TEST(!circuit.RecordFailure(t));
  BOOST_TEST(circuit.AllowsCalls(t));
  BOOST_TEST(circuit.RecordFailure(t));
  BOOST_TEST(!circuit.AllowsCalls(t));
  BOOST_TEST(circuit.open(t + 29999999));
  BOOST_TEST(circuit.AllowsCalls(t + 30000000));
  // A success in between starts the count again.
  ProviderCircuit other;
  for (int i = 0; i < 4; ++i) other.RecordFailure(t);
  other.RecordSuccess();
  for (int i = 0; i < 4; ++i) BOOST_TEST(!other.RecordFailure(t));
  BOOST_TEST(other.AllowsCalls(t));
}

BOOST_AUTO_TEST_CASE(a_429_pauses_until_its_retry_after) {
  ProviderCircuit circuit;
  const int64_t t = 5000000;
  circuit.PauseFor(5, t);
  BOOST_TEST(!circuit.AllowsCalls(t + 4999999));
  BOOST_TEST(circuit.AllowsCalls(t + 5000000));
  // A shorter pause never shortens a longer one.
  circuit.PauseFor(60, t);
  circuit.PauseFor(1, t);
  BOOST_TEST(!circuit.AllowsCalls(t + 59000000));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
