// The bad-input table (SPEC §7, §9): every hostile request that broke or could
// break jobpulse, sent through the real nginx to the real FastCGI pool. Each
// row names the status and error code it must get, in the JSON envelope, and
// the test compares the database before and after: a refused request changes
// nothing.
#include <rapidjson/document.h>
#include <sqlite3.h>

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "lib/config.h"
#include "lib/cost.h"
#include "lib/store.h"
#include "lib/timestamp.h"
#include "lib/webhook_inbox.h"
#include "lib/webhook_signature.h"
#include "tests/integration/json_check.h"
#include "tests/integration/stack.h"

namespace jobpulse {
namespace {

using testing::Http;
using testing::HttpResult;
using testing::Parse;
using testing::Simulator;
using testing::Stack;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr int kMaxBodyBytes = 256 * 1024;

struct BadInputStack {
  BadInputStack() {
    testing::StackOptions options;
    options.pool_size = 2;
    options.enterprise_yaml = "api:\n  max_body_bytes: " + std::to_string(kMaxBodyBytes) + "\n";
    options.extra_env = {{"REPLICATE_WEBHOOK_SECRET", kSecret}};
    env.Start(options);
  }
  ~BadInputStack() { env.Stop(); }
  static inline testing::SimulatedStack env;
};

std::string Url(const std::string& path) { return BadInputStack::env.stack().Url(path); }

// Every row of the tables a request could change (service_state is left out:
// health writes its probe there).
std::string DatabaseDump() {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(BadInputStack::env.stack().db_path().c_str(), &db, SQLITE_OPEN_READONLY,
                      nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    return "<cannot open>";
  }
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql :
       {"SELECT * FROM jobs ORDER BY job_id", "SELECT * FROM webhook_inbox ORDER BY webhook_id",
        "SELECT * FROM events ORDER BY id", "SELECT * FROM leases ORDER BY name"}) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      out += "<cannot read>";
      continue;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        out += text ? std::string(text, sqlite3_column_bytes(stmt, c)) : "NULL";
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(stmt);
    out += "--\n";
  }
  sqlite3_close_v2(db);
  return out;
}

std::vector<std::string> SignedHeaders(const std::string& webhook_id, const std::string& body,
                                       int64_t age_seconds = 0) {
  const std::string ts = std::to_string(NowMicros() / 1000000 - age_seconds);
  const auto key = DecodeWebhookSecret(kSecret);
  return {"Content-Type: application/json", "webhook-id: " + webhook_id, "webhook-timestamp: " + ts,
          "webhook-signature: " + SignWebhook(*key, webhook_id, ts, body)};
}

std::string RunBody(const std::string& id) {
  return R"({"id":")" + id + R"(","status":"processing","logs":"Step 1/2"})";
}

struct Row {
  std::string what;
  std::string method;
  std::string path;
  std::string body;
  std::vector<std::string> headers;
  long status;
  std::string error;
};

// Sends `row`, checks its status and envelope, and that nothing changed.
void Check(const Row& row) {
  BOOST_TEST_CONTEXT(row.what) {
    const std::string before = DatabaseDump();
    const HttpResult r = Http(row.method, Url(row.path), row.body, row.headers);
    BOOST_TEST(r.status == row.status);
    BOOST_TEST(r.Header("content-type").find("application/json") == 0u, r.Header("content-type"));
    rapidjson::Document doc;
    doc.Parse(r.body.c_str(), r.body.size());
    BOOST_TEST_REQUIRE(doc.IsObject(), "not a JSON envelope: " + r.body.substr(0, 200));
    BOOST_TEST((doc.HasMember("error") && doc["error"].IsString() &&
                std::string(doc["error"].GetString()) == row.error),
               r.body.substr(0, 300));
    BOOST_TEST((doc.HasMember("message") && doc["message"].IsString()));
    BOOST_TEST(DatabaseDump() == before);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bad_input_through_nginx, *boost::unit_test::fixture<BadInputStack>())

BOOST_AUTO_TEST_CASE(hostile_bodies_are_refused_and_change_nothing) {
  // Something to change, so "nothing changed" means something.
  const std::string seed = RunBody("seed-run");
  BOOST_TEST_REQUIRE(
      Http("POST", Url("/api/webhooks/replicate"), seed, SignedHeaders("msg_seed", seed)).status ==
      200);
  const std::string deep_webhook =
      R"({"id":"deep-run","x":)" + std::string(120000, '[') + std::string(120000, ']') + "}";
  const std::string webhook_array = "[" + RunBody("array-run") + "]";
  const std::string json_headers = "Content-Type: application/json";
  std::vector<Row> rows = {
      {"sync body of 1,000,000 '['",
       "POST",
       "/api/cloud/jobs/sync",
       std::string(1000000, '['),
       {json_headers},
       413,
       "payload_too_large"},
      {"sync body of 200,000 '[' (under the size limit)",
       "POST",
       "/api/cloud/jobs/sync",
       std::string(200000, '['),
       {json_headers},
       400,
       "invalid_json"},
      {"sync body not JSON",
       "POST",
       "/api/cloud/jobs/sync",
       "provider=replicate",
       {json_headers},
       400,
       "invalid_json"},
      {"sync body not an object",
       "POST",
       "/api/cloud/jobs/sync",
       R"(["replicate"])",
       {json_headers},
       400,
       "invalid_json"},
      {"sync body with a non-string provider",
       "POST",
       "/api/cloud/jobs/sync",
       R"({"provider":["replicate"]})",
       {json_headers},
       400,
       "invalid_field"},
      {"body over api.max_body_bytes",
       "POST",
       "/api/cloud/jobs/sync",
       R"({"provider":"replicate","pad":")" + std::string(kMaxBodyBytes, 'p') + "\"}",
       {json_headers},
       413,
       "payload_too_large"},
      {"signed webhook nested 120,000 deep", "POST", "/api/webhooks/replicate", deep_webhook,
       SignedHeaders("msg_deep", deep_webhook), 400, "invalid_json"},
      {"signed webhook that is an array", "POST", "/api/webhooks/replicate", webhook_array,
       SignedHeaders("msg_array", webhook_array), 400, "invalid_json"},
      {"signed webhook that is not JSON", "POST", "/api/webhooks/replicate", "id=x",
       SignedHeaders("msg_text", "id=x"), 400, "invalid_json"},
      {"unsigned webhook",
       "POST",
       "/api/webhooks/replicate",
       RunBody("unsigned-run"),
       {json_headers},
       401,
       "invalid_signature"},
      {"stale webhook", "POST", "/api/webhooks/replicate", RunBody("stale-run"),
       SignedHeaders("msg_stale", RunBody("stale-run"), 1000), 401, "invalid_signature"},
      {"webhook signed with another secret",
       "POST",
       "/api/webhooks/replicate",
       RunBody("forged-run"),
       {json_headers, "webhook-id: msg_forged", "webhook-timestamp: 1",
        "webhook-signature: v1,AAAA"},
       401,
       "invalid_signature"},
      {"job id with a slash", "GET", "/api/cloud/jobs/bad%2Fid..x", "", {}, 400, "invalid_job_id"},
      {"job id of 200 characters",
       "GET",
       "/api/cloud/jobs/" + std::string(200, 'l'),
       "",
       {},
       400,
       "invalid_job_id"},
      {"cancel of a job id with non-ASCII letters",
       "POST",
       "/api/cloud/jobs/r%C3%A9sum%C3%A9/cancel",
       "",
       {},
       400,
       "invalid_job_id"},
      {"a limit out of range",
       "GET",
       "/api/cloud/jobs?limit=9999",
       "",
       {},
       400,
       "invalid_parameter"},
      {"a method the path does not serve",
       "PUT",
       "/api/cloud/jobs/seed-run",
       "",
       {},
       405,
       "method_not_allowed"},
  };
  for (const std::string& id : {std::string("bad/id..x"), std::string("../../etc/passwd"),
                                std::string(200, 'l'), std::string("r\xC3\xA9sum\xC3\xA9")}) {
    const std::string body = RunBody(id);
    rows.push_back(
        {"signed webhook with run id " + id.substr(0, 20), "POST", "/api/webhooks/replicate", body,
         SignedHeaders("msg_id_" + std::to_string(rows.size()), body), 400, "invalid_run_id"});
  }
  for (const Row& row : rows) Check(row);
}

