// Unit tests for lib/http.h: percent-decoding, paths, query strings, the
// boolean/integer/Content-Length parsers, ETags, and ErrorResponse, the one
// place where a Status becomes an HTTP status code and the SPEC §9 envelope.
#include "lib/http.h"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/status.h"

namespace jobpulse {
namespace {

using Strings = std::vector<std::string>;

std::string Show(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "nullopt"; }
std::string Show(const std::optional<bool>& v) { return v ? (*v ? "true" : "false") : "nullopt"; }
std::string Show(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "nullopt"; }

std::string HeaderOr(const HttpResponse& r, std::string_view name, std::string fallback = "-") {
  const std::string* value = r.Header(name);
  return value ? *value : fallback;
}

BOOST_AUTO_TEST_SUITE(http)

BOOST_AUTO_TEST_CASE(path_patterns_match_literals_and_one_segment_parameters) {
  const std::vector<std::string> logs = {"api", "cloud", "jobs", "j_1", "logs"};
  const auto m = MatchPath("/api/cloud/jobs/{job_id}/logs", logs);
  BOOST_TEST_REQUIRE(m.has_value());
  BOOST_TEST(m->params == 1);
  BOOST_TEST(m->name == "job_id");
  BOOST_TEST(m->value == "j_1");
  const auto exact = MatchPath("/api/cloud/jobs", {"api", "cloud", "jobs"});
  BOOST_TEST_REQUIRE(exact.has_value());
  BOOST_TEST(exact->params == 0);
  BOOST_TEST(exact->value == "");
  BOOST_TEST(!MatchPath("/api/cloud/jobs/{job_id}", logs).has_value());         // longer path
  BOOST_TEST(!MatchPath("/api/cloud/jobs/{job_id}/logs/x", logs).has_value());  // shorter path
  BOOST_TEST(!MatchPath("/api/cloud/jobs/{job_id}/cancel", logs).has_value());  // literal differs
  BOOST_TEST(!MatchPath("/api/cloud/jobs", {}).has_value());
  BOOST_TEST(MatchPath("", {}).has_value());
}

BOOST_AUTO_TEST_CASE(comma_lists_trim_and_drop_empty_items_and_repeats) {
  using V = std::vector<std::string_view>;
  BOOST_TEST(
      (SplitCommaList("running, queued,,running , failed") == V{"running", "queued", "failed"}));
  BOOST_TEST((SplitCommaList("") == V{}));
  BOOST_TEST((SplitCommaList(" , ,") == V{}));
  BOOST_TEST((SplitCommaList("one") == V{"one"}));
}

BOOST_AUTO_TEST_CASE(percent_decode_escapes_and_plus) {
  BOOST_TEST(PercentDecode("%41+b", true) == "A b");
  BOOST_TEST(PercentDecode("%41+b", false) == "A+b");
  BOOST_TEST(PercentDecode("a%2Fb", false) == "a/b");
  BOOST_TEST(PercentDecode("a%2fb", true) == "a/b");
  BOOST_TEST(PercentDecode("%E2%96%88", false) == "\xE2\x96\x88");
  BOOST_TEST(PercentDecode("%2B", true) == "+");  // an encoded plus stays a plus
  BOOST_TEST(PercentDecode("", true) == "");
  BOOST_TEST(PercentDecode("%00", false) == std::string(1, '\0'));
}

BOOST_AUTO_TEST_CASE(percent_decode_keeps_invalid_escapes) {
  BOOST_TEST(PercentDecode("%zz", false) == "%zz");
  BOOST_TEST(PercentDecode("%4", false) == "%4");
  BOOST_TEST(PercentDecode("%", false) == "%");
  BOOST_TEST(PercentDecode("100%", true) == "100%");
  BOOST_TEST(PercentDecode("%G1x", false) == "%G1x");
  BOOST_TEST(PercentDecode("%%41", false) == "%A");
  BOOST_TEST(PercentDecode("a%2", true) == "a%2");
}

BOOST_AUTO_TEST_CASE(split_path_decodes_segments_and_drops_empty_ones) {
  BOOST_TEST((SplitPath("/a/b%2Fc") == Strings{"a", "b/c"}));
  BOOST_TEST((SplitPath("/api/cloud/jobs") == Strings{"api", "cloud", "jobs"}));
  BOOST_TEST((SplitPath("//a//b/") == Strings{"a", "b"}));
  BOOST_TEST((SplitPath("a+b/%20x") == Strings{"a+b", " x"}));  // '+' is not a space in paths
  BOOST_TEST(SplitPath("").empty());
  BOOST_TEST(SplitPath("/").empty());
  BOOST_TEST(SplitPath("///").empty());
}

BOOST_AUTO_TEST_CASE(query_params_first_value_wins) {
  const QueryParams q("a=1&a=2&b=3");
  BOOST_TEST(Show(q.Get("a")) == "\"1\"");
  BOOST_TEST(Show(q.Get("b")) == "\"3\"");
  BOOST_TEST(Show(q.Get("c")) == "nullopt");
}

BOOST_AUTO_TEST_CASE(query_params_missing_equals_is_an_empty_value) {
  const QueryParams q("flag&x=1");
  BOOST_TEST(Show(q.Get("flag")) == "\"\"");
  BOOST_TEST(Show(q.Get("x")) == "\"1\"");
}

BOOST_AUTO_TEST_CASE(query_params_skip_empty_pairs) {
  const QueryParams q("&&x=1&&y=&");
  BOOST_TEST(Show(q.Get("x")) == "\"1\"");
  BOOST_TEST(Show(q.Get("y")) == "\"\"");
  BOOST_TEST(Show(q.Get("")) == "nullopt");
  BOOST_TEST(Show(QueryParams("").Get("x")) == "nullopt");
}

BOOST_AUTO_TEST_CASE(query_params_decode_names_and_values) {
  const QueryParams q("name=a+b%21&%73tatus=running%2Ccompleted&eq=x%3Dy&raw=p=q");
  BOOST_TEST(Show(q.Get("name")) == "\"a b!\"");
  BOOST_TEST(Show(q.Get("status")) == "\"running,completed\"");
  BOOST_TEST(Show(q.Get("eq")) == "\"x=y\"");
  BOOST_TEST(Show(q.Get("raw")) == "\"p=q\"");  // only the first '=' splits
  BOOST_TEST(Show(QueryParams("=v").Get("")) == "\"v\"");
}

BOOST_AUTO_TEST_CASE(parse_bool_accepts_eight_spellings_case_insensitively) {
  for (const std::string_view yes : {"true", "1", "yes", "on", "TRUE", "Yes", "oN", "True"}) {
    BOOST_TEST_CONTEXT("text: " << yes) { BOOST_TEST(Show(ParseBool(yes)) == "true"); }
  }
  for (const std::string_view no : {"false", "0", "no", "off", "FALSE", "No", "OFF", "oFf"}) {
    BOOST_TEST_CONTEXT("text: " << no) { BOOST_TEST(Show(ParseBool(no)) == "false"); }
  }
}

BOOST_AUTO_TEST_CASE(parse_bool_rejects_everything_else) {
  for (const std::string_view text :
       {"2", "", "t", "f", "y", "n", "tru", "truee", " true", "true ", "01", "-1", "maybe"}) {
    BOOST_TEST_CONTEXT("text: [" << text << "]") { BOOST_TEST(Show(ParseBool(text)) == "nullopt"); }
  }
}

BOOST_AUTO_TEST_CASE(parse_int_within_range) {
  BOOST_TEST(Show(ParseInt("0", 0, 10)) == "0");
  BOOST_TEST(Show(ParseInt("10", 0, 10)) == "10");
  BOOST_TEST(Show(ParseInt("1", 1, 500)) == "1");
  BOOST_TEST(Show(ParseInt("500", 1, 500)) == "500");
  BOOST_TEST(Show(ParseInt("007", 0, 10)) == "7");
  BOOST_TEST(Show(ParseInt("-5", -10, 10)) == "-5");
  BOOST_TEST(Show(ParseInt("999999999999", 0, 1000000000000)) == "999999999999");
}

BOOST_AUTO_TEST_CASE(parse_int_rejects_out_of_range_and_non_decimal) {
  BOOST_TEST(Show(ParseInt("11", 0, 10)) == "nullopt");
  BOOST_TEST(Show(ParseInt("0", 1, 500)) == "nullopt");
  BOOST_TEST(Show(ParseInt("501", 1, 500)) == "nullopt");
  BOOST_TEST(Show(ParseInt("-1", 0, 10)) == "nullopt");
  for (const std::string_view text :
       {"", "-", "+5", " 5", "5 ", "abc", "1e3", "0x10", "1.0", "5-", "--5", "\xD9\xA1"}) {
    BOOST_TEST_CONTEXT("text: [" << text << "]") {
      BOOST_TEST(Show(ParseInt(text, -100, 100)) == "nullopt");
    }
  }
}

BOOST_AUTO_TEST_CASE(parse_int_full_int64_range_without_overflow) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  BOOST_TEST(Show(ParseInt("999999999999999999", 0, kMax)) == "999999999999999999");
  BOOST_TEST(Show(ParseInt("9223372036854775807", 0, kMax)) == "9223372036854775807");
  BOOST_TEST(Show(ParseInt("-9223372036854775808", kMin, kMax)) == "-9223372036854775808");
  // One past the type's range must not wrap around into range.
  BOOST_TEST(Show(ParseInt("9223372036854775808", kMin, kMax)) == "nullopt");
  BOOST_TEST(Show(ParseInt("18446744073709551617", kMin, kMax)) == "nullopt");
  BOOST_TEST(Show(ParseInt("99999999999999999999", 0, 500)) == "nullopt");
}

BOOST_AUTO_TEST_CASE(content_length_empty_is_zero) {
  const Result<int64_t> r = ParseContentLength("", 100);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(*r == 0);
}

BOOST_AUTO_TEST_CASE(content_length_digits_up_to_the_limit) {
  for (const auto& [text, value] : std::vector<std::pair<std::string, int64_t>>{
           {"0", 0}, {"42", 42}, {"100", 100}, {"0100", 100}}) {
    BOOST_TEST_CONTEXT("text: " << text) {
      const Result<int64_t> r = ParseContentLength(text, 100);
      BOOST_REQUIRE(r.ok());
      BOOST_TEST(*r == value);
    }
  }
}

BOOST_AUTO_TEST_CASE(content_length_non_digits_are_invalid) {
  for (const std::string_view text : {"abc", "-1", "+5", "1.5", " 5", "5 ", "12a"}) {
    BOOST_TEST_CONTEXT("text: [" << text << "]") {
      const Result<int64_t> r = ParseContentLength(text, 100);
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST((r.status().code() == Status::Code::kInvalidArgument));
      BOOST_TEST(r.status().error() == "invalid_content_length");
      BOOST_TEST(ErrorResponse(r.status()).status == 400);
    }
  }
}

BOOST_AUTO_TEST_CASE(content_length_over_max_is_payload_too_large) {
  const Result<int64_t> r = ParseContentLength("101", 100);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST((r.status().code() == Status::Code::kTooLarge));
  BOOST_TEST(r.status().error() == "payload_too_large");
  BOOST_TEST(r.status().message() ==
             "request body of 101 bytes exceeds the limit of 100 bytes (api.max_body_bytes)");
  BOOST_TEST((r.status().details() == Status::Details{{"max_body_bytes", "100"}}));
  const HttpResponse response = ErrorResponse(r.status());
  BOOST_TEST(response.status == 413);
  BOOST_TEST(response.body ==
             R"js({"error":"payload_too_large","message":"request body of 101 bytes exceeds the )js"
             R"js(limit of 100 bytes (api.max_body_bytes)","details":{"max_body_bytes":"100"}})js");
}

