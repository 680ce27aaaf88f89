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

// GPUs: a100-80gb, h100-sxm, h200, b200, gb200 (reference §1a, §1b), h800
// (the H100 SXM's compute and memory).
//  - Peaks are dense (no sparsity); peak_fp32 is the SIMT rate.
//  - memory_capacity is what CUDA reports as total device memory (less than
//    nvidia-smi's total by the driver's reservation): measured for H100
//    (85,017,493,504 B) and H200 (150,109,880,320 B), 81049 MiB for A100 80GB;
//    B200 and GB200, not measured, take 0.99 x the nominal GiB (180, 186), the
//    ratio the measured parts show.
// Nodes: dgx-a100, dgx-h100, dgx-h200, dgx-b200 (8 GPUs on NVSwitch; NVLink
// 300/450/450/900 GB/s per GPU per direction; one NIC per GPU at
// 200/400/400/400 Gb/s), gb200-nvl72 (72 GPUs in one NVLink domain at 900 GB/s;
// 18 trays x 4 CX-7 400 Gb/s = one 400G NIC per GPU), hgx-h800 (8 H800s,
// NVLink 200 GB/s per direction, 8 NICs of 400 Gb/s). Latencies (§2c):
// NVLink GPU to GPU 0.6 us, network adapter 0.6 us.
HardwareCatalog builtin_hardware();

// A node of `gpus` GPUs of this type with the NVLink and NIC figures of the
// first node preset built from that GPU and its NIC-per-GPU ratio (for "a
// node with any GPU count"); named e.g. "dgx-h100/4gpu". Throws InputError for
// an unknown GPU (listing the known ones), one no node preset uses, or gpus < 1.
NodeSpec make_node(const HardwareCatalog& catalog, std::string_view gpu_name, int gpus);

// The default fabric: NDR InfiniBand on Quantum-2 switches (radix 64),
// non-blocking (oversubscription 1), rail-optimized, the fewest tiers that
// connect the nodes, 0.3 us per switch (within §2c's 0.15-0.4 us).
FabricSpec default_fabric();

}  // namespace dtsim::hardware
