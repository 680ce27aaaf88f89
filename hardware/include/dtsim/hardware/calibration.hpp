// Every efficiency, overhead and latency the cost models use, as data. A
// Calibration is either datasheet-derived defaults (named "datasheet-defaults")
// or fitted from measured microbenchmarks (`dtsim calibrate`), and every
// prediction reports which one it used.
#pragma once

#include <array>
#include <string>

#include "dtsim/core/units.hpp"
#include "dtsim/core/work.hpp"
#include "dtsim/hardware/cluster_spec.hpp"

namespace dtsim::hardware {

// Roofline parameters of one op class: time = max(flops / (peak * compute_eff),
// bytes / (hbm * memory_eff)) + kernel_overhead per kernel.
struct OpClassParams {
  double compute_efficiency = 1.0;  // fraction of the dense peak reached on large shapes
  double memory_efficiency = 1.0;   // fraction of HBM bandwidth reached on large streams
  Duration kernel_overhead;         // launch + tail cost per kernel
};

struct CollectiveParams {
  // Achievable fraction of link bandwidth per link class (protocol overhead).
  double nvlink_efficiency = 1.0;
  double network_efficiency = 1.0;
  Duration base_latency;          // per collective call (launch, setup)
  Duration intra_hop_latency;     // per algorithm step over NVLink
  Duration inter_hop_latency;     // per algorithm step over the network
};

struct Calibration {
  std::string name = "datasheet-defaults";
  std::string source;  // profile(s) it was fitted from, or the reference for defaults
  std::array<OpClassParams, kOpClassCount> op{};  // indexed by OpClass
  // GEMM tile used for wave-quantization losses: output tiles of tile_m x tile_n
  // spread over sm_count SMs; a partial last wave costs a full wave.
  int gemm_tile_m = 128;
  int gemm_tile_n = 256;
  CollectiveParams collective;

  const OpClassParams& params(OpClass c) const { return op[static_cast<std::size_t>(c)]; }
  OpClassParams& params(OpClass c) { return op[static_cast<std::size_t>(c)]; }
};

// Defaults derived from datasheets and published measurements (reference §3, §4),
// for the given GPU generation.
Calibration datasheet_defaults(const GpuSpec& gpu);

}  // namespace dtsim::hardware
