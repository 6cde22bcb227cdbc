// Unit tests for lib/progress.h: the SPEC §5 vectors plus the edge cases around
// them (windowing, UTF-8 handling, truncation, rounding, log tails).
#include "lib/progress.h"

#include <boost/test/unit_test.hpp>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobpulse {
namespace {

// Optionals are rendered as strings so failures print readable values; the
// shortest round-trip form keeps the double comparison exact.
std::string Show(const std::optional<double>& v) {
  if (!v) return "null";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, *v);
  return std::string(buf, res.ptr);
}

std::string Show(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "null"; }

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

struct Vector {
  std::string log;
  std::optional<std::string> stage;
  std::optional<double> progress;
};

// SPEC §5 table; " / " there separates lines, joined here with "\n".
const std::vector<Vector>& SpecVectors() {
  static const std::vector<Vector> vectors = {
      {"Step 1500/5000 - loss: 0.0234", "Training", 30.0},
      {"epoch 3/10", "Training", 30.0},
      {"Epoch 3/10, step 20/100", "Training", 20.0},
      {"Epoch 1/10 Steps: 45%|\xE2\x96\x88\xE2\x96\x88\xE2\x96\x88\xE2\x96\x88\xE2\x96\x8C | "
       "450/1000 [01:23<01:40, 6.6it/s]",
       "Training", 45.0},
      {"STEP 7 / 14", "Training", 50.0},
      {"global_step 50/200", "Training", 25.0},
      {"step 150/100", "Training", 100.0},
      {"step 5/0", "Training", std::nullopt},
      {"Loading model", "Preprocessing", std::nullopt},
      {"Loading model\nStep 10/100", "Training", 10.0},
      {"Step 500/1000\nRunning validation", "Validation", 50.0},
      {"Step 500/1000\nSaving checkpoint to /out/checkpoint-500", "Saving checkpoint", 50.0},
      {"warmup step 5/10", "Warmup", 50.0},
      {"Uploading dataset", "Training", std::nullopt},
      {"step 1/16", "Training", 6.2},
      {"step 3/16", "Training", 18.8},
      {"step 1/3", "Training", 33.3},
      {"a\rb\rStep 2/4", "Training", 50.0},
  };
  return vectors;
}

BOOST_AUTO_TEST_SUITE(progress)

BOOST_AUTO_TEST_CASE(spec_vectors) {
  for (const Vector& v : SpecVectors()) {
    BOOST_TEST_CONTEXT("log: " << v.log) {
      const Progress p = DeriveRunningProgress(v.log);
      BOOST_TEST(Show(p.stage) == Show(v.stage));
      BOOST_TEST(Show(p.progress) == Show(v.progress));
    }
  }
}

BOOST_AUTO_TEST_CASE(spec_vector_last_log_is_newest_line) {
  BOOST_TEST(Show(DeriveRunningProgress("Loading model\nStep 10/100").last_log) ==
             "\"Step 10/100\"");
  BOOST_TEST(Show(DeriveRunningProgress("a\rb\rStep 2/4").last_log) == "\"Step 2/4\"");
}

BOOST_AUTO_TEST_CASE(empty_and_blank_logs_are_all_null) {
  for (const std::string_view log : {"", " ", "\n\n", " \t\r\n \r ", "\v\f"}) {
    BOOST_TEST_CONTEXT("log: [" << log << "]") {
      BOOST_TEST((DeriveRunningProgress(log) == Progress{}));
    }
  }
}

BOOST_AUTO_TEST_CASE(no_stage_word_defaults_to_training) {
  const Progress p = DeriveRunningProgress("hello world");
  BOOST_TEST(Show(p.stage) == "\"Training\"");
  BOOST_TEST(Show(p.progress) == "null");
  BOOST_TEST(Show(p.last_log) == "\"hello world\"");
}

BOOST_AUTO_TEST_CASE(last_log_is_trimmed) {
  BOOST_TEST(Show(DeriveRunningProgress("first\n  \tlast line  \n\n").last_log) == "\"last line\"");
}

