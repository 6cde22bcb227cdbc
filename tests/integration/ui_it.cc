// The web page (nginx/www) in a real browser: headless Chromium driven through
// chromedriver (tests/integration/webdriver.h) against the real stack with the
// worker, the simulator playing Replicate. One stack for the suite, one browser per
// test. Each test leaves a screenshot in build/ui-<test>.png (also when it fails).
//
// The page's DOM contract these tests rely on: #sync-button (.spinner and
// aria-busy="true" while syncing), .toast in #toasts, ul#job-list of
// li.job-card[data-job-id][data-status] with .status-badge, .job-id, .job-model,
// running jobs .job-stage, progress.job-progress, .job-last-log; #status-filter,
// #refresh-button; section#job-detail (opened by a click or Tab + Enter) with
// dl#job-fields dd[data-field=<API field name>], pre#job-logs, #cancel-button (active
// jobs) or #delete-button (terminal jobs), #close-detail, and <dialog
// id="confirm-dialog"> (#confirm-yes); #connection-indicator[data-state=connected|
// reconnecting|offline]; in token mode (suite web_ui_token) form#sign-in-form with
// input#sign-in-token (a password field), #sign-in-button and #sign-in-error.
//
// Without /usr/bin/chromium and /usr/bin/chromedriver every test fails (it does not
// skip): `make test-deps` installs them.
#include <boost/test/unit_test.hpp>
// (Boost.Test first: the module is defined in main.cc.)
#include <rapidjson/document.h>

#include <boost/test/results_collector.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"
#include "tests/integration/webdriver.h"

namespace jobpulse {
namespace {

using testing::Http;
using testing::HttpResult;
using testing::Simulator;
using testing::Stack;
using testing::WebDriver;
using testing::WebDriverOptions;

struct UiStack {
  UiStack() {
    sim = std::make_unique<Simulator>();
    testing::StackOptions options;
    options.with_worker = true;
    options.replicate_base_url = sim->base_url();
    options.replicate_token = Simulator::kToken;
    options.extra_env = {{"SIMPLETUNER_JOB_POLL_INTERVAL", "1"}};
    stack = std::make_unique<Stack>(options);
  }
  ~UiStack() {
    stack.reset();
    sim.reset();
  }
  static inline std::unique_ptr<Simulator> sim;
  static inline std::unique_ptr<Stack> stack;
};

// The same stack in token mode (SPEC §11), for the web_ui_token suite.
constexpr const char* kUiApiToken = "ui-token-7c1e0b9d4a2f6e83";
struct UiTokenStack {
  UiTokenStack() {
    UiStack::sim = std::make_unique<Simulator>();
    testing::StackOptions options;
    options.with_worker = true;
    options.replicate_base_url = UiStack::sim->base_url();
    options.replicate_token = Simulator::kToken;
    options.extra_env = {{"SIMPLETUNER_JOB_POLL_INTERVAL", "1"}};
    options.api_token = kUiApiToken;
    UiStack::stack = std::make_unique<Stack>(options);
  }
  ~UiTokenStack() {
    UiStack::stack.reset();
    UiStack::sim.reset();
  }
};

Simulator& Sim() { return *UiStack::sim; }
Stack& TheStack() { return *UiStack::stack; }

using testing::Parse;

std::string Str(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return "<not an object>";
  const auto it = v.FindMember(key);
  if (it == v.MemberEnd()) return "<missing>";
  if (it->value.IsNull()) return "null";
  return it->value.IsString() ? it->value.GetString() : "<not a string>";
}

void CreateRun(const std::string& id, const std::string& status,
               const std::string& model = "simpletuner/advanced-trainer-l40s") {
  Sim().Control("POST", "/runs",
                R"({"id":")" + id + R"(","status":")" + status + R"(","model":")" + model +
                    R"(","kind":"training"})");
}

std::string SimRunStatus(const std::string& id) {
  return Str(Parse(Sim().Control("GET", "/runs/" + id)), "status");
}