BOOST_AUTO_TEST_CASE(content_length_huge_digit_strings_are_too_large_not_invalid) {
  // All digits, so the only thing wrong is the size (SPEC §2 api.max_body_bytes -> 413).
  for (const std::string_view text :
       {"1000000000000000000", "9223372036854775808", "99999999999999999999999"}) {
    BOOST_TEST_CONTEXT("text: " << text) {
      const Result<int64_t> r = ParseContentLength(text, 16 * 1024 * 1024);
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST(r.status().error() == "payload_too_large");
      BOOST_TEST(ErrorResponse(r.status()).status == 413);
    }
  }
}

BOOST_AUTO_TEST_CASE(etag_is_a_stable_quoted_digest) {
  // Fixed values: a handler of another build or machine must tag the same
  // body the same, or a browser's If-None-Match never matches after an upgrade.
  BOOST_TEST(ETagFor("") == "\"6393d51c06c618dc\"");
  BOOST_TEST(ETagFor("a") == "\"c536d4f7dcf5d737\"");
  BOOST_TEST(ETagFor("0123456789abcdefX") == "\"9b61305b7f19669f\"");
  // Every byte counts, wherever it sits in a word or the tail.
  const std::string base(37, 'x');
  for (size_t i = 0; i < base.size(); ++i) {
    std::string changed = base;
    changed[i] = 'y';
    BOOST_TEST_CONTEXT("byte " << i) { BOOST_TEST(ETagFor(changed) != ETagFor(base)); }
  }
  BOOST_TEST(ETagFor(std::string(8, '\0')) != ETagFor(std::string(9, '\0')));
  BOOST_TEST(ETagFor("{\"jobs\":[]}") == ETagFor("{\"jobs\":[]}"));
  BOOST_TEST(ETagFor("body one") != ETagFor("body two"));
  const std::string etag = ETagFor("anything");
  BOOST_TEST(etag.size() == 18u);
  BOOST_TEST(etag.front() == '"');
  BOOST_TEST(etag.back() == '"');
}

