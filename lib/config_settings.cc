// The settings table and the checks its rows name. Messages here are part of
// the contract (tests/config_test.cc pins them); a secret's check never echoes it.
#include "lib/config_settings.h"

#include <cstdio>

#include "lib/pg_db.h"

namespace jobpulse {
namespace {

// The client appends paths such as "/predictions", so a trailing slash would
// double up; strip it rather than reject a URL people commonly write.
std::string StripTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// "" when `url` (after normalisation) is an http(s) URL with a host.
std::string UrlProblem(const std::string& original, const std::string& url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.starts_with(scheme) && url.size() > scheme.size() && url[scheme.size()] != '/') {
      return "";
    }
  }
  return "must be an http:// or https:// URL, got " + QuoteConfigValue(original);
}

std::string HttpUrlProblem(const std::string& url) { return UrlProblem(url, url); }

std::string BaseUrlProblem(const std::string& url) {
  return UrlProblem(url, StripTrailingSlashes(url));
}

// May hold a password: what is wrong is said without echoing any of it.
std::string DatabaseUrlProblem(const std::string& url) {
  if (!IsPostgresUrl(url)) return "must be a postgresql:// or postgres:// URL";
  return url.find_first_of(" \t\r\n") == std::string::npos ? "" : "must not contain whitespace";
}

// The value is a secret: say what is wrong without echoing any of it.
std::string WebhookSecretProblem(const std::string& secret) {
  return secret.starts_with("whsec_") ? "" : "must start with \"whsec_\"";
}

// A secret too; short tokens are guessable, and the text never shows.
std::string ApiTokenProblem(const std::string& token) {
  if (token.size() < 16) return "must be at least 16 characters";
  for (const char c : token) {
    if (c <= ' ' || c == 0x7f) return "must not contain spaces or control characters";
  }
  return "";
}

// "https://host[:port]" exactly as a browser sends Origin: no path, no slash.
std::string OriginProblem(const std::string& origin) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!origin.starts_with(scheme)) continue;
    const std::string_view rest = std::string_view(origin).substr(scheme.size());
    if (!rest.empty() && rest.find_first_of("/?# ") == std::string_view::npos) return "";
  }
  return "must be an origin like \"https://host:port\" (no path), got " + QuoteConfigValue(origin);
}

// A DNS name or an address nginx can match in server_name.
std::string ServerNameProblem(const std::string& name) {
  if (name.empty() || name.size() > 253)
    return "must be a host name, got " + QuoteConfigValue(name);
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return "must be a host name, got " + QuoteConfigValue(name);
  }
  return "";
}

std::string SocketModeProblem(const std::string& mode) {
  if (mode == "0600" || mode == "0660") return "";
  return "must be 0600 or 0660, got " + QuoteConfigValue(mode);
}

std::string CostLimitPeriodProblem(const std::string& period) {
  if (period == "daily" || period == "weekly" || period == "monthly") return "";
  return "must be daily, weekly or monthly, got " + QuoteConfigValue(period);
}

std::string ModelProblem(const std::string& model) {
  const size_t slash = model.find('/');
  if (slash != std::string::npos && slash > 0 && slash + 1 < model.size() &&
      model.find('/', slash + 1) == std::string::npos) {
    return "";
  }
  return "must be \"owner/name\", got " + QuoteConfigValue(model);
}

// Prices can only be added or overridden, so only a configured
// default_hardware can lack a price; without one every cost estimate would
// silently be null.
std::string DefaultHardwareProblem(const Config& config) {
  const ReplicateConfig& r = config.replicate;
  if (r.hardware_prices.value.contains(r.default_hardware.value)) return "";
  return "no price for " + QuoteConfigValue(r.default_hardware.value) +
         " in providers.replicate.hardware_prices";
}

template <typename T>
constexpr ConfigFieldRef Top(Setting<T> Config::*member) {
  return ConfigField<T>{member, nullptr};
}

template <typename T>
constexpr ConfigFieldRef Replicate(Setting<T> ReplicateConfig::*member) {
  return ConfigField<T>{nullptr, member};
}

using C = Config;
using R = ReplicateConfig;

