#include "dtsim/hardware/cluster_spec.hpp"

#include <cmath>
#include <utility>

#include "fabric_tiers.hpp"

namespace dtsim::hardware {

std::string_view to_string(FabricKind k) {
  switch (k) {
    case FabricKind::kInfiniBand:
      return "infiniband";
    case FabricKind::kRoce:
      return "roce";
  }
  return "?";
}

std::string_view to_string(GpuArch a) {
  switch (a) {
    case GpuArch::kGeneric:
      return "generic";
    case GpuArch::kAmpere:
      return "ampere";
    case GpuArch::kHopper:
      return "hopper";
    case GpuArch::kBlackwell:
      return "blackwell";
  }
  return "?";
}

std::optional<GpuArch> parse_gpu_arch(std::string_view name) {
  for (const GpuArch a : {GpuArch::kGeneric, GpuArch::kAmpere, GpuArch::kHopper, GpuArch::kBlackwell}) {
    if (to_string(a) == name) return a;
  }
  return std::nullopt;
}

namespace {

// Collects diagnostics under one JSON pointer prefix.
class Checker {
 public:
  Checker(std::vector<Diagnostic>& out, std::string prefix) : out_(out), prefix_(std::move(prefix)) {}

  void require(bool ok, const std::string& field, const std::string& message) {
    if (!ok) out_.push_back({prefix_ + "/" + field, message});
  }
  void positive(double v, const std::string& field, const std::string& what) {
    require(std::isfinite(v) && v > 0.0, field, what + " must be positive and finite");
  }
  void not_negative(Duration d, const std::string& field) {
    require(d >= Duration::zero(), field, "latency must not be negative");
  }

 private:
  std::vector<Diagnostic>& out_;
  std::string prefix_;
};

void check_gpu(const GpuSpec& gpu, Checker c) {
  c.positive(gpu.peak_bf16.flops_per_second(), "peak_bf16", "bf16 peak");
  c.require(gpu.peak_fp8.flops_per_second() >= 0.0, "peak_fp8", "fp8 peak must not be negative (0: no fp8)");
  c.positive(gpu.peak_fp32.flops_per_second(), "peak_fp32", "fp32 peak");
  c.require(gpu.memory_capacity > Bytes(0), "memory_capacity", "memory capacity must be positive");
  c.positive(gpu.memory_bandwidth.bytes_per_second(), "memory_bandwidth", "HBM bandwidth");
  c.require(gpu.sm_count > 0, "sm_count", "SM count must be positive");
}

// The tier rule (topology.hpp): decided from the counts alone, so that a
// scenario with too few tiers fails when it is loaded, not when it runs.
// Expects valid counts (nodes, NICs >= 1; radix even and >= 4).
void check_tier_rule(const ClusterSpec& cluster, const std::string& path, std::vector<Diagnostic>& out) {
  const FabricSpec& fab = cluster.fabric;
  const int nics = cluster.node.nics_per_node;
  const bool rail = fab.rail_optimized;
  const int needed = detail::tiers_needed(cluster.num_nodes, nics, fab.switch_radix / 2, rail);
  std::string radix = "radix-";
  radix.append(std::to_string(fab.switch_radix)).append(" switches");
  if (needed > detail::kMaxFabricTiers) {
    std::string m = std::to_string(cluster.num_nodes);
    m.append(" nodes need ").append(std::to_string(needed)).append(" tiers of ").append(radix);
    m.append("; at most ").append(std::to_string(detail::kMaxFabricTiers)).append(" are modelled");
    out.push_back({path + "/switch_radix", std::move(m)});
    return;
  }
  if (fab.tiers > 0 && fab.tiers < needed) {
    std::string m = std::to_string(fab.tiers);
    m.append(fab.tiers == 1 ? " tier of " : " tiers of ").append(radix).append(" cannot connect ");
    m.append(std::to_string(cluster.num_nodes)).append(" nodes of ").append(std::to_string(nics)).append(" NICs");
    if (rail) m.append(" (rail-optimized)");
    m.append("; they need at least ").append(std::to_string(needed)).append(" tiers (or set tiers to 0)");
    out.push_back({path + "/tiers", std::move(m)});
  }
}

}  // namespace

std::vector<Diagnostic> validate_cluster(const ClusterSpec& cluster, const std::string& path) {
  std::vector<Diagnostic> out;
  const NodeSpec& node = cluster.node;
  check_gpu(node.gpu, Checker(out, path + "/node/gpu"));

  Checker n(out, path + "/node");
  n.require(node.gpus_per_node >= 1, "gpus_per_node", "a node needs at least one GPU");
  n.require(node.nics_per_node >= 1, "nics_per_node", "a node needs at least one NIC");
  n.require(node.nics_per_node <= node.gpus_per_node, "nics_per_node",
            "more NICs (" + std::to_string(node.nics_per_node) + ") than GPUs (" + std::to_string(node.gpus_per_node) +
                ") per node is not modelled");
  if (node.gpus_per_node > 1)
    n.positive(node.nvlink_bandwidth.bytes_per_second(), "nvlink_bandwidth", "NVLink bandwidth");
  n.not_negative(node.nvlink_latency, "nvlink_latency");
  if (cluster.num_nodes > 1) n.positive(node.nic_bandwidth.bytes_per_second(), "nic_bandwidth", "NIC bandwidth");
  n.not_negative(node.nic_latency, "nic_latency");

  Checker c(out, path);
  c.require(cluster.num_nodes >= 1, "num_nodes", "a cluster needs at least one node");
  c.require(std::isfinite(cluster.host_slowdown) && cluster.host_slowdown > 0.0, "host_slowdown",
            "host_slowdown is a ratio of host times and must be finite and positive");

  Checker f(out, path + "/fabric");
  const FabricSpec& fab = cluster.fabric;
  f.require(fab.switch_radix >= 4 && fab.switch_radix % 2 == 0, "switch_radix",
            "switch radix must be even and at least 4 (half the ports go down, half up), got " +
                std::to_string(fab.switch_radix));
  f.require(fab.tiers >= 0 && fab.tiers <= detail::kMaxFabricTiers, "tiers",
            "tiers must be 0 (automatic) to 8, got " + std::to_string(fab.tiers));
  f.require(std::isfinite(fab.oversubscription) && fab.oversubscription >= 1.0, "oversubscription",
            "oversubscription is a down:up ratio and must be >= 1");
  f.not_negative(fab.switch_latency, "switch_latency");
  const bool counts_ok = cluster.num_nodes >= 1 && node.nics_per_node >= 1 && fab.switch_radix >= 4 &&
                         fab.switch_radix % 2 == 0 && fab.tiers >= 0 && fab.tiers <= detail::kMaxFabricTiers;
  if (counts_ok) check_tier_rule(cluster, path + "/fabric", out);
  return out;
}

}  // namespace dtsim::hardware
