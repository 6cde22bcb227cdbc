// Unit tests for lib/progress.h: the SPEC §5 vectors plus the edge cases around
// them (windowing, UTF-8 handling, truncation, rounding, log tails).
#include "lib/progress.h"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <charconv>
#include <optional>
#include <ostream>
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

// Data test cases print their sample in the test name's context.
std::ostream& operator<<(std::ostream& os, const Vector& v) {
  return os << "log [" << v.log << "] -> " << Show(v.stage) << ", " << Show(v.progress);
}

// SPEC §5 table, row by row; " / " there separates lines, joined here with "\n".
const std::vector<Vector> kSpecVectors = {
    {"Step 1500/5000 - loss: 0.0234", "Training", 30.0},
    {"epoch 3/10", "Training", 30.0},
    {"Epoch 3/10, step 20/100", "Training", 20.0},
    {"Epoch 1/10 Steps: 45%|████▌ | 450/1000 [01:23<01:40, 6.6it/s]", "Training", 45.0},
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
    {"Steps:  40%|████ | 400/1000\nGenerating Samples:  50%|█████ | 1/2", "Validation", 40.0},
    {"step 300/600\nLoading pipeline components: 100%|██| 5/5", "Training", 50.0},
    {"step 300/600\nRunning validation\nLoading pipeline components: 100%|██| 5/5", "Validation",
     50.0},
    {"Train Step 50/50\nVal Step 3/40", "Validation", 100.0},
    {"Registered rule for ace_step: max_grad_norm", "Training", std::nullopt},
    {"lr_warmup_steps=100", "Training", std::nullopt},
    {"Caching latents: 30%|███ | 30/100", "Preprocessing", std::nullopt},
    {"steps:  10%|█ | 100/1000\nepoch 3/20", "Training", 10.0},
    {"Steps:  10% 103/1000 [05:03<44:00]", "Training", 10.3},
    {"my_lora_run:   5%|▌ | 50/1000", "Training", 5.0},
    {"Steps:   2%|▏ | 20/1000\n60%|██████ | 3/5", "Training", 2.0},
};

// Stage and progress of a running job's log, as "stage progress" for one
// readable comparison.
std::string Derived(std::string_view log) {
  const Progress p = DeriveRunningProgress(log);
  return Show(p.stage) + " " + Show(p.progress);
}

std::string Expected(const std::optional<std::string>& stage, std::optional<double> progress) {
  return Show(stage) + " " + Show(progress);
}

BOOST_AUTO_TEST_SUITE(progress)

BOOST_AUTO_TEST_CASE(spec_table_has_every_row) { BOOST_TEST(kSpecVectors.size() == 29u); }

// One test case per row (spec_vector/_0 .. _28), so a failure names its row.
BOOST_DATA_TEST_CASE(spec_vector, boost::unit_test::data::make(kSpecVectors), vector) {
  BOOST_TEST(Derived(vector.log) == Expected(vector.stage, vector.progress));
}

// --- Logs as SimpleTuner, diffusers, kohya sd-scripts and ai-toolkit print them ---

BOOST_AUTO_TEST_CASE(simpletuner_validation_pass_with_its_own_bar_keeps_training_percent) {
  const std::string log =
      "Epoch 2/4, Steps:  25%|██▌       | 250/1000 [01:40<05:00,  2.50it/s, lr=0.0001, "
      "step_loss=0.0412]\n"
      "Running validation on 2 prompts\n"
      "Loading pipeline components...: 100%|██████████| 7/7 [00:01<00:00,  5.12it/s]\n"
      "Generating Samples:  50%|█████     | 1/2 [00:03<00:03,  3.10s/it]\n";
  BOOST_TEST(Derived(log) == Expected("Validation", 25.0));
  BOOST_TEST(Show(DeriveRunningProgress(log).last_log) ==
             "\"Generating Samples:  50%|█████     | 1/2 [00:03<00:03,  3.10s/it]\"");
  // Training resumes: its bar is the newest line again.
  const std::string resumed =
      log + "Epoch 2/4, Steps:  25%|██▌       | 251/1000 [01:48<05:00,  2.31it/s]\n";
  BOOST_TEST(Derived(resumed) == Expected("Training", 25.1));
}