// POST /api/cloud/jobs/sync through nginx; returns the number of new jobs.
int ApiSync() {
  const HttpResult r = Http("POST", TheStack().Url("/api/cloud/jobs/sync"));
  BOOST_TEST_REQUIRE(r.status == 200, "sync: " << r.status << " " << r.body);
  const auto doc = Parse(r.body);
  return doc["synced"].GetInt();
}

std::string Card(const std::string& job_id) {
  return "li.job-card[data-job-id=\"" + job_id + "\"]";
}

std::string CurrentTestName() { return boost::unit_test::framework::current_test_case().p_name; }

bool CurrentTestPassed() {
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
    const std::string path = testing::BinDir() + "/ui-" + CurrentTestName() + ".png";
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

}  // namespace

BOOST_AUTO_TEST_SUITE(web_ui, *boost::unit_test::fixture<UiStack>())

BOOST_AUTO_TEST_CASE(page_lists_the_simulator_jobs) {
  CreateRun("ui-list-running", "processing", "acme/flux-lora-trainer");
  CreateRun("ui-list-done", "succeeded");
  CreateRun("ui-list-queued", "starting");
  BOOST_TEST(ApiSync() == 3);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b.WaitForCards({"ui-list-running", "ui-list-done", "ui-list-queued"}, 10000),
                     "the three jobs did not all get a card");
  BOOST_TEST(b.AttrOf(Card("ui-list-running"), "data-status") == "running");
  BOOST_TEST(b.AttrOf(Card("ui-list-done"), "data-status") == "completed");
  BOOST_TEST(b.AttrOf(Card("ui-list-queued"), "data-status") == "queued");
  BOOST_TEST(b.TextOf(Card("ui-list-running") + " .status-badge") == "running");
  BOOST_TEST(b.TextOf(Card("ui-list-done") + " .status-badge") == "completed");
  BOOST_TEST(b.TextOf(Card("ui-list-queued") + " .status-badge") == "queued");
  BOOST_TEST(b.TextOf(Card("ui-list-running") + " .job-id") == "ui-list-running");
  BOOST_TEST(b.TextOf(Card("ui-list-running") + " .job-model") == "acme/flux-lora-trainer");
  BOOST_TEST(b.TextOf(Card("ui-list-done") + " .job-model") == "simpletuner/advanced-trainer-l40s");
  // Only running jobs carry the progress parts.
  BOOST_TEST(!b->Find(Card("ui-list-running") + " progress.job-progress").empty());
  BOOST_TEST(b->Find(Card("ui-list-done") + " progress.job-progress").empty());
  const std::string empty = b->Find("#empty-state");
  BOOST_TEST((empty.empty() || !b->Displayed(empty)), "#empty-state shows next to jobs");
}

BOOST_AUTO_TEST_CASE(running_job_progress_follows_the_simulator_without_reload) {
  CreateRun("ui-progress", "processing");
  BOOST_TEST(ApiSync() == 1);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b.WaitForCards({"ui-progress"}, 10000));
  const std::string card = Card("ui-progress");
  BOOST_TEST(b.AttrOf(card, "data-status") == "running");
  b->ExecuteScript("window.__marker = 42;");

  Sim().Control("POST", "/runs/ui-progress/logs", R"({"append":"Step 250/1000 - loss: 0.08\n"})");
  std::string value;
  const bool progressed = b->WaitFor(
      [&] {
        value = b.AttrOf(card + " progress.job-progress", "value");
        return value == "25" || value == "25.0";
      },
      15000);
  BOOST_TEST(progressed, "progress value attribute: last seen \"" << value << "\"");
  BOOST_TEST(
      b.Becomes([&] { return b.TextOf(card + " .job-stage"); }, "Training", 5000, ".job-stage"));
  BOOST_TEST(b.Becomes([&] { return b.TextOf(card + " .job-last-log"); },
                       "Step 250/1000 - loss: 0.08", 5000, ".job-last-log"));

  Sim().Control("POST", "/runs/ui-progress/logs", R"({"append":"Running validation\n"})");
  BOOST_TEST(b.Becomes([&] { return b.TextOf(card + " .job-stage"); }, "Validation", 15000,
                       ".job-stage after validation started"));
  BOOST_TEST(b.Becomes([&] { return b.TextOf(card + " .job-last-log"); }, "Running validation",
                       5000, ".job-last-log after validation started"));
  BOOST_TEST(b.AttrOf(card + " progress.job-progress", "value") == value);

  BOOST_TEST(
      b->ExecuteScript("return window.__marker === undefined ? null : window.__marker;") == "42",
      "the page reloaded (window.__marker is gone)");
}

