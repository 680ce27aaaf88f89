// Parametric descriptions of GPUs, nodes and the scale-out fabric. Presets
// (presets.hpp) fill these from datasheets and cite their source; a scenario
// may override any field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dtsim/core/units.hpp"

namespace dtsim::hardware {

struct GpuSpec {
  std::string name;
  FlopRate peak_bf16;      // dense tensor-core peak
  FlopRate peak_fp8;       // zero where the GPU has no FP8
  FlopRate peak_fp32;      // SIMT fp32 (non tensor core)
  Bytes memory_capacity;   // HBM usable by the application
  Bandwidth memory_bandwidth;
  int sm_count = 0;
  Power tdp;
  std::string source;      // datasheet reference
};

struct NodeSpec {
  std::string name;
  GpuSpec gpu;
  int gpus_per_node = 8;
  // Scale-up (NVLink/NVSwitch): per GPU, per direction; every GPU of the node
  // reaches every other through the switch.
  Bandwidth nvlink_bandwidth;
  Duration nvlink_latency;
  // Scale-out: one NIC per GPU unless nics_per_node says otherwise.
  int nics_per_node = 8;
  Bandwidth nic_bandwidth;  // per NIC, per direction
  Duration nic_latency;
  std::string source;
};

enum class FabricKind : std::uint8_t { kInfiniBand, kRoce };

// A (rail-optimized) fat tree. Tier 1 leaves serve one rail of a scalable unit
// each; tiers above aggregate. Links between tiers are modelled as trunks with
// ideal ECMP load balancing (no hash collisions).
struct FabricSpec {
  FabricKind kind = FabricKind::kInfiniBand;
  int switch_radix = 64;
  int tiers = 0;                  // 0: the fewest tiers that connect every node
  double oversubscription = 1.0;  // leaf down:up capacity ratio (>= 1); also applied at tier 2
  Duration switch_latency;
  bool rail_optimized = true;     // NIC i of every node of a unit goes to leaf i
};

struct ClusterSpec {
  NodeSpec node;
  int num_nodes = 1;
  FabricSpec fabric;
  int num_gpus() const { return node.gpus_per_node * num_nodes; }
};

std::string_view to_string(FabricKind k);

}  // namespace dtsim::hardware
