// Maps global ranks to (tp, dp, pp) coordinates and process groups.
//
// Global rank r runs on GPU r; GPUs are numbered node-major, so with the
// default order a TP group of size <= GPUs per node stays inside one node.
// Ranks with the same pipeline coordinate run the same Program: they form a
// rank class, which the symmetric replay simulates once.
#pragma once

#include <cstdint>
#include <vector>

#include "dtsim/models/parallel_plan.hpp"

namespace dtsim::models {

enum class GroupKind : std::uint8_t { kTensor, kData, kPipeline };
std::string_view to_string(GroupKind g);

struct RankCoord {
  int tp = 0;
  int dp = 0;
  int pp = 0;
};

// Example (tp = 2, dp = 2, pp = 2, default order {tensor, data, pipeline}):
//   RankLayout l(plan);
//   l.coord_of(5);                    // {tp 1, dp 0, pp 1}: 5 = 1 + 0*2 + 1*4
//   l.group_of(GroupKind::kData, 5);  // {5, 7}
//   l.peer_in_stage(5, 0);            // 1
class RankLayout {
 public:
  // Throws InputError ("/tp", "/dp", "/pp", "/order", relative to the plan)
  // when a size is below 1 or the order does not name each dimension once.
  explicit RankLayout(const ParallelPlan& plan);

  int world_size() const { return world_; }
  RankCoord coord_of(int rank) const;
  int rank_of(RankCoord c) const;
  // Members of `rank`'s group of this kind, ordered by their coordinate along it.
  std::vector<int> group_of(GroupKind kind, int rank) const;
  // Size of a group of this kind.
  int group_size(GroupKind kind) const;
  // The rank class (pipeline stage) of a rank, and the number of classes.
  int class_of(int rank) const { return coord_of(rank).pp; }
  int num_classes() const { return pp_; }
  // The rank that runs stage `stage` with the same tp and dp coordinates as `rank`.
  int peer_in_stage(int rank, int stage) const;

 private:
  int size_of(ParallelDim d) const;
  int tp_, dp_, pp_, world_;
  std::array<ParallelDim, 3> order_;
  std::array<int, 3> stride_{};  // indexed by ParallelDim
};

}  // namespace dtsim::models
