// The web page's side of job submission and the queue (SPEC §12, issue 11) in a real
// browser (tests/integration/ui_harness.h), against the real stack with the worker and
// the simulator playing Replicate.
//
// Suite web_ui_queue runs with background.queue_processing.enabled: false, so nothing
// is ever dispatched and every submission stays waiting; each test first cancels what
// earlier tests left waiting, so positions start at #1. Suite web_ui_queue_dispatch
// runs with queue processing on and the simulator moving the runs it creates.
//
// The page's DOM contract these tests add to ui_it.cc's: #new-job-button opens
// <dialog id="submit-dialog"> with select#submit-kind, #submit-model, #submit-version,
// #submit-destination (in #submit-destination-field, hidden for predictions),
// #submit-config-name, textarea#submit-input, select#submit-priority, each with
// p#<id>-error beside it, #submit-button and #submit-cancel; a pending card of a
// waiting job has .job-queue-position ("waiting for a slot · #N in queue") and
// div.job-queue-actions with select.job-priority and button.job-queue-cancel; the
// metrics bar has #metric-queue-depth and #metric-queue-running.
#include <boost/test/unit_test.hpp>
// (Boost.Test first: the module is defined in main.cc.)
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

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
using testing::Parse;
using testing::Sim;
using testing::Str;
using testing::TheStack;
using testing::WebDriver;

// WebDriver's Escape key (U+E00C).
constexpr const char* kEscape = "\xEE\x80\x8C";

struct QueueUiStack {
  QueueUiStack() {
    testing::StackOptions options;
    options.enterprise_yaml = "background:\n  queue_processing:\n    enabled: false\n";
    testing::StartUiStack(options);
  }
  ~QueueUiStack() { testing::StopUiStack(); }
};

struct DispatchUiStack {
  DispatchUiStack() { testing::StartUiStack(); }
  ~DispatchUiStack() { testing::StopUiStack(); }
};

// A JSON array of strings, for ExecuteScript's arguments.
std::string JsonStrings(const std::vector<std::string>& values) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartArray();
  for (const auto& v : values) w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  w.EndArray();
  return buffer.GetString();
}

// Sets a dialog field as typing or choosing would (input and change events).
void Fill(Browser& b, const std::string& id, const std::string& value) {
  b->ExecuteScript(
      "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
      "e.dispatchEvent(new Event('input', {bubbles: true}));"
      "e.dispatchEvent(new Event('change', {bubbles: true}));",
      JsonStrings({id, value}));
}

bool DialogOpen(Browser& b) { return b->Property(b->Find("#submit-dialog"), "open") == "true"; }

std::string ActiveId(Browser& b) {
  return b->ExecuteScript("return document.activeElement ? document.activeElement.id : null;");
}

// POST /api/queue/{id}/cancel for every waiting entry, so a test starts at #1.
void DrainQueue() {
  const auto waiting = ApiGet("/api/queue?status=waiting&limit=500");
  for (const auto& e : waiting["entries"].GetArray()) {
    const std::string id = e["job_id"].GetString();
    const HttpResult r = Http("POST", TheStack().Url("/api/queue/" + id + "/cancel"));
    BOOST_TEST_REQUIRE(r.status == 200, "cancel " << id << ": " << r.status << " " << r.body);
  }
  BOOST_TEST_REQUIRE(ApiGet("/api/queue/stats")["queue_depth"].GetInt() == 0);
}

// A prediction submitted through the API; returns its job id.
std::string SubmitPrediction(const std::string& prompt) {
  const HttpResult r =
      Http("POST", TheStack().Url("/api/cloud/jobs/submit"),
           R"({"kind":"prediction","model":"acme/sdxl","input":{"prompt":")" + prompt + R"("}})",
           {"Content-Type: application/json"});
  BOOST_TEST_REQUIRE(r.status == 202, "submit: " << r.status << " " << r.body);
  return Parse(r.body)["job"]["job_id"].GetString();
}

