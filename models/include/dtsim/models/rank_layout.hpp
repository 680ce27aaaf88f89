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

// kExpert: the expert-parallel group (MoE all-to-alls); kExpertData: the
// ranks holding the same expert shard (expert gradient reduction);
// kExpertTensor: the ranks splitting one expert's matrices. See ParallelPlan
// for how they fold into the (tensor, data) ranks of a stage.
// kContext: the context-parallel group (ranks splitting one sequence); with
// cp > 1, kData spans the dp x cp ranks that hold the same weights (Megatron
// reduces gradients over data and context parallelism together).
enum class GroupKind : std::uint8_t { kTensor, kData, kPipeline, kExpert, kExpertData, kExpertTensor, kContext };
inline constexpr int kGroupKindCount = 7;
std::string_view to_string(GroupKind g);

struct RankCoord {
  int tp = 0;
  int dp = 0;
  int pp = 0;
  int cp = 0;  // the context-parallel coordinate, inside the data dimension
};

// Context parallelism lives inside the data dimension of `order`: its index
// is cp + CP dp (context fastest, as Megatron numbers tp, cp, dp), so the data
// axis has DP x CP positions.
//
// Expert groups: within a stage, rank (tp, dp, cp) has index
// i = tp + TP (cp + CP dp) and
// expert coordinates (i mod ETP, (i / ETP) mod EP, i / (ETP EP)) for
// (expert_tp, ep, expert_dp), as Megatron-Core's RankGenerator for experts
// numbers them (tensor fastest, then expert, then data).
//
// Example (tp = 2, dp = 2, pp = 2, default order {tensor, data, pipeline}):
//   RankLayout l(plan);
//   l.coord_of(5);                    // {tp 1, dp 0, pp 1}: 5 = 1 + 0*2 + 1*4
//   l.group_of(GroupKind::kData, 5);  // {5, 7}
//   l.peer_in_stage(5, 0);            // 1
//   // with ep = 2, expert_tp = 1: indices 0..3 of stage 1 are ranks 4..7;
//   l.group_of(GroupKind::kExpert, 5);      // {4, 5}: i = 1, expert coords (0, 1, 0)
//   l.group_of(GroupKind::kExpertData, 5);  // {5, 7}
class RankLayout {
 public:
  // Throws InputError ("/tp", "/dp", "/pp", "/order", "/ep", relative to the
  // plan) when a size is below 1, the order does not name each dimension
  // once, or ep x expert_tp does not divide tp x dp.
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
  std::vector<int> expert_group(GroupKind kind, int rank) const;
  int data_index(RankCoord c) const { return c.cp + cp_ * c.dp; }
  int tp_, dp_, pp_, world_;
  int cp_ = 1;
  int ep_ = 1, etp_ = 1, edp_ = 1;
  std::array<ParallelDim, 3> order_;
  std::array<int, 3> stride_{};  // indexed by ParallelDim
};

}  // namespace dtsim::models
