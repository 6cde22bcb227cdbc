// Unit tests for lib/job.h: the status model (SPEC §4: names, rank, terminal)
// and the SPEC §3 JSON shape of one job, including duration_seconds and the
// running cost estimate that are computed from `now` at output time.
#include "lib/job.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/config.h"
#include "lib/cost.h"
#include "lib/progress.h"

namespace jobpulse {
namespace {

constexpr int64_t kSecond = 1000000;
// 2026-11-28T10:00:00Z.
constexpr int64_t kBase = int64_t{1795860000} * kSecond;
constexpr int64_t kNow = kBase + 3600 * kSecond;

PriceTable DefaultPrices() {
  PriceTable prices;
  prices.per_second = DefaultHardwarePrices();
  prices.default_sku = "gpu-l40s";
  return prices;
}

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(json.c_str());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError(), "not JSON: " << json);
  BOOST_REQUIRE(doc.IsObject());
  return doc;
}

std::vector<std::string> Keys(const rapidjson::Value& object) {
  std::vector<std::string> keys;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    keys.emplace_back(it->name.GetString(), it->name.GetStringLength());
  }
  return keys;
}

std::string Str(const rapidjson::Value& object, const char* key) {
  BOOST_REQUIRE_MESSAGE(object.HasMember(key), "missing key " << key);
  BOOST_REQUIRE_MESSAGE(object[key].IsString(), key << " is not a string");
  return std::string(object[key].GetString(), object[key].GetStringLength());
}

double Num(const rapidjson::Value& object, const char* key) {
  BOOST_REQUIRE_MESSAGE(object.HasMember(key), "missing key " << key);
  BOOST_REQUIRE_MESSAGE(object[key].IsNumber(), key << " is not a number");
  return object[key].GetDouble();
}

bool IsNull(const rapidjson::Value& object, const char* key) {
  BOOST_REQUIRE_MESSAGE(object.HasMember(key), "missing key " << key);
  return object[key].IsNull();
}

// The shortest round-trip form, so comparing the strings compares the doubles exactly.
std::string Show(const std::optional<double>& v) {
  if (!v) return "nullopt";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, *v);
  return std::string(buf, res.ptr);
}

// A finished SPEC §3 job with every field set.
Job CompletedJob() {
  Job job;
  job.job_id = "j_01";
  job.job_type = "cloud";
  job.provider = "replicate";
  job.external_id = "vrsafsk7mnrgj0cf0p2ax766s4";
  job.status = JobStatus::kCompleted;
  job.config_name = "flux-lora";
  job.created_at = kBase + 123456;
  job.started_at = kBase + 10 * kSecond + 123456;
  job.completed_at = *job.started_at + 812 * kSecond + 500000;
  job.cost_usd = 0.42;
  job.hardware_type = "gpu-h100";
  job.output_url = "https://example.invalid/out.tar";
  job.user_id = 7;
  job.metadata = {{"model", "owner/name"}, {"version", "abc"}, {"source", "api"}};
  job.progress = Progress{"Training", 100.0, "Step 5000/5000", std::nullopt, std::nullopt};
  job.logs_tail = "Step 5000/5000";
  job.updated_at = *job.completed_at + kSecond;
  return job;
}

// Running for 100 s at kNow, no final cost yet.
Job RunningJob() {
  Job job;
  job.job_id = "run-1";
  job.provider = "replicate";
  job.external_id = "ext-run-1";
  job.status = JobStatus::kRunning;
  job.created_at = kNow - 200 * kSecond;
  job.started_at = kNow - 100 * kSecond;
  job.hardware_type = "gpu-h100";
  job.metadata = {{"model", "owner/name"}};
  job.progress = DeriveRunningProgress("Step 1500/5000 - loss: 0.0234");
  job.updated_at = kNow - kSecond;
  return job;
}

BOOST_AUTO_TEST_SUITE(job)

BOOST_AUTO_TEST_CASE(status_names_round_trip) {
  const std::vector<std::pair<JobStatus, std::string>> names = {
      {JobStatus::kPending, "pending"},     {JobStatus::kUploading, "uploading"},
      {JobStatus::kQueued, "queued"},       {JobStatus::kRunning, "running"},
      {JobStatus::kCompleted, "completed"}, {JobStatus::kFailed, "failed"},
      {JobStatus::kCancelled, "cancelled"},
  };
  for (const auto& [status, name] : names) {
    BOOST_TEST_CONTEXT("status: " << name) {
      BOOST_TEST(std::string(JobStatusName(status)) == name);
      const auto parsed = ParseJobStatus(name);
      BOOST_REQUIRE(parsed.has_value());
      BOOST_TEST((*parsed == status));
    }
  }
}

