// JSON parsing for the integration tests: a body that is not JSON fails the
// test at once, naming the body.
#ifndef JOBPULSE_TESTS_INTEGRATION_JSON_CHECK_H_
#define JOBPULSE_TESTS_INTEGRATION_JSON_CHECK_H_

#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <string>

namespace jobpulse::testing {

inline rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  BOOST_TEST_REQUIRE(!doc.HasParseError(), "not JSON: " + body);
  return doc;
}

}  // namespace jobpulse::testing

#endif  // JOBPULSE_TESTS_INTEGRATION_JSON_CHECK_H_
