// libFuzzer target: the HTTP vocabulary (lib/http.h) and the API's routing.
// Input: a flags byte (its low 3 bits pick the method), then "path?query".
// The whole text also goes through each parser of lib/http.h, which must keep
// its documented promises; then Api::Handle answers the request over a small
// seeded store, always with a well-formed answer and never a 500.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/api.h"
#include "lib/http.h"
#include "lib/state_machine.h"
#include "lib/store.h"
#include "tests/fuzz/fuzz_api.h"
#include "tests/fuzz/fuzz_util.h"

namespace jobpulse {
namespace {

using fuzz::kFuzzNow;

constexpr int64_t kSecond = 1000000;

void CheckDecoding(std::string_view text) {
  for (const bool plus : {false, true}) {
    const std::string out = PercentDecode(text, plus);
    FUZZ_CHECK(out.size() <= text.size(), "PercentDecode grew");
    const bool plain = text.find('%') == std::string_view::npos &&
                       (!plus || text.find('+') == std::string_view::npos);
    if (plain) FUZZ_CHECK(out == text, "PercentDecode changed plain text");
  }
  // Segments: never empty, and exactly the pieces between slashes when
  // nothing is escaped.
  const std::vector<std::string> seg = SplitPath(text);
  for (const std::string& s : seg) FUZZ_CHECK(!s.empty(), "empty path segment");
  if (text.find('%') == std::string_view::npos) {
    std::vector<std::string> pieces;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('/', start);
      if (end == std::string_view::npos) end = text.size();
      if (end > start) pieces.emplace_back(text.substr(start, end - start));
      start = end + 1;
    }
    FUZZ_CHECK(pieces == seg, "SplitPath");
  }
}

// QueryParams against an independent reading: '&'-separated pairs, the name
// before the first '=', both decoded with '+' as space; the first value wins.
void CheckQuery(std::string_view query) {
  const QueryParams params(query);
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      pairs.emplace_back(
          PercentDecode(pair.substr(0, eq), true),
          eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), true));
    }
    start = end + 1;
  }
  for (size_t i = 0; i < pairs.size(); ++i) {
    bool first = true;
    for (size_t j = 0; j < i; ++j) first = first && pairs[j].first != pairs[i].first;
    if (!first) continue;
    const auto got = params.Get(pairs[i].first);
    FUZZ_CHECK(got && *got == pairs[i].second, "QueryParams::Get(" + pairs[i].first + ")");
  }
  // A name no pair has is absent.
  std::string absent = "absent";
  while (
      std::any_of(pairs.begin(), pairs.end(), [&](const auto& p) { return p.first == absent; })) {
    absent += "_";
  }
  FUZZ_CHECK(!params.Get(absent), "a name that is not there: " + absent);
}

void CheckNumbers(std::string_view text) {
  struct Range {
    int64_t min, max;
  };
  for (const Range r : {Range{0, 100}, Range{1, 500}, Range{-5, 5}, Range{INT64_MIN, INT64_MAX},
                        Range{0, 1000000000000}}) {
    const auto v = ParseInt(text, r.min, r.max);
    if (!v) continue;
    FUZZ_CHECK(*v >= r.min && *v <= r.max, "ParseInt out of range");
    FUZZ_CHECK(!text.empty(), "ParseInt of nothing");
    for (size_t i = 0; i < text.size(); ++i) {
      FUZZ_CHECK(std::isdigit(static_cast<unsigned char>(text[i])) || (i == 0 && text[i] == '-'),
                 "ParseInt accepted a sign game or a space");
    }
    FUZZ_CHECK(ParseInt(std::to_string(*v), r.min, r.max) == v, "ParseInt round trip");
  }
  const auto b = ParseBool(text);
  std::string lower;
  for (const char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool known = lower == "true" || lower == "false" || lower == "1" || lower == "0" ||
                     lower == "yes" || lower == "no" || lower == "on" || lower == "off";
  FUZZ_CHECK(b.has_value() == known, "ParseBool");
  if (b) FUZZ_CHECK(*b == (lower == "true" || lower == "1" || lower == "yes" || lower == "on"), "");

  for (const int64_t max : {int64_t{0}, int64_t{16} << 20, INT64_MAX}) {
    const auto len = ParseContentLength(text, max);
    if (len.ok()) {
      FUZZ_CHECK(*len >= 0 && *len <= max, "ParseContentLength out of range");
      for (const char c : text) FUZZ_CHECK(c >= '0' && c <= '9', "ParseContentLength non-digit");
    } else {
      FUZZ_CHECK(len.status().error() == "invalid_content_length" ||
                     len.status().error() == "payload_too_large",
                 len.status().ToString());
    }
  }
}

void CheckETags(std::string_view text) {
  const std::string etag = ETagFor(text);
  FUZZ_CHECK(etag.size() == 18 && etag.front() == '"' && etag.back() == '"', etag);
  FUZZ_CHECK(ETagMatches(etag, etag), "an ETag matches itself");
  FUZZ_CHECK(ETagMatches("W/" + etag, etag), "weak comparison");
  FUZZ_CHECK(ETagMatches(std::string(text) + "," + etag, etag), "in a list");
  FUZZ_CHECK(ETagMatches("*", etag), "*");
  ETagMatches(text, etag);
  ETagMatches(text, text);
}

// A few jobs for the routes to find: running with logs, succeeded, failed.
void SeedJobs(Store& store, const PriceTable& prices) {
  const struct {
    const char* id;
    const char* status;
    const char* logs;
  } jobs[] = {
      {"r8run", "processing", "Loading model\nStep 10/100 - loss: 0.1\n 45%|####| 45/100"},
      {"r8done", "succeeded", "Step 100/100\nSaving checkpoint"},
      {"r8fail", "failed", "Traceback (most recent call last):\nRuntimeError: CUDA OOM"},
  };
  int64_t t = kFuzzNow - 3600 * kSecond;
  for (const auto& j : jobs) {
    Observation obs;
    obs.provider = "replicate";
    obs.external_id = j.id;
    obs.provider_status = j.status;
    obs.created_at = t;
    obs.started_at = t + kSecond;
    obs.logs = j.logs;
    obs.fetched = true;
    obs.metadata["model"] = "simpletuner/advanced-trainer-h100";
    auto applied = store.Apply(obs, prices, kFuzzNow);
    FUZZ_CHECK(applied.ok(), applied.status().ToString());
    t += 60 * kSecond;
  }
}

void CheckRouting(uint8_t flags, std::string_view text) {
  static const char* const kMethods[] = {"GET",    "GET",  "GET", "HEAD",
                                         "DELETE", "POST", "PUT", "GET"};
  fuzz::FuzzApi& fa = fuzz::TheFuzzApi(SeedJobs);
  fa.MaybeReset();
  HttpRequest request;
  request.method = kMethods[flags & 7];
  const size_t q = text.find('?');
  request.path = std::string(text.substr(0, q));
  if (q != std::string_view::npos) request.query = std::string(text.substr(q + 1));
  if (flags & 8) request.if_none_match = "*";
  const HttpResponse r = fa.api().Handle(request);
  fuzz::CheckApiResponse(request, r);
}

}  // namespace
}  // namespace jobpulse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t q = text.find('?');
  jobpulse::CheckDecoding(text.substr(0, q));
  if (q != std::string_view::npos) jobpulse::CheckQuery(text.substr(q + 1));
  jobpulse::CheckQuery(text);
  jobpulse::CheckNumbers(text);
  jobpulse::CheckETags(text);
  jobpulse::CheckRouting(flags, text);
  return 0;
}
