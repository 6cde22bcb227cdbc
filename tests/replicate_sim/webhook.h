// Outgoing webhook deliveries over libcurl, one blocking POST per call.
// Thread-safe once curl_global_init has run (main does it before any thread).
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_WEBHOOK_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_WEBHOOK_H_

#include <atomic>
#include <string>
#include <vector>

namespace replicate_sim {

struct DeliveryResult {
  long status = 0;    // receiver's HTTP status; 0 when no response arrived
  std::string body;   // receiver's body, capped at 64 KiB
  std::string error;  // curl's message when status is 0
};

// POSTs `body` to `url` with the given "Name: value" headers. Redirects are not
// followed, as Replicate does not follow them (replicate.md §4). When `cancel`
// is given and becomes true, the transfer is abandoned within about a second
// (curl's progress callback), so a shutdown never waits out a silent peer.
DeliveryResult PostJson(const std::string& url, const std::vector<std::string>& headers,
                        const std::string& body, long timeout_ms,
                        const std::atomic<bool>* cancel = nullptr);

// True for http(s) URLs whose host is 127.0.0.1, localhost or [::1]: the only
// places the simulator's background sender POSTs to, so a test run can never
// deliver to the outside world.
bool IsLoopbackUrl(const std::string& url);

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_WEBHOOK_H_