BOOST_AUTO_TEST_CASE(diffusers_dreambooth_lora_validation_and_checkpoint) {
  const std::string bar =
      "Steps:  50%|█████     | 250/500 [02:00<02:00,  2.08it/s, loss=0.0123, lr=0.0001]";
  const std::string validating =
      bar +
      "\nRunning validation... \n"
      " Generating 4 images with prompt: a photo of sks dog in a bucket.";
  BOOST_TEST(Derived(validating) == Expected("Validation", 50.0));
  const std::string saving = bar + "\r\nSaved state to /output/checkpoint-250\r\n" + bar + "\r";
  // The bar redrawn after the save is the newest line, so training shows again.
  BOOST_TEST(Derived(saving) == Expected("Training", 50.0));
  BOOST_TEST(Derived(bar + "\nSaved state to /output/checkpoint-250") ==
             Expected("Saving checkpoint", 50.0));
}

BOOST_AUTO_TEST_CASE(pipeline_loading_bar_is_preprocessing_only_before_training) {
  const std::string loading =
      "Loading pipeline components...: 100%|██████████| 7/7 [00:01<00:00,  5.12it/s]";
  BOOST_TEST(Derived(loading) == Expected("Preprocessing", std::nullopt));
  BOOST_TEST(Derived("Steps:  30%|███       | 150/500\n" + loading) == Expected("Training", 30.0));
  // An epoch count is a training fraction too: loading after it is not preprocessing.
  BOOST_TEST(Derived("epoch 2/10\n" + loading) == Expected("Training", 20.0));
}

BOOST_AUTO_TEST_CASE(kohya_epoch_lines_after_steps_bars_do_not_replace_the_steps) {
  const std::string log =
      "steps:   6%|▋         | 204/3280 [02:09<32:27,  1.58it/s, avr_loss=0.0893]\n"
      "steps:   6%|▋         | 205/3280 [02:10<32:26,  1.58it/s, avr_loss=0.0892]\n"
      "\n"
      "epoch 6/80\n";
  // 205/3280 is exactly 6.25 %: ties to even gives 6.2.
  BOOST_TEST(Derived(log) == Expected("Training", 6.2));
  BOOST_TEST(Show(DeriveRunningProgress(log).last_log) == "\"epoch 6/80\"");
}

BOOST_AUTO_TEST_CASE(ai_toolkit_run_name_label_and_sample_generation) {
  const std::string bar =
      "my_lora_v1:  12%|█▏        | 120/1000 [02:05<14:40,  1.00s/it, lr: 1.0e-04 loss: "
      "4.123e-01]";
  BOOST_TEST(Derived(bar) == Expected("Training", 12.0));
  BOOST_TEST(Derived(bar + "\nGenerating Images: 100%|██████████| 10/10 [00:30<00:00, 3.0s/it]") ==
             Expected("Validation", 12.0));
  BOOST_TEST(
      Derived(bar + "\nSaving at step 120\nSaved to /output/my_lora_v1_000000120.safetensors") ==
      Expected("Training", 12.0));
}

BOOST_AUTO_TEST_CASE(step_inside_an_identifier_is_no_keyword) {
  BOOST_TEST(Derived("Step 10/100\nRegistered rule for ace_step: max_grad_norm") ==
             Expected("Training", 10.0));
  BOOST_TEST(Derived("ace_step 5/10") == Expected("Training", std::nullopt));
  BOOST_TEST(Derived("Loading model\nmax_train_steps 1/2") ==
             Expected("Preprocessing", std::nullopt));
  BOOST_TEST(Derived("substep 3/4") == Expected("Training", std::nullopt));
}

