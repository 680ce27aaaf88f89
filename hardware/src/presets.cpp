// Built-in presets. Every figure comes from shared/reference/hardware-and-collectives.md
// (the "reference"); each spec's `source` names the reference's section and
// source keys, and the comments below say which figure is which and where a
// choice was made.
#include "dtsim/hardware/presets.hpp"

#include <algorithm>
#include <utility>

#include "dtsim/core/error.hpp"

namespace dtsim::hardware {

using namespace dtsim::literals;

namespace {

FlopRate tflops(double v) { return FlopRate::flops_per_second(v * 1e12); }
Bandwidth tbps(double v) { return Bandwidth::bytes_per_second(v * 1e12); }

// Memory capacity is what CUDA reports as total device memory (cudaMemGetInfo
// / totalGlobalMem), the most an application can ever allocate; nvidia-smi's
// "total" is larger by the driver's reservation. Where the project measured
// it (reference WP-DEV) that figure is used; otherwise an estimate.
GpuSpec a100_80gb() {
  GpuSpec g;
  g.name = "a100-80gb";
  g.arch = GpuArch::kAmpere;
  g.peak_bf16 = tflops(312);  // §1a
  g.peak_fp8 = FlopRate{};    // no FP8 on Ampere
  g.peak_fp32 = tflops(19.5);
  // 81049 MiB: CUDA total global memory of an A100 80GB (deviceQuery-style
  // output in ekondis/mixbench#47, PCIe board, same 80 GB HBM2e); nvidia-smi shows 81920 MiB.
  g.memory_capacity = Bytes(std::int64_t{81049} << 20);
  g.memory_bandwidth = tbps(2.039);  // §1b A100 SXM 80GB
  g.sm_count = 108;
  g.tdp = Power::watts(400);
  g.source =
      "reference §1a/§1b, GK-A100 [DS]: 312 TF bf16, 19.5 TF fp32, 2.039 TB/s, 108 SMs, 400 W; "
      "capacity 81049 MiB as CUDA reports it (mixbench#47 [M, 2nd])";
  return g;
}

GpuSpec h100_sxm() {
  GpuSpec g;
  g.name = "h100-sxm";
  g.arch = GpuArch::kHopper;
  g.peak_bf16 = tflops(989.4);
  g.peak_fp8 = tflops(1978.9);
  g.peak_fp32 = tflops(66.9);
  // CUDA total global memory measured on the project's H100 80GB HBM3
  // (reference WP-DEV): 85,017,493,504 B = 81079 MiB (nvidia-smi: 81559 MiB).
  g.memory_capacity = Bytes(85'017'493'504);
  g.memory_bandwidth = tbps(3.35);
  g.sm_count = 132;
  g.tdp = Power::watts(700);
  g.source =
      "reference §1a/§1b, GK-H100, MLE-ACC [DS]: 989.4 TF bf16, 1978.9 TF fp8, 66.9 TF fp32, 3.35 TB/s, "
      "132 SMs, 700 W; capacity 85017493504 B as CUDA reports it (WP-DEV [M])";
  return g;
}

// H800 SXM: the H100 SXM die, HBM and power (NVIDIA's export variant differs
// only in its NVLink: 8 links instead of 18), so compute and memory are the
// H100's figures above.
GpuSpec h800() {
  GpuSpec g = h100_sxm();
  g.name = "h800";
  g.source =
      "H100 SXM figures (reference §1a/§1b, GK-H100, MLE-ACC [DS]; capacity as measured on the H100, WP-DEV [M]): "
      "the H800 is the H100 die with its NVLink cut to 400 GB/s bidirectional (DeepSeek-V3 report, "
      "arXiv:2412.19437 §3.1 [R])";
  return g;
}

GpuSpec h200() {
  GpuSpec g;
  g.name = "h200";
  g.arch = GpuArch::kHopper;
  g.peak_bf16 = tflops(989.4);  // same die as H100
  g.peak_fp8 = tflops(1978.9);
  g.peak_fp32 = tflops(66.9);
  // CUDA total global memory measured on the project's H200 (WP-DEV):
  // 150,109,880,320 B = 143156 MiB (nvidia-smi: 143771 MiB).
  g.memory_capacity = Bytes(150'109'880'320);
  g.memory_bandwidth = tbps(4.8);
  g.sm_count = 132;
  g.tdp = Power::watts(700);
  g.source =
      "reference §1a/§1b, SB-GPU, MLE-ACC [DS]: 989.4 TF bf16, 1978.9 TF fp8, 66.9 TF fp32, 4.8 TB/s, "
      "132 SMs, 700 W; capacity 150109880320 B as CUDA reports it (WP-DEV [M])";
  return g;
}

// NVIDIA's "GB" capacities read as GiB less what CUDA withholds: measured
// parts report 0.99 of the nominal GiB (H100 81079/81920 MiB, H200 143156/144384).
Bytes estimated_capacity(std::int64_t nominal_gib) { return scale(Bytes(nominal_gib << 30), 0.99); }

GpuSpec b200() {
  GpuSpec g;
  g.name = "b200";
  g.arch = GpuArch::kBlackwell;
  g.peak_bf16 = tflops(2250);
  g.peak_fp8 = tflops(4500);
  g.peak_fp32 = tflops(75);                     // the reference gives 75-80: the lower bound
  g.memory_capacity = estimated_capacity(180);  // "180 usable (192 phys)"
  g.memory_bandwidth = tbps(8.0);               // 8.0 (7.7 in some NVIDIA docs)
  g.sm_count = 148;
  g.tdp = Power::watts(1000);
  g.source =
      "reference §1a/§1b, GK-B200, MLE-ACC, SB-GPU [DS]: 2250 TF bf16, 4500 TF fp8, 75 TF fp32 (of 75-80), "
      "8.0 TB/s, 1000 W; 148 SMs [2nd]; capacity 0.99 x 180 GiB [EST]";
  return g;
}

GpuSpec gb200() {
  GpuSpec g;
  g.name = "gb200";
  g.arch = GpuArch::kBlackwell;
  g.peak_bf16 = tflops(2500);
  g.peak_fp8 = tflops(5000);
  g.peak_fp32 = tflops(80);  // the reference gives 80-90: the lower bound
  g.memory_capacity = estimated_capacity(186);
  g.memory_bandwidth = tbps(8.0);
  g.sm_count = 148;  // not published for GB200; the B200 die's count [EST]
  g.tdp = Power::watts(1200);
  g.source =
      "reference §1a/§1b, GK-B200, MLE-ACC, NV-RA-GB200 [DS]: per GPU 2500 TF bf16, 5000 TF fp8, 80 TF fp32 "
      "(of 80-90), 8.0 TB/s, 1200 W; 148 SMs as B200 [EST]; capacity 0.99 x 186 GiB [EST]";
  return g;
}

// Node latencies (reference §2c): NVLink GPU-to-GPU 0.6 us is NCCL's smallest
// modelled NVLink step (LL protocol hop); the adapter latency is HDR's 0.6 us
// (NDR and later are unpublished: assumed equal).
constexpr Duration kNvlinkLatency = Duration::from_ps(600'000);
constexpr Duration kNicLatency = Duration::from_ps(600'000);

NodeSpec dgx(std::string name, GpuSpec gpu, Bandwidth nvlink, Bandwidth nic, std::string source) {
  NodeSpec n;
  n.name = std::move(name);
  n.gpu = std::move(gpu);
  n.gpus_per_node = 8;
  n.nvlink_bandwidth = nvlink;
  n.nvlink_latency = kNvlinkLatency;
  n.nics_per_node = 8;
  n.nic_bandwidth = nic;
  n.nic_latency = kNicLatency;
  n.source = std::move(source);
  return n;
}

}  // namespace

void HardwareCatalog::add_gpu(GpuSpec gpu) {
  if (find_gpu(gpu.name) != nullptr) throw InputError("/hardware/gpus", "duplicate GPU name '" + gpu.name + "'");
  gpus_.push_back(std::move(gpu));
}

void HardwareCatalog::add_node(NodeSpec node) {
  if (find_node(node.name) != nullptr) throw InputError("/hardware/nodes", "duplicate node name '" + node.name + "'");
  nodes_.push_back(std::move(node));
}

const GpuSpec* HardwareCatalog::find_gpu(std::string_view name) const {
  const auto it = std::find_if(gpus_.begin(), gpus_.end(), [&](const GpuSpec& g) { return g.name == name; });
  return it == gpus_.end() ? nullptr : &*it;
}

const NodeSpec* HardwareCatalog::find_node(std::string_view name) const {
  const auto it = std::find_if(nodes_.begin(), nodes_.end(), [&](const NodeSpec& n) { return n.name == name; });
  return it == nodes_.end() ? nullptr : &*it;
}

std::vector<std::string> HardwareCatalog::gpu_names() const {
  std::vector<std::string> out;
  for (const auto& g : gpus_) out.push_back(g.name);
  return out;
}

std::vector<std::string> HardwareCatalog::node_names() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) out.push_back(n.name);
  return out;
}

HardwareCatalog builtin_hardware() {
  HardwareCatalog hw;
  for (GpuSpec g : {a100_80gb(), h100_sxm(), h200(), b200(), gb200(), h800()}) hw.add_gpu(std::move(g));

  // DGX nodes (reference §1b NVLink per GPU per direction, §2a NICs): 8 GPUs
  // on NVSwitch, one compute NIC per GPU.
  hw.add_node(dgx("dgx-a100", *hw.find_gpu("a100-80gb"), 300_GBps, 200_Gbps,
                  "reference §1b/§2a/§2c, GK-A100, STH-A100: NVLink3 300 GB/s per GPU per direction, "
                  "8x ConnectX-6 HDR 200 Gb/s; latencies NCCL-T (NVLink LL hop), MLE-NET (HDR adapter)"));
  hw.add_node(dgx("dgx-h100", *hw.find_gpu("h100-sxm"), 450_GBps, 400_Gbps,
                  "reference §1b/§2a/§2c, GK-H100, NV-BasePOD, SB-GPU: NVLink4 450 GB/s per GPU per direction, "
                  "8x CX-7 NDR 400 Gb/s; latencies NCCL-T (NVLink LL hop), MLE-NET (HDR adapter, NDR assumed equal)"));
  hw.add_node(dgx("dgx-h200", *hw.find_gpu("h200"), 450_GBps, 400_Gbps,
                  "reference §1b/§2a/§2c, SB-GPU, NV-BasePOD: NVLink4 450 GB/s per GPU per direction, "
                  "8x CX-7 NDR 400 Gb/s; latencies NCCL-T, MLE-NET"));
  hw.add_node(dgx("dgx-b200", *hw.find_gpu("b200"), 900_GBps, 400_Gbps,
                  "reference §1b/§2a/§2c, SB-GPU, NV-BasePOD, NV-RA-B200: NVLink5 900 GB/s per GPU per direction, "
                  "8x CX-7 400 Gb/s; latencies NCCL-T, MLE-NET"));

  // HGX H800 (DeepSeek-V3's cluster): 8 NVLink4 links per GPU instead of 18,
  // 400 GB/s bidirectional = 200 GB/s per direction (8 x 25 GB/s, reference
  // §1b per-link figure); 8x CX-7 InfiniBand 400 Gb/s, one per GPU, as the
  // DeepSeek-V3 report describes its nodes (it measures ~160 GB/s NVLink and
  // ~50 GB/s IB achieved).
  hw.add_node(dgx("hgx-h800", *hw.find_gpu("h800"), 200_GBps, 400_Gbps,
                  "DeepSeek-V3 report (arXiv:2412.19437 §3.1 [R]) and the H800's 400 GB/s bidirectional NVLink "
                  "(8 NVLink4 links x 25 GB/s per direction, reference §1b); 8x CX-7 NDR 400 Gb/s; latencies "
                  "NCCL-T, MLE-NET as dgx-h100"));

  // GB200 NVL72: 72 GPUs in one NVLink domain (18 NVLink5 switch chips, every
  // GPU one link to each: modelled as one switch). Each 4-GPU tray has 4x
  // CX-7 400 Gb/s, so 72 NICs: exactly one 400G NIC per GPU.
  NodeSpec nvl72 = dgx("gb200-nvl72", *hw.find_gpu("gb200"), 900_GBps, 400_Gbps,
                       "reference §1b/§2a/§2c, NV-RA-GB200, SB-GPU: 72 GPUs, NVLink5 900 GB/s per GPU per direction, "
                       "18 trays x 4 CX-7 400 Gb/s = one NIC per GPU; latencies NCCL-T, MLE-NET");
  nvl72.gpus_per_node = 72;
  nvl72.nics_per_node = 72;
  hw.add_node(std::move(nvl72));
  return hw;
}

NodeSpec make_node(const HardwareCatalog& catalog, std::string_view gpu_name, int gpus) {
  if (gpus < 1)
    throw InputError("/cluster/node/gpus_per_node", "a node needs at least one GPU, got " + std::to_string(gpus));
  const GpuSpec* gpu = catalog.find_gpu(gpu_name);
  if (gpu == nullptr) {
    std::string known;
    for (const auto& n : catalog.gpu_names()) known += (known.empty() ? "" : ", ") + n;
    throw InputError("/cluster/node/gpu", "unknown GPU '" + std::string(gpu_name) + "'; known: " + known);
  }
  // The first node preset built from this GPU carries its NVLink and NIC figures.
  const NodeSpec* base = nullptr;
  for (const auto& name : catalog.node_names()) {
    const NodeSpec* n = catalog.find_node(name);
    if (n->gpu.name == gpu->name) {
      base = n;
      break;
    }
  }
  if (base == nullptr) {
    throw InputError("/cluster/node/gpu",
                     "no node preset uses GPU '" + gpu->name + "', so its NVLink and NIC figures are unknown");
  }
  NodeSpec node = *base;
  node.name = base->name + "/" + std::to_string(gpus) + "gpu";
  node.gpu = *gpu;
  node.gpus_per_node = gpus;
  // Keep the preset's NIC-per-GPU ratio (one per GPU for every preset).
  node.nics_per_node = std::max(1, gpus * base->nics_per_node / base->gpus_per_node);
  node.source = base->source + "; resized to " + std::to_string(gpus) + " GPUs by make_node";
  return node;
}

FabricSpec default_fabric() {
  FabricSpec f;
  f.kind = FabricKind::kInfiniBand;
  f.switch_radix = 64;  // Quantum-2 QM9700: 64 x 400G NDR ports (reference §2b)
  f.tiers = 0;
  f.oversubscription = 1.0;  // SuperPOD reference architectures are non-blocking (§2b)
  // Quantum-2 port to port: secondary sources give 0.15-0.4 us (§2c); 0.3 us
  // sits in that range without claiming the best case [EST].
  f.switch_latency = Duration::from_ps(300'000);
  f.rail_optimized = true;
  return f;
}

}  // namespace dtsim::hardware
