// Unit tests for lib/api.h: the SPEC §9 REST API as a pure request -> response
// function over a real SQLite store in a temporary directory, with a fixed
// clock. Jobs are written the only way the product writes them: Store::Apply
// of an Observation (SPEC §4).
#include "lib/api.h"

#include <rapidjson/document.h>
#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "lib/config.h"
#include "lib/http.h"
#include "lib/job.h"
#include "lib/notify.h"
#include "lib/state_machine.h"
#include "lib/status.h"
#include "lib/store.h"
#include "lib/webhook_signature.h"

namespace jobpulse {
namespace {

constexpr int64_t kSecond = 1000000;
constexpr int64_t kHour = 3600 * kSecond;
// The fixed clock: 2026-11-28T10:00:00Z.
constexpr int64_t kNow = int64_t{1795860000} * kSecond;

std::string MakeTempDir() {
  std::string path = (std::filesystem::temp_directory_path() / "jobpulse_api_test_XXXXXX").string();
  BOOST_REQUIRE_MESSAGE(mkdtemp(path.data()) != nullptr, "mkdtemp failed");
  return path;
}

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(json.c_str());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError(), "not JSON: " << json);
  BOOST_REQUIRE(doc.IsObject());
  return doc;
}

std::string Str(const rapidjson::Value& object, const char* key) {
  BOOST_REQUIRE_MESSAGE(object.IsObject() && object.HasMember(key), "missing key " << key);
  BOOST_REQUIRE_MESSAGE(object[key].IsString(), key << " is not a string");
  return std::string(object[key].GetString(), object[key].GetStringLength());
}

double Num(const rapidjson::Value& object, const char* key) {
  BOOST_REQUIRE_MESSAGE(object.IsObject() && object.HasMember(key), "missing key " << key);
  BOOST_REQUIRE_MESSAGE(object[key].IsNumber(), key << " is not a number");
  return object[key].GetDouble();
}

bool IsNull(const rapidjson::Value& object, const char* key) {
  BOOST_REQUIRE_MESSAGE(object.IsObject() && object.HasMember(key), "missing key " << key);
  return object[key].IsNull();
}

std::vector<std::string> Keys(const rapidjson::Value& object) {
  std::vector<std::string> keys;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    keys.emplace_back(it->name.GetString(), it->name.GetStringLength());
  }
  return keys;
}

// The job_id of every element of "jobs", in order.
std::vector<std::string> JobIds(const std::string& body) {
  const rapidjson::Document doc = Parse(body);
  BOOST_REQUIRE(doc.HasMember("jobs") && doc["jobs"].IsArray());
  std::vector<std::string> ids;
  for (const auto& job : doc["jobs"].GetArray()) ids.push_back(Str(job, "job_id"));
  return ids;
}

std::string HeaderOr(const HttpResponse& r, std::string_view name) {
  const std::string* value = r.Header(name);
  return value ? *value : "(absent)";
}

using Ids = std::vector<std::string>;

struct ApiFixture {
  ApiFixture() : dir(MakeTempDir()) {
    auto opened = Store::Open(dir + "/jobpulse.db");
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    store = std::move(*opened);
    prices.per_second = config.replicate.hardware_prices.value;
    prices.default_sku = config.replicate.default_hardware.value;
    api = MakeApi(config);
  }
  ~ApiFixture() {
    api.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  std::unique_ptr<Api> MakeApi(Config c) {
    return std::make_unique<Api>(
        std::move(c),
        [this]() -> Result<Store*> {
          if (throw_from_source) throw std::runtime_error("boom");
          if (store_error) return *store_error;
          return store.get();
        },
        [this] { return now; });
  }

  HttpResponse Call(std::string method, std::string path, std::string query = "",
                    std::string if_none_match = "") {
    return api->Handle(HttpRequest{
        std::move(method), std::move(path), std::move(query), std::move(if_none_match), "", {}});
  }
  HttpResponse Get(std::string path, std::string query = "", std::string if_none_match = "") {
    return Call("GET", std::move(path), std::move(query), std::move(if_none_match));
  }

  // A provider observation of a Replicate run named `id`.
  static Observation Obs(const std::string& id, const std::string& provider_status,
                         int64_t created_at) {
    Observation obs;
    obs.job_id = id;
    obs.provider = "replicate";
    obs.external_id = "ext-" + id;
    obs.provider_status = provider_status;
    obs.created_at = created_at;
    return obs;
  }

  Job Apply(const Observation& obs, const PriceTable& with_prices, int64_t at = kNow) {
    auto outcome = store->Apply(obs, with_prices, at);
    BOOST_REQUIRE_MESSAGE(outcome.ok(), outcome.status().ToString());
    return outcome->job;
  }
  Job Apply(const Observation& obs, int64_t at = kNow) { return Apply(obs, prices, at); }

  // Shorthands: a job in a given local state, created `age` before kNow.
  Job AddRunning(const std::string& id, int64_t age, std::optional<std::string> logs = {}) {
    Observation obs = Obs(id, "processing", kNow - age);
    obs.started_at = kNow - age + 10 * kSecond;
    obs.hardware_type = "gpu-h100";
    obs.logs = std::move(logs);
    return Apply(obs);
  }
  Job AddFinished(const std::string& id, const std::string& provider_status, int64_t age,
                  std::optional<std::string> logs = {}) {
    Observation obs = Obs(id, provider_status, kNow - age);
    obs.started_at = kNow - age + 10 * kSecond;
    obs.completed_at = kNow - age + 70 * kSecond;
    obs.logs = std::move(logs);
    return Apply(obs);
  }
  Job AddQueued(const std::string& id, int64_t age) {
    return Apply(Obs(id, "starting", kNow - age));
  }

  Job Stored(const std::string& id) {
    auto job = store->GetJob(id);
    BOOST_REQUIRE(job.ok());
    BOOST_REQUIRE_MESSAGE(job.value().has_value(), "no job " << id);
    return std::move(*job.value());
  }

  // Five jobs, newest first: x (cancelled), f (failed), c (completed), r (running), q (queued).
  void AddFiveJobs() {
    AddQueued("q", 5 * kHour);
    AddRunning("r", 4 * kHour);
    AddFinished("c", "succeeded", 3 * kHour);
    AddFinished("f", "failed", 2 * kHour);
    AddFinished("x", "canceled", 1 * kHour);
  }

  std::string dir;
  std::unique_ptr<Store> store;
  Config config;
  PriceTable prices;
  int64_t now = kNow;
  std::optional<Status> store_error;
  bool throw_from_source = false;
  std::unique_ptr<Api> api;
};

BOOST_AUTO_TEST_SUITE(api)

// --- GET /api/cloud/jobs --------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(list_on_empty_store_is_exact, ApiFixture) {
  const HttpResponse r = Get("/api/cloud/jobs");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"jobs":[],"total":0,"limit":50,"offset":0})");
  BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
  BOOST_TEST(HeaderOr(r, "ETag") == ETagFor(r.body));
}

BOOST_FIXTURE_TEST_CASE(list_trailing_slash_is_the_same_endpoint, ApiFixture) {
  const HttpResponse r = Get("/api/cloud/jobs/");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"jobs":[],"total":0,"limit":50,"offset":0})");
}