BOOST_AUTO_TEST_CASE(validation_step_counters_never_set_progress) {
  BOOST_TEST(Derived("Epoch 1/3 Step 400/1200 loss=0.1\nVal Step 1/157") ==
             Expected("Validation", 33.3));
  BOOST_TEST(Derived("Step 10/100\neval step: 2/8") == Expected("Validation", 10.0));
  BOOST_TEST(Derived("Step 10/100\nValidation steps 7 8") == Expected("Validation", 10.0));
  BOOST_TEST(Derived("Val Step 1/157") == Expected("Validation", std::nullopt));
  // "interval" ends in "val" but is another word.
  BOOST_TEST(Derived("interval step 3/10") == Expected("Training", 30.0));
}

BOOST_AUTO_TEST_CASE(notebook_bars_without_pipes) {
  BOOST_TEST(Derived("  45% 450/1000 [01:23<01:40, 6.6it/s]") == Expected("Training", 45.0));
  BOOST_TEST(Derived("Steps:  10% 103/1000 [05:03<44:00]\nGenerating Samples:  50% 1/2") ==
             Expected("Validation", 10.3));
  // A decimal percentage is not tqdm's, and a bar needs its counts.
  BOOST_TEST(Derived("done 12.5% 1/8") == Expected("Training", std::nullopt));
  BOOST_TEST(Derived("Steps:  10%|█ |") == Expected("Training", std::nullopt));
}

BOOST_AUTO_TEST_CASE(each_bar_on_a_line_has_its_own_label) {
  BOOST_TEST(Derived("Caching: 100%|█| 5/5 my_run: 10%|█| 10/100") ==
             Expected("Preprocessing", 10.0));
  BOOST_TEST(Derived("Steps: 40%|█| 400/1000 Generating Samples: 50%|█| 1/2") ==
             Expected("Validation", 40.0));
}

BOOST_AUTO_TEST_CASE(bars_with_another_total_do_not_set_progress) {
  // Without any step counter the newest training bar fixes the total.
  BOOST_TEST(Derived("my_run:  5%| | 50/1000\nfetching: 60%|█| 3/5") == Expected("Training", 60.0));
  // A steps-labelled bar or step counter fixes it even when older.
  BOOST_TEST(Derived("Steps: 5%| | 50/1000\nfetching: 60%|█| 3/5") == Expected("Training", 5.0));
  BOOST_TEST(Derived("step 50/1000\n60%|█| 3/5") == Expected("Training", 5.0));
  BOOST_TEST(Derived("global_step: 50/1000\n60%|█| 3/5") == Expected("Training", 5.0));
}

BOOST_AUTO_TEST_CASE(preprocessing_is_skipped_only_after_training_in_the_window) {
  BOOST_TEST(Derived("Step 10/100\nLoading VAE for validation") == Expected("Validation", 10.0));
  BOOST_TEST(Derived("step 10/100\nCaching latents: 30%|███ | 30/100") ==
             Expected("Training", 10.0));
  // The training line has left the 50-line window: loading is preprocessing again.
  const std::string log = "Step 1/10\n" + Repeat("filler\n", 49) + "Loading model\n";
  BOOST_TEST(Derived(log) == Expected("Preprocessing", std::nullopt));
  BOOST_TEST(Derived("Step 1/10\n" + Repeat("filler\n", 48) + "Loading model\n") ==
             Expected("Training", 10.0));
  // A validation step is no training fraction, so it does not skip preprocessing.
  BOOST_TEST(Derived("Val Step 1/4\nLoading model") == Expected("Preprocessing", std::nullopt));
}

BOOST_AUTO_TEST_CASE(a_one_mib_line_is_matched_on_its_first_4_kib) {
  const std::string huge = "Step 3/4 " + std::string(1 << 20, 'x');
  const Progress p = DeriveRunningProgress("Loading model\n" + huge);
  BOOST_TEST(Show(p.stage) == "\"Training\"");
  BOOST_TEST(Show(p.progress) == "75");
  BOOST_TEST(*p.last_log == "Step 3/4 " + std::string(68, 'x') + "...");
  // Anything past the first 4 KiB of a line is not looked at.
  const std::string late = std::string(5000, 'x') + " step 3/4 checkpoint";
  BOOST_TEST(Derived(late) == Expected("Training", std::nullopt));
  const std::string early = std::string(4000, 'x') + " step 3/4";
  BOOST_TEST(Derived(early) == Expected("Training", 75.0));
}

