#include <catch2/catch.hpp>

#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/rank_layout.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

ParallelPlan plan_of(int tp, int dp, int pp) {
  ParallelPlan p;
  p.tp = tp;
  p.dp = dp;
  p.pp = pp;
  return p;
}

}  // namespace

TEST_CASE("default order: tensor innermost, then data, then pipeline", "[rank_layout]") {
  // rank = tp + dp * TP + pp * TP * DP with TP = 2, DP = 3, PP = 4: 24 ranks.
  const RankLayout l(plan_of(2, 3, 4));
  CHECK(l.world_size() == 24);
  CHECK(l.num_classes() == 4);
  for (int r = 0; r < 24; ++r) {
    const RankCoord c = l.coord_of(r);
    CHECK(c.tp == r % 2);
    CHECK(c.dp == (r / 2) % 3);
    CHECK(c.pp == r / 6);
    CHECK(l.rank_of(c) == r);
    CHECK(l.class_of(r) == r / 6);
  }
  // Rank 15 = tp 1, dp 1, pp 2.
  CHECK(l.group_of(GroupKind::kTensor, 15) == std::vector<int>{14, 15});
  CHECK(l.group_of(GroupKind::kData, 15) == std::vector<int>{13, 15, 17});
  CHECK(l.group_of(GroupKind::kPipeline, 15) == std::vector<int>{3, 9, 15, 21});
  CHECK(l.group_size(GroupKind::kTensor) == 2);
  CHECK(l.group_size(GroupKind::kData) == 3);
  CHECK(l.group_size(GroupKind::kPipeline) == 4);
  CHECK(l.peer_in_stage(15, 0) == 3);
  CHECK(l.peer_in_stage(15, 3) == 21);
}

TEST_CASE("a custom order changes the strides", "[rank_layout]") {
  // order {pipeline, tensor, data}: rank = pp + tp * PP + dp * PP * TP with PP = 2, TP = 4, DP = 2.
  ParallelPlan p = plan_of(4, 2, 2);
  p.order = {ParallelDim::kPipeline, ParallelDim::kTensor, ParallelDim::kData};
  const RankLayout l(p);
  for (int r = 0; r < 16; ++r) {
    const RankCoord c = l.coord_of(r);
    CHECK(c.pp == r % 2);
    CHECK(c.tp == (r / 2) % 4);
    CHECK(c.dp == r / 8);
    CHECK(l.rank_of(c) == r);
  }
  // Rank 11 = pp 1, tp 1, dp 1.
  CHECK(l.group_of(GroupKind::kTensor, 11) == std::vector<int>{9, 11, 13, 15});
  CHECK(l.group_of(GroupKind::kPipeline, 11) == std::vector<int>{10, 11});
  CHECK(l.group_of(GroupKind::kData, 11) == std::vector<int>{3, 11});
}

TEST_CASE("every rank is in exactly one group of each kind", "[rank_layout]") {
  // Groups of one kind partition the world: counting memberships gives 1 per rank.
  const RankLayout l(plan_of(2, 2, 3));
  for (const auto kind : {GroupKind::kTensor, GroupKind::kData, GroupKind::kPipeline}) {
    std::vector<int> seen(12, 0);
    for (int r = 0; r < 12; ++r) {
      const auto g = l.group_of(kind, r);
      if (g.front() != r) continue;  // count each group once, from its first member
      for (const int m : g) ++seen[static_cast<std::size_t>(m)];
    }
    for (const int s : seen) CHECK(s == 1);
  }
}

TEST_CASE("a layout rejects sizes below one and repeated dimensions", "[rank_layout][reject]") {
  CHECK_THROWS_WITH(RankLayout(plan_of(0, 1, 1)), "/tp: tp = 0; expected an integer >= 1");
  CHECK_THROWS_WITH(RankLayout(plan_of(1, -2, 1)), "/dp: dp = -2; expected an integer >= 1");
  CHECK_THROWS_WITH(RankLayout(plan_of(1, 1, 0)), "/pp: pp = 0; expected an integer >= 1");
  ParallelPlan p = plan_of(2, 2, 2);
  p.order = {ParallelDim::kData, ParallelDim::kData, ParallelDim::kPipeline};
  CHECK_THROWS_WITH(RankLayout(p), "/order: order must name tensor, data and pipeline once each");
}

TEST_CASE("group kinds have names", "[rank_layout]") {
  CHECK(to_string(GroupKind::kTensor) == "tensor");
  CHECK(to_string(GroupKind::kData) == "data");
  CHECK(to_string(GroupKind::kPipeline) == "pipeline");
}
