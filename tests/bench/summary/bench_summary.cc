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

  struct Line {
    std::string cells[6];
  };
  std::vector<Line> lines;
  lines.push_back(
      {{"id", "what", "median", "spread (min–max)", "target", smoke ? "smoke check" : "verdict"}});
  int passed = 0, failed = 0;
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
    std::string verdict = smoke ? (ok ? "ok" : "FAIL") : (ok ? "PASS" : "FAIL");
    if (!row.problems.empty()) verdict += " (problem)";
    lines.push_back(
        {{id, row.what, median_text, spread, jobpulse::bench::TargetText(row), verdict}});
    report.Raw(jobpulse::bench::RowToJson(row));
  }
  report.EndArray();
  report.Key("passed").Int(passed);
  report.Key("failed").Int(failed);
  report.EndObject();

  size_t widths[6] = {};
  for (const auto& line : lines) {
    for (int c = 0; c < 6; ++c) widths[c] = std::max(widths[c], Width(line.cells[c]));
  }
  for (const auto& line : lines) {
    std::string text;
    for (int c = 0; c < 6; ++c) text += c == 5 ? line.cells[c] : Pad(line.cells[c], widths[c] + 2);
    std::printf("%s\n", text.c_str());
  }
  for (const auto& [id, row] : rows) {
    for (const auto& p : row.problems) std::printf("%s: %s\n", id.c_str(), p.c_str());
  }

  std::filesystem::create_directories(std::filesystem::path(report_path).parent_path(), ec);
  {
    std::ofstream out(report_path, std::ios::trunc);
    out << report.str() << "\n";
    if (!out) std::fprintf(stderr, "cannot write %s\n", report_path.c_str());
  }
  std::printf("report: %s\n", report_path.c_str());
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