BOOST_AUTO_TEST_CASE(last_log_truncation) {
  const std::string exactly80 = Repeat("x", 80);
  BOOST_TEST(*DeriveRunningProgress(exactly80).last_log == exactly80);
  BOOST_TEST(*DeriveRunningProgress(Repeat("x", 81)).last_log == Repeat("x", 77) + "...");
  BOOST_TEST(*DeriveRunningProgress(Repeat("x", 500)).last_log == Repeat("x", 77) + "...");
}

BOOST_AUTO_TEST_CASE(last_log_counts_code_points_not_bytes) {
  const std::string e_acute = "\xC3\xA9";        // 2 bytes
  const std::string block = "\xE2\x96\x88";      // 3 bytes
  const std::string emoji = "\xF0\x9F\x98\x80";  // 4 bytes
  const std::string mixed80 = Repeat(e_acute + block + emoji + "a", 20);
  BOOST_TEST(*DeriveRunningProgress(mixed80).last_log == mixed80);
  BOOST_TEST(*DeriveRunningProgress(Repeat(block, 80)).last_log == Repeat(block, 80));
  BOOST_TEST(*DeriveRunningProgress(Repeat(emoji, 81)).last_log == Repeat(emoji, 77) + "...");
  BOOST_TEST(*DeriveRunningProgress(Repeat(e_acute, 100)).last_log == Repeat(e_acute, 77) + "...");
}

BOOST_AUTO_TEST_CASE(truncate_log_line_directly) {
  BOOST_TEST(TruncateLogLine("") == "");
  BOOST_TEST(TruncateLogLine(Repeat("y", 79)) == Repeat("y", 79));
  BOOST_TEST(TruncateLogLine(Repeat("y", 80)) == Repeat("y", 80));
  BOOST_TEST(TruncateLogLine(Repeat("y", 81)) == Repeat("y", 77) + "...");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_replacement_character) {
  const std::string fffd = "\xEF\xBF\xBD";
  BOOST_TEST(*DeriveRunningProgress("ok \xFF done").last_log == "ok " + fffd + " done");
  BOOST_TEST(*DeriveRunningProgress("step 1/2 \x80").last_log == "step 1/2 " + fffd);
}