BOOST_FIXTURE_TEST_CASE(list_is_newest_first_with_full_job_objects, ApiFixture) {
  AddFinished("a", "succeeded", 3 * kHour);
  AddRunning("b", 2 * kHour, "Step 1500/5000 - loss: 0.0234");
  AddQueued("c", 1 * kHour);
  const HttpResponse r = Get("/api/cloud/jobs");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"jobs":[)" + JobToJson(Stored("c"), prices, kNow, JobView::kList) + "," +
                           JobToJson(Stored("b"), prices, kNow, JobView::kList) + "," +
                           JobToJson(Stored("a"), prices, kNow, JobView::kList) +
                           R"(],"total":3,"limit":50,"offset":0})");
  BOOST_TEST(JobIds(r.body) == (Ids{"c", "b", "a"}), boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(list_ties_on_created_at_order_by_job_id_descending, ApiFixture) {
  AddQueued("t1", kHour);
  AddQueued("t2", kHour);
  AddQueued("t0", kHour);
  BOOST_TEST(JobIds(Get("/api/cloud/jobs").body) == (Ids{"t2", "t1", "t0"}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(list_filters_by_status_list, ApiFixture) {
  AddFiveJobs();
  const std::vector<std::pair<std::string, Ids>> cases = {
      {"status=running,completed", {"c", "r"}},
      {"status=running%2Ccompleted", {"c", "r"}},
      {"status=running,+failed", {"f", "r"}},
      {"status=running,", {"r"}},
      {"status=cancelled", {"x"}},
      {"status=queued,running,completed,failed,cancelled", {"x", "f", "c", "r", "q"}},
      {"status=pending,uploading", {}},
      {"status=", {"x", "f", "c", "r", "q"}},
  };
  for (const auto& [query, ids] : cases) {
    BOOST_TEST_CONTEXT("query: " << query) {
      const HttpResponse r = Get("/api/cloud/jobs", query);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(JobIds(r.body) == ids, boost::test_tools::per_element());
      BOOST_TEST(Num(Parse(r.body), "total") == static_cast<double>(ids.size()));
    }
  }
}

BOOST_FIXTURE_TEST_CASE(list_filters_by_provider_and_job_type, ApiFixture) {
  AddFiveJobs();
  Observation other;
  other.job_id = "o";
  other.provider = "other";
  other.external_id = "o-ext";
  other.provider_status = "processing";
  other.created_at = kNow - 6 * kHour;
  Apply(other);

  const std::vector<std::pair<std::string, Ids>> cases = {
      {"provider=other", {"o"}},
      {"provider=replicate", {"x", "f", "c", "r", "q"}},
      {"provider=re%70licate&status=failed", {"f"}},
      {"provider=nobody", {}},
      {"provider=", {"x", "f", "c", "r", "q", "o"}},
      {"job_type=cloud", {"x", "f", "c", "r", "q", "o"}},
      {"job_type=local", {}},
      {"job_type=cloud&provider=other&status=running", {"o"}},
  };
  for (const auto& [query, ids] : cases) {
    BOOST_TEST_CONTEXT("query: " << query) {
      const HttpResponse r = Get("/api/cloud/jobs", query);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(JobIds(r.body) == ids, boost::test_tools::per_element());
      BOOST_TEST(Num(Parse(r.body), "total") == static_cast<double>(ids.size()));
    }
  }
}

BOOST_FIXTURE_TEST_CASE(list_limit_and_offset_page_while_total_counts_all_matches, ApiFixture) {
  AddFiveJobs();
  struct Case {
    std::string query;
    Ids ids;
    double total, limit, offset;
  };
  const std::vector<Case> cases = {
      {"limit=2", {"x", "f"}, 5, 2, 0},
      {"limit=2&offset=1", {"f", "c"}, 5, 2, 1},
      {"offset=4", {"q"}, 5, 50, 4},
      {"offset=5", {}, 5, 50, 5},
      {"offset=1000", {}, 5, 50, 1000},
      {"limit=1&offset=0", {"x"}, 5, 1, 0},
      {"limit=500", {"x", "f", "c", "r", "q"}, 5, 500, 0},
      {"status=failed,cancelled,completed&limit=1&offset=1", {"f"}, 3, 1, 1},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("query: " << c.query) {
      const HttpResponse r = Get("/api/cloud/jobs", c.query);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(JobIds(r.body) == c.ids, boost::test_tools::per_element());
      const rapidjson::Document doc = Parse(r.body);
      BOOST_TEST(Num(doc, "total") == c.total);
      BOOST_TEST(Num(doc, "limit") == c.limit);
      BOOST_TEST(Num(doc, "offset") == c.offset);
    }
  }
}

// SPEC §9 `q`: the search narrows the page and its total, with the other
// filters; a bad value is a 400 naming it.
BOOST_FIXTURE_TEST_CASE(list_search_narrows_the_page_and_its_total, ApiFixture) {
  AddFiveJobs();
  struct Case {
    std::string query;
    Ids ids;
    double total;
  };
  const std::vector<Case> cases = {
      {"q=ext-f", {"f"}, 1},
      {"q=EXT-", {"x", "f", "c", "r", "q"}, 5},
      {"q=EXT-&status=failed,cancelled", {"x", "f"}, 2},
      {"q=ext-&limit=2&offset=3", {"r", "q"}, 5},
      {"q=-r", {"r"}, 1},
      {"q=nothing", {}, 0},
      {"q=", {"x", "f", "c", "r", "q"}, 5},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("query: " << c.query) {
      const HttpResponse r = Get("/api/cloud/jobs", c.query);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(JobIds(r.body) == c.ids, boost::test_tools::per_element());
      BOOST_TEST(Num(Parse(r.body), "total") == c.total);
    }
  }
  const HttpResponse bad = Get("/api/cloud/jobs", "q=" + std::string(101, 'a'));
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body ==
             R"({"error":"invalid_parameter","message":"invalid value for query parameter )"
             R"('q': expected 1 to 100 characters of text","details":{"parameter":"q",)"
             R"("value":")" +
                 std::string(101, 'a') + R"("}})");
}

BOOST_FIXTURE_TEST_CASE(list_invalid_parameter_envelope_is_exact, ApiFixture) {
  const HttpResponse r = Get("/api/cloud/jobs", "limit=0");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body ==
             R"({"error":"invalid_parameter","message":"invalid value for query parameter )"
             R"('limit': expected an integer from 1 to 500","details":{"parameter":"limit",)"
             R"("value":"0"}})");
  BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
  BOOST_TEST(HeaderOr(r, "ETag") == "(absent)");
}

