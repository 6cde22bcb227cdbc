// What the bench programs report (issue 14): each SPEC §10 figure is one row
// with every sample it was measured in (one per round or run), its median,
// minimum and maximum, a target and a verdict on the median.
//
// A program builds its rows, calls Report() on each, which prints the row and,
// when $JOBPULSE_BENCH_DIR is set (make bench sets it), writes it as
// $JOBPULSE_BENCH_DIR/<id>.json. tests/bench/summary/bench_summary.cc reads
// that directory back, prints the table and writes build/bench/report.json.
//
// A row with a problem (a correctness failure seen while measuring: non-2xx
// answers, failed requests, lost events) fails whatever its median; so does a
// row without a finite sample.
//
// A report-only row has no target: a figure the SPEC sets no target for (the
// PostgreSQL rows of issue 12, tests/bench/engine). Its verdict is REPORTED when
// it has a number (as above) and FAIL otherwise; the summary counts REPORTED
// with the passed rows and says how many of them had no target.
#ifndef JOBPULSE_TESTS_BENCH_REPORT_REPORT_H_
#define JOBPULSE_TESTS_BENCH_REPORT_REPORT_H_

#include <optional>
#include <string>
#include <vector>

namespace jobpulse::bench {

enum class Direction { kAtLeast, kAtMost };

struct Row {
  std::string id;               // "B1", "B4-latency": also the file name
  std::string what;             // one line: what was measured, with its parameters
  std::string unit;             // "ratio", "/s", "ms", "s", "/min", "bytes"
  std::vector<double> samples;  // one per round or run; NaN for one that produced nothing
  double target = 0;
  Direction direction = Direction::kAtLeast;
  bool report_only = false;  // no target: target and direction are not judged
  std::vector<std::string> problems;
  std::string detail;  // free text, e.g. the absolute figures behind a ratio
};

// A row without samples yet.
Row MakeRow(const std::string& id, const std::string& what, const std::string& unit,
            Direction direction, double target);

// Over the finite samples; NaN when there is none. An even count's median is
// the mean of the middle two.
double Median(const std::vector<double>& samples);
double Min(const std::vector<double>& samples);
double Max(const std::vector<double>& samples);

// At least one sample, every sample finite, no problem.
bool HasNumber(const Row& row);
// HasNumber and the median on the target's side (the target itself included);
// for a report-only row, HasNumber.
bool Meets(const Row& row);

// ">= 0.8", "<= 100 ms"; "none (report only)".
std::string TargetText(const Row& row);
// A figure with as many digits as it deserves: 26457, 66.2, 0.93; "-" for NaN.
std::string FormatNumber(double value);

// "PASS", "FAIL", or for a report-only row "REPORTED" (or "FAIL").
std::string Verdict(const Row& row);

// The row as JSON: its fields plus median, min, max and Verdict(); a
// report-only row has "report_only": true and "target": null.
std::string RowToJson(const Row& row);
// Back from RowToJson's output; std::nullopt (and *error) when it is not one.
std::optional<Row> RowFromJson(const std::string& text, std::string* error);

// Prints "  <id> <median> <unit> (min .., max .., N samples), target ..: PASS"
// (and the problems), writes the row when $JOBPULSE_BENCH_DIR is set, and
// returns Meets(row).
bool Report(const Row& row);

}  // namespace jobpulse::bench

#endif  // JOBPULSE_TESTS_BENCH_REPORT_REPORT_H_
