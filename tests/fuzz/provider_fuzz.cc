// libFuzzer target: what the provider sends back (lib/replicate_run.h,
// lib/replicate_client.h). Input: a flags byte, then up to three fields
// separated by 0x1E (a Retry-After header, a base URL, a `next` link) and the
// body; with fewer separators the rest is the body. A seed is "\0" + a
// Replicate list page or run. The body is parsed as a page and as a run,
// mapped to a Status as an error answer of the status code the flags pick,
// and read for rate-limit hints; the fields go through ResolveNextPage and
// ParseRetryAfter.
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/http_client.h"
#include "lib/job.h"
#include "lib/json_limits.h"
#include "lib/replicate_client.h"
#include "lib/replicate_run.h"
#include "tests/fuzz/fuzz_util.h"

namespace jobpulse {
namespace {

using fuzz::IsJson;

constexpr const char* kBase = "https://api.replicate.com/v1";

void CheckObservation(const Observation& obs) {
  FUZZ_CHECK(obs.provider == "replicate", obs.provider);
  if (obs.output) {
    FUZZ_CHECK(obs.output->size() <= kMaxOutputBytes, "output too large");
    FUZZ_CHECK(IsJson(*obs.output), *obs.output);
  }
  if (obs.output_url) {
    FUZZ_CHECK(obs.output_url->size() <= kListProviderTextBytes, *obs.output_url);
    for (const char c : *obs.output_url) FUZZ_CHECK(c > 0x20 && c < 0x7f, *obs.output_url);
  }
  if (obs.predict_time) {
    // Any JSON number; NaN cannot be written in JSON.
    FUZZ_CHECK(*obs.predict_time == *obs.predict_time, "NaN predict_time");
  }
}

void CheckBody(const std::string& body) {
  auto page = ParseReplicatePage(body);
  if (page.ok()) {
    FUZZ_CHECK(JsonDepthWithin(body), "a page over the depth limit parsed");
    for (const Observation& obs : page->runs) CheckObservation(obs);
    if (page->next) FUZZ_CHECK(!page->next->empty(), "an empty next");
  } else {
    FUZZ_CHECK(page.status().error() == "provider_error", page.status().ToString());
  }
  auto run = ParseReplicateRun(body);
  if (run.ok()) {
    FUZZ_CHECK(!run->external_id.empty(), "a run without an id");
    CheckObservation(*run);
  } else {
    FUZZ_CHECK(run.status().error() == "provider_error", run.status().ToString());
  }
}

void CheckAnswer(uint8_t flags, const std::string& retry_after, const std::string& body) {
  static const long kCodes[] = {200, 201, 204, 400, 401, 403, 404, 409,
                                422, 429, 429, 429, 500, 502, 503, 302};
  OutboundResponse response;
  response.status = kCodes[flags & 15];
  response.body = body;
  if (flags & 16) response.headers.emplace_back("retry-after", retry_after);
  const Status s = ReplicateStatusFor(response, "list predictions");
  if (response.status >= 200 && response.status < 300) {
    FUZZ_CHECK(s.ok(), s.ToString());
    return;
  }
  FUZZ_CHECK(!s.ok(), "an error answer is ok");
  if (response.status == 429) {
    FUZZ_CHECK(s.code() == Status::Code::kRateLimited, s.ToString());
    FUZZ_CHECK(s.retry_after_seconds() >= 1, std::to_string(s.retry_after_seconds()));
  }
  // The detail is cut: the message stays short whatever the body.
  FUZZ_CHECK(s.message().size() <= 400, s.message());
}

bool HasSpaceOrControl(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

void CheckLinks(const std::string& base, const std::string& next) {
  for (const std::string& b : {std::string(kBase), base}) {
    const std::string current = b + "/predictions?cursor=abc";
    const auto url = ResolveNextPage(b, current, next);
    if (!url) continue;
    FUZZ_CHECK(SameOrigin(*url, b), "next page " + *url + " leaves " + b);
    // (The base URL is configuration, checked when it is loaded.)
    if (!HasSpaceOrControl(b)) FUZZ_CHECK(!HasSpaceOrControl(*url), *url);
    FUZZ_CHECK(url->find('#') == std::string::npos, "a fragment was kept: " + *url);
    FUZZ_CHECK(!next.empty(), "a next page without a link");
  }
  SameOrigin(next, base);
  SameOrigin(base, next);
}

void CheckRetryAfter(std::string_view text) {
  if (const auto s = RetryAfterFromText(text)) {
    FUZZ_CHECK(*s >= 0 && *s <= 999999999, std::to_string(*s));
  }
  for (const int64_t now : {int64_t{0}, int64_t{1795860000}, int64_t{1} << 40}) {
    if (const auto s = ParseRetryAfter(text, now)) FUZZ_CHECK(*s >= 0, std::to_string(*s));
  }
}

}  // namespace
}  // namespace jobpulse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> fields;
  while (fields.size() < 3) {
    const size_t sep = rest.find('\x1e');
    if (sep == std::string_view::npos) break;
    fields.emplace_back(rest.substr(0, sep));
    rest.remove_prefix(sep + 1);
  }
  fields.resize(3);
  const std::string body(rest);
  jobpulse::CheckBody(body);
  jobpulse::CheckAnswer(flags, fields[0], body);
  jobpulse::CheckLinks(fields[1].empty() ? jobpulse::kBase : fields[1],
                       fields[2].empty() ? body.substr(0, 2048) : fields[2]);
  jobpulse::CheckRetryAfter(fields[0]);
  jobpulse::CheckRetryAfter(body);
  return 0;
}