BOOST_AUTO_TEST_CASE(sync_shows_the_toast_and_new_jobs_appear) {
  ApiSync();  // whatever an earlier test left unsynced is not counted below
  Browser b;
  b.Load();
  CreateRun("ui-sync-a", "starting");
  CreateRun("ui-sync-b", "processing");
  BOOST_TEST(b->Find(Card("ui-sync-a")).empty());
  // The simulator holds the list call for 1.5 s, so the busy state can be seen.
  Sim().Control("POST", "/faults", R"({"endpoint":"list_predictions","delay_ms":1500,"count":1})");

  const std::string button = b->Find("#sync-button");
  BOOST_TEST_REQUIRE(!button.empty(), "no #sync-button");
  b->Click(button);
  BOOST_TEST(b->WaitFor(
                 [&] {
                   const std::string spinner = b->Find("#sync-button .spinner");
                   return b.AttrOf("#sync-button", "aria-busy") == "true" && !spinner.empty() &&
                          b->Displayed(spinner);
                 },
                 1200),
             "#sync-button showed no visible .spinner with aria-busy=\"true\" while syncing");

  std::set<std::string> toasts;  // every toast seen, for the failure message
  const bool toasted = b->WaitFor(
      [&] {
        for (const auto& t : b->FindAll("#toasts .toast")) {
          const std::string cls = b->Attribute(t, "class").value_or("");
          const std::string text = b->Text(t);
          toasts.insert("[" + cls + "] " + text);
          if (text == "Discovered 2 new jobs from Replicate" &&
              cls.find("error") == std::string::npos) {
            return true;
          }
        }
        return false;
      },
      10000);
  std::string seen;
  for (const auto& t : toasts) seen += "\n  " + t;
  BOOST_TEST(toasted, "no toast \"Discovered 2 new jobs from Replicate\"; toasts seen:" << seen);
  BOOST_TEST(b.WaitForCards({"ui-sync-a", "ui-sync-b"}, 10000), "the new jobs got no card");
  BOOST_TEST(b.AttrOf(Card("ui-sync-a"), "data-status") == "queued");
  BOOST_TEST(b.AttrOf(Card("ui-sync-b"), "data-status") == "running");
  BOOST_TEST(b->WaitFor(
                 [&] {
                   const std::string spinner = b->Find("#sync-button .spinner");
                   return b.AttrOf("#sync-button", "aria-busy") != "true" &&
                          (spinner.empty() || !b->Displayed(spinner));
                 },
                 5000),
             "#sync-button still busy after the sync");
}

BOOST_AUTO_TEST_CASE(cancel_moves_a_job_to_cancelled) {
  CreateRun("ui-cancel", "processing");
  BOOST_TEST(ApiSync() == 1);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b.WaitForCards({"ui-cancel"}, 10000));
  b->Click(b->Find(Card("ui-cancel")));
  BOOST_TEST_REQUIRE(b->WaitFor(
                         [&] {
                           const std::string d = b->Find("section#job-detail");
                           const std::string c = b->Find("#cancel-button");
                           return !d.empty() && b->Displayed(d) && !c.empty() && b->Displayed(c);
                         },
                         10000),
                     "the detail with #cancel-button did not open");
  BOOST_TEST(b.Becomes([&] { return b.TextOf("#job-fields dd[data-field=\"job_id\"]"); },
                       "ui-cancel", 5000, "detail job_id field"));
  const std::string del = b->Find("#delete-button");
  BOOST_TEST((del.empty() || !b->Displayed(del)), "#delete-button offered for a running job");

  b->Click(b->Find("#cancel-button"));
  BOOST_TEST_REQUIRE(
      b->WaitFor([&] { return b->Property(b->Find("#confirm-dialog"), "open") == "true"; }, 5000),
      "#confirm-dialog did not open");
  BOOST_TEST(SimRunStatus("ui-cancel") == "processing");  // nothing before the confirmation
  b->Click(b->Find("#confirm-yes"));

  BOOST_TEST(b.Becomes([&] { return b.AttrOf(Card("ui-cancel"), "data-status"); }, "cancelled",
                       10000, "card data-status"));
  BOOST_TEST(SimRunStatus("ui-cancel") == "canceled");
  BOOST_TEST(b->Property(b->Find("#confirm-dialog"), "open") == "false");
}

