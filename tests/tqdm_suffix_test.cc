// Unit tests for lib/tqdm_suffix.h: rate and time left from a tqdm bar's
// suffix, in every form tqdm prints, and what is not a suffix.
#include "lib/tqdm_suffix.h"

#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>

namespace jobpulse {
namespace {

std::string Show(const std::optional<BarSpeed>& s) {
  if (!s) return "none";
  return "rate=" + (s->rate ? std::to_string(*s->rate) : std::string("null")) +
         " eta=" + (s->eta_seconds ? std::to_string(*s->eta_seconds) : std::string("null"));
}

BOOST_AUTO_TEST_SUITE(tqdm_suffix)

BOOST_AUTO_TEST_CASE(iterations_per_second_and_minutes_left) {
  const auto s = ParseTqdmSuffix(" [01:29<00:38, 7.8it/s]");
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(*s->rate == 7.8);
  BOOST_TEST(*s->eta_seconds == 38);
}

BOOST_AUTO_TEST_CASE(seconds_per_iteration_is_inverted_and_rounded) {
  auto s = ParseTqdmSuffix("[00:10<02:00, 1.25s/it]");
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(*s->rate == 0.8);
  BOOST_TEST(*s->eta_seconds == 120);
  s = ParseTqdmSuffix("[00:10<02:00, 3.00s/it]");
  BOOST_TEST(*s->rate == 0.333);
  s = ParseTqdmSuffix("[00:10<02:00, 0.00s/it]");
  BOOST_TEST(!s->rate.has_value());
}

BOOST_AUTO_TEST_CASE(hours_minutes_seconds) {
  const auto s = ParseTqdmSuffix("[1:02:03<2:00:01, 12.345it/s]");
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(*s->eta_seconds == 7201);
  BOOST_TEST(*s->rate == 12.3);
}

BOOST_AUTO_TEST_CASE(unknown_remaining_and_rate_are_null) {
  const auto s = ParseTqdmSuffix("[00:00<?, ?it/s]");
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(Show(s) == "rate=null eta=null");
}

BOOST_AUTO_TEST_CASE(a_suffix_without_rate_still_gives_time_left) {
  BOOST_TEST(Show(ParseTqdmSuffix("[05:03<44:00]")) == "rate=null eta=2640");
}

BOOST_AUTO_TEST_CASE(a_postfix_after_the_rate_is_ignored) {
  BOOST_TEST(Show(ParseTqdmSuffix("[00:05<00:20, 6.60it/s, loss=0.123, lr=1e-4]")) ==
             "rate=6.600000 eta=20");
}

BOOST_AUTO_TEST_CASE(upper_case_units_read_alike) {
  BOOST_TEST(Show(ParseTqdmSuffix("[00:05<00:20, 2IT/S]")) == "rate=2.000000 eta=20");
}

BOOST_AUTO_TEST_CASE(what_is_no_suffix) {
  for (const char* rest : {"", "   ", "- loss: 0.1", "[00:05, 3.2it/s]", "[not a time<00:10]",
                           "[00:05<00:10", "(00:05<00:10)", "[00:75<00:10]", "[1:2:3:4<00:10]"}) {
    BOOST_TEST_CONTEXT("rest: " << rest) { BOOST_TEST(Show(ParseTqdmSuffix(rest)) == "none"); }
  }
}

BOOST_AUTO_TEST_CASE(odd_values_give_null_not_garbage) {
  BOOST_TEST(Show(ParseTqdmSuffix("[00:05<99:99, 1.2.3it/s]")) == "rate=null eta=null");
  BOOST_TEST(Show(ParseTqdmSuffix("[00:05<00:10, 5kit/s]")) == "rate=null eta=10");
  BOOST_TEST(Show(ParseTqdmSuffix("[00:05<00:10:10:10]")) == "rate=null eta=null");
  BOOST_TEST(Show(ParseTqdmSuffix("[00:05<9999999999:00, -1it/s]")) == "rate=null eta=null");
  const std::string long_postfix = "[00:05<00:10, 1it/s, " + std::string(300, 'x') + "]";
  BOOST_TEST(Show(ParseTqdmSuffix(long_postfix)) == "none");
}

BOOST_AUTO_TEST_CASE(three_significant_digits) {
  BOOST_TEST(RoundSignificant3(7.777) == 7.78);
  BOOST_TEST(RoundSignificant3(0.012345) == 0.0123);
  BOOST_TEST(RoundSignificant3(1234.5) == 1230.0);
  BOOST_TEST(RoundSignificant3(100.0) == 100.0);
  BOOST_TEST(RoundSignificant3(0.0) == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
