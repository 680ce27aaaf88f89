// A round-number machine for closed-form replay tests: 1000 TFLOP/s bf16,
// 1 TB/s HBM, NVLink 100 GB/s per direction, NIC 10 GB/s, and a calibration
// with every efficiency 1 and no latencies or kernel overheads, so every
// expected time is a closed form.
#pragma once

#include "dtsim/core/units.hpp"
#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/cluster_spec.hpp"

namespace dtsim::testing {

inline hardware::ClusterSpec toy_cluster(int gpus_per_node, int nodes) {
  using namespace dtsim::literals;
  hardware::ClusterSpec c;
  c.node.name = "toy";
  c.node.gpu.name = "toy-gpu";
  c.node.gpu.peak_bf16 = FlopRate::flops_per_second(1e15);
  c.node.gpu.peak_fp8 = FlopRate::flops_per_second(2e15);
  c.node.gpu.peak_fp32 = FlopRate::flops_per_second(1e14);
  c.node.gpu.memory_capacity = 80_GiB;
  c.node.gpu.memory_bandwidth = Bandwidth::bytes_per_second(1e12);
  c.node.gpu.sm_count = 100;
  c.node.gpus_per_node = gpus_per_node;
  c.node.nvlink_bandwidth = 100_GBps;
  c.node.nvlink_latency = Duration::zero();
  c.node.nics_per_node = gpus_per_node;
  c.node.nic_bandwidth = 10_GBps;
  c.node.nic_latency = Duration::zero();
  c.num_nodes = nodes;
  c.fabric.switch_radix = 64;
  c.fabric.switch_latency = Duration::zero();
  return c;
}

inline hardware::Calibration ideal_calibration() {
  hardware::Calibration cal;
  cal.name = "ideal";
  for (auto& p : cal.op) {
    p = hardware::OpClassParams{};
    p.kernel_overhead = Duration::zero();
  }
  cal.gemm_tile_m = 1;
  cal.gemm_tile_n = 1;
  cal.collective = hardware::CollectiveParams{};
  cal.collective.nvlink_efficiency = 1.0;
  cal.collective.network_efficiency = 1.0;
  cal.collective.base_latency = Duration::zero();
  cal.collective.intra_hop_latency = Duration::zero();
  cal.collective.inter_hop_latency = Duration::zero();
  cal.collective.tree_intra_hop_latency = Duration::zero();
  cal.collective.tree_inter_hop_latency = Duration::zero();
  return cal;
}

}  // namespace dtsim::testing
