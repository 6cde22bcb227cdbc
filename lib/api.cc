// The REST API (lib/api.h): routing and the handlers of SPEC §9. Webhook
// reception (lib/webhook_receiver.h), the job list's query
// (lib/job_query.h) and the health and polling reports (lib/health.h) live in
// modules of their own; the handlers here read, call and render.
#include "lib/api.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "lib/access.h"
#include "lib/counters.h"
#include "lib/health.h"
#include "lib/job_query.h"
#include "lib/json_limits.h"
#include "lib/json_writer.h"
#include "lib/log.h"
#include "lib/notify.h"
#include "lib/poller.h"
#include "lib/provider_sync.h"
#include "lib/provider_waiters.h"
#include "lib/replicate_run.h"
#include "lib/timestamp.h"

namespace jobpulse {
namespace {

constexpr long kLogRefreshTimeoutMs = 10000;

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

HttpResponse MethodNotAllowed(const HttpRequest& request, const std::string& allow) {
  HttpResponse response = ErrorResponse(Status::Error(
      Status::Code::kMethodNotAllowed, "method_not_allowed",
      "method " + request.method + " is not allowed here; allowed: " + allow, {{"allow", allow}}));
  response.headers.emplace_back("Allow", allow);
  return response;
}

bool IsRead(const std::string& method) { return method == "GET" || method == "HEAD"; }

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
      webhooks_(config_),
      providers_(ProviderRegistry::FromConfig(config_)),
      store_(std::move(store)),
      clock_(std::move(clock)) {}

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

// SPEC §9's and §12's endpoints (the session's are lib/access.h's; the
// queue's handlers are in lib/api_queue.cc). A "{...}" segment
// matches any one segment and is the handler's parameter; "{job_id}" must pass
// the job-id rule. GET also serves HEAD.
const Api::Endpoint Api::kEndpoints[] = {
    {"POST", "/api/webhooks/replicate", &Api::ReplicateWebhook},
    {"GET", "/api/cloud/jobs", &Api::ListJobs},
    {"POST", "/api/cloud/jobs/sync", &Api::Sync},
    {"GET", "/api/cloud/jobs/{job_id}", &Api::GetJob},
    {"DELETE", "/api/cloud/jobs/{job_id}", &Api::DeleteJob},
    {"GET", "/api/cloud/jobs/{job_id}/inline-progress", &Api::InlineProgress},
    {"GET", "/api/cloud/jobs/{job_id}/logs", &Api::Logs},
    {"POST", "/api/cloud/jobs/{job_id}/cancel", &Api::Cancel},
    {"GET", "/api/cloud/providers/{provider}/validate", &Api::Validate},
    {"GET", "/api/cloud/metrics", &Api::Metrics},
    {"GET", "/api/cloud/metrics/prometheus", &Api::Prometheus},
    {"GET", "/api/cloud/polling/status", &Api::PollingStatus},
    {"GET", "/api/cloud/health", &Api::Health},
    {"POST", "/api/cloud/jobs/submit", &Api::Submit},
    {"GET", "/api/queue", &Api::ListQueue},
    {"GET", "/api/queue/stats", &Api::QueueStats},
    {"GET", "/api/queue/position/{job_id}", &Api::QueuePosition},
    {"POST", "/api/queue/{job_id}/priority", &Api::QueuePriority},
    {"POST", "/api/queue/{job_id}/cancel", &Api::QueueCancel},
    {"POST", "/api/queue/process", &Api::QueueProcess},
};

// The endpoints whose path matches, the most specific ones only ("sync" is an
// action, not a job id); then the method (405 with Allow from the table), the
// job-id rule, the handler, and the one mapping of its error.
HttpResponse Api::Route(const HttpRequest& request, const std::vector<std::string>& seg) {
  const Endpoint* chosen = nullptr;
  std::string allow;
  std::string_view param;
  std::string_view param_name;
  int fewest_params = 1 << 30;
  for (const Endpoint& endpoint : kEndpoints) {
    const std::optional<PathMatch> match = MatchPath(endpoint.path, seg);
    if (!match || match->params > fewest_params) continue;
    if (match->params < fewest_params) {
      fewest_params = match->params;
      chosen = nullptr;
      allow.clear();
    }
    const bool get = std::string_view(endpoint.method) == "GET";
    allow += std::string(allow.empty() ? "" : ", ") + (get ? "GET, HEAD" : endpoint.method);
    if (request.method == endpoint.method || (get && request.method == "HEAD")) {
      chosen = &endpoint;
      param = match->value;
      param_name = match->name;
    }
  }
  if (allow.empty()) {
    return ErrorResponse(Status::Error(Status::Code::kNotFound, "not_found",
                                       "no such endpoint: " + request.method + " " + request.path));
  }
  if (!chosen) return MethodNotAllowed(request, allow);
  if (param_name == "job_id" && !IsValidJobId(param)) {
    return ErrorResponse(Status::Error(
        Status::Code::kInvalidArgument, "invalid_job_id",
        "job_id must be 1 to 128 characters from A-Z a-z 0-9 . _ : -", {{"parameter", "job_id"}}));
  }
  auto response = (this->*chosen->handler)(request, std::string(param));
  return response.ok() ? std::move(*response) : ErrorResponse(response.status());
}

// SPEC §7 (lib/webhook_receiver.h).
Result<HttpResponse> Api::ReplicateWebhook(const HttpRequest& request,
                                           const std::string& /*param*/) {
  auto store = store_();
  if (!store.ok()) return store.status();
  auto received = webhooks_.Receive(request, **store, *FindProvider(kReplicateProvider), clock_());
  // By result: a refusal counts under its error code (a bounded set).
  const std::string result =
      received.ok() ? (*received ? "accepted" : "duplicate") : received.status().error();
  ProcessCounters().Add(kWebhookDeliveriesTotal, Labels({{"result", result}}));
  if (!received.ok()) return received.status();
  return JsonResponse(*received ? R"({"status":"received"})" : R"({"status":"duplicate"})");
}

Provider* Api::FindProvider(const std::string& name) { return providers_.Find(name); }

Result<HttpResponse> Api::Sync(const HttpRequest& request, const std::string& /*param*/) {
  std::string name = kDefaultProvider;
  if (!request.body.empty()) {
    rapidjson::Document doc;
    const bool shallow = JsonDepthWithin(request.body);  // SPEC §9: nesting limit
    if (shallow) {
      doc.Parse<rapidjson::kParseIterativeFlag>(request.body.c_str(), request.body.size());
    }
    if (!shallow || doc.HasParseError() || !doc.IsObject()) {
      return Status::Error(Status::Code::kInvalidArgument, "invalid_json",
                           "the body must be a JSON object such as "
                           "{\"provider\":\"replicate\"}");
    }
    const auto it = doc.FindMember("provider");
    if (it != doc.MemberEnd() && !it->value.IsNull()) {
      if (!it->value.IsString()) {
        return InvalidBodyField("provider", "a provider name such as \"replicate\"");
      }
      name = it->value.GetString();
    }
  }
  Provider* provider = FindProvider(name);
  if (!provider) {
    return request.body.empty() ? InvalidParameter("provider", name, "unknown provider")
                                : InvalidBodyField("provider", "a known provider (\"replicate\")");
  }
  auto store = store_();
  if (!store.ok()) return store.status();
  const auto slot = ProviderWaiterSlot::TryTake(**store, ProviderWaiterLimit(config_), clock_());
  if (!slot) return ProviderBusy();
  auto counts = FullSync(**store, *provider, config_, providers_.prices(), clock_);
  if (!counts.ok()) return counts.status();
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

Result<HttpResponse> Api::Cancel(const HttpRequest& /*request*/, const std::string& job_id) {
  auto job = LoadJob(job_id);
  if (!job.ok()) return job.status();
  auto store = store_();
  if (!store.ok()) return store.status();
  Provider* provider = job->provider ? FindProvider(*job->provider) : nullptr;
  std::optional<ProviderWaiterSlot> slot;
  if (provider && job->external_id && IsActive(job->status)) {
    auto taken = ProviderWaiterSlot::TryTake(**store, ProviderWaiterLimit(config_), clock_());
    if (!taken) return ProviderBusy();
    slot.emplace(std::move(*taken));
  }
  auto cancelled = CancelJob(**store, provider, *job, providers_.prices(), clock_);
  if (!cancelled.ok()) return cancelled.status();
  JsonWriter w;
  w.BeginObject();
  w.Key("success").Bool(cancelled->status == JobStatus::kCancelled);
  w.Key("job_id").String(cancelled->job_id);
  w.Key("status").String(JobStatusName(cancelled->status));
  w.EndObject();
  return JsonResponse(w.str());
}

Result<HttpResponse> Api::Validate(const HttpRequest& /*request*/,
                                   const std::string& provider_name) {
  Provider* provider = FindProvider(provider_name);
  if (!provider) {
    return Status::Error(Status::Code::kNotFound, "unknown_provider",
                         "jobpulse knows no provider '" + provider_name + "'",
                         {{"provider", provider_name}});
  }
  std::optional<ProviderWaiterSlot> slot;
  if (provider->configured()) {
    auto store = store_();
    if (!store.ok()) return store.status();
    auto taken = ProviderWaiterSlot::TryTake(**store, ProviderWaiterLimit(config_), clock_());
    if (!taken) return ProviderBusy();
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

Result<HttpResponse> Api::ListJobs(const HttpRequest& request, const std::string& /*param*/) {
  auto query = ParseJobListQuery(request.query);
  if (!query.ok()) return query.status();
  const JobFilter& filter = query->filter;
  const bool sync_active = query->sync_active;
  auto store = store_();
  if (!store.ok()) return store.status();
  std::optional<ActiveSyncReport> report;
  // Active jobs are cloud jobs; a request for local jobs has nothing to refresh.
  if (sync_active && filter.job_type.value_or("cloud") == "cloud") {
    const auto slot = ProviderWaiterSlot::TryTake(**store, ProviderWaiterLimit(config_), clock_());
    if (!slot) return ProviderBusy();
    report = ActiveSyncReport{};
    for (auto& [name, provider] : providers_.providers()) {
      if (filter.provider && *filter.provider != name) continue;
      const ActiveSyncReport one =
          SyncActiveJobs(**store, *provider, config_, providers_.prices(), clock_);
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
  if (!version.ok()) return version.status();
  std::string key = filter.provider.value_or("") + "\n" + filter.job_type.value_or("") + "\n" +
                    std::to_string(filter.limit) + "\n" + std::to_string(filter.offset) + "\n" +
                    // The search never holds a newline (job_query.h), so it ends its field.
                    (filter.query ? "q=" + *filter.query : std::string()) + "\n";
  for (JobStatus st : filter.statuses) key += std::string(JobStatusName(st)) + ",";
  if (!list_cache_ || list_cache_->key != key || list_cache_->version != *version ||
      list_cache_->second != second) {
    auto page = (*store)->ListJobs(filter);
    if (!page.ok()) return page.status();
    list_cache_ =
        ListCache{key, *version, second, JobsPageJson(*page, filter, providers_.prices(), second)};
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

Result<HttpResponse> Api::GetJob(const HttpRequest& request, const std::string& job_id) {
  auto job = LoadJob(job_id);
  if (!job.ok()) return job.status();
  JsonWriter w;
  w.BeginObject();
  w.Key("job").Raw(JobToJson(*job, providers_.prices(), clock_()));
  w.EndObject();
  return WithETag(request, JsonResponse(w.str()));
}

Result<HttpResponse> Api::DeleteJob(const HttpRequest& /*request*/, const std::string& job_id) {
  auto store = store_();
  if (!store.ok()) return store.status();
  if (Status s = (*store)->DeleteJob(job_id); !s.ok()) return s;
  JsonWriter w;
  w.BeginObject();
  w.Key("success").Bool(true);
  w.Key("job_id").String(std::string_view(job_id));
  w.EndObject();
  return JsonResponse(w.str());
}

Result<HttpResponse> Api::InlineProgress(const HttpRequest& request, const std::string& job_id) {
  // The hot path (SPEC §10 B1): only the progress columns; RefreshIfStale
  // reads the whole row before it refreshes.
  auto store = store_();
  if (!store.ok()) return store.status();
  auto read = (*store)->GetJobProgress(job_id);
  if (!read.ok()) return read.status();
  if (!*read) return JobNotFound(job_id);
  JobProgress* job = &**read;
  Provider* provider = job->provider ? FindProvider(*job->provider) : nullptr;
  RefreshIfStale(**store, provider, job, config_, providers_.prices(), clock_);
  const Progress shown = ProgressForStatus(job->progress, job->status == JobStatus::kRunning);
  JsonWriter w;
  w.BeginObject();
  w.Key("job_id").String(std::string_view(job->job_id));
  w.Key("stage").String(shown.stage);
  w.Key("last_log").String(shown.last_log);
  w.Key("progress").Double(shown.progress);
  w.Key("rate").Double(shown.rate);
  w.Key("eta_seconds").Int(shown.eta_seconds);
  w.EndObject();
  return WithETag(request, JsonResponse(w.str()));
}

Result<HttpResponse> Api::Logs(const HttpRequest& request, const std::string& job_id) {
  const QueryParams query(request.query);
  bool refresh = false;
  if (const auto value = query.Get("refresh")) {
    const auto parsed = ParseBool(*value);
    if (!parsed) {
      return InvalidParameter("refresh", *value, "expected true/false/1/0/yes/no/on/off");
    }
    refresh = *parsed;
  }
  auto job = LoadJob(job_id);
  if (!job.ok()) return job.status();
  if (refresh && job->external_id) {
    Provider* provider = job->provider ? FindProvider(*job->provider) : nullptr;
    if (provider) {
      auto store = store_();
      if (!store.ok()) return store.status();
      const auto slot =
          ProviderWaiterSlot::TryTake(**store, ProviderWaiterLimit(config_), clock_());
      if (!slot) return ProviderBusy();
      job = RefreshJob(**store, *provider, *job, kLogRefreshTimeoutMs, providers_.prices(), clock_);
      if (!job.ok()) return job.status();
    }
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("job_id").String(std::string_view(job->job_id));
  w.Key("logs").String(std::string_view(job->logs_tail));
  w.EndObject();
  return WithETag(request, JsonResponse(w.str()));
}

Result<HttpResponse> Api::PollingStatus(const HttpRequest& /*request*/,
                                        const std::string& /*param*/) {
  auto store = store_();
  return PollingStatusResponse(config_, store.ok() ? *store : nullptr);
}

Result<HttpResponse> Api::Health(const HttpRequest& /*request*/, const std::string& /*param*/) {
  auto store = store_();
  return HealthResponse(config_, store.ok() ? *store : nullptr,
                        store.ok() ? Status::Ok() : store.status(), clock_());
}

}  // namespace jobpulse
