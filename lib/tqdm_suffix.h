// A tqdm bar's suffix, "[elapsed<remaining, rate]" (SPEC §5 step 6): how fast
// the bar moves and how long it has left. Pure functions; thread-safe.
//
//   "[01:29<00:38, 7.8it/s]"       rate 7.8, eta 38
//   "[1:02:03<2:00:00, 1.25s/it]"  rate 0.8 (1/1.25), eta 7200
//   "[00:00<?, ?it/s]"             rate null, eta null (tqdm does not know yet)
//   "[05:03<44:00]"                rate null, eta 2640
// A postfix after the rate ("7.8it/s, loss=0.1]") is ignored.
#ifndef JOBPULSE_LIB_TQDM_SUFFIX_H_
#define JOBPULSE_LIB_TQDM_SUFFIX_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace jobpulse {

struct BarSpeed {
  std::optional<double> rate;          // steps per second, 3 significant digits
  std::optional<int64_t> eta_seconds;  // the bar's "remaining"

  bool operator==(const BarSpeed&) const = default;
};

// Reads the suffix at the start of `rest` (what follows a bar's "a/b" on its
// line; leading blanks are skipped). nullopt when `rest` does not start with a
// "[...<...]" suffix: a bar without one has neither rate nor time left. ASCII
// case-insensitive ("IT/S" reads as "it/s").
std::optional<BarSpeed> ParseTqdmSuffix(std::string_view rest);

// `value` rounded to 3 significant digits (7.777 -> 7.78, 0.012345 -> 0.0123,
// 1234.5 -> 1230); non-finite or non-positive values unchanged.
double RoundSignificant3(double value);

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_TQDM_SUFFIX_H_
