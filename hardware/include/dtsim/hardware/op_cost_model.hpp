// How long one kernel takes on one GPU: a roofline over tensor-core compute and
// HBM bandwidth with per-op-class efficiencies, wave quantization for GEMMs,
// and a per-kernel overhead, all taken from a Calibration.
//
// Example:
//   OpCostModel cost(gpu, calibration);
//   Duration t = cost.duration(work);
#pragma once

#include "dtsim/core/units.hpp"
#include "dtsim/core/work.hpp"
#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/cluster_spec.hpp"

namespace dtsim::hardware {

class OpCostModel {
 public:
  OpCostModel(GpuSpec gpu, Calibration calibration);
  Duration duration(const ComputeWork& work) const;
  const GpuSpec& gpu() const { return gpu_; }
  const Calibration& calibration() const { return calibration_; }

 private:
  GpuSpec gpu_;
  Calibration calibration_;
};

}  // namespace dtsim::hardware
