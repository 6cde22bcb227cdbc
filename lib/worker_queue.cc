// The worker's queue loop (SPEC §12; lib/worker.h). A pass runs when
// something may have freed a slot or added an entry (a handler's poke, or a
// write of the worker's own: a webhook applied, a poll that saw a run end),
// when the interval is up (entries waiting for a retry time), and whenever a
// caller asked for one with POST /api/queue/process, even with the loop off.
// Before claiming anything it reads the queue's load, a cheap read, so the
// wake-ups of a webhook flood do not each take the write lock for nothing.
#include <algorithm>

#include "lib/log.h"
#include "lib/service_state.h"
#include "lib/timestamp.h"
#include "lib/worker.h"

namespace jobpulse {

int64_t Worker::QueueWakeIn(int64_t now) const {
  if (!queue_poked_) return kMicrosPerSecond;
  return std::max<int64_t>(0, last_queue_pass_at_ + kQueuePassGap - now);
}

void Worker::QueueStep(bool poked) {
  const int64_t now = Now();
  queue_poked_ |= poked;
  // Pokes come with every submission: passes at most every kQueuePassGap
  // gather a burst's entries into a few claims instead of one each.
  if (now - last_queue_pass_at_ < kQueuePassGap) return;
  poked = queue_poked_;
  // A caller's ticket arrives with a poke; it is read only then.
  const int64_t ticket = poked ? ReadQueuePassRequest(*store_) : served_queue_ticket_;
  const bool asked = ticket > served_queue_ticket_;
  const bool due = config_.queue_processing_enabled.value && (poked || now >= next_queue_pass_at_);
  queue_poked_ = false;
  if (asked || due) {
    last_queue_pass_at_ = now;
    next_queue_pass_at_ =
        now + int64_t{config_.queue_processing_interval_seconds.value} * kMicrosPerSecond;
    const int dispatched = QueuePass();
    if (asked) {
      served_queue_ticket_ = ticket;
      if (Status s = WriteQueuePassDone(*store_, {ticket, dispatched}, Now()); !s.ok()) {
        LogWarning("queue pass record: " + s.ToString());
      }
    }
    queue_announce_due_ = true;
  }
  if (poked) queue_announce_due_ = true;
  if (queue_announce_due_ && Now() - last_queue_announce_at_ >= kMicrosPerSecond) AnnounceQueue();
}

int Worker::QueuePass() {
  auto load = store_->ReadQueueLoad(Now());
  if (!load.ok()) {
    LogWarning("queue: " + load.status().ToString());
    return 0;
  }
  if (load->ready == 0 || load->running >= config_.queue_max_concurrent.value) return 0;
  const DispatchReport report = dispatcher_->Pass([this] { return !stop_.load(); });
  if (report.dispatched + report.failed + report.retrying + report.released > 0 && sse_) {
    sse_->Notify();
  }
  return report.dispatched;
}

// SPEC §12: a queue_changed event when the depth or the running count
// changed, at most one a second (QueueStep waits out the second).
void Worker::AnnounceQueue() {
  queue_announce_due_ = false;
  const int64_t now = Now();
  auto load = store_->ReadQueueLoad(now);
  if (!load.ok()) {
    LogWarning("queue: " + load.status().ToString());
    return;
  }
  if (load->waiting == announced_load_.waiting && load->running == announced_load_.running) return;
  auto id = store_->AppendEvent("", EventType::kQueueChanged,
                                QueueChangedData(load->waiting, load->running, now), now);
  if (!id.ok()) {
    LogWarning("queue_changed event: " + id.status().ToString());
    queue_announce_due_ = true;
    return;
  }
  announced_load_ = *load;
  last_queue_announce_at_ = now;
  if (sse_) sse_->Notify();
}

}  // namespace jobpulse