BOOST_AUTO_TEST_CASE(many_mib_of_log_derive_from_the_end) {
  std::string log;
  for (int step = 1; step <= 200000; ++step) {
    log += "Steps: " + std::to_string(step / 2000) + "%|█| " + std::to_string(step) +
           "/200000 [00:01<00:01, 9.9it/s]\n";
  }
  log += "Running validation\n" + Repeat("\n", 1 << 20);
  BOOST_TEST(log.size() > (8u << 20));
  const Progress p = DeriveRunningProgress(log);
  BOOST_TEST(Show(p.stage) == "\"Validation\"");
  BOOST_TEST(Show(p.progress) == "100");
  BOOST_TEST(Show(p.last_log) == "\"Running validation\"");
}

BOOST_AUTO_TEST_CASE(tqdm_redraws_with_bare_cr_and_crlf) {
  const std::string redraws =
      "Loading model\r\n"
      "Steps:   1%|          | 1/100 [00:01<01:39]\rSteps:   2%|▏         | 2/100 [00:02<01:38]"
      "\rSteps:   3%|▎         | 3/100 [00:03<01:37]\r\n";
  const Progress p = DeriveRunningProgress(redraws);
  BOOST_TEST(Show(p.stage) == "\"Training\"");
  BOOST_TEST(Show(p.progress) == "3");
  BOOST_TEST(Show(p.last_log) == "\"Steps:   3%|▎         | 3/100 [00:03<01:37]\"");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_a_bar_still_parses) {
  const std::string fffd = "\xEF\xBF\xBD";
  const Progress p = DeriveRunningProgress("Steps:  40%|\xFF\xFE\x80  | 400/1000 \xC3");
  BOOST_TEST(Show(p.stage) == "\"Training\"");
  BOOST_TEST(Show(p.progress) == "40");
  BOOST_TEST(*p.last_log == "Steps:  40%|" + fffd + fffd + fffd + "  | 400/1000 " + fffd);
}

BOOST_AUTO_TEST_CASE(last_log_of_a_long_line_with_invalid_bytes) {
  // Every invalid byte is one code point: 100 of them are cut after 77.
  const std::string fffd = "\xEF\xBF\xBD";
  BOOST_TEST(*DeriveRunningProgress(std::string(100, '\xFF')).last_log == Repeat(fffd, 77) + "...");
  BOOST_TEST(*DeriveRunningProgress(std::string(80, '\xFF')).last_log == Repeat(fffd, 80));
  // 81 four-byte code points fill the sanitised prefix exactly.
  BOOST_TEST(
      *DeriveRunningProgress(Repeat("\xF0\x9F\x98\x80", 81) + std::string(1000, 'z')).last_log ==
      Repeat("\xF0\x9F\x98\x80", 77) + "...");
}

