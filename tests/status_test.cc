// Status and Result<T>: the values errors travel in between modules.
#include "lib/status.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>
#include <vector>

namespace jobpulse {
namespace {

BOOST_AUTO_TEST_SUITE(status)

BOOST_AUTO_TEST_CASE(ok_is_the_default) {
  const Status s;
  BOOST_TEST(s.ok());
  BOOST_TEST((s.code() == Status::Code::kOk));
  BOOST_TEST(s.ToString() == "ok");
  BOOST_TEST(Status::Ok().ok());
}

BOOST_AUTO_TEST_CASE(an_error_carries_code_envelope_message_and_details) {
  Status s = Status::Error(Status::Code::kConflict, "invalid_job_state", "Job j1 is already done",
                           {{"job_id", "j1"}, {"current_state", "completed"}});
  BOOST_TEST(!s.ok());
  BOOST_TEST((s.code() == Status::Code::kConflict));
  BOOST_TEST(s.error() == "invalid_job_state");
  BOOST_TEST(s.message() == "Job j1 is already done");
  BOOST_TEST_REQUIRE(s.details().size() == 2u);
  BOOST_TEST(s.details()[1].first == "current_state");
  BOOST_TEST(s.details()[1].second == "completed");
  BOOST_TEST(s.ToString() == "invalid_job_state: Job j1 is already done");
  BOOST_TEST(s.retry_after_seconds() == 0);
  BOOST_TEST(s.set_retry_after_seconds(7).retry_after_seconds() == 7);
}

BOOST_AUTO_TEST_CASE(shorthands_name_their_envelope_codes) {
  BOOST_TEST(Status::InvalidArgument("m").error() == "invalid_request");
  BOOST_TEST((Status::InvalidArgument("m").code() == Status::Code::kInvalidArgument));
  BOOST_TEST(Status::NotFound("m").error() == "not_found");
  BOOST_TEST((Status::NotFound("m").code() == Status::Code::kNotFound));
  BOOST_TEST(Status::Internal("m").error() == "internal_error");
  BOOST_TEST((Status::Internal("m").code() == Status::Code::kInternal));
}

// The numbers are stored (provider_sync.cc's sync records): appending is the
// only change allowed.
BOOST_AUTO_TEST_CASE(code_numbers_do_not_move) {
  BOOST_TEST(static_cast<int>(Status::Code::kOk) == 0);
  BOOST_TEST(static_cast<int>(Status::Code::kBusy) == 10);
  BOOST_TEST(static_cast<int>(Status::Code::kInternal) == 11);
  BOOST_TEST(static_cast<int>(Status::Code::kForbidden) == 12);
  BOOST_TEST(static_cast<int>(Status::Code::kUnsupportedMediaType) == 13);
}

BOOST_AUTO_TEST_CASE(a_result_holds_a_value_or_an_error) {
  Result<std::string> value(std::string("hello"));
  BOOST_TEST(value.ok());
  BOOST_TEST(value.status().ok());
  BOOST_TEST(*value == "hello");
  BOOST_TEST(value->size() == 5u);
  std::string moved = std::move(value).value();
  BOOST_TEST(moved == "hello");

  Result<std::vector<int>> error(Status::NotFound("no such job"));
  BOOST_TEST(!error.ok());
  BOOST_TEST((error.status().code() == Status::Code::kNotFound));
  BOOST_TEST(error.status().message() == "no such job");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
