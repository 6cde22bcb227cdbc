// Hardware prices and cost (SPEC §3, reference/replicate.md §6).
// A value type built from the configuration; thread-safe for reads.
#ifndef JOBPULSE_LIB_COST_H_
#define JOBPULSE_LIB_COST_H_

#include <map>
#include <optional>
#include <string>

namespace jobpulse {

struct PriceTable {
  std::map<std::string, double> per_second;  // $/s keyed by exact SKU ("gpu-h100-2x")
  std::string default_sku = "gpu-l40s";      // used when a job names no hardware

  // Price of `sku`, or of default_sku when `sku` is unset; nullopt when the SKU
  // (or the default) is not in the table.
  std::optional<double> PricePerSecond(const std::optional<std::string>& sku) const;

  // seconds * price, nullopt when the price is unknown or seconds < 0.
  std::optional<double> Cost(double seconds, const std::optional<std::string>& sku) const;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_COST_H_
