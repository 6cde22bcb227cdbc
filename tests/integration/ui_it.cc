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
// Issue 15 adds: running cards' .job-eta ("≈ 38 s left · 7.8 it/s"), failed cards'
// .job-error (first line of error_message), figure#cost-chart rect.bar[data-date]
// [data-cost][data-jobs] and figure#status-chart rect[data-status][data-count],
// input#search-input (kept in ?q=), #load-more, #job-count, and
// pre#job-logs[data-following=true|false].
//
// Without /usr/bin/chromium and /usr/bin/chromedriver every test fails (it does not
// skip): `make test-deps` installs them.
#include <boost/test/unit_test.hpp>
// (Boost.Test first: the module is defined in main.cc.)
#include <rapidjson/document.h>

#include <algorithm>
#include <boost/test/results_collector.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lib/store.h"
#include "lib/timestamp.h"
#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"
#include "tests/integration/ui_harness.h"
#include "tests/integration/webdriver.h"

namespace jobpulse {
namespace {

using testing::ApiGet;
using testing::Browser;
using testing::Card;
using testing::Http;
using testing::HttpResult;
using testing::Sim;
using testing::Stack;
using testing::Str;
using testing::TheStack;
using testing::WebDriver;

struct UiStack {
  UiStack() { testing::StartUiStack(); }
  ~UiStack() { testing::StopUiStack(); }
};

// The same stack in token mode (SPEC §11), for the web_ui_token suite.
constexpr const char* kUiApiToken = "ui-token-7c1e0b9d4a2f6e83";
struct UiTokenStack {
  UiTokenStack() {
    testing::StackOptions options;
    options.api_token = kUiApiToken;
    testing::StartUiStack(options);
  }
  ~UiTokenStack() { testing::StopUiStack(); }
};

using testing::Parse;

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

// Creates a run with any fields of POST /_sim/runs (a JSON object's members).
void CreateRunJson(const std::string& id, const std::string& members) {
  Sim().Control("POST", "/runs", R"({"id":")" + id + R"(",)" + members + "}");
}

// 125 finished jobs ui-hist-000 (the oldest) .. ui-hist-124, created one every 2 h from
// 12 days ago, with costs, so the cost chart has past days whose figures no longer move
// and the list needs three pages. Once per stack: the first test that needs them seeds.
constexpr int kHistoryJobs = 125;
std::string HistoryId(int i) {
  char id[16];
  std::snprintf(id, sizeof id, "ui-hist-%03d", i);
  return id;
}
void SeedHistory() {
  static Stack* seeded = nullptr;
  if (seeded == &TheStack()) return;
  ApiSync();  // whatever an earlier test left unsynced is not counted below
  constexpr int64_t kHour = int64_t{3600} * 1000000;
  const int64_t start = NowMicros() - 12 * 24 * kHour;
  // A sync reads the newest sync_max_jobs (100) runs: import in batches, oldest first.
  constexpr int kBatch = 25;
  for (int first = 0; first < kHistoryJobs; first += kBatch) {
    for (int i = first; i < first + kBatch && i < kHistoryJobs; ++i) {
      const int64_t created = start + i * 2 * kHour;
      const int predict = 60 + (i * 37) % 600;
      CreateRunJson(HistoryId(i), R"("status":"succeeded","kind":"training","created_at":")" +
                                      FormatTimestamp(created) + R"(","started_at":")" +
                                      FormatTimestamp(created + 30 * 1000000) +
                                      R"(","completed_at":")" +
                                      FormatTimestamp(created + (30 + predict) * int64_t{1000000}) +
                                      R"(","predict_time":)" + std::to_string(predict));
    }
    BOOST_TEST_REQUIRE(ApiSync() == std::min(kBatch, kHistoryJobs - first));
  }
  seeded = &TheStack();
}

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

BOOST_AUTO_TEST_CASE(running_card_shows_time_left_and_speed) {
  CreateRun("ui-eta", "processing");
  BOOST_TEST(ApiSync() == 1);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b.WaitForCards({"ui-eta"}, 10000));
  const std::string eta = Card("ui-eta") + " .job-eta";
  // No tqdm suffix yet: nothing to show.
  BOOST_TEST((b->Find(eta).empty() || !b->Displayed(b->Find(eta))),
             ".job-eta shows without a rate");