BOOST_AUTO_TEST_CASE(indicator_shows_reconnecting_and_connected) {
  Browser b;
  b.Load();
  BOOST_TEST(b.Becomes([&] { return b.AttrOf("#connection-indicator", "data-state"); }, "connected",
                       10000, "indicator before the worker stops"));

  // Whatever happens below, the worker runs again for the tests after this one.
  struct Restart {
    ~Restart() {
      if (TheStack().SupervisorCtl("status worker").find("RUNNING") == std::string::npos) {
        TheStack().SupervisorCtl("start worker");
      }
    }
  } restart;
  const std::string stopped = TheStack().SupervisorCtl("stop worker");
  BOOST_TEST_REQUIRE(stopped.find("worker: stopped") != std::string::npos, stopped);

  std::string state;
  const bool lost = b->WaitFor(
      [&] {
        state = b.AttrOf("#connection-indicator", "data-state");
        return state == "reconnecting" || state == "offline";
      },
      15000);
  BOOST_TEST(lost, "indicator with the worker stopped: last seen \"" << state << "\"");
  BOOST_TEST_MESSAGE("indicator with the worker stopped: " << state);

  const std::string started = TheStack().SupervisorCtl("start worker");
  BOOST_TEST_REQUIRE(started.find("worker: started") != std::string::npos, started);
  BOOST_TEST(b.Becomes([&] { return b.AttrOf("#connection-indicator", "data-state"); }, "connected",
                       40000, "indicator after the worker is back"));
}

BOOST_AUTO_TEST_CASE(no_console_errors) {
  CreateRun("ui-console-a", "processing");
  BOOST_TEST(ApiSync() == 1);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b.WaitForCards({"ui-console-a"}, 10000));
  BOOST_TEST(b.Becomes([&] { return b.AttrOf("#connection-indicator", "data-state"); }, "connected",
                       10000, "indicator"));

  // A sync that finds one new job.
  CreateRun("ui-console-b", "starting");
  b->Click(b->Find("#sync-button"));
  BOOST_TEST(b->WaitFor(
      [&] {
        for (const auto& t : b->FindAll("#toasts .toast")) {
          if (b->Text(t) == "Discovered 1 new jobs from Replicate") return true;
        }
        return false;
      },
      10000));
  BOOST_TEST(b.WaitForCards({"ui-console-b"}, 10000));

  // Progress on a card, the detail and back, the filter and refresh.
  Sim().Control("POST", "/runs/ui-console-a/logs", R"({"append":"Step 5/10 - loss: 0.3\n"})");
  BOOST_TEST(b.Becomes([&] { return b.TextOf(Card("ui-console-a") + " .job-stage"); }, "Training",
                       15000, ".job-stage"));
  b->Click(b->Find(Card("ui-console-a")));
  BOOST_TEST(b->WaitFor(
      [&] {
        const std::string d = b->Find("section#job-detail");
        return !d.empty() && b->Displayed(d);
      },
      5000));
  BOOST_TEST(b.Becomes([&] { return b.TextOf("pre#job-logs"); }, "Step 5/10 - loss: 0.3", 10000,
                       "#job-logs"));
  b->Click(b->Find("#close-detail"));
  BOOST_TEST(b->WaitFor([&] { return !b->Displayed(b->Find("section#job-detail")); }, 5000));
  b->Click(b->Find("#status-filter option[value=\"running\"]"));
  BOOST_TEST(b->WaitFor([&] { return b->Find(Card("ui-console-b")).empty(); }, 5000),
             "the queued job still shows with the running filter");
  BOOST_TEST(!b->Find(Card("ui-console-a")).empty());
  b->Click(b->Find("#refresh-button"));
  BOOST_TEST(b->WaitFor([&] { return b.AttrOf("#refresh-button", "aria-busy") != "true"; }, 10000),
             "#refresh-button still busy after 10 s");
  BOOST_TEST(b->Find(Card("ui-console-b")).empty(), "the refresh dropped the status filter");
  BOOST_TEST(!b->Find(Card("ui-console-a")).empty());

  const auto entries = b->BrowserLog();
  int severe = 0;
  std::string all;
  for (const auto& e : entries) {
    severe += e.level == "SEVERE";
    all += "\n  " + e.level + " " + e.source + " " + e.message;
  }
  BOOST_TEST(severe == 0, severe << " SEVERE entries in the browser log:" << all);
}