BOOST_AUTO_TEST_CASE(a_repeated_webhook_is_acknowledged_once_and_stored_once) {
  const std::string body = RunBody("dup-run");
  const auto headers = SignedHeaders("msg_dup", body);
  HttpResult first = Http("POST", Url("/api/webhooks/replicate"), body, headers);
  BOOST_TEST(first.body == R"({"status":"received"})");
  const std::string before = DatabaseDump();
  HttpResult again = Http("POST", Url("/api/webhooks/replicate"), body, headers);
  BOOST_TEST(again.status == 200);
  BOOST_TEST(again.body == R"({"status":"duplicate"})");
  BOOST_TEST(DatabaseDump() == before);
}

// NUL bytes in provider strings are stored and shown as valid JSON; a body
// with raw invalid UTF-8 is not JSON (RFC 8259) and is refused unstored.
// (Invalid bytes inside provider answers are replaced by U+FFFD on output:
// tests/job_test.cc and tests/replicate_run_test.cc.)
BOOST_AUTO_TEST_CASE(nul_bytes_and_invalid_utf8_in_provider_strings) {
  const std::string invalid = R"({"id":"utf8-run","status":"failed","error":"bad )" +
                              std::string("\xFF\xFE") + R"( here"})";
  Check({"signed webhook with invalid UTF-8", "POST", "/api/webhooks/replicate", invalid,
         SignedHeaders("msg_utf8_bad", invalid), 400, "invalid_json"});

  const std::string body = R"({"id":"nul-run","status":"failed",)"
                           R"("error":"bad \u0000 byte","logs":"Step 1/2\nbroken\u0000tail"})";
  BOOST_TEST_REQUIRE(
      Http("POST", Url("/api/webhooks/replicate"), body, SignedHeaders("msg_nul", body)).status ==
      200);
  PriceTable prices;
  auto applied = ApplyPendingDeliveries(
      BadInputStack::env.store(), prices, [] { return NowMicros(); }, 100);
  BOOST_TEST_REQUIRE(applied.ok(), applied.status().ToString());
  for (const char* path :
       {"/api/cloud/jobs/nul-run", "/api/cloud/jobs?limit=500", "/api/cloud/jobs/nul-run/logs",
        "/api/cloud/jobs/nul-run/inline-progress"}) {
    BOOST_TEST_CONTEXT(path) {
      const HttpResult r = Http("GET", Url(path));
      BOOST_TEST(r.status == 200);
      rapidjson::Document doc;
      doc.Parse<rapidjson::kParseValidateEncodingFlag>(r.body.c_str(), r.body.size());
      BOOST_TEST(!doc.HasParseError(), r.body.substr(0, 200));
    }
  }
  const auto job = Parse(Http("GET", Url("/api/cloud/jobs/nul-run")).body);
  const auto& error = job["job"]["error_message"];
  BOOST_TEST(std::string(error.GetString(), error.GetStringLength()) ==
             std::string("bad \0 byte", 10));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