// job_id -> position of every waiting entry, from GET /api/queue?status=waiting.
std::map<std::string, int> WaitingPositions() {
  std::map<std::string, int> out;
  const auto doc = ApiGet("/api/queue?status=waiting&limit=500");
  for (const auto& e : doc["entries"].GetArray()) {
    out[e["job_id"].GetString()] = e["position"].IsInt() ? e["position"].GetInt() : -1;
  }
  return out;
}

// The simulator's create requests so far (predictions and trainings).
int SimCreates() {
  const auto counters = Parse(Sim().Control("GET", "/counters"));
  const auto& endpoints = counters["endpoints"];
  int n = 0;
  for (const char* name : {"create_prediction", "create_training"}) {
    const auto it = endpoints.FindMember(name);
    if (it != endpoints.MemberEnd() && it->value.IsInt()) n += it->value.GetInt();
  }
  return n;
}

std::string PositionText(int n) {
  return "waiting for a slot · #" + std::to_string(n) + " in queue";
}

// Waits until a .toast with exactly `text` shows.
bool ToastShows(Browser& b, const std::string& text) {
  return b->WaitFor(
      [&] {
        for (const auto& t : b->FindAll("#toasts .toast")) {
          if (b->Text(t) == text) return true;
        }
        return false;
      },
      10000);
}

