// The tier rule of the fat tree (stated in topology.hpp), shared by
// validate_cluster, which rejects too few explicit tiers before anything is
// built, and the topology, which sizes its tiers with it.
#pragma once

#include <cstdint>

namespace dtsim::hardware::detail {

inline constexpr int kMaxFabricTiers = 8;

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Leaf switches needed for `nodes` nodes of `nics` NICs on switches of
// `half` = radix / 2 down ports: rail-optimized leaves serve one rail each.
inline std::int64_t leaf_count(int nodes, int nics, int half, bool rail) {
  return rail ? ceil_div(nodes, half) * nics : ceil_div(static_cast<std::int64_t>(nodes) * nics, half);
}

// The fewest tiers that join every node: 0 for a single node, else one leaf
// tier plus one more per factor `half` until a single vertex remains.
// O(log nodes); expects nodes, nics >= 1 and half >= 2.
inline int tiers_needed(int nodes, int nics, int half, bool rail) {
  if (nodes <= 1) return 0;
  std::int64_t n = leaf_count(nodes, nics, half, rail);
  int needed = 1;
  while (n > 1) {
    n = ceil_div(n, half);
    ++needed;
  }
  return needed;
}

}  // namespace dtsim::hardware::detail
