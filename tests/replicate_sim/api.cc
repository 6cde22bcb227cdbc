// The Replicate API surface under /v1 (reference/replicate.md §1-§6), plus the
// per-request machinery around it: latency, counters, faults, auth and gzip.
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "lib/json_writer.h"
#include "lib/timestamp.h"
#include "tests/replicate_sim/sim.h"

namespace replicate_sim {
namespace {

// What list links name in next_links "replicate" mode.
constexpr char kReplicateOrigin[] = "https://api.replicate.com";

ApiRoute Route(std::string endpoint, std::string allow, std::string id = "", std::string owner = "",
               std::string name = "", std::string version = "") {
  return ApiRoute{std::move(endpoint), std::move(allow), std::move(id),
                  std::move(owner),    std::move(name),  std::move(version)};
}

// Maps a /v1 path to an endpoint name; the method only picks between the
// endpoints that share a path, so a known path with the wrong method can get
// 405 rather than 404.
ApiRoute RouteApi(const std::vector<std::string>& p, const std::string& method) {
  const size_t n = p.size();
  if (n < 2 || p[0] != "v1") return {};
  if (p[1] == "predictions" || p[1] == "trainings") {
    const bool t = p[1] == "trainings";
    if (n == 2 && !t) {
      return Route(method == "POST" ? "create_prediction" : "list_predictions", "GET, POST");
    }
    if (n == 2) return Route("list_trainings", "GET");
    if (n == 3) return Route(t ? "get_training" : "get_prediction", "GET", p[2]);
    if (n == 4 && p[3] == "cancel") {
      return Route(t ? "cancel_training" : "cancel_prediction", "POST", p[2]);
    }
    return {};
  }
  if (p[1] == "models" && n == 5 && p[4] == "predictions") {
    return Route("create_prediction", "POST", "", p[2], p[3]);
  }
  if (p[1] == "models" && n == 7 && p[4] == "versions" && p[6] == "trainings") {
    return Route("create_training", "POST", "", p[2], p[3], p[5]);
  }
  if (n == 2 && p[1] == "account") return Route("account", "GET");
  if (n == 2 && p[1] == "hardware") return Route("hardware", "GET");
  if (n == 4 && p[1] == "webhooks" && p[2] == "default" && p[3] == "secret") {
    return Route("webhook_secret", "GET");
  }
  return {};
}

bool Allowed(const std::string& method, const std::string& allow) {
  size_t pos = 0;
  while (pos < allow.size()) {
    size_t comma = allow.find(", ", pos);
    if (comma == std::string::npos) comma = allow.size();
    if (allow.compare(pos, comma - pos, method) == 0) return true;
    pos = comma + 2;
  }
  return false;
}

bool Authorized(const HttpRequest& req, const std::vector<std::string>& tokens) {
  const std::string header = req.Header("authorization");
  const size_t space = header.find(' ');
  if (space == std::string::npos) return false;
  std::string scheme = header.substr(0, space);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer" && scheme != "token") return false;
  const std::string token = header.substr(space + 1);
  return std::find(tokens.begin(), tokens.end(), token) != tokens.end();
}

std::optional<std::string> Gzip(const std::string& in) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  // windowBits 15 + 16 selects the gzip wrapper rather than raw zlib.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return std::nullopt;
  }
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const size_t written = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  out.resize(written);
  return out;
}

HttpResponse FaultResponse(const Fault& fault) {
  const int n = fault.retry_after;
  if (fault.status == 429 && fault.retry_after_text >= 0) {
    // Replicate's documented throttle body: the wait is only in the text.
    return Problem(429, "Request was throttled. Your rate limit resets in ~" +
                            std::to_string(fault.retry_after_text) + "s.");
  }
  if (fault.status == 429) {
    jobpulse::JsonWriter w;
    w.BeginObject()
        .Key("detail")
        .String("Request was throttled. Your rate limit resets in ~" + std::to_string(n) + "s.")
        .Key("status")
        .Int(429);
    if (fault.retry_after_body) w.Key("retry_after").Int(n);
    w.EndObject();
    HttpResponse r;
    r.status = 429;
    r.content_type = "application/problem+json";
    r.body = w.str();
    if (fault.retry_after_header) r.headers.emplace_back("Retry-After", std::to_string(n));
    return r;
  }
  HttpResponse r =
      Problem(fault.status, "Simulated failure (HTTP " + std::to_string(fault.status) + ")");
  // Some clients (replicate-go's tests) expect Retry-After on 5xx too.
  if (fault.retry_after_given && fault.retry_after_header) {
    r.headers.emplace_back("Retry-After", std::to_string(n));
  }
  return r;
}

