// TEMPORARY (being written): the queue on PostgreSQL.
#include "lib/pg_store.h"

namespace jobpulse {
namespace {
Status NotYet() { return Status::Internal("the queue on PostgreSQL is not written yet"); }
}  // namespace

Result<SubmitOutcome> PgStore::Submit(const Submission&, const PriceTable&, int64_t) { return NotYet(); }
Result<std::optional<QueueEntry>> PgStore::GetQueueEntry(std::string_view) { return NotYet(); }
Result<QueuePage> PgStore::ListQueue(const QueueFilter&) { return NotYet(); }
Result<QueueCounts> PgStore::CountQueue(int64_t) { return NotYet(); }
Result<QueueLoad> PgStore::ReadQueueLoad(int64_t) { return NotYet(); }
Result<QueueEntry> PgStore::SetQueuePriority(std::string_view, int) { return NotYet(); }
Result<ApplyOutcome> PgStore::CancelWaiting(std::string_view, const PriceTable&, int64_t) { return NotYet(); }
Result<double> PgStore::SpentSince(int64_t, const PriceTable&, int64_t) { return NotYet(); }
Result<std::vector<DispatchClaim>> PgStore::ClaimNextEntries(int, int, int64_t, int) { return NotYet(); }
Result<std::vector<std::string>> PgStore::MarkSent(const std::vector<std::string>&, int64_t) { return NotYet(); }
Status PgStore::RetryDispatchLater(std::string_view, std::string_view, int64_t) { return NotYet(); }
Status PgStore::ReleaseClaim(std::string_view, std::string_view, int64_t) { return NotYet(); }
Result<ApplyOutcome> PgStore::FailDispatch(std::string_view, std::string_view, const PriceTable&, int64_t) { return NotYet(); }
Result<std::vector<DispatchClaim>> PgStore::DispatchingEntries() { return NotYet(); }
std::vector<Result<ApplyOutcome>> PgStore::MarkDispatchedAll(const std::vector<Observation>& runs, const PriceTable&, int64_t) { return std::vector<Result<ApplyOutcome>>(runs.size(), NotYet()); }
}  // namespace jobpulse
