#include "lib/sse_protocol.h"

#include <charconv>
#include <utility>

#include "lib/access.h"
#include "lib/json_writer.h"
#include "lib/status.h"

namespace jobpulse {
namespace {

std::string ErrorReply(Status::Code code, std::string error, std::string message,
                       Status::Details details = {}) {
  return ClosingReply(
      ErrorResponse(Status::Error(code, std::move(error), std::move(message), std::move(details))));
}

std::optional<int64_t> ParseEventId(std::string_view s) {
  int64_t value = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0) return std::nullopt;
  return value;
}

struct RequestHead {
  std::string_view method;
  std::string_view path;
  std::string_view query;
  std::string_view real_ip;
  std::optional<std::string_view> last_event_id_header;
  // What SPEC §11 accepts as the API token.
  std::optional<std::string> authorization;
  std::optional<std::string> api_key;
  std::optional<std::string> cookie;
};

// Parses "METHOD SP target SP HTTP/1.x" and the header lines; false when the
// head is not HTTP/1.x.
bool ParseHead(std::string_view head, RequestHead* out) {
  // Lines end in "\r\n" or a bare "\n".
  const auto without_cr = [](std::string_view line) {
    return !line.empty() && line.back() == '\r' ? line.substr(0, line.size() - 1) : line;
  };
  size_t line_end = head.find('\n');
  std::string_view line = Trim(without_cr(head.substr(0, line_end)));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  out->method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (line.substr(sp2 + 1).substr(0, 7) != "HTTP/1.") return false;
  const size_t question = target.find('?');
  out->path = target.substr(0, question);
  if (question != std::string_view::npos) out->query = target.substr(question + 1);
  while (line_end != std::string_view::npos) {
    const size_t start = line_end + 1;
    line_end = head.find('\n', start);
    line = without_cr(
        head.substr(start, line_end == std::string_view::npos ? line_end : line_end - start));
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "x-real-ip")) {
      out->real_ip = value;
    } else if (EqualsIgnoreCase(name, "last-event-id")) {
      out->last_event_id_header = value;
    } else if (EqualsIgnoreCase(name, "authorization")) {
      out->authorization = std::string(value);
    } else if (EqualsIgnoreCase(name, "x-api-key")) {
      out->api_key = std::string(value);
    } else if (EqualsIgnoreCase(name, "cookie")) {
      // Several Cookie lines (HTTP/2 splits them) are one list.
      out->cookie = out->cookie ? *out->cookie + "; " + std::string(value) : std::string(value);
    }
  }
  return true;
}

}  // namespace

// "id: <id>\ndata: <json>\n\n". Stored JSON is compact and has no raw line
// breaks, but a stray one would end the SSE field early, so each line gets
// its own data: field (EventSource joins them back with '\n').
std::string EventFrame(int64_t id, std::string_view data) {
  std::string frame = "id: " + std::to_string(id) + "\n";
  frame.reserve(frame.size() + data.size() + 8);
  size_t start = 0;
  while (true) {
    size_t end = data.find_first_of("\r\n", start);
    frame += "data: ";
    frame.append(data.substr(start, end == std::string_view::npos ? end : end - start));
    frame += '\n';
    if (end == std::string_view::npos) break;
    if (data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n') ++end;
    start = end + 1;
  }
  frame += '\n';
  return frame;
}

std::string TypeMessage(std::string_view type, std::optional<int64_t> last_event_id) {
  JsonWriter json;
  json.BeginObject().Key("type").String(type);
  if (last_event_id) json.Key("last_event_id").Int(*last_event_id);
  json.EndObject();
  return "data: " + json.str() + "\n\n";
}

// A whole answer that ends the connection: lib/http.h's response (the API's
// JSON error envelope) as HTTP/1.1 with its length.
std::string ClosingReply(const HttpResponse& response) {
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + ReasonPhrase(response.status) + "\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  out +=
      "Content-Length: " + std::to_string(response.body.size()) + "\r\nConnection: close\r\n\r\n";
  out += response.body;
  return out;
}

std::variant<StreamRequest, std::string> AdmitStream(std::string_view head,
                                                     const std::optional<std::string>& api_token,
                                                     int64_t now_seconds) {
  RequestHead req;
  if (!ParseHead(head, &req)) {
    return ErrorReply(Status::Code::kInvalidArgument, "invalid_request", "Malformed HTTP request");
  }
  if (req.path != "/api/events") {
    return ErrorReply(Status::Code::kNotFound, "not_found", "Only /api/events is served here");
  }
  if (api_token && !api_token->empty()) {
    const Credentials credentials{req.authorization ? &*req.authorization : nullptr,
                                  req.api_key ? &*req.api_key : nullptr,
                                  req.cookie ? &*req.cookie : nullptr};
    if (!HasValidCredentials(*api_token, credentials, now_seconds)) {
      return ClosingReply(UnauthorizedResponse());
    }
  }
  if (req.method != "GET") {
    HttpResponse not_allowed = ErrorResponse(Status::Error(
        Status::Code::kMethodNotAllowed, "method_not_allowed", "/api/events only accepts GET"));
    not_allowed.headers.emplace_back("Allow", "GET");
    return ClosingReply(not_allowed);
  }
  // The header wins over the query: EventSource sends the header on its
  // reconnects while the URL still carries the id the page started from.
  StreamRequest stream;
  if (req.last_event_id_header) {
    stream.resume = ParseEventId(*req.last_event_id_header);  // garbage = no resume
  } else if (auto param = QueryParams(req.query).Get("last_event_id")) {
    stream.resume = ParseEventId(*param);
    if (!stream.resume) {
      return ErrorReply(Status::Code::kInvalidArgument, "invalid_parameter",
                        "last_event_id must be a non-negative integer",
                        {{"parameter", "last_event_id"}});
    }
  }
  stream.ip = req.real_ip.empty() ? std::string("unix") : std::string(req.real_ip);
  return stream;
}

}  // namespace jobpulse
