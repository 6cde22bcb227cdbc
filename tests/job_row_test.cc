// lib/job_row.h: the columns, the metadata column's JSON, and a job through
// JobRowValues and back through JobFromRow unchanged (the two must agree on
// the order, which both engines rely on).
#include "lib/job_row.h"

#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <vector>

namespace jobpulse {
namespace {

// A row that is the values a sink was given, as text or NULL.
struct TextRow {
  std::vector<std::optional<std::string>> cells;
  void Add(std::string_view v) { cells.emplace_back(std::string(v)); }
  void Add(const std::optional<std::string>& v) { cells.push_back(v); }
  void Add(int64_t v) { cells.emplace_back(std::to_string(v)); }
  void Add(const std::optional<int64_t>& v) {
    cells.push_back(v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt);
  }
  void Add(const std::optional<double>& v) {
    cells.push_back(v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt);
  }
  std::string Text(int c) const { return cells[c].value_or(""); }
  std::optional<std::string> OptText(int c) const { return cells[c]; }
  int64_t Int(int c) const { return cells[c] ? std::stoll(*cells[c]) : 0; }
  std::optional<int64_t> OptInt(int c) const {
    return cells[c] ? std::optional<int64_t>(std::stoll(*cells[c])) : std::nullopt;
  }
  std::optional<double> OptReal(int c) const {
    return cells[c] ? std::optional<double>(std::stod(*cells[c])) : std::nullopt;
  }
};

BOOST_AUTO_TEST_SUITE(job_row)

BOOST_AUTO_TEST_CASE(a_job_goes_through_a_row_and_back_unchanged) {
  Job job;
  job.job_id = "j-1";
  job.provider = "replicate";
  job.external_id = "r8-1";
  job.status = JobStatus::kRunning;
  job.created_at = 1795860000000000;
  job.started_at = 1795860001000000;
  job.cost_usd = 0.5;
  job.user_id = 7;
  job.metadata = {{"model", "owner/trainer"}, {"kind", "training"}};
  job.progress.stage = "training";
  job.progress.progress = 0.25;
  job.progress.eta_seconds = 38;
  job.logs_tail = "Step 25/100";
  job.version = 3;
  job.updated_at = 1795860002000000;
  job.poll_failures = 2;
  job.output_truncated = true;
  job.not_found_count = 1;
  job.log_bytes_seen = 11;
  TextRow row;
  JobRowValues(job, row);
  BOOST_TEST(row.cells.size() == static_cast<size_t>(kJobColumnCount));
  const Job back = JobFromRow(row);
  BOOST_TEST(back.job_id == "j-1");
  BOOST_TEST(*back.external_id == "r8-1");
  BOOST_TEST(JobStatusName(back.status) == std::string("running"));
  BOOST_TEST(back.created_at == job.created_at);
  BOOST_TEST(*back.started_at == *job.started_at);
  BOOST_TEST(!back.completed_at.has_value());
  BOOST_TEST(*back.cost_usd == 0.5);
  BOOST_TEST(*back.user_id == 7);
  BOOST_TEST((back.metadata == job.metadata));
  BOOST_TEST(*back.progress.stage == "training");
  BOOST_TEST(*back.progress.eta_seconds == 38);
  BOOST_TEST(back.logs_tail == "Step 25/100");
  BOOST_TEST(back.version == 3);
  BOOST_TEST(back.poll_failures == 2);
  BOOST_TEST(back.output_truncated);
  BOOST_TEST(back.not_found_count == 1);
  BOOST_TEST(back.log_bytes_seen == 11);
}

BOOST_AUTO_TEST_CASE(list_reads_leave_the_bulky_columns_out) {
  const std::string whole = JobColumns();
  const std::string list = JobColumns(JobRead::kList);
  BOOST_TEST(whole.starts_with("job_id, job_type, provider, external_id, status"));
  BOOST_TEST(whole.find(" logs_tail,") != std::string::npos);
  BOOST_TEST(list.find("NULL AS logs_tail") != std::string::npos);
  BOOST_TEST(list.find("NULL AS output,") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(metadata_of_any_shape_reads_as_strings_only) {
  BOOST_TEST(MetadataToJson({{"a", "1"}, {"q\"", "x\ny"}}) == R"({"a":"1","q\"":"x\ny"})");
  const auto read = MetadataFromJson(R"({"a":"1","n":2,"o":{"x":"y"},"b":"two"})");
  BOOST_TEST(read.size() == 2u);
  BOOST_TEST(read.at("b") == "two");
  BOOST_TEST(MetadataFromJson("").empty());
  BOOST_TEST(MetadataFromJson("[1]").empty());
  BOOST_TEST(MetadataFromJson("{bad").empty());
  BOOST_TEST(MetadataFromJson(std::string(500, '{')).empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