// What a faulted request answers: after the delay, no answer at all, the
// fault's status, the real answer cut in half, or the real answer. `real`
// computes (or replays) the real answer.
HttpResponse ApplyFault(const Fault& fault, const std::function<HttpResponse()>& real) {
  if (fault.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(fault.delay_ms));
  if (fault.drop) {
    HttpResponse r;
    r.drop = true;
    return r;
  }
  if (fault.status != 0) return FaultResponse(fault);
  if (!fault.malformed) return real();
  HttpResponse r = real();
  // Cut the real answer in half: valid HTTP, a JSON content type, broken JSON.
  r.status = 200;
  r.content_type = "application/json";
  r.body = r.body.size() < 4 ? std::string("{\"") : r.body.substr(0, r.body.size() / 2);
  return r;
}

HttpResponse Hardware() {
  return Json(200, R"([{"sku":"cpu","name":"CPU"},{"sku":"gpu-t4","name":"Nvidia T4 GPU"},)"
                   R"({"sku":"gpu-a40-small","name":"Nvidia A40 GPU"},)"
                   R"({"sku":"gpu-a40-large","name":"Nvidia A40 (Large) GPU"}])");
}

HttpResponse Account() {
  return Json(200, R"({"type":"user","username":"simuser","name":"Sim User",)"
                   R"("github_url":"https://github.com/simuser"})");
}

// Newest first; ties broken by id so the order, and thus paging, is total.
bool NewerFirst(const Run* a, const Run* b) {
  if (a->created_at != b->created_at) return a->created_at > b->created_at;
  return a->id > b->id;
}

// True when `run` sorts strictly before the cursor position.
bool Before(const Run& run, const Cursor& c) {
  if (run.created_at != c.created_at) return run.created_at > c.created_at;
  return run.id > c.id;
}

bool After(const Run& run, const Cursor& c) {
  if (run.created_at != c.created_at) return run.created_at < c.created_at;
  return run.id < c.id;
}

}  // namespace

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t slash = path.find('/', pos);
    const std::string part =
        path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return parts;
}

HttpResponse Problem(int status, const std::string& detail) {
  jobpulse::JsonWriter w;
  w.BeginObject().Key("detail").String(detail).Key("status").Int(status).EndObject();
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = w.str();
  return r;
}

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse Simulator::Handle(const HttpRequest& req) {
  if (req.path == "/_sim" || req.path.rfind("/_sim/", 0) == 0) return HandleControl(req);
  HttpResponse r = HandleApi(req);
  if (r.drop || r.body.empty()) return r;
  bool gzip;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    gzip = state_.config.gzip;
  }
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (gzip && req.Header("accept-encoding").find("gzip") != std::string::npos) {
    if (std::optional<std::string> z = Gzip(r.body)) {
      r.body = std::move(*z);
      r.headers.emplace_back("Content-Encoding", "gzip");
    }
  }
  return r;
}

HttpResponse Simulator::HandleApi(const HttpRequest& req) {
  int latency_ms;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    ++state_.total_requests;
    latency_ms = state_.config.latency_ms;
  }
  if (latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(latency_ms));

  const ApiRoute route = RouteApi(SplitPath(req.path), req.method);
  if (route.endpoint.empty()) return Problem(404, "Not found.");
  if (!Allowed(req.method, route.allow)) {
    HttpResponse r = Problem(405, "Method \"" + req.method + "\" not allowed.");
    r.headers.emplace_back("Allow", route.allow);
    return r;
  }

  std::optional<Fault> fault;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    ++state_.endpoint_counts[route.endpoint];
    if (route.endpoint == "get_prediction" || route.endpoint == "get_training") {
      ++state_.run_counts[route.id];
    }
    fault = TakeFault(state_, route.endpoint);
  }
  if (!fault) return ApiAfterRouting(req, route);
  if (fault->after_create) {
    // The provider did the work (a create made its run) and the answer was lost.
    const HttpResponse real = ApiAfterRouting(req, route);
    return ApplyFault(*fault, [&] { return real; });
  }
  return ApplyFault(*fault, [&] { return ApiAfterRouting(req, route); });
}

