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
  // Where the calibration measured the forward's share of the block's host
  // time: the rate of forward launches, per_launch then being the rate of
  // every other launch (recompute, backward, optimizer).
  std::optional<Duration> per_forward_launch;
  // Without one, PyTorch TP's DTensor extras per GEMM and per TP collective.
  Duration extra_per_gemm;
  Duration extra_per_tp_collective;
  // PyTorch's data-parallel wrapper (DDP without ZeRO, FSDP2 under ZeRO-3):
  // FSDP2's host work per all-gather and reduce-scatter beyond what their
  // launches and copies are charged; DDP's per layer.
  Duration extra_per_dp_all_gather;
  Duration extra_per_dp_reduce_scatter;
  Duration ddp_per_layer;
};

HostCosts host_costs(const SimulationSpec& spec);

}  // namespace dtsim::sim
