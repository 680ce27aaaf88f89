// How long one kernel takes on one GPU: a roofline over tensor-core compute and
// HBM bandwidth with per-op-class efficiencies, wave quantization for GEMMs,
// and a per-kernel overhead, all taken from a Calibration:
//
//   time = max(flops / (peak * compute_eff * wave_eff),
//              (bytes_read + bytes_written) / (hbm * memory_eff))
//          + kernels * kernel_overhead
//
//  - peak: GEMM and attention run on tensor cores: bf16/fp16 use peak_bf16,
//    fp8 peak_fp8 (peak_bf16 where the GPU has none), fp32 peak_fp32 (PyTorch
//    keeps TF32 off for matmuls by default, so fp32 GEMMs run at the SIMT rate).
//    Every other class runs on the SIMT units at peak_fp32 whatever the dtype.
//  - compute_eff: the class's compute_efficiency (fp8_compute_efficiency for fp8).
//  - wave_eff (when the work has a GemmShape): tiles = ceil(M/tile_m) *
//    ceil(N/tile_n) * batch, waves = ceil(tiles / sm_count), wave_eff =
//    tiles / (waves * sm_count); a partial last wave costs a full one. 1 otherwise.
//  - A fitted calibration also shapes the compute efficiency by measurement
//    (efficiency_tables.hpp): GEMMs multiply compute_eff x wave_eff by
//    K / (K + gemm_k_half) and by the measured-sample correction; attention
//    takes the measured efficiency for its sequence length and head width in
//    place of compute_eff (distinct QK and V widths, MLA's: their mean),
//    times its launch tail's factor (attention_tail_factor).
//  - Zero work costs kernels * kernel_overhead.
// The constructor throws InputError for a GPU or calibration that fails
// validate_cluster / validate_calibration's checks.
//
// Example:
//   OpCostModel cost(gpu, calibration);
//   Duration t = cost.duration(work);
#pragma once

#include <algorithm>

#include "dtsim/core/units.hpp"
#include "dtsim/core/work.hpp"
#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/cluster_spec.hpp"
#include "dtsim/hardware/efficiency_tables.hpp"

namespace dtsim::hardware {

// Thread blocks of a fused attention kernel: one per 128-row tile of the
// query sequence, per batch entry and query head.
std::int64_t attention_blocks(const AttentionShape& a);
// B / (B + blocks_per_sm x sm_count), B = attention_blocks(a), for the
// calibration's tail of a's kernel and direction (AttentionTail); 1 without one.
double attention_tail_factor(const Calibration& cal, const GpuSpec& gpu, const AttentionShape& a);

class OpCostModel {
 public:
  OpCostModel(GpuSpec gpu, Calibration calibration);
  Duration duration(const ComputeWork& work) const;
  // The terms of duration(), for reports and tests.
  FlopRate peak_for(const ComputeWork& work) const;
  double wave_efficiency(const GemmShape& shape) const;
  // The compute efficiency applied to `work` (class efficiency, wave losses and
  // the fitted tables); 0 for work without FLOPs.
  double compute_efficiency(const ComputeWork& work) const;
  // What launching `work` costs the host: kernels x the calibration's
  // host.kernel_launch (zero without host costs).
  Duration host_issue_time(const ComputeWork& work) const {
    return calibration_.host.kernel_launch * std::max<std::int64_t>(work.kernels, 0);
  }
  const GpuSpec& gpu() const { return gpu_; }
  const Calibration& calibration() const { return calibration_; }

 private:
  GpuSpec gpu_;
  Calibration calibration_;
  GemmEfficiencyTable gemm_table_;
  AttentionEfficiencyTable attention_table_;

  double parametric_gemm_efficiency(const GemmShape& shape, DType dtype) const;
};

}  // namespace dtsim::hardware
