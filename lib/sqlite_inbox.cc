// The webhook inbox in SQLite, and its apply: the merge and the "applied"
// mark in one transaction, so a crash applies a delivery fully or not at all.
#include "lib/sqlite_store.h"

namespace jobpulse {

Result<bool> SqliteStore::InsertDelivery(std::string_view webhook_id, std::string_view provider,
                                         std::string_view body, int64_t now) {
  Query q = db_->Prepare(
      "INSERT INTO webhook_inbox (webhook_id, provider, body, received_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT(webhook_id) DO NOTHING");
  if (!q.ok()) return q.status();
  q->Bind(1, webhook_id);
  q->Bind(2, provider);
  q->Bind(3, body);
  q->Bind(4, now);
  if (Status s = q->Run("store webhook delivery"); !s.ok()) return s;
  return db_->Changes() == 1;
}

Result<std::vector<bool>> SqliteStore::InsertDeliveries(const std::vector<NewDelivery>& batch) {
  // One transaction: one lock, one commit and the inbox pages written once
  // for the whole batch.
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  std::vector<bool> inserted;
  inserted.reserve(batch.size());
  for (const NewDelivery& d : batch) {
    auto one = InsertDelivery(d.webhook_id, d.provider, d.body, d.received_at);
    if (!one.ok()) return one.status();
    inserted.push_back(*one);
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return inserted;
}

Result<std::vector<WebhookInbox::Delivery>> SqliteStore::PendingDeliveries(int limit) {
  Query q = db_->Prepare(
      "SELECT webhook_id, provider, body, received_at, attempts FROM webhook_inbox "
      "WHERE applied_at IS NULL AND rejected_at IS NULL ORDER BY received_at, webhook_id LIMIT ?1");
  if (!q.ok()) return q.status();
  q->Bind(1, limit);
  std::vector<Delivery> out;
  for (;;) {
    auto row = q->Step("read webhook inbox");
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back({q->Text(0), q->Text(1), q->Text(2), q->Int(3), static_cast<int>(q->Int(4))});
  }
  return out;
}

Status SqliteStore::MarkDeliveryApplied(std::string_view webhook_id, int64_t now) {
  Query q = db_->Prepare(
      "UPDATE webhook_inbox SET applied_at = ?2, last_error = NULL WHERE webhook_id = ?1");
  if (!q.ok()) return q.status();
  q->Bind(1, webhook_id);
  q->Bind(2, now);
  return q->Run("mark delivery applied");
}

Result<ApplyOutcome> SqliteStore::ApplyOneDelivery(std::string_view webhook_id,
                                                   const Observation& obs, const PriceTable& prices,
                                                   int64_t now) {
  // Another worker (a second process on this file) may have applied it
  // since both read it pending: the write lock makes this check final.
  Query pending =
      db_->Prepare("SELECT 1 FROM webhook_inbox WHERE webhook_id = ?1 AND applied_at IS NULL");
  if (!pending.ok()) return pending.status();
  pending->Bind(1, webhook_id);
  auto row = pending->Step("check delivery pending");
  if (!row.ok()) return row.status();
  pending->Reset();
  if (!*row) return DeliveryLeftAlone(*this, obs);
  auto outcome = ApplyInTransaction(obs, prices, now, /*create_if_missing=*/true);
  if (!outcome.ok()) return outcome;
  if (Status s = MarkDeliveryApplied(webhook_id, now); !s.ok()) return s;
  return outcome;
}

Result<ApplyOutcome> SqliteStore::ApplyDelivery(std::string_view webhook_id, const Observation& obs,
                                                const PriceTable& prices, int64_t now) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  auto outcome = ApplyOneDelivery(webhook_id, obs, prices, now);
  if (!outcome.ok()) return outcome;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return outcome;
}

Result<std::vector<ApplyOutcome>> SqliteStore::ApplyDeliveries(
    const std::vector<PendingApply>& batch, const PriceTable& prices, int64_t now) {
  // One transaction for the batch: under a burst of deliveries the worker
  // takes the write lock once instead of once per delivery.
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  std::vector<ApplyOutcome> outcomes;
  outcomes.reserve(batch.size());
  for (const PendingApply& item : batch) {
    auto outcome = ApplyOneDelivery(item.webhook_id, item.observation, prices, now);
    if (!outcome.ok()) return outcome.status();
    outcomes.push_back(std::move(*outcome));
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return outcomes;
}

Status SqliteStore::RecordDeliveryFailure(std::string_view webhook_id, std::string_view error,
                                          int max_attempts, int64_t now) {
  Query q = db_->Prepare(
      "UPDATE webhook_inbox SET attempts = attempts + 1, last_error = ?2, "
      "rejected_at = CASE WHEN attempts + 1 >= ?3 THEN ?4 ELSE NULL END WHERE webhook_id = ?1");
  if (!q.ok()) return q.status();
  q->Bind(1, webhook_id);
  q->Bind(2, error);
  q->Bind(3, max_attempts);
  q->Bind(4, now);
  return q->Run("record delivery failure");
}

Result<WebhookInbox::InboxCounts> SqliteStore::CountDeliveries() {
  Query q = db_->Prepare(
      "SELECT count(*) FILTER (WHERE applied_at IS NULL AND rejected_at IS NULL), "
      "count(applied_at), count(rejected_at) FROM webhook_inbox");
  if (!q.ok()) return q.status();
  auto row = q->Step("count webhook inbox");
  if (!row.ok()) return row.status();
  if (!*row) return InboxCounts{};
  return InboxCounts{q->Int(0), q->Int(1), q->Int(2)};
}

Result<WebhookInbox::PendingSummary> SqliteStore::SummarizePending() {
  // The partial index webhook_inbox_pending holds exactly these rows.
  Query q = db_->Prepare(
      "SELECT count(*), coalesce(min(received_at), 0) FROM webhook_inbox "
      "WHERE applied_at IS NULL AND rejected_at IS NULL");
  if (!q.ok()) return q.status();
  auto row = q->Step("summarize pending deliveries");
  if (!row.ok()) return row.status();
  if (!*row) return PendingSummary{};
  return PendingSummary{q->Int(0), q->Int(1)};
}

Result<int64_t> SqliteStore::PruneDeliveries(int64_t bodies_before, int64_t rows_before) {
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  int64_t pruned = 0;
  {
    Query bodies =
        db_->Prepare("UPDATE webhook_inbox SET body = '' WHERE applied_at < ?1 AND body != ''");
    if (!bodies.ok()) return bodies.status();
    bodies->Bind(1, bodies_before);
    if (Status s = bodies->Run("prune webhook inbox"); !s.ok()) return s;
    pruned += db_->Changes();
  }
  {
    Query rows =
        db_->Prepare("DELETE FROM webhook_inbox WHERE applied_at < ?1 OR rejected_at < ?1");
    if (!rows.ok()) return rows.status();
    rows->Bind(1, rows_before);
    if (Status s = rows->Run("prune webhook inbox"); !s.ok()) return s;
    pruned += db_->Changes();
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  // Outside the transaction: a no-op on files without incremental auto_vacuum.
  // Also when nothing was pruned now but free pages are left over (an earlier
  // vacuum that failed), so the file shrinks without waiting for a delivery.
  auto free_pages =
      pruned > 0 ? Result<int64_t>(1) : db_->QueryInt("PRAGMA freelist_count", "free pages");
  if (!free_pages.ok()) return free_pages.status();
  if (*free_pages > 0) {
    if (Status s = db_->Exec("PRAGMA incremental_vacuum"); !s.ok()) return s;
  }
  return pruned;
}

}  // namespace jobpulse