  Sim().Control(
      "POST", "/runs/ui-eta/logs",
      R"({"append":"Steps:  70%|\u2588\u2588\u2588\u2588\u2588\u2588\u2588   | 700/1000 [01:29<00:38, 7.8it/s]\n"})");
  const std::regex shown("≈ (\\d+) s left · 7\\.8 it/s");
  std::string text;
  int first = -1;
  const bool appeared = b->WaitFor(
      [&] {
        text = b.TextOf(eta);
        std::smatch m;
        if (!std::regex_match(text, m, shown)) return false;
        first = std::stoi(m[1]);
        return true;
      },
      15000);
  BOOST_TEST_REQUIRE(appeared, ".job-eta: last seen \"" << text << "\"");
  BOOST_TEST((first <= 38 && first >= 25), "time left " << first << " s, from 38 s");

  // Between updates the time left counts down (inline progress repeating the same
  // eta_seconds does not reset it).
  int later = first;
  const bool counted = b->WaitFor(
      [&] {
        std::smatch m;
        text = b.TextOf(eta);
        if (std::regex_match(text, m, shown)) later = std::stoi(m[1]);
        return later <= first - 3;
      },
      8000);
  BOOST_TEST(counted, "time left did not count down from " << first << " s: \"" << text << "\"");

  // Slow steps and minutes: s/it, and "≈ 5 min left".
  Sim().Control(
      "POST", "/runs/ui-eta/logs",
      R"({"append":"Steps:  71%|\u2588\u2588\u2588\u2588\u2588\u2588\u2588   | 710/1000 [01:49<05:00, 2.00s/it]\n"})");
  BOOST_TEST(b.Becomes([&] { return b.TextOf(eta); }, "≈ 5 min left · 2 s/it", 15000, ".job-eta"));
}

BOOST_AUTO_TEST_CASE(failed_card_shows_its_reason) {
  // Markup in the provider's text must stay text.
  CreateRunJson(
      "ui-failed",
      R"("status":"failed","error":"<b>CUDA</b> out of memory. Tried to allocate 2.00 GiB\nTraceback (most recent call last):\n  File \"train.py\", line 1")");
  CreateRun("ui-failed-not", "succeeded");
  BOOST_TEST(ApiSync() == 2);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b.WaitForCards({"ui-failed", "ui-failed-not"}, 10000));
  BOOST_TEST(b.AttrOf(Card("ui-failed"), "data-status") == "failed");
  BOOST_TEST(b.TextOf(Card("ui-failed") + " .job-error") ==
             "<b>CUDA</b> out of memory. Tried to allocate 2.00 GiB");
  BOOST_TEST(b->Find(Card("ui-failed") + " .job-error b").empty(), "the reason became markup");
  BOOST_TEST(b->Find(Card("ui-failed-not") + " .job-error").empty(),
             "a completed job shows a reason");
}

