// The REST API (lib/api.h): routing, the handlers of SPEC §9 and health.
//
// Size: over 500 lines because it still holds several concerns (router,
// webhook authentication and its secret cache, query parsing, renderers,
// health). Issue 10 (the module split, next after the benchmark issue)
// splits it and gives handlers one error path; until then each concern stays
// in its own group of functions below.
#include "lib/api.h"

#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "lib/access.h"
#include "lib/heartbeat.h"
#include "lib/json_limits.h"
#include "lib/json_writer.h"
#include "lib/log.h"
#include "lib/notify.h"
#include "lib/poller.h"
#include "lib/provider_sync.h"
#include "lib/provider_waiters.h"
#include "lib/replicate_run.h"
#include "lib/timestamp.h"
#include "lib/webhook_signature.h"

namespace jobpulse {
namespace {

constexpr int64_t kMaxOffset = 1000000000000;
constexpr long kLogRefreshTimeoutMs = 10000;
// How long a webhook secret fetched from the provider is trusted (SPEC §2, as
// SimpleTuner does): a rotated secret is picked up within this time.
constexpr int64_t kWebhookSecretTtl = 300 * kMicrosPerSecond;
// How long a handler waits for the worker's intake before storing a delivery
// itself (lib/delivery_intake.h).
constexpr int kIntakeTimeoutMs = 2000;

Status InvalidParameter(const std::string& name, const std::string& value,
                        const std::string& expected) {
  return Status::Error(Status::Code::kInvalidArgument, "invalid_parameter",
                       "invalid value for query parameter '" + name + "': " + expected,
                       {{"parameter", name}, {"value", value}});
}

// Below this much free space the database is reported down: the next write
// that needs a new page will fail.
constexpr int64_t kMinFreeDisk = 1024 * 1024;

// A field of a JSON request body: named as such, never as a query parameter.
Status JobNotFound(const std::string& job_id) {
  return Status::Error(Status::Code::kNotFound, "job_not_found", "Job not found: " + job_id,
                       {{"job_id", job_id}});
}

Status InvalidBodyField(const std::string& field, const std::string& expected) {
  return Status::Error(Status::Code::kInvalidArgument, "invalid_field",
                       "invalid value for body field '" + field + "': expected " + expected,
                       {{"field", field}});
}

HttpResponse MethodNotAllowed(const HttpRequest& request, const char* allow) {
  HttpResponse response = ErrorResponse(Status::Error(
      Status::Code::kMethodNotAllowed, "method_not_allowed",
      "method " + request.method + " is not allowed here; allowed: " + allow, {{"allow", allow}}));
  response.headers.emplace_back("Allow", allow);
  return response;
}

// Adds an ETag and turns the response into a 304 when the client has it.
HttpResponse WithETag(const HttpRequest& request, HttpResponse response) {
  const std::string etag = ETagFor(response.body);
  response.headers.emplace_back("ETag", etag);
  if (!request.if_none_match.empty() && ETagMatches(request.if_none_match, etag)) {
    response.status = 304;
    response.body.clear();
  }
  return response;
}

bool IsRead(const std::string& method) { return method == "GET" || method == "HEAD"; }

// True when `body` is one JSON object and nothing else. A SAX pass that builds
// nothing, since a run's full logs can make a delivery megabytes long.
bool IsJsonObject(std::string_view body) {
  size_t first = 0;
  while (first < body.size() && (body[first] == ' ' || body[first] == '\t' || body[first] == '\n' ||
                                 body[first] == '\r')) {
    ++first;
  }
  if (first == body.size() || body[first] != '{') return false;
  if (!JsonDepthWithin(body)) return false;  // SPEC §9: nesting limit
  rapidjson::MemoryStream stream(body.data(), body.size());
  rapidjson::BaseReaderHandler<> ignore;
  rapidjson::Reader reader;
  constexpr unsigned kFlags =
      rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
  return !reader.Parse<kFlags>(stream, ignore).IsError();
}

// A throwaway key: with it, VerifyWebhook's verdict is meaningful only for the
// checks that need no secret (headers, timestamp), which is what it is for.
constexpr const char* kProbeWebhookSecret = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

std::string WebhookSecretStateName(const Provider& provider) {
  return "webhook_secret:" + provider.name();
}

// The stable name of a failed check, for the 401 envelope's details.
const char* WebhookCheckName(WebhookCheck check) {
  switch (check) {
    case WebhookCheck::kOk:
      return "ok";
    case WebhookCheck::kMissingHeaders:
      return "missing_headers";
    case WebhookCheck::kBadSecret:
      return "bad_secret";
    case WebhookCheck::kBadTimestamp:
      return "bad_timestamp";
    case WebhookCheck::kStaleTimestamp:
      return "stale_timestamp";
    case WebhookCheck::kBadSignature:
      return "bad_signature";
  }
  return "unknown";
}

// The 401 for a delivery that failed `check`; names the check, never the secret.
Status InvalidSignature(WebhookCheck check) {
  return Status::Error(Status::Code::kUnauthenticated, "invalid_signature",
                       std::string("webhook signature check failed: ") + WebhookCheckMessage(check),
                       {{"check", WebhookCheckName(check)}});
}

std::string JobsPageJson(const JobPage& page, const JobFilter& filter, const PriceTable& prices,
                         int64_t now) {
  JsonWriter w;
  w.BeginObject();
  w.Key("jobs").BeginArray();
  for (const Job& job : page.jobs) w.Raw(JobToJson(job, prices, now, JobView::kList));
  w.EndArray();
  w.Key("total").Int(page.total);
  w.Key("limit").Int(filter.limit);
  w.Key("offset").Int(filter.offset);
  w.EndObject();
  return w.str();
}

}  // namespace

Api::Api(Config config, StoreSource store, Clock clock)
    : config_(std::move(config)),
      poke_path_(WorkerPokeSocketPath(config_.database_path.value)),
      intake_(IntakeSocketPath(config_.database_path.value)),
      store_(std::move(store)),
      clock_(std::move(clock)) {
  prices_.per_second = config_.replicate.hardware_prices.value;
  prices_.default_sku = config_.replicate.default_hardware.value;
  for (const char* name : {"replicate"}) providers_[name] = MakeProvider(name, config_);
}

bool Api::IsValidJobId(std::string_view id) { return jobpulse::IsValidJobId(id); }

HttpResponse Api::Handle(const HttpRequest& request) {
  HttpResponse response;
  const std::vector<std::string> segments = SplitPath(request.path);
  try {
    // SPEC §11: the token, the session endpoint and the cross-site rules first.
    AccessDecision access = CheckAccess(config_, request, segments, clock_() / kMicrosPerSecond);
    if (access.response) {
      response = std::move(*access.response);
    } else {
      response = Route(request, segments);
      if (access.health_only) ReduceHealth(&response);
    }
  } catch (const std::exception& e) {
    response = ErrorResponse(Status::Internal(std::string("unexpected failure: ") + e.what()));
  }
  // A write that succeeded (a sync, a cancel, a delete) may have appended
  // events: the worker's SSE server sends them now rather than at its next
  // poll. Webhooks poke for themselves, only when the delivery is new.
  const bool webhook = segments.size() >= 2 && segments[0] == "api" && segments[1] == "webhooks";
  if (!webhook && !IsRead(request.method) && response.status >= 200 && response.status < 300) {
    PokeWorker(poke_path_);
  }
  if (request.method == "HEAD") response.body.clear();
  return response;
}

HttpResponse Api::Route(const HttpRequest& request, const std::vector<std::string>& seg) {
  const auto not_found = [&] {
    return ErrorResponse(Status::Error(Status::Code::kNotFound, "not_found",
                                       "no such endpoint: " + request.method + " " + request.path));
  };
  if (seg.size() == 3 && seg[0] == "api" && seg[1] == "webhooks" && seg[2] == "replicate") {
    return request.method == "POST" ? ReplicateWebhook(request) : MethodNotAllowed(request, "POST");
  }
  if (seg.size() < 3 || seg[0] != "api" || seg[1] != "cloud") return not_found();

  if (seg[2] == "jobs") {
    if (seg.size() == 3) {
      return IsRead(request.method) ? ListJobs(request) : MethodNotAllowed(request, "GET, HEAD");
    }
    // "sync" is an action, not a job id (provider ids never read "sync").
    if (seg.size() == 4 && seg[3] == "sync") {
      return request.method == "POST" ? Sync(request) : MethodNotAllowed(request, "POST");
    }
    if (seg.size() > 5) return not_found();
    const std::string& job_id = seg[3];
    const std::string action = seg.size() == 5 ? seg[4] : "";
    const char* allow = action.empty()                                    ? "GET, HEAD, DELETE"
                        : action == "inline-progress" || action == "logs" ? "GET, HEAD"
                        : action == "cancel"                              ? "POST"
                                                                          : nullptr;
    if (!allow) return not_found();
    const bool allowed = action == "cancel" ? request.method == "POST"
                                            : IsRead(request.method) ||
                                                  (action.empty() && request.method == "DELETE");
    if (!allowed) return MethodNotAllowed(request, allow);
    if (!IsValidJobId(job_id)) {
      return ErrorResponse(
          Status::Error(Status::Code::kInvalidArgument, "invalid_job_id",
                        "job_id must be 1 to 128 characters from A-Z a-z 0-9 . _ : -",
                        {{"parameter", "job_id"}}));
    }
    if (action == "inline-progress") return InlineProgress(request, job_id);
    if (action == "logs") return Logs(request, job_id);
    if (action == "cancel") return Cancel(job_id);
    if (request.method == "DELETE") return DeleteJob(job_id);
    return GetJob(request, job_id);
  }
  if (seg.size() == 5 && seg[2] == "providers" && seg[4] == "validate") {
    return IsRead(request.method) ? Validate(seg[3]) : MethodNotAllowed(request, "GET, HEAD");
  }
  if (seg.size() == 3 && seg[2] == "metrics") {
    return IsRead(request.method) ? Metrics(request) : MethodNotAllowed(request, "GET, HEAD");
  }
  if (seg.size() == 4 && seg[2] == "polling" && seg[3] == "status") {
    return IsRead(request.method) ? PollingStatus() : MethodNotAllowed(request, "GET, HEAD");
  }
  if (seg.size() == 3 && seg[2] == "health") {
    return IsRead(request.method) ? Health() : MethodNotAllowed(request, "GET, HEAD");
  }
  return not_found();
}

// SPEC §7. Authenticate first, so unauthenticated junk gets 401 whatever it
// contains; then store the raw body for the worker and answer at once. The only
// provider call is the occasional secret fetch (FetchWebhookSecret).
HttpResponse Api::ReplicateWebhook(const HttpRequest& request) {
  Provider* provider = FindProvider("replicate");
  auto store = store_();
  if (!store.ok()) return ErrorResponse(store.status());
  const int64_t now = clock_();
  const std::string* id_header = request.Header("webhook-id");
  const std::string_view webhook_id = id_header ? std::string_view(*id_header) : "";
  if (config_.replicate.webhook_require_signature.value) {
    const std::string* timestamp = request.Header("webhook-timestamp");
    const std::string* signature = request.Header("webhook-signature");
    const auto verify = [&](std::string_view secret) {
      return VerifyWebhook(secret, webhook_id, timestamp ? *timestamp : "",
                           signature ? *signature : "", request.body, now / kMicrosPerSecond,
                           config_.replicate.webhook_timestamp_tolerance_seconds.value);
    };
    std::optional<std::string> secret = KnownWebhookSecret(**store, *provider);
    if (!secret) {
      // A fetch is a provider call, so only a request that passes every check
      // needing no secret may cause one. VerifyWebhook runs those first: with a
      // throwaway key, a well-formed, fresh delivery fails only at the signature.
      const WebhookCheck pre = verify(kProbeWebhookSecret);
      if (pre != WebhookCheck::kBadSignature && pre != WebhookCheck::kOk) {
        return ErrorResponse(InvalidSignature(pre));
      }
      auto fetched = FetchWebhookSecret(**store, *provider);
      if (!fetched.ok()) return ErrorResponse(fetched.status());
      secret = std::move(*fetched);
    }
    const WebhookCheck check = verify(*secret);
    if (check == WebhookCheck::kBadSecret) {
      // Our configuration, not the sender, is wrong: 503, like no secret at all.
      LogError(
          "webhook rejected: the Replicate webhook secret does not decode "
          "(providers.replicate.webhook_secret / REPLICATE_WEBHOOK_SECRET)");
      return ErrorResponse(
          Status::Error(Status::Code::kUnavailable, "webhook_secret_unavailable",
                        "the configured Replicate webhook secret is not a valid whsec_ secret; set "
                        "providers.replicate.webhook_secret (REPLICATE_WEBHOOK_SECRET)"));
    }
    if (check != WebhookCheck::kOk) return ErrorResponse(InvalidSignature(check));
  } else if (webhook_id.empty()) {
    return ErrorResponse(
        Status::Error(Status::Code::kInvalidArgument, "missing_webhook_id",
                      "the webhook-id header is required to recognise repeated deliveries"));
  }
  if (!IsJsonObject(request.body)) {
    return ErrorResponse(
        Status::Error(Status::Code::kInvalidArgument, "invalid_json",
                      "the body must be a JSON object (a Replicate prediction or training)"));
  }
  // SPEC §7: a run id that no URL could address is refused before anything is
  // stored, so no job appears that cannot be fetched, cancelled or deleted.
  if (auto run = ParseReplicateRun(request.body); !run.ok() || !IsValidJobId(run->external_id)) {
    return ErrorResponse(Status::Error(
        Status::Code::kInvalidArgument, "invalid_run_id",
        "the delivery's run id must be a string of 1 to 128 characters of [A-Za-z0-9._:-]"));
  }
  // The worker stores it with the other handlers' deliveries in one
  // transaction and pokes itself; without an answer from it, this handler
  // stores it (a copy the worker stored meanwhile is then a duplicate).
  auto inserted = intake_.Submit(webhook_id, "replicate", request.body, now, kIntakeTimeoutMs, now);
  if (!inserted.ok()) {
    inserted = (*store)->InsertDelivery(webhook_id, "replicate", request.body, now);
    if (!inserted.ok()) return ErrorResponse(inserted.status());
    // A duplicate was poked for when it was first stored.
    if (*inserted) PokeWorker(poke_path_);
  }
  return JsonResponse(*inserted ? R"({"status":"received"})" : R"({"status":"duplicate"})");
}

// The cache lives in the database, not in this process, because handlers are
// many and short-lived: one fetch serves the whole pool for the TTL.
std::optional<std::string> Api::KnownWebhookSecret(Store& store, const Provider& provider) {
  if (provider.name() == "replicate" && config_.replicate.webhook_secret.value) {
    return *config_.replicate.webhook_secret.value;
  }
  // A cache that cannot be read is only the slower path: the caller fetches.
  auto cached = store.GetServiceState(WebhookSecretStateName(provider));
  if (!cached.ok() || !*cached) return std::nullopt;
  const int64_t age = clock_() - (*cached)->updated_at;
  if (age < 0 || age >= kWebhookSecretTtl) return std::nullopt;
  return (*cached)->value;
}

// A fetched secret that does not decode is not cached, so the next delivery
// asks again. Concurrent handlers with a cold cache may each fetch once.
Result<std::string> Api::FetchWebhookSecret(Store& store, Provider& provider) {
  auto fetched = provider.WebhookSecret();
  if (!fetched.ok()) {
    LogWarning("cannot get the " + provider.display_name() +
               " webhook secret: " + fetched.status().ToString());
    return Status::Error(Status::Code::kUnavailable, "webhook_secret_unavailable",
                         "no " + provider.display_name() +
                             " webhook secret: set providers.replicate.webhook_secret "
                             "(REPLICATE_WEBHOOK_SECRET), or an API token to fetch it; fetching "
                             "failed: " +
                             fetched.status().message());
  }
  if (!DecodeWebhookSecret(*fetched)) {
    LogWarning(provider.display_name() + " returned a webhook secret that is not whsec_ base64");
    return Status::Error(
        Status::Code::kUnavailable, "webhook_secret_unavailable",
        provider.display_name() + " returned a webhook secret that is not a valid whsec_ secret");
  }
  if (Status s = store.PutServiceState(WebhookSecretStateName(provider), *fetched, clock_());
      !s.ok()) {
    LogWarning("cannot cache the " + provider.display_name() + " webhook secret: " + s.ToString());
  }
  return fetched;
}

Provider* Api::FindProvider(const std::string& name) {
  const auto it = providers_.find(name);
  return it == providers_.end() ? nullptr : it->second.get();
}

HttpResponse Api::Sync(const HttpRequest& request) {
  std::string name = "replicate";
  if (!request.body.empty()) {
    rapidjson::Document doc;
    const bool shallow = JsonDepthWithin(request.body);  // SPEC §9: nesting limit
    if (shallow) {
      doc.Parse<rapidjson::kParseIterativeFlag>(request.body.c_str(), request.body.size());
    }
    if (!shallow || doc.HasParseError() || !doc.IsObject()) {
      return ErrorResponse(Status::Error(Status::Code::kInvalidArgument, "invalid_json",
                                         "the body must be a JSON object such as "
                                         "{\"provider\":\"replicate\"}"));
    }
    const auto it = doc.FindMember("provider");
    if (it != doc.MemberEnd() && !it->value.IsNull()) {
      if (!it->value.IsString()) {
        return ErrorResponse(InvalidBodyField("provider", "a provider name such as \"replicate\""));
      }
      name = it->value.GetString();
    }
  }
  Provider* provider = FindProvider(name);
  if (!provider) {
    return ErrorResponse(request.body.empty()
                             ? InvalidParameter("provider", name, "unknown provider")
                             : InvalidBodyField("provider", "a known provider (\"replicate\")"));
  }
  auto store = store_();
  if (!store.ok()) return ErrorResponse(store.status());
  const auto slot = ProviderWaiterSlot::TryTake(**store, ProviderWaiterLimit(config_), clock_());
  if (!slot) return ErrorResponse(ProviderBusy());
  auto counts = FullSync(**store, *provider, config_, prices_, clock_);
  if (!counts.ok()) return ErrorResponse(counts.status());
  JsonWriter w;
  w.BeginObject();
  w.Key("synced").Int(counts->created);
  w.Key("updated").Int(counts->updated);
  w.Key("skipped").Int(counts->skipped);
  w.Key("message").String("Discovered " + std::to_string(counts->created) + " new jobs from " +
                          provider->display_name());
  w.EndObject();
  return JsonResponse(w.str());
}

HttpResponse Api::Cancel(const std::string& job_id) {
  auto job = LoadJob(job_id);
  if (!job.ok()) return ErrorResponse(job.status());
  auto store = store_();
  if (!store.ok()) return ErrorResponse(store.status());
  Provider* provider = job->provider ? FindProvider(*job->provider) : nullptr;
  std::optional<ProviderWaiterSlot> slot;
  if (provider && job->external_id && IsActive(job->status)) {
    auto taken = ProviderWaiterSlot::TryTake(**store, ProviderWaiterLimit(config_), clock_());
    if (!taken) return ErrorResponse(ProviderBusy());
    slot.emplace(std::move(*taken));
  }
  auto cancelled = CancelJob(**store, provider, *job, prices_, clock_);
  if (!cancelled.ok()) return ErrorResponse(cancelled.status());
  JsonWriter w;
  w.BeginObject();
  w.Key("success").Bool(cancelled->status == JobStatus::kCancelled);
  w.Key("job_id").String(cancelled->job_id);
  w.Key("status").String(JobStatusName(cancelled->status));
  w.EndObject();
  return JsonResponse(w.str());
}

HttpResponse Api::Validate(const std::string& provider_name) {
  Provider* provider = FindProvider(provider_name);
  if (!provider) {
    return ErrorResponse(Status::Error(Status::Code::kNotFound, "unknown_provider",
                                       "jobpulse knows no provider '" + provider_name + "'",
                                       {{"provider", provider_name}}));
  }
  std::optional<ProviderWaiterSlot> slot;
  if (provider->configured()) {
    auto store = store_();
    if (!store.ok()) return ErrorResponse(store.status());
    auto taken = ProviderWaiterSlot::TryTake(**store, ProviderWaiterLimit(config_), clock_());
    if (!taken) return ErrorResponse(ProviderBusy());
    slot.emplace(std::move(*taken));
  }
  JsonWriter w;
  w.BeginObject();
  auto account = provider->configured() ? provider->Account()
                                        : Result<ProviderAccount>(provider->NotConfigured());
  w.Key("valid").Bool(account.ok());
  w.Key("user_info");
  if (account.ok()) {
    w.BeginObject();
    w.Key("username").String(account->username);
    w.Key("name").String(account->name);
    w.Key("github_url").String(account->github_url);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("error");
  if (account.ok()) {
    w.Null();
  } else {
    w.String(account.status().message());
  }
  w.EndObject();
  return JsonResponse(w.str());
}

HttpResponse Api::ListJobs(const HttpRequest& request) {
  const QueryParams query(request.query);
  JobFilter filter;
  if (const auto status = query.Get("status"); status && !status->empty()) {
    size_t start = 0;
    while (start <= status->size()) {
      size_t end = status->find(',', start);
      if (end == std::string::npos) end = status->size();
      std::string name = status->substr(start, end - start);
      while (!name.empty() && name.front() == ' ') name.erase(0, 1);
      while (!name.empty() && name.back() == ' ') name.pop_back();
      if (!name.empty()) {
        const auto parsed = ParseJobStatus(name);
        if (!parsed) {
          return ErrorResponse(InvalidParameter(
              "status", *status,
              "expected a comma-separated list of pending, uploading, queued, running, "
              "completed, failed, cancelled"));
        }
        filter.statuses.push_back(*parsed);
      }
      start = end + 1;
    }
  }
  if (const auto provider = query.Get("provider"); provider && !provider->empty()) {
    filter.provider = *provider;
  }
  if (const auto job_type = query.Get("job_type"); job_type && !job_type->empty()) {
    if (*job_type != "cloud" && *job_type != "local") {
      return ErrorResponse(InvalidParameter("job_type", *job_type, "expected cloud or local"));
    }
    filter.job_type = *job_type;
  }
  if (const auto limit = query.Get("limit")) {
    const auto parsed = ParseInt(*limit, 1, 500);
    if (!parsed) {
      return ErrorResponse(InvalidParameter("limit", *limit, "expected an integer from 1 to 500"));
    }
    filter.limit = static_cast<int>(*parsed);
  }
  if (const auto offset = query.Get("offset")) {
    const auto parsed = ParseInt(*offset, 0, kMaxOffset);
    if (!parsed) {
      return ErrorResponse(InvalidParameter("offset", *offset, "expected an integer >= 0"));
    }
    filter.offset = *parsed;
  }
  bool sync_active = false;
  if (const auto value = query.Get("sync_active")) {
    const auto parsed = ParseBool(*value);
    if (!parsed) {
      return ErrorResponse(
          InvalidParameter("sync_active", *value, "expected true/false/1/0/yes/no/on/off"));
    }
    sync_active = *parsed;
  }
  auto store = store_();
  if (!store.ok()) return ErrorResponse(store.status());
  std::optional<ActiveSyncReport> report;
  // Active jobs are cloud jobs; a request for local jobs has nothing to refresh.
  if (sync_active && filter.job_type.value_or("cloud") == "cloud") {
    const auto slot = ProviderWaiterSlot::TryTake(**store, ProviderWaiterLimit(config_), clock_());
    if (!slot) return ErrorResponse(ProviderBusy());
    report = ActiveSyncReport{};
    for (auto& [name, provider] : providers_) {
      if (filter.provider && *filter.provider != name) continue;
      const ActiveSyncReport one = SyncActiveJobs(**store, *provider, config_, prices_, clock_);
      report->refreshed += one.refreshed;
      report->skipped += one.skipped;
      report->failed += one.failed;
    }
  }
  // Pages are rendered at one-second resolution (durations and running cost
  // estimates move with the clock), so the same page for the same database
  // state within one second is the same body: serve it from the cache.
  const int64_t now = clock_();
  const int64_t second = now - now % kMicrosPerSecond;
  auto version = (*store)->ChangeVersion();
  if (!version.ok()) return ErrorResponse(version.status());
  std::string key = filter.provider.value_or("") + "\n" + filter.job_type.value_or("") + "\n" +
                    std::to_string(filter.limit) + "\n" + std::to_string(filter.offset) + "\n";
  for (JobStatus st : filter.statuses) key += std::string(JobStatusName(st)) + ",";
  if (!list_cache_ || list_cache_->key != key || list_cache_->version != *version ||
      list_cache_->second != second) {
    auto page = (*store)->ListJobs(filter);
    if (!page.ok()) return ErrorResponse(page.status());
    list_cache_ = ListCache{key, *version, second, JobsPageJson(*page, filter, prices_, second)};
  }
  HttpResponse response = WithETag(request, JsonResponse(list_cache_->body));
  if (report) response.headers.emplace_back("X-Sync-Active", FormatActiveSyncReport(*report));
  return response;
}

Result<Job> Api::LoadJob(const std::string& job_id, JobRead read) {
  auto store = store_();
  if (!store.ok()) return store.status();
  auto job = (*store)->GetJob(job_id, read);
  if (!job.ok()) return job.status();
  if (!job.value()) return JobNotFound(job_id);
  return std::move(*job.value());
}

HttpResponse Api::GetJob(const HttpRequest& request, const std::string& job_id) {
  auto job = LoadJob(job_id);
  if (!job.ok()) return ErrorResponse(job.status());
  JsonWriter w;
  w.BeginObject();
  w.Key("job").Raw(JobToJson(*job, prices_, clock_()));
  w.EndObject();
  return WithETag(request, JsonResponse(w.str()));
}

HttpResponse Api::DeleteJob(const std::string& job_id) {
  auto store = store_();
  if (!store.ok()) return ErrorResponse(store.status());
  if (Status s = (*store)->DeleteJob(job_id); !s.ok()) return ErrorResponse(s);
  JsonWriter w;
  w.BeginObject();
  w.Key("success").Bool(true);
  w.Key("job_id").String(std::string_view(job_id));
  w.EndObject();
  return JsonResponse(w.str());
}

HttpResponse Api::InlineProgress(const HttpRequest& request, const std::string& job_id) {
  // The hot path (SPEC §10 B1): only the progress columns; RefreshIfStale
  // reads the whole row before it refreshes.
  auto store = store_();
  if (!store.ok()) return ErrorResponse(store.status());
  auto read = (*store)->GetJobProgress(job_id);
  if (!read.ok()) return ErrorResponse(read.status());
  if (!*read) return ErrorResponse(JobNotFound(job_id));
  JobProgress* job = &**read;
  Provider* provider = job->provider ? FindProvider(*job->provider) : nullptr;
  RefreshIfStale(**store, provider, job, config_, prices_, clock_);
  const Progress shown = ProgressForStatus(job->progress, job->status == JobStatus::kRunning);
  JsonWriter w;
  w.BeginObject();
  w.Key("job_id").String(std::string_view(job->job_id));
  w.Key("stage").String(shown.stage);
  w.Key("last_log").String(shown.last_log);
  w.Key("progress").Double(shown.progress);
  w.EndObject();
  return WithETag(request, JsonResponse(w.str()));
}

HttpResponse Api::Logs(const HttpRequest& request, const std::string& job_id) {
  const QueryParams query(request.query);
  bool refresh = false;
  if (const auto value = query.Get("refresh")) {
    const auto parsed = ParseBool(*value);
    if (!parsed) {
      return ErrorResponse(
          InvalidParameter("refresh", *value, "expected true/false/1/0/yes/no/on/off"));
    }
    refresh = *parsed;
  }
  auto job = LoadJob(job_id);
  if (!job.ok()) return ErrorResponse(job.status());
  if (refresh && job->external_id) {
    Provider* provider = job->provider ? FindProvider(*job->provider) : nullptr;
    if (provider) {
      auto store = store_();
      if (!store.ok()) return ErrorResponse(store.status());
      const auto slot =
          ProviderWaiterSlot::TryTake(**store, ProviderWaiterLimit(config_), clock_());
      if (!slot) return ErrorResponse(ProviderBusy());
      job = RefreshJob(**store, *provider, *job, kLogRefreshTimeoutMs, prices_, clock_);
      if (!job.ok()) return ErrorResponse(job.status());
    }
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("job_id").String(std::string_view(job->job_id));
  w.Key("logs").String(std::string_view(job->logs_tail));
  w.EndObject();
  return WithETag(request, JsonResponse(w.str()));
}

HttpResponse Api::Metrics(const HttpRequest& request) {
  const QueryParams query(request.query);
  int days = 30;
  if (const auto value = query.Get("days")) {
    const auto parsed = ParseInt(*value, 1, 365);
    if (!parsed) {
      return ErrorResponse(InvalidParameter("days", *value, "expected an integer from 1 to 365"));
    }
    days = static_cast<int>(*parsed);
  }
  auto store = store_();
  if (!store.ok()) return ErrorResponse(store.status());
  auto metrics = (*store)->ComputeMetrics(days, clock_());
  if (!metrics.ok()) return ErrorResponse(metrics.status());
  JsonWriter w;
  w.BeginObject();
  w.Key("total_cost").Double(metrics->total_cost);
  w.Key("job_count").Int(metrics->job_count);
  w.Key("jobs_by_status").BeginObject();
  for (const auto& [status, count] : metrics->jobs_by_status) w.Key(status).Int(count);
  w.EndObject();
  w.Key("avg_job_duration_seconds").Double(metrics->avg_job_duration_seconds);
  w.Key("cost_by_day").BeginArray();
  for (const DayMetrics& day : metrics->cost_by_day) {
    w.BeginObject();
    w.Key("date").String(std::string_view(day.date));
    w.Key("jobs").Int(day.jobs);
    w.Key("cost_usd").Double(day.cost_usd);
    w.EndObject();
  }
  w.EndArray();
  w.Key("period_days").Int(metrics->period_days);
  w.EndObject();
  return WithETag(request, JsonResponse(w.str()));
}

// What the worker last reported (it writes "poller_status" every cycle), over
// what this configuration implies when no worker has reported yet.
HttpResponse Api::PollingStatus() {
  const PollingDecision decision = DecidePolling(config_);
  std::optional<std::string> reported;
  auto store = store_();
  if (store.ok()) {
    auto state = (*store)->GetServiceState("poller_status");
    if (state.ok() && *state) reported = (*state)->value;
  }
  rapidjson::Document doc;
  const bool parsable = reported && JsonDepthWithin(*reported);
  if (parsable) doc.Parse<rapidjson::kParseIterativeFlag>(reported->c_str(), reported->size());
  const bool have = parsable && !doc.HasParseError() && doc.IsObject();
  const auto field = [&](const char* key) -> const rapidjson::Value* {
    if (!have) return nullptr;
    const auto it = doc.FindMember(key);
    return it == doc.MemberEnd() ? nullptr : &it->value;
  };
  JsonWriter w;
  w.BeginObject();
  w.Key("enabled").Bool(decision.enabled);
  w.Key("source").String(decision.source);
  w.Key("interval_seconds").Int(decision.interval_seconds);
  w.Key("interval_source").String(decision.interval_source);
  w.Key("webhook_configured").Bool(decision.webhook_configured);
  const rapidjson::Value* at = field("last_cycle_at");
  w.Key("last_cycle_at");
  if (at && at->IsString()) {
    w.String(std::string_view(at->GetString(), at->GetStringLength()));
  } else {
    w.Null();
  }
  const rapidjson::Value* jobs = field("last_cycle_jobs");
  w.Key("last_cycle_jobs");
  if (jobs && jobs->IsInt64()) {
    w.Int(jobs->GetInt64());
  } else {
    w.Null();
  }
  const rapidjson::Value* error = field("last_error");
  w.Key("last_error");
  if (error && error->IsString()) {
    w.String(std::string_view(error->GetString(), error->GetStringLength()));
  } else {
    w.Null();
  }
  w.EndObject();
  return JsonResponse(w.str());
}

// Components: the database (down -> 503), the worker (absent is fine: handlers
// work without it, SPEC §5; a heartbeat that went stale -> 503) and the
// provider (configured or not; its circuit state is kept by the worker).
HttpResponse Api::Health() {
  const int64_t now = clock_();
  bool down = false;
  JsonWriter w;
  w.BeginObject();
  w.Key("components").BeginObject();

  w.Key("database").BeginObject();
  Store* store = nullptr;
  auto opened = store_();
  Status db_status = opened.ok() ? Status::Ok() : opened.status();
  const auto started = std::chrono::steady_clock::now();
  if (opened.ok()) {
    store = *opened;
    // A write, not a read: a full disk or a read-only file still answers
    // reads, and the service is down for every write (SPEC §9).
    db_status = store->PutServiceState("health_probe", FormatTimestamp(now), now);
    // Writes that still fit in allocated WAL pages succeed on a full disk.
    if (auto free = store->FreeDiskBytes(); db_status.ok() && free.ok() && *free < kMinFreeDisk) {
      db_status = Status::Error(
          Status::Code::kUnavailable, "database_unavailable",
          "the disk holding the database is full (" + std::to_string(*free / 1024) + " KiB free)");
    }
  }
  const double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (db_status.ok()) {
    w.Key("status").String("ok");
    w.Key("latency_ms").Double(static_cast<double>(static_cast<int64_t>(latency_ms * 1000)) / 1000);
  } else {
    down = true;
    w.Key("status").String("down");
    w.Key("message").String(std::string_view(db_status.message()));
  }
  w.EndObject();

  w.Key("worker").BeginObject();
  std::optional<WorkerHeartbeat> beat;
  if (store) {
    auto read = ReadWorkerHeartbeat(*store, now, config_.polling_interval_seconds.value);
    if (read.ok()) beat = *read;
  }
  if (!beat || !beat->seen) {
    w.Key("status").String("absent");
    w.Key("heartbeat_age_seconds").Null();
  } else {
    if (!beat->live) down = true;
    w.Key("status").String(beat->live ? "ok" : "down");
    w.Key("heartbeat_age_seconds")
        .Double(static_cast<double>(static_cast<int64_t>(beat->age_seconds * 10)) / 10);
  }
  w.EndObject();

  w.Key("providers").BeginObject();
  w.Key("replicate").BeginObject();
  w.Key("configured").Bool(config_.replicate.api_token.value.has_value());
  std::string circuit = "closed";
  if (store) {
    auto state = store->GetServiceState("circuit:replicate");
    if (state.ok() && *state) circuit = (*state)->value;
  }
  w.Key("circuit").String(std::string_view(circuit));
  w.EndObject();
  w.EndObject();

  w.EndObject();
  w.Key("status").String(down ? "unhealthy" : "ok");
  w.Key("timestamp").String(FormatTimestamp(now));
  w.EndObject();
  return JsonResponse(w.str(), down ? 503 : 200);
}

}  // namespace jobpulse
