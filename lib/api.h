// The REST API of SPEC §9 as a pure request -> response function, so it is
// tested without a web server; fcgi/main.cc only moves bytes between libfcgi
// and Api::Handle.
//
// Validation and errors follow SPEC §9: job ids must match
// [A-Za-z0-9._:-]{1,128}, known query parameters are checked (400 naming the
// parameter), unknown ones ignored, a method a path does not serve gets 405
// with Allow, and every failure is the one error envelope (lib/http.h).
//
// Thread-safety: an Api is used by one thread at a time (it shares the Store).
#ifndef JOBPULSE_LIB_API_H_
#define JOBPULSE_LIB_API_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/config.h"
#include "lib/cost.h"
#include "lib/http.h"
#include "lib/provider.h"
#include "lib/provider_registry.h"
#include "lib/status.h"
#include "lib/store.h"
#include "lib/webhook_receiver.h"

namespace jobpulse {

class Api {
 public:
  // Returns the process's store, opening it on first use; an error makes every
  // endpoint but health answer 503 until a later call succeeds. Providers and
  // prices are built from `config` (ProviderRegistry::FromConfig,
  // lib/provider_registry.h).
  using StoreSource = std::function<Result<Store*>()>;
  using Clock = std::function<int64_t()>;  // microseconds since the epoch

  Api(Config config, StoreSource store, Clock clock);

  // Never throws; an unexpected failure becomes a 500 envelope.
  HttpResponse Handle(const HttpRequest& request);

  // True for job ids the API accepts.
  static bool IsValidJobId(std::string_view job_id);

 private:
  // A handler gets the request and the path's "{...}" segment ("" without
  // one); an error it returns becomes the envelope in Route, the one place.
  using Handler = Result<HttpResponse> (Api::*)(const HttpRequest&, const std::string&);
  struct Endpoint {
    const char* method;  // GET also serves HEAD
    const char* path;    // "/api/cloud/jobs/{job_id}/logs"
    Handler handler;
  };
  static const Endpoint kEndpoints[];

  // `seg` is SplitPath(request.path): kEndpoints decides.
  HttpResponse Route(const HttpRequest& request, const std::vector<std::string>& seg);
  Result<HttpResponse> ListJobs(const HttpRequest& request, const std::string&);
  Result<HttpResponse> Sync(const HttpRequest& request, const std::string&);
  Result<HttpResponse> Cancel(const HttpRequest&, const std::string& job_id);
  Result<HttpResponse> Validate(const HttpRequest&, const std::string& provider_name);
  Result<HttpResponse> GetJob(const HttpRequest& request, const std::string& job_id);
  Result<HttpResponse> DeleteJob(const HttpRequest&, const std::string& job_id);
  Result<HttpResponse> InlineProgress(const HttpRequest& request, const std::string& job_id);
  Result<HttpResponse> Logs(const HttpRequest& request, const std::string& job_id);
  // The two metrics endpoints (lib/api_metrics.cc): SPEC §9's JSON and the
  // Prometheus exposition (lib/prometheus.h).
  Result<HttpResponse> Metrics(const HttpRequest& request, const std::string&);
  Result<HttpResponse> Prometheus(const HttpRequest&, const std::string&);
  Result<HttpResponse> Health(const HttpRequest&, const std::string&);
  Result<HttpResponse> PollingStatus(const HttpRequest&, const std::string&);
  Result<HttpResponse> ReplicateWebhook(const HttpRequest& request, const std::string&);
  // SPEC §12 (lib/api_queue.cc).
  Result<HttpResponse> Submit(const HttpRequest& request, const std::string&);
  Result<HttpResponse> ListQueue(const HttpRequest& request, const std::string&);
  Result<HttpResponse> QueueStats(const HttpRequest&, const std::string&);
  Result<HttpResponse> QueuePosition(const HttpRequest&, const std::string& job_id);
  Result<HttpResponse> QueuePriority(const HttpRequest& request, const std::string& job_id);
  Result<HttpResponse> QueueCancel(const HttpRequest&, const std::string& job_id);
  Result<HttpResponse> QueueProcess(const HttpRequest&, const std::string&);
  // queue.cost_limit_usd over queue.cost_limit_period, as of `now`; nullopt
  // when no limit is set. The store checks it when it queues a submission.
  std::optional<CostLimit> SubmissionCostLimit(int64_t now) const;
  // The job `job_id` names. Errors: kNotFound "job_not_found" (404), the
  // store's errors.
  Result<Job> LoadJob(const std::string& job_id, JobRead read = JobRead::kWhole);
  // The provider a job or request names; nullptr when unknown.
  Provider* FindProvider(const std::string& name);
  // CountQueue for a submission's estimated wait, at most a second old: the
  // counts read the whole queue, and a burst of submissions must not read it
  // once each.
  Result<QueueCounts> RecentQueueCounts(Store& store, int64_t now);

  Config config_;
  // WorkerPokeSocketPath of the database, worked out once (path arithmetic
  // allocates, and a webhook flood pokes once per delivery).
  std::string poke_path_;
  WebhookReceiver webhooks_;
  ProviderRegistry providers_;
  StoreSource store_;
  Clock clock_;

  // The last rendered job list (see ListJobs): valid for the same filter, the
  // same database state and the same second.
  struct ListCache {
    std::string key;
    std::string version;
    int64_t second = 0;
    std::string body;
  };
  std::optional<ListCache> list_cache_;
  std::optional<QueueCounts> queue_counts_;
  int64_t queue_counts_at_ = 0;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_API_H_
