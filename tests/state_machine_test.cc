// Unit tests for lib/state_machine.h: the one merge function (SPEC §4), fed
// Replicate's statuses (their mapping itself is tested in
// replicate_run_test.cc). Pure: no files, no clock, no network.
#include <boost/test/unit_test.hpp>
// (The test module itself is defined once, in tests/main_test.cc.)

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "lib/cost.h"
#include "lib/job.h"
#include "lib/state_machine.h"

namespace jobpulse {
namespace {

constexpr int64_t kSecond = 1000000;
// 2026-11-28T10:00:00Z in microseconds.
constexpr int64_t kNow = int64_t{1795860000} * kSecond;

const char* const kLog = "Step 1500/5000 - loss: 0.0234";

// Values are rendered as strings so failures print readable values.
std::string Show(JobStatus s) { return JobStatusName(s); }
std::string Show(const std::optional<JobStatus>& s) { return s ? JobStatusName(*s) : "null"; }
std::string Show(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "null"; }
std::string Show(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "null"; }
std::string Show(const std::optional<double>& v) { return v ? std::to_string(*v) : "null"; }

PriceTable Prices() {
  PriceTable prices;
  prices.per_second = {{"gpu-h100", 0.001525}, {"gpu-l40s", 0.000975}};
  prices.default_sku = "gpu-l40s";
  return prices;
}

Job MakeJob(JobStatus status) {
  Job job;
  job.job_id = "j1";
  job.provider = "replicate";
  job.external_id = "ext1";
  job.status = status;
  job.created_at = kNow - 600 * kSecond;
  job.version = 3;
  job.updated_at = kNow - 60 * kSecond;
  return job;
}

Observation ProviderObs(const std::string& provider_status) {
  Observation obs;
  obs.provider = "replicate";
  obs.external_id = "ext1";
  obs.provider_status = provider_status;
  return obs;
}

Observation LocalObs(JobStatus status) {
  Observation obs;
  obs.source = Observation::Source::kLocal;
  obs.job_id = "j1";
  obs.status = status;
  return obs;
}

MergeResult Merge(const std::optional<Job>& current, const Observation& obs, int64_t now = kNow) {
  return MergeObservation(current, obs, Prices(), now);
}

bool Near(double a, double b) { return std::abs(a - b) <= 1e-9; }

BOOST_AUTO_TEST_SUITE(state_machine)

BOOST_AUTO_TEST_CASE(status_never_moves_backwards) {
  const Job running = MakeJob(JobStatus::kRunning);
  const MergeResult r = Merge(running, ProviderObs("starting"));
  BOOST_TEST(Show(r.job.status) == "running");
  BOOST_TEST(!r.status_changed);
  BOOST_TEST(Show(r.previous_status) == "null");
  BOOST_TEST(!r.changed);
  BOOST_TEST(!r.touched);
  BOOST_TEST(!r.created);

  const MergeResult local = Merge(running, LocalObs(JobStatus::kPending));
  BOOST_TEST(Show(local.job.status) == "running");
  BOOST_TEST(!local.status_changed);
  BOOST_TEST(!local.touched);
}

BOOST_AUTO_TEST_CASE(each_forward_step_reports_its_previous_status) {
  Job job = MakeJob(JobStatus::kPending);

  MergeResult r = Merge(job, LocalObs(JobStatus::kUploading));
  BOOST_TEST(Show(r.job.status) == "uploading");
  BOOST_TEST(r.status_changed);
  BOOST_TEST(Show(r.previous_status) == "pending");
  job = r.job;

  r = Merge(job, ProviderObs("starting"));
  BOOST_TEST(Show(r.job.status) == "queued");
  BOOST_TEST(r.status_changed);
  BOOST_TEST(Show(r.previous_status) == "uploading");
  BOOST_TEST(r.changed);
  BOOST_TEST(r.touched);
  BOOST_TEST(!r.created);
  job = r.job;

  r = Merge(job, ProviderObs("processing"));
  BOOST_TEST(Show(r.job.status) == "running");
  BOOST_TEST(r.status_changed);
  BOOST_TEST(Show(r.previous_status) == "queued");
  job = r.job;

  r = Merge(job, ProviderObs("succeeded"));
  BOOST_TEST(Show(r.job.status) == "completed");
  BOOST_TEST(r.status_changed);
  BOOST_TEST(Show(r.previous_status) == "running");
}

BOOST_AUTO_TEST_CASE(pending_can_jump_straight_to_running) {
  const MergeResult r = Merge(MakeJob(JobStatus::kPending), ProviderObs("processing"));
  BOOST_TEST(Show(r.job.status) == "running");
  BOOST_TEST(r.status_changed);
  BOOST_TEST(Show(r.previous_status) == "pending");
}

// A submitted job has no run until the dispatcher's create answers (SPEC
// §12): the first provider observation naming it gives it its external id;
// a local one, another provider's, or a second run never do.
BOOST_AUTO_TEST_CASE(a_submitted_job_adopts_its_first_run_id) {
  Job submitted = MakeJob(JobStatus::kPending);
  submitted.external_id.reset();
  Observation created = ProviderObs("starting");
  created.job_id = "j1";
  created.external_id = "run-1";
  MergeResult r = Merge(submitted, created);
  BOOST_TEST(r.job.external_id.value_or("") == "run-1");
  BOOST_TEST((r.job.status == JobStatus::kQueued));
  BOOST_TEST(r.changed);
  Observation other = created;
  other.external_id = "run-2";
  BOOST_TEST(Merge(r.job, other).job.external_id.value_or("") == "run-1");
  Observation local = LocalObs(JobStatus::kQueued);
  local.external_id = "run-3";
  BOOST_TEST(!Merge(submitted, local).job.external_id.has_value());
  Observation elsewhere = created;
  elsewhere.provider = "modal";
  BOOST_TEST(!Merge(submitted, elsewhere).job.external_id.has_value());
}

BOOST_AUTO_TEST_CASE(terminal_status_is_final) {
  const Job completed = MakeJob(JobStatus::kCompleted);
  for (const char* s : {"failed", "processing", "canceled", "starting", "aborted"}) {
    BOOST_TEST_CONTEXT("provider status " << s) {
      const MergeResult r = Merge(completed, ProviderObs(s));
      BOOST_TEST(Show(r.job.status) == "completed");
      BOOST_TEST(!r.status_changed);
      BOOST_TEST(Show(r.previous_status) == "null");
    }
  }
  for (JobStatus s : {JobStatus::kFailed, JobStatus::kCancelled, JobStatus::kRunning}) {
    BOOST_TEST_CONTEXT("local status " << JobStatusName(s)) {
      const MergeResult r = Merge(completed, LocalObs(s));
      BOOST_TEST(Show(r.job.status) == "completed");
      BOOST_TEST(!r.status_changed);
      BOOST_TEST(!r.touched);
    }
  }
}

BOOST_AUTO_TEST_CASE(terminal_job_still_fills_null_fields) {
  Job completed = MakeJob(JobStatus::kCompleted);
  completed.hardware_type = "gpu-h100";
  completed.started_at = kNow - 900 * kSecond;

  Observation obs = ProviderObs("succeeded");
  obs.completed_at = kNow - 100 * kSecond;
  obs.predict_time = 502.71;
  obs.error_message = "late warning";
  obs.output_url = "https://replicate.delivery/out.safetensors";
  const MergeResult r = Merge(completed, obs);

  BOOST_TEST(Show(r.job.status) == "completed");
  BOOST_TEST(!r.status_changed);
  BOOST_TEST(Show(r.job.completed_at) == std::to_string(kNow - 100 * kSecond));
  BOOST_REQUIRE(r.job.cost_usd.has_value());
  BOOST_TEST(Near(*r.job.cost_usd, 502.71 * 0.001525));
  BOOST_TEST(Show(r.job.error_message) == "\"late warning\"");
  BOOST_TEST(Show(r.job.output_url) == "\"https://replicate.delivery/out.safetensors\"");
  BOOST_TEST(r.changed);
  BOOST_TEST(r.touched);
}

BOOST_AUTO_TEST_CASE(terminal_job_does_not_overwrite_known_fields) {
  Job completed = MakeJob(JobStatus::kCompleted);
  completed.hardware_type = "gpu-h100";
  completed.started_at = kNow - 900 * kSecond;
  completed.completed_at = kNow - 200 * kSecond;
  completed.cost_usd = 1.25;
  completed.error_message = "first error";
  completed.output_url = "https://replicate.delivery/first";
  completed.config_name = "flux-lora";
  completed.metadata = {{"model", "owner/name"}};

  Observation obs = ProviderObs("succeeded");
  obs.started_at = kNow - 800 * kSecond;
  obs.completed_at = kNow - 100 * kSecond;
  obs.predict_time = 502.71;
  obs.error_message = "second error";
  obs.output_url = "https://replicate.delivery/second";
  obs.config_name = "other-config";
  obs.hardware_type = "gpu-l40s";
  obs.metadata = {{"model", "someone/else"}};
  const MergeResult r = Merge(completed, obs);

  BOOST_TEST(Show(r.job.started_at) == std::to_string(kNow - 900 * kSecond));
  BOOST_TEST(Show(r.job.completed_at) == std::to_string(kNow - 200 * kSecond));
  BOOST_TEST(Show(r.job.cost_usd) == Show(std::optional<double>(1.25)));
  BOOST_TEST(Show(r.job.error_message) == "\"first error\"");
  BOOST_TEST(Show(r.job.output_url) == "\"https://replicate.delivery/first\"");
  BOOST_TEST(Show(r.job.config_name) == "\"flux-lora\"");
  BOOST_TEST(Show(r.job.hardware_type) == "\"gpu-h100\"");
  BOOST_TEST(r.job.metadata.at("model") == "owner/name");
  BOOST_TEST(!r.changed);
  BOOST_TEST(!r.touched);
  BOOST_TEST((r.job == completed));
}

BOOST_AUTO_TEST_CASE(null_in_observation_keeps_known_values) {
  Job running = MakeJob(JobStatus::kRunning);
  running.started_at = kNow - 300 * kSecond;
  running.error_message = "retrying after OOM";
  running.output_url = "https://replicate.delivery/partial";
  running.hardware_type = "gpu-h100";
  running.config_name = "flux-lora";
  running.cost_usd = 0.5;
  running.metadata = {{"model", "owner/name"}, {"source", "api"}};

  const MergeResult r = Merge(running, ProviderObs("processing"));
  BOOST_TEST(Show(r.job.started_at) == std::to_string(kNow - 300 * kSecond));
  BOOST_TEST(Show(r.job.error_message) == "\"retrying after OOM\"");
  BOOST_TEST(Show(r.job.output_url) == "\"https://replicate.delivery/partial\"");
  BOOST_TEST(Show(r.job.hardware_type) == "\"gpu-h100\"");
  BOOST_TEST(Show(r.job.config_name) == "\"flux-lora\"");
  BOOST_TEST(Show(r.job.cost_usd) == Show(std::optional<double>(0.5)));
  BOOST_TEST(r.job.metadata.size() == 2u);
  BOOST_TEST(!r.changed);
  BOOST_TEST(!r.touched);
  BOOST_TEST((r.job == running));
}

BOOST_AUTO_TEST_CASE(provider_timestamps_win_over_local_ones) {
  // The job was created and started by a local observation (our own clock).
  Observation local = LocalObs(JobStatus::kRunning);
  local.provider = "replicate";
  local.external_id = "ext1";
  local.created_at = kNow - 500 * kSecond;
  local.started_at = kNow - 400 * kSecond;
  const MergeResult created = Merge(std::nullopt, local);
  BOOST_TEST(Show(created.job.started_at) == std::to_string(kNow - 400 * kSecond));
  BOOST_TEST(created.job.created_at == kNow - 500 * kSecond);

  Observation provider = ProviderObs("processing");
  provider.created_at = kNow - 520 * kSecond;
  provider.started_at = kNow - 410 * kSecond;
  const MergeResult r = Merge(created.job, provider);
  BOOST_TEST(Show(r.job.started_at) == std::to_string(kNow - 410 * kSecond));
  BOOST_TEST(r.job.created_at == kNow - 520 * kSecond);
  BOOST_TEST(!r.status_changed);
  BOOST_TEST(r.changed);
}

BOOST_AUTO_TEST_CASE(local_observation_never_overwrites_a_known_value) {
  Job running = MakeJob(JobStatus::kRunning);
  running.started_at = kNow - 300 * kSecond;
  running.error_message = "provider error";
  running.hardware_type = "gpu-h100";

  Observation local = LocalObs(JobStatus::kRunning);
  local.created_at = kNow - 10 * kSecond;
  local.started_at = kNow - 5 * kSecond;
  local.error_message = "local error";
  local.hardware_type = "gpu-l40s";
  local.output_url = "https://example.com/out";  // null in the job: filled
  const MergeResult r = Merge(running, local);

  BOOST_TEST(r.job.created_at == kNow - 600 * kSecond);
  BOOST_TEST(Show(r.job.started_at) == std::to_string(kNow - 300 * kSecond));
  BOOST_TEST(Show(r.job.error_message) == "\"provider error\"");
  BOOST_TEST(Show(r.job.hardware_type) == "\"gpu-h100\"");
  BOOST_TEST(Show(r.job.output_url) == "\"https://example.com/out\"");
  BOOST_TEST(!r.status_changed);
  BOOST_TEST(r.changed);
}

BOOST_AUTO_TEST_CASE(local_observation_fills_a_null_timestamp) {
  Observation local = LocalObs(JobStatus::kRunning);
  local.started_at = kNow - 5 * kSecond;
  const MergeResult r = Merge(MakeJob(JobStatus::kQueued), local);
  BOOST_TEST(Show(r.job.status) == "running");
  BOOST_TEST(Show(r.job.started_at) == std::to_string(kNow - 5 * kSecond));
}

BOOST_AUTO_TEST_CASE(completed_at_is_the_providers_never_now) {
  Job running = MakeJob(JobStatus::kRunning);
  running.started_at = kNow - 300 * kSecond;

  const MergeResult detected = Merge(running, ProviderObs("succeeded"));
  BOOST_TEST(Show(detected.job.status) == "completed");
  BOOST_TEST(Show(detected.job.completed_at) == "null");

  Observation later = ProviderObs("succeeded");
  later.completed_at = kNow - 42 * kSecond;
  const MergeResult filled = Merge(detected.job, later, kNow + 30 * kSecond);
  BOOST_TEST(Show(filled.job.completed_at) == std::to_string(kNow - 42 * kSecond));

  Observation direct = ProviderObs("failed");
  direct.completed_at = kNow - 7 * kSecond;
  const MergeResult failed = Merge(running, direct);
  BOOST_TEST(Show(failed.job.completed_at) == std::to_string(kNow - 7 * kSecond));
}

BOOST_AUTO_TEST_CASE(cancelled_job_stays_cancelled_when_provider_reports_failure) {
  Job running = MakeJob(JobStatus::kRunning);
  Observation cancel = LocalObs(JobStatus::kCancelled);
  cancel.error_message = "cancelled by user";
  const MergeResult cancelled = Merge(running, cancel);
  BOOST_TEST(Show(cancelled.job.status) == "cancelled");
  BOOST_TEST(cancelled.status_changed);
  BOOST_TEST(Show(cancelled.previous_status) == "running");

  Observation failed = ProviderObs("failed");
  failed.error_message = "CUDA out of memory";
  failed.completed_at = kNow + 5 * kSecond;
  const MergeResult r = Merge(cancelled.job, failed, kNow + 10 * kSecond);
  BOOST_TEST(Show(r.job.status) == "cancelled");
  BOOST_TEST(!r.status_changed);
  BOOST_TEST(Show(r.job.error_message) == "\"cancelled by user\"");
  BOOST_TEST(Show(r.job.completed_at) == std::to_string(kNow + 5 * kSecond));
}

BOOST_AUTO_TEST_CASE(cancelled_job_without_message_takes_the_providers) {
  const MergeResult cancelled = Merge(MakeJob(JobStatus::kQueued), LocalObs(JobStatus::kCancelled));
  BOOST_TEST(Show(cancelled.job.error_message) == "null");

  Observation failed = ProviderObs("failed");
  failed.error_message = "CUDA out of memory";
  const MergeResult r = Merge(cancelled.job, failed);
  BOOST_TEST(Show(r.job.status) == "cancelled");
  BOOST_TEST(Show(r.job.error_message) == "\"CUDA out of memory\"");
}

BOOST_AUTO_TEST_CASE(externally_cancelled_job_is_cancelled_never_failed) {
  const MergeResult r = Merge(MakeJob(JobStatus::kRunning), ProviderObs("canceled"));
  BOOST_TEST(Show(r.job.status) == "cancelled");
  BOOST_TEST(r.status_changed);
  BOOST_TEST(Show(r.previous_status) == "running");
  BOOST_TEST(Show(r.job.error_message) == "null");

  const MergeResult aborted = Merge(MakeJob(JobStatus::kQueued), ProviderObs("aborted"));
  BOOST_TEST(Show(aborted.job.status) == "cancelled");
  BOOST_TEST(Show(aborted.previous_status) == "queued");
  BOOST_TEST(Show(aborted.job.error_message) == "\"aborted: deadline passed before start\"");
}

BOOST_AUTO_TEST_CASE(status_changed_exactly_when_status_changes) {
  Job job = MakeJob(JobStatus::kQueued);
  MergeResult r = Merge(job, ProviderObs("processing"));
  BOOST_TEST(r.status_changed);
  job = r.job;

  // Another field changes but the status does not.
  Observation obs = ProviderObs("processing");
  obs.started_at = kNow - 5 * kSecond;
  r = Merge(job, obs);
  BOOST_TEST(!r.status_changed);
  BOOST_TEST(Show(r.previous_status) == "null");
  BOOST_TEST(r.changed);
  BOOST_TEST(r.touched);
  job = r.job;

  // The identical observation again: nothing at all.
  r = Merge(job, obs, kNow + kSecond);
  BOOST_TEST(!r.status_changed);
  BOOST_TEST(!r.changed);
  BOOST_TEST(!r.touched);
  BOOST_TEST(!r.created);
  BOOST_TEST((r.job == job));
}

BOOST_AUTO_TEST_CASE(unknown_status_is_reported_once_and_changes_nothing) {
  const Job running = MakeJob(JobStatus::kRunning);
  const MergeResult first = Merge(running, ProviderObs("paused"));
  BOOST_TEST(Show(first.unknown_status) == "\"paused\"");
  BOOST_TEST(Show(first.job.status) == "running");
  BOOST_TEST(!first.status_changed);
  BOOST_TEST(!first.changed);
  BOOST_TEST(first.touched);  // the sighting is remembered on the row

  const MergeResult second = Merge(first.job, ProviderObs("paused"));
  BOOST_TEST(Show(second.unknown_status) == "null");
  BOOST_TEST(Show(second.job.status) == "running");
  BOOST_TEST(!second.touched);

  const MergeResult other = Merge(second.job, ProviderObs("hibernating"));
  BOOST_TEST(Show(other.unknown_status) == "\"hibernating\"");
}

BOOST_AUTO_TEST_CASE(unknown_status_never_makes_a_terminal_job_active) {
  const Job failed = MakeJob(JobStatus::kFailed);
  const MergeResult r = Merge(failed, ProviderObs("restarting"));
  BOOST_TEST(Show(r.unknown_status) == "\"restarting\"");
  BOOST_TEST(Show(r.job.status) == "failed");
  BOOST_TEST(IsTerminal(r.job.status));
  BOOST_TEST(!r.status_changed);
  BOOST_TEST(!r.changed);

  const MergeResult again = Merge(r.job, ProviderObs("restarting"));
  BOOST_TEST(Show(again.unknown_status) == "null");
  BOOST_TEST(Show(again.job.status) == "failed");
}

BOOST_AUTO_TEST_CASE(unknown_status_ignores_a_local_status_in_the_same_observation) {
  Observation obs = ProviderObs("paused");
  obs.status = JobStatus::kCompleted;
  const MergeResult r = Merge(MakeJob(JobStatus::kRunning), obs);
  BOOST_TEST(Show(r.job.status) == "running");
  BOOST_TEST(!r.status_changed);
}

BOOST_AUTO_TEST_CASE(logs_set_progress_on_a_running_job) {
  Observation obs = ProviderObs("processing");
  obs.logs = std::string("Loading model\n") + kLog + "\n";
  const MergeResult r = Merge(MakeJob(JobStatus::kRunning), obs);
  BOOST_TEST(Show(r.job.progress.stage) == "\"Training\"");
  BOOST_TEST(Show(r.job.progress.progress) == Show(std::optional<double>(30.0)));
  BOOST_TEST(Show(r.job.progress.last_log) == std::string("\"") + kLog + "\"");
  BOOST_TEST(r.job.logs_tail == *obs.logs);
  BOOST_TEST(Show(r.job.logs_fetched_at) == std::to_string(kNow));
  BOOST_TEST(Show(r.job.last_progress_event_at) == std::to_string(kNow));
  BOOST_TEST(r.progress_changed);
  BOOST_TEST(r.emit_progress_event);
  BOOST_TEST(r.changed);
  BOOST_TEST(!r.status_changed);
}

BOOST_AUTO_TEST_CASE(progress_events_are_at_most_one_per_second) {
  Observation obs = ProviderObs("processing");
  obs.logs = kLog;
  MergeResult r = Merge(MakeJob(JobStatus::kRunning), obs, kNow);
  BOOST_TEST(r.emit_progress_event);
  Job job = r.job;

  obs.logs = "Step 2000/5000 - loss: 0.0200";
  r = Merge(job, obs, kNow + kSecond - 1);
  BOOST_TEST(r.progress_changed);
  BOOST_TEST(!r.emit_progress_event);
  BOOST_TEST(Show(r.job.progress.progress) == Show(std::optional<double>(40.0)));
  BOOST_TEST(Show(r.job.last_progress_event_at) == std::to_string(kNow));
  job = r.job;

  obs.logs = "Step 2500/5000 - loss: 0.0180";
  r = Merge(job, obs, kNow + kSecond);
  BOOST_TEST(r.progress_changed);
  BOOST_TEST(r.emit_progress_event);
  BOOST_TEST(Show(r.job.progress.progress) == Show(std::optional<double>(50.0)));
  BOOST_TEST(Show(r.job.last_progress_event_at) == std::to_string(kNow + kSecond));
}

BOOST_AUTO_TEST_CASE(same_logs_again_change_no_progress) {
  Observation obs = ProviderObs("processing");
  obs.logs = kLog;
  const MergeResult first = Merge(MakeJob(JobStatus::kRunning), obs, kNow);
  const MergeResult r = Merge(first.job, obs, kNow + 5 * kSecond);
  BOOST_TEST(!r.progress_changed);
  BOOST_TEST(!r.emit_progress_event);
  BOOST_TEST(!r.changed);
  BOOST_TEST(r.touched);  // logs_fetched_at moved
  BOOST_TEST(Show(r.job.logs_fetched_at) == std::to_string(kNow + 5 * kSecond));
}

BOOST_AUTO_TEST_CASE(logs_on_a_job_that_is_not_running_emit_no_progress) {
  Observation obs = ProviderObs("starting");
  obs.logs = kLog;
  const MergeResult r = Merge(MakeJob(JobStatus::kQueued), obs);
  BOOST_TEST(!r.progress_changed);
  BOOST_TEST(!r.emit_progress_event);
  BOOST_TEST(Show(r.job.last_progress_event_at) == "null");
}

BOOST_AUTO_TEST_CASE(cost_is_predict_time_times_hardware_price) {
  Observation obs = ProviderObs("succeeded");
  obs.predict_time = 502.71;
  obs.hardware_type = "gpu-h100";
  const MergeResult r = Merge(MakeJob(JobStatus::kRunning), obs);
  BOOST_REQUIRE(r.job.cost_usd.has_value());
  BOOST_TEST(Near(*r.job.cost_usd, 502.71 * 0.001525));
  BOOST_TEST(Show(r.job.hardware_type) == "\"gpu-h100\"");

  // The stored hardware is used when the observation names none.
  Job h100 = MakeJob(JobStatus::kRunning);
  h100.hardware_type = "gpu-h100";
  Observation plain = ProviderObs("succeeded");
  plain.predict_time = 100;
  const MergeResult stored = Merge(h100, plain);
  BOOST_REQUIRE(stored.job.cost_usd.has_value());
  BOOST_TEST(Near(*stored.job.cost_usd, 100 * 0.001525));
}

BOOST_AUTO_TEST_CASE(cost_without_hardware_uses_the_default_sku) {
  Observation obs = ProviderObs("succeeded");
  obs.predict_time = 200;
  const MergeResult r = Merge(MakeJob(JobStatus::kRunning), obs);
  BOOST_REQUIRE(r.job.cost_usd.has_value());
  BOOST_TEST(Near(*r.job.cost_usd, 200 * 0.000975));
  BOOST_TEST(Show(r.job.hardware_type) == "null");
}

BOOST_AUTO_TEST_CASE(known_cost_is_never_cleared) {
  Job running = MakeJob(JobStatus::kRunning);
  running.cost_usd = 0.75;

  // No predict_time: the cost stays.
  const MergeResult none = Merge(running, ProviderObs("succeeded"));
  BOOST_TEST(Show(none.job.cost_usd) == Show(std::optional<double>(0.75)));

  // A predict_time whose hardware has no price yields no cost: the cost stays.
  Observation unpriced = ProviderObs("succeeded");
  unpriced.predict_time = 100;
  unpriced.hardware_type = "gpu-not-in-table";
  const MergeResult r = Merge(running, unpriced);
  BOOST_TEST(Show(r.job.cost_usd) == Show(std::optional<double>(0.75)));

  // A negative predict_time is nonsense: the cost stays.
  Observation negative = ProviderObs("succeeded");
  negative.predict_time = -1;
  const MergeResult n = Merge(running, negative);
  BOOST_TEST(Show(n.job.cost_usd) == Show(std::optional<double>(0.75)));
}

BOOST_AUTO_TEST_CASE(created_job_takes_job_id_or_external_id) {
  Observation with_id = ProviderObs("starting");
  with_id.job_id = "j_01HZX";
  with_id.created_at = kNow - 50 * kSecond;
  const MergeResult a = Merge(std::nullopt, with_id);
  BOOST_TEST(a.created);
  BOOST_TEST(a.status_changed);
  BOOST_TEST(Show(a.previous_status) == "null");
  BOOST_TEST(a.changed);
  BOOST_TEST(a.touched);
  BOOST_TEST(a.job.job_id == "j_01HZX");
  BOOST_TEST(Show(a.job.external_id) == "\"ext1\"");
  BOOST_TEST(Show(a.job.provider) == "\"replicate\"");
  BOOST_TEST(Show(a.job.status) == "queued");
  BOOST_TEST(a.job.created_at == kNow - 50 * kSecond);
  BOOST_TEST(a.job.job_type == "cloud");

  const MergeResult b = Merge(std::nullopt, ProviderObs("processing"));
  BOOST_TEST(b.created);
  BOOST_TEST(b.job.job_id == "ext1");
  BOOST_TEST(Show(b.job.external_id) == "\"ext1\"");
  BOOST_TEST(Show(b.job.status) == "running");
  BOOST_TEST(b.job.created_at == kNow);
}

BOOST_AUTO_TEST_CASE(created_job_without_status_is_pending) {
  Observation obs;
  obs.source = Observation::Source::kLocal;
  obs.job_id = "local-1";
  const MergeResult r = Merge(std::nullopt, obs);
  BOOST_TEST(r.created);
  BOOST_TEST(r.job.job_id == "local-1");
  BOOST_TEST(Show(r.job.status) == "pending");
  BOOST_TEST(Show(r.job.provider) == "null");
  BOOST_TEST(Show(r.job.external_id) == "null");
  BOOST_TEST(r.job.created_at == kNow);
}

BOOST_AUTO_TEST_CASE(metadata_keys_replace_stored_ones_and_estimate_flag_is_not_stored) {
  Job running = MakeJob(JobStatus::kRunning);
  running.metadata = {{"model", "owner/old"}, {"source", "api"}};
  Observation obs = ProviderObs("processing");
  obs.metadata = {{"model", "owner/new"}, {"version", "abc123"}, {"cost_is_estimate", "true"}};
  const MergeResult r = Merge(running, obs);
  BOOST_TEST(r.job.metadata.size() == 3u);
  BOOST_TEST(r.job.metadata.at("model") == "owner/new");
  BOOST_TEST(r.job.metadata.at("source") == "api");
  BOOST_TEST(r.job.metadata.at("version") == "abc123");
  BOOST_TEST(r.job.metadata.count("cost_is_estimate") == 0u);
  BOOST_TEST(r.changed);
}

BOOST_AUTO_TEST_SUITE_END()

// SPEC §4 "logs never go backwards": Replicate delivers webhooks and list
// items out of order, and its log text only grows while a run lives.
BOOST_AUTO_TEST_SUITE(state_machine_out_of_order)

// The log a run has printed after `steps` of `total` steps, one line a step.
std::string LogAfter(int steps, int total) {
  std::string log = "Loading model\n";
  for (int i = 1; i <= steps; ++i) {
    log += "Step " + std::to_string(i) + "/" + std::to_string(total) + " - loss: 0.1\n";
  }
  return log;
}

Observation WithLogs(const std::string& provider_status, std::string logs) {
  Observation obs = ProviderObs(provider_status);
  obs.logs = std::move(logs);
  return obs;
}

BOOST_AUTO_TEST_CASE(completed_job_keeps_its_final_logs_when_an_older_delivery_arrives) {
  MergeResult r = Merge(MakeJob(JobStatus::kRunning), WithLogs("processing", LogAfter(47, 50)));
  r = Merge(r.job, WithLogs("succeeded", LogAfter(50, 50)), kNow + 10 * kSecond);
  const Job completed = r.job;
  BOOST_TEST(Show(completed.status) == "completed");
  BOOST_TEST(Show(completed.progress.last_log) == "\"Step 50/50 - loss: 0.1\"");

  const MergeResult late =
      Merge(completed, WithLogs("processing", LogAfter(47, 50)), kNow + 20 * kSecond);
  BOOST_TEST(late.stale);
  BOOST_TEST(!late.touched);
  BOOST_TEST(!late.changed);
  BOOST_TEST(!late.status_changed);
  BOOST_TEST(!late.emit_progress_event);
  BOOST_TEST((late.job == completed));
  BOOST_TEST(late.job.logs_tail == LogAfter(50, 50));
}

BOOST_AUTO_TEST_CASE(running_job_progress_never_goes_back_and_announces_nothing) {
  MergeResult r = Merge(MakeJob(JobStatus::kRunning), WithLogs("processing", LogAfter(26, 50)));
  BOOST_TEST(Show(r.job.progress.progress) == Show(std::optional<double>(52.0)));
  BOOST_TEST(r.emit_progress_event);
  const Job at52 = r.job;

  const MergeResult late = Merge(at52, WithLogs("processing", LogAfter(2, 50)), kNow + 5 * kSecond);
  BOOST_TEST(late.stale);
  BOOST_TEST(!late.emit_progress_event);
  BOOST_TEST(!late.progress_changed);
  BOOST_TEST(!late.touched);
  BOOST_TEST(Show(late.job.progress.progress) == Show(std::optional<double>(52.0)));
  BOOST_TEST(late.job.log_bytes_seen == static_cast<int64_t>(LogAfter(26, 50).size()));
}

BOOST_AUTO_TEST_CASE(a_terminal_list_item_with_older_logs_is_stale_and_not_counted) {
  MergeResult r = Merge(MakeJob(JobStatus::kRunning), WithLogs("succeeded", LogAfter(50, 50)));
  const Job completed = r.job;
  Observation item = WithLogs("succeeded", LogAfter(48, 50));
  item.completed_at = kNow;
  const MergeResult again = Merge(completed, item, kNow + kSecond);
  BOOST_TEST(again.stale);
  BOOST_TEST(!again.changed);  // a sync counts `updated` from this
  BOOST_TEST(!again.touched);
  BOOST_TEST(again.job.logs_tail == LogAfter(50, 50));
}

BOOST_AUTO_TEST_CASE(an_older_status_without_logs_is_stale_too) {
  Job running = MakeJob(JobStatus::kRunning);
  running.started_at = kNow - 100 * kSecond;
  Observation starting = ProviderObs("starting");
  starting.started_at = kNow - 50 * kSecond;  // would move the start if it were applied
  starting.metadata = {{"model", "other/model"}};
  const MergeResult r = Merge(running, starting);
  BOOST_TEST(r.stale);
  BOOST_TEST((r.job == running));
}

BOOST_AUTO_TEST_CASE(a_higher_status_with_shorter_logs_moves_status_but_keeps_logs) {
  MergeResult r = Merge(MakeJob(JobStatus::kRunning), WithLogs("processing", LogAfter(30, 50)));
  const MergeResult done = Merge(r.job, WithLogs("failed", LogAfter(10, 50)), kNow + kSecond);
  BOOST_TEST(!done.stale);
  BOOST_TEST(Show(done.job.status) == "failed");
  BOOST_TEST(done.status_changed);
  BOOST_TEST(done.job.logs_tail == LogAfter(30, 50));
  BOOST_TEST(Show(done.job.progress.last_log) == "\"Step 30/50 - loss: 0.1\"");
}

BOOST_AUTO_TEST_CASE(equal_or_longer_logs_at_the_same_status_apply) {
  MergeResult r = Merge(MakeJob(JobStatus::kRunning), WithLogs("processing", LogAfter(10, 50)));
  r = Merge(r.job, WithLogs("processing", LogAfter(10, 50)), kNow + 2 * kSecond);
  BOOST_TEST(!r.stale);
  BOOST_TEST(!r.changed);
  r = Merge(r.job, WithLogs("processing", LogAfter(11, 50)), kNow + 4 * kSecond);
  BOOST_TEST(!r.stale);
  BOOST_TEST(r.changed);
  BOOST_TEST(Show(r.job.progress.progress) == Show(std::optional<double>(22.0)));
}

BOOST_AUTO_TEST_CASE(a_terminal_job_takes_longer_logs_only_from_a_terminal_observation) {
  const Job completed =
      Merge(MakeJob(JobStatus::kRunning), WithLogs("succeeded", LogAfter(40, 50))).job;
  const MergeResult processing =
      Merge(completed, WithLogs("processing", LogAfter(50, 50)), kNow + kSecond);
  BOOST_TEST(processing.stale);
  BOOST_TEST(processing.job.logs_tail == LogAfter(40, 50));
  const MergeResult unknown =
      Merge(completed, WithLogs("paused", LogAfter(50, 50)), kNow + kSecond);
  BOOST_TEST(unknown.stale);
  BOOST_TEST(unknown.job.logs_tail == LogAfter(40, 50));
  const MergeResult terminal =
      Merge(completed, WithLogs("succeeded", LogAfter(50, 50)), kNow + kSecond);
  BOOST_TEST(!terminal.stale);
  BOOST_TEST(terminal.job.logs_tail == LogAfter(50, 50));
}

BOOST_AUTO_TEST_CASE(log_bytes_seen_is_the_full_text_not_the_stored_tail) {
  std::string big;
  while (big.size() < 100 * 1024) big += "Step 1/100 - " + std::string(60, 'x') + "\n";
  big += "Step 3/4 done\n";
  const MergeResult r = Merge(MakeJob(JobStatus::kRunning), WithLogs("processing", big));
  BOOST_TEST(r.job.log_bytes_seen == static_cast<int64_t>(big.size()));
  BOOST_TEST(r.job.logs_tail.size() <= 64u * 1024u);
  BOOST_TEST(Show(r.job.progress.progress) == Show(std::optional<double>(75.0)));
  // The same 100 KiB again is not shorter than what was seen, even though the
  // stored tail is only 64 KiB.
  const MergeResult again = Merge(r.job, WithLogs("processing", big), kNow + 2 * kSecond);
  BOOST_TEST(!again.stale);
  BOOST_TEST(!again.changed);
}

BOOST_AUTO_TEST_CASE(progress_is_derived_from_the_whole_text_not_the_tail) {
  // One 1 MiB line: the stored 64 KiB tail no longer starts with its counter.
  const std::string line = "Step 3/4 " + std::string(1024 * 1024, 'y') + "\n";
  const MergeResult r = Merge(MakeJob(JobStatus::kRunning), WithLogs("processing", line));
  BOOST_TEST(Show(r.job.progress.stage) == "\"Training\"");
  BOOST_TEST(Show(r.job.progress.progress) == Show(std::optional<double>(75.0)));
}

BOOST_AUTO_TEST_SUITE_END()

// SPEC §4: a run the provider no longer knows.
BOOST_AUTO_TEST_SUITE(state_machine_lost_jobs)

constexpr int64_t kMinute = 60 * kSecond;

BOOST_AUTO_TEST_CASE(a_single_404_only_counts) {
  const Job running = MakeJob(JobStatus::kRunning);
  const MergeResult r = Merge(running, NotFoundObservation(running));
  BOOST_TEST(Show(r.job.status) == "running");
  BOOST_TEST(r.job.not_found_count == 1);
  BOOST_TEST(Show(r.job.not_found_since) == std::to_string(kNow));
  BOOST_TEST(!r.status_changed);
  BOOST_TEST(!r.changed);
  BOOST_TEST(r.touched);
}

BOOST_AUTO_TEST_CASE(three_404s_within_ten_minutes_are_not_enough) {
  Job job = MakeJob(JobStatus::kRunning);
  for (int i = 0; i < 5; ++i) job = Merge(job, NotFoundObservation(job), kNow + i * kMinute).job;
  BOOST_TEST(job.not_found_count == 5);
  BOOST_TEST(Show(job.status) == "running");
  const MergeResult r = Merge(job, NotFoundObservation(job), kNow + 10 * kMinute - 1);
  BOOST_TEST(Show(r.job.status) == "running");
}

BOOST_AUTO_TEST_CASE(the_third_404_ten_minutes_after_the_first_fails_the_job) {
  Job job = MakeJob(JobStatus::kRunning);
  job.started_at = kNow - 30 * kMinute;
  job = Merge(job, NotFoundObservation(job), kNow).job;
  job = Merge(job, NotFoundObservation(job), kNow + 5 * kMinute).job;
  const MergeResult r = Merge(job, NotFoundObservation(job), kNow + 10 * kMinute);
  BOOST_TEST(Show(r.job.status) == "failed");
  BOOST_TEST(Show(r.job.error_message) == "\"not found at provider\"");
  BOOST_TEST(Show(r.job.completed_at) == std::to_string(kNow));
  BOOST_TEST(r.status_changed);
  BOOST_TEST(Show(r.previous_status) == "running");
  BOOST_TEST(r.changed);

  const MergeResult after = Merge(r.job, NotFoundObservation(r.job), kNow + 20 * kMinute);
  BOOST_TEST(!after.touched);
  BOOST_TEST(!after.status_changed);
}

BOOST_AUTO_TEST_CASE(a_successful_fetch_resets_the_count) {
  Job job = MakeJob(JobStatus::kRunning);
  job = Merge(job, NotFoundObservation(job), kNow).job;
  job = Merge(job, NotFoundObservation(job), kNow + 5 * kMinute).job;
  Observation seen = ProviderObs("processing");
  seen.fetched = true;
  job = Merge(job, seen, kNow + 6 * kMinute).job;
  BOOST_TEST(job.not_found_count == 0);
  BOOST_TEST(Show(job.not_found_since) == "null");
  job = Merge(job, NotFoundObservation(job), kNow + 11 * kMinute).job;
  const MergeResult r = Merge(job, NotFoundObservation(job), kNow + 12 * kMinute);
  BOOST_TEST(Show(r.job.status) == "running");
  BOOST_TEST(r.job.not_found_count == 2);
}

BOOST_AUTO_TEST_CASE(a_404_never_touches_a_terminal_job_or_creates_one) {
  const Job done = MakeJob(JobStatus::kCompleted);
  const MergeResult r = Merge(done, NotFoundObservation(done), kNow + 60 * kMinute);
  BOOST_TEST(!r.touched);
  BOOST_TEST((r.job == done));
  const MergeResult none = Merge(std::nullopt, NotFoundObservation(done));
  BOOST_TEST(!none.created);
  BOOST_TEST(!none.touched);
}

BOOST_AUTO_TEST_SUITE_END()

// SPEC §3: the provider's output, of any shape.
BOOST_AUTO_TEST_SUITE(state_machine_output)

BOOST_AUTO_TEST_CASE(output_follows_the_running_job_and_is_final_once_terminal) {
  Observation obs = ProviderObs("processing");
  obs.output = R"(["Hel"])";
  MergeResult r = Merge(MakeJob(JobStatus::kRunning), obs);
  BOOST_TEST(Show(r.job.output) == R"("["Hel"]")");
  obs = ProviderObs("succeeded");
  obs.output = R"(["Hel","lo"])";
  r = Merge(r.job, obs, kNow + kSecond);
  BOOST_TEST(Show(r.job.output) == R"("["Hel","lo"]")");
  BOOST_TEST(r.changed);
  obs.output = R"(["other"])";
  r = Merge(r.job, obs, kNow + 2 * kSecond);
  BOOST_TEST(Show(r.job.output) == R"("["Hel","lo"]")");
  BOOST_TEST(!r.changed);
}

BOOST_AUTO_TEST_CASE(a_truncated_output_replaces_a_smaller_one_and_is_flagged) {
  Observation obs = ProviderObs("processing");
  obs.output = R"("small")";
  MergeResult r = Merge(MakeJob(JobStatus::kRunning), obs);
  Observation big = ProviderObs("processing");
  big.output_truncated = true;
  r = Merge(r.job, big, kNow + kSecond);
  BOOST_TEST(Show(r.job.output) == "null");
  BOOST_TEST(r.job.output_truncated);
  BOOST_TEST(r.changed);
  // No output in an observation (a list item) keeps what is known.
  r = Merge(r.job, ProviderObs("processing"), kNow + 2 * kSecond);
  BOOST_TEST(r.job.output_truncated);
  BOOST_TEST(!r.changed);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
