// The replay's entry point: everything one prediction needs, and the call.
//
// Example:
//   SimulationSpec spec{model, training, plan, cluster, calibration, {}};
//   Report r = simulate(spec);
//   std::cout << r.step_time.seconds();
#pragma once

#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/cluster_spec.hpp"
#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/training_spec.hpp"
#include "dtsim/sim/report.hpp"

namespace dtsim::sim {

struct SimulationOptions {
  // Simulate one rank per rank class (pipeline stage) instead of every rank.
  // Exact when ranks of a class see symmetric network positions; the test
  // suite checks it equals the full replay on cases small enough to run both.
  bool use_symmetry = true;
  // Keep every task's start and end for the trace (costs memory).
  bool record_timeline = false;
  hardware::CollectiveAlgorithm algorithm = hardware::CollectiveAlgorithm::kAuto;
  // Guard against runaway models: abort after this many events.
  std::uint64_t event_limit = 2'000'000'000;
};

struct SimulationSpec {
  models::ModelSpec model;
  models::TrainingSpec training;
  models::ParallelPlan plan;
  hardware::ClusterSpec cluster;
  hardware::Calibration calibration;
  SimulationOptions options;
};

// Throws InputError if the plan does not fit the model or cluster (e.g. the
// plan's world size differs from the GPU count), InternalError on a bug.
Report simulate(const SimulationSpec& spec);

}  // namespace dtsim::sim
