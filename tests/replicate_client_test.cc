// The pure parts of the Replicate client: run parsing, hardware from model
// names, Retry-After and rate-limit waits, the HTTP -> Status mapping and the
// resolution of `next` page links. The network parts are
// exercised against the simulator in tests/integration/replicate_it.cc.
#include <boost/test/unit_test.hpp>
// (keep the Boost header first)
#include "lib/replicate_client.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

OutboundResponse Answer(long status, std::string body,
                        std::vector<std::pair<std::string, std::string>> headers = {}) {
  OutboundResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replicate_client)

BOOST_AUTO_TEST_CASE(parses_a_full_training_object) {
  const auto obs = ParseReplicateRun(R"({
    "id": "vrsafsk7mnrgj0cf0p2ax766s4", "model": "simpletuner/advanced-trainer-h100-x2",
    "version": "abc123", "status": "succeeded", "source": "api",
    "created_at": "2023-08-16T19:33:26.678378653Z", "started_at": "2024-04-22T11:15:14.469Z",
    "completed_at": "2023-11-16T11:46:16.0649+00:00",
    "logs": "Step 10/100\n", "error": null,
    "output": {"version": "me/lora:ff", "weights": "https://example.invalid/w.tar"},
    "metrics": {"predict_time": 502.71, "total_time": 510.2}, "urls": {}})");
  BOOST_TEST_REQUIRE(obs.ok(), obs.status().ToString());
  BOOST_TEST(obs->provider == "replicate");
  BOOST_TEST(obs->external_id == "vrsafsk7mnrgj0cf0p2ax766s4");
  BOOST_TEST(*obs->provider_status == "succeeded");
  BOOST_TEST(FormatTimestamp(*obs->created_at) == "2023-08-16T19:33:26.678378Z");
  BOOST_TEST(FormatTimestamp(*obs->started_at) == "2024-04-22T11:15:14.469000Z");
  BOOST_TEST(FormatTimestamp(*obs->completed_at) == "2023-11-16T11:46:16.064900Z");
  BOOST_TEST(*obs->predict_time == 502.71);
  BOOST_TEST(*obs->logs == "Step 10/100\n");
  BOOST_TEST(!obs->error_message.has_value());
  BOOST_TEST(*obs->output_url == "https://example.invalid/w.tar");
  BOOST_TEST(obs->metadata.at("model") == "simpletuner/advanced-trainer-h100-x2");
  BOOST_TEST(obs->metadata.at("version") == "abc123");
  BOOST_TEST(obs->metadata.at("source") == "api");
  BOOST_TEST(*obs->hardware_type == "gpu-h100-2x");
}