BOOST_AUTO_TEST_CASE(etag_matches_single_list_weak_and_star) {
  const std::string etag = "\"0123456789abcdef\"";
  BOOST_TEST(ETagMatches(etag, etag));
  BOOST_TEST(ETagMatches("\"other\", " + etag, etag));
  BOOST_TEST(ETagMatches("\"other\"," + etag + ",\"third\"", etag));
  BOOST_TEST(ETagMatches("W/" + etag, etag));
  BOOST_TEST(ETagMatches("\"other\", W/" + etag, etag));
  BOOST_TEST(ETagMatches("*", etag));
  BOOST_TEST(ETagMatches("  " + etag + "  ", etag));
}

BOOST_AUTO_TEST_CASE(etag_mismatches) {
  const std::string etag = "\"0123456789abcdef\"";
  BOOST_TEST(!ETagMatches("", etag));
  BOOST_TEST(!ETagMatches("\"other\"", etag));
  BOOST_TEST(!ETagMatches("\"other\", \"third\"", etag));
  BOOST_TEST(!ETagMatches("0123456789abcdef", etag));  // unquoted
  BOOST_TEST(!ETagMatches(",", etag));
  BOOST_TEST(!ETagMatches("W/", etag));
}

BOOST_AUTO_TEST_CASE(error_response_with_details_exact_body) {
  const HttpResponse r = ErrorResponse(Status::Error(Status::Code::kNotFound, "job_not_found",
                                                     "Job not found: j1", {{"job_id", "j1"}}));
  BOOST_TEST(r.status == 404);
  BOOST_TEST(
      r.body ==
      R"({"error":"job_not_found","message":"Job not found: j1","details":{"job_id":"j1"}})");
  BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
  BOOST_TEST(HeaderOr(r, "content-type") == "application/json");  // lookup ignores case
  BOOST_TEST(HeaderOr(r, "Retry-After") == "-");
}

