// lib/counters.h: a process's counts, the label text, the histogram's
// cumulative buckets, and their way into the database (the sums add up across
// processes, a failed write keeps its deltas, the flush thread writes within a
// second and at exit).
#include "lib/counters.h"

#include <chrono>
#include <thread>

#include "tests/engine_fixture.h"
#include "tests/store_fixture.h"

namespace jobpulse {
namespace store_test {
namespace {

std::string Dump(const std::vector<CounterValue>& values) {
  std::string out;
  for (const CounterValue& v : values) {
    out += v.name + "{" + v.labels + "}=" + std::to_string(v.value) + ";";
  }
  return out;
}

// A store whose writes fail until told otherwise.
class FailingCounterStore : public CounterStore {
 public:
  bool fail = true;
  std::vector<CounterValue> written;
  Status AddCounters(const std::vector<CounterValue>& deltas, int64_t) override {
    if (fail) return Status::Error(Status::Code::kBusy, "database_busy", "locked");
    written.insert(written.end(), deltas.begin(), deltas.end());
    return Status::Ok();
  }
  Result<std::vector<CounterValue>> ReadCounters() override { return written; }
};

BOOST_AUTO_TEST_SUITE(counters)

BOOST_AUTO_TEST_CASE(labels_are_escaped_as_the_text_format_asks) {
  BOOST_TEST(Labels({}) == "");
  BOOST_TEST(Labels({{"endpoint", "get_prediction"}, {"outcome", "ok"}}) ==
             R"(endpoint="get_prediction",outcome="ok")");
  BOOST_TEST(Labels({{"result", "a\"b\\c\nd"}}) == R"(result="a\"b\\c\nd")");
  BOOST_TEST(FormatBound(0.25) == "0.25");
  BOOST_TEST(FormatBound(1) == "1");
  BOOST_TEST(FormatBound(std::numeric_limits<double>::infinity()) == "+Inf");
}

BOOST_AUTO_TEST_CASE(adds_sum_per_series_and_take_empties) {
  Counters c;
  BOOST_TEST(c.empty());
  c.Add("a_total", "");
  c.Add("a_total", "", 2);
  c.Add("a_total", R"(x="1")");
  c.Add("a_total", "", -5);  // never down
  c.Add("a_total", "", std::nan(""));
  BOOST_TEST(!c.empty());
  BOOST_TEST(Dump(c.Take()) == R"(a_total{}=3.000000;a_total{x="1"}=1.000000;)");
  BOOST_TEST(c.empty());
  BOOST_TEST(c.Take().empty());
}

BOOST_AUTO_TEST_CASE(an_observation_counts_in_every_bucket_at_or_above_it) {
  Counters c;
  const double bounds[] = {0.1, 1, 10};
  c.Observe("h", bounds, 0.5);
  c.Observe("h", bounds, 1);
  c.Observe("h", bounds, 50);
  BOOST_TEST(Dump(c.Take()) ==
             R"(h_bucket{le="+Inf"}=3.000000;h_bucket{le="1"}=2.000000;)"
             R"(h_bucket{le="10"}=2.000000;h_count{}=3.000000;h_sum{}=51.500000;)");
}

BOOST_AUTO_TEST_CASE(a_failed_write_keeps_the_deltas_for_the_next) {
  Counters c;
  FailingCounterStore store;
  c.Add("a_total", "", 2);
  Status s = FlushCounters(c, store, kNow);
  BOOST_TEST(s.error() == "database_busy");
  BOOST_TEST(!c.empty());
  c.Add("a_total", "", 1);
  store.fail = false;
  BOOST_TEST(FlushCounters(c, store, kNow).ok());
  BOOST_TEST(Dump(store.written) == "a_total{}=3.000000;");
  BOOST_TEST(c.empty());
  // Nothing pending: no write at all.
  store.fail = true;
  BOOST_TEST(FlushCounters(c, store, kNow).ok());
}

BOOST_DATA_TEST_CASE(sums_from_two_connections_add_up, testing::kEngines, engine) {
  testing::EngineStore a(engine);
  testing::EngineStore b = a.Another();
  Counters first, second;
  first.Add("x_total", R"(k="v")", 2);
  first.Add("y_total", "", 1);
  first.Add("z_total", "", 0.1);
  second.Add("x_total", R"(k="v")", 5);
  second.Add("x_total", R"(k="w")", 1e15);
  second.Add("z_total", "", 0.2);
  BOOST_TEST(FlushCounters(first, a.counters(), kNow).ok());
  BOOST_TEST(FlushCounters(second, b.counters(), kNow + kSecond).ok());
  auto sums = a.counters().ReadCounters();
  BOOST_REQUIRE(sums.ok());
  BOOST_TEST(Dump(*sums) == R"(x_total{k="v"}=7.000000;x_total{k="w"}=1000000000000000.000000;)"
                            R"(y_total{}=1.000000;z_total{}=0.300000;)");
  BOOST_TEST((*sums)[3].value == 0.1 + 0.2);  // doubles survive the engine exactly
}

BOOST_FIXTURE_TEST_CASE(the_flush_thread_writes_within_a_second_and_at_exit, StoreFixture) {
  OpenStore();               // the schema
  ProcessCounters().Take();  // whatever other tests left
  int opens = 0;
  auto opener = [&]() -> Result<std::unique_ptr<CounterStore>> {
    ++opens;
    auto store = Store::Open(db_path);
    if (!store.ok()) return store.status();
    return std::unique_ptr<CounterStore>(std::move(*store));
  };
  auto reader = OpenStore();
  const auto sum_of = [&](const std::string& name) {
    auto sums = reader->ReadCounters();
    BOOST_REQUIRE(sums.ok());
    for (const CounterValue& v : *sums) {
      if (v.name == name) return v.value;
    }
    return -1.0;
  };
  {
    CounterFlushThread thread(opener, [] { return kNow; });
    ProcessCounters().Add("flushed_total", "", 4);
    double seen = -1;
    for (int i = 0; i < 300 && seen < 0; ++i) {  // at most 3 s
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      seen = sum_of("flushed_total");
    }
    BOOST_TEST(seen == 4);
    ProcessCounters().Add("at_exit_total", "", 1);
  }
  BOOST_TEST(sum_of("at_exit_total") == 1);
  BOOST_TEST(opens == 1);  // one connection of its own, kept
  BOOST_TEST(ProcessCounters().empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace store_test
}  // namespace jobpulse
