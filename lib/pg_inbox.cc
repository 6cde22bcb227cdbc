// The webhook inbox in PostgreSQL, and its apply: the merge and the
// "applied" mark in one transaction, so a crash applies a delivery fully or
// not at all. The statements mirror lib/sqlite_inbox.cc; the apply also
// locks the delivery's row first, since workers of several machines may
// apply the same pending deliveries side by side.
#include "lib/pg_store.h"

namespace jobpulse {

Result<bool> PgStore::InsertDelivery(std::string_view webhook_id, std::string_view provider,
                                     std::string_view body, int64_t now) {
  auto inserted = db_->Query(
      "INSERT INTO webhook_inbox (webhook_id, provider, body, received_at) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (webhook_id) DO NOTHING",
      {std::string(webhook_id), std::string(provider), std::string(body), std::to_string(now)},
      "store webhook delivery");
  if (!inserted.ok()) return inserted.status();
  return inserted->affected() == 1;
}

Result<std::vector<bool>> PgStore::InsertDeliveries(const std::vector<NewDelivery>& batch) {
  PgConnection::Transaction txn(*db_);
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

Result<std::vector<WebhookInbox::Delivery>> PgStore::PendingDeliveries(int limit) {
  auto rows = db_->Query(
      "SELECT webhook_id, provider, body, received_at, attempts FROM webhook_inbox "
      "WHERE applied_at IS NULL AND rejected_at IS NULL ORDER BY received_at, webhook_id LIMIT $1",
      {std::to_string(limit)}, "read webhook inbox");
  if (!rows.ok()) return rows.status();
  std::vector<Delivery> out;
  out.reserve(static_cast<size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back({rows->Text(i, 0), rows->Text(i, 1), rows->Text(i, 2), rows->Int(i, 3),
                   static_cast<int>(rows->Int(i, 4))});
  }
  return out;
}

Status PgStore::MarkDeliveryApplied(std::string_view webhook_id, int64_t now) {
  return db_
      ->Query("UPDATE webhook_inbox SET applied_at = $2, last_error = NULL WHERE webhook_id = $1",
              {std::string(webhook_id), std::to_string(now)}, "mark delivery applied")
      .status();
}

Result<bool> PgStore::LockPendingDelivery(std::string_view webhook_id) {
  // SKIP LOCKED: a row another worker holds is being applied there; waiting
  // for it would only find it applied.
  auto locked = db_->Query(
      "SELECT 1 FROM webhook_inbox WHERE webhook_id = $1 AND applied_at IS NULL "
      "FOR UPDATE SKIP LOCKED",
      {std::string(webhook_id)}, "lock webhook delivery");
  if (!locked.ok()) return locked.status();
  return locked->size() == 1;
}

Result<ApplyOutcome> PgStore::ApplyOneDelivery(std::string_view webhook_id, const Observation& obs,
                                               const PriceTable& prices, int64_t now) {
  auto mine = LockPendingDelivery(webhook_id);
  if (!mine.ok()) return mine.status();
  if (!*mine) return DeliveryLeftAlone(*this, obs);
  auto outcome = ApplyInTransaction(obs, prices, now, /*create_if_missing=*/true);
  if (!outcome.ok()) return outcome;
  if (Status s = MarkDeliveryApplied(webhook_id, now); !s.ok()) return s;
  return outcome;
}

Result<ApplyOutcome> PgStore::ApplyDelivery(std::string_view webhook_id, const Observation& obs,
                                            const PriceTable& prices, int64_t now) {
  for (int attempt = 0;; ++attempt) {
    PgConnection::Transaction txn(*db_);
    if (!txn.status().ok()) return txn.status();
    auto outcome = ApplyOneDelivery(webhook_id, obs, prices, now);
    if (outcome.ok()) {
      if (Status s = txn.Commit(); !s.ok()) return s;
      return outcome;
    }
    if (attempt == 4 || !LostARace(outcome.status())) return outcome;
  }
}

Result<std::vector<ApplyOutcome>> PgStore::ApplyDeliveries(const std::vector<PendingApply>& batch,
                                                           const PriceTable& prices, int64_t now) {
  // One transaction for the batch, as SQLite's; a lost race fails it whole
  // and the caller applies the deliveries one by one (ApplyDelivery retries).
  // Two workers on the same batch split it: each applies the rows it locked
  // first and leaves the other's alone.
  PgConnection::Transaction txn(*db_);
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

Status PgStore::RecordDeliveryFailure(std::string_view webhook_id, std::string_view error,
                                      int max_attempts, int64_t now) {
  return db_
      ->Query(
          "UPDATE webhook_inbox SET attempts = attempts + 1, last_error = $2, "
          "rejected_at = CASE WHEN attempts + 1 >= $3 THEN $4::bigint ELSE NULL END "
          "WHERE webhook_id = $1",
          {std::string(webhook_id), std::string(error), std::to_string(max_attempts),
           std::to_string(now)},
          "record delivery failure")
      .status();
}

Result<WebhookInbox::InboxCounts> PgStore::CountDeliveries() {
  auto rows = db_->Query(
      "SELECT count(*) FILTER (WHERE applied_at IS NULL AND rejected_at IS NULL), "
      "count(applied_at), count(rejected_at) FROM webhook_inbox",
      {}, "count webhook inbox");
  if (!rows.ok()) return rows.status();
  return InboxCounts{rows->Int(0, 0), rows->Int(0, 1), rows->Int(0, 2)};
}

Result<WebhookInbox::PendingSummary> PgStore::SummarizePending() {
  auto rows = db_->Query(
      "SELECT count(*), coalesce(min(received_at), 0) FROM webhook_inbox "
      "WHERE applied_at IS NULL AND rejected_at IS NULL",
      {}, "summarize pending deliveries");
  if (!rows.ok()) return rows.status();
  return PendingSummary{rows->Int(0, 0), rows->Int(0, 1)};
}

Result<int64_t> PgStore::PruneDeliveries(int64_t bodies_before, int64_t rows_before) {
  PgConnection::Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  auto bodies =
      db_->Query("UPDATE webhook_inbox SET body = '' WHERE applied_at < $1 AND body <> ''",
                 {std::to_string(bodies_before)}, "prune webhook inbox");
  if (!bodies.ok()) return bodies.status();
  auto rows = db_->Query("DELETE FROM webhook_inbox WHERE applied_at < $1 OR rejected_at < $1",
                         {std::to_string(rows_before)}, "prune webhook inbox");
  if (!rows.ok()) return rows.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  return bodies->affected() + rows->affected();
}

}  // namespace jobpulse