BOOST_AUTO_TEST_CASE(cost_chart_matches_the_metrics_api) {
  SeedHistory();
  Browser b;
  b.Load();
  const auto api = ApiGet("/api/cloud/metrics?days=30");
  const auto& days = api["cost_by_day"];
  BOOST_TEST_REQUIRE(days.IsArray());
  BOOST_TEST_REQUIRE(days.Size() >= 10u, "the seeded history spans 10 days or more");
  BOOST_TEST_REQUIRE(
      b->WaitFor([&] { return b->FindAll("figure#cost-chart rect.bar").size() == days.Size(); },
                 10000),
      "figure#cost-chart has " << b->FindAll("figure#cost-chart rect.bar").size()
                               << " bars, the API " << days.Size() << " days");
  const auto bars = b->ExecuteScriptJson(
      "return [...document.querySelectorAll('figure#cost-chart rect.bar')].map((r) => "
      "[r.dataset.date, Number(r.dataset.cost), Number(r.dataset.jobs), "
      " r.querySelector('title') ? r.querySelector('title').textContent : '', "
      " Number(r.getAttribute('height'))]);");
  BOOST_TEST_REQUIRE(bars.IsArray());
  const std::string today = FormatTimestamp(NowMicros()).substr(0, 10);
  double max_cost = 0;  // the page's own: today's may have moved since
  for (const auto& bar : bars.GetArray()) max_cost = std::max(max_cost, bar[1].GetDouble());
  for (rapidjson::SizeType i = 0; i < days.Size(); ++i) {
    const auto& day = days[i];
    const auto& bar = bars[i];
    const std::string date = day["date"].GetString();
    BOOST_TEST(bar[0].GetString() == date, "bar " << i);
    BOOST_TEST(std::string(bar[3].GetString()).find(date) == 0, "bar " << i << " title");
    if (date == today) continue;  // running jobs' estimates still move today's figures
    BOOST_TEST(bar[2].GetInt() == day["jobs"].GetInt(), date);
    BOOST_TEST(std::abs(bar[1].GetDouble() - day["cost_usd"].GetDouble()) < 1e-9, date);
    // The tallest bar is the most expensive day; the others in proportion.
    if (max_cost > 0 && day["cost_usd"].GetDouble() > 0.05 * max_cost) {
      BOOST_TEST(
          std::abs(bar[4].GetDouble() / 96.0 - day["cost_usd"].GetDouble() / max_cost) < 0.02,
          date << " height " << bar[4].GetDouble());
    }
  }
  // The figures as text for screen readers: one row per day.
  BOOST_TEST(b->FindAll("figure#cost-chart table tbody tr").size() == days.Size());
  // Jobs by status: the segments carry the API's counts (retried: jobs move on).
  std::string last;
  BOOST_TEST(b->WaitFor(
                 [&] {
                   const auto metrics = ApiGet("/api/cloud/metrics?days=30");
                   std::map<std::string, int> want;
                   for (const auto& m : metrics["jobs_by_status"].GetObject()) {
                     if (m.value.GetInt() > 0) want[m.name.GetString()] = m.value.GetInt();
                   }
                   const auto got = b->ExecuteScriptJson(
                       "return Object.fromEntries([...document.querySelectorAll("
                       "'figure#status-chart rect[data-status]')].map((r) => "
                       "[r.dataset.status, Number(r.dataset.count)]));");
                   std::map<std::string, int> have;
                   for (const auto& m : got.GetObject())
                     have[m.name.GetString()] = m.value.GetInt();
                   last = std::to_string(have.size()) + " segments";
                   if (want != have)
                     b->ExecuteScript("document.getElementById('refresh-button').click();");
                   return want == have;
                 },
                 15000),
             "#status-chart does not match jobs_by_status: " << last);
}

