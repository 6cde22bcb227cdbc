// What the browser suites share (tests/integration/ui_it.cc, ui_queue_it.cc): the
// suite's stack and simulator, started by its fixture through StartUiStack, and
// Browser, one test's Chromium (tests/integration/webdriver.h) that saves
// build/ui-<test>.png on the way out (also when the test failed) and prints the
// browser's console log and the job list's HTML when it failed.
//
// One browser suite runs at a time: the stack is the running suite's.
#ifndef JOBPULSE_TESTS_INTEGRATION_UI_HARNESS_H_
#define JOBPULSE_TESTS_INTEGRATION_UI_HARNESS_H_

#include <rapidjson/document.h>

#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"
#include "tests/integration/webdriver.h"

namespace jobpulse::testing {

// The running browser suite's simulator and stack.
struct UiWorld {
  static inline std::unique_ptr<Simulator> sim;
  static inline std::unique_ptr<Stack> stack;
};

inline Simulator& Sim() { return *UiWorld::sim; }
inline Stack& TheStack() { return *UiWorld::stack; }

// Starts the simulator, then the stack with the worker, wired to the simulator
// (REPLICATE_BASE_URL and its token) and polling every second, on top of
// `options`. Throws like Stack when something does not start.
inline void StartUiStack(StackOptions options = {}) {
  UiWorld::sim = std::make_unique<Simulator>();
  options.with_worker = true;
  options.replicate_base_url = UiWorld::sim->base_url();
  options.replicate_token = Simulator::kToken;
  options.extra_env.emplace_back("SIMPLETUNER_JOB_POLL_INTERVAL", "1");
  UiWorld::stack = std::make_unique<Stack>(options);
}

inline void StopUiStack() {
  UiWorld::stack.reset();
  UiWorld::sim.reset();
}

// The string member `key` of `v`, "null", or "<missing>" and the like.
inline std::string Str(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return "<not an object>";
  const auto it = v.FindMember(key);
  if (it == v.MemberEnd()) return "<missing>";
  if (it->value.IsNull()) return "null";
  return it->value.IsString() ? it->value.GetString() : "<not a string>";
}

// GET through nginx, parsed; the test fails when it is not a 200.
inline rapidjson::Document ApiGet(const std::string& path) {
  const HttpResult r = Http("GET", TheStack().Url(path));
  BOOST_TEST_REQUIRE(r.status == 200, path << ": " << r.status << " " << r.body);
  return Parse(r.body);
}

inline std::string Card(const std::string& job_id) {
  return "li.job-card[data-job-id=\"" + job_id + "\"]";
}

inline std::string CurrentTestName() {
  return boost::unit_test::framework::current_test_case().p_name;
}

inline bool CurrentTestPassed() {
  return boost::unit_test::results_collector
      .results(boost::unit_test::framework::current_test_case().p_id)
      .passed();
}

// The browser of one test. On the way out it saves build/ui-<test>.png and, when the
// test failed, prints the browser's console log and the job list's HTML.
class Browser {
 public:
  explicit Browser(int width = 1280, int height = 900) {
    const std::string missing = WebDriver::MissingBinaries();
    BOOST_TEST_REQUIRE(missing.empty(), missing);
    WebDriverOptions options;
    options.width = width;
    options.height = height;
    driver_ = std::make_unique<WebDriver>(options);
  }
  ~Browser() {
    const std::string path = BinDir() + "/ui-" + CurrentTestName() + ".png";
    try {
      driver_->Screenshot(path);
      BOOST_TEST_MESSAGE("screenshot: " << path);
    } catch (const std::exception& e) {
      BOOST_TEST_MESSAGE("no screenshot " << path << ": " << e.what());
    }
    if (!CurrentTestPassed()) {
      // Failure diagnostics go to stderr, so they show at any Boost.Test log level.
      std::cerr << "--- " << CurrentTestName() << " failed; browser state:\n";
      try {
        for (const auto& e : driver_->BrowserLog()) {
          std::cerr << "browser log: " << e.level << " " << e.source << " " << e.message << "\n";
        }
        std::cerr << "#job-list: "
                  << driver_->ExecuteScript(
                         "const l = document.getElementById('job-list');"
                         "return l ? l.outerHTML.slice(0, 4000) : null;")
                  << "\n";
      } catch (const std::exception& e) {
        std::cerr << "no browser state: " << e.what() << "\n";
      }
    }
  }
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  WebDriver& operator*() { return *driver_; }
  WebDriver* operator->() { return driver_.get(); }

