// lib/replicate_run.h: Replicate's run objects and list pages as observations,
// with the shapes real traffic holds (timestamps of any precision, null and odd
// fields, outputs of every type), and Replicate's statuses as local ones.
#include <boost/test/unit_test.hpp>
// (keep the Boost header first)
#include <optional>
#include <string>

#include "lib/replicate_run.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

std::string Show(const std::optional<JobStatus>& s) { return s ? JobStatusName(*s) : "null"; }
std::string Show(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "null"; }

BOOST_AUTO_TEST_SUITE(replicate_run)

BOOST_AUTO_TEST_CASE(replicate_statuses_map_to_local_statuses) {
  const struct {
    const char* provider;
    const char* local;
  } cases[] = {
      {"starting", "queued"}, {"processing", "running"}, {"succeeded", "completed"},
      {"failed", "failed"},   {"canceled", "cancelled"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("provider status " << c.provider) {
      const MappedStatus m = MapReplicateStatus(c.provider);
      BOOST_TEST(Show(m.status) == c.local);
      BOOST_TEST(Show(m.error_message) == "null");
    }
  }
}

BOOST_AUTO_TEST_CASE(aborted_maps_to_cancelled_with_deadline_message) {
  const MappedStatus m = MapReplicateStatus("aborted");
  BOOST_TEST(Show(m.status) == "cancelled");
  BOOST_TEST(Show(m.error_message) == "\"aborted: deadline passed before start\"");
}

BOOST_AUTO_TEST_CASE(unknown_replicate_status_maps_to_no_status) {
  for (const char* s : {"paused", "", "Succeeded", "cancelled", "queued", "running"}) {
    BOOST_TEST_CONTEXT("provider status '" << s << "'") {
      const MappedStatus m = MapReplicateStatus(s);
      BOOST_TEST(Show(m.status) == "null");
      BOOST_TEST(Show(m.error_message) == "null");
    }
  }
}

BOOST_AUTO_TEST_CASE(parses_a_full_training_object) {
  const auto obs = ParseReplicateRun(R"({
    "id": "vrsafsk7mnrgj0cf0p2ax766s4", "model": "simpletuner/advanced-trainer-h100-x2",
    "version": "abc123", "status": "succeeded", "source": "api",
    "created_at": "2023-08-16T19:33:26.678378653Z", "started_at": "2024-04-22T11:15:14.469Z",
    "completed_at": "2023-11-16T11:46:16.0649+00:00",
    "logs": "Step 10/100\n", "error": null,
    "output": {"version": "me/lora:ff", "weights": "https://example.invalid/w.tar"},
    "metrics": {"predict_time": 502.71, "total_time": 510.2}, "urls": {}})");
  BOOST_TEST_REQUIRE(obs.ok(), obs.status().ToString());
  BOOST_TEST(obs->provider == "replicate");
  BOOST_TEST(obs->external_id == "vrsafsk7mnrgj0cf0p2ax766s4");
  BOOST_TEST(*obs->provider_status == "succeeded");
  BOOST_TEST(FormatTimestamp(*obs->created_at) == "2023-08-16T19:33:26.678378Z");
  BOOST_TEST(FormatTimestamp(*obs->started_at) == "2024-04-22T11:15:14.469000Z");
  BOOST_TEST(FormatTimestamp(*obs->completed_at) == "2023-11-16T11:46:16.064900Z");
  BOOST_TEST(*obs->predict_time == 502.71);
  BOOST_TEST(*obs->logs == "Step 10/100\n");
  BOOST_TEST(!obs->error_message.has_value());
  BOOST_TEST(*obs->output_url == "https://example.invalid/w.tar");
  BOOST_TEST(obs->metadata.at("model") == "simpletuner/advanced-trainer-h100-x2");
  BOOST_TEST(obs->metadata.at("version") == "abc123");
  BOOST_TEST(obs->metadata.at("source") == "api");
  BOOST_TEST(*obs->hardware_type == "gpu-h100-2x");
}

