// The queue's SQL both engines share (lib/sqlite_queue.cc, lib/pg_queue.cc):
// the statements' common pieces, which read the same in SQLite's and
// PostgreSQL's dialects. Only the engines' sources include it.
#ifndef JOBPULSE_LIB_QUEUE_SQL_H_
#define JOBPULSE_LIB_QUEUE_SQL_H_

#include <cstdint>

#include "lib/timestamp.h"

namespace jobpulse::queue_sql {

constexpr int64_t kDayMicros = 24 * 3600 * kMicrosPerSecond;
// How long an Idempotency-Key gives the same job again (SPEC §12).
constexpr int64_t kIdempotencyMicros = kDayMicros;

// The entry columns in each engine's ReadEntry order, over `queue q`,
// `jobs j` and the waiting ranks `r`.
constexpr const char* kEntryColumns =
    "q.job_id, q.user_id, q.provider, j.config_name, q.priority, q.status, r.position, "
    "q.queued_at, q.dispatched_at, q.attempts, q.error_message, q.sent_at";

// The waiting entries' positions, as a CTE named `ranked`.
constexpr const char* kRanked =
    "WITH ranked AS (SELECT job_id, row_number() OVER (ORDER BY priority DESC, queued_at, "
    "job_id) AS position FROM queue WHERE status = 'waiting') ";

}  // namespace jobpulse::queue_sql

#endif  // JOBPULSE_LIB_QUEUE_SQL_H_
