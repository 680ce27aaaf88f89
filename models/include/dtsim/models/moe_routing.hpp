// Where the routed tokens of one MoE layer go: how many (token, expert)
// assignments each rank sends, how many the busiest expert-parallel rank
// computes, and how many a capacity factor drops.
//
// Model (MoeSpec's fields; T = tokens one rank routes, k = top_k,
// E = num_experts, E_l = E / ep local experts, s = hottest_expert_share or
// 1/E when 0, o = (1 - s) / (E - 1) every other expert's share):
//  - every rank routes the same way: T k s assignments to the hottest expert
//    and T k o to each other one;
//  - Megatron's capacity (capacity_factor C > 0) applies per source rank and
//    expert: cap = ceil(C T k / E); assignments beyond it are dropped before
//    the dispatch;
//  - the hottest expert's rank (which also holds E_l - 1 ordinary experts)
//    receives ep (min(T k s, cap) + (E_l - 1) min(T k o, cap)) assignments
//    from the ep ranks of its group: the slowest rank, which sets the pace
//    of the grouped expert GEMMs and of the all-to-all that ends at it.
// Balanced routing without drops gives hottest_rank_assignments = T k.
//
// Example:
//   ExpertLoad l = expert_load(model.moe, 4096, 8);   // Mixtral, EP 8, 4096 tokens
//   l.hottest_rank_assignments;                         // 8192 (= 4096 x top-2)
#pragma once

#include <cstdint>

#include "dtsim/models/model_spec.hpp"

namespace dtsim::models {

struct ExpertLoad {
  std::int64_t assignments = 0;               // T k: (token, expert) pairs a rank routes
  std::int64_t capacity_per_expert = 0;       // cap per source rank and expert; 0 without a capacity factor
  std::int64_t kept_assignments = 0;          // what a rank sends after capacity drops
  std::int64_t hottest_rank_assignments = 0;  // what the busiest EP rank receives and computes
  double dropped_fraction = 0.0;              // of all assignments
};

// Throws InputError when the MoE fields or ep are invalid (validate_model,
// ep >= 1 dividing num_experts) or tokens < 0.
ExpertLoad expert_load(const MoeSpec& moe, std::int64_t tokens, int ep);

}  // namespace dtsim::models
