// ParseJobListQuery (lib/job_query.h): GET /api/cloud/jobs's parameters.
#include "lib/job_query.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace jobpulse {
namespace {

std::string ParameterOf(const Status& status) {
  for (const auto& [name, value] : status.details()) {
    if (name == "parameter") return value;
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(job_query)

BOOST_AUTO_TEST_CASE(no_parameters_mean_the_defaults) {
  auto q = ParseJobListQuery("");
  BOOST_TEST_REQUIRE(q.ok());
  BOOST_TEST(q->filter.statuses.empty());
  BOOST_TEST(!q->filter.provider.has_value());
  BOOST_TEST(!q->filter.job_type.has_value());
  BOOST_TEST(q->filter.limit == 50);
  BOOST_TEST(q->filter.offset == 0);
  BOOST_TEST(q->sync_active == false);
}

BOOST_AUTO_TEST_CASE(every_known_parameter_is_read) {
  auto q = ParseJobListQuery(
      "status=running,%20failed,running&provider=replicate&job_type=cloud&limit=500&offset=7&sync_"
      "active=on"
      "&_=1733000000");
  BOOST_TEST_REQUIRE(q.ok(), q.status().ToString());
  BOOST_TEST(
      (q->filter.statuses == std::vector<JobStatus>{JobStatus::kRunning, JobStatus::kFailed}));
  BOOST_TEST(q->filter.provider.value_or("") == "replicate");
  BOOST_TEST(q->filter.job_type.value_or("") == "cloud");
  BOOST_TEST(q->filter.limit == 500);
  BOOST_TEST(q->filter.offset == 7);
  BOOST_TEST(q->sync_active == true);
}

BOOST_AUTO_TEST_CASE(empty_values_mean_any) {
  auto q = ParseJobListQuery("status=&provider=&job_type=&status=,");
  BOOST_TEST_REQUIRE(q.ok());
  BOOST_TEST(q->filter.statuses.empty());
  BOOST_TEST(!q->filter.provider.has_value());
  BOOST_TEST(!q->filter.job_type.has_value());
}

// SPEC §9 `q`: 1..100 characters of text; empty means any.
BOOST_AUTO_TEST_CASE(the_search_text_is_read_and_checked) {
  auto q = ParseJobListQuery("q=Flux%20LoRA");
  BOOST_TEST_REQUIRE(q.ok(), q.status().ToString());
  BOOST_TEST(q->filter.query.value_or("") == "Flux LoRA");
  q = ParseJobListQuery("q=%E6%97%A5%E6%9C%AC");  // two code points, six bytes
  BOOST_TEST_REQUIRE(q.ok());
  BOOST_TEST(q->filter.query.value_or("") == "\xE6\x97\xA5\xE6\x9C\xAC");
  q = ParseJobListQuery("q=" + std::string(100, 'a'));
  BOOST_TEST(q.ok());
  q = ParseJobListQuery("q=");
  BOOST_TEST_REQUIRE(q.ok());
  BOOST_TEST(!q->filter.query.has_value());
  for (const std::string& bad : {"q=" + std::string(101, 'a'), std::string("q=a%00b"),
                                 std::string("q=a%0Ab"), std::string("q=%FF%FE")}) {
    BOOST_TEST_CONTEXT(bad) {
      auto rejected = ParseJobListQuery(bad);
      BOOST_TEST_REQUIRE(!rejected.ok());
      BOOST_TEST((rejected.status().code() == Status::Code::kInvalidArgument));
      BOOST_TEST(ParameterOf(rejected.status()) == "q");
      BOOST_TEST(rejected.status().message().find("expected 1 to 100 characters of text") !=
                 std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_bad_value_is_a_400_naming_its_parameter) {
  const std::pair<const char*, const char*> cases[] = {{"status=running,sleeping", "status"},
                                                       {"status=%09running", "status"},
                                                       {"job_type=remote", "job_type"},
                                                       {"limit=0", "limit"},
                                                       {"limit=501", "limit"},
                                                       {"limit=ten", "limit"},
                                                       {"offset=-1", "offset"},
                                                       {"offset=1000000000001", "offset"},
                                                       {"sync_active=maybe", "sync_active"}};
  for (const auto& [query, parameter] : cases) {
    auto q = ParseJobListQuery(query);
    BOOST_TEST(!q.ok(), query);
    BOOST_TEST((q.status().code() == Status::Code::kInvalidArgument), query);
    BOOST_TEST(q.status().error() == "invalid_parameter", query);
    BOOST_TEST(ParameterOf(q.status()) == parameter, query);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