BOOST_FIXTURE_TEST_CASE(list_invalid_parameters_are_400_naming_the_parameter, ApiFixture) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"status=bogus", "status", "bogus"},
      {"status=running,bogus", "status", "running,bogus"},
      {"status=RUNNING", "status", "RUNNING"},
      {"limit=0", "limit", "0"},
      {"limit=501", "limit", "501"},
      {"limit=abc", "limit", "abc"},
      {"limit=", "limit", ""},
      {"limit=-5", "limit", "-5"},
      {"limit=1.5", "limit", "1.5"},
      {"offset=-1", "offset", "-1"},
      {"offset=abc", "offset", "abc"},
      {"job_type=gpu", "job_type", "gpu"},
      {"sync_active=maybe", "sync_active", "maybe"},
      {"sync_active=", "sync_active", ""},
  };
  for (const auto& [query, name, value] : cases) {
    BOOST_TEST_CONTEXT("query: " << query) {
      const HttpResponse r = Get("/api/cloud/jobs", query);
      BOOST_TEST(r.status == 400);
      const rapidjson::Document doc = Parse(r.body);
      BOOST_TEST(Keys(doc) == (Ids{"error", "message", "details"}),
                 boost::test_tools::per_element());
      BOOST_TEST(Str(doc, "error") == "invalid_parameter");
      BOOST_TEST(
          Str(doc, "message").rfind("invalid value for query parameter '" + name + "': ", 0) == 0u);
      BOOST_TEST(Keys(doc["details"]) == (Ids{"parameter", "value"}),
                 boost::test_tools::per_element());
      BOOST_TEST(Str(doc["details"], "parameter") == name);
      BOOST_TEST(Str(doc["details"], "value") == value);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(list_accepts_every_boolean_spelling_for_sync_active, ApiFixture) {
  for (const char* value : {"true", "false", "1", "0", "yes", "no", "on", "off", "TRUE", "Off"}) {
    BOOST_TEST_CONTEXT("sync_active=" << value) {
      const HttpResponse r = Get("/api/cloud/jobs", std::string("sync_active=") + value);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(r.body == R"({"jobs":[],"total":0,"limit":50,"offset":0})");
    }
  }
}

BOOST_FIXTURE_TEST_CASE(list_ignores_unknown_parameters, ApiFixture) {
  AddFiveJobs();
  const HttpResponse plain = Get("/api/cloud/jobs");
  for (const char* query : {"_=123", "_=1732788000000&foo=bar", "cache_buster", "&&"}) {
    BOOST_TEST_CONTEXT("query: " << query) {
      const HttpResponse r = Get("/api/cloud/jobs", query);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(r.body == plain.body);
    }
  }
  const HttpResponse limited = Get("/api/cloud/jobs", "_=123&limit=2");
  BOOST_TEST(limited.status == 200);
  BOOST_TEST(JobIds(limited.body) == (Ids{"x", "f"}), boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(list_first_value_of_a_repeated_parameter_wins, ApiFixture) {
  AddFiveJobs();
  const HttpResponse r = Get("/api/cloud/jobs", "limit=1&limit=bogus");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(JobIds(r.body) == (Ids{"x"}), boost::test_tools::per_element());
}

// --- ETag / If-None-Match -------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(list_etag_is_stable_and_honours_if_none_match, ApiFixture) {
  AddFiveJobs();
  const HttpResponse first = Get("/api/cloud/jobs");
  const HttpResponse second = Get("/api/cloud/jobs");
  const std::string etag = HeaderOr(first, "ETag");
  BOOST_TEST(etag == ETagFor(first.body));
  BOOST_TEST(HeaderOr(second, "ETag") == etag);
  BOOST_TEST(second.body == first.body);

  for (const std::string& if_none_match :
       {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    BOOST_TEST_CONTEXT("If-None-Match: " << if_none_match) {
      const HttpResponse cached = Get("/api/cloud/jobs", "", if_none_match);
      BOOST_TEST(cached.status == 304);
      BOOST_TEST(cached.body == "");
      BOOST_TEST(HeaderOr(cached, "ETag") == etag);
    }
  }
  const HttpResponse stale = Get("/api/cloud/jobs", "", "\"0000000000000000\"");
  BOOST_TEST(stale.status == 200);
  BOOST_TEST(stale.body == first.body);
}

BOOST_FIXTURE_TEST_CASE(list_etag_changes_after_a_write, ApiFixture) {
  AddFiveJobs();
  const HttpResponse before = Get("/api/cloud/jobs");
  const std::string etag = HeaderOr(before, "ETag");

  AddQueued("new", 0);
  const HttpResponse after = Get("/api/cloud/jobs", "", etag);
  BOOST_TEST(after.status == 200);
  BOOST_TEST(HeaderOr(after, "ETag") != etag);
  BOOST_TEST(HeaderOr(after, "ETag") == ETagFor(after.body));
  BOOST_TEST(Num(Parse(after.body), "total") == 6.0);
}

BOOST_FIXTURE_TEST_CASE(etag_depends_on_the_query, ApiFixture) {
  AddFiveJobs();
  const std::string all = HeaderOr(Get("/api/cloud/jobs"), "ETag");
  const HttpResponse running = Get("/api/cloud/jobs", "status=running", all);
  BOOST_TEST(running.status == 200);
  BOOST_TEST(HeaderOr(running, "ETag") != all);
}

// --- GET /api/cloud/jobs/{id} ---------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(get_job_wraps_the_job_object, ApiFixture) {
  AddRunning("run-1", kHour, "Step 1500/5000 - loss: 0.0234");
  const HttpResponse r = Get("/api/cloud/jobs/run-1");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"job":)" + JobToJson(Stored("run-1"), prices, kNow) + "}");
  BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
  BOOST_TEST(HeaderOr(r, "ETag") == ETagFor(r.body));

  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Keys(doc) == (Ids{"job"}), boost::test_tools::per_element());
  const rapidjson::Value& job = doc["job"];
  BOOST_TEST(Str(job, "job_id") == "run-1");
  BOOST_TEST(Str(job, "job_type") == "cloud");
  BOOST_TEST(Str(job, "provider") == "replicate");
  BOOST_TEST(Str(job, "external_id") == "ext-run-1");
  BOOST_TEST(Str(job, "status") == "running");
  BOOST_TEST(Str(job, "created_at") == "2026-11-28T09:00:00.000000Z");
  BOOST_TEST(Str(job, "started_at") == "2026-11-28T09:00:10.000000Z");
  BOOST_TEST(IsNull(job, "completed_at"));
  BOOST_TEST(Str(job, "hardware_type") == "gpu-h100");
  BOOST_TEST(Num(job, "duration_seconds") == 3590.0);
  BOOST_TEST(Num(job, "cost_usd") == 3590.0 * prices.per_second.at("gpu-h100"));
  BOOST_TEST(job["metadata"]["cost_is_estimate"].GetBool());
  BOOST_TEST(job["is_active"].GetBool());
  BOOST_TEST(!job["is_terminal"].GetBool());
  BOOST_TEST(Str(job, "stage") == "Training");
  BOOST_TEST(Num(job, "progress") == 30.0);
  BOOST_TEST(Str(job, "last_log") == "Step 1500/5000 - loss: 0.0234");
  BOOST_TEST(Str(job, "updated_at") == "2026-11-28T10:00:00.000000Z");
}

BOOST_FIXTURE_TEST_CASE(get_job_honours_if_none_match, ApiFixture) {
  AddFinished("done-1", "succeeded", kHour);
  const std::string etag = HeaderOr(Get("/api/cloud/jobs/done-1"), "ETag");
  const HttpResponse cached = Get("/api/cloud/jobs/done-1", "", etag);
  BOOST_TEST(cached.status == 304);
  BOOST_TEST(cached.body == "");
}

BOOST_FIXTURE_TEST_CASE(get_unknown_job_is_404_envelope, ApiFixture) {
  const HttpResponse r = Get("/api/cloud/jobs/nope");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(
      r.body ==
      R"({"error":"job_not_found","message":"Job not found: nope","details":{"job_id":"nope"}})");
  BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
}

BOOST_FIXTURE_TEST_CASE(invalid_job_ids_are_400, ApiFixture) {
  const std::string expected =
      R"({"error":"invalid_job_id","message":"job_id must be 1 to 128 characters from )"
      R"(A-Z a-z 0-9 . _ : -","details":{"parameter":"job_id"}})";
  const std::string long_id(129, 'a');
  for (const std::string& segment :
       {std::string("bad%20id!"), std::string("bad id!"), std::string("a%2Fb"), long_id,
        std::string("caf%C3%A9"), std::string("a%00b"), std::string("j%2B1")}) {
    for (const char* suffix : {"", "/inline-progress", "/logs"}) {
      const std::string path = "/api/cloud/jobs/" + segment + std::string(suffix);
      BOOST_TEST_CONTEXT("path: " << path) {
        const HttpResponse r = Get(path);
        BOOST_TEST(r.status == 400);
        BOOST_TEST(r.body == expected);
      }
    }
    BOOST_TEST_CONTEXT("DELETE " << segment) {
      BOOST_TEST(Call("DELETE", "/api/cloud/jobs/" + segment).status == 400);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(valid_job_id_alphabet_and_length, ApiFixture) {
  BOOST_TEST(Api::IsValidJobId("j_01HZX.a:b-C9"));
  BOOST_TEST(Api::IsValidJobId(std::string(128, 'z')));
  BOOST_TEST(Api::IsValidJobId("a"));
  BOOST_TEST(!Api::IsValidJobId(""));
  BOOST_TEST(!Api::IsValidJobId(std::string(129, 'z')));
  for (const char* bad : {"a b", "a/b", "a!", "a+b", "a%b", "caf\xC3\xA9", "a\nb"}) {
    BOOST_TEST_CONTEXT("id: " << bad) { BOOST_TEST(!Api::IsValidJobId(bad)); }
  }
  // Well-formed but unknown ids get past validation to the 404.
  for (const std::string& id : {std::string("j_01HZX.a:b-C9"), std::string(128, 'z')}) {
    BOOST_TEST_CONTEXT("id: " << id) {
      const HttpResponse r = Get("/api/cloud/jobs/" + id);
      BOOST_TEST(r.status == 404);
      BOOST_TEST(Str(Parse(r.body), "error") == "job_not_found");
    }
  }
}

// --- GET /api/cloud/jobs/{id}/inline-progress -----------------------------------------------

BOOST_FIXTURE_TEST_CASE(inline_progress_of_running_job_is_exact, ApiFixture) {
  AddRunning("run-1", kHour, "Loading model\nStep 1500/5000 - loss: 0.0234");
  const HttpResponse r = Get("/api/cloud/jobs/run-1/inline-progress");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(
      r.body ==
      R"({"job_id":"run-1","stage":"Training","last_log":"Step 1500/5000 - loss: 0.0234","progress":30.0,"rate":null,"eta_seconds":null})");
  BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
  BOOST_TEST(HeaderOr(r, "ETag") == ETagFor(r.body));
}

BOOST_FIXTURE_TEST_CASE(inline_progress_of_completed_job_keeps_only_last_log, ApiFixture) {
  AddFinished("done-1", "succeeded", kHour, "Step 5000/5000 - loss: 0.01");
  const HttpResponse r = Get("/api/cloud/jobs/done-1/inline-progress");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(
      r.body ==
      R"({"job_id":"done-1","stage":null,"last_log":"Step 5000/5000 - loss: 0.01","progress":null,"rate":null,"eta_seconds":null})");
}

BOOST_FIXTURE_TEST_CASE(inline_progress_without_logs_is_all_null, ApiFixture) {
  AddRunning("run-2", kHour);
  AddQueued("q-1", kHour);
  BOOST_TEST(
      Get("/api/cloud/jobs/run-2/inline-progress").body ==
      R"({"job_id":"run-2","stage":null,"last_log":null,"progress":null,"rate":null,"eta_seconds":null})");
  BOOST_TEST(
      Get("/api/cloud/jobs/q-1/inline-progress").body ==
      R"({"job_id":"q-1","stage":null,"last_log":null,"progress":null,"rate":null,"eta_seconds":null})");
}

// SPEC §5 step 6: the bar's speed and time left, only while running.
BOOST_FIXTURE_TEST_CASE(inline_progress_carries_rate_and_time_left, ApiFixture) {
  AddRunning("run-3", kHour, "Epoch 3/4 Steps: 70%|███ | 700/1000 [01:29<00:38, 7.8it/s]");
  BOOST_TEST(Get("/api/cloud/jobs/run-3/inline-progress").body ==
             R"({"job_id":"run-3","stage":"Training","last_log":)"
             R"("Epoch 3/4 Steps: 70%|███ | 700/1000 [01:29<00:38, 7.8it/s]",)"
             R"("progress":70.0,"rate":7.8,"eta_seconds":38})");
  const rapidjson::Document job = Parse(Get("/api/cloud/jobs/run-3").body);
  BOOST_TEST(job["job"]["rate"].GetDouble() == 7.8);
  BOOST_TEST(job["job"]["eta_seconds"].GetInt64() == 38);
}

BOOST_FIXTURE_TEST_CASE(inline_progress_of_unknown_job_is_404, ApiFixture) {
  const HttpResponse r = Get("/api/cloud/jobs/ghost/inline-progress");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(
      r.body ==
      R"({"error":"job_not_found","message":"Job not found: ghost","details":{"job_id":"ghost"}})");
}

BOOST_FIXTURE_TEST_CASE(inline_progress_etag_304_then_200_after_new_logs, ApiFixture) {
  AddRunning("run-1", kHour, "Step 1500/5000 - loss: 0.0234");
  const HttpResponse first = Get("/api/cloud/jobs/run-1/inline-progress");
  const std::string etag = HeaderOr(first, "ETag");
  BOOST_TEST(HeaderOr(Get("/api/cloud/jobs/run-1/inline-progress"), "ETag") == etag);

  const HttpResponse cached = Get("/api/cloud/jobs/run-1/inline-progress", "", etag);
  BOOST_TEST(cached.status == 304);
  BOOST_TEST(cached.body == "");
  BOOST_TEST(HeaderOr(cached, "ETag") == etag);

  Observation more = Obs("run-1", "processing", kNow - kHour);
  more.logs = "Step 1500/5000 - loss: 0.0234\nStep 2500/5000 - loss: 0.0200";
  Apply(more, kNow + 2 * kSecond);
  const HttpResponse fresh = Get("/api/cloud/jobs/run-1/inline-progress", "", etag);
  BOOST_TEST(fresh.status == 200);
  BOOST_TEST(
      fresh.body ==
      R"({"job_id":"run-1","stage":"Training","last_log":"Step 2500/5000 - loss: 0.0200","progress":50.0,"rate":null,"eta_seconds":null})");
  BOOST_TEST(HeaderOr(fresh, "ETag") != etag);
}

// --- GET /api/cloud/jobs/{id}/logs ----------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(logs_return_the_cached_tail, ApiFixture) {
  AddRunning("run-1", kHour, "Loading model\nStep 1500/5000 - loss: 0.0234");
  const HttpResponse r = Get("/api/cloud/jobs/run-1/logs");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body ==
             R"({"job_id":"run-1","logs":"Loading model\nStep 1500/5000 - loss: 0.0234"})");
  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Keys(doc) == (Ids{"job_id", "logs"}), boost::test_tools::per_element());
  BOOST_TEST(Str(doc, "logs") == "Loading model\nStep 1500/5000 - loss: 0.0234");
  BOOST_TEST(HeaderOr(r, "ETag") == ETagFor(r.body));
}

