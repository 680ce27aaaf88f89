// `dtsim calibrate`'s fitting: measured microbenchmark profiles in, a
// Calibration out, with how well it reproduces the measurements.
//
// What is fitted, starting from datasheet_defaults(gpu) (every figure not
// fitted keeps its datasheet value):
//  - host: kernel_launch = median eager host enqueue time over the launch
//    records; collective_launch = median over collectives <= 1 MiB of
//    (host-bound time - GPU time).
//  - GEMM (bf16, and fp8 when measured): least squares (Eigen) of
//    peak x wave(M, N) / achieved = a + b / K over every record, giving
//    compute_efficiency = 1 / a and gemm_k_half = b / a, for each candidate
//    GEMM tile (128x128, 128x256, 256x128; the best fit wins); then every
//    record becomes a GemmSample (efficiency net of the per-kernel floor).
//    kernel_overhead of GEMM and attention: the CUDA-graph GPU time of the
//    smallest measured matmul.
//  - Attention (flash backend, native GQA or MHA): an AttentionSample per
//    (sequence, head width), forward from forward-only records and backward
//    from (forward+backward) - forward; the class efficiency is their median.
//  - Memory-bound classes: per class, least squares of
//    time = kernels x t0 + bytes x c  (rows weighted by 1 / time, i.e.
//    relative error), giving kernel_overhead = t0 and memory_efficiency =
//    1 / (c x HBM bandwidth). copy -> memcpy; add, gelu, silu_mul ->
//    elementwise (also embedding, which is not measured); rmsnorm,
//    layernorm -> normalization; softmax, cross_entropy -> softmax; casts ->
//    cast; fused AdamW -> optimizer.
//  - Collectives inside one node: base and per-hop NVLink latency by least
//    squares over the smallest message of every (kind, group size) (time =
//    base + steps x hop); then a curve per (kind, group size) whose factor at
//    each measured size makes plan_collective's contention-free estimate
//    equal the measurement (collective_curve.hpp).
//
// Residuals are relative errors |predicted / measured - 1| of the fitted
// calibration on the measurements, per group (an op class, a memory-bound
// op, a collective kind and group size). "held_out" residuals come from a
// second fit on every other record (sorted by size) predicting the rest, for
// the tables that interpolate between measurements.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/cluster_spec.hpp"
#include "dtsim/hardware/microbench_profile.hpp"

namespace dtsim::hardware {

struct FitResidual {
  std::string group;         // "gemm bf16", "attention fwd", "rmsnorm", "all_reduce x4 >= 1 MiB", ...
  std::string kind;          // "in_sample" or "held_out"
  int samples = 0;
  double mean_abs_error = 0.0;    // mean of |predicted / measured - 1|
  double max_abs_error = 0.0;
};

struct CalibrationFit {
  Calibration calibration;
  std::vector<FitResidual> residuals;
};

// `node` is the machine the profiles were measured on (its GPU and NVLink
// figures set the peaks and link bandwidths the efficiencies are relative
// to). Throws InputError when a profile lacks what a fit needs (no GEMM
// records, ...), naming the profile and the suite.
CalibrationFit fit_calibration(std::span<const MicrobenchProfile> profiles, const NodeSpec& node, std::string name);

// How well `calibration` predicts the collectives of `profile`, measurements
// it was not fitted on (e.g. sizes between the fitted ones): residuals of
// kind "checked", per collective kind and group size, all sizes and >= 1 MiB.
std::vector<FitResidual> check_collectives(const MicrobenchProfile& profile, const NodeSpec& node,
                                           const Calibration& calibration);

}  // namespace dtsim::hardware
