// libFuzzer target: webhook deliveries (SPEC §7). Input: a flags byte, then up
// to three fields separated by 0x1E (webhook-id, webhook-timestamp,
// webhook-signature) and the body; with fewer separators the rest is the body.
// A seed is "\0" + a Replicate run object.
//   - VerifyWebhook on the fuzzed headers and body, and a signature made by
//     SignWebhook over them always verifies;
//   - ParseReplicateRun of the body keeps its promises;
//   - POST /api/webhooks/replicate through Api::Handle, correctly signed unless
//     flags bit 0 says to use the fuzzed signature header, then the worker's
//     ApplyPendingDeliveries and reads of the resulting job.
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/api.h"
#include "lib/http.h"
#include "lib/job.h"
#include "lib/json_limits.h"
#include "lib/replicate_run.h"
#include "lib/webhook_inbox.h"
#include "lib/webhook_signature.h"
#include "tests/fuzz/fuzz_api.h"
#include "tests/fuzz/fuzz_util.h"

namespace jobpulse {
namespace {

using fuzz::CheckApiResponse;
using fuzz::IsJson;
using fuzz::kFuzzNow;
using fuzz::kFuzzWebhookSecret;

struct Input {
  uint8_t flags = 0;
  std::string id = "msg_fuzz";
  std::string timestamp = std::to_string(kFuzzNow / 1000000);
  std::optional<std::string> signature;  // fuzzed header, when given
  std::string body;
};

Input Split(std::string_view data) {
  Input in;
  if (data.empty()) return in;
  in.flags = static_cast<uint8_t>(data[0]);
  data.remove_prefix(1);
  std::vector<std::string_view> fields;
  while (fields.size() < 3) {
    const size_t sep = data.find('\x1e');
    if (sep == std::string_view::npos) break;
    fields.push_back(data.substr(0, sep));
    data.remove_prefix(sep + 1);
  }
  if (fields.size() > 0) in.id = std::string(fields[0]);
  if (fields.size() > 1) in.timestamp = std::string(fields[1]);
  if (fields.size() > 2) in.signature = std::string(fields[2]);
  in.body = std::string(data);
  return in;
}

bool Digits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

void CheckSignatures(const Input& in) {
  const auto key = DecodeWebhookSecret(kFuzzWebhookSecret);
  FUZZ_CHECK(key.has_value(), "the test secret decodes");
  const std::string sig = SignWebhook(*key, in.id, in.timestamp, in.body);
  FUZZ_CHECK(sig.rfind("v1,", 0) == 0, sig);
  const int64_t now = Digits(in.timestamp) ? std::stoll(in.timestamp) : 0;
  const WebhookCheck own = VerifyWebhook(kFuzzWebhookSecret, in.id, in.timestamp,
                                         "v0,abc " + sig + " x", in.body, now, 300);
  if (in.id.empty()) {
    FUZZ_CHECK(own == WebhookCheck::kMissingHeaders, "empty id");
  } else if (!Digits(in.timestamp)) {
    FUZZ_CHECK(own == WebhookCheck::kBadTimestamp || own == WebhookCheck::kMissingHeaders,
               WebhookCheckMessage(own));
  } else {
    FUZZ_CHECK(own == WebhookCheck::kOk, WebhookCheckMessage(own));
    // One changed body byte and it no longer verifies.
    std::string other = in.body + "x";
    FUZZ_CHECK(VerifyWebhook(kFuzzWebhookSecret, in.id, in.timestamp, sig, other, now, 300) ==
                   WebhookCheck::kBadSignature,
               "a changed body still verifies");
  }
  if (in.signature) {
    // The fuzzed header, also as the secret (it must never crash, whatever it is).
    const WebhookCheck c =
        VerifyWebhook(kFuzzWebhookSecret, in.id, in.timestamp, *in.signature, in.body, now, 300);
    FUZZ_CHECK(WebhookCheckMessage(c) != nullptr, "message");
    if (c == WebhookCheck::kOk) {
      FUZZ_CHECK(in.signature->find(sig.substr(3)) != std::string::npos, "verified a forgery");
    }
    VerifyWebhook(*in.signature, in.id, in.timestamp, *in.signature, in.body, now,
                  static_cast<int64_t>(in.flags) - 128);
    DecodeWebhookSecret(*in.signature);
  }
}

void CheckRun(const std::string& body) {
  auto run = ParseReplicateRun(body);
  if (!run.ok()) {
    FUZZ_CHECK(run.status().error() == "provider_error", run.status().ToString());
    return;
  }
  FUZZ_CHECK(JsonDepthWithin(body), "a body over the depth limit parsed");
  FUZZ_CHECK(!run->external_id.empty(), "a run without an id parsed");
  if (run->output) {
    FUZZ_CHECK(run->output->size() <= kMaxOutputBytes, "output too large");
    FUZZ_CHECK(IsJson(*run->output), *run->output);
  }
  if (run->output_url) {
    // SPEC §3: only real http(s) URLs of printable ASCII, short enough for a list.
    const std::string& url = *run->output_url;
    std::string lower;
    for (const char c : url.substr(0, 8)) lower += static_cast<char>(std::tolower(c));
    FUZZ_CHECK(lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0, url);
    FUZZ_CHECK(url.size() <= kListProviderTextBytes, url);
    for (const char c : url) FUZZ_CHECK(c > 0x20 && c < 0x7f, url);
  }
}

void CheckHandler(const Input& in) {
  fuzz::FuzzApi& fa = fuzz::TheFuzzApi();
  fa.MaybeReset();
  const auto key = DecodeWebhookSecret(kFuzzWebhookSecret);
  HttpRequest request{"POST", "/api/webhooks/replicate", "", "", in.body, {}};
  request.headers = {{"content-type", "application/json"},
                     {"webhook-id", in.id},
                     {"webhook-timestamp", in.timestamp},
                     {"webhook-signature", (in.flags & 1) && in.signature
                                               ? *in.signature
                                               : SignWebhook(*key, in.id, in.timestamp, in.body)}};
  auto before = fa.store().CountDeliveries();
  FUZZ_CHECK(before.ok(), before.status().ToString());
  const HttpResponse r = fa.api().Handle(request);
  CheckApiResponse(request, r);
  auto after = fa.store().CountDeliveries();
  FUZZ_CHECK(after.ok(), after.status().ToString());
  const int64_t stored = (after->pending + after->applied + after->rejected) -
                         (before->pending + before->applied + before->rejected);
  FUZZ_CHECK(stored == 0 || (r.status == 200 && stored == 1), "stored but " + r.body);
  if (r.status != 200) return;
  // Accepted: a JSON object within the limits whose run parses.
  FUZZ_CHECK(JsonDepthWithin(in.body), "accepted a body over the depth limit");
  FUZZ_CHECK(IsJson(in.body), "accepted a body that is not JSON");
  auto run = ParseReplicateRun(in.body);
  FUZZ_CHECK(run.ok() && Api::IsValidJobId(run->external_id), "accepted a bad run");

  // The worker's side, then what a client reads of the job.
  auto applied = ApplyPendingDeliveries(
      fa.store(), fa.prices(), [] { return kFuzzNow; }, 10);
  FUZZ_CHECK(applied.ok(), applied.status().ToString());
  auto job = fa.store().FindByExternalId("replicate", run->external_id);
  FUZZ_CHECK(job.ok(), job.status().ToString());
  if (!*job) return;
  for (const char* suffix : {"", "/inline-progress", "/logs"}) {
    const HttpRequest get{"GET", "/api/cloud/jobs/" + (*job)->job_id + suffix, "", "", "", {}};
    const HttpResponse g = fa.api().Handle(get);
    CheckApiResponse(get, g);
    FUZZ_CHECK(g.status == 200, g.body);
  }
  const HttpRequest list{"GET", "/api/cloud/jobs", "", "", "", {}};
  const HttpResponse l = fa.api().Handle(list);
  CheckApiResponse(list, l);
  FUZZ_CHECK(l.status == 200, l.body);
}

}  // namespace
}  // namespace jobpulse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const jobpulse::Input in =
      jobpulse::Split(std::string_view(reinterpret_cast<const char*>(data), size));
  jobpulse::CheckSignatures(in);
  jobpulse::CheckRun(in.body);
  jobpulse::CheckHandler(in);
  return 0;
}