BOOST_FIXTURE_TEST_CASE(logs_of_job_without_logs_are_empty, ApiFixture) {
  AddQueued("q-1", kHour);
  const HttpResponse r = Get("/api/cloud/jobs/q-1/logs");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"job_id":"q-1","logs":""})");
}

BOOST_FIXTURE_TEST_CASE(logs_refresh_parameter_is_validated, ApiFixture) {
  AddFinished("done-1", "succeeded", kHour, "all done");
  const HttpResponse bad = Get("/api/cloud/jobs/done-1/logs", "refresh=bogus");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body ==
             R"({"error":"invalid_parameter","message":"invalid value for query parameter )"
             R"('refresh': expected true/false/1/0/yes/no/on/off","details":{"parameter":)"
             R"("refresh","value":"bogus"}})");
  const HttpResponse no_refresh = Get("/api/cloud/jobs/done-1/logs", "refresh=false");
  BOOST_TEST(no_refresh.status == 200);
  BOOST_TEST(no_refresh.body == R"({"job_id":"done-1","logs":"all done"})");
}

BOOST_FIXTURE_TEST_CASE(logs_of_unknown_job_is_404, ApiFixture) {
  const HttpResponse r = Get("/api/cloud/jobs/ghost/logs");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(Str(Parse(r.body), "error") == "job_not_found");
  BOOST_TEST(Str(Parse(r.body)["details"], "job_id") == "ghost");
}

BOOST_FIXTURE_TEST_CASE(sync_body_fields_are_named_as_body_fields, ApiFixture) {
  const auto post = [&](const std::string& body) {
    return api->Handle(HttpRequest{
        "POST", "/api/cloud/jobs/sync", "", "", body, {{"content-type", "application/json"}}});
  };
  HttpResponse r = post(R"({"provider":7})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body ==
             R"({"error":"invalid_field","message":"invalid value for body field 'provider': )"
             R"(expected a provider name such as \"replicate\"","details":{"field":"provider"}})");
  r = post(R"({"provider":"elsewhere"})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(Str(Parse(r.body), "error") == "invalid_field");
}

// --- DELETE /api/cloud/jobs/{id} ------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(delete_running_job_is_409_and_keeps_it, ApiFixture) {
  AddRunning("run-1", kHour);
  const HttpResponse r = Call("DELETE", "/api/cloud/jobs/run-1");
  BOOST_TEST(r.status == 409);
  BOOST_TEST(r.body ==
             R"({"error":"invalid_job_state","message":"Job run-1 is running; only completed, )"
             R"(failed or cancelled jobs can be deleted","details":{"job_id":"run-1",)"
             R"("current_state":"running"}})");
  BOOST_TEST(Get("/api/cloud/jobs/run-1").status == 200);
}

BOOST_FIXTURE_TEST_CASE(delete_active_jobs_is_409_for_every_active_state, ApiFixture) {
  AddQueued("q-1", kHour);
  const HttpResponse r = Call("DELETE", "/api/cloud/jobs/q-1");
  BOOST_TEST(r.status == 409);
  BOOST_TEST(Str(Parse(r.body), "error") == "invalid_job_state");
  BOOST_TEST(Str(Parse(r.body)["details"], "current_state") == "queued");
}

BOOST_FIXTURE_TEST_CASE(delete_terminal_job_then_it_is_gone, ApiFixture) {
  AddFinished("done-1", "succeeded", 3 * kHour);
  AddFinished("fail-1", "failed", 2 * kHour);
  AddFinished("cxl-1", "canceled", kHour);
  for (const std::string id : {"done-1", "fail-1", "cxl-1"}) {
    BOOST_TEST_CONTEXT("job: " << id) {
      const HttpResponse r = Call("DELETE", "/api/cloud/jobs/" + id);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(r.body == R"({"success":true,"job_id":")" + id + R"("})");
      BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
      BOOST_TEST(Get("/api/cloud/jobs/" + id).status == 404);
      const HttpResponse again = Call("DELETE", "/api/cloud/jobs/" + id);
      BOOST_TEST(again.status == 404);
      BOOST_TEST(Str(Parse(again.body), "error") == "job_not_found");
    }
  }
  BOOST_TEST(Get("/api/cloud/jobs").body == R"({"jobs":[],"total":0,"limit":50,"offset":0})");
}

// Events a handler's write appends go out at once: the write pokes the worker
// (lib/notify.h); a read or a refused write does not.
BOOST_FIXTURE_TEST_CASE(a_successful_write_pokes_the_worker_a_read_or_a_refusal_does_not,
                        ApiFixture) {
  Config with_path = config;
  with_path.database_path.value = dir + "/jobpulse.db";
  api = MakeApi(with_path);
  PokeListener worker;
  const Status opened = worker.Open(WorkerPokeSocketPath(with_path.database_path.value));
  BOOST_TEST_REQUIRE(opened.ok(), opened.ToString());
  AddFinished("done-1", "succeeded", kHour);
  AddRunning("run-1", kHour);
  BOOST_TEST(Get("/api/cloud/jobs/done-1").status == 200);
  BOOST_TEST(!worker.Drain());
  BOOST_TEST(Call("DELETE", "/api/cloud/jobs/run-1").status == 409);
  BOOST_TEST(!worker.Drain());
  BOOST_TEST(Call("DELETE", "/api/cloud/jobs/done-1").status == 200);
  BOOST_TEST(worker.Drain());
}

