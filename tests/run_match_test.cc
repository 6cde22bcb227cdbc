// lib/run_match.h: the input digest (a known SHA-256 vector, and the same
// digest for the same JSON however it was spaced once compacted), the job id
// added to a webhook URL and read back from one.
#include "lib/run_match.h"

#include <boost/test/unit_test.hpp>

namespace jobpulse {
namespace {

BOOST_AUTO_TEST_SUITE(run_match)

BOOST_AUTO_TEST_CASE(input_digest_is_sha256_hex) {
  BOOST_TEST(InputDigest("{}") ==
             "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  BOOST_TEST(InputDigest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(InputDigest(R"({"a":1})") != InputDigest(R"({"a":2})"));
}

BOOST_AUTO_TEST_CASE(the_job_id_joins_the_webhook_query) {
  BOOST_TEST(WebhookUrlForJob("https://h.example/api/webhooks/replicate", "sub-1") ==
             "https://h.example/api/webhooks/replicate?job_id=sub-1");
  BOOST_TEST(WebhookUrlForJob("https://h.example/hook?src=rep", "sub-1") ==
             "https://h.example/hook?src=rep&job_id=sub-1");
  BOOST_TEST(WebhookUrlForJob("https://h.example/hook?", "sub-1") ==
             "https://h.example/hook?job_id=sub-1");
  BOOST_TEST(WebhookUrlForJob("https://h.example/hook?a=1&", "sub-1") ==
             "https://h.example/hook?a=1&job_id=sub-1");
  BOOST_TEST(WebhookUrlForJob("https://h.example/hook#top", "sub-1") ==
             "https://h.example/hook?job_id=sub-1#top");
}

BOOST_AUTO_TEST_CASE(the_job_id_is_read_back_from_a_webhook_url) {
  BOOST_TEST(JobIdInWebhookUrl("https://h.example/hook?src=rep&job_id=sub-1") == "sub-1");
  BOOST_TEST(JobIdInWebhookUrl("https://h.example/hook?job_id=sub%2D1#x") == "sub-1");
  BOOST_TEST(JobIdInWebhookUrl("https://h.example/hook?job_id=") == "");
  BOOST_TEST(JobIdInWebhookUrl("https://h.example/hook?xjob_id=sub-1") == "");
  BOOST_TEST(JobIdInWebhookUrl("https://h.example/hook#job_id=sub-1") == "");
  BOOST_TEST(JobIdInWebhookUrl("https://h.example/hook") == "");
  BOOST_TEST(JobIdInWebhookUrl("") == "");
  const std::string url = WebhookUrlForJob("https://h.example/hook?job=2", "sub-abc");
  BOOST_TEST(JobIdInWebhookUrl(url) == "sub-abc");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
