#include "lib/cost.h"

namespace jobpulse {

std::optional<double> PriceTable::PricePerSecond(const std::optional<std::string>& sku) const {
  const auto it = per_second.find(sku ? *sku : default_sku);
  if (it == per_second.end()) return std::nullopt;
  return it->second;
}

std::optional<double> PriceTable::Cost(double seconds,
                                       const std::optional<std::string>& sku) const {
  const auto price = PricePerSecond(sku);
  if (!price || !(seconds >= 0)) return std::nullopt;
  return seconds * *price;
}

}  // namespace jobpulse
