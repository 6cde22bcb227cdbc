// The Boost.Test module of the integration tests: real nginx, supervisord and
// FastCGI handlers on 127.0.0.1, a real SQLite file (tests/integration/stack.h).
#define BOOST_TEST_MODULE jobpulse_integration
#include <curl/curl.h>

#include <boost/test/unit_test.hpp>

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};
BOOST_TEST_GLOBAL_FIXTURE(CurlGlobal);