BOOST_AUTO_TEST_CASE(keyboard_tab_and_enter_open_the_detail) {
  CreateRun("ui-keyboard", "succeeded");
  BOOST_TEST(ApiSync() == 1);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b.WaitForCards({"ui-keyboard"}, 10000));
  // Tab from the top of the page until the focus is in the card (bounded).
  const std::string in_card =
      "const a = document.activeElement;"
      "const c = a && a.closest('li.job-card');"
      "return c ? c.dataset.jobId : null;";
  std::string focused;
  for (int i = 0; i < 100 && focused != "\"ui-keyboard\""; ++i) {
    b->SendKeys(b->ActiveElement(), WebDriver::kTab);
    focused = b->ExecuteScript(in_card);
  }
  BOOST_TEST_REQUIRE(focused == "\"ui-keyboard\"", "100 Tabs never reached the card");
  b->SendKeys(b->ActiveElement(), WebDriver::kEnter);
  BOOST_TEST_REQUIRE(b->WaitFor(
                         [&] {
                           const std::string d = b->Find("section#job-detail");
                           return !d.empty() && b->Displayed(d);
                         },
                         5000),
                     "Enter on the card did not open the detail");
  BOOST_TEST(b.Becomes([&] { return b.TextOf("#job-fields dd[data-field=\"job_id\"]"); },
                       "ui-keyboard", 5000, "detail job_id field"));
  BOOST_TEST(b.Becomes([&] { return b.TextOf("#job-fields dd[data-field=\"status\"]"); },
                       "completed", 5000, "detail status field"));
  // A terminal job offers delete, not cancel.
  const std::string del = b->Find("#delete-button");
  BOOST_TEST((!del.empty() && b->Displayed(del)), "no #delete-button for a completed job");
  const std::string cancel = b->Find("#cancel-button");
  BOOST_TEST((cancel.empty() || !b->Displayed(cancel)), "#cancel-button for a completed job");
}

BOOST_AUTO_TEST_CASE(page_fits_a_360px_wide_screen) {
  Browser b(360, 740);
  // The window includes (headless) browser chrome; size it so the viewport itself is
  // 360 x 740.
  const auto frame = b->ExecuteScriptJson(
      "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];");
  BOOST_TEST_REQUIRE(frame.IsArray());
  b->SetWindowSize(360 + frame[0].GetInt(), 740 + frame[1].GetInt());
  b.Load();
  const auto size = b->ExecuteScriptJson(
      "return [window.innerWidth, window.innerHeight, document.documentElement.scrollWidth,"
      " document.body.scrollWidth];");
  BOOST_TEST_REQUIRE(size.IsArray());
  BOOST_TEST(size[0].GetInt() == 360, "viewport width");
  BOOST_TEST(size[1].GetInt() == 740, "viewport height");
  BOOST_TEST(size[2].GetInt() <= 360,
             "horizontal scroll: document scrollWidth " << size[2].GetInt());
  BOOST_TEST(size[3].GetInt() <= 360, "horizontal scroll: body scrollWidth " << size[3].GetInt());
}

BOOST_AUTO_TEST_SUITE_END()

// ---- token mode: the sign-in form ------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(web_ui_token, *boost::unit_test::fixture<UiTokenStack>())