// --- Routing: 405 with Allow, 404 for unknown paths, HEAD -----------------------------------

BOOST_FIXTURE_TEST_CASE(method_not_allowed_envelope_is_exact, ApiFixture) {
  const HttpResponse r = Call("POST", "/api/cloud/jobs");
  BOOST_TEST(r.status == 405);
  BOOST_TEST(HeaderOr(r, "Allow") == "GET, HEAD");
  BOOST_TEST(r.body ==
             R"({"error":"method_not_allowed","message":"method POST is not allowed here; )"
             R"(allowed: GET, HEAD","details":{"allow":"GET, HEAD"}})");
}

BOOST_FIXTURE_TEST_CASE(methods_a_path_does_not_serve_get_405_with_allow, ApiFixture) {
  AddRunning("x", kHour);
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"POST", "/api/cloud/jobs", "GET, HEAD"},
      {"DELETE", "/api/cloud/jobs", "GET, HEAD"},
      {"PUT", "/api/cloud/jobs/x", "GET, HEAD, DELETE"},
      {"POST", "/api/cloud/jobs/x", "GET, HEAD, DELETE"},
      {"PATCH", "/api/cloud/jobs/x", "GET, HEAD, DELETE"},
      {"POST", "/api/cloud/jobs/x/inline-progress", "GET, HEAD"},
      {"DELETE", "/api/cloud/jobs/x/logs", "GET, HEAD"},
      {"POST", "/api/cloud/metrics", "GET, HEAD"},
      {"DELETE", "/api/cloud/health", "GET, HEAD"},
  };
  for (const auto& [method, path, allow] : cases) {
    BOOST_TEST_CONTEXT(method << " " << path) {
      const HttpResponse r = Call(method, path);
      BOOST_TEST(r.status == 405);
      BOOST_TEST(HeaderOr(r, "Allow") == allow);
      const rapidjson::Document doc = Parse(r.body);
      BOOST_TEST(Str(doc, "error") == "method_not_allowed");
      BOOST_TEST(Str(doc["details"], "allow") == allow);
    }
  }
  // A 405 changes nothing.
  BOOST_TEST(Get("/api/cloud/jobs/x").status == 200);
}

BOOST_FIXTURE_TEST_CASE(unknown_paths_are_404_not_found, ApiFixture) {
  const HttpResponse r = Get("/api/cloud/nope");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.body ==
             R"({"error":"not_found","message":"no such endpoint: GET /api/cloud/nope"})");
  for (const char* path : {"/", "", "/api", "/api/cloud", "/api/other/jobs", "/cloud/api/jobs",
                           "/api/cloud/jobs/x/bogus", "/api/cloud/jobs/x/logs/extra",
                           "/api/cloud/metrics/extra", "/api/cloud/health/x"}) {
    BOOST_TEST_CONTEXT("path: [" << path << "]") {
      const HttpResponse unknown = Get(path);
      BOOST_TEST(unknown.status == 404);
      BOOST_TEST(Str(Parse(unknown.body), "error") == "not_found");
    }
  }
}

BOOST_FIXTURE_TEST_CASE(head_returns_headers_and_an_empty_body, ApiFixture) {
  AddFiveJobs();
  const HttpResponse get = Get("/api/cloud/jobs");
  const HttpResponse head = Call("HEAD", "/api/cloud/jobs");
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.body == "");
  BOOST_TEST(HeaderOr(head, "Content-Type") == "application/json");
  BOOST_TEST(HeaderOr(head, "ETag") == HeaderOr(get, "ETag"));

  const HttpResponse head_job = Call("HEAD", "/api/cloud/jobs/r/inline-progress");
  BOOST_TEST(head_job.status == 200);
  BOOST_TEST(head_job.body == "");
  BOOST_TEST(HeaderOr(head_job, "ETag") ==
             HeaderOr(Get("/api/cloud/jobs/r/inline-progress"), "ETag"));

  const HttpResponse missing = Call("HEAD", "/api/cloud/jobs/ghost");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(missing.body == "");

  const HttpResponse bad = Call("HEAD", "/api/cloud/jobs", "limit=0");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body == "");

  const HttpResponse cached = Call("HEAD", "/api/cloud/jobs", "", HeaderOr(get, "ETag"));
  BOOST_TEST(cached.status == 304);
  BOOST_TEST(cached.body == "");

  BOOST_TEST(Call("HEAD", "/api/cloud/health").body == "");
  BOOST_TEST(Call("HEAD", "/api/cloud/metrics").body == "");
}

// --- GET /api/cloud/metrics -----------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(metrics_days_out_of_range_are_400, ApiFixture) {
  for (const char* value : {"0", "366", "-1", "abc", "", "1.5"}) {
    BOOST_TEST_CONTEXT("days=" << value) {
      const HttpResponse r = Get("/api/cloud/metrics", std::string("days=") + value);
      BOOST_TEST(r.status == 400);
      const rapidjson::Document doc = Parse(r.body);
      BOOST_TEST(Str(doc, "error") == "invalid_parameter");
      BOOST_TEST(Str(doc, "message") ==
                 "invalid value for query parameter 'days': expected an integer from 1 to 365");
      BOOST_TEST(Str(doc["details"], "parameter") == "days");
      BOOST_TEST(Str(doc["details"], "value") == value);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(metrics_on_empty_store, ApiFixture) {
  const HttpResponse r = Get("/api/cloud/metrics");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body ==
             R"({"total_cost":0.0,"job_count":0,"jobs_by_status":{"cancelled":0,"completed":0,)"
             R"("failed":0,"pending":0,"queued":0,"running":0,"uploading":0},)"
             R"("avg_job_duration_seconds":null,"cost_by_day":[],"period_days":30})");
  BOOST_TEST(HeaderOr(r, "ETag") == ETagFor(r.body));
}

struct MetricsFixture : ApiFixture {
  MetricsFixture() {
    // Prices exact in binary, so sums compare exactly.
    PriceTable exact;
    exact.per_second = {{"gpu-x", 0.5}, {"gpu-y", 0.25}};
    exact.default_sku = "gpu-x";

    Observation a = Obs("m-a", "succeeded", kNow - 48 * kHour);  // 2026-11-26
    a.started_at = kNow - 48 * kHour + 60 * kSecond;
    a.completed_at = kNow - 48 * kHour + 180 * kSecond;
    a.predict_time = 100;
    a.hardware_type = "gpu-x";
    Apply(a, exact);

    Observation b = Obs("m-b", "failed", kNow - 26 * kHour);  // 2026-11-27
    b.predict_time = 10;
    b.hardware_type = "gpu-y";
    Apply(b, exact);

    Observation c = Obs("m-c", "processing", kNow - kHour);  // 2026-11-28, no cost yet
    c.started_at = kNow - kHour / 2;
    Apply(c, exact);

    Observation old = Obs("m-old", "succeeded", kNow - 40 * 24 * kHour);  // 2026-10-19
    old.predict_time = 1000;
    old.hardware_type = "gpu-x";
    Apply(old, exact);
  }
};

BOOST_FIXTURE_TEST_CASE(metrics_default_period_is_exact, MetricsFixture) {
  const HttpResponse r = Get("/api/cloud/metrics");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body ==
             R"({"total_cost":52.5,"job_count":3,"jobs_by_status":{"cancelled":0,"completed":1,)"
             R"("failed":1,"pending":0,"queued":0,"running":1,"uploading":0},)"
             R"("avg_job_duration_seconds":120.0,"cost_by_day":[)"
             R"({"date":"2026-11-26","jobs":1,"cost_usd":50.0},)"
             R"({"date":"2026-11-27","jobs":1,"cost_usd":2.5},)"
             R"({"date":"2026-11-28","jobs":1,"cost_usd":0.0}],"period_days":30})");
  BOOST_TEST(Get("/api/cloud/metrics", "days=30").body == r.body);
}

BOOST_FIXTURE_TEST_CASE(metrics_one_day_period, MetricsFixture) {
  const HttpResponse r = Get("/api/cloud/metrics", "days=1");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body ==
             R"({"total_cost":0.0,"job_count":1,"jobs_by_status":{"cancelled":0,"completed":0,)"
             R"("failed":0,"pending":0,"queued":0,"running":1,"uploading":0},)"
             R"("avg_job_duration_seconds":null,"cost_by_day":[)"
             R"({"date":"2026-11-28","jobs":1,"cost_usd":0.0}],"period_days":1})");
}

