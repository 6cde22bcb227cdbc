// SPEC §9 `q`: a case-insensitive substring of the job id, the external id,
// the config name or the model. Matching is SQLite's LIKE (ASCII letters fold;
// other text must match exactly) over job_search_rows.text, the four fields
// joined by newlines (sqlite_schema.cc, v6); every answer is decided by that
// test, so the two ways of finding candidates below always agree.
//
// Which rows are read depends on how many jobs the text matches:
//  - Selective, three characters or more: the trigram index (job_search)
//    names the candidates, and only they are read and sorted. A probe that
//    stops at kStepped + 1 index rows decides this, in about a millisecond.
//  - Otherwise (a word in most jobs, one or two characters): job_search_rows
//    is read in list order. The page is taken on the way; the first kStepped
//    matches are counted row by row and the rest with one count(*) from where
//    the walk stopped, so the table is read at most once.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/sqlite_store.h"

namespace jobpulse {

namespace {

// Matches counted row by row; also the most candidates the index path takes.
constexpr int kStepped = 1000;

// Three characters (code points) or more have trigrams to look up.
bool HasTrigrams(std::string_view text) {
  size_t code_points = 0;
  for (const char c : text) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return code_points >= 3;
}

// An FTS5 phrase: the text in double quotes, its own quotes doubled, so no
// character of it is query syntax.
std::string FtsPhrase(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// A LIKE pattern for "contains text", its wildcards escaped with '\'.
std::string ContainsPattern(std::string_view text) {
  std::string out = "%";
  for (const char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

}  // namespace

Result<SqliteSearchResult> SqliteStore::SearchJobs(const JobFilter& filter) {
  const std::string& text = *filter.query;
  bool use_index = false;
  if (HasTrigrams(text)) {
    Query probe = db_->Prepare(
        "SELECT count(*) FROM (SELECT 1 FROM job_search WHERE job_search MATCH ?1 LIMIT ?2)");
    if (!probe.ok()) return probe.status();
    probe->Bind(1, FtsPhrase(text));
    probe->Bind(2, kStepped + 1);
    auto row = probe->Step("probe the search index");
    if (!row.ok()) return row.status();
    use_index = *row && probe->Int(0) <= kStepped;
  }
  // ?1 is the pattern, ?2 the index phrase (when used); the filters' own
  // parameters follow, numbered by SQLite after the largest so far.
  const std::string where = std::string(use_index ? " AND job_id IN (SELECT job_id FROM job_search"
                                                    " WHERE job_search MATCH ?2)"
                                                  : "") +
                            " AND text LIKE ?1 ESCAPE '\\'" + SqliteFilterTerms(filter);
  const auto bind_where = [&](SqliteStatement& statement) {
    statement.Bind(1, ContainsPattern(text));
    if (use_index) statement.Bind(2, FtsPhrase(text));
    return SqliteBindFilters(statement, filter, use_index ? 3 : 2);
  };

  SqliteSearchResult found;
  const int64_t page_end = filter.offset + filter.limit;
  Query walk = db_->Prepare("SELECT created_at, job_id FROM job_search_rows WHERE 1" + where +
                            " ORDER BY created_at DESC, job_id DESC");
  if (!walk.ok()) return walk.status();
  bind_where(*walk);
  for (;;) {
    auto row = walk->Step("search jobs");
    if (!row.ok()) return row.status();
    if (!*row) return found;
    if (found.total >= filter.offset && found.total < page_end) {
      found.page.push_back(walk->Text(1));
    }
    ++found.total;
    if (found.total >= page_end && found.total >= kStepped) break;
  }
  // Many matches: count the ones older than the last row read in one go.
  Query rest = db_->Prepare("SELECT count(*) FROM job_search_rows WHERE 1" + where +
                            " AND (created_at, job_id) < (?, ?)");
  if (!rest.ok()) return rest.status();
  const int after = bind_where(*rest);
  rest->Bind(after, walk->Int(0));
  rest->Bind(after + 1, walk->Text(1));
  auto row = rest->Step("count the search's matches");
  if (!row.ok()) return row.status();
  found.total += *row ? rest->Int(0) : 0;
  return found;
}

// The trigram index cannot look up ids under three characters: those rows
// are found by a scan (ids that short are rare).
Status SqliteStore::RemoveSearchRow(const std::string& job_id) {
  Query remove = db_->Prepare(
      "DELETE FROM job_search WHERE job_id = ?1 AND rowid IN (SELECT rowid FROM job_search "
      "WHERE job_search MATCH 'job_id:' || ?2 UNION ALL SELECT rowid FROM job_search WHERE "
      "length(?1) < 3)");
  if (!remove.ok()) return remove.status();
  remove->Bind(1, job_id);
  remove->Bind(2, FtsPhrase(job_id));
  return remove->Run("drop a job's search row");
}

Result<int> SqliteStore::IndexPendingSearches(int limit) {
  // Most calls find nothing to do: look first without the write lock.
  auto any = db_->QueryInt("SELECT count(*) FROM (SELECT 1 FROM job_search_pending LIMIT 1)",
                           "look for unindexed jobs");
  if (!any.ok()) return any.status();
  if (*any == 0) return 0;
  Transaction txn(*db_, Transaction::Mode::kImmediate);
  if (!txn.status().ok()) return txn.status();
  Query pending = db_->Prepare("SELECT job_id, indexed FROM job_search_pending LIMIT ?1");
  if (!pending.ok()) return pending.status();
  pending->Bind(1, limit);
  std::vector<std::pair<std::string, bool>> ids;
  for (;;) {
    auto row = pending->Step("list unindexed jobs");
    if (!row.ok()) return row.status();
    if (!*row) break;
    ids.emplace_back(pending->Text(0), pending->Int(1) != 0);
  }
  pending->Reset();
  for (const auto& [id, indexed] : ids) {
    if (indexed) {
      if (Status s = RemoveSearchRow(id); !s.ok()) return s;
    }
    Query insert = db_->Prepare(
        "INSERT INTO job_search (job_id, external_id, config_name, model) SELECT job_id, "
        "coalesce(external_id, ''), coalesce(config_name, ''), coalesce(CASE WHEN "
        "json_valid(metadata) THEN json_extract(metadata, '$.model') END, '') FROM jobs WHERE "
        "job_id = ?1");
    if (!insert.ok()) return insert.status();
    insert->Bind(1, id);
    if (Status s = insert->Run("index a job for search"); !s.ok()) return s;
    Query done = db_->Prepare("DELETE FROM job_search_pending WHERE job_id = ?1");
    if (!done.ok()) return done.status();
    done->Bind(1, id);
    if (Status s = done->Run("mark a job indexed"); !s.ok()) return s;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return static_cast<int>(ids.size());
}

}  // namespace jobpulse
