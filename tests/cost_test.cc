// Unit tests for lib/cost.h: price lookups by exact SKU with the default SKU
// for jobs that name none, and cost = seconds * price (SPEC §3).
#include "lib/cost.h"

#include <boost/test/unit_test.hpp>
#include <charconv>
#include <limits>
#include <optional>
#include <string>

#include "lib/config.h"

namespace jobpulse {
namespace {

// The shortest round-trip form, so comparing the strings compares the doubles exactly.
std::string Show(const std::optional<double>& v) {
  if (!v) return "nullopt";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, *v);
  return std::string(buf, res.ptr);
}

// Prices that are exact in binary, so products compare exactly.
PriceTable ExactPrices() {
  PriceTable prices;
  prices.per_second = {{"gpu-a", 0.5}, {"gpu-b", 0.25}, {"cpu", 0.125}};
  prices.default_sku = "gpu-b";
  return prices;
}

BOOST_AUTO_TEST_SUITE(cost)

BOOST_AUTO_TEST_CASE(price_of_named_sku) {
  const PriceTable prices = ExactPrices();
  BOOST_TEST(Show(prices.PricePerSecond(std::string("gpu-a"))) == Show(0.5));
  BOOST_TEST(Show(prices.PricePerSecond(std::string("cpu"))) == Show(0.125));
}

BOOST_AUTO_TEST_CASE(unset_sku_uses_default_sku) {
  BOOST_TEST(Show(ExactPrices().PricePerSecond(std::nullopt)) == Show(0.25));
}

BOOST_AUTO_TEST_CASE(unknown_sku_has_no_price) {
  const PriceTable prices = ExactPrices();
  BOOST_TEST(Show(prices.PricePerSecond(std::string("gpu-unknown"))) == "nullopt");
  BOOST_TEST(Show(prices.PricePerSecond(std::string("GPU-A"))) == "nullopt");  // exact match only
  BOOST_TEST(Show(prices.PricePerSecond(std::string(""))) == "nullopt");
  // An unknown SKU does not fall back to the default.
  BOOST_TEST(Show(prices.Cost(10, std::string("gpu-unknown"))) == "nullopt");
}

BOOST_AUTO_TEST_CASE(missing_default_sku_has_no_price) {
  PriceTable prices = ExactPrices();
  prices.default_sku = "gpu-gone";
  BOOST_TEST(Show(prices.PricePerSecond(std::nullopt)) == "nullopt");
  BOOST_TEST(Show(prices.Cost(10, std::nullopt)) == "nullopt");
  BOOST_TEST(Show(PriceTable{}.PricePerSecond(std::nullopt)) == "nullopt");
}

BOOST_AUTO_TEST_CASE(cost_is_seconds_times_price) {
  const PriceTable prices = ExactPrices();
  BOOST_TEST(Show(prices.Cost(100, std::string("gpu-a"))) == Show(50.0));
  BOOST_TEST(Show(prices.Cost(10, std::nullopt)) == Show(2.5));
  BOOST_TEST(Show(prices.Cost(0.5, std::string("cpu"))) == Show(0.0625));
  BOOST_TEST(Show(prices.Cost(0, std::string("gpu-a"))) == Show(0.0));
}

BOOST_AUTO_TEST_CASE(negative_or_nan_seconds_have_no_cost) {
  const PriceTable prices = ExactPrices();
  BOOST_TEST(Show(prices.Cost(-1, std::string("gpu-a"))) == "nullopt");
  BOOST_TEST(Show(prices.Cost(-0.000001, std::nullopt)) == "nullopt");
  BOOST_TEST(Show(prices.Cost(std::numeric_limits<double>::quiet_NaN(), std::string("gpu-a"))) ==
             "nullopt");
}

BOOST_AUTO_TEST_CASE(default_table_from_config) {
  PriceTable prices;
  prices.per_second = DefaultHardwarePrices();
  BOOST_TEST(prices.default_sku == "gpu-l40s");
  const auto l40s = prices.PricePerSecond(std::nullopt);
  BOOST_REQUIRE(l40s.has_value());
  BOOST_TEST(*l40s == 0.000975);
  const auto h100 = prices.PricePerSecond(std::string("gpu-h100"));
  BOOST_REQUIRE(h100.has_value());
  BOOST_TEST(*h100 == 0.001525);
  const auto t4 = prices.Cost(100, std::string("gpu-t4"));
  BOOST_REQUIRE(t4.has_value());
  BOOST_TEST(*t4 == 100 * 0.000225);
  BOOST_TEST(Show(prices.PricePerSecond(std::string("gpu-h200"))) == "nullopt");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