BOOST_FIXTURE_TEST_CASE(metrics_full_year_includes_older_jobs, MetricsFixture) {
  const HttpResponse r = Get("/api/cloud/metrics", "days=365");
  BOOST_TEST(r.status == 200);
  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Keys(doc) == (Ids{"total_cost", "job_count", "jobs_by_status",
                               "avg_job_duration_seconds", "cost_by_day", "period_days"}),
             boost::test_tools::per_element());
  BOOST_TEST(Num(doc, "total_cost") == 552.5);
  BOOST_TEST(Num(doc, "job_count") == 4.0);
  BOOST_TEST(Num(doc["jobs_by_status"], "completed") == 2.0);
  BOOST_TEST(Num(doc, "avg_job_duration_seconds") == 120.0);
  BOOST_TEST(Num(doc, "period_days") == 365.0);
  BOOST_REQUIRE(doc["cost_by_day"].IsArray());
  BOOST_REQUIRE(doc["cost_by_day"].Size() == 4u);
  BOOST_TEST(Str(doc["cost_by_day"][0], "date") == "2026-10-19");
  BOOST_TEST(Num(doc["cost_by_day"][0], "cost_usd") == 500.0);
}

// --- GET /api/cloud/health ------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(health_without_worker_is_ok_with_worker_absent, ApiFixture) {
  const HttpResponse r = Get("/api/cloud/health");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Keys(doc) == (Ids{"components", "status", "timestamp"}),
             boost::test_tools::per_element());
  BOOST_TEST(Str(doc, "status") == "ok");
  BOOST_TEST(Str(doc, "timestamp") == "2026-11-28T10:00:00.000000Z");
  const rapidjson::Value& components = doc["components"];
  BOOST_TEST(Keys(components) == (Ids{"database", "worker", "providers"}),
             boost::test_tools::per_element());
  BOOST_TEST(Str(components["database"], "status") == "ok");
  BOOST_TEST(Num(components["database"], "latency_ms") >= 0.0);
  BOOST_TEST(Str(components["worker"], "status") == "absent");
  BOOST_TEST(IsNull(components["worker"], "heartbeat_age_seconds"));
  const rapidjson::Value& replicate = components["providers"]["replicate"];
  BOOST_TEST(!replicate["configured"].GetBool());
  BOOST_TEST(Str(replicate, "circuit") == "closed");
}

BOOST_FIXTURE_TEST_CASE(health_with_fresh_heartbeat_reports_worker_ok, ApiFixture) {
  BOOST_REQUIRE(store->PutServiceState("worker_heartbeat", "30", kNow - 10 * kSecond).ok());
  const HttpResponse r = Get("/api/cloud/health");
  BOOST_TEST(r.status == 200);
  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Str(doc, "status") == "ok");
  BOOST_TEST(Str(doc["components"]["worker"], "status") == "ok");
  BOOST_TEST(Num(doc["components"]["worker"], "heartbeat_age_seconds") == 10.0);

  BOOST_REQUIRE(store->PutServiceState("worker_heartbeat", "30", kNow - 59 * kSecond).ok());
  BOOST_TEST(Get("/api/cloud/health").status == 200);
}

BOOST_FIXTURE_TEST_CASE(health_with_stale_heartbeat_is_503_unhealthy, ApiFixture) {
  BOOST_REQUIRE(store->PutServiceState("worker_heartbeat", "30", kNow - 61 * kSecond).ok());
  const HttpResponse r = Get("/api/cloud/health");
  BOOST_TEST(r.status == 503);
  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Str(doc, "status") == "unhealthy");
  BOOST_TEST(Str(doc["components"]["database"], "status") == "ok");
  BOOST_TEST(Str(doc["components"]["worker"], "status") == "down");
  BOOST_TEST(Num(doc["components"]["worker"], "heartbeat_age_seconds") == 61.0);
}

BOOST_FIXTURE_TEST_CASE(health_heartbeat_limit_is_twice_the_reported_cycle, ApiFixture) {
  BOOST_REQUIRE(store->PutServiceState("worker_heartbeat", "5", kNow - 9 * kSecond).ok());
  BOOST_TEST(Get("/api/cloud/health").status == 200);
  BOOST_REQUIRE(store->PutServiceState("worker_heartbeat", "5", kNow - 11 * kSecond).ok());
  BOOST_TEST(Get("/api/cloud/health").status == 503);
  // No usable cycle in the heartbeat: the configured poll interval (30 s) is used.
  BOOST_REQUIRE(store->PutServiceState("worker_heartbeat", "", kNow - 50 * kSecond).ok());
  BOOST_TEST(Get("/api/cloud/health").status == 200);
  BOOST_REQUIRE(store->PutServiceState("worker_heartbeat", "junk", kNow - 70 * kSecond).ok());
  BOOST_TEST(Get("/api/cloud/health").status == 503);
}

BOOST_FIXTURE_TEST_CASE(health_survives_an_absurd_heartbeat_cycle, ApiFixture) {
  // A cycle near INT_MAX must not overflow when doubled (the worker is then simply live).
  BOOST_REQUIRE(
      store->PutServiceState("worker_heartbeat", "2000000000", kNow - 100 * kSecond).ok());
  const HttpResponse r = Get("/api/cloud/health");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(Str(Parse(r.body)["components"]["worker"], "status") == "ok");
  BOOST_REQUIRE(
      store->PutServiceState("worker_heartbeat", "99999999999999999999999", kNow - 100 * kSecond)
          .ok());
  BOOST_TEST(Get("/api/cloud/health").status == 200);
}

BOOST_FIXTURE_TEST_CASE(health_reports_circuit_and_configuration_without_secrets, ApiFixture) {
  Config with_token = config;
  with_token.replicate.api_token.value = "r8_supersecret_token_value";
  api = MakeApi(with_token);
  BOOST_REQUIRE(store->PutServiceState("circuit:replicate", "open", kNow).ok());
  const HttpResponse r = Get("/api/cloud/health");
  const rapidjson::Document doc = Parse(r.body);
  const rapidjson::Value& replicate = doc["components"]["providers"]["replicate"];
  BOOST_TEST(replicate["configured"].GetBool());
  BOOST_TEST(Str(replicate, "circuit") == "open");
  BOOST_TEST(r.body.find("supersecret") == std::string::npos);
}

// --- A store that cannot be opened ----------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(health_with_unavailable_database_is_503_down, ApiFixture) {
  store_error = Status::Error(Status::Code::kUnavailable, "database_unavailable",
                              "cannot open database /nonexistent/jobpulse.db: disk gone");
  const HttpResponse r = Get("/api/cloud/health");
  BOOST_TEST(r.status == 503);
  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Str(doc, "status") == "unhealthy");
  const rapidjson::Value& database = doc["components"]["database"];
  BOOST_TEST(Keys(database) == (Ids{"status", "message"}), boost::test_tools::per_element());
  BOOST_TEST(Str(database, "status") == "down");
  BOOST_TEST(Str(database, "message") ==
             "cannot open database /nonexistent/jobpulse.db: disk gone");
  BOOST_TEST(Str(doc["components"]["worker"], "status") == "absent");
}

BOOST_FIXTURE_TEST_CASE(endpoints_answer_503_while_the_database_is_unavailable, ApiFixture) {
  AddFinished("done-1", "succeeded", kHour, "log");
  store_error = Status::Error(Status::Code::kUnavailable, "database_unavailable",
                              "cannot open database /nonexistent/jobpulse.db: disk gone");
  const std::string expected = R"({"error":"database_unavailable","message":"cannot open database )"
                               R"(/nonexistent/jobpulse.db: disk gone"})";
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"GET", "/api/cloud/jobs"},
      {"GET", "/api/cloud/jobs/done-1"},
      {"GET", "/api/cloud/jobs/done-1/inline-progress"},
      {"GET", "/api/cloud/jobs/done-1/logs"},
      {"DELETE", "/api/cloud/jobs/done-1"},
      {"GET", "/api/cloud/metrics"},
  };
  for (const auto& [method, path] : requests) {
    BOOST_TEST_CONTEXT(method << " " << path) {
      const HttpResponse r = Call(method, path);
      BOOST_TEST(r.status == 503);
      BOOST_TEST(r.body == expected);
      BOOST_TEST(HeaderOr(r, "ETag") == "(absent)");
    }
  }
  // Parameters are still checked first.
  BOOST_TEST(Get("/api/cloud/jobs", "limit=0").status == 400);

  // Once the store opens again, everything answers normally and nothing was lost.
  store_error.reset();
  BOOST_TEST(Get("/api/cloud/jobs/done-1").status == 200);
  BOOST_TEST(Get("/api/cloud/health").status == 200);
}

BOOST_FIXTURE_TEST_CASE(unexpected_exceptions_become_a_500_envelope, ApiFixture) {
  throw_from_source = true;
  const HttpResponse r = Get("/api/cloud/jobs");
  BOOST_TEST(r.status == 500);
  BOOST_TEST(r.body == R"({"error":"internal_error","message":"unexpected failure: boom"})");
  BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
}

