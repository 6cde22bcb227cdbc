// How a SimpleTuner-like training looks while it runs, shared by demo runs and
// by runs created through /v1: the log text for a stretch of progress (tqdm
// bars, and every 250 steps a checkpoint and a validation pass with its own
// sample bar) and the step that moves a run along its Pace.
#ifndef JOBPULSE_TESTS_REPLICATE_SIM_PROGRESS_H_
#define JOBPULSE_TESTS_REPLICATE_SIM_PROGRESS_H_

#include <cstdint>
#include <string>

#include "tests/replicate_sim/model.h"

namespace replicate_sim {

inline constexpr int kTrainSteps = 1000;

// Log text for progress moving from `from` to `to` (fractions of the processing
// time; from < 0 means the run just started processing).
std::string LogsBetween(double from, double to, double duration_s);

// The log a run would have accumulated by progress `upto`, built tick by tick
// (2 s apart) so a run seeded mid-way looks like it was polled all along.
std::string BackfillLogs(double upto, double duration_s);

// Moves `run` along its pace at `now` (microseconds): "starting" becomes
// "processing" at pace.processing_at, logs grow with the elapsed time, and the
// run succeeds after pace.duration_s (or fails at pace.fail_at with a CUDA
// out-of-memory traceback). A run in any other status is left alone, so a
// status set through the control API wins. True when the run ended. `run.pace`
// must be set.
bool AdvanceRun(Run& run, int64_t now);

}  // namespace replicate_sim

#endif  // JOBPULSE_TESTS_REPLICATE_SIM_PROGRESS_H_