BOOST_AUTO_TEST_CASE(search_narrows_the_list_and_survives_a_reload) {
  CreateRun("ui-search-needle-a", "succeeded", "acme/haystack");
  CreateRun("ui-search-other", "succeeded", "acme/needle-model");
  CreateRun("ui-search-plain", "succeeded");
  BOOST_TEST(ApiSync() == 3);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(
      b.WaitForCards({"ui-search-needle-a", "ui-search-other", "ui-search-plain"}, 10000));
  const std::string input = b->Find("input#search-input");
  BOOST_TEST_REQUIRE(!input.empty(), "no #search-input");
  b->SendKeys(input, "NEEDLE");  // case-insensitive: the id and the model match
  const std::vector<std::string> want = {"ui-search-other", "ui-search-needle-a"};
  std::vector<std::string> ids;
  BOOST_TEST(b->WaitFor(
                 [&] {
                   ids = b.CardIds();
                   return std::set<std::string>(ids.begin(), ids.end()) ==
                          std::set<std::string>(want.begin(), want.end());
                 },
                 10000),
             "the search shows " << ids.size() << " cards");
  BOOST_TEST(b->CurrentUrl().find("?q=NEEDLE") != std::string::npos, b->CurrentUrl());

  // A reload (or a shared link) shows the same search.
  b->Navigate(b->CurrentUrl());
  BOOST_TEST(b->WaitFor(
                 [&] {
                   ids = b.CardIds();
                   return std::set<std::string>(ids.begin(), ids.end()) ==
                          std::set<std::string>(want.begin(), want.end());
                 },
                 10000),
             "after the reload the list shows " << ids.size() << " cards");
  BOOST_TEST(b->Property(b->Find("input#search-input"), "value") == "\"NEEDLE\"");

  // Nothing found: the empty state says so.
  b->ExecuteScript(
      "const i = document.getElementById('search-input'); i.value = 'no-such-job-zzz';"
      "i.dispatchEvent(new Event('input'));");
  BOOST_TEST(b->WaitFor([&] { return b->Displayed(b->Find("#empty-state")); }, 10000));
  BOOST_TEST(b.TextOf("#empty-state").find("no-such-job-zzz") != std::string::npos);

  // Cleared: every job again, and no q in the URL.
  b->ExecuteScript(
      "const i = document.getElementById('search-input'); i.value = '';"
      "i.dispatchEvent(new Event('input'));");
  BOOST_TEST(b.WaitForCards({"ui-search-needle-a", "ui-search-other", "ui-search-plain"}, 10000));
  BOOST_TEST(b->WaitFor([&] { return b->CurrentUrl().find("q=") == std::string::npos; }, 5000),
             b->CurrentUrl());
}

BOOST_AUTO_TEST_CASE(load_more_reaches_the_120th_job) {
  SeedHistory();
  const int total = ApiGet("/api/cloud/jobs?limit=1")["total"].GetInt();
  BOOST_TEST_REQUIRE(total >= 120);

  Browser b;
  b.Load();
  BOOST_TEST(b->WaitFor([&] { return b.CardIds().size() == 50u; }, 10000), "first page of 50");
  const std::string more = b->Find("#load-more");
  BOOST_TEST_REQUIRE((!more.empty() && b->Displayed(more)),
                     "no #load-more with " << total << " jobs");
  BOOST_TEST(b.TextOf("#job-count") == "newest 50 of " + std::to_string(total));
  BOOST_TEST(b->Find(Card(HistoryId(0))).empty());

  size_t shown = 50;
  for (int clicks = 0; clicks < 5 && b->Find(Card(HistoryId(0))).empty(); ++clicks) {
    b->Click(b->Find("#load-more"));
    BOOST_TEST_REQUIRE(b->WaitFor([&] { return b.CardIds().size() > shown; }, 10000),
                       "Load more added nothing to " << shown << " cards");
    shown = b.CardIds().size();
  }
  const auto ids = b.CardIds();
  BOOST_TEST(ids.size() == static_cast<size_t>(total));
  BOOST_TEST(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size(), "duplicate cards");
  BOOST_TEST(ids.back() == HistoryId(0), "the oldest job is not last");
  BOOST_TEST(!b->Find(Card(HistoryId(0))).empty(), "the 120th job and beyond never showed");
  BOOST_TEST(!b->Displayed(b->Find("#load-more")), "#load-more still shows at the end");
  BOOST_TEST(b.TextOf("#job-count") == std::to_string(total) + " jobs");
  // A reload (the refresh button) keeps the loaded pages.
  b->Click(b->Find("#refresh-button"));
  BOOST_TEST(b->WaitFor([&] { return b.AttrOf("#refresh-button", "aria-busy") != "true"; }, 10000));
  BOOST_TEST(b.CardIds().size() == static_cast<size_t>(total));
}