BOOST_AUTO_TEST_CASE(sign_in_shows_the_jobs_and_live_updates_follow) {
  CreateRun("ui-token-running", "processing");
  CreateRun("ui-token-done", "succeeded");
  const HttpResult sync = Http("POST", TheStack().Url("/api/cloud/jobs/sync"), "",
                               {std::string("Authorization: Bearer ") + kUiApiToken});
  BOOST_TEST_REQUIRE(sync.status == 200, "sync: " << sync.status << " " << sync.body);

  Browser b;
  b->Navigate(TheStack().Url("/"));
  BOOST_TEST_REQUIRE(b->WaitFor(
                         [&] {
                           const std::string form = b->Find("form#sign-in-form");
                           return !form.empty() && b->Displayed(form);
                         },
                         10000),
                     "the page did not show #sign-in-form after the API answered 401");
  const std::string input = b->Find("#sign-in-token");
  BOOST_TEST_REQUIRE(!input.empty());
  BOOST_TEST(b.AttrOf("#sign-in-token", "type") == "password");
  BOOST_TEST(b->Find("ul#job-list li.job-card").empty());
  BOOST_TEST(!b->Displayed(b->Find("#sync-button")), "the toolbar shows while signed out");
  BOOST_TEST(b->FindAll("#toasts .toast.error").empty(), "a 401 became an error toast");
  b->Screenshot(testing::BinDir() + "/ui-sign-in-form.png");

  // A wrong token: an error in the form, still signed out.
  b->SendKeys(input, "not-the-token-00000000");
  b->Click(b->Find("#sign-in-button"));
  BOOST_TEST(b.Becomes([&] { return b.TextOf("#sign-in-error"); }, "That is not the API token.",
                       5000, "#sign-in-error"));
  BOOST_TEST(b->Displayed(b->Find("form#sign-in-form")));

  // The right one: the form goes, the list loads, the stream connects.
  b->ExecuteScript("document.getElementById('sign-in-token').value = '';");
  b->SendKeys(input, kUiApiToken);
  b->SendKeys(input, WebDriver::kEnter);
  BOOST_TEST_REQUIRE(b->WaitFor([&] { return !b->Displayed(b->Find("form#sign-in-form")); }, 10000),
                     "#sign-in-form still shows after signing in");
  BOOST_TEST_REQUIRE(b.WaitForCards({"ui-token-running", "ui-token-done"}, 10000),
                     "the jobs got no card after signing in");
  BOOST_TEST(b.AttrOf(Card("ui-token-running"), "data-status") == "running");
  BOOST_TEST(b.AttrOf(Card("ui-token-done"), "data-status") == "completed");
  BOOST_TEST(b.Becomes([&] { return b.AttrOf("#connection-indicator", "data-state"); }, "connected",
                       15000, "indicator after signing in"));
  // The session is an HttpOnly cookie; the page keeps no token anywhere.
  BOOST_TEST(b->ExecuteScript("return document.cookie;") == "\"\"");
  BOOST_TEST(
      b->ExecuteScript("return JSON.stringify(localStorage) + JSON.stringify(sessionStorage);")
          .find(kUiApiToken) == std::string::npos);

  // Live updates over the signed-in stream, without a reload.
  b->ExecuteScript("window.__marker = 7;");
  Sim().Control("POST", "/runs/ui-token-running/logs",
                R"({"append":"Step 400/1000 - loss: 0.05\n"})");
  const std::string card = Card("ui-token-running");
  std::string value;
  const bool progressed = b->WaitFor(
      [&] {
        value = b.AttrOf(card + " progress.job-progress", "value");
        return value == "40" || value == "40.0";
      },
      15000);
  BOOST_TEST(progressed, "progress value attribute: last seen \"" << value << "\"");
  BOOST_TEST(b.Becomes([&] { return b.TextOf(card + " .job-last-log"); },
                       "Step 400/1000 - loss: 0.05", 5000, ".job-last-log"));
  BOOST_TEST(
      b->ExecuteScript("return window.__marker === undefined ? null : window.__marker;") == "7",
      "the page reloaded (window.__marker is gone)");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