BOOST_AUTO_TEST_CASE(sanitize_utf8_cases) {
  const std::string fffd = "\xEF\xBF\xBD";
  BOOST_TEST(SanitizeUtf8("") == "");
  BOOST_TEST(SanitizeUtf8("plain ascii") == "plain ascii");
  const std::string valid = "\xC3\xA9\xE2\x96\x88\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF";
  BOOST_TEST(SanitizeUtf8(valid) == valid);
  BOOST_TEST(SanitizeUtf8("\x80") == fffd);                                   // lone continuation
  BOOST_TEST(SanitizeUtf8("\xFE\xFF") == fffd + fffd);                        // never valid
  BOOST_TEST(SanitizeUtf8("\xC0\xAF") == fffd + fffd);                        // overlong '/'
  BOOST_TEST(SanitizeUtf8("\xE0\x80\xAF") == fffd + fffd + fffd);             // overlong
  BOOST_TEST(SanitizeUtf8("\xED\xA0\x80") == fffd + fffd + fffd);             // surrogate
  BOOST_TEST(SanitizeUtf8("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // > U+10FFFF
  // A truncated sequence is one maximal subpart: a single U+FFFD.
  BOOST_TEST(SanitizeUtf8("\xE2\x96"
                          "a") == fffd + "a");
  BOOST_TEST(SanitizeUtf8("a\xF0\x9F\x98") == "a" + fffd);
}

BOOST_AUTO_TEST_CASE(only_newest_50_lines_are_considered) {
  const std::string old_loading = "Loading model\n" + Repeat("nothing\n", 50);
  const Progress p = DeriveRunningProgress(old_loading);
  BOOST_TEST(Show(p.stage) == "\"Training\"");
  BOOST_TEST(Show(p.progress) == "null");

  const std::string old_step = "Step 3/4\n" + Repeat("nothing\n", 50);
  BOOST_TEST(Show(DeriveRunningProgress(old_step).progress) == "null");

  // 49 filler lines keep the 50th-newest line inside the window.
  const std::string edge = "Loading model step 1/4\n" + Repeat("nothing\n", 49);
  const Progress q = DeriveRunningProgress(edge);
  BOOST_TEST(Show(q.stage) == "\"Preprocessing\"");
  BOOST_TEST(Show(q.progress) == "25");
}

BOOST_AUTO_TEST_CASE(loading_inside_a_word_is_not_preprocessing) {
  for (const std::string_view log : {"uploading dataset", "Downloading weights", "Unloading"}) {
    BOOST_TEST_CONTEXT("log: " << log) {
      BOOST_TEST(Show(DeriveRunningProgress(log).stage) == "\"Training\"");
    }
  }
  BOOST_TEST(Show(DeriveRunningProgress("[loading] shards").stage) == "\"Preprocessing\"");
  BOOST_TEST(Show(DeriveRunningProgress("pre-loading cache").stage) == "\"Preprocessing\"");
  BOOST_TEST(Show(DeriveRunningProgress("Running PREPROCESSING").stage) == "\"Preprocessing\"");
}

BOOST_AUTO_TEST_CASE(stage_words) {
  BOOST_TEST(Show(DeriveRunningProgress("Warming up the GPU").stage) == "\"Warmup\"");
  BOOST_TEST(Show(DeriveRunningProgress("validating").stage) == "\"Validation\"");
  BOOST_TEST(Show(DeriveRunningProgress("CHECKPOINT written").stage) == "\"Saving checkpoint\"");
  // Order within one line: preprocessing beats everything after it.
  BOOST_TEST(Show(DeriveRunningProgress("loading checkpoint").stage) == "\"Preprocessing\"");
  BOOST_TEST(Show(DeriveRunningProgress("checkpoint validation").stage) == "\"Saving checkpoint\"");
}

BOOST_AUTO_TEST_CASE(step_without_numbers_sets_training) {
  const Progress p = DeriveRunningProgress("Loading model\nstep done");
  BOOST_TEST(Show(p.stage) == "\"Training\"");
  BOOST_TEST(Show(p.progress) == "null");
}

BOOST_AUTO_TEST_CASE(newest_fraction_decides_even_without_percent) {
  BOOST_TEST(Show(DeriveRunningProgress("step 5/10\nstep 5/0").progress) == "null");
  BOOST_TEST(Show(DeriveRunningProgress("step 5/10\nloss 0.3").progress) == "50");
}

BOOST_AUTO_TEST_CASE(fraction_forms) {
  BOOST_TEST(Show(DeriveRunningProgress("steps: 3/4").progress) == "75");
  BOOST_TEST(Show(DeriveRunningProgress("Step: 1 4").progress) == "25");
  BOOST_TEST(Show(DeriveRunningProgress("step 1 /4").progress) == "25");
  BOOST_TEST(Show(DeriveRunningProgress("epoch 1 2").progress) == "null");  // epoch needs '/'
  BOOST_TEST(Show(DeriveRunningProgress("step 1").progress) == "null");
  BOOST_TEST(Show(DeriveRunningProgress("step 5 loss 0.5").progress) == "null");
  BOOST_TEST(Show(DeriveRunningProgress("step 100 2.5").progress) == "null");  // not a count
  BOOST_TEST(Show(DeriveRunningProgress("train 50%|#####     | 5/10").progress) == "50");
  BOOST_TEST(Show(DeriveRunningProgress("epoch 1/4 step 2/4 9%|##| 3/4").progress) == "75");
}

BOOST_AUTO_TEST_CASE(digit_runs_longer_than_18_do_not_match) {
  BOOST_TEST(Show(DeriveRunningProgress("step 1/1000000000000000000").progress) == "null");
  BOOST_TEST(Show(DeriveRunningProgress("step 1000000000000000000/2").progress) == "null");
  BOOST_TEST(Show(DeriveRunningProgress("step 1/100000000000000000").progress) == "0");
}

BOOST_AUTO_TEST_CASE(progress_for_status) {
  const Progress stored{"Training", 42.5, "Step 425/1000"};
  BOOST_TEST((ProgressForStatus(stored, true) == stored));
  const Progress done = ProgressForStatus(stored, false);
  BOOST_TEST(Show(done.stage) == "null");
  BOOST_TEST(Show(done.progress) == "null");
  BOOST_TEST(Show(done.last_log) == "\"Step 425/1000\"");
  BOOST_TEST((ProgressForStatus(Progress{}, false) == Progress{}));
}

BOOST_AUTO_TEST_CASE(percent_of_rounding) {
  BOOST_TEST(Show(PercentOf(1, 16)) == Show(6.2));
  BOOST_TEST(Show(PercentOf(3, 16)) == Show(18.8));
  BOOST_TEST(Show(PercentOf(1, 3)) == Show(33.3));
  BOOST_TEST(Show(PercentOf(2, 3)) == Show(66.7));
  BOOST_TEST(Show(PercentOf(5, 0)) == "null");
  BOOST_TEST(Show(PercentOf(0, 0)) == "null");
  BOOST_TEST(Show(PercentOf(150, 100)) == Show(100.0));
  BOOST_TEST(Show(PercentOf(0, 7)) == Show(0.0));
  BOOST_TEST(Show(PercentOf(1, 2000)) == Show(0.0));       // 0.05 ties to even: 0.0
  BOOST_TEST(Show(PercentOf(3, 2000)) == Show(0.2));       // 0.15 ties to even: 0.2
  BOOST_TEST(Show(PercentOf(1999, 2000)) == Show(100.0));  // 99.95 ties to even: 100.0
  BOOST_TEST(Show(PercentOf(~0ULL - 1, ~0ULL)) == Show(100.0));
  BOOST_TEST(Show(PercentOf(~0ULL / 2, ~0ULL)) == Show(50.0));
}

BOOST_AUTO_TEST_CASE(split_log_lines) {
  using Lines = std::vector<std::string_view>;
  BOOST_TEST((SplitLogLines("a\r\nb\r\n\r\nc") == Lines{"a", "b", "c"}));
  BOOST_TEST((SplitLogLines("a\rb\nc\r") == Lines{"a", "b", "c"}));
  BOOST_TEST((SplitLogLines("  x  \n\t\n y") == Lines{"x", "y"}));
  BOOST_TEST(SplitLogLines("").empty());
  BOOST_TEST(SplitLogLines("\r\n\r\n").empty());
}

BOOST_AUTO_TEST_CASE(crlf_logs_derive_like_lf_logs) {
  const Progress p = DeriveRunningProgress("Loading model\r\nStep 10/100\r\n");
  BOOST_TEST(Show(p.stage) == "\"Training\"");
  BOOST_TEST(Show(p.progress) == "10");
  BOOST_TEST(Show(p.last_log) == "\"Step 10/100\"");
}

BOOST_AUTO_TEST_CASE(log_tail) {
  BOOST_TEST(LogTail("", 8) == "");
  BOOST_TEST(LogTail("short", 8) == "short");
  BOOST_TEST(LogTail("exactly8", 8) == "exactly8");
  // Cut in the middle of a line: the partial line is dropped.
  BOOST_TEST(LogTail("line one\nline two\nline three", 14) == "line three");
  BOOST_TEST(LogTail("aaaa\r\nbbbb\r\ncc", 8) == "bbbb\r\ncc");
  BOOST_TEST(LogTail("aaaa\r\nbbbb\r\ncc", 7) == "cc");
  BOOST_TEST(LogTail("aaaa\rbb", 4) == "bb");
  // No line break in the kept part: only a split UTF-8 sequence is skipped.
  BOOST_TEST(LogTail("abcdefgh", 3) == "fgh");
  BOOST_TEST(LogTail("x\xE2\x96\x88yz", 4) == "yz");
  BOOST_TEST(LogTail("x\xE2\x96\x88yz", 5) == "\xE2\x96\x88yz");
  // A cut right after a break keeps the whole next line.
  BOOST_TEST(LogTail("one\ntwo\nthree", 9) == "two\nthree");
  // The only break is the last byte: the partial line is kept, not dropped.
  BOOST_TEST(LogTail("abcdefgh\n", 4) == "fgh\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
