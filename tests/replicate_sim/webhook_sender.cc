#include "tests/replicate_sim/webhook_sender.h"

#include <algorithm>
#include <ctime>
#include <utility>

#include "lib/webhook_signature.h"
#include "tests/replicate_sim/state.h"

namespace replicate_sim {
namespace {

// A coalesced delivery is named after the most telling event it covers.
int Rank(const std::string& event) {
  if (event == "start") return 3;
  if (event == "output") return 2;
  if (event == "logs") return 1;
  return 0;
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

WebhookSender::~WebhookSender() {
  if (!Stop(static_cast<int>(2 * kTimeoutMs))) {
    // Only reachable when a worker is stuck past every timeout; main leaves
    // with _Exit before getting here in that case.
    for (std::thread& t : threads_) t.detach();
  }
}

void WebhookSender::Start(int threads) {
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = false;
  cancel_ = false;
  for (int i = 0; i < threads; ++i) {
    ++running_;
    threads_.emplace_back([this] { Work(); });
  }
}

bool WebhookSender::Stop(int grace_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  if (threads_.empty()) return true;
  stop_ = true;
  cancel_ = true;
  cv_.notify_all();
  if (!done_.wait_for(lock, std::chrono::milliseconds(grace_ms),
                      [this] { return running_ == 0; })) {
    return false;
  }
  std::vector<std::thread> threads = std::move(threads_);
  threads_.clear();
  lock.unlock();
  for (std::thread& t : threads) t.join();
  return true;
}

void WebhookSender::Enqueue(const std::string& run_id, const std::string& url,
                            const std::string& secret, const std::vector<std::string>& events,
                            std::string payload) {
  if (events.empty()) return;
  const bool loopback = IsLoopbackUrl(url);
  std::lock_guard<std::mutex> lock(mu_);
  if (!loopback) {
    ++stats_.dropped;
    return;
  }
  RunQueue& q = queues_[run_id];
  Item item{run_id, "", url, secret, std::move(payload), RandomWebhookId(), 1, Clock::now()};
  if (Contains(events, "completed")) {
    // The final object supersedes whatever was still waiting.
    item.event = "completed";
    q.pending.reset();
    q.terminal = std::move(item);
  } else {
    item.event = q.pending ? q.pending->event : events.front();
    for (const std::string& e : events) {
      if (Rank(e) > Rank(item.event)) item.event = e;
    }
    q.pending = std::move(item);
  }
  cv_.notify_one();
}

bool WebhookSender::TakeDue(Item* item, Clock::time_point* wake) {
  const auto now = Clock::now();
  const auto throttle = std::chrono::milliseconds(kThrottleMs);
  for (auto it = queues_.begin(); it != queues_.end();) {
    RunQueue& q = it->second;
    if (!q.in_flight && !q.pending && !q.terminal && now - q.last_sent >= throttle) {
      it = queues_.erase(it);  // nothing left to remember, not even a throttle
      continue;
    }
    // A waiting terminal delivery goes before a later non-terminal one, so
    // the run's deliveries stay in order.
    if (!q.in_flight && q.terminal) {
      if (q.terminal->due <= now) {
        *item = std::move(*q.terminal);
        q.terminal.reset();
        q.in_flight = true;
        return true;
      }
      *wake = std::min(*wake, q.terminal->due);
    } else if (!q.in_flight && q.pending) {
      const auto due = q.last_sent + throttle;
      if (due <= now) {
        *item = std::move(*q.pending);
        q.pending.reset();
        q.in_flight = true;
        q.last_sent = now;
        return true;
      }
      *wake = std::min(*wake, due);
    }
    ++it;
  }
  return false;
}

void WebhookSender::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    Item item;
    auto wake = Clock::now() + std::chrono::seconds(1);
    if (!TakeDue(&item, &wake)) {
      cv_.wait_until(lock, wake);
      continue;
    }
    const uint64_t generation = generation_;
    lock.unlock();
    const DeliveryResult result = Deliver(item);
    lock.lock();
    Finish(std::move(item), result, generation);
  }
  --running_;
  done_.notify_all();
}

DeliveryResult WebhookSender::Deliver(const Item& item) {
  const std::optional<std::string> key = jobpulse::DecodeWebhookSecret(item.secret);
  if (!key) return DeliveryResult{0, "", "the webhook secret does not decode"};
  // A fresh timestamp per attempt, as a retry is a new request; the id stays.
  const std::string ts = std::to_string(static_cast<int64_t>(std::time(nullptr)));
  const std::string signature = jobpulse::SignWebhook(*key, item.webhook_id, ts, item.payload);
  return PostJson(item.url,
                  {"Content-Type: application/json", "webhook-id: " + item.webhook_id,
                   "webhook-timestamp: " + ts, "webhook-signature: " + signature},
                  item.payload, kTimeoutMs, &cancel_);
}

void WebhookSender::Finish(Item item, const DeliveryResult& result, uint64_t generation) {
  if (generation != generation_) return;  // reset meanwhile: queues_ no longer knows it
  RunQueue& q = queues_[item.run_id];
  q.in_flight = false;
  const bool ok = result.status >= 200 && result.status < 300;
  ++(ok ? stats_.sent : stats_.failed);
  if (item.attempt > 1) ++stats_.retried;
  log_.push_back(DeliveryRecord{item.run_id, item.event, result.status, item.attempt,
                                item.webhook_id, result.error});
  while (log_.size() > kLogSize) log_.pop_front();
  // Only the terminal delivery is retried, and not when a newer one replaced it.
  if (!ok && item.event == "completed" && item.attempt < kMaxAttempts && !q.terminal && !stop_) {
    item.due = Clock::now() + std::chrono::milliseconds(kFirstRetryMs << (item.attempt - 1));
    ++item.attempt;
    q.terminal = std::move(item);
  }
  cv_.notify_all();  // this run's next delivery may be due already
}

WebhookStats WebhookSender::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::vector<DeliveryRecord> WebhookSender::log() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::vector<DeliveryRecord>(log_.begin(), log_.end());
}

void WebhookSender::ClearLog() {
  std::lock_guard<std::mutex> lock(mu_);
  log_.clear();
}

void WebhookSender::ResetStats() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = WebhookStats{};
}

void WebhookSender::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  queues_.clear();
  log_.clear();
  stats_ = WebhookStats{};
  ++generation_;
}

RunDigest Digest(const Run& run) {
  RunDigest d;
  d.status = run.status;
  d.logs_size = run.logs.size();
  // Outputs can be large; only a run that sends webhooks needs the copy.
  if (run.webhook) d.output_json = run.output_json;
  return d;
}

void NotifyChange(SimState& state, const RunDigest& before, const Run& run) {
  if (!run.webhook) return;
  const bool status_changed = run.status != before.status;
  std::vector<std::string> events;
  const auto add = [&](const char* event) {
    if (!run.webhook_events_filter || Contains(*run.webhook_events_filter, event)) {
      events.emplace_back(event);
    }
  };
  if (status_changed && run.status == "processing") add("start");
  if (run.output_json != before.output_json) add("output");
  if (run.logs.size() != before.logs_size) add("logs");
  if (status_changed && IsTerminal(run.status)) add("completed");
  if (events.empty()) return;
  // The payload is the object as GET would show it now, precision cycle included.
  state.webhooks.Enqueue(run.id, *run.webhook, state.config.webhook_secret, events,
                         RunJson(run, {state.base_url, NextTimestampDigits(), true}));
}

}  // namespace replicate_sim
