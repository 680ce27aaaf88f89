// Parametric descriptions of GPUs, nodes and the scale-out fabric. Presets
// (presets.hpp) fill these from datasheets and cite their source; a scenario
// may override any field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/core/units.hpp"

namespace dtsim::hardware {

// The GPU generation: selects datasheet calibration defaults (efficiencies,
// NCCL's visible NVLink bandwidth) for a GPU that is not a preset.
enum class GpuArch : std::uint8_t { kGeneric, kAmpere, kHopper, kBlackwell };
std::string_view to_string(GpuArch a);
std::optional<GpuArch> parse_gpu_arch(std::string_view name);  // "ampere", "hopper", "blackwell", "generic"

struct GpuSpec {
  std::string name;
  FlopRate peak_bf16;     // dense tensor-core peak
  FlopRate peak_fp8;      // zero where the GPU has no FP8
  FlopRate peak_fp32;     // SIMT fp32 (non tensor core)
  Bytes memory_capacity;  // HBM usable by the application
  Bandwidth memory_bandwidth;
  int sm_count = 0;
  Power tdp;
  std::string source;  // datasheet reference
  GpuArch arch = GpuArch::kGeneric;
};

struct NodeSpec {
  std::string name;
  GpuSpec gpu;
  int gpus_per_node = 8;
  // Scale-up (NVLink/NVSwitch): per GPU, per direction; every GPU of the node
  // reaches every other through the switch. nvlink_latency is GPU to GPU
  // through the switch.
  Bandwidth nvlink_bandwidth;
  Duration nvlink_latency;
  // Scale-out: one NIC per GPU unless nics_per_node says otherwise. With fewer
  // NICs than GPUs, NIC i serves the consecutive GPUs g with
  // g * nics_per_node / gpus_per_node == i (e.g. 8 GPUs, 4 NICs: GPUs 0-1 share NIC 0).
  int nics_per_node = 8;
  Bandwidth nic_bandwidth;  // per NIC, per direction
  Duration nic_latency;     // one network adapter (a path crosses two)
  std::string source;
};

enum class FabricKind : std::uint8_t { kInfiniBand, kRoce };

// A (rail-optimized) fat tree. Tier 1 leaves serve one rail of a scalable unit
// each; tiers above aggregate. Links between tiers are modelled as trunks with
// ideal ECMP load balancing (no hash collisions). The exact construction (unit
// sizes, trunk capacities, the tier rule) is stated in topology.hpp.
struct FabricSpec {
  FabricKind kind = FabricKind::kInfiniBand;
  int switch_radix = 64;
  int tiers = 0;                  // 0: the fewest tiers that connect every node
  double oversubscription = 1.0;  // down:up capacity ratio (>= 1) of every tier: leaf, spine, ...
  Duration switch_latency;        // port to port, per switch traversed
  bool rail_optimized = true;     // NIC i of every node of a unit goes to leaf i
};

struct ClusterSpec {
  NodeSpec node;
  int num_nodes = 1;
  FabricSpec fabric;
  // How many times longer this cluster's host CPUs take to issue work than
  // the host the calibration measured: sim::simulate multiplies every host
  // time of the calibration by it (with_host_time_scaled). 1: the same host.
  // The one H100 machine measured in session 10 ran 1.4-2.2 inside training
  // processes (docs/validation.md).
  double host_slowdown = 1.0;
  int num_gpus() const { return node.gpus_per_node * num_nodes; }
};

std::string_view to_string(FabricKind k);

// Every problem with a cluster description at once, each with the JSON
// pointer of the offending field under `path` (e.g. "/cluster/node/nic_bandwidth").
// Checks: positive counts, rates and capacities; non-negative latencies;
// radix >= 4 and even; oversubscription >= 1; tiers in [0, 8]; nics_per_node
// <= gpus_per_node; an explicit tier count no smaller than the tier rule's
// (topology.hpp) and at most 8 tiers needed. Topology's constructor throws
// InputError with these.
std::vector<Diagnostic> validate_cluster(const ClusterSpec& cluster, const std::string& path = "/cluster");

}  // namespace dtsim::hardware
