#include "lib/poller.h"

#include <algorithm>

#include "lib/timestamp.h"

namespace jobpulse {

PollingDecision DecidePolling(const Config& config) {
  PollingDecision d;
  d.webhook_configured = config.replicate.webhook_url.value.has_value();
  if (config.polling_enabled.value.has_value()) {
    d.enabled = *config.polling_enabled.value;
    d.source = "enterprise config";
  } else {
    d.enabled = !d.webhook_configured;
    d.source = "auto";
  }
  d.interval_seconds = config.polling_interval_seconds.value;
  d.interval_source = ConfigSourceName(config.polling_interval_seconds.source);
  return d;
}

std::string DescribePolling(const PollingDecision& d) {
  return std::string("job status polling: ") + (d.enabled ? "on" : "off") +
         " (source: " + d.source + ", interval: " + std::to_string(d.interval_seconds) +
         "s, interval_source: " + d.interval_source +
         ", webhook configured: " + (d.webhook_configured ? "yes" : "no") + ")";
}

int64_t PollBackoffMicros(int failures, int interval_seconds, std::mt19937_64& rng) {
  constexpr int64_t kCap = 600 * kMicrosPerSecond;
  const int shift = std::clamp(failures - 1, 0, 20);
  const int64_t base =
      std::min<int64_t>(kCap, int64_t{interval_seconds} * kMicrosPerSecond << shift);
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::min<int64_t>(kCap, static_cast<int64_t>(static_cast<double>(base) * jitter(rng)));
}

bool ProviderCircuit::RecordFailure(int64_t now) {
  if (++consecutive_failures_ < kFailureThreshold) return false;
  consecutive_failures_ = 0;
  open_until_ = std::max(open_until_, now + kOpenMicros);
  return true;
}

void ProviderCircuit::PauseFor(int seconds, int64_t now) {
  open_until_ = std::max(open_until_, now + int64_t{seconds} * kMicrosPerSecond);
}

}  // namespace jobpulse
