// Unit tests for lib/timestamp.h: RFC 3339 parsing of provider values (SPEC §3:
// 0-9 fractional digits, Z or an offset), the canonical microsecond format and
// the normalisation between them.
#include "lib/timestamp.h"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jobpulse {
namespace {

// 2026-11-28T10:00:00Z in microseconds since the epoch (date -u -d ... +%s).
constexpr int64_t kBase = int64_t{1795860000} * 1000000;

std::string Show(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "nullopt"; }

BOOST_AUTO_TEST_SUITE(timestamp)

BOOST_AUTO_TEST_CASE(parses_whole_seconds_with_z) {
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T10:00:00Z")) == Show(kBase));
  BOOST_TEST(Show(ParseTimestamp("1970-01-01T00:00:00Z")) == "0");
  BOOST_TEST(Show(ParseTimestamp("2000-01-01T00:00:00Z")) == Show(int64_t{946684800} * 1000000));
}

BOOST_AUTO_TEST_CASE(parses_zero_to_nine_fractional_digits) {
  const std::string digits = "123456789";
  const int64_t expected_micros[] = {0,      100000, 120000, 123000, 123400,
                                     123450, 123456, 123456, 123456, 123456};
  for (size_t n = 0; n <= 9; ++n) {
    const std::string text =
        "2026-11-28T10:00:00" + (n == 0 ? std::string() : "." + digits.substr(0, n)) + "Z";
    BOOST_TEST_CONTEXT("text: " << text) {
      BOOST_TEST(Show(ParseTimestamp(text)) == Show(kBase + expected_micros[n]));
    }
  }
}

BOOST_AUTO_TEST_CASE(named_fraction_examples) {
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T10:00:00.1Z")) == Show(kBase + 100000));
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T10:00:00.123456Z")) == Show(kBase + 123456));
  // Digits past the sixth are truncated, not rounded.
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T10:00:00.123456789Z")) == Show(kBase + 123456));
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T10:00:00.999999999Z")) == Show(kBase + 999999));
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T10:00:00.000001Z")) == Show(kBase + 1));
}

BOOST_AUTO_TEST_CASE(utc_offsets_are_converted_to_utc) {
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T10:00:00+00:00")) == Show(kBase));
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T10:00:00-00:00")) == Show(kBase));
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T12:00:00+02:00")) == Show(kBase));
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T10:00:00+02:00")) ==
             Show(kBase - int64_t{2} * 3600 * 1000000));
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T04:30:00-05:30")) == Show(kBase));
  BOOST_TEST(Show(ParseTimestamp("2026-11-28T12:00:00.5+02:00")) == Show(kBase + 500000));
  // An offset that crosses midnight moves the date.
  BOOST_TEST(Show(ParseTimestamp("2026-11-29T01:00:00+15:00")) == Show(kBase));
}

BOOST_AUTO_TEST_CASE(lowercase_t_and_z_and_space_separator) {
  BOOST_TEST(Show(ParseTimestamp("2026-11-28t10:00:00z")) == Show(kBase));
  BOOST_TEST(Show(ParseTimestamp("2026-11-28 10:00:00Z")) == Show(kBase));
  BOOST_TEST(Show(ParseTimestamp("2026-11-28 10:00:00.25+00:00")) == Show(kBase + 250000));
}

BOOST_AUTO_TEST_CASE(leap_days) {
  BOOST_TEST(Show(ParseTimestamp("2024-02-29T23:59:59Z")) == Show(int64_t{1709251199} * 1000000));
  BOOST_TEST(ParseTimestamp("2000-02-29T00:00:00Z").has_value());
  BOOST_TEST(!ParseTimestamp("2023-02-29T00:00:00Z").has_value());
  BOOST_TEST(!ParseTimestamp("1900-02-29T00:00:00Z").has_value());
}

