// Embedding dtsim as a library: rank candidate clusters for one model.
//
// A capacity planner's question: to train Llama-3 70B with a fixed global
// batch, which GPU type and how many GPUs give the shortest step, and what
// does a step cost in GPU-seconds? Each candidate is simulated with the same
// model and batch; plans that do not fit in memory are reported, not ranked.
//
// Run: build/examples/rank_clusters
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/hardware/presets.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/sim/simulation.hpp"

namespace {

struct Candidate {
  std::string node;
  int num_nodes;
  int tp, pp, dp;
};

struct Outcome {
  Candidate c;
  dtsim::sim::Report report;
};

}  // namespace

int main() {
  using namespace dtsim;
  const models::ModelLibrary models = models::builtin_models();
  const hardware::HardwareCatalog hw = hardware::builtin_hardware();

  models::TrainingSpec training;
  training.seq_len = 4096;
  training.global_batch = 256;
  training.micro_batch = 1;
  training.recompute = models::Recompute::kSelective;

  const std::vector<Candidate> candidates{
      {"dgx-a100", 16, 8, 4, 4}, {"dgx-h100", 8, 8, 4, 2}, {"dgx-h100", 16, 8, 4, 4},
      {"dgx-h200", 8, 8, 2, 4},  {"dgx-b200", 8, 8, 2, 4},
  };

  std::vector<Outcome> outcomes;
  for (const Candidate& c : candidates) {
    sim::SimulationSpec spec;
    spec.model = *models.find("llama3-70b");
    spec.training = training;
    spec.plan.tp = c.tp;
    spec.plan.pp = c.pp;
    spec.plan.dp = c.dp;
    spec.plan.sequence_parallel = true;
    spec.plan.zero_stage = 1;
    spec.cluster.node = *hw.find_node(c.node);
    spec.cluster.num_nodes = c.num_nodes;
    spec.cluster.fabric = hardware::default_fabric();
    spec.calibration = hardware::datasheet_defaults(spec.cluster.node.gpu);
    try {
      outcomes.push_back({c, sim::simulate(spec)});
    } catch (const InputError& e) {
      std::printf("skipped %s x%d: %s\n", c.node.c_str(), c.num_nodes, e.what());
    }
  }
  std::sort(outcomes.begin(), outcomes.end(), [](const Outcome& a, const Outcome& b) {
    if (a.report.fits != b.report.fits) return a.report.fits;
    return a.report.step_time < b.report.step_time;
  });
  std::printf("%-10s %5s %-12s %10s %7s %14s %s\n", "node", "GPUs", "tp/pp/dp", "step (s)", "MFU", "GPU-s / step",
              "memory");
  for (const Outcome& o : outcomes) {
    const auto& r = o.report;
    const std::string plan = std::to_string(o.c.tp) + "/" + std::to_string(o.c.pp) + "/" + std::to_string(o.c.dp);
    std::printf("%-10s %5d %-12s %10.3f %6.1f%% %14.1f %s\n", o.c.node.c_str(), r.num_gpus, plan.c_str(),
                r.step_time.seconds(), 100.0 * r.mfu, r.step_time.seconds() * r.num_gpus,
                r.fits ? "fits" : r.oom_message.c_str());
  }
  return outcomes.empty() ? 1 : 0;
}
