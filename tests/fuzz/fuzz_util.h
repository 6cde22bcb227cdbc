// Helpers shared by the libFuzzer targets in tests/fuzz/: a check that aborts
// (so libFuzzer records the input as a crash) and independent UTF-8 and JSON
// checks, written here rather than taken from lib/ so a bug there cannot hide
// itself.
#ifndef JOBPULSE_TESTS_FUZZ_FUZZ_UTIL_H_
#define JOBPULSE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/http.h"

// Aborts with the failed condition and a note when `cond` is false.
#define FUZZ_CHECK(cond, note)                                                              \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(note).c_str());                                              \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace jobpulse::fuzz {

// Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
inline bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    unsigned int cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// Code points of valid UTF-8.
inline size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// True when `s` is one complete JSON value (iterative parse: no recursion).
inline bool IsJson(std::string_view s) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(s.data(),
                                                                                    s.size());
  return !doc.HasParseError();
}

// An API answer must be well formed whatever the request: a known status,
// a JSON body (or none for 204/304/HEAD), the error envelope for failures, and
// never a 500 (which would be a bug, an unexpected exception).
inline void CheckApiResponse(const HttpRequest& request, const HttpResponse& r) {
  const std::string where = request.method + " " + request.path + "?" + request.query + " -> " +
                            std::to_string(r.status) + " " + r.body.substr(0, 300);
  FUZZ_CHECK(r.status != 500, where);
  FUZZ_CHECK(r.status >= 200 && r.status <= 599, where);
  if (r.body.empty()) {
    FUZZ_CHECK(r.status == 204 || r.status == 304 || request.method == "HEAD", where);
    return;
  }
  FUZZ_CHECK(IsJson(r.body), where);
  if (r.status >= 400) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(r.body.data(), r.body.size());
    FUZZ_CHECK(doc.IsObject() && doc.HasMember("error") && doc["error"].IsString() &&
                   doc.HasMember("message") && doc["message"].IsString(),
               where);
  }
}

}  // namespace jobpulse::fuzz

#endif  // JOBPULSE_TESTS_FUZZ_FUZZ_UTIL_H_
