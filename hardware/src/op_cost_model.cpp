#include "dtsim/hardware/op_cost_model.hpp"

#include <algorithm>
#include <utility>

#include "dtsim/core/error.hpp"

namespace dtsim::hardware {

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

OpCostModel::OpCostModel(GpuSpec gpu, Calibration calibration)
    : gpu_(std::move(gpu)),
      calibration_(std::move(calibration)),
      gemm_table_(calibration_.gemm_samples,
                  [this](const GemmShape& s, DType t) { return parametric_gemm_efficiency(s, t); }),
      attention_table_(calibration_.attention_samples) {
  // Only the GPU part of a cluster matters here; validate it through a
  // single-node cluster so the paths match the scenario's.
  ClusterSpec one;
  one.node.gpu = gpu_;
  one.node.gpus_per_node = 1;
  one.node.nics_per_node = 1;
  std::vector<Diagnostic> diags = validate_cluster(one);
  std::vector<Diagnostic> cal = validate_calibration(calibration_);
  diags.insert(diags.end(), cal.begin(), cal.end());
  if (!diags.empty()) throw InputError(std::move(diags));
}

FlopRate OpCostModel::peak_for(const ComputeWork& work) const {
  const bool tensor_cores = work.op_class == OpClass::kGemm || work.op_class == OpClass::kAttention;
  if (!tensor_cores) return gpu_.peak_fp32;
  switch (work.dtype) {
    case DType::kFp32:
      return gpu_.peak_fp32;
    case DType::kBf16:
    case DType::kFp16:
      return gpu_.peak_bf16;
    case DType::kFp8:
      return gpu_.peak_fp8.flops_per_second() > 0.0 ? gpu_.peak_fp8 : gpu_.peak_bf16;
  }
  return gpu_.peak_bf16;
}

double OpCostModel::wave_efficiency(const GemmShape& s) const {
  if (s.m <= 0 || s.n <= 0 || s.batch <= 0) return 1.0;
  const std::int64_t tiles =
      ceil_div(s.m, calibration_.gemm_tile_m) * ceil_div(s.n, calibration_.gemm_tile_n) * s.batch;
  const std::int64_t sms = gpu_.sm_count;
  const std::int64_t waves = ceil_div(tiles, sms);
  return static_cast<double>(tiles) / static_cast<double>(waves * sms);
}

double OpCostModel::parametric_gemm_efficiency(const GemmShape& s, DType dtype) const {
  // fp8 work on a GPU without fp8 runs at bf16 rate and bf16 efficiency.
  const bool fp8_units = dtype == DType::kFp8 && gpu_.peak_fp8.flops_per_second() > 0.0;
  double eff = calibration_.params(OpClass::kGemm).compute_efficiency_for(fp8_units ? DType::kFp8 : DType::kBf16);
  eff *= wave_efficiency(s);
  if (calibration_.gemm_k_half > 0.0 && s.k > 0) {
    const double k = static_cast<double>(s.k);
    eff *= k / (k + calibration_.gemm_k_half);
  }
  return eff;
}

std::int64_t attention_blocks(const AttentionShape& a) { return (a.seq_q + 127) / 128 * a.batch * a.heads; }

double attention_tail_factor(const Calibration& cal, const GpuSpec& gpu, const AttentionShape& a) {
  const std::int64_t blocks = attention_blocks(a);
  if (blocks <= 0 || gpu.sm_count <= 0) return 1.0;
  for (const AttentionTail& t : cal.attention_tails) {
    if (t.kernel != a.kernel || t.backward != a.backward) continue;
    const double b = static_cast<double>(blocks);
    return b / (b + t.blocks_per_sm * static_cast<double>(gpu.sm_count));
  }
  return 1.0;
}

double OpCostModel::compute_efficiency(const ComputeWork& work) const {
  if (work.flops.count() <= 0.0) return 0.0;
  const bool fp8_units = work.dtype == DType::kFp8 && gpu_.peak_fp8.flops_per_second() > 0.0;
  const DType unit = fp8_units ? DType::kFp8 : DType::kBf16;
  if (work.op_class == OpClass::kGemm && work.gemm) {
    return parametric_gemm_efficiency(*work.gemm, work.dtype) * gemm_table_.correction(*work.gemm, unit);
  }
  const OpClassParams& p = calibration_.params(work.op_class);
  if (work.op_class == OpClass::kAttention && work.attention && !fp8_units) {
    const AttentionShape& a = *work.attention;
    // The table is measured with one head width for Q, K and V; with a
    // narrower V (MLA: QK 192, V 128) look up their mean, the FLOP-weighted
    // width of QK^T and PV.
    const std::int64_t width = a.head_dim_v > 0 ? (a.head_dim + a.head_dim_v) / 2 : a.head_dim;
    if (const auto measured = attention_table_.efficiency(a.kernel, a.seq_kv, width, a.backward)) {
      return *measured * attention_tail_factor(calibration_, gpu_, a);
    }
  }
  const double wave = work.gemm ? wave_efficiency(*work.gemm) : 1.0;
  return p.compute_efficiency_for(unit) * wave;
}

Duration OpCostModel::duration(const ComputeWork& work) const {
  const OpClassParams& p = calibration_.params(work.op_class);
  Duration busy = Duration::zero();
  if (work.flops.count() > 0.0) busy = work.flops / (peak_for(work) * compute_efficiency(work));
  const Bytes moved = work.bytes_read + work.bytes_written;
  if (moved > Bytes(0)) busy = std::max(busy, moved / (gpu_.memory_bandwidth * p.memory_efficiency_for(work.dtype)));
  return busy + p.kernel_overhead * std::max<std::int64_t>(work.kernels, 0);
}

}  // namespace dtsim::hardware