BOOST_AUTO_TEST_SUITE_END()

// --- POST /api/webhooks/replicate (SPEC §7) --------------------------------------------------

// The Standard Webhooks test vector secret (reference/replicate.md §4).
constexpr const char* kWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kWebhookPath = "/api/webhooks/replicate";

std::string RunBody(const std::string& id, const std::string& status) {
  return R"({"id":")" + id + R"(","model":"simpletuner/advanced-trainer-l40s","status":")" +
         status + R"(","created_at":"2026-11-28T09:00:00Z","logs":"Step 1/10"})";
}

struct WebhookFixture : ApiFixture {
  WebhookFixture() {
    config.replicate.webhook_secret.value = kWebhookSecret;
    config.database_path.value = dir + "/jobpulse.db";
    api = MakeApi(config);
  }

  // A POST of `body` without any webhook headers.
  static HttpRequest Unsigned(const std::string& body) {
    return HttpRequest{"POST", kWebhookPath, "", "", body, {}};
  }

  // A delivery signed with `secret` at `timestamp` (seconds; default: the clock's).
  static HttpRequest Signed(const std::string& webhook_id, const std::string& body,
                            std::optional<int64_t> timestamp = {},
                            const std::string& secret = kWebhookSecret) {
    const std::string ts = std::to_string(timestamp.value_or(kNow / kSecond));
    const std::optional<std::string> key = DecodeWebhookSecret(secret);
    BOOST_REQUIRE(key.has_value());
    HttpRequest request = Unsigned(body);
    request.headers = {{"content-type", "application/json"},
                       {"webhook-id", webhook_id},
                       {"webhook-timestamp", ts},
                       {"webhook-signature", SignWebhook(*key, webhook_id, ts, body)}};
    return request;
  }

  HttpResponse Send(const HttpRequest& request) {
    HttpResponse r = api->Handle(request);
    bodies.push_back(r.body);
    return r;
  }

  std::vector<Store::Delivery> Pending() {
    auto pending = store->PendingDeliveries(1000);
    BOOST_REQUIRE(pending.ok());
    return *pending;
  }

  // Every response body this test saw, to check that no secret ever leaks.
  std::vector<std::string> bodies;
};

void CheckUnauthorized(const HttpResponse& r, const std::string& check) {
  BOOST_TEST(r.status == 401);
  const rapidjson::Document doc = Parse(r.body);
  BOOST_TEST(Str(doc, "error") == "invalid_signature");
  BOOST_TEST(Str(doc["details"], "check") == check);
  BOOST_TEST(Str(doc, "message").find("webhook signature check failed: ") == 0u);
}

BOOST_AUTO_TEST_SUITE(api_webhooks)

BOOST_FIXTURE_TEST_CASE(signed_delivery_is_stored_then_a_repeat_is_a_duplicate, WebhookFixture) {
  const std::string body = RunBody("r8-hook-1", "processing");
  HttpResponse r = Send(Signed("msg_p5jXN8AQM9LWM0D4loKWxJek", body));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"status":"received"})");
  BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
  std::vector<Store::Delivery> pending = Pending();
  BOOST_TEST_REQUIRE(pending.size() == 1u);
  BOOST_TEST(pending[0].webhook_id == "msg_p5jXN8AQM9LWM0D4loKWxJek");
  BOOST_TEST(pending[0].provider == "replicate");
  BOOST_TEST(pending[0].body == body);  // the raw bytes, not re-serialised
  BOOST_TEST(pending[0].received_at == kNow);
  // The handler does not apply it (the worker does).
  BOOST_TEST(!store->GetJob("r8-hook-1")->has_value());

  // Replicate retries with the same webhook-id (and here a newer timestamp).
  r = Send(Signed("msg_p5jXN8AQM9LWM0D4loKWxJek", body, kNow / kSecond + 5));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"status":"duplicate"})");
  BOOST_TEST(Pending().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(bad_signatures_are_401_naming_the_check, WebhookFixture) {
  const std::string body = RunBody("r8-hook-2", "processing");

  HttpRequest wrong_key =
      Signed("msg_wrong_key", body, {}, "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH");
  CheckUnauthorized(Send(wrong_key), "bad_signature");

  HttpRequest tampered = Signed("msg_tampered", body);
  tampered.body = RunBody("r8-hook-2", "succeeded");
  CheckUnauthorized(Send(tampered), "bad_signature");

  HttpRequest garbage = Signed("msg_garbage", body);
  garbage.headers.back().second = "v1,invalid_signature";
  const HttpResponse r = Send(garbage);
  CheckUnauthorized(r, "bad_signature");
  BOOST_TEST(Str(Parse(r.body), "message") ==
             "webhook signature check failed: no webhook-signature entry matches");

  // The id is signed too: a valid signature moved to another id fails.
  HttpRequest moved = Signed("msg_original", body);
  moved.headers[1].second = "msg_other";
  CheckUnauthorized(Send(moved), "bad_signature");

  BOOST_TEST(Pending().empty());
}

BOOST_FIXTURE_TEST_CASE(timestamps_outside_the_tolerance_are_401, WebhookFixture) {
  const int64_t now_s = kNow / kSecond;
  const std::string body = RunBody("r8-hook-3", "processing");
  CheckUnauthorized(Send(Signed("msg_old", body, now_s - 301)), "stale_timestamp");
  CheckUnauthorized(Send(Signed("msg_future", body, now_s + 301)), "stale_timestamp");
  CheckUnauthorized(Send(Signed("msg_ms", body, kNow / 1000)), "stale_timestamp");  // milliseconds
  BOOST_TEST(Pending().empty());
  // The window is inclusive: 300 s either way is still accepted.
  BOOST_TEST(Send(Signed("msg_edge_old", body, now_s - 300)).status == 200);
  BOOST_TEST(Send(Signed("msg_edge_new", body, now_s + 300)).status == 200);
  BOOST_TEST(Pending().size() == 2u);

  // The tolerance comes from the configuration.
  Config tight = config;
  tight.replicate.webhook_timestamp_tolerance_seconds.value = 10;
  api = MakeApi(tight);
  CheckUnauthorized(Send(Signed("msg_tight", body, now_s - 11)), "stale_timestamp");
  BOOST_TEST(Send(Signed("msg_tight", body, now_s - 10)).status == 200);
}

BOOST_FIXTURE_TEST_CASE(malformed_timestamps_are_401, WebhookFixture) {
  const std::string body = RunBody("r8-hook-4", "processing");
  for (const std::string ts : {"abc", "-1795860000", "1795860000.5", " 1795860000", "1e9"}) {
    BOOST_TEST_CONTEXT("timestamp [" << ts << "]") {
      HttpRequest request = Signed("msg_ts", body);
      // Re-sign over the malformed timestamp so only its format is wrong.
      request.headers[2].second = ts;
      request.headers[3].second =
          SignWebhook(*DecodeWebhookSecret(kWebhookSecret), "msg_ts", ts, body);
      CheckUnauthorized(Send(request), "bad_timestamp");
    }
  }
  BOOST_TEST(Pending().empty());
}

BOOST_FIXTURE_TEST_CASE(missing_headers_are_401, WebhookFixture) {
  const std::string body = RunBody("r8-hook-5", "processing");
  for (const char* drop : {"webhook-id", "webhook-timestamp", "webhook-signature"}) {
    BOOST_TEST_CONTEXT("without " << drop) {
      HttpRequest request = Signed("msg_headers", body);
      std::erase_if(request.headers, [&](const auto& h) { return h.first == drop; });
      CheckUnauthorized(Send(request), "missing_headers");
    }
  }
  HttpRequest empty_value = Signed("msg_headers", body);
  empty_value.headers[3].second = "";
  CheckUnauthorized(Send(empty_value), "missing_headers");
  CheckUnauthorized(Send(Unsigned(body)), "missing_headers");
  BOOST_TEST(Pending().empty());
}

BOOST_FIXTURE_TEST_CASE(header_names_are_case_insensitive_and_rotation_entries_are_skipped,
                        WebhookFixture) {
  HttpRequest request = Signed("msg_case", RunBody("r8-hook-6", "processing"));
  request.headers[1].first = "Webhook-ID";
  request.headers[2].first = "Webhook-Timestamp";
  request.headers[3].first = "WEBHOOK-SIGNATURE";
  // During a secret rotation Svix sends several entries; any v1 match will do.
  request.headers[3].second =
      "v1,bm90IHRoZSByaWdodCBzaWduYXR1cmUgYXQgYWxsIQ== v2,xyz " + request.headers[3].second;
  const HttpResponse r = Send(request);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"status":"received"})");
}

