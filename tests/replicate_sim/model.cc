#include "tests/replicate_sim/model.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <random>

#include "lib/timestamp.h"

namespace replicate_sim {
namespace {

std::mt19937_64& Rng() {
  // Per thread, so connection threads never contend or race on one engine.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

std::string RandomFrom(std::string_view alphabet, int n) {
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) out += alphabet[pick(Rng())];
  return out;
}

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

std::string DefaultOutput(const Run& run) {
  jobpulse::JsonWriter w;
  if (run.training) {
    w.BeginObject()
        .Key("version")
        .String((run.destination.empty() ? run.model : run.destination) + ":" + RandomHex(64))
        .Key("weights")
        .String("https://example.invalid/weights.tar")
        .EndObject();
  } else {
    w.String("https://example.invalid/output/" + run.id + ".png");
  }
  return w.str();
}

constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kBase64Url[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kBase64Url[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const size_t v = kBase64Url.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace

bool IsTerminal(std::string_view status) {
  return status == "succeeded" || status == "failed" || status == "canceled" || status == "aborted";
}

void ApplyStatus(Run& run, const std::string& status, int64_t now_micros) {
  run.status = status;
  if (status == "processing") {
    if (!run.started_at) run.started_at = std::max(now_micros, run.created_at);
    run.completed_at.reset();
    return;
  }
  if (!IsTerminal(status)) {
    run.completed_at.reset();
    return;
  }
  int64_t completed = std::max(now_micros, run.created_at);
  if (run.started_at) completed = std::max(completed, *run.started_at);
  run.completed_at = completed;
  // A run canceled while queued still gets started_at == completed_at on the real
  // service (replicate.md §3); only an aborted run never started.
  if (!run.started_at && status != "aborted") run.started_at = completed;
  if (status == "succeeded" && !run.output_json) run.output_json = DefaultOutput(run);
  FillTerminalMetrics(run);
}

void FillTerminalMetrics(Run& run) {
  if (!IsTerminal(run.status) || !run.completed_at) return;
  double predict = 0;
  if (run.predict_time) {
    predict = *run.predict_time;
  } else if (run.started_at) {
    predict = Seconds(*run.completed_at - *run.started_at);
  }
  run.metrics["predict_time"] = predict;
  run.metrics["total_time"] = Seconds(*run.completed_at - run.created_at);
}

int NextTimestampDigits() {
  static constexpr int kCycle[] = {9, 6, 3, 2, 4, 0};
  static std::atomic<uint64_t> counter{0};
  return kCycle[counter.fetch_add(1) % 6];
}

std::string FormatSimTimestamp(int64_t micros, int digits) {
  // FormatTimestamp gives exactly six digits: "YYYY-MM-DDTHH:MM:SS.ffffffZ".
  const std::string six = jobpulse::FormatTimestamp(micros);
  std::string fraction = six.substr(20, 6);
  // We only keep microseconds, so invent stable nanosecond digits rather than
  // "000", which would let a parser that keeps nine digits pass by accident.
  const uint64_t nanos = (static_cast<uint64_t>(micros) * 2654435761u) % 1000;
  char extra[4];
  std::snprintf(extra, sizeof extra, "%03u", static_cast<unsigned>(nanos));
  fraction += extra;
  std::string out = six.substr(0, 19);
  digits = std::clamp(digits, 0, 9);
  if (digits > 0) out += "." + fraction.substr(0, digits);
  out += "Z";
  return out;
}

void WriteRun(jobpulse::JsonWriter& w, const Run& run, const RenderOptions& options) {
  const auto ts = [&](const std::optional<int64_t>& t) -> jobpulse::JsonWriter& {
    return t ? w.String(FormatSimTimestamp(*t, options.digits)) : w.Null();
  };
  const std::string self =
      options.base_url + (run.training ? "/v1/trainings/" : "/v1/predictions/") + run.id;
  w.BeginObject();
  w.Key("id").String(run.id);
  w.Key("model").String(run.model);
  w.Key("version").String(run.version);
  w.Key("input").Raw(run.input_json);
  if (options.include_logs) w.Key("logs").String(run.logs);
  w.Key("output");
  if (run.output_json) {
    w.Raw(*run.output_json);
  } else {
    w.Null();
  }
  w.Key("data_removed").Bool(false);
  w.Key("error").String(run.error);
  w.Key("source").String(run.source);
  w.Key("status").String(run.status);
  w.Key("created_at");
  ts(run.created_at);
  w.Key("started_at");
  ts(run.started_at);
  w.Key("completed_at");
  ts(run.completed_at);
  w.Key("urls").BeginObject();
  w.Key("get").String(self);
  w.Key("cancel").String(self + "/cancel");
  w.Key("web").String(options.base_url + "/p/" + run.id);
  w.EndObject();
  w.Key("metrics").BeginObject();
  for (const auto& [key, value] : run.metrics) w.Key(key).Double(value);
  w.EndObject();
  // Only when given, so runs without a webhook keep their old shape.
  if (run.webhook) w.Key("webhook").String(*run.webhook);
  if (run.webhook_events_filter) {
    w.Key("webhook_events_filter").BeginArray();
    for (const std::string& event : *run.webhook_events_filter) w.String(event);
    w.EndArray();
  }
  w.EndObject();
}

std::string RunJson(const Run& run, const RenderOptions& options) {
  jobpulse::JsonWriter w;
  WriteRun(w, run, options);
  return w.str();
}

std::string RandomRunId() { return RandomFrom("abcdefghijklmnopqrstuvwxyz0123456789", 26); }

std::string RandomWebhookId() {
  return "msg_" + RandomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 27);
}

std::string RandomHex(int n) { return RandomFrom("0123456789abcdef", n); }

std::string VersionForModel(std::string_view model) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(model.data(), model.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string EncodeCursor(const Cursor& cursor) {
  return Base64UrlEncode(std::string(cursor.backward ? "d=p" : "d=n") +
                         "&c=" + std::to_string(cursor.created_at) + "&i=" + cursor.id);
}

std::optional<Cursor> DecodeCursor(std::string_view token) {
  const std::optional<std::string> raw = Base64UrlDecode(token);
  if (!raw) return std::nullopt;
  std::string_view s = *raw;
  Cursor cursor;
  if (s.substr(0, 4) == "d=n&") {
    cursor.backward = false;
  } else if (s.substr(0, 4) == "d=p&") {
    cursor.backward = true;
  } else {
    return std::nullopt;
  }
  s.remove_prefix(4);
  if (s.substr(0, 2) != "c=") return std::nullopt;
  s.remove_prefix(2);
  const size_t amp = s.find("&i=");
  if (amp == std::string_view::npos || amp == 0) return std::nullopt;
  const std::string_view number = s.substr(0, amp);
  const auto [ptr, ec] =
      std::from_chars(number.data(), number.data() + number.size(), cursor.created_at);
  if (ec != std::errc() || ptr != number.data() + number.size()) return std::nullopt;
  cursor.id = std::string(s.substr(amp + 3));
  if (cursor.id.empty()) return std::nullopt;
  return cursor;
}

}  // namespace replicate_sim