BOOST_AUTO_TEST_CASE(tolerates_missing_null_and_odd_fields) {
  const auto obs = ParseReplicateRun(
      R"({"id":"x1","status":"aborted","created_at":"not a time","started_at":null,)"
      R"("logs":null,"metrics":{},"error":{"code":"OOM"},"output":["https://a/1.png","b"]})");
  BOOST_TEST_REQUIRE(obs.ok());
  BOOST_TEST(*obs->provider_status == "aborted");
  BOOST_TEST(!obs->created_at.has_value());
  BOOST_TEST(!obs->started_at.has_value());
  BOOST_TEST(!obs->logs.has_value());
  BOOST_TEST(!obs->predict_time.has_value());
  BOOST_TEST(*obs->error_message == R"({"code":"OOM"})");
  BOOST_TEST(*obs->output_url == "https://a/1.png");
  BOOST_TEST(!obs->hardware_type.has_value());
  BOOST_TEST(obs->metadata.empty());
}

BOOST_AUTO_TEST_CASE(rejects_non_objects_and_missing_ids) {
  for (const char* bad : {"[]", "{}", R"({"id":""})", R"({"id":7})", "{", "\"run\""}) {
    BOOST_TEST_CONTEXT(bad) {
      const auto obs = ParseReplicateRun(bad);
      BOOST_TEST(!obs.ok());
      BOOST_TEST(obs.status().error() == "provider_error");
      BOOST_TEST(static_cast<int>(obs.status().code()) ==
                 static_cast<int>(Status::Code::kUpstream));
    }
  }
}

// SPEC §3: outputs of every shape; only real URLs become output_url.
BOOST_AUTO_TEST_CASE(outputs_of_every_shape) {
  const std::string data_uri = "data:image/png;base64," + std::string(395800, 'A');
  const std::string megabyte(1024 * 1024, 'x');
  const struct {
    std::string output;
    std::string url;   // "" = none
    std::string kept;  // the stored JSON; "" = not kept (too large)
  } cases[] = {
      {R"(["\n","\n"])", "", R"(["\n","\n"])"},
      {R"("hello Alice")", "", R"("hello Alice")"},
      {"\"" + data_uri + "\"", "", ""},
      {R"("data:text/plain;base64,aGk=")", "", R"("data:text/plain;base64,aGk=")"},
      {R"({"version":"me/lora:ff","weights":"https://r.delivery/w.tar","x":"https://r.delivery/o"})",
       "https://r.delivery/w.tar",
       R"({"version":"me/lora:ff","weights":"https://r.delivery/w.tar","x":"https://r.delivery/o"})"},
      {R"({"image":"HTTPS://r.delivery/a.png","n":3})", "HTTPS://r.delivery/a.png",
       R"({"image":"HTTPS://r.delivery/a.png","n":3})"},
      {R"(["https://r.delivery/has space.png","https://r.delivery/b.png"])",
       "https://r.delivery/b.png",
       R"(["https://r.delivery/has space.png","https://r.delivery/b.png"])"},
      {R"("http://")", "", R"("http://")"},
      {R"(42.5)", "", "42.5"},
      {R"([{"url":"https://r.delivery/nested.png"}])", "",
       R"([{"url":"https://r.delivery/nested.png"}])"},
      {"\"" + megabyte + "\"", "", ""},
      {"\"https://r.delivery/" + std::string(3000, 'u') + "\"", "",
       "\"https://r.delivery/" + std::string(3000, 'u') + "\""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.output.substr(0, 60)) {
      const auto obs =
          ParseReplicateRun(R"({"id":"o1","status":"succeeded","output":)" + c.output + "}");
      BOOST_TEST_REQUIRE(obs.ok(), obs.status().ToString());
      BOOST_TEST(obs->output_url.value_or("") == c.url);
      BOOST_TEST(obs->output.value_or("") == c.kept);
      BOOST_TEST(obs->output_truncated == c.kept.empty());
    }
  }
  const auto none = ParseReplicateRun(R"({"id":"o2","status":"processing","output":null})");
  BOOST_TEST_REQUIRE(none.ok());
  BOOST_TEST(!none->output.has_value());
  BOOST_TEST(!none->output_truncated);
}

BOOST_AUTO_TEST_CASE(stored_output_is_valid_utf8_json) {
  const auto obs = ParseReplicateRun("{\"id\":\"o3\",\"output\":[\"bad \xFF byte\"]}");
  BOOST_TEST_REQUIRE(obs.ok());
  BOOST_TEST(obs->output.value_or("") == "[\"bad \xEF\xBF\xBD byte\"]");
}

BOOST_AUTO_TEST_CASE(hardware_follows_simpletuner_trainer_names) {
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-h100") == "gpu-h100");
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-h100-x4") == "gpu-h100-4x");
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-l40s") == "gpu-l40s");
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-l40s-x8") == "gpu-8x-l40s");
  BOOST_TEST(!HardwareForModel("stability-ai/sdxl").has_value());
  BOOST_TEST(!HardwareForModel("me/h100-fan-club").has_value());
}

BOOST_AUTO_TEST_CASE(a_page_keeps_its_good_runs_when_one_item_is_not_a_run) {
  const auto page = ParseReplicatePage(
      R"({"next":"https://api.replicate.com/v1/predictions?cursor=abc","results":[)"
      R"({"id":"a1","status":"processing"},7,{"status":"succeeded"},{"id":"b2"}]})");
  BOOST_TEST_REQUIRE(page.ok(), page.status().ToString());
  BOOST_TEST_REQUIRE(page->runs.size() == 4u);
  BOOST_TEST(page->runs[0].external_id == "a1");
  BOOST_TEST(page->runs[1].external_id == "");
  BOOST_TEST(page->runs[2].external_id == "");
  BOOST_TEST(page->runs[3].external_id == "b2");
  BOOST_TEST(page->next.value_or("") == "https://api.replicate.com/v1/predictions?cursor=abc");

  const auto last = ParseReplicatePage(R"({"next":null,"results":[]})");
  BOOST_TEST_REQUIRE(last.ok());
  BOOST_TEST(!last->next.has_value());
  for (const char* bad : {"[]", R"({"results":{}})", "{", R"({"next":"x"})"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!ParseReplicatePage(bad).ok()); }
  }
}

// Found by tests/fuzz/webhook_fuzz: invalid UTF-8 in an output's member name
// was stored as it came, so the job's JSON was not valid UTF-8.
BOOST_AUTO_TEST_CASE(output_member_names_are_kept_valid_utf8) {
  const auto run =
      ParseReplicateRun("{\"id\":\"r1\",\"output\":{\"\xffweights\":\"x\",\"caf\xc3\xa9\":1}}");
  BOOST_TEST_REQUIRE(run.ok(), run.status().ToString());
  BOOST_TEST(run->output.value_or("") == "{\"\xEF\xBF\xBDweights\":\"x\",\"caf\xc3\xa9\":1}");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
