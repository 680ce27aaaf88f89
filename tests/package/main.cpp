// Predicts one small scenario through the installed library's public API.
#include <cstdio>

#include "dtsim/hardware/presets.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/sim/simulation.hpp"

int main() {
  const auto models = dtsim::models::builtin_models();
  const auto hw = dtsim::hardware::builtin_hardware();
  dtsim::sim::SimulationSpec spec;
  spec.model = *models.find("llama3-8b");
  spec.training.seq_len = 4096;
  spec.training.global_batch = 16;
  spec.training.micro_batch = 1;
  spec.plan.tp = 8;
  spec.plan.dp = 1;
  spec.cluster.node = *hw.find_node("dgx-h100");
  spec.cluster.num_nodes = 1;
  spec.cluster.fabric = dtsim::hardware::default_fabric();
  spec.calibration = dtsim::hardware::datasheet_defaults(spec.cluster.node.gpu);
  const auto r = dtsim::sim::simulate(spec);
  std::printf("step %.6f s, mfu %.3f\n", r.step_time.seconds(), r.mfu);
  return r.step_time.seconds() > 0.0 ? 0 : 1;
}
