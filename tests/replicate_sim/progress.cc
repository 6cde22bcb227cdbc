#include "tests/replicate_sim/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace replicate_sim {
namespace {

constexpr int kTotalSteps = kTrainSteps;
constexpr int kEpochs = 4;
constexpr int kImages = 400;
// Progress fractions at which the phases of a run change.
constexpr double kPreprocessEnd = 0.12;
constexpr double kTrainEnd = 0.96;
constexpr int64_t kSecond = 1000000;
// Every 250 steps but the last, training pauses for a validation pass that
// renders kSamples images under its own tqdm bar, as SimpleTuner does. A pass
// takes kValidationSpan of the run (about 6 s, three 2 s ticks), long enough
// for the page to show stage Validation while the training percent stays put.
constexpr int kValidationEvery = 250;
constexpr int kValidationPasses = kTotalSteps / kValidationEvery - 1;
constexpr int kSamples = 2;
constexpr double kValidationSpan = 0.04;
// The run fraction one training step takes, validation pauses excluded.
constexpr double kStepSpan =
    (kTrainEnd - kPreprocessEnd - kValidationPasses * kValidationSpan) / kTotalSteps;

std::string Printf(const char* format, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

// The run fraction at which training reaches `step` (before its validation
// pass, if it has one).
double StepReachedAt(int step) {
  const int passes_before = std::clamp((step - 1) / kValidationEvery, 0, kValidationPasses);
  return kPreprocessEnd + step * kStepSpan + passes_before * kValidationSpan;
}

// Where training is at run fraction `f`: its step, and during a validation
// pass how many samples that pass has rendered (-1 outside a pass).
struct TrainingPoint {
  int step = 0;
  int samples_done = -1;
};

TrainingPoint TrainingAt(double f) {
  int passes_done = 0;
  for (int pass = 1; pass <= kValidationPasses; ++pass) {
    const double into_pass = f - StepReachedAt(pass * kValidationEvery);
    if (into_pass < 0) break;
    if (into_pass < kValidationSpan) {
      return {pass * kValidationEvery, static_cast<int>(into_pass / kValidationSpan * kSamples)};
    }
    passes_done = pass;
  }
  const double training = f - kPreprocessEnd - passes_done * kValidationSpan;
  int step = std::clamp(static_cast<int>(training / kStepSpan), 0, kTotalSteps);
  // Settle rounding against StepReachedAt, which decides when milestones print.
  while (step < kTotalSteps && StepReachedAt(step + 1) <= f) ++step;
  while (step > 0 && StepReachedAt(step) > f) --step;
  return {step, -1};
}

// A decaying curve with a little deterministic wobble, so successive values are
// not suspiciously monotonic but the same step always reports the same loss.
double LossAt(int step) {
  return (0.03 + 0.13 * std::exp(-step / 450.0)) * (1 + 0.05 * std::sin(step * 12.9898));
}

std::string Clock(double seconds) {
  const int s = std::max(0, static_cast<int>(seconds));
  return Printf("%02d:%02d", s / 60, s % 60);
}

// A 10-cell tqdm bar for `done` of `total`, in 1/8 cells.
std::string Bar(int done, int total) {
  static const char* kEighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  const int eighths = done * 10 * 8 / total;
  std::string bar;
  for (int i = 0; i < eighths / 8; ++i) bar += "█";
  bar += kEighths[eighths % 8];
  const int cells = eighths / 8 + (eighths % 8 ? 1 : 0);
  return bar + std::string(10 - cells, ' ');
}

// One tqdm progress line, as SimpleTuner prints it.
std::string ProgressLine(int step, double f, double duration_s) {
  const int epoch = std::clamp((std::max(step, 1) - 1) / (kTotalSteps / kEpochs) + 1, 1, kEpochs);
  const int percent = step * 100 / kTotalSteps;
  const double elapsed = std::max(0.0, (f - kPreprocessEnd) * duration_s);
  const double rate = elapsed > 0 ? step / elapsed : 0;
  const double remaining = rate > 0 ? (kTotalSteps - step) / rate : 0;
  return Printf("Epoch %d/%d Steps: %3d%%|%s| %d/%d [%s<%s, %.1fit/s] loss=%.4f\n", epoch, kEpochs,
                percent, Bar(step, kTotalSteps).c_str(), step, kTotalSteps, Clock(elapsed).c_str(),
                Clock(remaining).c_str(), rate, LossAt(step));
}

// The validation pass's own tqdm bar after `done` samples; its percent and
// total are not training's, and the derivation must keep the training percent.
std::string SamplesLine(int done, double duration_s) {
  const double per_sample = kValidationSpan / kSamples * duration_s;
  const std::string timing =
      done == 0 ? "00:00<?, ?it/s"
                : Printf("%s<%s, %.2fs/it", Clock(done * per_sample).c_str(),
                         Clock((kSamples - done) * per_sample).c_str(), per_sample);
  return Printf("Generating Samples: %3d%%|%s| %d/%d [%s]\n", done * 100 / kSamples,
                Bar(done, kSamples).c_str(), done, kSamples, timing.c_str());
}

// What happens when training reaches the milestone step `b`: its progress bar
// and a summary line, then a checkpoint every 500 steps and a validation pass.
std::string MilestoneLogs(int b, double duration_s) {
  std::string out = ProgressLine(b, StepReachedAt(b), duration_s);
  out += Printf("Step %d/%d - loss: %.4f\n", b, kTotalSteps, LossAt(b));
  if (b >= kTotalSteps) return out;
  if (b % 500 == 0) out += Printf("Saving checkpoint to /output/checkpoint-%d\n", b);
  out += Printf("Running validation: generating %d images\n", kSamples);
  out += "Loading pipeline components...: 100%|██████████| 7/7 [00:01<00:00,  5.12it/s]\n";
  return out;
}

}  // namespace

std::string LogsBetween(double from, double to, double duration_s) {
  std::string out;
  if (from < 0) {
    out += "Loading model weights...\n";
    out += "Loading pipeline components: text_encoder, tokenizer, vae, transformer\n";
    out += Printf("Preprocessing dataset: 0/%d images\n", kImages);
    from = 0;
  }
  if (to <= from) return out;
  if (from < kPreprocessEnd) {
    const double upto = std::min(to, kPreprocessEnd);
    const int images = static_cast<int>(upto / kPreprocessEnd * kImages) / 40 * 40;
    if (images > 0 && images < kImages) {
      out += Printf("Preprocessing dataset: %d/%d images\n", images, kImages);
    }
    if (to >= kPreprocessEnd) {
      out += Printf("Preprocessing dataset: %d/%d images\n", kImages, kImages);
      out += "Warming up learning rate\n";
    }
  }
  if (to > kPreprocessEnd) {
    const double start = std::max(from, kPreprocessEnd);
    const auto happens = [&](double at) { return start < at && at <= to; };
    for (int b = kValidationEvery; b <= kTotalSteps; b += kValidationEvery) {
      const double reached = StepReachedAt(b);
      if (happens(reached)) out += MilestoneLogs(b, duration_s);
      if (b >= kTotalSteps) continue;
      for (int done = 0; done <= kSamples; ++done) {
        if (happens(reached + kValidationSpan * done / kSamples)) {
          out += SamplesLine(done, duration_s);
        }
      }
    }
    // Between milestones the bar is redrawn at every tick.
    const TrainingPoint now = TrainingAt(to);
    if (now.samples_done < 0 && now.step % kValidationEvery != 0 &&
        now.step > TrainingAt(start).step) {
      out += ProgressLine(now.step, to, duration_s);
    }
  }
  if (from < kTrainEnd && to >= kTrainEnd) {
    out += "Saving final model to /output/final\n";
    out += "Uploading weights (pytorch_lora_weights.safetensors, 171.2 MB)\n";
  }
  if (to >= 1.0) out += "Training complete.\n";
  return out;
}

std::string BackfillLogs(double upto, double duration_s) {
  const double tick = 2.0 / duration_s;
  std::string out = LogsBetween(-1, 0, duration_s);
  for (double f = 0; f < upto;) {
    const double next = std::min(upto, f + tick);
    out += LogsBetween(f, next, duration_s);
    f = next;
  }
  return out;
}

bool AdvanceRun(Run& run, int64_t now) {
  Pace& pace = *run.pace;
  if (run.status == "starting") {
    if (now < pace.processing_at) return false;
    ApplyStatus(run, "processing", now);
  }
  // A status set through the control API (an unknown one, say) is left alone.
  if (run.status != "processing") return false;
  const double elapsed = static_cast<double>(now - *run.started_at) / kSecond;
  const double f = std::min(1.0, elapsed / pace.duration_s);
  if (pace.fail && f >= pace.fail_at) {
    run.logs += LogsBetween(pace.logged, pace.fail_at, pace.duration_s);
    run.logs += "Traceback (most recent call last):\n";
    run.logs += "  File \"/src/simpletuner/train.py\", line 412, in train\n";
    run.logs +=
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a "
        "total capacity of 44.52 GiB of which 1.21 GiB is free.\n";
    run.error = "CUDA out of memory";
    ApplyStatus(run, "failed", now);
    return true;
  }
  run.logs += LogsBetween(pace.logged, f, pace.duration_s);
  pace.logged = f;
  if (f >= 1.0) {
    ApplyStatus(run, "succeeded", now);
    return true;
  }
  return false;
}

}  // namespace replicate_sim