BOOST_AUTO_TEST_CASE(parse_job_status_rejects_other_spellings) {
  for (const char* name :
       {"", "Running", "RUNNING", "canceled", "succeeded", "processing", " running", "done"}) {
    BOOST_TEST_CONTEXT("name: [" << name << "]") { BOOST_TEST(!ParseJobStatus(name).has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(status_rank_order) {
  BOOST_TEST(JobStatusRank(JobStatus::kPending) == 0);
  BOOST_TEST(JobStatusRank(JobStatus::kUploading) == 1);
  BOOST_TEST(JobStatusRank(JobStatus::kQueued) == 2);
  BOOST_TEST(JobStatusRank(JobStatus::kRunning) == 3);
  BOOST_TEST(JobStatusRank(JobStatus::kCompleted) == 4);
  BOOST_TEST(JobStatusRank(JobStatus::kFailed) == 4);
  BOOST_TEST(JobStatusRank(JobStatus::kCancelled) == 4);
}

BOOST_AUTO_TEST_CASE(terminal_and_active_statuses) {
  for (const JobStatus s :
       {JobStatus::kPending, JobStatus::kUploading, JobStatus::kQueued, JobStatus::kRunning}) {
    BOOST_TEST_CONTEXT("status: " << JobStatusName(s)) {
      BOOST_TEST(!IsTerminal(s));
      BOOST_TEST(IsActive(s));
    }
  }
  for (const JobStatus s : {JobStatus::kCompleted, JobStatus::kFailed, JobStatus::kCancelled}) {
    BOOST_TEST_CONTEXT("status: " << JobStatusName(s)) {
      BOOST_TEST(IsTerminal(s));
      BOOST_TEST(!IsActive(s));
    }
  }
}

BOOST_AUTO_TEST_CASE(completed_job_exact_json) {
  const std::string json = JobToJson(CompletedJob(), DefaultPrices(), kNow);
  BOOST_TEST(json ==
             R"({"job_id":"j_01","job_type":"cloud","provider":"replicate",)"
             R"("external_id":"vrsafsk7mnrgj0cf0p2ax766s4","status":"completed",)"
             R"("config_name":"flux-lora","created_at":"2026-11-28T10:00:00.123456Z",)"
             R"("started_at":"2026-11-28T10:00:10.123456Z",)"
             R"("completed_at":"2026-11-28T10:13:42.623456Z","cost_usd":0.42,)"
             R"("hardware_type":"gpu-h100","error_message":null,)"
             R"("output_url":"https://example.invalid/out.tar","output":null,"user_id":7,)"
             R"("metadata":{"model":"owner/name","source":"api","version":"abc"},)"
             R"("is_active":false,"is_terminal":true,"duration_seconds":812.5,"stage":null,)"
             R"("progress":null,"last_log":"Step 5000/5000","rate":null,"eta_seconds":null,)"
             R"("updated_at":"2026-11-28T10:13:43.623456Z"})");
}

BOOST_AUTO_TEST_CASE(json_key_set_and_order) {
  std::vector<std::string> expected = {
      "job_id",        "job_type",      "provider",    "external_id",      "status",
      "config_name",   "created_at",    "started_at",  "completed_at",     "cost_usd",
      "hardware_type", "error_message", "output_url",  "output",           "user_id",
      "metadata",      "is_active",     "is_terminal", "duration_seconds", "stage",
      "progress",      "last_log",      "rate",        "eta_seconds",      "updated_at"};
  for (const Job& job : {CompletedJob(), RunningJob(), Job{}}) {
    BOOST_TEST_CONTEXT("job: [" << job.job_id << "]") {
      const rapidjson::Document doc = Parse(JobToJson(job, DefaultPrices(), kNow));
      BOOST_TEST(Keys(doc) == expected, boost::test_tools::per_element());
    }
  }
  // A list page never carries the output (SPEC §3).
  expected.erase(std::find(expected.begin(), expected.end(), "output"));
  const rapidjson::Document doc =
      Parse(JobToJson(CompletedJob(), DefaultPrices(), kNow, JobView::kList));
  BOOST_TEST(Keys(doc) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(duration_of_completed_job_ignores_now) {
  const Job job = CompletedJob();
  BOOST_TEST(Show(JobDurationSeconds(job, kNow)) == Show(812.5));
  BOOST_TEST(Show(JobDurationSeconds(job, kNow + 1000 * kSecond)) == Show(812.5));
  const rapidjson::Document doc = Parse(JobToJson(job, DefaultPrices(), kNow + 1000 * kSecond));
  BOOST_TEST(Num(doc, "duration_seconds") == 812.5);
}

BOOST_AUTO_TEST_CASE(duration_of_running_job_uses_now) {
  const Job job = RunningJob();
  BOOST_TEST(Show(JobDurationSeconds(job, kNow)) == Show(100.0));
  BOOST_TEST(Show(JobDurationSeconds(job, kNow + 2500000)) == Show(102.5));
  BOOST_TEST(Num(Parse(JobToJson(job, DefaultPrices(), kNow)), "duration_seconds") == 100.0);
}

BOOST_AUTO_TEST_CASE(duration_null_without_started_at) {
  Job job = RunningJob();
  job.started_at.reset();
  BOOST_TEST(Show(JobDurationSeconds(job, kNow)) == "nullopt");
  BOOST_TEST(IsNull(Parse(JobToJson(job, DefaultPrices(), kNow)), "duration_seconds"));
}

BOOST_AUTO_TEST_CASE(running_job_without_cost_gets_a_flagged_estimate) {
  const PriceTable prices = DefaultPrices();
  const Job job = RunningJob();
  const double expected = 100.0 * prices.per_second.at("gpu-h100");

  const JobCost cost = CostOf(job, prices, kNow);
  BOOST_REQUIRE(cost.usd.has_value());
  BOOST_TEST(*cost.usd == expected);
  BOOST_TEST(cost.is_estimate);

  const rapidjson::Document doc = Parse(JobToJson(job, prices, kNow));
  BOOST_TEST(Num(doc, "cost_usd") == expected);
  BOOST_TEST(Keys(doc["metadata"]) == (std::vector<std::string>{"model", "cost_is_estimate"}),
             boost::test_tools::per_element());
  BOOST_TEST(Str(doc["metadata"], "model") == "owner/name");
  BOOST_REQUIRE(doc["metadata"]["cost_is_estimate"].IsBool());
  BOOST_TEST(doc["metadata"]["cost_is_estimate"].GetBool());
  BOOST_TEST(doc["is_active"].GetBool());
  BOOST_TEST(!doc["is_terminal"].GetBool());
  BOOST_TEST(Str(doc, "status") == "running");
  BOOST_TEST(Str(doc, "stage") == "Training");
  BOOST_TEST(Num(doc, "progress") == 30.0);
  BOOST_TEST(Str(doc, "last_log") == "Step 1500/5000 - loss: 0.0234");
  BOOST_TEST(IsNull(doc, "completed_at"));
  BOOST_TEST(IsNull(doc, "user_id"));
}

BOOST_AUTO_TEST_CASE(running_estimate_uses_default_sku_without_hardware) {
  const PriceTable prices = DefaultPrices();
  Job job = RunningJob();
  job.hardware_type.reset();
  const JobCost cost = CostOf(job, prices, kNow);
  BOOST_TEST(Show(cost.usd) == Show(100.0 * prices.per_second.at("gpu-l40s")));
  BOOST_TEST(cost.is_estimate);
}

BOOST_AUTO_TEST_CASE(running_estimate_grows_with_now) {
  const PriceTable prices = DefaultPrices();
  const Job job = RunningJob();
  BOOST_TEST(Show(CostOf(job, prices, kNow + 100 * kSecond).usd) ==
             Show(200.0 * prices.per_second.at("gpu-h100")));
}

BOOST_AUTO_TEST_CASE(running_estimate_never_negative_when_start_is_ahead_of_now) {
  const PriceTable prices = DefaultPrices();
  const Job job = RunningJob();
  const JobCost cost = CostOf(job, prices, *job.started_at - 5 * kSecond);
  BOOST_TEST(Show(cost.usd) == Show(0.0));
  BOOST_TEST(cost.is_estimate);
}

BOOST_AUTO_TEST_CASE(running_job_with_final_cost_is_not_an_estimate) {
  Job job = RunningJob();
  job.cost_usd = 0.5;
  const JobCost cost = CostOf(job, DefaultPrices(), kNow);
  BOOST_TEST(Show(cost.usd) == Show(0.5));
  BOOST_TEST(!cost.is_estimate);
  const rapidjson::Document doc = Parse(JobToJson(job, DefaultPrices(), kNow));
  BOOST_TEST(Num(doc, "cost_usd") == 0.5);
  BOOST_TEST(!doc["metadata"].HasMember("cost_is_estimate"));
}

BOOST_AUTO_TEST_CASE(running_job_with_unpriced_hardware_has_no_cost_and_no_flag) {
  Job job = RunningJob();
  job.hardware_type = "gpu-unknown";
  const JobCost cost = CostOf(job, DefaultPrices(), kNow);
  BOOST_TEST(Show(cost.usd) == "nullopt");
  BOOST_TEST(!cost.is_estimate);
  const rapidjson::Document doc = Parse(JobToJson(job, DefaultPrices(), kNow));
  BOOST_TEST(IsNull(doc, "cost_usd"));
  BOOST_TEST(Keys(doc["metadata"]) == (std::vector<std::string>{"model"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(running_job_without_start_has_no_estimate) {
  Job job = RunningJob();
  job.started_at.reset();
  const JobCost cost = CostOf(job, DefaultPrices(), kNow);
  BOOST_TEST(Show(cost.usd) == "nullopt");
  BOOST_TEST(!cost.is_estimate);
}

BOOST_AUTO_TEST_CASE(non_running_job_without_cost_has_null_cost) {
  for (const JobStatus s : {JobStatus::kPending, JobStatus::kQueued, JobStatus::kCompleted,
                            JobStatus::kFailed, JobStatus::kCancelled}) {
    BOOST_TEST_CONTEXT("status: " << JobStatusName(s)) {
      Job job = RunningJob();
      job.status = s;
      const JobCost cost = CostOf(job, DefaultPrices(), kNow);
      BOOST_TEST(Show(cost.usd) == "nullopt");
      BOOST_TEST(!cost.is_estimate);
      const rapidjson::Document doc = Parse(JobToJson(job, DefaultPrices(), kNow));
      BOOST_TEST(IsNull(doc, "cost_usd"));
      BOOST_TEST(!doc["metadata"].HasMember("cost_is_estimate"));
    }
  }
}

BOOST_AUTO_TEST_CASE(non_running_job_hides_stage_and_progress_but_keeps_last_log) {
  for (const JobStatus s : {JobStatus::kPending, JobStatus::kUploading, JobStatus::kQueued,
                            JobStatus::kCompleted, JobStatus::kFailed, JobStatus::kCancelled}) {
    BOOST_TEST_CONTEXT("status: " << JobStatusName(s)) {
      Job job = RunningJob();
      job.status = s;
      const rapidjson::Document doc = Parse(JobToJson(job, DefaultPrices(), kNow));
      BOOST_TEST(IsNull(doc, "stage"));
      BOOST_TEST(IsNull(doc, "progress"));
      BOOST_TEST(Str(doc, "last_log") == "Step 1500/5000 - loss: 0.0234");
      BOOST_TEST(Str(doc, "status") == JobStatusName(s));
      BOOST_TEST(doc["is_terminal"].GetBool() == IsTerminal(s));
      BOOST_TEST(doc["is_active"].GetBool() == IsActive(s));
    }
  }
}

BOOST_AUTO_TEST_CASE(failed_job_keeps_its_error_and_cost) {
  Job job = CompletedJob();
  job.status = JobStatus::kFailed;
  job.error_message = "CUDA \"out of memory\"\nat step 3";
  job.output_url.reset();
  const rapidjson::Document doc = Parse(JobToJson(job, DefaultPrices(), kNow));
  BOOST_TEST(Str(doc, "status") == "failed");
  BOOST_TEST(Str(doc, "error_message") == "CUDA \"out of memory\"\nat step 3");
  BOOST_TEST(IsNull(doc, "output_url"));
  BOOST_TEST(Num(doc, "cost_usd") == 0.42);
}

BOOST_AUTO_TEST_CASE(default_job_renders_nulls) {
  Job job;
  job.job_id = "local-1";
  job.job_type = "local";
  const std::string json = JobToJson(job, DefaultPrices(), kNow);
  BOOST_TEST(
      json ==
      R"({"job_id":"local-1","job_type":"local","provider":null,"external_id":null,)"
      R"("status":"pending","config_name":null,"created_at":"1970-01-01T00:00:00.000000Z",)"
      R"("started_at":null,"completed_at":null,"cost_usd":null,"hardware_type":null,)"
      R"("error_message":null,"output_url":null,"output":null,"user_id":null,"metadata":{},)"
      R"("is_active":true,"is_terminal":false,"duration_seconds":null,"stage":null,)"
      R"("progress":null,"last_log":null,"rate":null,"eta_seconds":null,"updated_at":"1970-01-01T00:00:00.000000Z"})");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_strings_still_yields_valid_json) {
  Job job = RunningJob();
  job.progress.last_log = "bad \xFF byte";
  const rapidjson::Document doc = Parse(JobToJson(job, DefaultPrices(), kNow));
  BOOST_TEST(Str(doc, "last_log") == "bad \xEF\xBF\xBD byte");
}

BOOST_AUTO_TEST_CASE(detail_shows_the_output_as_json_and_flags_a_truncated_one) {
  Job job = CompletedJob();
  job.output = R"({"weights":"https://example.invalid/w.tar","n":[1,2.5,"x"]})";
  const rapidjson::Document doc = Parse(JobToJson(job, DefaultPrices(), kNow));
  BOOST_TEST_REQUIRE(doc["output"].IsObject());
  BOOST_TEST(Str(doc["output"], "weights") == "https://example.invalid/w.tar");
  BOOST_TEST(doc["output"]["n"].Size() == 3u);
  BOOST_TEST(!doc["metadata"].HasMember("output_truncated"));

  job.output.reset();
  job.output_truncated = true;
  const rapidjson::Document cut = Parse(JobToJson(job, DefaultPrices(), kNow));
  BOOST_TEST(IsNull(cut, "output"));
  BOOST_TEST(cut["metadata"]["output_truncated"].IsTrue());
}

// Sums the lengths of the provider's free text in one rendered job.
size_t ProviderTextBytes(const rapidjson::Value& job) {
  size_t total = 0;
  for (const char* key : {"config_name", "hardware_type", "error_message", "output_url"}) {
    if (job[key].IsString()) total += job[key].GetStringLength();
  }
  for (const auto& m : job["metadata"].GetObject()) {
    if (m.value.IsString()) total += m.value.GetStringLength();
  }
  return total;
}

BOOST_AUTO_TEST_CASE(a_list_page_carries_at_most_2_kib_of_provider_text_per_job) {
  Job job = CompletedJob();
  job.error_message = std::string(1024 * 1024, 'e');
  job.config_name = std::string(700, 'c');
  job.metadata["model"] = std::string(900, 'm');
  job.metadata["version"] = "\xC3\xA9" + std::string(3000, 'v');  // starts with "é"
  job.output = "\"" + std::string(60000, 'o') + "\"";
  const rapidjson::Document list = Parse(JobToJson(job, DefaultPrices(), kNow, JobView::kList));
  BOOST_TEST(ProviderTextBytes(list) <= kListProviderTextBytes);
  BOOST_TEST(Str(list, "output_url") == "https://example.invalid/out.tar");  // whole, it fits
  BOOST_TEST(Str(list, "config_name") == std::string(700, 'c'));
  BOOST_TEST(!list.HasMember("output"));
  // The detail is whole.
  const rapidjson::Document detail = Parse(JobToJson(job, DefaultPrices(), kNow));
  BOOST_TEST(Str(detail, "error_message").size() == 1024u * 1024u);
  BOOST_TEST(detail["output"].GetStringLength() == 60000u);
}

BOOST_AUTO_TEST_CASE(a_list_page_cuts_text_at_a_code_point_and_drops_a_url_that_does_not_fit) {
  Job job = CompletedJob();
  job.output_url = "https://example.invalid/" + std::string(2100, 'u');
  job.config_name.reset();
  job.metadata.clear();
  job.hardware_type.reset();
  // The cut at 2045 bytes would fall inside the first "é".
  job.error_message = std::string(2044, 'a') + "\xC3\xA9\xC3\xA9zzzz";
  const rapidjson::Document list = Parse(JobToJson(job, DefaultPrices(), kNow, JobView::kList));
  BOOST_TEST(IsNull(list, "output_url"));
  BOOST_TEST(Str(list, "error_message") == std::string(2044, 'a') + "...");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
