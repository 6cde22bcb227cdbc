// The wire side of GET /api/events (SPEC §8): deciding from a request head
// whether a stream opens (SPEC §11's token, the method, Last-Event-ID), the
// replies that refuse one, and the frames a stream carries. lib/sse_server.h
// moves the bytes. Pure; thread-safe.
#ifndef JOBPULSE_LIB_SSE_PROTOCOL_H_
#define JOBPULSE_LIB_SSE_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "lib/http.h"

namespace jobpulse {

// A stream to open: the client's address for the per-IP limit ("unix" when the
// web server did not say, X-Real-IP otherwise) and the event id to resume after.
struct StreamRequest {
  std::string ip;
  std::optional<int64_t> resume;
};

// Reads a request head (the request line and headers, without the blank line
// that ends them). Returns the stream to open, or the whole HTTP/1.1 reply that
// refuses it (ClosingReply): 400 "invalid_request" for a head that is not
// HTTP/1.x, 404 for another path, 401 without `api_token` when one is set
// (`now_seconds` judges a session cookie's expiry), 405 with Allow: GET for
// another method, 400 "invalid_parameter" for a `last_event_id` query value
// that is not a non-negative integer. The Last-Event-ID header wins over the
// query; a header that does not parse means no resume.
std::variant<StreamRequest, std::string> AdmitStream(std::string_view head,
                                                     const std::optional<std::string>& api_token,
                                                     int64_t now_seconds);

// `response` (the API's JSON envelope) as a whole HTTP/1.1 answer with its
// length and Connection: close.
std::string ClosingReply(const HttpResponse& response);

// "id: <id>\ndata: <json>\n\n"; a line break inside `data` starts another
// data: field (EventSource joins them back with '\n').
std::string EventFrame(int64_t id, std::string_view data);

// `data: {"type":"<type>"[,"last_event_id":N]}` and the blank line: the
// connected and reset messages.
std::string TypeMessage(std::string_view type, std::optional<int64_t> last_event_id);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_SSE_PROTOCOL_H_