const SettingSpec kSettings[] = {
    {.key = "background.job_status_polling.enabled",
     .field = Top(&C::polling_enabled),
     .unset_text = "auto"},
    {.key = "background.job_status_polling.interval_seconds",
     .env = "SIMPLETUNER_JOB_POLL_INTERVAL",
     .field = Top(&C::polling_interval_seconds),
     .min = 1,
     .max = 86400},
    {.key = "background.queue_processing.enabled", .field = Top(&C::queue_processing_enabled)},
    {.key = "background.queue_processing.interval_seconds",
     .field = Top(&C::queue_processing_interval_seconds),
     .min = 1,
     .max = 86400},
    {.key = "queue.max_concurrent", .field = Top(&C::queue_max_concurrent), .min = 1, .max = 10000},
    {.key = "queue.user_max_concurrent",
     .field = Top(&C::queue_user_max_concurrent),
     .min = 1,
     .max = 10000},
    {.key = "queue.max_attempts", .field = Top(&C::queue_max_attempts), .min = 1, .max = 100},
    {.key = "queue.cost_limit_usd", .field = Top(&C::queue_cost_limit_usd), .unset_text = "none"},
    {.key = "queue.cost_limit_period",
     .field = Top(&C::queue_cost_limit_period),
     .check = CostLimitPeriodProblem},
    {.key = "database.path", .env = "JOBPULSE_DB", .field = Top(&C::database_path)},
    {.key = "database.url",
     .env = "JOBPULSE_DATABASE_URL",
     .field = Top(&C::database_url),
     .check = DatabaseUrlProblem,
     .shown = MaskDatabaseUrl,
     .unset_text = "(unset: SQLite at database.path)"},
    {.key = "providers.replicate.api_token",
     .env = "REPLICATE_API_TOKEN",
     .field = Replicate(&R::api_token),
     .secret = true},
    {.key = "providers.replicate.base_url",
     .env = "REPLICATE_BASE_URL",
     .field = Replicate(&R::base_url),
     .check = BaseUrlProblem,
     .normalise = StripTrailingSlashes},
    {.key = "providers.replicate.webhook_url",
     .env = "REPLICATE_WEBHOOK_URL",
     .field = Replicate(&R::webhook_url),
     .check = HttpUrlProblem},
    {.key = "providers.replicate.webhook_secret",
     .env = "REPLICATE_WEBHOOK_SECRET",
     .field = Replicate(&R::webhook_secret),
     .check = WebhookSecretProblem,
     .secret = true},
    {.key = "providers.replicate.webhook_require_signature",
     .field = Replicate(&R::webhook_require_signature)},
    {.key = "providers.replicate.webhook_timestamp_tolerance_seconds",
     .field = Replicate(&R::webhook_timestamp_tolerance_seconds),
     .min = 1,
     .max = 86400},
    {.key = "providers.replicate.sync_max_jobs",
     .field = Replicate(&R::sync_max_jobs),
     .min = 1,
     .max = 10000},
    {.key = "providers.replicate.sync_models",
     .field = Replicate(&R::sync_models),
     .check = ModelProblem,
     .list_of = "\"owner/name\" strings",
     .item = "\"owner/name\""},
    {.key = "providers.replicate.hardware_prices", .field = Replicate(&R::hardware_prices)},
    {.key = "providers.replicate.default_hardware",
     .field = Replicate(&R::default_hardware),
     .relation = DefaultHardwareProblem},
    {.key = "providers.replicate.max_concurrent_requests",
     .field = Replicate(&R::max_concurrent_requests),
     .min = 1,
     .max = 256},
    {.key = "sse.max_connections_per_ip",
     .field = Top(&C::sse_max_connections_per_ip),
     .min = 1,
     .max = 100000},
    {.key = "sse.max_connections", .field = Top(&C::sse_max_connections), .min = 1, .max = 1000000},
    {.key = "sse.heartbeat_seconds",
     .field = Top(&C::sse_heartbeat_seconds),
     .min = 1,
     .max = 3600},
    {.key = "sse.retention_events",
     .field = Top(&C::sse_retention_events),
     .min = 1,
     .max = 100000000},
    {.key = "sse.retention_hours", .field = Top(&C::sse_retention_hours), .min = 1, .max = 87600},
    {.key = "sse.socket_path",
     .env = "JOBPULSE_EVENTS_SOCKET",
     .field = Top(&C::sse_socket_path),
     .unset_text = "(events.sock beside the database)"},
    {.key = "sse.socket_mode", .field = Top(&C::sse_socket_mode), .check = SocketModeProblem},
    {.key = "inline_progress.max_age_seconds",
     .field = Top(&C::inline_progress_max_age_seconds),
     .min = 1,
     .max = 3600},
    {.key = "api.max_body_bytes",
     .field = Top(&C::api_max_body_bytes),
     .min = 1,
     .max = int64_t{1} << 30},
    {.key = "api.token",
     .env = "JOBPULSE_API_TOKEN",
     .field = Top(&C::api_token),
     .check = ApiTokenProblem,
     .secret = true},
    {.key = "api.allowed_origins",
     .field = Top(&C::api_allowed_origins),
     .check = OriginProblem,
     .list_of = "\"https://host[:port]\""},
    {.key = "api.max_provider_waiters",
     .field = Top(&C::api_max_provider_waiters),
     .min = 1,
     .max = 1024,
     .unset_text = "(half the pool)"},
    {.key = "listen.port",
     .env = "JOBPULSE_PORT",
     .field = Top(&C::listen_port),
     .min = 1,
     .max = 65535},
    {.key = "listen.server_names",
     .field = Top(&C::listen_server_names),
     .check = ServerNameProblem,
     .list_of = "host names"},
    {.key = "webhooks.retention_hours",
     .field = Top(&C::webhooks_retention_hours),
     .min = 0,
     .max = 87600},
    {.key = "fcgi.max_requests",
     .env = "JOBPULSE_MAX_REQUESTS",
     .field = Top(&C::fcgi_max_requests),
     .min = 1,
     .max = 10000000},
    {.key = "fcgi.pool_size",
     .in_yaml = false,
     .env = "JOBPULSE_POOL_SIZE",
     .field = Top(&C::fcgi_pool_size),
     .min = 1,
     .max = 1024},
};

}  // namespace

std::span<const SettingSpec> ConfigSettings() { return kSettings; }

// Echoing the offending value makes typos obvious; bounding and escaping it
// keeps a stray block scalar from flooding the startup log.
std::string QuoteConfigValue(std::string_view text) {
  constexpr size_t kMaxChars = 64;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxChars; ++i) {
    const char c = text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  if (text.size() > kMaxChars) out += "...";
  out += '"';
  return out;
}

}  // namespace jobpulse
