#include "lib/job_row.h"

#include <rapidjson/document.h>

#include "lib/json_limits.h"
#include "lib/json_writer.h"

namespace jobpulse {

std::string JobColumns(JobRead read) {
  std::string out;
  for (const char* name : kJobColumnNames) {
    if (!out.empty()) out += ", ";
    const std::string_view column(name);
    const bool kept = read != JobRead::kList || (column != "logs_tail" && column != "output");
    out += kept ? std::string(column) : "NULL AS " + std::string(column);
  }
  return out;
}

std::string MetadataToJson(const std::map<std::string, std::string>& metadata) {
  JsonWriter w;
  w.BeginObject();
  for (const auto& [key, value] : metadata) w.Key(key).String(std::string_view(value));
  w.EndObject();
  return w.str();
}

std::map<std::string, std::string> MetadataFromJson(std::string_view json) {
  std::map<std::string, std::string> out;
  if (json.empty()) return out;            // NULL: a read that left metadata out
  if (!JsonDepthWithin(json)) return out;  // SPEC §9: nesting limit
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return out;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    if (it->value.IsString()) {
      out[it->name.GetString()] = std::string(it->value.GetString(), it->value.GetStringLength());
    }
  }
  return out;
}

}  // namespace jobpulse