BOOST_AUTO_TEST_CASE(tolerates_missing_null_and_odd_fields) {
  const auto obs = ParseReplicateRun(
      R"({"id":"x1","status":"aborted","created_at":"not a time","started_at":null,)"
      R"("logs":null,"metrics":{},"error":{"code":"OOM"},"output":["https://a/1.png","b"]})");
  BOOST_TEST_REQUIRE(obs.ok());
  BOOST_TEST(*obs->provider_status == "aborted");
  BOOST_TEST(!obs->created_at.has_value());
  BOOST_TEST(!obs->started_at.has_value());
  BOOST_TEST(!obs->logs.has_value());
  BOOST_TEST(!obs->predict_time.has_value());
  BOOST_TEST(*obs->error_message == R"({"code":"OOM"})");
  BOOST_TEST(*obs->output_url == "https://a/1.png");
  BOOST_TEST(!obs->hardware_type.has_value());
  BOOST_TEST(obs->metadata.empty());
}

BOOST_AUTO_TEST_CASE(rejects_non_objects_and_missing_ids) {
  for (const char* bad : {"[]", "{}", R"({"id":""})", R"({"id":7})", "{", "\"run\""}) {
    BOOST_TEST_CONTEXT(bad) {
      const auto obs = ParseReplicateRun(bad);
      BOOST_TEST(!obs.ok());
      BOOST_TEST(obs.status().error() == "provider_error");
      BOOST_TEST(static_cast<int>(obs.status().code()) ==
                 static_cast<int>(Status::Code::kUpstream));
    }
  }
}

// SPEC §3: outputs of every shape; only real URLs become output_url.
BOOST_AUTO_TEST_CASE(outputs_of_every_shape) {
  const std::string data_uri = "data:image/png;base64," + std::string(395800, 'A');
  const std::string megabyte(1024 * 1024, 'x');
  const struct {
    std::string output;
    std::string url;   // "" = none
    std::string kept;  // the stored JSON; "" = not kept (too large)
  } cases[] = {
      {R"(["\n","\n"])", "", R"(["\n","\n"])"},
      {R"("hello Alice")", "", R"("hello Alice")"},
      {"\"" + data_uri + "\"", "", ""},
      {R"("data:text/plain;base64,aGk=")", "", R"("data:text/plain;base64,aGk=")"},
      {R"({"version":"me/lora:ff","weights":"https://r.delivery/w.tar","x":"https://r.delivery/o"})",
       "https://r.delivery/w.tar",
       R"({"version":"me/lora:ff","weights":"https://r.delivery/w.tar","x":"https://r.delivery/o"})"},
      {R"({"image":"HTTPS://r.delivery/a.png","n":3})", "HTTPS://r.delivery/a.png",
       R"({"image":"HTTPS://r.delivery/a.png","n":3})"},
      {R"(["https://r.delivery/has space.png","https://r.delivery/b.png"])",
       "https://r.delivery/b.png",
       R"(["https://r.delivery/has space.png","https://r.delivery/b.png"])"},
      {R"("http://")", "", R"("http://")"},
      {R"(42.5)", "", "42.5"},
      {R"([{"url":"https://r.delivery/nested.png"}])", "",
       R"([{"url":"https://r.delivery/nested.png"}])"},
      {"\"" + megabyte + "\"", "", ""},
      {"\"https://r.delivery/" + std::string(3000, 'u') + "\"", "",
       "\"https://r.delivery/" + std::string(3000, 'u') + "\""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.output.substr(0, 60)) {
      const auto obs =
          ParseReplicateRun(R"({"id":"o1","status":"succeeded","output":)" + c.output + "}");
      BOOST_TEST_REQUIRE(obs.ok(), obs.status().ToString());
      BOOST_TEST(obs->output_url.value_or("") == c.url);
      BOOST_TEST(obs->output.value_or("") == c.kept);
      BOOST_TEST(obs->output_truncated == c.kept.empty());
    }
  }
  const auto none = ParseReplicateRun(R"({"id":"o2","status":"processing","output":null})");
  BOOST_TEST_REQUIRE(none.ok());
  BOOST_TEST(!none->output.has_value());
  BOOST_TEST(!none->output_truncated);
}

BOOST_AUTO_TEST_CASE(stored_output_is_valid_utf8_json) {
  const auto obs = ParseReplicateRun("{\"id\":\"o3\",\"output\":[\"bad \xFF byte\"]}");
  BOOST_TEST_REQUIRE(obs.ok());
  BOOST_TEST(obs->output.value_or("") == "[\"bad \xEF\xBF\xBD byte\"]");
}

BOOST_AUTO_TEST_CASE(hardware_follows_simpletuner_trainer_names) {
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-h100") == "gpu-h100");
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-h100-x4") == "gpu-h100-4x");
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-l40s") == "gpu-l40s");
  BOOST_TEST(*HardwareForModel("simpletuner/advanced-trainer-l40s-x8") == "gpu-8x-l40s");
  BOOST_TEST(!HardwareForModel("stability-ai/sdxl").has_value());
  BOOST_TEST(!HardwareForModel("me/h100-fan-club").has_value());
}

BOOST_AUTO_TEST_CASE(retry_after_accepts_seconds_and_http_dates) {
  BOOST_TEST(*ParseRetryAfter("5", 1000) == 5);
  BOOST_TEST(*ParseRetryAfter("0", 1000) == 0);
  // 1994-11-06T08:49:37Z is 784111777.
  BOOST_TEST(*ParseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", 784111777) == 10);
  BOOST_TEST(*ParseRetryAfter("Sun, 06 Nov 1994 08:49:27 GMT", 784111777) == 0);
  BOOST_TEST(!ParseRetryAfter("", 0).has_value());
  BOOST_TEST(!ParseRetryAfter("soon", 0).has_value());
}

BOOST_AUTO_TEST_CASE(http_answers_map_to_statuses) {
  BOOST_TEST(ReplicateStatusFor(Answer(200, "{}"), "x").ok());
  BOOST_TEST(ReplicateStatusFor(Answer(201, "{}"), "x").ok());

  Status s = ReplicateStatusFor(Answer(429, R"({"detail":"slow down","retry_after":7})"), "list");
  BOOST_TEST(s.error() == "provider_rate_limited");
  BOOST_TEST(s.retry_after_seconds() == 7);
  // The header wins over the body.
  s = ReplicateStatusFor(Answer(429, R"({"retry_after":7})", {{"retry-after", "3"}}), "list");
  BOOST_TEST(s.retry_after_seconds() == 3);
  // Nothing says when: SPEC §6's 10 s.
  s = ReplicateStatusFor(Answer(429, "throttled"), "list");
  BOOST_TEST(s.retry_after_seconds() == 10);
  s = ReplicateStatusFor(Answer(429, R"({"detail":"slow down","status":429})"), "list");
  BOOST_TEST(s.retry_after_seconds() == 10);

  s = ReplicateStatusFor(Answer(404, R"({"detail":"Not found.","status":404})"), "prediction p");
  BOOST_TEST(s.error() == "provider_not_found");
  BOOST_TEST(s.message() == "Replicate does not know prediction p (HTTP 404): Not found.");

  s = ReplicateStatusFor(
      Answer(401, R"({"title":"Unauthenticated","detail":"You did not pass a valid token"})"),
      "account");
  BOOST_TEST(s.error() == "provider_error");
  BOOST_TEST(s.message() ==
             "Replicate rejected the API token for account (HTTP 401): You did not pass a valid "
             "token");

  s = ReplicateStatusFor(Answer(503, "<html>"), "list predictions");
  BOOST_TEST(s.error() == "provider_error");
  BOOST_TEST(static_cast<int>(s.code()) == static_cast<int>(Status::Code::kUpstream));
}

BOOST_AUTO_TEST_CASE(rate_limit_waits_follow_header_then_body_then_detail_text) {
  const std::string replicate_429 =
      R"({"detail":"Request was throttled. Your rate limit resets in ~30s."})";
  // Replicate's documented body: only the text says when.
  Status s = ReplicateStatusFor(Answer(429, replicate_429), "list predictions");
  BOOST_TEST(static_cast<int>(s.code()) == static_cast<int>(Status::Code::kRateLimited));
  BOOST_TEST(s.error() == "provider_rate_limited");
  BOOST_TEST(s.retry_after_seconds() == 30);
  BOOST_TEST(s.message() ==
             "Replicate is rate limiting list predictions (HTTP 429): Request was throttled. "
             "Your rate limit resets in ~30s.");
  // The body's retry_after wins over the text, the header over both.
  s = ReplicateStatusFor(
      Answer(429, R"({"detail":"Your rate limit resets in ~30s.","retry_after":12})"), "list");
  BOOST_TEST(s.retry_after_seconds() == 12);
  s = ReplicateStatusFor(
      Answer(429, R"({"detail":"Your rate limit resets in ~30s.","retry_after":12})",
             {{"retry-after", "2"}}),
      "list");
  BOOST_TEST(s.retry_after_seconds() == 2);
  // An unparseable header or retry_after falls through to the next source.
  s = ReplicateStatusFor(
      Answer(429, R"({"detail":"resets in 45 seconds","retry_after":"x"})", {{"retry-after", "?"}}),
      "list");
  BOOST_TEST(s.retry_after_seconds() == 45);
  s = ReplicateStatusFor(Answer(429, R"({"detail":"resets in ~0s","retry_after":-5})"), "list");
  BOOST_TEST(s.retry_after_seconds() == 1);  // at least 1
  s = ReplicateStatusFor(Answer(429, R"({"retry_after":1e300})"), "list");
  BOOST_TEST(s.retry_after_seconds() == 10);
  // The hint is only read from a 429.
  s = ReplicateStatusFor(Answer(503, R"({"detail":"back in ~30s"})"), "list");
  BOOST_TEST(s.retry_after_seconds() == 0);
}

BOOST_AUTO_TEST_CASE(retry_after_from_detail_text) {
  BOOST_TEST(*RetryAfterFromText("Request was throttled. Your rate limit resets in ~30s.") == 30);
  BOOST_TEST(*RetryAfterFromText("resets in ~7 s") == 7);
  BOOST_TEST(*RetryAfterFromText("resets in ~ 7s") == 7);
  BOOST_TEST(*RetryAfterFromText("try again in 20 seconds") == 20);
  BOOST_TEST(*RetryAfterFromText("try again in 1 second.") == 1);
  BOOST_TEST(*RetryAfterFromText("Try again in 5 Seconds") == 5);
  BOOST_TEST(*RetryAfterFromText("wait 3 sec") == 3);
  BOOST_TEST(*RetryAfterFromText("resets in ~1.5s") == 2);
  BOOST_TEST(*RetryAfterFromText("~0s") == 0);
  // The first hint counts; other numbers are not hints.
  BOOST_TEST(*RetryAfterFromText("limit 600 requests per minute; resets in ~9s, or 60 seconds") ==
             9);
  BOOST_TEST(!RetryAfterFromText("").has_value());
  BOOST_TEST(!RetryAfterFromText("Request was throttled.").has_value());
  BOOST_TEST(!RetryAfterFromText("600 requests per minute").has_value());
  BOOST_TEST(!RetryAfterFromText("resets in 30s").has_value());  // "s" alone needs the "~"
  BOOST_TEST(!RetryAfterFromText("resets in ~30 minutes").has_value());
  BOOST_TEST(!RetryAfterFromText("v2 seconds").has_value());  // not a number of its own
  BOOST_TEST(!RetryAfterFromText("~30secondary").has_value());
  BOOST_TEST(!RetryAfterFromText("~12345678901 s").has_value());  // too long to be a wait
  BOOST_TEST(!RetryAfterFromText("~").has_value());
  BOOST_TEST(!RetryAfterFromText("30").has_value());
}

BOOST_AUTO_TEST_CASE(next_page_links_resolve_onto_the_configured_origin) {
  const std::string base = "https://api.replicate.com/v1";
  const std::string page1 = base + "/predictions";
  const auto next = [&](std::string_view b, std::string_view link) {
    return ResolveNextPage(b, page1, link).value_or("<none>");
  };
  // Same origin: as is (default port and case do not make another origin).
  BOOST_TEST(next(base, "https://api.replicate.com/v1/predictions?cursor=cD0y") ==
             "https://api.replicate.com/v1/predictions?cursor=cD0y");
  BOOST_TEST(next(base, "HTTPS://API.replicate.com:443/v1/trainings?cursor=a#frag") ==
             "https://api.replicate.com/v1/trainings?cursor=a");
  BOOST_TEST(next(base + "/", "https://api.replicate.com/v1/predictions?cursor=a") ==
             "https://api.replicate.com/v1/predictions?cursor=a");

  // Another origin (a proxy in front of Replicate): rebased onto the base URL.
  const std::string proxy = "http://127.0.0.1:8080/v1";
  BOOST_TEST(next(proxy, "https://api.replicate.com/v1/predictions?cursor=cD0y") ==
             "http://127.0.0.1:8080/v1/predictions?cursor=cD0y");
  BOOST_TEST(next("http://proxy.local/replicate/v1",
                  "https://api.replicate.com/v1/predictions?cursor=a%3Db&x=1") ==
             "http://proxy.local/replicate/v1/predictions?cursor=a%3Db&x=1");
  BOOST_TEST(next(proxy, "https://api.replicate.com/predictions?cursor=a") ==
             "http://127.0.0.1:8080/v1/predictions?cursor=a");
  BOOST_TEST(next(proxy, "https://api.replicate.com/v10/predictions") ==
             "http://127.0.0.1:8080/v1/v10/predictions");
  BOOST_TEST(next(proxy, "http://127.0.0.1:8081/v1/predictions?cursor=a") ==
             "http://127.0.0.1:8080/v1/predictions?cursor=a");  // port differs
  BOOST_TEST(next(proxy, "https://127.0.0.1:8080/v1/predictions?cursor=a") ==
             "http://127.0.0.1:8080/v1/predictions?cursor=a");  // scheme differs
  BOOST_TEST(next(proxy, "http://127.0.0.1:8080@evil.example/v1/predictions?c=1") ==
             "http://127.0.0.1:8080/v1/predictions?c=1");  // the host is evil.example
  BOOST_TEST(next(proxy, "//evil.example/v1/predictions?c=1") ==
             "http://127.0.0.1:8080/v1/predictions?c=1");

  // Relative links, with or without the API's "/v1".
  BOOST_TEST(next(proxy, "/v1/predictions?cursor=a") ==
             "http://127.0.0.1:8080/v1/predictions?cursor=a");
  BOOST_TEST(next(proxy, "/predictions?cursor=a") ==
             "http://127.0.0.1:8080/v1/predictions?cursor=a");
  BOOST_TEST(next("http://proxy.local/replicate/v1", "/replicate/v1/predictions?cursor=a") ==
             "http://proxy.local/replicate/v1/predictions?cursor=a");
  BOOST_TEST(next("http://proxy.local/replicate/v1", "/v1/predictions?cursor=a") ==
             "http://proxy.local/replicate/v1/predictions?cursor=a");
  BOOST_TEST(next("http://127.0.0.1:8080", "/v1/predictions?cursor=a") ==
             "http://127.0.0.1:8080/v1/predictions?cursor=a");
  BOOST_TEST(next(proxy, "predictions?cursor=a") ==
             "http://127.0.0.1:8080/v1/predictions?cursor=a");
  BOOST_TEST(next(proxy, "./trainings?cursor=a") == "http://127.0.0.1:8080/v1/trainings?cursor=a");
  // "?query" keeps the current page's path, whatever origin the current URL names.
  BOOST_TEST(ResolveNextPage(proxy, "http://127.0.0.1:8080/v1/trainings?cursor=old", "?cursor=b")
                 .value_or("<none>") == "http://127.0.0.1:8080/v1/trainings?cursor=b");
  BOOST_TEST(ResolveNextPage(proxy, "https://evil.example/x", "?cursor=b").value_or("<none>") ==
             "http://127.0.0.1:8080/x?cursor=b");

  // No next page, or one that cannot be followed.
  for (const char* bad : {"", "#top", "ftp://api.replicate.com/v1/predictions",
                          "javascript:alert(1)", "https:///v1/predictions", "http://h:99999/v1",
                          "http://[::1/v1", "/v1/predictions?cursor=a b", "/v1/x\r\nHost: evil",
                          "http://evil.example\\@127.0.0.1:8080/v1"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!ResolveNextPage(proxy, page1, bad).has_value()); }
  }
  // A base URL that is not an http(s) URL resolves nothing.
  BOOST_TEST(!ResolveNextPage("127.0.0.1:8080/v1", page1, "/v1/predictions").has_value());

  // Whatever the link, the answer has the configured origin.
  for (const char* link :
       {"https://api.replicate.com/v1/predictions?cursor=a", "//x/y", "/v1/p", "p?c=1", "?c=2",
        "http://user:pw@evil.example:443/v1/p", "HTTP://EVIL.example/v1/p"}) {
    BOOST_TEST_CONTEXT(link) {
      const auto url = ResolveNextPage(proxy, page1, link);
      BOOST_TEST_REQUIRE(url.has_value());
      BOOST_TEST(SameOrigin(*url, proxy));
      BOOST_TEST(url->starts_with("http://127.0.0.1:8080/"));
    }
  }
}

BOOST_AUTO_TEST_CASE(same_origin_compares_scheme_host_and_port) {
  BOOST_TEST(SameOrigin("https://api.replicate.com/v1/x", "https://api.replicate.com/v1"));
  BOOST_TEST(SameOrigin("https://API.Replicate.com:443/", "https://api.replicate.com"));
  BOOST_TEST(SameOrigin("http://127.0.0.1:80?x", "http://127.0.0.1/v1"));
  BOOST_TEST(SameOrigin("http://[::1]:8080/v1", "http://[::1]:8080"));
  BOOST_TEST(!SameOrigin("http://api.replicate.com/v1", "https://api.replicate.com/v1"));
  BOOST_TEST(!SameOrigin("https://api.replicate.com:8443/v1", "https://api.replicate.com/v1"));
  BOOST_TEST(!SameOrigin("https://api.replicate.com.evil.example/v1", "https://api.replicate.com"));
  BOOST_TEST(!SameOrigin("https://api.replicate.com@evil.example/", "https://api.replicate.com"));
  BOOST_TEST(!SameOrigin("/v1/predictions", "https://api.replicate.com/v1"));
  BOOST_TEST(!SameOrigin("https://api.replicate.com/v1", "not a url"));
}

BOOST_AUTO_TEST_CASE(an_unconfigured_client_says_so_without_network) {
  ReplicateClient client(std::nullopt, "http://127.0.0.1:9");
  BOOST_TEST(!client.configured());
  const auto runs = client.ListRecent(10);
  BOOST_TEST(runs.status().error() == "provider_not_configured");
  BOOST_TEST(static_cast<int>(runs.status().code()) ==
             static_cast<int>(Status::Code::kUnavailable));
  BOOST_TEST(client.Get("x", 1000).status().error() == "provider_not_configured");
  BOOST_TEST(client.Cancel("x").status().error() == "provider_not_configured");
  BOOST_TEST(client.Account().status().error() == "provider_not_configured");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
