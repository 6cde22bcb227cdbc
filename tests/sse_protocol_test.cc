// lib/sse_protocol.h: what a request head for /api/events admits, and the
// frames. The same through a socket, with limits and replay, is in
// sse_server_test.cc.
#include "lib/sse_protocol.h"

#include <boost/test/unit_test.hpp>
#include <string>

#include "lib/access.h"

namespace jobpulse {
namespace {

constexpr int64_t kNowSeconds = 1764320000;

// The status line and the JSON body of a refusal.
struct Refusal {
  std::string status_line;
  std::string body;
};

Refusal RefusalOf(const std::variant<StreamRequest, std::string>& admitted) {
  const std::string* reply = std::get_if<std::string>(&admitted);
  BOOST_REQUIRE(reply != nullptr);
  return {reply->substr(0, reply->find("\r\n")), reply->substr(reply->find("\r\n\r\n") + 4)};
}

StreamRequest StreamOf(const std::variant<StreamRequest, std::string>& admitted) {
  const StreamRequest* stream = std::get_if<StreamRequest>(&admitted);
  BOOST_REQUIRE(stream != nullptr);
  return *stream;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sse_protocol)

BOOST_AUTO_TEST_CASE(a_plain_get_opens_a_stream_without_resume) {
  const StreamRequest s =
      StreamOf(AdmitStream("GET /api/events HTTP/1.1\r\nHost: x", std::nullopt, kNowSeconds));
  BOOST_TEST(s.ip == "unix");
  BOOST_TEST(!s.resume.has_value());
  const StreamRequest from_nginx = StreamOf(
      AdmitStream("GET /api/events HTTP/1.0\nX-Real-IP: 203.0.113.7\n", std::nullopt, kNowSeconds));
  BOOST_TEST(from_nginx.ip == "203.0.113.7");
}

BOOST_AUTO_TEST_CASE(the_last_event_id_header_wins_over_the_query) {
  BOOST_TEST(StreamOf(AdmitStream("GET /api/events?last_event_id=5 HTTP/1.1\r\nlast-event-id: 9",
                                  std::nullopt, kNowSeconds))
                 .resume.value_or(-1) == 9);
  BOOST_TEST(
      StreamOf(AdmitStream("GET /api/events?last_event_id=5 HTTP/1.1", std::nullopt, kNowSeconds))
          .resume.value_or(-1) == 5);
  // A header that does not parse is no resume; a query that does not parse is a 400.
  BOOST_TEST(!StreamOf(AdmitStream("GET /api/events HTTP/1.1\r\nLast-Event-ID: x1", std::nullopt,
                                   kNowSeconds))
                  .resume.has_value());
  const Refusal bad = RefusalOf(
      AdmitStream("GET /api/events?last_event_id=-3 HTTP/1.1", std::nullopt, kNowSeconds));
  BOOST_TEST(bad.status_line == "HTTP/1.1 400 Bad Request");
  BOOST_TEST(bad.body.find(R"("error":"invalid_parameter")") != std::string::npos);
  BOOST_TEST(bad.body.find(R"("parameter":"last_event_id")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(what_is_refused_and_how) {
  BOOST_TEST(RefusalOf(AdmitStream("garbage", std::nullopt, kNowSeconds)).status_line ==
             "HTTP/1.1 400 Bad Request");
  BOOST_TEST(
      RefusalOf(AdmitStream("GET /api/events SPDY/3", std::nullopt, kNowSeconds)).status_line ==
      "HTTP/1.1 400 Bad Request");
  BOOST_TEST(
      RefusalOf(AdmitStream("GET /api/other HTTP/1.1", std::nullopt, kNowSeconds)).status_line ==
      "HTTP/1.1 404 Not Found");
  const auto post = AdmitStream("POST /api/events HTTP/1.1", std::nullopt, kNowSeconds);
  BOOST_TEST(RefusalOf(post).status_line == "HTTP/1.1 405 Method Not Allowed");
  BOOST_TEST(std::get<std::string>(post).find("\r\nAllow: GET\r\n") != std::string::npos);
  BOOST_TEST(std::get<std::string>(post).find("\r\nConnection: close\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(with_a_token_only_its_holders_get_a_stream) {
  const std::optional<std::string> token = "s3cret-token";
  const Refusal none = RefusalOf(AdmitStream("GET /api/events HTTP/1.1", token, kNowSeconds));
  BOOST_TEST(none.status_line == "HTTP/1.1 401 Unauthorized");
  BOOST_TEST(none.body.find("s3cret") == std::string::npos);
  BOOST_TEST(RefusalOf(AdmitStream("GET /api/events HTTP/1.1\r\nAuthorization: Bearer wrong", token,
                                   kNowSeconds))
                 .status_line == "HTTP/1.1 401 Unauthorized");
  StreamOf(AdmitStream("GET /api/events HTTP/1.1\r\nAuthorization: Bearer s3cret-token", token,
                       kNowSeconds));
  StreamOf(AdmitStream("GET /api/events HTTP/1.1\r\nx-api-key: s3cret-token", token, kNowSeconds));
  // The token is checked before the method: a stranger learns nothing more.
  BOOST_TEST(RefusalOf(AdmitStream("POST /api/events HTTP/1.1", token, kNowSeconds)).status_line ==
             "HTTP/1.1 401 Unauthorized");
}

BOOST_AUTO_TEST_CASE(frames) {
  BOOST_TEST(EventFrame(42, R"({"type":"x"})") == "id: 42\ndata: {\"type\":\"x\"}\n\n");
  BOOST_TEST(EventFrame(7, "a\nb\r\nc\rd") == "id: 7\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
  BOOST_TEST(TypeMessage("connected", 12) ==
             "data: {\"type\":\"connected\",\"last_event_id\":12}\n\n");
  BOOST_TEST(TypeMessage("reset", std::nullopt) == "data: {\"type\":\"reset\"}\n\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace jobpulse