BOOST_AUTO_TEST_CASE(detail_log_follows_the_run) {
  CreateRunJson("ui-follow", R"("status":"processing","logs":"Loading model\n")");
  BOOST_TEST(ApiSync() == 1);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b.WaitForCards({"ui-follow"}, 10000));
  b->Click(b->Find(Card("ui-follow")));
  BOOST_TEST_REQUIRE(
      b.Becomes([&] { return b.TextOf("pre#job-logs"); }, "Loading model", 10000, "#job-logs"));
  BOOST_TEST(b.AttrOf("pre#job-logs", "data-following") == "true");

  const std::string log_text = "return document.getElementById('job-logs').textContent;";
  const std::string at_bottom =
      "const p = document.getElementById('job-logs');"
      "return p.scrollHeight - p.scrollTop - p.clientHeight < 4;";
  auto append_steps = [&](int from, int to) {
    std::string lines;
    for (int i = from; i <= to; ++i) lines += "step " + std::to_string(i) + "/1000 - loss: 0.1\\n";
    Sim().Control("POST", "/runs/ui-follow/logs", R"({"append":")" + lines + R"("})");
  };
  auto shows = [&](int step) {
    return b->WaitFor(
        [&] {
          return b->ExecuteScript(log_text).find("step " + std::to_string(step) + "/1000") !=
                 std::string::npos;
        },
        15000);
  };

  // The log grows while the panel is open, without a click, and follows the end.
  append_steps(1, 60);
  BOOST_TEST_REQUIRE(shows(60), "the log did not grow to step 60");
  BOOST_TEST(b->ExecuteScript("const p = document.getElementById('job-logs');"
                              "return p.scrollHeight > p.clientHeight;") == "true",
             "60 lines do not overflow the log");
  BOOST_TEST(b->ExecuteScript(at_bottom) == "true", "the log did not scroll to its end");

  // A reader who scrolled up keeps their place.
  b->ExecuteScript("document.getElementById('job-logs').scrollTop = 0;");
  append_steps(61, 70);
  BOOST_TEST(shows(70), "the log did not grow to step 70");
  BOOST_TEST(b->ExecuteScript("return document.getElementById('job-logs').scrollTop;") == "0",
             "the log jumped while the reader was reading");

  // Back at the bottom, it follows again.
  b->ExecuteScript("const p = document.getElementById('job-logs'); p.scrollTop = p.scrollHeight;");
  append_steps(71, 80);
  BOOST_TEST(shows(80), "the log did not grow to step 80");
  BOOST_TEST(b->ExecuteScript(at_bottom) == "true", "the log stopped following its end");

  // An unchanged log is asked for with If-None-Match and costs a 304.
  BOOST_TEST(b->WaitFor(
                 [&] {
                   return b->ExecuteScript(
                              "return performance.getEntriesByType('resource').some((e) => "
                              "e.name.includes('/ui-follow/logs') && e.responseStatus === 304);") ==
                          "true";
                 },
                 8000),
             "no 304 for the followed log");

  // A finished job is not followed any more; neither is a closed panel.
  Sim().Control("POST", "/runs/ui-follow/status", R"({"status":"succeeded"})");
  BOOST_TEST(b.Becomes([&] { return b.AttrOf("pre#job-logs", "data-following"); }, "false", 15000,
                       "#job-logs[data-following] of a finished job"));
  b->Click(b->Find("#close-detail"));
  BOOST_TEST(b.AttrOf("pre#job-logs", "data-following") == "false");
}

