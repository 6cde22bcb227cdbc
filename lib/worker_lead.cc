// The worker among others (issue 12): on PostgreSQL several machines each
// run a worker against one database. Exactly one leads at a time and does
// what must happen once: the poll cycle, the safety net, demand refreshes, the
// queue loop (with the recovery of dispatches a dead leader left) and the
// housekeeping. Every worker applies the webhook inbox (its claims skip rows
// another holds) and serves events to its machine's clients. Leadership is
// Store::TryLead's, asked once per loop: a follower takes over within a loop
// (at most a second) of the server freeing the lock, which it does when the
// leader's connection closes, so a kill -9 hands over at once; the new
// leader polls at once rather than an interval later.
//
// Wake-ups: on PostgreSQL the handlers of every machine write rows whose
// triggers notify the work channel; the loop polls the feed's socket beside
// the local poke socket. On SQLite there is no feed (one machine: the pokes).
#include <poll.h>

#include "lib/log.h"
#include "lib/timestamp.h"
#include "lib/worker.h"

namespace jobpulse {

bool Worker::Lead() {
  auto leads = store_->TryLead();
  if (!leads.ok()) LogWarning("leadership: " + leads.status().ToString());
  const bool now_leading = leads.ok() && *leads;
  if (now_leading == leading_) return leading_;
  leading_ = now_leading;
  if (!leading_) {
    LogWarning("leadership lost: another worker polls and runs the queue now");
    return false;
  }
  if (std::string(store_->engine()) != "sqlite") {
    LogInfo("leading: this worker polls, runs the safety net and the queue loop");
  }
  const int64_t now = Now();
  next_poll_at_ = now;
  next_safety_net_at_ = now;
  next_housekeeping_at_ = now;
  queue_poked_ = true;
  const DispatchReport recovered = dispatcher_->RecoverInterrupted();
  if (recovered.dispatched + recovered.failed + recovered.released > 0) {
    LogInfo("queue recovery: " + std::to_string(recovered.dispatched) + " dispatched, " +
            std::to_string(recovered.released) + " back to waiting, " +
            std::to_string(recovered.failed) + " failed");
  }
  return true;
}

bool Worker::DrainWorkFeed() {
  if (!work_feed_) {
    const int64_t now = Now();
    if (now < work_feed_retry_at_) return false;
    work_feed_retry_at_ = now + kMicrosPerSecond;
    auto feed = store_->Listen(WakeChannel::kWork);
    if (!feed.ok()) {
      LogWarning("work wake-ups: " + feed.status().ToString());
      return false;
    }
    work_feed_ = std::move(*feed);
    // Whatever was written while there was no feed went unannounced.
    return work_feed_ != nullptr;
  }
  auto arrived = work_feed_->Drain();
  if (arrived.ok()) return *arrived;
  LogWarning("work wake-ups: " + arrived.status().ToString());
  work_feed_.reset();
  return true;  // look once: changes may have gone unannounced
}

int Worker::WorkFeedFd() const { return work_feed_ ? work_feed_->fd() : -1; }

}  // namespace jobpulse
