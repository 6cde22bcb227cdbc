// The submission and queue endpoints of SPEC §12 (routes in lib/api.cc's
// table): parse, ask the queue store, render. The worker does the dispatching;
// a write here pokes it (Api::Handle).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "lib/api.h"
#include "lib/heartbeat.h"
#include "lib/json_writer.h"
#include "lib/notify.h"
#include "lib/service_state.h"
#include "lib/submission.h"
#include "lib/timestamp.h"

namespace jobpulse {

namespace {

constexpr int64_t kDayMicros = 24 * 3600 * kMicrosPerSecond;
// POST /api/queue/process: how long a handler waits for the worker's pass
// (a pass of creates at the provider's timeout can take a while), and how
// often it looks.
constexpr int kQueuePassWaitMs = 15000;
constexpr int kQueuePassPollMs = 10;

// Seconds until a waiting entry at `position` (1 = next) is dispatched: the
// slots free up at one average run each; nullopt without a run to average.
std::optional<double> EstimatedWait(std::optional<int64_t> position, const QueueCounts& counts,
                                    int max_concurrent) {
  if (!position || !counts.avg_run_seconds) return std::nullopt;
  const int64_t ahead = counts.running + *position - 1;  // dispatched before it
  if (ahead < max_concurrent) return 0.0;
  const int64_t rounds = (ahead - max_concurrent) / max_concurrent + 1;
  return std::round(static_cast<double>(rounds) * *counts.avg_run_seconds);
}

void WriteEntry(JsonWriter& w, const QueueEntry& e) {
  w.BeginObject();
  w.Key("job_id").String(std::string_view(e.job_id));
  w.Key("user_id").String(e.user_id);
  w.Key("provider").String(std::string_view(e.provider));
  w.Key("config_name").String(e.config_name);
  w.Key("priority").Int(e.priority);
  w.Key("status").String(QueueStatusName(e.status));
  w.Key("position").Int(std::optional<int64_t>(e.position));
  w.Key("queued_at").String(FormatTimestamp(e.queued_at));
  w.Key("dispatched_at")
      .String(e.dispatched_at ? std::optional<std::string>(FormatTimestamp(*e.dispatched_at))
                              : std::nullopt);
  w.Key("attempts").Int(e.attempts);
  w.Key("error_message").String(e.error_message);
  w.EndObject();
}

Result<std::vector<QueueStatus>> ParseQueueStatuses(const std::string& text) {
  std::vector<QueueStatus> out;
  for (const std::string_view name : SplitCommaList(text)) {
    const auto status = ParseQueueStatus(name);
    if (!status) {
      return InvalidParameter("status", text,
                              "expected a comma-separated list of waiting, dispatching, "
                              "dispatched, closed");
    }
    out.push_back(*status);
  }
  return out;
}

int64_t PeriodDays(const std::string& period) {
  return period == "daily" ? 1 : period == "weekly" ? 7 : 30;
}

}  // namespace

Result<QueueCounts> Api::RecentQueueCounts(Store& store, int64_t now) {
  if (queue_counts_ && now >= queue_counts_at_ && now - queue_counts_at_ < kMicrosPerSecond) {
    return *queue_counts_;
  }
  auto counts = store.CountQueue(now);
  if (!counts.ok()) return counts.status();
  queue_counts_ = *counts;
  queue_counts_at_ = now;
  return counts;
}

std::optional<CostLimit> Api::SubmissionCostLimit(int64_t now) const {
  const std::optional<double>& limit = config_.queue_cost_limit_usd.value;
  if (!limit) return std::nullopt;
  const std::string& period = config_.queue_cost_limit_period.value;
  return CostLimit{*limit, now - PeriodDays(period) * kDayMicros, period};
}

Result<HttpResponse> Api::Submit(const HttpRequest& request, const std::string& /*param*/) {
  const QueryParams query(request.query);
  std::string provider = kDefaultProvider;
  if (const auto named = query.Get("provider"); named && !named->empty()) provider = *named;
  if (!FindProvider(provider)) return InvalidParameter("provider", provider, "unknown provider");
  std::optional<std::string> key;
  if (const std::string* header = request.Header("idempotency-key")) {
    if (!IsValidIdempotencyKey(*header)) {
      return Status::Error(Status::Code::kInvalidArgument, "invalid_header",
                           "Idempotency-Key must be 1 to 255 printable ASCII characters",
                           {{"header", "Idempotency-Key"}});
    }
    key = *header;
  }
  auto parsed = ParseSubmitRequest(request.body);
  if (!parsed.ok()) return parsed.status();
  auto store = store_();
  if (!store.ok()) return store.status();
  const int64_t now = clock_();
  Submission submission = MakeSubmission(*parsed, NewSubmittedJobId(), provider, key);
  submission.cost_limit = SubmissionCostLimit(now);
  auto submitted = (*store)->Submit(submission, providers_.prices(), now);
  if (!submitted.ok()) return submitted.status();
  auto counts = RecentQueueCounts(**store, now);
  if (!counts.ok()) return counts.status();
  JsonWriter w;
  w.BeginObject();
  w.Key("job").Raw(JobToJson(submitted->job, providers_.prices(), now));
  w.Key("queue").BeginObject();
  w.Key("position").Int(std::optional<int64_t>(submitted->entry.position));
  w.Key("estimated_wait_seconds")
      .Double(
          EstimatedWait(submitted->entry.position, *counts, config_.queue_max_concurrent.value));
  w.EndObject();
  w.EndObject();
  HttpResponse response = JsonResponse(w.str(), 202);
  if (!submitted->created) response.headers.emplace_back("Idempotent-Replayed", "true");
  return response;
}

Result<HttpResponse> Api::ListQueue(const HttpRequest& request, const std::string&) {
  const QueryParams query(request.query);
  QueueFilter filter;
  if (const auto status = query.Get("status"); status && !status->empty()) {
    auto statuses = ParseQueueStatuses(*status);
    if (!statuses.ok()) return statuses.status();
    filter.statuses = std::move(*statuses);
  }
  if (const auto user = query.Get("user_id"); user && !user->empty()) filter.user_id = *user;
  if (const auto limit = query.Get("limit")) {
    const auto parsed = ParseInt(*limit, 1, 500);
    if (!parsed) return InvalidParameter("limit", *limit, "expected an integer from 1 to 500");
    filter.limit = static_cast<int>(*parsed);
  }
  if (const auto offset = query.Get("offset")) {
    const auto parsed = ParseInt(*offset, 0, int64_t{1} << 40);
    if (!parsed) return InvalidParameter("offset", *offset, "expected an integer >= 0");
    filter.offset = *parsed;
  }
  auto store = store_();
  if (!store.ok()) return store.status();
  auto page = (*store)->ListQueue(filter);
  if (!page.ok()) return page.status();
  JsonWriter w;
  w.BeginObject();
  w.Key("entries").BeginArray();
  for (const QueueEntry& e : page->entries) WriteEntry(w, e);
  w.EndArray();
  w.Key("total").Int(page->total);
  w.EndObject();
  return JsonResponse(w.str());
}

Result<HttpResponse> Api::QueueStats(const HttpRequest&, const std::string&) {
  auto store = store_();
  if (!store.ok()) return store.status();
  auto counts = (*store)->CountQueue(clock_());
  if (!counts.ok()) return counts.status();
  JsonWriter w;
  w.BeginObject();
  w.Key("queue_depth").Int(counts->waiting);
  w.Key("running").Int(counts->running);
  w.Key("max_concurrent").Int(config_.queue_max_concurrent.value);
  w.Key("user_max_concurrent").Int(config_.queue_user_max_concurrent.value);
  w.Key("avg_wait_seconds").Double(counts->avg_wait_seconds);
  w.Key("by_status").BeginObject();
  for (const auto& [status, n] : counts->by_status) w.Key(QueueStatusName(status)).Int(n);
  w.EndObject();
  w.EndObject();
  return JsonResponse(w.str());
}

Result<HttpResponse> Api::QueuePosition(const HttpRequest&, const std::string& job_id) {
  auto store = store_();
  if (!store.ok()) return store.status();
  auto entry = (*store)->GetQueueEntry(job_id);
  if (!entry.ok()) return entry.status();
  if (!*entry) {
    return Status::Error(Status::Code::kNotFound, "queue_entry_not_found",
                         "No queue entry for job " + job_id, {{"job_id", job_id}});
  }
  auto counts = (*store)->CountQueue(clock_());
  if (!counts.ok()) return counts.status();
  const QueueEntry& e = **entry;
  JsonWriter w;
  w.BeginObject();
  w.Key("job_id").String(std::string_view(e.job_id));
  w.Key("position").Int(std::optional<int64_t>(e.position));
  w.Key("status").String(QueueStatusName(e.status));
  w.Key("priority").Int(e.priority);
  w.Key("queued_at").String(FormatTimestamp(e.queued_at));
  w.Key("estimated_wait_seconds")
      .Double(EstimatedWait(e.position, *counts, config_.queue_max_concurrent.value));
  w.EndObject();
  return JsonResponse(w.str());
}

Result<HttpResponse> Api::QueuePriority(const HttpRequest& request, const std::string& job_id) {
  auto priority = ParsePriorityBody(request.body);
  if (!priority.ok()) return priority.status();
  auto store = store_();
  if (!store.ok()) return store.status();
  auto entry = (*store)->SetQueuePriority(job_id, *priority);
  if (!entry.ok()) return entry.status();
  JsonWriter w;
  WriteEntry(w, *entry);
  return JsonResponse(w.str());
}

Result<HttpResponse> Api::QueueCancel(const HttpRequest&, const std::string& job_id) {
  auto store = store_();
  if (!store.ok()) return store.status();
  const int64_t now = clock_();
  auto cancelled = (*store)->CancelWaiting(job_id, providers_.prices(), now);
  if (!cancelled.ok()) return cancelled.status();
  auto entry = (*store)->GetQueueEntry(job_id);
  if (!entry.ok()) return entry.status();
  JsonWriter w;
  w.BeginObject();
  w.Key("job").Raw(JobToJson(cancelled->job, providers_.prices(), now));
  w.Key("entry");
  if (*entry) {
    WriteEntry(w, **entry);
  } else {
    w.Null();
  }
  w.EndObject();
  return JsonResponse(w.str());
}

// SPEC §12: a queue pass now, answered once it ran. The ticket goes through
// the database (lib/service_state.h) and the poke wakes the worker, which
// runs the pass even with the loop turned off; the handler waits for the
// worker's record of it, a bounded while.
Result<HttpResponse> Api::QueueProcess(const HttpRequest&, const std::string&) {
  auto store = store_();
  if (!store.ok()) return store.status();
  auto beat = ReadWorkerHeartbeat(**store, clock_(), config_.polling_interval_seconds.value);
  if (!beat.ok()) return beat.status();
  if (!beat->live) {
    return Status::Error(Status::Code::kUnavailable, "worker_unavailable",
                         "the worker is not running, so no queue pass can run");
  }
  auto ticket = RequestQueuePass(**store, clock_());
  if (!ticket.ok()) return ticket.status();
  PokeWorker(poke_path_);
  for (int waited_ms = 0; waited_ms < kQueuePassWaitMs; waited_ms += kQueuePassPollMs) {
    std::this_thread::sleep_for(std::chrono::milliseconds(kQueuePassPollMs));
    const QueuePassRecord done = ReadQueuePassDone(**store);
    if (done.ticket >= *ticket) {
      JsonWriter w;
      w.BeginObject();
      w.Key("dispatched").Int(done.dispatched);
      w.EndObject();
      return JsonResponse(w.str());
    }
  }
  return Status::Error(Status::Code::kUnavailable, "queue_pass_pending",
                       "the worker has not finished the queue pass in " +
                           std::to_string(kQueuePassWaitMs / 1000) + " s; it goes on");
}

}  // namespace jobpulse
