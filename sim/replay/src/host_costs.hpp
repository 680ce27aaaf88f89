// What the host side of a step costs the replay (ReplayInputs' host fields),
// from the calibration and the software stack (TrainingSpec::framework).
#pragma once

#include <optional>

#include "dtsim/core/units.hpp"
#include "dtsim/sim/simulation.hpp"

namespace dtsim::sim {

struct HostCosts {
  // A measured eager layer's host time per launch, replacing launch costs.
  std::optional<Duration> per_launch;
  // Without one, PyTorch TP's DTensor extras per GEMM and per TP collective.
  Duration extra_per_gemm;
  Duration extra_per_tp_collective;
};

HostCosts host_costs(const SimulationSpec& spec);

}  // namespace dtsim::sim
