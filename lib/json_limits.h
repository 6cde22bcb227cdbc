// Limits on every JSON input (SPEC §9): request bodies, webhook bodies and
// provider responses are parsed with a nesting limit of kMaxJsonDepth and a
// size limit, so deep or huge input is refused (400 invalid_json or a provider
// error) instead of exhausting the stack or memory.
//
// Every RapidJSON parse in lib/ first checks JsonDepthWithin and then parses
// with rapidjson::kParseIterativeFlag, so even a scanner bug cannot recurse.
//
// Pure; thread-safe.
#ifndef JOBPULSE_LIB_JSON_LIMITS_H_
#define JOBPULSE_LIB_JSON_LIMITS_H_

#include <cstddef>
#include <string_view>

namespace jobpulse {

// The deepest nesting of arrays and objects accepted anywhere ("[[1]]" is 2).
constexpr int kMaxJsonDepth = 64;

// The largest provider response body read (decoded); more fails the call as a
// provider error without buffering the rest.
constexpr size_t kMaxProviderResponseBytes = size_t{32} * 1024 * 1024;

// True when no array or object in `json` nests deeper than `max_depth`
// (strings and their escapes are skipped, so "[" inside a string does not
// count). One pass, no recursion, no allocation. Says nothing about validity:
// malformed text within the limit is left for the parser to refuse.
bool JsonDepthWithin(std::string_view json, int max_depth = kMaxJsonDepth);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_JSON_LIMITS_H_