  // Opens the page at / and waits until its list has been rendered (cards or the
  // empty state).
  void Load() {
    const HttpResult page = Http("GET", TheStack().Url("/"));
    BOOST_TEST_REQUIRE(page.status == 200, "the stack does not serve the web page at /: HTTP "
                                               << page.status << " " << page.error);
    driver_->Navigate(TheStack().Url("/"));
    BOOST_TEST_REQUIRE(driver_->WaitFor(
                           [&] {
                             return driver_->ExecuteScript(
                                        "return document.querySelector('ul#job-list "
                                        "li.job-card') !== null || "
                                        "(document.getElementById('empty-state') !== null && "
                                        "!document.getElementById('empty-state').hidden);") ==
                                    "true";
                           },
                           10000),
                       "the page rendered neither a .job-card nor #empty-state within 10 s");
  }

  // Waits until every job id has a card.
  bool WaitForCards(const std::vector<std::string>& ids, int timeout_ms) {
    return driver_->WaitFor(
        [&] {
          for (const auto& id : ids) {
            if (driver_->Find("ul#job-list " + Card(id)).empty()) return false;
          }
          return true;
        },
        timeout_ms);
  }

  // The job ids of the cards, in list order.
  std::vector<std::string> CardIds() {
    const auto ids = driver_->ExecuteScriptJson(
        "return [...document.querySelectorAll('ul#job-list > li.job-card')]"
        ".map((c) => c.dataset.jobId);");
    std::vector<std::string> out;
    if (!ids.IsArray()) return out;
    for (const auto& id : ids.GetArray()) out.push_back(id.IsString() ? id.GetString() : "");
    return out;
  }

  // Sizes the window so that the viewport itself is width x height (the window
  // includes the headless browser's chrome).
  void SetViewport(int width, int height) {
    const auto frame = driver_->ExecuteScriptJson(
        "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];");
    BOOST_TEST_REQUIRE(frame.IsArray());
    driver_->SetWindowSize(width + frame[0].GetInt(), height + frame[1].GetInt());
  }

  // Text of the first match of `css` ("<none>" when nothing matches).
  std::string TextOf(const std::string& css) {
    const std::string el = driver_->Find(css);
    return el.empty() ? "<none>" : driver_->Text(el);
  }

  // An attribute of the first match ("<none>" without a match, "<absent>" without
  // the attribute).
  std::string AttrOf(const std::string& css, const std::string& name) {
    const std::string el = driver_->Find(css);
    if (el.empty()) return "<none>";
    return driver_->Attribute(el, name).value_or("<absent>");
  }

  // Waits until `get()` returns `want`; on timeout the result says what it saw last.
  // Use as BOOST_TEST(b.Becomes(...)).
  template <typename Get>
  boost::test_tools::assertion_result Becomes(Get get, const std::string& want, int timeout_ms,
                                              const std::string& what) {
    std::string last;
    const bool ok = driver_->WaitFor(
        [&] {
          last = get();
          return last == want;
        },
        timeout_ms);
    boost::test_tools::assertion_result result(ok);
    if (!ok) {
      result.message() << what << ": expected \"" << want << "\", last seen \"" << last
                       << "\" after " << timeout_ms << " ms";
    }
    return result;
  }

 private:
  std::unique_ptr<WebDriver> driver_;
};

}  // namespace jobpulse::testing

#endif  // JOBPULSE_TESTS_INTEGRATION_UI_HARNESS_H_
