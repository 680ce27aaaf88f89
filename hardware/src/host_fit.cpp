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

namespace {

// The data-parallel wrappers' host work as ratios to the unwrapped bf16
// Llama layer measured beside them (HostParams::wrappers), from the records
// of the fewest processes (one rank: no communication to wait for).
// FSDP2's all-gather is what resharding after forward adds (a second
// gather per unit) in bf16; each precision's rest is its resharded unit's
// extra over the unwrapped layer in its compute precision less two gathers.
void fit_wrapper_hosts(const Records& r, Calibration& cal) {
  cal.host.wrappers.clear();
  if (r.wrapper_host.empty()) return;
  int processes = r.wrapper_host.front().processes;
  for (const WrapperHostMeasurement& m : r.wrapper_host) processes = std::min(processes, m.processes);
  std::map<std::string, std::vector<double>> plain;  // by plain precision
  std::map<std::pair<std::string, std::string>, std::vector<double>> wrapped;
  for (const WrapperHostMeasurement& m : r.wrapper_host) {
    if (m.processes != processes) continue;
    plain[m.plain_precision].push_back(m.plain_layer.seconds());
    wrapped[{m.wrapper, m.precision}].push_back(m.layer.seconds());
  }
  const auto bf16 = plain.find("bf16");
  if (bf16 == plain.end()) return;  // nothing to scale by
  const double base = median(bf16->second);
  const auto measured = [&](const std::string& wrapper, const std::string& precision) -> std::optional<double> {
    const auto it = wrapped.find({wrapper, precision});
    return it == wrapped.end() ? std::nullopt : std::optional<double>(median(it->second));
  };
  // The unwrapped layer in the wrapped one's compute precision.
  const auto unwrapped = [&](const std::string& precision) -> std::optional<double> {
    const auto it = plain.find(precision == "amp_bf16" ? "amp_bf16" : "bf16");
    return it == plain.end() ? std::nullopt : std::optional<double>(median(it->second));
  };
  const auto precision_of = [](const std::string& p) {
    return p == "amp_bf16" ? WrapperPrecision::kAmp
                           : (p == "fsdp_mp_bf16" ? WrapperPrecision::kFsdpMixed : WrapperPrecision::kBf16);
  };
  for (const std::string p : {"bf16", "amp_bf16", "fsdp_mp_bf16"}) {
    const std::optional<double> layer = unwrapped(p);
    if (!layer) continue;
    if (const auto ddp = measured("ddp", p); ddp && p != "fsdp_mp_bf16") {
      cal.host.wrappers.push_back({DataParallelWrapper::kDdp, precision_of(p), 0.0, std::max(*ddp - *layer, 0.0) / base});
    }
  }
  const auto reshard = measured("fsdp2_reshard", "bf16");
  const auto no_reshard = measured("fsdp2_noreshard", "bf16");
  if (!reshard || !no_reshard) return;  // the gather cannot be told from the rest
  const double gather = std::max(*reshard - *no_reshard, 0.0);
  for (const std::string p : {"bf16", "amp_bf16", "fsdp_mp_bf16"}) {
    const auto unit = measured("fsdp2_reshard", p);
    const std::optional<double> layer = unwrapped(p);
    if (!unit || !layer) continue;
    cal.host.wrappers.push_back({DataParallelWrapper::kFsdp2, precision_of(p), gather / base,
                                 std::max(*unit - *layer - 2.0 * gather, 0.0) / base});
  }
}

// The block an eager_layer_host record's arch names ("llama" or "gpt").
EagerBlock block_named(const std::string& arch) { return arch == "gpt" ? EagerBlock::kGpt : EagerBlock::kLlama; }

// The MoE block's host time as a ratio to the plain layer measured beside
// it in the same process (bf16), from the records of the fewest processes:
// the median of the MoE layers' times over the median of the plain ones. The
// records' expert counts and top-k differ (8 of top-2, 16 of top-4) but the
// harness runs every local expert in one batched GEMM, so its launches do
// not depend on them: one ratio for all.
void fit_moe_block(const Records& r, Calibration& cal) {
  if (r.moe_layer_host.empty()) return;
  int processes = r.moe_layer_host.front().processes;
  for (const MoeLayerHostMeasurement& m : r.moe_layer_host) processes = std::min(processes, m.processes);
  std::vector<double> moe, plain;
  for (const MoeLayerHostMeasurement& m : r.moe_layer_host) {
    if (m.processes != processes) continue;
    moe.push_back(m.layer.seconds());
    plain.push_back(m.plain_layer.seconds());
  }
  const double base = median(plain);
  if (base <= 0.0) return;
  cal.host.blocks.push_back({EagerBlock::kMoe, false, median(moe) / base});
}

}  // namespace

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
  // one beside theirs, with one process too; the MoE layer itself becomes
  // a block ratio below).
  cal.host.layers.clear();
  std::map<int, std::vector<double>> plain;
  for (const LayerHostMeasurement& m : r.layer_host) {
    cal.host.layers.push_back({m.tp, m.sequence_parallel, m.tp, m.layer});
    plain[m.tp].push_back(m.plain_layer.seconds());
  }
  for (const MoeLayerHostMeasurement& m : r.moe_layer_host) plain[m.processes].push_back(m.plain_layer.seconds());
  // The per-block records: the bf16 Llama block without recompute joins the
  // plain layers; the others (other blocks, AMP, full recompute) become
  // ratios to it, from the records of the same process count (medians where
  // several profiles measured them).
  std::map<std::tuple<int, std::string, std::string, bool>, std::vector<double>> blocks;
  std::map<std::tuple<int, std::string, std::string, bool>, std::vector<double>> shares;
  for (const EagerLayerHostMeasurement& m : r.eager_layer_host) {
    const bool recompute = m.recompute == "full";
    blocks[{m.processes, m.arch, m.precision, recompute}].push_back(m.layer.seconds());
    if (m.forward && m.layer > Duration::zero()) {
      shares[{m.processes, m.arch, m.precision, recompute}].push_back(m.forward->seconds() / m.layer.seconds());
    }
    if (m.arch == "llama" && m.precision == "bf16" && !recompute) plain[m.processes].push_back(m.layer.seconds());
  }
  for (const auto& [processes, v] : plain) cal.host.layers.push_back({1, false, processes, seconds_to_duration(median(v))});
  cal.host.blocks.clear();
  for (const auto& [key, v] : blocks) {
    const auto& [processes, arch, precision, recompute] = key;
    const auto base = blocks.find({processes, "llama", "bf16", false});
    if (base == blocks.end() || (arch == "llama" && precision == "bf16" && !recompute)) continue;
    const EagerBlock kind = block_named(arch);
    const bool autocast = precision == "amp_bf16";
    if (std::any_of(cal.host.blocks.begin(), cal.host.blocks.end(), [&](const EagerBlockHost& b) {
          return b.block == kind && b.autocast == autocast && b.recompute == recompute;
        })) {
      continue;  // one ratio per block, precision and recompute: the fewest processes'
    }
    cal.host.blocks.push_back({kind, autocast, median(v) / median(base->second), recompute});
  }
  // Forward shares: the median per block, precision and recompute, from the
  // fewest processes that measured it (std::map orders by processes first).
  cal.host.forward_shares.clear();
  for (const auto& [key, v] : shares) {
    const auto& [processes, arch, precision, recompute] = key;
    const EagerBlock kind = block_named(arch);
    const bool autocast = precision == "amp_bf16";
    if (std::any_of(cal.host.forward_shares.begin(), cal.host.forward_shares.end(), [&](const ForwardShare& f) {
          return f.block == kind && f.autocast == autocast && f.recompute == recompute;
        })) {
      continue;
    }
    cal.host.forward_shares.push_back({kind, autocast, recompute, std::clamp(median(v), 0.01, 0.99)});
  }
  fit_moe_block(r, cal);
  fit_wrapper_hosts(r, cal);
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