// Opens the dialog with the New job button and waits until it is open.
void OpenDialog(Browser& b) {
  b->Click(b->Find("#new-job-button"));
  BOOST_TEST_REQUIRE(b->WaitFor([&] { return DialogOpen(b); }, 5000),
                     "#submit-dialog did not open");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(web_ui_queue, *boost::unit_test::fixture<QueueUiStack>())

BOOST_AUTO_TEST_CASE(new_job_dialog_validates_and_submits) {
  DrainQueue();
  const int total_before = ApiGet("/api/queue")["total"].GetInt();

  Browser b;
  b.Load();
  // Every request the page sends to the submit endpoint, with its Idempotency-Key.
  b->ExecuteScript(
      "window.__submits = []; const f = window.fetch;"
      "window.fetch = (url, init) => {"
      "  if (String(url).includes('/api/cloud/jobs/submit'))"
      "    window.__submits.push((init && init.headers && init.headers['Idempotency-Key']) || '');"
      "  return f(url, init); };");

  // Opens with the focus on its first field; Escape closes it and the focus goes back.
  OpenDialog(b);
  BOOST_TEST(ActiveId(b) == "\"submit-kind\"");
  b->SendKeys(b->ActiveElement(), kEscape);
  BOOST_TEST(b->WaitFor([&] { return !DialogOpen(b); }, 5000), "Escape did not close the dialog");
  BOOST_TEST(b.Becomes([&] { return ActiveId(b); }, "\"new-job-button\"", 5000, "focus after Esc"));

  // Input that does not parse: the parser's message next to the input, nothing sent.
  OpenDialog(b);
  Fill(b, "submit-kind", "prediction");
  b->SendKeys(b->Find("#submit-model"), "acme/sdxl");
  Fill(b, "submit-input", R"({"a":)");
  b->Click(b->Find("#submit-button"));
  const std::string parser_message =
      Parse(b->ExecuteScript("try { JSON.parse('{\"a\":'); return ''; }"
                             " catch (e) { return e.message; }"))
          .GetString();
  BOOST_TEST_REQUIRE(!parser_message.empty());
  BOOST_TEST(b.Becomes([&] { return b.TextOf("#submit-input-error"); },
                       "Not valid JSON: " + parser_message, 5000, "#submit-input-error"));
  BOOST_TEST(b.AttrOf("#submit-input", "aria-invalid") == "true");
  BOOST_TEST(ActiveId(b) == "\"submit-input\"");
  BOOST_TEST(DialogOpen(b));
  // JSON that is not an object.
  Fill(b, "submit-input", "[1]");
  b->Click(b->Find("#submit-button"));
  BOOST_TEST(b.Becomes([&] { return b.TextOf("#submit-input-error"); },
                       "The input must be a JSON object, such as {\"prompt\": \"…\"}.", 5000,
                       "#submit-input-error"));
  BOOST_TEST(b->ExecuteScript("return window.__submits.length;") == "0");
  BOOST_TEST(ApiGet("/api/queue")["total"].GetInt() == total_before);

  // A training without a version: the server's 400 names the field; its message shows
  // next to the version field.
  Fill(b, "submit-kind", "training");
  BOOST_TEST(b->Displayed(b->Find("#submit-destination-field")));
  Fill(b, "submit-model", "acme/flux-trainer");
  Fill(b, "submit-destination", "me/my-lora");
  Fill(b, "submit-input", R"({"max_train_steps": 10})");
  b->Click(b->Find("#submit-button"));
  BOOST_TEST(b.Becomes([&] { return b.TextOf("#submit-version-error"); },
                       "invalid value for body field 'version': expected a version id of 64 hex "
                       "digits",
                       5000, "#submit-version-error"));
  BOOST_TEST(b.AttrOf("#submit-version", "aria-invalid") == "true");
  BOOST_TEST(ActiveId(b) == "\"submit-version\"");
  BOOST_TEST(!b->Displayed(b->Find("#submit-input-error")), "the input error stayed");
  BOOST_TEST(DialogOpen(b));
  BOOST_TEST(b->ExecuteScript("return window.__submits.length;") == "1");
  b->Screenshot(testing::BinDir() + "/ui-queue-dialog-error.png");
  BOOST_TEST(ApiGet("/api/queue")["total"].GetInt() == total_before);

  // A valid prediction, submitted by a double click: one job, the dialog closes, a toast
  // gives the position and the card appears pending at that position.
  Fill(b, "submit-kind", "prediction");
  BOOST_TEST(!b->Displayed(b->Find("#submit-destination-field")));
  Fill(b, "submit-model", "acme/sdxl");
  Fill(b, "submit-input", R"({"prompt": "x"})");
  Fill(b, "submit-priority", "normal");
  b->ExecuteScript("const s = document.getElementById('submit-button'); s.click(); s.click();");
  BOOST_TEST_REQUIRE(b->WaitFor([&] { return !DialogOpen(b); }, 10000),
                     "the dialog stayed open: " << b.TextOf("#submit-error") << " / "
                                                << b.TextOf("#submit-version-error"));
  BOOST_TEST(
      b.Becomes([&] { return ActiveId(b); }, "\"new-job-button\"", 5000, "focus after submitting"));
  const auto waiting = ApiGet("/api/queue?status=waiting");
  BOOST_TEST_REQUIRE(waiting["entries"].Size() == 1u,
                     "waiting entries: " << waiting["total"].GetInt());
  const std::string id = waiting["entries"][0]["job_id"].GetString();
  const int position = waiting["entries"][0]["position"].GetInt();
  BOOST_TEST(position == 1);
  BOOST_TEST(Str(waiting["entries"][0], "status") == "waiting");
  BOOST_TEST(ApiGet("/api/queue")["total"].GetInt() == total_before + 1);
  BOOST_TEST(ToastShows(b, "Job " + id + " submitted · #1 in queue"), "no toast for " << id);

  BOOST_TEST_REQUIRE(b.WaitForCards({id}, 10000), "no card for the submitted job " << id);
  BOOST_TEST(b.Becomes([&] { return b.AttrOf(Card(id), "data-status"); }, "pending", 5000,
                       "card data-status"));
  BOOST_TEST(b.TextOf(Card(id) + " .status-badge") == "pending");
  BOOST_TEST(b.TextOf(Card(id) + " .job-model") == "acme/sdxl");
  BOOST_TEST(b.Becomes([&] { return b.TextOf(Card(id) + " .job-queue-position"); },
                       PositionText(position), 5000, ".job-queue-position"));
  BOOST_TEST((WaitingPositions() == std::map<std::string, int>{{id, 1}}));

  // Both attempts of that opening carried one key; the server gives the same job for it.
  const auto keys = b->ExecuteScriptJson("return window.__submits;");
  BOOST_TEST_REQUIRE(keys.Size() == 2u, "submit requests: " << keys.Size());
  const std::string key = keys[0].GetString();
  BOOST_TEST(keys[1].GetString() == key);
  BOOST_TEST(key.size() == 37u, key);
  BOOST_TEST(key.rfind("page-", 0) == 0u, key);
  const HttpResult replay =
      Http("POST", TheStack().Url("/api/cloud/jobs/submit"),
           R"({"kind":"prediction","model":"acme/sdxl","input":{"prompt":"x"}})",
           {"Content-Type: application/json", "Idempotency-Key: " + key});
  BOOST_TEST(replay.status == 202, replay.body);
  BOOST_TEST(replay.Header("idempotent-replayed") == "true");
  BOOST_TEST(std::string(Parse(replay.body)["job"]["job_id"].GetString()) == id);
  BOOST_TEST(ApiGet("/api/queue")["total"].GetInt() == total_before + 1);

  // The only console errors are the network line of the 400 the page showed.
  std::string severe;
  for (const auto& e : b->BrowserLog()) {
    if (e.level != "SEVERE") continue;
    const bool the_400 = e.source == "network" &&
                         e.message.find("/api/cloud/jobs/submit") != std::string::npos &&
                         e.message.find("400") != std::string::npos;
    if (!the_400) severe += "\n  " + e.source + " " + e.message;
  }
  BOOST_TEST(severe.empty(), "console errors:" << severe);
}

BOOST_AUTO_TEST_CASE(waiting_card_priority_and_cancel) {
  DrainQueue();
  Sim().Control("POST", "/counters/reset");
  const std::string first = SubmitPrediction("first");
  const std::string second = SubmitPrediction("second");
  BOOST_TEST_REQUIRE((WaitingPositions() == std::map<std::string, int>{{first, 1}, {second, 2}}));

  Browser b;
  b.Load();
  BOOST_TEST_REQUIRE(b.WaitForCards({first, second}, 10000));
  BOOST_TEST(b.Becomes([&] { return b.TextOf(Card(first) + " .job-queue-position"); },
                       PositionText(1), 5000, "first card"));
  BOOST_TEST(b.TextOf(Card(second) + " .job-queue-position") == PositionText(2));
  BOOST_TEST(b->Property(b->Find(Card(second) + " select.job-priority"), "value") == "\"normal\"");
  BOOST_TEST(!b->Find(Card(first) + " button.job-queue-cancel").empty());
  // Jobs that are not waiting (the ones DrainQueue cancelled) offer no queue actions.
  const std::string stray =
      "return [...document.querySelectorAll('li.job-card')].filter((c) =>"
      " c.dataset.status !== 'pending' && (c.querySelector('.job-queue-actions') ||"
      " c.querySelector('.job-queue-position'))).length;";
  BOOST_TEST(b->ExecuteScript(stray) == "0");

  // The second goes up: the positions swap on both cards and in the API.
  b->Click(b->Find(Card(second) + " select.job-priority option[value=\"high\"]"));
  BOOST_TEST(b.Becomes([&] { return b.TextOf(Card(second) + " .job-queue-position"); },
                       PositionText(1), 5000, "second card after high"));
  BOOST_TEST(b.Becomes([&] { return b.TextOf(Card(first) + " .job-queue-position"); },
                       PositionText(2), 5000, "first card after high"));
  BOOST_TEST((WaitingPositions() == std::map<std::string, int>{{first, 2}, {second, 1}}));
  const auto entry = ApiGet("/api/queue/position/" + second);
  BOOST_TEST(entry["priority"].GetInt() == 20);
  BOOST_TEST(b->Property(b->Find(Card(second) + " select.job-priority"), "value") == "\"high\"");
  BOOST_TEST(b.AttrOf(Card(first), "data-status") == "pending");

  // The first is cancelled from its card (after the confirmation): it leaves the queue.
  b->Click(b->Find(Card(first) + " button.job-queue-cancel"));
  BOOST_TEST_REQUIRE(
      b->WaitFor([&] { return b->Property(b->Find("#confirm-dialog"), "open") == "true"; }, 5000),
      "#confirm-dialog did not open");
  BOOST_TEST(Str(ApiGet("/api/queue/position/" + first), "status") == "waiting");
  b->Click(b->Find("#confirm-yes"));
  BOOST_TEST(b.Becomes([&] { return b.AttrOf(Card(first), "data-status"); }, "cancelled", 5000,
                       "first card after cancel"));
  BOOST_TEST(b.TextOf(Card(first) + " .status-badge") == "cancelled");
  BOOST_TEST(b->Find(Card(first) + " .job-queue-actions").empty());
  BOOST_TEST(b->Find(Card(first) + " .job-queue-position").empty());
  const auto closed = ApiGet("/api/queue/position/" + first);
  BOOST_TEST(Str(closed, "status") == "closed");
  BOOST_TEST(closed["position"].IsNull());
  BOOST_TEST(Str(ApiGet("/api/cloud/jobs/" + first)["job"], "status") == "cancelled");
  BOOST_TEST((WaitingPositions() == std::map<std::string, int>{{second, 1}}));
  BOOST_TEST(b.Becomes([&] { return b.TextOf(Card(second) + " .job-queue-position"); },
                       PositionText(1), 5000, "second card after the cancel"));
  BOOST_TEST(b->ExecuteScript(stray) == "0");

  // Nothing reached the provider.
  BOOST_TEST(SimCreates() == 0);
}

BOOST_AUTO_TEST_CASE(queue_depth_in_the_metrics_bar) {
  DrainQueue();
  Browser b;
  b.Load();
  BOOST_TEST(b.Becomes([&] { return b.TextOf("#metric-queue-depth"); }, "0", 5000, "depth"));
  BOOST_TEST(b.TextOf("#metric-queue-running") == "0");

  constexpr int kJobs = 3;
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) ids.push_back(SubmitPrediction("depth-" + std::to_string(i)));
  // The page hears of them by their job_status_changed events.
  BOOST_TEST(b.Becomes([&] { return b.TextOf("#metric-queue-depth"); }, std::to_string(kJobs),
                       10000, "#metric-queue-depth"));
  BOOST_TEST(b.TextOf("#metric-queue-running") == "0");
  const auto stats = ApiGet("/api/queue/stats");
  BOOST_TEST(stats["queue_depth"].GetInt() == kJobs);
  BOOST_TEST(stats["running"].GetInt() == 0);
  BOOST_TEST(b.WaitForCards(ids, 10000));
  BOOST_TEST(b.Becomes([&] { return b.TextOf(Card(ids.back()) + " .job-queue-position"); },
                       PositionText(kJobs), 5000, "newest card"));

  // One cancelled through the API: the bar follows.
  const HttpResult r = Http("POST", TheStack().Url("/api/queue/" + ids.front() + "/cancel"));
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(b.Becomes([&] { return b.TextOf("#metric-queue-depth"); }, std::to_string(kJobs - 1),
                       10000, "#metric-queue-depth after a cancel"));
  BOOST_TEST(ApiGet("/api/queue/stats")["queue_depth"].GetInt() == kJobs - 1);
  b->Screenshot(testing::BinDir() + "/ui-queue-desktop.png");

  // Queue cards, the bar and the open dialog fit 360 px without horizontal scroll.
  b.SetViewport(360, 740);
  BOOST_TEST(
      b->WaitFor([&] { return b->ExecuteScript("return window.innerWidth;") == "360"; }, 5000));
  // No horizontal scroll: nothing is wider than the viewport less its scroll bar.
  const std::string overflow =
      "const d = document.documentElement;"
      "return Math.max(d.scrollWidth, document.body.scrollWidth) - d.clientWidth;";
  BOOST_TEST(b->ExecuteScript(overflow) == "0");
  OpenDialog(b);
  BOOST_TEST(b->ExecuteScript(overflow) == "0");
  BOOST_TEST(b->ExecuteScript("const d = document.getElementById('submit-dialog');"
                              "return d.scrollWidth - d.clientWidth;") == "0");
  b->Screenshot(testing::BinDir() + "/ui-queue-dialog-360.png");
  b->SendKeys(b->ActiveElement(), kEscape);
  BOOST_TEST(b->WaitFor([&] { return !DialogOpen(b); }, 5000));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- dispatch: queue processing on -------------------------------------------------------
//
// EXPECTED TO FAIL until the worker's dispatcher (issue 11, the lead's branch) is merged:
// on a branch without it the job stays pending and waiting, the simulator receives no
// create, and the wait for create_prediction == 1 below fails after 20 s.

BOOST_AUTO_TEST_SUITE(web_ui_queue_dispatch, *boost::unit_test::fixture<DispatchUiStack>())

BOOST_AUTO_TEST_CASE(queued_card_becomes_running) {
  // Runs the simulator creates move by themselves; the create answers after 3 s, so the
  // card is seen pending before the run exists.
  Sim().Control("POST", "/config", R"({"run_seconds":60,"run_start_ms":1000,"tick_ms":500})");
  Sim().Control("POST", "/faults", R"({"endpoint":"create_prediction","delay_ms":3000,"count":1})");

  Browser b;
  b.Load();
  OpenDialog(b);
  Fill(b, "submit-kind", "prediction");
  Fill(b, "submit-model", "acme/sdxl");
  Fill(b, "submit-input", R"({"prompt": "x"})");
  b->Click(b->Find("#submit-button"));
  BOOST_TEST_REQUIRE(b->WaitFor([&] { return !DialogOpen(b); }, 10000),
                     "the dialog stayed open: " << b.TextOf("#submit-error"));
  const auto queue = ApiGet("/api/queue");
  BOOST_TEST_REQUIRE(queue["entries"].Size() == 1u);
  const std::string id = queue["entries"][0]["job_id"].GetString();

  BOOST_TEST_REQUIRE(b.WaitForCards({id}, 10000));
  BOOST_TEST(b.AttrOf(Card(id), "data-status") == "pending");

  // The dispatcher sends exactly one create to the simulator.
  BOOST_TEST_REQUIRE(b->WaitFor([&] { return SimCreates() >= 1; }, 20000),
                     "the simulator received no create (is the dispatcher merged?)");
  BOOST_TEST(b.Becomes([&] { return b.AttrOf(Card(id), "data-status"); }, "running", 30000,
                       "card data-status"));
  std::string value;
  BOOST_TEST(b->WaitFor(
                 [&] {
                   value = b.AttrOf(Card(id) + " progress.job-progress", "value");
                   return value != "<none>" && value != "<absent>" && std::stod(value) > 0;
                 },
                 30000),
             "progress value: last seen \"" << value << "\"");
  BOOST_TEST(b.TextOf(Card(id) + " .job-stage") != "<none>");
  BOOST_TEST(b->Find(Card(id) + " .job-queue-actions").empty());
  BOOST_TEST(b->Find(Card(id) + " .job-queue-position").empty());
  BOOST_TEST(Str(ApiGet("/api/queue/position/" + id), "status") == "dispatched");
  BOOST_TEST(SimCreates() == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
