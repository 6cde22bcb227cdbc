// The query string of GET /api/cloud/jobs (SPEC §9) as a store filter: the
// parameters it knows are checked (400 naming the parameter), unknown ones
// (a browser's cache buster) are ignored. Pure; thread-safe.
#ifndef JOBPULSE_LIB_JOB_QUERY_H_
#define JOBPULSE_LIB_JOB_QUERY_H_

#include <string_view>

#include "lib/status.h"
#include "lib/store.h"

namespace jobpulse {

struct JobListQuery {
  JobFilter filter;
  bool sync_active = false;  // refresh the active jobs first (SPEC §6)
};

// Parses `status` (a comma list of local statuses, spaces around names
// ignored), `provider`, `job_type` (cloud or local), `q` (1..100 characters
// of text without control characters: the search), `limit` (1..500),
// `offset` (>= 0) and `sync_active` (a boolean, lib/http.h ParseBool); empty
// values of status, provider, job_type and q mean "any".
// Errors: kInvalidArgument "invalid_parameter" (details: parameter, value).
Result<JobListQuery> ParseJobListQuery(std::string_view raw_query);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_JOB_QUERY_H_
