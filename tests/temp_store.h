// A fresh SQLite store in its own temporary directory for unit tests,
// removed with everything in it when the fixture ends.
#ifndef JOBPULSE_TESTS_TEMP_STORE_H_
#define JOBPULSE_TESTS_TEMP_STORE_H_

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "lib/store.h"

namespace jobpulse::testing {

struct TempStore {
  TempStore() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "jobpulse-test.XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    auto opened = Store::Open(dir + "/jobs.db");
    BOOST_TEST_REQUIRE(opened.ok(), opened.status().ToString());
    store = std::move(opened.value());
  }
  ~TempStore() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  std::unique_ptr<Store> store;
};

}  // namespace jobpulse::testing

#endif  // JOBPULSE_TESTS_TEMP_STORE_H_
