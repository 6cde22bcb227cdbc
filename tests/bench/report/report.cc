#include "tests/bench/report/report.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

#include "lib/json_writer.h"

namespace jobpulse::bench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> Finite(const std::vector<double>& samples) {
  std::vector<double> out;
  for (double v : samples) {
    if (std::isfinite(v)) out.push_back(v);
  }
  return out;
}

}  // namespace

Row MakeRow(const std::string& id, const std::string& what, const std::string& unit,
            Direction direction, double target) {
  Row row;
  row.id = id;
  row.what = what;
  row.unit = unit;
  row.direction = direction;
  row.target = target;
  return row;
}

double Median(const std::vector<double>& samples) {
  std::vector<double> v = Finite(samples);
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

double Min(const std::vector<double>& samples) {
  const std::vector<double> v = Finite(samples);
  return v.empty() ? kNaN : *std::min_element(v.begin(), v.end());
}

double Max(const std::vector<double>& samples) {
  const std::vector<double> v = Finite(samples);
  return v.empty() ? kNaN : *std::max_element(v.begin(), v.end());
}

bool HasNumber(const Row& row) {
  return !row.samples.empty() && row.problems.empty() &&
         std::all_of(row.samples.begin(), row.samples.end(),
                     [](double v) { return std::isfinite(v); });
}

bool Meets(const Row& row) {
  if (!HasNumber(row)) return false;
  if (row.report_only) return true;
  const double median = Median(row.samples);
  return row.direction == Direction::kAtLeast ? median >= row.target : median <= row.target;
}

std::string FormatNumber(double value) {
  if (!std::isfinite(value)) return "-";
  char buf[64];
  const double a = std::fabs(value);
  std::snprintf(buf, sizeof(buf), a >= 1000 ? "%.0f" : a >= 10 ? "%.1f" : "%.2f", value);
  return buf;
}

std::string TargetText(const Row& row) {
  if (row.report_only) return "none (report only)";
  char target[64];
  std::snprintf(target, sizeof(target), "%g", row.target);
  std::string text = row.direction == Direction::kAtLeast ? ">= " : "<= ";
  text += target;
  if (row.unit != "ratio") text += " " + row.unit;
  return text;
}

std::string Verdict(const Row& row) {
  if (!Meets(row)) return "FAIL";
  return row.report_only ? "REPORTED" : "PASS";
}

std::string RowToJson(const Row& row) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(row.id);
  w.Key("what").String(row.what);
  w.Key("unit").String(row.unit);
  w.Key("samples").BeginArray();
  for (double v : row.samples) w.Double(v);
  w.EndArray();
  w.Key("median").Double(Median(row.samples));
  w.Key("min").Double(Min(row.samples));
  w.Key("max").Double(Max(row.samples));
  if (row.report_only) {
    w.Key("report_only").Bool(true);
    w.Key("target").Null();
  } else {
    w.Key("target").Double(row.target);
  }
  w.Key("direction").String(row.direction == Direction::kAtLeast ? ">=" : "<=");
  w.Key("problems").BeginArray();
  for (const auto& p : row.problems) w.String(p);
  w.EndArray();
  w.Key("detail").String(row.detail);
  w.Key("verdict").String(Verdict(row));
  w.EndObject();
  return w.str();
}

std::optional<Row> RowFromJson(const std::string& text, std::string* error) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  const auto fail = [&](const std::string& why) -> std::optional<Row> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (doc.HasParseError() || !doc.IsObject()) return fail("not a JSON object");
  const auto string_of = [&](const char* key, std::string* out) {
    const auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || !it->value.IsString()) return false;
    *out = std::string(it->value.GetString(), it->value.GetStringLength());
    return true;
  };
  Row row;
  std::string direction;
  if (!string_of("id", &row.id) || row.id.empty()) return fail("no id");
  if (!string_of("what", &row.what) || !string_of("unit", &row.unit) ||
      !string_of("direction", &direction)) {
    return fail(row.id + ": what, unit or direction missing");
  }
  if (direction != ">=" && direction != "<=") return fail(row.id + ": bad direction");
  row.direction = direction == ">=" ? Direction::kAtLeast : Direction::kAtMost;
  string_of("detail", &row.detail);
  const auto report_only = doc.FindMember("report_only");
  row.report_only = report_only != doc.MemberEnd() && report_only->value.IsTrue();
  const auto target = doc.FindMember("target");
  if (!row.report_only) {
    if (target == doc.MemberEnd() || !target->value.IsNumber()) return fail(row.id + ": no target");
    row.target = target->value.GetDouble();
  }
  const auto samples = doc.FindMember("samples");
  if (samples == doc.MemberEnd() || !samples->value.IsArray()) return fail(row.id + ": no samples");
  for (const auto& v : samples->value.GetArray()) {
    row.samples.push_back(v.IsNumber() ? v.GetDouble() : kNaN);  // null: a failed sample
  }
  const auto problems = doc.FindMember("problems");
  if (problems != doc.MemberEnd() && problems->value.IsArray()) {
    for (const auto& v : problems->value.GetArray()) {
      if (v.IsString()) row.problems.emplace_back(v.GetString(), v.GetStringLength());
    }
  }
  return row;
}

bool Report(const Row& row) {
  const bool pass = Meets(row);
  std::printf("  %s %s %s (min %s, max %s, %zu samples), target %s: %s\n", row.id.c_str(),
              FormatNumber(Median(row.samples)).c_str(), row.unit.c_str(),
              FormatNumber(Min(row.samples)).c_str(), FormatNumber(Max(row.samples)).c_str(),
              row.samples.size(), TargetText(row).c_str(), Verdict(row).c_str());
  for (const auto& p : row.problems) std::printf("    problem: %s\n", p.c_str());
  std::fflush(stdout);
  const char* dir = std::getenv("JOBPULSE_BENCH_DIR");
  if (dir && *dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const std::string path = std::string(dir) + "/" + row.id + ".json";
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << RowToJson(row) << "\n";
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) std::fprintf(stderr, "cannot write %s: %s\n", path.c_str(), ec.message().c_str());
  }
  return pass;
}

}  // namespace jobpulse::bench
