#include "dtsim/models/moe_routing.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "dtsim/core/error.hpp"

namespace dtsim::models {

ExpertLoad expert_load(const MoeSpec& moe, std::int64_t tokens, int ep) {
  if (!moe.enabled() || moe.top_k < 1 || moe.top_k > moe.num_experts) {
    throw InputError("/model/top_k", "expert routing needs num_experts >= 1 and 1 <= top_k <= num_experts; got " +
                                         std::to_string(moe.num_experts) + " experts, top_k " +
                                         std::to_string(moe.top_k));
  }
  if (ep < 1 || moe.num_experts % ep != 0) {
    throw InputError("/plan/ep", "ep = " + std::to_string(ep) + " must be >= 1 and divide num_experts = " +
                                     std::to_string(moe.num_experts));
  }
  if (tokens < 0) throw InputError("/training", "negative token count " + std::to_string(tokens));
  const double e = static_cast<double>(moe.num_experts);
  const double tk = static_cast<double>(tokens) * static_cast<double>(moe.top_k);
  const double hot_share = moe.hottest_expert_share > 0.0 ? moe.hottest_expert_share : 1.0 / e;
  const double other_share = (1.0 - hot_share) / (e - 1.0);
  const double hot = tk * hot_share;
  const double other = tk * other_share;

  ExpertLoad out;
  out.assignments = tokens * moe.top_k;
  double cap = hot + other;  // never binding
  if (moe.capacity_factor > 0.0) {
    out.capacity_per_expert = static_cast<std::int64_t>(std::ceil(moe.capacity_factor * tk / e));
    cap = static_cast<double>(out.capacity_per_expert);
  }
  const double kept_hot = std::min(hot, cap);
  const double kept_other = std::min(other, cap);
  const double kept = kept_hot + (e - 1.0) * kept_other;
  const double local_experts = e / static_cast<double>(ep);
  out.kept_assignments = std::llround(kept);
  out.hottest_rank_assignments = std::llround(static_cast<double>(ep) * (kept_hot + (local_experts - 1.0) * kept_other));
  out.dropped_fraction = tk > 0.0 ? (tk - kept) / tk : 0.0;
  return out;
}

}  // namespace dtsim::models
