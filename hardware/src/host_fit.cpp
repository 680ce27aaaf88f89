// Host-side and interference part of the calibration fit (calibration_fit.hpp).
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "fit_common.hpp"

namespace dtsim::hardware::fit {

// Per-kernel floor inside a CUDA graph: the launch records' median, or the
// datasheet default when none were measured.
Duration kernel_floor(const Records& r, Duration fallback) {
  std::vector<double> v;
  for (const LaunchMeasurement& m : r.launch) v.push_back(m.graph_gpu.seconds());
  return v.empty() ? fallback : seconds_to_duration(median(v));
}

void fit_host(const Records& r, Calibration& cal) {
  std::vector<double> host;
  for (const LaunchMeasurement& m : r.launch) host.push_back(m.host_enqueue.seconds());
  if (!host.empty()) cal.host.kernel_launch = seconds_to_duration(median(host));
  std::vector<double> coll;
  for (const CollectiveMeasurement& m : r.collectives) {
    if (m.host_bound_time > m.time && m.bytes <= Bytes(1 << 20)) coll.push_back((m.host_bound_time - m.time).seconds());
  }
  if (!coll.empty()) cal.host.collective_launch = seconds_to_duration(median(coll));
  std::vector<double> gap;
  for (const EagerGapMeasurement& m : r.eager_gap) gap.push_back(std::max((m.eager - m.graph).seconds(), 0.0));
  if (!gap.empty()) cal.host.eager_kernel_gap = seconds_to_duration(median(gap));

  // DTensor, at the largest TP size measured: the median extra over plain
  // tensors of the ops that move no data, and the extra of a row-parallel
  // linear whose partial result is reduced over that of a column-parallel one.
  int tp = 0;
  for (const DTensorHostMeasurement& m : r.dtensor) tp = std::max(tp, m.tp);
  std::vector<double> extra;
  std::optional<double> rowwise, colwise;
  for (const DTensorHostMeasurement& m : r.dtensor) {
    if (m.tp != tp) continue;
    if (m.op == "linear_rowwise_reduced") {
      rowwise = m.dtensor.seconds();
      continue;
    }
    if (m.op == "linear_colwise") colwise = m.dtensor.seconds();
    extra.push_back(std::max((m.dtensor - m.plain).seconds(), 0.0));
  }
  if (!extra.empty()) cal.host.dtensor_op = seconds_to_duration(median(extra));
  if (rowwise && colwise) cal.host.dtensor_redistribute = seconds_to_duration(std::max(*rowwise - *colwise, 0.0));

  // Eager layers: each TP measurement as it is; the plain layer once per
  // number of processes that shared the host (the MoE layer records measure
  // one beside theirs, with one process too; the MoE layer's own time is
  // kept in the profile, not fitted: the model spreads the plain layer's
  // host time over every layer's launches).
  cal.host.layers.clear();
  std::map<int, std::vector<double>> plain;
  for (const LayerHostMeasurement& m : r.layer_host) {
    cal.host.layers.push_back({m.tp, m.sequence_parallel, m.tp, m.layer});
    plain[m.tp].push_back(m.plain_layer.seconds());
  }
  for (const MoeLayerHostMeasurement& m : r.moe_layer_host) plain[m.processes].push_back(m.plain_layer.seconds());
  // The per-block records: the bf16 Llama block joins the plain layers; the
  // others become ratios to it, from the records of the same process count
  // (medians where several profiles measured them).
  std::map<std::tuple<int, std::string, std::string>, std::vector<double>> blocks;
  for (const EagerLayerHostMeasurement& m : r.eager_layer_host) {
    blocks[{m.processes, m.arch, m.precision}].push_back(m.layer.seconds());
    if (m.arch == "llama" && m.precision == "bf16") plain[m.processes].push_back(m.layer.seconds());
  }
  for (const auto& [processes, v] : plain) cal.host.layers.push_back({1, false, processes, seconds_to_duration(median(v))});
  cal.host.blocks.clear();
  for (const auto& [key, v] : blocks) {
    const auto& [processes, arch, precision] = key;
    const auto base = blocks.find({processes, "llama", "bf16"});
    if (base == blocks.end() || (arch == "llama" && precision == "bf16")) continue;
    const EagerBlock kind = arch == "gpt" ? EagerBlock::kGpt : EagerBlock::kLlama;
    const bool autocast = precision == "amp_bf16";
    if (std::any_of(cal.host.blocks.begin(), cal.host.blocks.end(),
                    [&](const EagerBlockHost& b) { return b.block == kind && b.autocast == autocast; })) {
      continue;  // one ratio per block and precision: the fewest processes'
    }
    cal.host.blocks.push_back({kind, autocast, median(v) / median(base->second)});
  }
}

// Slowdown of kernels under concurrent NCCL, at the largest group measured.
void fit_overlap(const Records& r, Calibration& cal) {
  int world = 0;
  for (const OverlapMeasurement& m : r.overlap) world = std::max(world, m.world);
  for (const OverlapMeasurement& m : r.overlap) {
    if (m.world != world || m.alone <= Duration::zero()) continue;
    const double s = std::clamp(m.with_collective.seconds() / m.alone.seconds(), 1.0, 10.0);
    (m.op_class == OpClass::kGemm ? cal.overlap.compute_slowdown : cal.overlap.memory_slowdown) = s;
  }
}

}  // namespace dtsim::hardware::fit