BOOST_AUTO_TEST_CASE(keywords_are_case_insensitive_at_word_starts) {
  BOOST_TEST(Derived("VALIDATION images") == Expected("Validation", std::nullopt));
  BOOST_TEST(Derived("Step 1/2\n[Sampling] prompt 1") == Expected("Validation", 50.0));
  BOOST_TEST(Derived("Step 1/2\nprefetching=eval") == Expected("Validation", 50.0));
  BOOST_TEST(Derived("Step 1/2\nretrieval done") == Expected("Training", 50.0));
  BOOST_TEST(Derived("Step 1/2\nrecaching") == Expected("Training", 50.0));
  BOOST_TEST(Derived("GLOBAL_STEP 1/4") == Expected("Training", 25.0));
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

// SPEC §5 step 6: rate and time left come from the suffix of the bar that
// set progress, and only from it.
BOOST_AUTO_TEST_CASE(rate_and_time_left_from_the_training_bar) {
  const Progress p =
      DeriveRunningProgress("Epoch 3/4 Steps: 70%|███ | 700/1000 [01:29<00:38, 7.8it/s]");
  BOOST_TEST(*p.progress == 70.0);
  BOOST_TEST(*p.rate == 7.8);
  BOOST_TEST(*p.eta_seconds == 38);
}

BOOST_AUTO_TEST_CASE(seconds_per_step_and_hours_left) {
  const Progress p = DeriveRunningProgress("Steps:  10%|█ | 100/1000 [30:00<4:30:00, 2.00s/it]");
  BOOST_TEST(*p.progress == 10.0);
  BOOST_TEST(*p.rate == 0.5);
  BOOST_TEST(*p.eta_seconds == 16200);
}

BOOST_AUTO_TEST_CASE(unknown_remaining_gives_null) {
  const Progress p = DeriveRunningProgress("Steps:   0%|          | 0/1000 [00:00<?, ?it/s]");
  BOOST_TEST(*p.progress == 0.0);
  BOOST_TEST(!p.rate.has_value());
  BOOST_TEST(!p.eta_seconds.has_value());
}

BOOST_AUTO_TEST_CASE(bars_without_a_suffix_and_counters_have_no_rate) {
  for (const char* log : {"Steps:  45%|████▌ | 450/1000", "Step 1500/5000 - loss: 0.0234",
                          "epoch 3/10", "Steps:  10% 103/1000 [05:03<44:00]"}) {
    BOOST_TEST_CONTEXT("log: " << log) {
      const Progress p = DeriveRunningProgress(log);
      BOOST_TEST(!p.rate.has_value());
    }
  }
  BOOST_TEST(*DeriveRunningProgress("Steps:  10% 103/1000 [05:03<44:00]").eta_seconds == 2640);
  BOOST_TEST(!DeriveRunningProgress("Step 1500/5000").eta_seconds.has_value());
}

BOOST_AUTO_TEST_CASE(a_validation_bar_never_gives_its_speed) {
  const Progress p = DeriveRunningProgress(
      "Steps:  40%|████ | 400/1000 [10:00<15:00, 0.67it/s]\n"
      "Generating Samples:  50%|█████ | 1/2 [00:03<00:03, 3.1s/it]");
  BOOST_TEST(*p.stage == "Validation");
  BOOST_TEST(*p.progress == 40.0);
  BOOST_TEST(*p.rate == 0.67);
  BOOST_TEST(*p.eta_seconds == 900);
}

BOOST_AUTO_TEST_CASE(a_newer_step_counter_clears_the_older_bars_speed) {
  const Progress p =
      DeriveRunningProgress("Steps:  40%|████ | 400/1000 [10:00<15:00, 0.67it/s]\nstep 500/1000");
  BOOST_TEST(*p.progress == 50.0);
  BOOST_TEST(!p.rate.has_value());
  BOOST_TEST(!p.eta_seconds.has_value());
}

BOOST_AUTO_TEST_CASE(progress_for_status) {
  const Progress stored{"Training", 42.5, "Step 425/1000", 7.8, 73};
  BOOST_TEST((ProgressForStatus(stored, true) == stored));
  const Progress done = ProgressForStatus(stored, false);
  BOOST_TEST(Show(done.stage) == "null");
  BOOST_TEST(Show(done.progress) == "null");
  BOOST_TEST(Show(done.last_log) == "\"Step 425/1000\"");
  BOOST_TEST(!done.rate.has_value());
  BOOST_TEST(!done.eta_seconds.has_value());
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
  // Nothing kept: no read past the end (tests/fuzz/regressions/progress).
  BOOST_TEST(LogTail("a\rb\nc\r", 0) == "");
  BOOST_TEST(LogTail("abc\r", 0) == "");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace jobpulse