BOOST_AUTO_TEST_CASE(error_response_details_keep_their_order) {
  const HttpResponse r = ErrorResponse(
      Status::Error(Status::Code::kConflict, "invalid_job_state", "no", {{"z", "1"}, {"a", "2"}}));
  BOOST_TEST(r.status == 409);
  BOOST_TEST(r.body ==
             R"({"error":"invalid_job_state","message":"no","details":{"z":"1","a":"2"}})");
}

BOOST_AUTO_TEST_CASE(error_response_without_details_has_no_details_key) {
  const HttpResponse r = ErrorResponse(Status::Internal("boom"));
  BOOST_TEST(r.status == 500);
  BOOST_TEST(r.body == R"({"error":"internal_error","message":"boom"})");
}

BOOST_AUTO_TEST_CASE(error_response_escapes_strings) {
  const HttpResponse r =
      ErrorResponse(Status::InvalidArgument("bad \"quote\"\nline", {{"value", "a\\b"}}));
  BOOST_TEST(r.status == 400);
  BOOST_TEST(
      r.body ==
      R"({"error":"invalid_request","message":"bad \"quote\"\nline","details":{"value":"a\\b"}})");
}

BOOST_AUTO_TEST_CASE(error_response_empty_error_code_becomes_internal_error) {
  const HttpResponse r = ErrorResponse(Status::Error(Status::Code::kUpstream, "", "upstream"));
  BOOST_TEST(r.status == 502);
  BOOST_TEST(r.body == R"({"error":"internal_error","message":"upstream"})");
}