BOOST_FIXTURE_TEST_CASE(the_body_must_be_a_json_object_checked_after_the_signature,
                        WebhookFixture) {
  for (const std::string body : {"[1]", "", "not json", "{\"id\":\"x\"", "{} {}", "\"text\"",
                                 "null", "{\"id\":\"x\"} trailing"}) {
    BOOST_TEST_CONTEXT("body [" << body << "]") {
      const HttpResponse r = Send(Signed("msg_json", body));
      BOOST_TEST(r.status == 400);
      const rapidjson::Document doc = Parse(r.body);
      BOOST_TEST(Str(doc, "error") == "invalid_json");
      BOOST_TEST(Str(doc, "message") ==
                 "the body must be a JSON object (a Replicate prediction or training)");
      // Without a valid signature the same body is 401: nothing unauthenticated is parsed.
      const HttpRequest unsigned_request = Unsigned(body);
      BOOST_TEST(Send(unsigned_request).status == 401);
    }
  }
  // Whitespace around the object is fine.
  BOOST_TEST(Send(Signed("msg_ws", "\n {\"id\":\"r8-ws\"} \n")).status == 200);
  BOOST_TEST(Pending().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(run_ids_outside_the_job_id_rule_are_400_and_store_nothing, WebhookFixture) {
  for (const std::string& id :
       {std::string("bad/id..x"), std::string("../../etc/passwd"), std::string(200, 'l'),
        std::string("r\xC3\xA9sum\xC3\xA9"), std::string("")}) {
    BOOST_TEST_CONTEXT("id [" << id << "]") {
      const HttpResponse r = Send(Signed("msg_badid", RunBody(id, "processing")));
      BOOST_TEST(r.status == 400);
      const rapidjson::Document doc = Parse(r.body);
      BOOST_TEST(Str(doc, "error") == "invalid_run_id");
    }
  }
  for (const std::string& body : {std::string(R"({"status":"processing"})"),
                                  std::string(R"({"id":7,"status":"processing"})")}) {
    BOOST_TEST_CONTEXT(body) {
      BOOST_TEST(Str(Parse(Send(Signed("msg_noid", body)).body), "error") == "invalid_run_id");
    }
  }
  BOOST_TEST(Pending().empty());
  auto counts = store->CountDeliveries();
  BOOST_REQUIRE(counts.ok());
  BOOST_TEST(counts->pending + counts->applied + counts->rejected == 0);
  BOOST_TEST(Send(Signed("msg_goodid", RunBody(std::string(128, 'g'), "processing"))).status ==
             200);
}

BOOST_FIXTURE_TEST_CASE(other_methods_are_405_allow_post, WebhookFixture) {
  for (const char* method : {"GET", "HEAD", "PUT", "DELETE", "PATCH"}) {
    BOOST_TEST_CONTEXT(method) {
      const HttpResponse r = Call(method, kWebhookPath);
      BOOST_TEST(r.status == 405);
      BOOST_TEST(HeaderOr(r, "Allow") == "POST");
    }
  }
  BOOST_TEST(Call("POST", "/api/webhooks/other").status == 404);
  BOOST_TEST(Call("POST", "/api/webhooks/replicate/extra").status == 404);
  BOOST_TEST(Call("POST", "/api/webhooks").status == 404);
}

BOOST_FIXTURE_TEST_CASE(unsigned_mode_still_needs_a_webhook_id, WebhookFixture) {
  Config open = config;
  open.replicate.webhook_require_signature.value = false;
  open.replicate.webhook_secret.value.reset();
  api = MakeApi(open);
  const std::string body = RunBody("r8-hook-7", "processing");
  HttpRequest request = Unsigned(body);
  HttpResponse r = Send(request);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(Str(Parse(r.body), "error") == "missing_webhook_id");
  request.headers = {{"webhook-id", "msg_unsigned"}};
  r = Send(request);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"status":"received"})");
  BOOST_TEST(Send(request).body == R"({"status":"duplicate"})");
  request.body = "[1]";
  request.headers = {{"webhook-id", "msg_unsigned_array"}};
  BOOST_TEST(Send(request).status == 400);
  BOOST_TEST(Pending().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_stored_delivery_pokes_the_worker_a_duplicate_does_not, WebhookFixture) {
  PokeListener worker;
  const Status opened = worker.Open(WorkerPokeSocketPath(config.database_path.value));
  BOOST_TEST_REQUIRE(opened.ok(), opened.ToString());
  const std::string body = RunBody("r8-hook-8", "processing");
  BOOST_TEST(Send(Signed("msg_poke", body)).status == 200);
  BOOST_TEST(worker.Drain());
  BOOST_TEST(Send(Signed("msg_poke", body)).body == R"({"status":"duplicate"})");
  BOOST_TEST(!worker.Drain());
  CheckUnauthorized(Send(Signed("msg_poke_bad", body, kNow / kSecond - 1000)), "stale_timestamp");
  BOOST_TEST(!worker.Drain());
}

BOOST_FIXTURE_TEST_CASE(the_secret_comes_from_the_cache_when_not_configured, WebhookFixture) {
  // No configured secret and no token: only a cached secret can verify.
  Config fetched = config;
  fetched.replicate.webhook_secret.value.reset();
  api = MakeApi(fetched);
  const std::string body = RunBody("r8-hook-9", "processing");
  HttpResponse r = Send(Signed("msg_nosecret", body));
  BOOST_TEST(r.status == 503);
  BOOST_TEST(Str(Parse(r.body), "error") == "webhook_secret_unavailable");
  BOOST_TEST(Pending().empty());
  // Requests that fail a check needing no secret are 401 without a fetch attempt.
  CheckUnauthorized(Send(Unsigned(body)), "missing_headers");
  CheckUnauthorized(Send(Signed("msg_nosecret_old", body, kNow / kSecond - 301)),
                    "stale_timestamp");

  BOOST_TEST_REQUIRE(store->PutServiceState("webhook_secret:replicate", kWebhookSecret, kNow).ok());
  now = kNow + 299 * kSecond;
  r = Send(Signed("msg_cached", body, now / kSecond));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == R"({"status":"received"})");

  // After 300 s the cached secret is no longer trusted, and fetching needs a token.
  now = kNow + 300 * kSecond;
  r = Send(Signed("msg_expired", body, now / kSecond));
  BOOST_TEST(r.status == 503);
  BOOST_TEST(Str(Parse(r.body), "error") == "webhook_secret_unavailable");
  BOOST_TEST(Pending().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_malformed_configured_secret_is_503_not_401, WebhookFixture) {
  Config broken = config;
  broken.replicate.webhook_secret.value = "whsec_not*base64";
  api = MakeApi(broken);
  const HttpResponse r = Send(Signed("msg_broken_secret", RunBody("r8-hook-10", "processing")));
  BOOST_TEST(r.status == 503);
  BOOST_TEST(Str(Parse(r.body), "error") == "webhook_secret_unavailable");
  BOOST_TEST(r.body.find("not*base64") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(an_unavailable_database_is_503, WebhookFixture) {
  store_error = Status::Error(Status::Code::kUnavailable, "database_unavailable", "disk gone");
  const HttpResponse r = Send(Signed("msg_nodb", RunBody("r8-hook-11", "processing")));
  BOOST_TEST(r.status == 503);
  BOOST_TEST(Str(Parse(r.body), "error") == "database_unavailable");
}

BOOST_FIXTURE_TEST_CASE(the_secret_never_appears_in_a_response, WebhookFixture) {
  const std::string body = RunBody("r8-hook-12", "processing");
  Send(Signed("msg_leak_ok", body));
  Send(Signed("msg_leak_ok", body));
  Send(Signed("msg_leak_bad", body, {}, "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"));
  Send(Signed("msg_leak_old", body, kNow / kSecond - 3600));
  Send(Signed("msg_leak_json", "[1]"));
  Send(Unsigned(body));
  Send(HttpRequest{"GET", kWebhookPath, "", "", "", {}});
  Config broken = config;
  broken.replicate.webhook_secret.value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=";
  api = MakeApi(broken);
  Send(Signed("msg_leak_broken", body));
  const std::string base64 = std::string(kWebhookSecret).substr(6);
  const std::string expected_signature = SignWebhook(
      *DecodeWebhookSecret(kWebhookSecret), "msg_leak_bad", std::to_string(kNow / kSecond), body);
  BOOST_TEST(bodies.size() == 8u);
  for (const std::string& b : bodies) {
    BOOST_TEST_CONTEXT("response " << b) {
      BOOST_TEST(b.find(base64) == std::string::npos);
      BOOST_TEST(b.find(expected_signature.substr(3)) == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
