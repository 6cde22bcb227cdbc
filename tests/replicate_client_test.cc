// The pure parts of the Replicate client: Retry-After and rate-limit waits, the HTTP -> Status
// mapping and the resolution of `next` page links. The network parts are exercised against the
// simulator in tests/integration/replicate_it.cc.
#include <boost/test/unit_test.hpp>
// (keep the Boost header first)
#include <limits>

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

BOOST_AUTO_TEST_CASE(retry_after_accepts_seconds_and_http_dates) {
  BOOST_TEST(*ParseRetryAfter("5", 1000) == 5);
  BOOST_TEST(*ParseRetryAfter("0", 1000) == 0);
  // 1994-11-06T08:49:37Z is 784111777.
  BOOST_TEST(*ParseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", 784111777) == 10);
  BOOST_TEST(*ParseRetryAfter("Sun, 06 Nov 1994 08:49:27 GMT", 784111777) == 0);
  BOOST_TEST(!ParseRetryAfter("", 0).has_value());
  BOOST_TEST(!ParseRetryAfter("soon", 0).has_value());
  // Dates beyond an int of seconds saturate instead of wrapping to a negative
  // wait (tests/fuzz/regressions/provider).
  BOOST_TEST(*ParseRetryAfter("Wed, 21 Oct 9999 07:28:00 GMT", 0) ==
             std::numeric_limits<int>::max());
  BOOST_TEST(*ParseRetryAfter("Wed, 21 Oct 2100 07:28:00 GMT", 0) ==
             std::numeric_limits<int>::max());
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
  // Several fraction digits (tests/fuzz/regressions/provider: this never returned).
  BOOST_TEST(*RetryAfterFromText("Expected available in 2.55 seconds.") == 3);
  BOOST_TEST(*RetryAfterFromText("resets in ~0.105s") == 1);
  BOOST_TEST(*RetryAfterFromText("~4.000 s") == 4);
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
