// SPEC §9 `q` over the trigram index job_search (sqlite_schema.cc): three
// characters or more are an FTS phrase, i.e. an index lookup of consecutive
// trigrams, case-insensitive; shorter text has no trigram and is matched with
// LIKE (ASCII case-insensitive) over the index's own copy of the four fields.
#include <string>
#include <string_view>

#include "lib/sqlite_store.h"

namespace jobpulse {

namespace {

// Three characters (code points) or more have trigrams to look up.
bool SearchUsesIndex(std::string_view text) {
  size_t code_points = 0;
  for (const char c : text) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return code_points >= 3;
}

}  // namespace

std::string SqliteSearchClause(std::string_view text, int param) {
  const std::string p = "?" + std::to_string(param);
  if (SearchUsesIndex(text)) {
    return "job_id IN (SELECT job_id FROM job_search WHERE job_search MATCH " + p + ")";
  }
  return "job_id IN (SELECT job_id FROM job_search WHERE job_id LIKE " + p +
         " ESCAPE '\\' OR external_id LIKE " + p + " ESCAPE '\\' OR config_name LIKE " + p +
         " ESCAPE '\\' OR model LIKE " + p + " ESCAPE '\\')";
}

std::string SqliteSearchValue(std::string_view text) {
  std::string out;
  if (SearchUsesIndex(text)) {
    out = "\"";
    for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  }
  out = "%";
  for (const char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

}  // namespace jobpulse
