// libFuzzer target: the submit body (lib/submission.h, SPEC §12). The input is
// the body of POST /api/cloud/jobs/submit. The parser must either refuse it
// naming a field or return a request that keeps every documented rule; the
// API must answer 202 or 400 (never 500), and a refusal must leave the jobs
// and the queue as they were.
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/api.h"
#include "lib/submission.h"
#include "tests/fuzz/fuzz_api.h"
#include "tests/fuzz/fuzz_util.h"

namespace jobpulse {
namespace {

void CheckParsed(const SubmitRequest& r) {
  FUZZ_CHECK(r.kind == "training" || r.kind == "prediction", r.kind);
  FUZZ_CHECK(r.model.find('/') != std::string::npos, r.model);
  FUZZ_CHECK(r.priority >= kMinPriority && r.priority <= kMaxPriority, "priority");
  FUZZ_CHECK(r.input_json.size() <= kMaxSubmitInputBytes, "input size");
  FUZZ_CHECK(fuzz::IsJson(r.input_json) && r.input_json.front() == '{', "input not an object");
  if (r.kind == "training") FUZZ_CHECK(r.version && r.destination, "training target");
  if (r.kind == "prediction") FUZZ_CHECK(!r.destination, "prediction destination");
  if (r.version) FUZZ_CHECK(r.version->size() == 64, *r.version);
}

int64_t CountAll(Store& store) {
  auto jobs = store.ListJobs(JobFilter{});
  auto queue = store.ListQueue(QueueFilter{});
  FUZZ_CHECK(jobs.ok() && queue.ok(), "store read");
  return jobs->total * 1000000 + queue->total;
}

}  // namespace
}  // namespace jobpulse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace jobpulse;
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto parsed = ParseSubmitRequest(body);
  if (parsed.ok()) {
    CheckParsed(*parsed);
  } else {
    FUZZ_CHECK(parsed.status().code() == Status::Code::kInvalidArgument, "code");
    const std::string& error = parsed.status().error();
    FUZZ_CHECK(error == "invalid_field" || error == "invalid_json", error);
  }
  fuzz::FuzzApi& api = fuzz::TheFuzzApi();
  api.MaybeReset();
  const int64_t before = CountAll(api.store());
  HttpRequest request{"POST", "/api/cloud/jobs/submit", "", "", body,
                      {{"content-type", "application/json"}}};
  const HttpResponse r = api.api().Handle(request);
  fuzz::CheckApiResponse(request, r);
  FUZZ_CHECK(r.status == 202 || r.status == 400, std::to_string(r.status));
  FUZZ_CHECK((r.status == 202) == parsed.ok(), "the API and the parser disagree");
  if (r.status != 202) FUZZ_CHECK(CountAll(api.store()) == before, "a refusal changed the store");
  return 0;
}