BOOST_AUTO_TEST_CASE(rejects_malformed_and_impossible_values) {
  for (const std::string_view text : {
           "",
           "2026-11-28T10:00:00",              // no offset
           "2026-11-28T10:00:00.123",          // fraction but no offset
           "2026-11-28T10:00:00.1234567890Z",  // 10 fractional digits
           "2026-11-28T10:00:00.Z",            // a dot without digits
           "2026-02-30T00:00:00Z",             // no such day
           "2026-13-01T00:00:00Z",             // no such month
           "2026-00-10T00:00:00Z",
           "2026-11-00T00:00:00Z",
           "2026-11-28T24:00:00Z",
           "2026-11-28T10:60:00Z",
           "2026-11-28T10:00:00Zjunk",  // trailing junk
           "2026-11-28T10:00:00Z ",
           " 2026-11-28T10:00:00Z",
           "2026-11-28X10:00:00Z",
           "2026-11-28T10:00:00+0200",  // offset without a colon
           "2026-11-28T10:00:00+02",
           "2026-11-28T10:00:00+24:00",
           "2026-11-28",
           "26-11-28T10:00:00Z",
           "2026/11/28T10:00:00Z",
           "2026-11-28T1:00:00Z",
           "not a timestamp",
       }) {
    BOOST_TEST_CONTEXT("text: [" << text << "]") {
      BOOST_TEST(Show(ParseTimestamp(text)) == "nullopt");
    }
  }
}

BOOST_AUTO_TEST_CASE(format_epoch_zero) {
  BOOST_TEST(FormatTimestamp(0) == "1970-01-01T00:00:00.000000Z");
}

BOOST_AUTO_TEST_CASE(format_exact_output) {
  BOOST_TEST(FormatTimestamp(kBase) == "2026-11-28T10:00:00.000000Z");
  BOOST_TEST(FormatTimestamp(kBase + 123456) == "2026-11-28T10:00:00.123456Z");
  BOOST_TEST(FormatTimestamp(kBase + 1) == "2026-11-28T10:00:00.000001Z");
  BOOST_TEST(FormatTimestamp(int64_t{1709251199} * 1000000 + 5) == "2024-02-29T23:59:59.000005Z");
  BOOST_TEST(FormatTimestamp(int64_t{1709251200} * 1000000) == "2024-03-01T00:00:00.000000Z");
  BOOST_TEST(FormatTimestamp(int64_t{951782400} * 1000000) == "2000-02-29T00:00:00.000000Z");
}

BOOST_AUTO_TEST_CASE(format_before_the_epoch) {
  BOOST_TEST(FormatTimestamp(-1) == "1969-12-31T23:59:59.999999Z");
  BOOST_TEST(FormatTimestamp(-int64_t{86400} * 1000000) == "1969-12-31T00:00:00.000000Z");
}

BOOST_AUTO_TEST_CASE(normalize_rewrites_to_canonical_utc_micros) {
  const auto show = [](const std::optional<std::string>& v) { return v ? *v : "nullopt"; };
  BOOST_TEST(show(NormalizeTimestamp("2026-11-28T10:00:00Z")) == "2026-11-28T10:00:00.000000Z");
  BOOST_TEST(show(NormalizeTimestamp("2026-11-28T12:00:00.5+02:00")) ==
             "2026-11-28T10:00:00.500000Z");
  BOOST_TEST(show(NormalizeTimestamp("2026-11-28 10:00:00.123456789z")) ==
             "2026-11-28T10:00:00.123456Z");
  BOOST_TEST(show(NormalizeTimestamp("garbage")) == "nullopt");
  BOOST_TEST(show(NormalizeTimestamp("")) == "nullopt");
}

BOOST_AUTO_TEST_CASE(canonical_form_round_trips) {
  for (const int64_t micros :
       {int64_t{0}, int64_t{1}, kBase, kBase + 123456, int64_t{1709251199} * 1000000 + 999999,
        int64_t{253402300799} * 1000000 + 999999 /* 9999-12-31T23:59:59.999999Z */}) {
    BOOST_TEST_CONTEXT("micros: " << micros) {
      const std::string text = FormatTimestamp(micros);
      BOOST_TEST(Show(ParseTimestamp(text)) == Show(micros));
      BOOST_TEST((NormalizeTimestamp(text) == std::optional<std::string>(text)));
    }
  }
}

BOOST_AUTO_TEST_CASE(now_is_after_2020) { BOOST_TEST(NowMicros() > int64_t{1577836800} * 1000000); }

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
