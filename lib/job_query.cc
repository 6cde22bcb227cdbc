#include "lib/job_query.h"

#include <string>

#include "lib/http.h"
#include "lib/job.h"
#include "lib/progress.h"

namespace jobpulse {
namespace {

// Far beyond any table, small enough that offset arithmetic cannot overflow.
constexpr int64_t kMaxOffset = 1000000000000;

// "running, failed" -> {running, failed}; false when a name is not a status.
// Repeats dropped, so `status=running,running,...` binds each status once.
bool ParseStatusList(const std::string& text, std::vector<JobStatus>* out) {
  for (const std::string_view name : SplitCommaList(text)) {
    const auto parsed = ParseJobStatus(name);
    if (!parsed) return false;
    out->push_back(*parsed);
  }
  return true;
}

}  // namespace

namespace {

// SPEC §9: 1..100 characters (code points) of valid UTF-8 without control
// characters; the length is what the page's search box can send.
bool IsSearchText(std::string_view q) {
  if (SanitizeUtf8(q) != q) return false;
  size_t code_points = 0;
  for (const char c : q) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
    if ((byte & 0xC0) != 0x80) ++code_points;
  }
  return code_points >= 1 && code_points <= 100;
}

}  // namespace

Result<JobListQuery> ParseJobListQuery(std::string_view raw_query) {
  const QueryParams query(raw_query);
  JobListQuery out;
  JobFilter& filter = out.filter;
  if (const auto status = query.Get("status"); status && !status->empty()) {
    if (!ParseStatusList(*status, &filter.statuses)) {
      return InvalidParameter("status", *status,
                              "expected a comma-separated list of pending, uploading, queued, "
                              "running, completed, failed, cancelled");
    }
  }
  if (const auto provider = query.Get("provider"); provider && !provider->empty()) {
    filter.provider = *provider;
  }
  if (const auto job_type = query.Get("job_type"); job_type && !job_type->empty()) {
    if (*job_type != "cloud" && *job_type != "local") {
      return InvalidParameter("job_type", *job_type, "expected cloud or local");
    }
    filter.job_type = *job_type;
  }
  if (const auto q = query.Get("q"); q && !q->empty()) {
    if (!IsSearchText(*q)) {
      return InvalidParameter("q", *q, "expected 1 to 100 characters of text");
    }
    filter.query = *q;
  }
  if (const auto limit = query.Get("limit")) {
    const auto parsed = ParseInt(*limit, 1, 500);
    if (!parsed) return InvalidParameter("limit", *limit, "expected an integer from 1 to 500");
    filter.limit = static_cast<int>(*parsed);
  }
  if (const auto offset = query.Get("offset")) {
    const auto parsed = ParseInt(*offset, 0, kMaxOffset);
    if (!parsed) return InvalidParameter("offset", *offset, "expected an integer >= 0");
    filter.offset = *parsed;
  }
  if (const auto value = query.Get("sync_active")) {
    const auto parsed = ParseBool(*value);
    if (!parsed) {
      return InvalidParameter("sync_active", *value, "expected true/false/1/0/yes/no/on/off");
    }
    out.sync_active = *parsed;
  }
  return out;
}

}  // namespace jobpulse
