// Built-in GPU and node presets, each citing its datasheet source
// (shared/reference/hardware-and-collectives.md). A HardwareCatalog is an
// object filled explicitly; there is no static registry.
//
// Example:
//   HardwareCatalog hw = builtin_hardware();
//   NodeSpec node = *hw.find_node("dgx-h100");
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dtsim/hardware/cluster_spec.hpp"

namespace dtsim::hardware {

class HardwareCatalog {
 public:
  void add_gpu(GpuSpec gpu);
  void add_node(NodeSpec node);
  const GpuSpec* find_gpu(std::string_view name) const;
  const NodeSpec* find_node(std::string_view name) const;
  std::vector<std::string> gpu_names() const;
  std::vector<std::string> node_names() const;

 private:
  std::vector<GpuSpec> gpus_;
  std::vector<NodeSpec> nodes_;
};

// GPUs: a100-80gb, h100-sxm, h200, b200, gb200.
// Nodes: dgx-a100, dgx-h100, dgx-h200, dgx-b200 (8 GPUs on NVSwitch),
// gb200-nvl72 (72 GPUs in one NVLink domain).
HardwareCatalog builtin_hardware();

// A node of `gpus` GPUs of this type with the NVLink and NIC figures of the
// matching DGX preset (for "a node with any GPU count").
NodeSpec make_node(const HardwareCatalog& catalog, std::string_view gpu_name, int gpus);

// The default fabric for a node preset (NDR/XDR InfiniBand, radix 64, non-blocking).
FabricSpec default_fabric();

}  // namespace dtsim::hardware