BOOST_AUTO_TEST_CASE(error_response_http_code_for_every_status_code) {
  const std::vector<std::pair<Status::Code, int>> cases = {
      {Status::Code::kInvalidArgument, 400},
      {Status::Code::kUnauthenticated, 401},  // webhook signatures
      {Status::Code::kNotFound, 404},
      {Status::Code::kMethodNotAllowed, 405},
      {Status::Code::kConflict, 409},
      {Status::Code::kTooLarge, 413},
      {Status::Code::kRateLimited, 429},
      {Status::Code::kUpstream, 502},
      {Status::Code::kUnavailable, 503},
      {Status::Code::kBusy, 503},
      {Status::Code::kInternal, 500},
  };
  for (const auto& [code, http_status] : cases) {
    BOOST_TEST_CONTEXT("code: " << static_cast<int>(code)) {
      const HttpResponse r = ErrorResponse(Status::Error(code, "some_error", "text"));
      BOOST_TEST(r.status == http_status);
      BOOST_TEST(r.body == R"({"error":"some_error","message":"text"})");
      BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
    }
  }
}

BOOST_AUTO_TEST_CASE(request_header_lookup_is_case_insensitive_and_first_wins) {
  HttpRequest request;
  request.headers = {{"content-type", "application/json"},
                     {"webhook-id", "msg_1"},
                     {"webhook-id", "msg_2"},
                     {"x-empty", ""}};
  BOOST_TEST_REQUIRE(request.Header("webhook-id") != nullptr);
  BOOST_TEST(*request.Header("webhook-id") == "msg_1");
  BOOST_TEST(*request.Header("Webhook-ID") == "msg_1");
  BOOST_TEST(*request.Header("content-type") == "application/json");
  BOOST_TEST_REQUIRE(request.Header("x-empty") != nullptr);
  BOOST_TEST(request.Header("x-empty")->empty());
  BOOST_TEST(request.Header("webhook-signature") == nullptr);
  BOOST_TEST(request.Header("webhook") == nullptr);
  BOOST_TEST(HttpRequest().Header("webhook-id") == nullptr);
}

BOOST_AUTO_TEST_CASE(error_response_retry_after_header_when_set) {
  Status limited = Status::Error(Status::Code::kRateLimited, "rate_limited", "slow down");
  limited.set_retry_after_seconds(7);
  const HttpResponse r = ErrorResponse(limited);
  BOOST_TEST(r.status == 429);
  BOOST_TEST(HeaderOr(r, "Retry-After") == "7");
  BOOST_TEST(r.body == R"({"error":"rate_limited","message":"slow down"})");

  Status busy = Status::Error(Status::Code::kBusy, "database_busy", "busy");
  busy.set_retry_after_seconds(1);
  BOOST_TEST(HeaderOr(ErrorResponse(busy), "Retry-After") == "1");
  BOOST_TEST(ErrorResponse(busy).status == 503);

  BOOST_TEST(HeaderOr(ErrorResponse(Status::Error(Status::Code::kRateLimited, "r", "m")),
                      "Retry-After") == "-");
}

BOOST_AUTO_TEST_CASE(json_response_defaults) {
  const HttpResponse r = JsonResponse("{}");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == "{}");
  BOOST_TEST(HeaderOr(r, "Content-Type") == "application/json");
  BOOST_TEST(HeaderOr(r, "Cache-Control") == "no-cache");
  BOOST_TEST(JsonResponse("[]", 503).status == 503);
}

BOOST_AUTO_TEST_CASE(reason_phrases) {
  BOOST_TEST(std::string(ReasonPhrase(200)) == "OK");
  BOOST_TEST(std::string(ReasonPhrase(304)) == "Not Modified");
  BOOST_TEST(std::string(ReasonPhrase(404)) == "Not Found");
  BOOST_TEST(std::string(ReasonPhrase(405)) == "Method Not Allowed");
  BOOST_TEST(std::string(ReasonPhrase(413)) == "Payload Too Large");
  BOOST_TEST(std::string(ReasonPhrase(503)) == "Service Unavailable");
  BOOST_TEST(std::string(ReasonPhrase(299)) == "");
}

BOOST_AUTO_TEST_CASE(equals_ignore_case_compares_ascii_letters_without_case) {
  BOOST_TEST(EqualsIgnoreCase("Last-Event-ID", "last-event-id"));
  BOOST_TEST(EqualsIgnoreCase("", ""));
  BOOST_TEST(!EqualsIgnoreCase("x-api-key", "x-api-ke"));
  BOOST_TEST(!EqualsIgnoreCase("x-api-key", "x_api_key"));
}

BOOST_AUTO_TEST_CASE(trim_removes_spaces_and_tabs_at_both_ends_only) {
  BOOST_TEST(Trim(" \t Bearer abc \t") == "Bearer abc");
  BOOST_TEST(Trim("a b") == "a b");
  BOOST_TEST(Trim("  ") == "");
  BOOST_TEST(Trim("value\r") == "value\r");  // a line's CR is the caller's to strip
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