// The page with every part filled, for the eye (and the README): desktop, then 360 px.
BOOST_AUTO_TEST_CASE(page_features_at_desktop_and_360px) {
  SeedHistory();
  CreateRunJson(
      "ui-shot-failed",
      R"("status":"failed","model":"acme/sdxl-lora","error":"CUDA out of memory. Tried to allocate 2.00 GiB\nTraceback")");
  CreateRunJson(
      "ui-shot-running",
      R"("status":"processing","model":"acme/flux-lora-trainer","logs":"Epoch 1/4 Steps:  42%|\u2588\u2588\u2588\u2588     | 420/1000 [00:54<01:14, 7.8it/s]\n")");
  BOOST_TEST(ApiSync() == 2);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b.WaitForCards({"ui-shot-running", "ui-shot-failed"}, 10000));
  BOOST_TEST(b->WaitFor([&] { return !b->FindAll("figure#cost-chart rect.bar").empty(); }, 10000));
  BOOST_TEST(b->WaitFor(
      [&] {
        return b.TextOf(Card("ui-shot-running") + " .job-eta").find("it/s") != std::string::npos;
      },
      15000));
  b->Screenshot(testing::BinDir() + "/ui-features-desktop.png");

  b.SetViewport(360, 740);
  BOOST_TEST(
      b->WaitFor([&] { return b->ExecuteScript("return window.innerWidth;") == "360"; }, 5000));
  const auto size = b->ExecuteScriptJson(
      "return [document.documentElement.scrollWidth, document.body.scrollWidth];");
  BOOST_TEST(size[0].GetInt() <= 360,
             "horizontal scroll: document scrollWidth " << size[0].GetInt());
  BOOST_TEST(size[1].GetInt() <= 360, "horizontal scroll: body scrollWidth " << size[1].GetInt());
  b->Screenshot(testing::BinDir() + "/ui-features-360.png");
  // The list part at 360 px: the cards with time left and reason.
  b->ExecuteScript("document.getElementById('job-list-section').scrollIntoView();");
  b->Screenshot(testing::BinDir() + "/ui-features-360-list.png");
}

// More jobs loaded than one request may ask for (limit 500): a reload fetches
// them all again in two requests instead of cutting the list at 500. The extra
// finished jobs are written to the database directly (the simulator's sync
// takes 100 at a time) and are 40 days old, outside every chart. Last in the
// suite: the list is long afterwards.
BOOST_AUTO_TEST_CASE(a_reload_keeps_more_than_500_loaded_jobs) {
  SeedHistory();
  {
    auto store = Store::Open(TheStack().db_path());
    BOOST_TEST_REQUIRE(store.ok(), store.status().ToString());
    constexpr int64_t kMinute = int64_t{60} * 1000000;
    const int64_t start = NowMicros() - int64_t{40} * 24 * 60 * kMinute;
    for (int i = 0; i < 430; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "ui-bulk-%03d", i);
      Observation obs;
      obs.provider = "replicate";
      obs.external_id = id;
      obs.provider_status = "succeeded";
      obs.created_at = start + i * kMinute;
      obs.started_at = *obs.created_at;
      obs.completed_at = *obs.created_at + 5 * kMinute;
      BOOST_TEST_REQUIRE((*store)->Apply(obs, PriceTable{}, NowMicros()).ok());
    }
  }
  const int total = ApiGet("/api/cloud/jobs?limit=1")["total"].GetInt();
  BOOST_TEST_REQUIRE(total >= 555);
  std::vector<std::string> want;
  for (const char* page : {"/api/cloud/jobs?limit=500", "/api/cloud/jobs?limit=50&offset=500"}) {
    const auto doc = ApiGet(page);
    for (const auto& job : doc["jobs"].GetArray()) want.push_back(job["job_id"].GetString());
  }
  BOOST_TEST_REQUIRE(want.size() == 550u);

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b->WaitFor([&] { return b.CardIds().size() == 50u; }, 10000));
  size_t shown = 50;
  for (int clicks = 0; clicks < 12 && shown < 550; ++clicks) {
    b->Click(b->Find("#load-more"));
    BOOST_TEST_REQUIRE(b->WaitFor([&] { return b.CardIds().size() > shown; }, 10000),
                       "Load more added nothing to " << shown << " cards");
    shown = b.CardIds().size();
  }
  BOOST_TEST_REQUIRE(shown == 550u);
  b->Click(b->Find("#refresh-button"));
  BOOST_TEST(b->WaitFor([&] { return b.AttrOf("#refresh-button", "aria-busy") != "true"; }, 10000));
  BOOST_TEST(b->WaitFor([&] { return b.CardIds() == want; }, 10000),
             "after the reload the list shows " << b.CardIds().size() << " cards");
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
