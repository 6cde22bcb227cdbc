#include "lib/counters.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <utility>

#include "lib/log.h"

namespace jobpulse {

std::string Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out.push_back(',');
    out.append(name).append("=\"");
    for (const char c : value) {
      if (c == '\\') {
        out.append("\\\\");
      } else if (c == '"') {
        out.append("\\\"");
      } else if (c == '\n') {
        out.append("\\n");
      } else {
        out.push_back(c);
      }
    }
    out.push_back('"');
  }
  return out;
}

std::string FormatBound(double bound) {
  if (std::isinf(bound)) return bound > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.15g", bound);
  return buf;
}

void Counters::Add(std::string_view name, std::string_view labels, double delta) {
  if (!(delta > 0)) return;  // also NaN: a counter never goes down
  std::lock_guard lock(mu_);
  pending_[{std::string(name), std::string(labels)}] += delta;
}

void Counters::Observe(std::string_view histogram, std::span<const double> bounds, double value) {
  if (std::isnan(value)) return;
  const std::string name(histogram);
  std::lock_guard lock(mu_);
  // Cumulative buckets: an observation counts in every bucket at or above it.
  for (const double bound : bounds) {
    if (value <= bound) pending_[{name + "_bucket", Labels({{"le", FormatBound(bound)}})}] += 1;
  }
  pending_[{name + "_bucket", Labels({{"le", "+Inf"}})}] += 1;
  pending_[{name + "_sum", ""}] += value;
  pending_[{name + "_count", ""}] += 1;
}

std::vector<CounterValue> Counters::Take() {
  std::lock_guard lock(mu_);
  std::vector<CounterValue> out;
  out.reserve(pending_.size());
  for (auto& [key, value] : pending_) out.push_back({key.first, key.second, value});
  pending_.clear();
  return out;
}

void Counters::Restore(const std::vector<CounterValue>& deltas) {
  std::lock_guard lock(mu_);
  for (const CounterValue& d : deltas) pending_[{d.name, d.labels}] += d.value;
}

bool Counters::empty() const {
  std::lock_guard lock(mu_);
  return pending_.empty();
}

Counters& ProcessCounters() {
  static Counters* counters = new Counters;  // never destroyed: counted into until exit
  return *counters;
}

Status FlushCounters(Counters& counters, CounterStore& store, int64_t now) {
  std::vector<CounterValue> deltas = counters.Take();
  if (deltas.empty()) return Status::Ok();
  Status s = store.AddCounters(deltas, now);
  if (!s.ok()) counters.Restore(deltas);
  return s;
}

CounterFlushThread::CounterFlushThread(Opener open, Clock clock)
    : open_(std::move(open)), clock_(std::move(clock)), thread_([this] { Run(); }) {}

CounterFlushThread::~CounterFlushThread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  FlushOnce();
}

void CounterFlushThread::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    FlushOnce();
    lock.lock();
  }
}

void CounterFlushThread::FlushOnce() {
  if (ProcessCounters().empty()) return;
  if (!store_) {
    auto opened = open_();
    if (!opened.ok()) {
      LogWarning("metrics: " + opened.status().ToString());
      return;
    }
    store_ = std::move(*opened);
  }
  // Busy: the counts stay pending for the next second.
  if (Status s = FlushCounters(ProcessCounters(), *store_, clock_());
      !s.ok() && s.code() != Status::Code::kBusy) {
    LogWarning("metrics: " + s.ToString());
  }
}

}  // namespace jobpulse