HttpResponse Simulator::ApiAfterRouting(const HttpRequest& req, const ApiRoute& route) {
  const std::string& endpoint = route.endpoint;
  const std::string& id = route.id;
  std::string secret;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    if (!Authorized(req, state_.config.tokens)) {
      jobpulse::JsonWriter w;
      w.BeginObject()
          .Key("title")
          .String("Unauthenticated")
          .Key("detail")
          .String("You did not pass a valid authentication token")
          .Key("status")
          .Int(401)
          .EndObject();
      HttpResponse r;
      r.status = 401;
      r.content_type = "application/problem+json";
      r.body = w.str();
      return r;
    }
    secret = state_.config.webhook_secret;
  }
  if (endpoint == "list_predictions") return List(req, false);
  if (endpoint == "list_trainings") return List(req, true);
  if (endpoint == "get_prediction") return Get(id, false);
  if (endpoint == "get_training") return Get(id, true);
  if (endpoint == "cancel_prediction") return Cancel(id, false);
  if (endpoint == "cancel_training") return Cancel(id, true);
  if (endpoint == "create_prediction") return CreatePrediction(req, route);
  if (endpoint == "create_training") return CreateTraining(req, route);
  if (endpoint == "account") return Account();
  if (endpoint == "hardware") return Hardware();
  if (endpoint == "webhook_secret") {
    jobpulse::JsonWriter w;
    w.BeginObject().Key("key").String(secret).EndObject();
    return Json(200, w.str());
  }
  return Problem(404, "Not found.");
}

HttpResponse Simulator::List(const HttpRequest& req, bool trainings_only) {
  std::optional<Cursor> cursor;
  if (const auto it = req.query.find("cursor"); it != req.query.end()) {
    cursor = DecodeCursor(it->second);
    if (!cursor) return Problem(400, "Invalid cursor.");
  }
  std::lock_guard<std::mutex> lock(state_.mu);
  std::vector<const Run*> runs;
  for (const auto& [id, run] : state_.runs) {
    if (!trainings_only || run.training) runs.push_back(&run);
  }
  std::sort(runs.begin(), runs.end(), NewerFirst);
  const size_t page_size = static_cast<size_t>(std::max(1, state_.config.page_size));
  size_t begin = 0;
  size_t end = std::min(page_size, runs.size());
  if (cursor && !cursor->backward) {
    begin = static_cast<size_t>(
        std::find_if(runs.begin(), runs.end(), [&](const Run* r) { return After(*r, *cursor); }) -
        runs.begin());
    end = std::min(begin + page_size, runs.size());
  } else if (cursor) {
    end = static_cast<size_t>(
        std::find_if(runs.begin(), runs.end(), [&](const Run* r) { return !Before(*r, *cursor); }) -
        runs.begin());
    begin = end > page_size ? end - page_size : 0;
  }

  const std::string& links = state_.config.next_links;
  const std::string origin = links == "replicate"  ? std::string(kReplicateOrigin)
                             : links == "relative" ? std::string()
                                                   : state_.base_url;
  const std::string list_url =
      origin + (trainings_only ? "/v1/trainings" : "/v1/predictions") + "?cursor=";
  RenderOptions options{state_.base_url, NextTimestampDigits(), /*include_logs=*/false};
  jobpulse::JsonWriter w;
  w.BeginObject().Key("previous");
  if (begin > 0) {
    // Anchor on the first item shown, or on the cursor itself for an empty page
    // past the end, so "previous" always leads back to real items.
    Cursor prev = cursor.value_or(Cursor{});
    if (begin < end) prev = Cursor{false, runs[begin]->created_at, runs[begin]->id};
    prev.backward = true;
    w.String(list_url + EncodeCursor(prev));
  } else {
    w.Null();
  }
  w.Key("next");
  if (end < runs.size() && end > begin) {
    w.String(list_url + EncodeCursor(Cursor{false, runs[end - 1]->created_at, runs[end - 1]->id}));
  } else {
    w.Null();
  }
  w.Key("results").BeginArray();
  for (size_t i = begin; i < end; ++i) WriteRun(w, *runs[i], options);
  w.EndArray().EndObject();
  return Json(200, w.str());
}

HttpResponse Simulator::Get(const std::string& id, bool trainings_only) {
  std::lock_guard<std::mutex> lock(state_.mu);
  const auto it = state_.runs.find(id);
  if (it == state_.runs.end() || (trainings_only && !it->second.training)) {
    return Problem(404, "Not found.");
  }
  return Json(200, RunJson(it->second, {state_.base_url, NextTimestampDigits(), true}));
}

HttpResponse Simulator::Cancel(const std::string& id, bool trainings_only) {
  std::lock_guard<std::mutex> lock(state_.mu);
  const auto it = state_.runs.find(id);
  if (it == state_.runs.end() || (trainings_only && !it->second.training)) {
    return Problem(404, "Not found.");
  }
  // Cancel is idempotent: a terminal run comes back unchanged (replicate.md §3).
  if (!IsTerminal(it->second.status)) {
    const RunDigest before = Digest(it->second);
    ApplyStatus(it->second, "canceled", jobpulse::NowMicros());
    NotifyChange(state_, before, it->second);
  }
  return Json(200, RunJson(it->second, {state_.base_url, NextTimestampDigits(), true}));
}

}  // namespace replicate_sim
