// JsonWriter: compact output, escaping, and what it does with values that JSON
// cannot hold as they are (invalid UTF-8, non-finite numbers, unset optionals).
#include "lib/json_writer.h"

#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace jobpulse {
namespace {

bool IsValidJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str(), text.size());
  return !doc.HasParseError();
}

BOOST_AUTO_TEST_SUITE(json_writer)

BOOST_AUTO_TEST_CASE(objects_and_arrays_are_compact) {
  JsonWriter w;
  w.BeginObject();
  w.Key("job_id").String("abc");
  w.Key("n").Int(-42);
  w.Key("ok").Bool(true);
  w.Key("none").Null();
  w.Key("list").BeginArray().Int(1).Int(2).BeginObject().EndObject().EndArray();
  w.EndObject();
  BOOST_TEST(w.str() == R"({"job_id":"abc","n":-42,"ok":true,"none":null,"list":[1,2,{}]})");
}

BOOST_AUTO_TEST_CASE(integers_keep_all_64_bits) {
  JsonWriter w;
  w.BeginArray()
      .Int(std::numeric_limits<int64_t>::max())
      .Int(std::numeric_limits<int64_t>::min())
      .EndArray();
  BOOST_TEST(w.str() == "[9223372036854775807,-9223372036854775808]");
}

BOOST_AUTO_TEST_CASE(doubles_and_non_finite_values) {
  JsonWriter w;
  w.BeginArray()
      .Double(30.0)
      .Double(0.1)
      .Double(std::numeric_limits<double>::infinity())
      .Double(std::numeric_limits<double>::quiet_NaN())
      .Double(std::optional<double>())
      .Double(std::optional<double>(2.5))
      .EndArray();
  // JSON has no NaN or infinity: null, like an unset value.
  BOOST_TEST(w.str() == "[30.0,0.1,null,null,null,2.5]");
}

BOOST_AUTO_TEST_CASE(strings_are_escaped) {
  JsonWriter w;
  w.BeginArray().String("quote \" backslash \\ newline \n tab \t bell \x07").EndArray();
  BOOST_TEST(w.str() == R"(["quote \" backslash \\ newline \n tab \t bell \u0007"])");
  BOOST_TEST(IsValidJson(w.str()));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_replacement_characters) {
  JsonWriter w;
  w.BeginObject();
  w.Key("k\xff").String(
      "a\xff"
      "b");                           // a stray byte in a key and in a value
  w.Key("ok").String("caf\xc3\xa9");  // valid UTF-8 is kept as it is
  w.EndObject();
  BOOST_TEST(w.str() ==
             "{\"k\xEF\xBF\xBD\":\"a\xEF\xBF\xBD"
             "b\",\"ok\":\"caf\xc3\xa9\"}");
  BOOST_TEST(IsValidJson(w.str()));
}

BOOST_AUTO_TEST_CASE(unset_strings_are_null_and_raw_values_go_in_verbatim) {
  JsonWriter w;
  w.BeginObject();
  w.Key("unset").String(std::optional<std::string>());
  w.Key("set").String(std::optional<std::string>("x"));
  w.Key("raw").Raw(R"({"a":[1,2]})");
  w.EndObject();
  BOOST_TEST(w.str() == R"({"unset":null,"set":"x","raw":{"a":[1,2]}})");
}

BOOST_AUTO_TEST_CASE(str_gives_the_document_so_far) {
  JsonWriter w;
  w.BeginArray().Int(1);
  BOOST_TEST(w.str() == "[1");
  w.Int(2).EndArray();
  BOOST_TEST(w.str() == "[1,2]");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
