#include "tests/replicate_sim/state.h"

namespace replicate_sim {

std::optional<Fault> TakeFault(SimState& state, const std::string& endpoint) {
  for (auto it = state.faults.rbegin(); it != state.faults.rend(); ++it) {
    if (it->endpoint != "*" && it->endpoint != endpoint) continue;
    Fault fault = *it;
    if (it->remaining > 0 && --it->remaining == 0) {
      // A used-up fault must stop shadowing older ones.
      state.faults.erase(std::next(it).base());
    }
    return fault;
  }
  return std::nullopt;
}

}  // namespace replicate_sim
