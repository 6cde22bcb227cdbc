// The table of `make bench` (issue 14): reads every row the bench programs
// wrote (tests/bench/report/report.h), prints id, what, median, spread
// (min–max over the samples), target and verdict, writes the same as one JSON
// document, and ends with "N passed, N failed" (exit 1 when a row failed).
//
//   build/bench_summary [--smoke] [--expect ID,ID,...] ROWS_DIR REPORT_JSON
//
// --expect: rows that must be there; a missing one fails ("its program did not
// finish"). --smoke (make bench-smoke, inside make test): a row passes when it
// has a finite number for every sample and no problem; the targets are shown
// but never judged, since a run of a second or two on a busy machine says
// nothing about speed.
//
// Report-only rows (no target: the PostgreSQL rows, tests/bench/engine) show
// "reported" and count with the passed rows when they have a number; a line
// before the last says how many there were. Each "<id>-pg" row is then also
// printed next to its SQLite row "<id>", both engines side by side.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "lib/json_writer.h"
#include "tests/bench/report/report.h"

namespace {

using jobpulse::bench::Row;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Columns counted in code points (the spread has an en dash).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Pad(const std::string& s, size_t width) {
  const size_t w = Width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// Lines of cells in columns two spaces apart (the last column unpadded).
void PrintColumns(const std::vector<std::vector<std::string>>& lines) {
  std::vector<size_t> widths;
  for (const auto& line : lines) {
    widths.resize(std::max(widths.size(), line.size()));
    for (size_t c = 0; c < line.size(); ++c) widths[c] = std::max(widths[c], Width(line[c]));
  }
  for (const auto& line : lines) {
    std::string text;
    for (size_t c = 0; c < line.size(); ++c) {
      text += c + 1 == line.size() ? line[c] : Pad(line[c], widths[c] + 2);
    }
    std::printf("%s\n", text.c_str());
  }
}

// "1.98 (1.86–2.13)": the median and the spread; "-" without a number.
std::string MedianAndSpread(const Row& row) {
  using jobpulse::bench::FormatNumber;
  const double median = jobpulse::bench::Median(row.samples);
  if (!std::isfinite(median)) return "-";
  return FormatNumber(median) + " (" + FormatNumber(jobpulse::bench::Min(row.samples)) + "–" +
         FormatNumber(jobpulse::bench::Max(row.samples)) + ")";
}

// Every "<id>-pg" row next to its SQLite row "<id>" (issue 12): median and
// spread on each engine and the ratio of the medians, PostgreSQL / SQLite.
// The ratio is of the figures as they are, so for a latency above 1 is worse
// and for a rate or a throughput ratio below 1 is worse.
void PrintSideBySide(const std::map<std::string, Row>& rows) {
  std::vector<std::vector<std::string>> lines;
  lines.push_back({"id", "unit", "sqlite", "postgresql", "postgresql / sqlite"});
  for (const auto& [id, pg] : rows) {
    if (id.size() < 4 || id.compare(id.size() - 3, 3, "-pg") != 0) continue;
    const auto sqlite = rows.find(id.substr(0, id.size() - 3));
    const double pg_median = jobpulse::bench::Median(pg.samples);
    std::string ratio = "-";
    std::string sqlite_text = "-";
    if (sqlite != rows.end()) {
      sqlite_text = MedianAndSpread(sqlite->second);
      const double sqlite_median = jobpulse::bench::Median(sqlite->second.samples);
      if (std::isfinite(pg_median) && std::isfinite(sqlite_median) && sqlite_median != 0) {
        ratio = jobpulse::bench::FormatNumber(pg_median / sqlite_median);
      }
    }
    lines.push_back(
        {id.substr(0, id.size() - 3), pg.unit, sqlite_text, MedianAndSpread(pg), ratio});
  }
  if (lines.size() == 1) return;
  std::printf(
      "\nboth engines side by side: median (min–max); PostgreSQL is a throwaway local cluster "
      "with fsync off\n");
  PrintColumns(lines);
  std::printf("\n");
}

int Usage() {
  std::fprintf(stderr,
               "usage: bench_summary [--smoke] [--expect ID,ID,...] ROWS_DIR REPORT_JSON\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  std::vector<std::string> expect;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--smoke") {
      smoke = true;
    } else if (arg == "--expect" && i + 1 < argc) {
      std::stringstream list(argv[++i]);
      std::string id;
      while (std::getline(list, id, ',')) {
        if (!id.empty()) expect.push_back(id);
      }
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage();
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2) return Usage();
  const std::string rows_dir = positional[0];
  const std::string report_path = positional[1];

  std::map<std::string, Row> rows;  // by id: B1, B2, ..., B4-latency, B4-memory, ...
  std::error_code ec;
  if (std::filesystem::is_directory(rows_dir, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(rows_dir, ec)) {
      if (entry.path().extension() != ".json") continue;
      std::string error;
      auto row = jobpulse::bench::RowFromJson(ReadAll(entry.path().string()), &error);
      if (!row) {
        Row bad;
        bad.id = entry.path().stem().string();
        bad.what = "(unreadable row file)";
        bad.problems.push_back(entry.path().string() + ": " + error);
        rows[bad.id] = bad;
        continue;
      }
      rows[row->id] = *row;
    }
  }
  for (const auto& id : expect) {
    if (rows.count(id)) continue;
    Row missing;
    missing.id = id;
    missing.what = "(no row: its program did not finish)";
    missing.problems.push_back("missing");
    rows[id] = missing;
  }

  std::vector<std::vector<std::string>> lines;
  lines.push_back(
      {"id", "what", "median", "spread (min–max)", "target", smoke ? "smoke check" : "verdict"});
  int passed = 0, failed = 0, reported = 0;
  jobpulse::JsonWriter report;
  report.BeginObject();
  report.Key("mode").String(smoke ? "smoke" : "full");
  report.Key("rows").BeginArray();
  for (const auto& [id, row] : rows) {
    const bool ok = smoke ? jobpulse::bench::HasNumber(row) : jobpulse::bench::Meets(row);
    (ok ? passed : failed)++;
    using jobpulse::bench::FormatNumber;
    const double median = jobpulse::bench::Median(row.samples);
    std::string median_text = FormatNumber(median);
    if (std::isfinite(median) && row.unit != "ratio") median_text += " " + row.unit;
    std::string spread = "-";
    if (!row.samples.empty() && std::isfinite(median)) {
      spread = FormatNumber(jobpulse::bench::Min(row.samples)) + "–" +
               FormatNumber(jobpulse::bench::Max(row.samples)) + " (" +
               std::to_string(row.samples.size()) + ")";
    }
    reported += ok && row.report_only;
    std::string verdict =
        smoke ? (ok ? "ok" : "FAIL") : (ok ? (row.report_only ? "reported" : "PASS") : "FAIL");
    if (!row.problems.empty()) verdict += " (problem)";
    lines.push_back({id, row.what, median_text, spread, jobpulse::bench::TargetText(row), verdict});
    report.Raw(jobpulse::bench::RowToJson(row));
  }
  report.EndArray();
  report.Key("passed").Int(passed);
  report.Key("failed").Int(failed);
  report.Key("report_only_passed").Int(reported);
  report.EndObject();

  PrintColumns(lines);
  for (const auto& [id, row] : rows) {
    for (const auto& p : row.problems) std::printf("%s: %s\n", id.c_str(), p.c_str());
  }
  PrintSideBySide(rows);

  std::filesystem::create_directories(std::filesystem::path(report_path).parent_path(), ec);
  {
    std::ofstream out(report_path, std::ios::trunc);
    out << report.str() << "\n";
    if (!out) std::fprintf(stderr, "cannot write %s\n", report_path.c_str());
  }
  std::printf("report: %s\n", report_path.c_str());
  if (reported > 0 && !smoke) {
    std::printf("%d of the passed rows have no target (report only): measured without a problem\n",
                reported);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
