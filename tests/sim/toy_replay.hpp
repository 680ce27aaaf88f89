// Replays hand-built programs on a machine with a calibration: the inputs the
// closed-form replay tests share (no host costs, no compute slowdown under
// communication, so every expected time stays a closed form).
#pragma once

#include <vector>

#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/cluster_spec.hpp"
#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/hardware/op_cost_model.hpp"
#include "dtsim/hardware/topology.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/program.hpp"
#include "dtsim/models/rank_layout.hpp"
#include "replay.hpp"

namespace dtsim::testing {

inline sim::ReplayResult replay_programs(const std::vector<models::Program>& programs, const models::ParallelPlan& plan,
                                         const hardware::ClusterSpec& cluster, const hardware::Calibration& cal,
                                         hardware::CollectiveAlgorithm algorithm, bool symmetric) {
  const models::RankLayout layout(plan);
  const hardware::Topology topology(cluster, cal);
  const hardware::OpCostModel cost(cluster.node.gpu, cal);
  sim::ReplayInputs in;
  in.programs = &programs;
  in.layout = &layout;
  in.topology = &topology;
  in.cost = &cost;
  in.collective_params = cal.collective;
  in.algorithm = algorithm;
  in.symmetric = symmetric;
  return sim::replay(in);
}

}  // namespace dtsim::testing
