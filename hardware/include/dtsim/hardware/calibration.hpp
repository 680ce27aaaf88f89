// Every efficiency, overhead and latency the cost models use, as data. A
// Calibration is either datasheet-derived defaults (named "datasheet-defaults")
// or fitted from measured microbenchmarks (`dtsim calibrate`), and every
// prediction reports which one it used.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/core/units.hpp"
#include "dtsim/core/work.hpp"
#include "dtsim/hardware/cluster_spec.hpp"

namespace dtsim::hardware {

// Roofline parameters of one op class: time = max(flops / (peak * compute_eff),
// bytes / (hbm * memory_eff)) + kernel_overhead per kernel.
struct OpClassParams {
  double compute_efficiency = 1.0;  // fraction of the dense peak reached on large shapes
  double memory_efficiency = 1.0;   // fraction of HBM bandwidth reached on large streams
  Duration kernel_overhead;         // launch + tail cost per kernel
  // Fraction of the fp8 peak reached by fp8 work; unset: compute_efficiency.
  std::optional<double> fp8_compute_efficiency{};
  // Fraction of HBM bandwidth reached by bf16 work, where the class was
  // measured in bf16 apart from another type; unset: memory_efficiency.
  // Fused AdamW is: its bf16 form does the fp32 arithmetic of the fp32 form
  // over half the bytes, and streams 14% (H100) and 22% (H200) slower per byte:
  // 6.2 against 10.7 ps a parameter, 5.2 against 8.1, at 2^30 parameters.
  std::optional<double> bf16_memory_efficiency{};

  double compute_efficiency_for(DType t) const {
    return t == DType::kFp8 && fp8_compute_efficiency ? *fp8_compute_efficiency : compute_efficiency;
  }
  double memory_efficiency_for(DType t) const {
    return t == DType::kBf16 && bf16_memory_efficiency ? *bf16_memory_efficiency : memory_efficiency;
  }
};

// A collective inside one NVLink domain: measured bandwidth relative to what
// the plan's transfers would get from the NVLink links at nvlink_efficiency,
// as a function of the nccl-tests size S (log-linear between points, flat
// beyond the ends). Fitted per kind and group size.
struct CollectiveCurvePoint {
  Bytes bytes;
  double factor = 1.0;
};
struct CollectiveCurve {
  CollectiveKind kind = CollectiveKind::kAllReduce;
  int group_size = 2;
  std::vector<CollectiveCurvePoint> points;  // ascending bytes
};

struct CollectiveParams {
  // Achievable fraction of link bandwidth per link class (protocol overhead).
  double nvlink_efficiency = 1.0;
  double network_efficiency = 1.0;
  Duration base_latency;       // per collective call (launch, setup)
  Duration intra_hop_latency;  // per algorithm step over NVLink
  Duration inter_hop_latency;  // per algorithm step over the network
  // NCCL keeps separate per-hop latencies for its tree algorithm; unset: the
  // ring's (intra_hop_latency, inter_hop_latency).
  std::optional<Duration> tree_intra_hop_latency{};
  std::optional<Duration> tree_inter_hop_latency{};

  // Fitted calibrations: measured bandwidth factors inside one node
  // (collective_plan.hpp applies them); empty: none.
  std::vector<CollectiveCurve> curves;

  Duration tree_intra() const { return tree_intra_hop_latency.value_or(intra_hop_latency); }
  Duration tree_inter() const { return tree_inter_hop_latency.value_or(inter_hop_latency); }
};

// Fitted calibrations only (`dtsim calibrate`): efficiencies measured at
// particular shapes, which the cost models interpolate between. Empty tables
// leave the parametric roofline alone (op_cost_model.hpp, collective_plan.hpp).

// Achieved / peak FLOP rate of one measured GEMM (wave losses included).
struct GemmSample {
  GemmShape shape;
  DType dtype = DType::kBf16;
  double efficiency = 1.0;
};

// Achieved / peak FLOP rate of causal fused attention at one sequence length
// and head width, forward or backward, for one kernel implementation.
struct AttentionSample {
  AttentionKernel kernel = AttentionKernel::kFlash2;
  std::int64_t seq = 0;
  std::int64_t head_dim = 0;
  bool backward = false;
  double efficiency = 1.0;
};

// A fused attention kernel's launch tail: with B thread blocks (one per
// 128-row tile of the sequence, per batch entry and query head) spread over
// S SMs, the table's efficiency (that of a launch with blocks to spare)
// scales by B / (B + blocks_per_sm x S): the first and last waves, and the
// uneven causal tiles, cost about `blocks_per_sm` blocks per SM. Fitted by
// `dtsim calibrate` per kernel and direction; absent: no tail.
struct AttentionTail {
  AttentionKernel kernel = AttentionKernel::kFlash2;
  bool backward = false;
  double blocks_per_sm = 0.0;
};

// The host (CPU) side of issuing work: what one eager kernel launch and one
// collective call cost the launching thread. The replay holds each GPU task
// until its host has issued it (a rank's host issues its program in order and
// never waits), so small kernels become launch-bound as they are in eager
// PyTorch. Zero: the host is assumed always ahead of the GPU.
// The host time of one eager PyTorch decoder layer, forward + backward: with
// tensor parallelism through DTensor over `tp` GPUs (sequence parallel or
// not), or without (tp = 1), measured with `processes` processes sharing the
// host. The pytorch frameworks spread it over the layer's kernels.
struct LayerHost {
  int tp = 1;
  bool sequence_parallel = false;
  int processes = 1;
  Duration layer;
};

// The host time of one eager decoder layer of another block kind or
// precision, relative to the Llama block in bf16 measured in the same
// process (bench_framework.py --only-layer-host): the GPT block (LayerNorm,
// GELU, biases) and either block under AMP's autocast; and the Llama block
// with the harness's routed-expert FFN in place of SwiGLU (kMoe: router,
// top-k, token permutation, batched expert GEMMs, combine), measured in bf16
// beside the plain layer (bench_framework.py --only-moe-host).
enum class EagerBlock : std::uint8_t { kLlama, kGpt, kMoe };
std::string_view to_string(EagerBlock b);  // "llama", "gpt", "moe": the calibration file's names
struct EagerBlockHost {
  EagerBlock block = EagerBlock::kLlama;
  bool autocast = false;
  double ratio = 1.0;  // this block's host time / the bf16 Llama block's
  // Measured under full recompute (torch.utils.checkpoint around the block):
  // the ratio covers the forward, the recomputed forward and the backward.
  bool recompute = false;
};

// The forward's share of an eager block's host time (forward + backward, or
// forward + recompute + backward under full recompute), measured by timing
// its forward alone (bench_framework.py's eager layers, from session 11 on).
// PyTorch issues the forward from Python and the backward from autograd's
// C++ engine, so the two cost the host differently per kernel; the replay
// spreads each part over its own launches.
struct ForwardShare {
  EagerBlock block = EagerBlock::kLlama;
  bool autocast = false;
  bool recompute = false;
  double share = 0.5;  // forward host time / the block's whole host time, in (0, 1)
};

// PyTorch's data-parallel wrappers' own host work (autograd hooks, bucket,
// gather and reduce copies, casts), measured with the wrapper over one rank
// beside the same eager Llama layer unwrapped (bench_framework.py
// --only-wrapper-host), as ratios to that bf16 layer's host time, so that a
// calibration scales them by its own measured layer:
//  - kDdp: `rest` per wrapped layer's forward + backward (all_gather 0);
//  - kFsdp2: `all_gather` per all-gather of a unit (the difference between
//    resharding after forward, two gathers a step, and not, one), and `rest`
//    per unit's forward + backward beyond its gathers (the reduce-scatter's
//    hooks and copies).
// The unwrapped layer compared with computes in the wrapped one's compute
// precision: bf16 for FSDP2's mixed precision under ZeRO-3 (layer_widths_for).
enum class DataParallelWrapper : std::uint8_t { kDdp, kFsdp2 };
enum class WrapperPrecision : std::uint8_t { kBf16, kAmp, kFsdpMixed };
struct WrapperHost {
  DataParallelWrapper wrapper = DataParallelWrapper::kDdp;
  WrapperPrecision precision = WrapperPrecision::kBf16;
  double all_gather = 0.0;
  double rest = 0.0;
};

struct HostParams {
  Duration kernel_launch;
  Duration collective_launch;
  // Measured eager layers (empty: host cost from kernel_launch alone).
  std::vector<LayerHost> layers;
  // Other block kinds and precisions than the measured layers' bf16 Llama
  // block, as ratios to it (empty: every block is charged the Llama
  // layer's time per launch).
  std::vector<EagerBlockHost> blocks;
  // The forward's share of each measured block's host time (empty: the
  // block's host time is spread evenly over all its launches).
  std::vector<ForwardShare> forward_shares;
  // The data-parallel wrappers' measured host work (empty: only their
  // kernels' and collectives' launches are charged).
  std::vector<WrapperHost> wrappers;
  // PyTorch DTensor (tensor parallelism in the pytorch frameworks): extra host
  // time per op on DTensors, and per redistribution that reduces a partial
  // result (a TP collective), over the plain-tensor cost.
  Duration dtensor_op;
  Duration dtensor_redistribute;
  // GPU time an eagerly launched stream loses between consecutive kernels
  // beyond what a CUDA graph loses (the op classes' kernel_overhead, fitted
  // from graph-timed kernels, holds that part): added to every kernel the
  // replay runs. Zero where not measured.
  Duration eager_kernel_gap;
};

// Kernels that run while a collective of their GPU is in flight slow down
// (NCCL's kernels take SMs and HBM bandwidth): the replay stretches a compute
// task that starts while its rank has a collective in flight by these
// factors, tensor-core classes (GEMM, attention) by compute_slowdown, the
// others by memory_slowdown. 1: no interference.
struct OverlapParams {
  double compute_slowdown = 1.0;
  double memory_slowdown = 1.0;
};

struct Calibration {
  std::string name = "datasheet-defaults";
  std::string source;                             // profile(s) it was fitted from, or the reference for defaults
  std::array<OpClassParams, kOpClassCount> op{};  // indexed by OpClass
  // GEMM tile used for wave-quantization losses: output tiles of tile_m x tile_n
  // spread over sm_count SMs; a partial last wave costs a full wave.
  int gemm_tile_m = 128;
  int gemm_tile_n = 256;
  // GEMM efficiency loss to short reductions: x K / (K + gemm_k_half); 0: none.
  double gemm_k_half = 0.0;
  CollectiveParams collective;
  HostParams host;
  OverlapParams overlap;
  std::vector<GemmSample> gemm_samples;
  std::vector<AttentionSample> attention_samples;
  std::vector<AttentionTail> attention_tails;

  const OpClassParams& params(OpClass c) const { return op[static_cast<std::size_t>(c)]; }
  OpClassParams& params(OpClass c) { return op[static_cast<std::size_t>(c)]; }
};

// Defaults derived from datasheets and published measurements (reference §3, §4),
// for the given GPU: the preset's own measured figures when gpu.name is a
// built-in preset (a100-80gb, h100-sxm, h200, b200, gb200), else those of its
// architecture's reference part (A100, H100, B200; kGeneric: H100). The
// returned `source` lists every figure and where it comes from.
//
//  - GEMM compute efficiency: best-shape matmul ("MAMF") / dense peak, bf16
//    and fp8 separately (§3a), e.g. H100 794.5 / 989.4 = 0.803.
//  - Attention: A100 FlashAttention-2, middle of 50-73% of peak = 0.615;
//    others FlashAttention-3's 661 TF/s on H100 relative to its MAMF
//    (661 / 794.5), times the part's GEMM efficiency.
//  - Memory efficiency 0.90 for every class (§3a HBM streaming).
//  - Non-tensor-core classes compute at the SIMT fp32 peak with efficiency 1.
//  - Kernel overhead 2 us per kernel [EST].
//  - Collectives: NVLink efficiency = NCCL's visible per-GPU NVLink bandwidth /
//    spec (A100 12 x 20 / 300, Hopper 18 x 20.6 / 450, Blackwell 18 x 40.1 / 900);
//    network 48.5 / 50 GB/s per NDR NIC; NCCL's LL128 latencies (ring base
//    14 us, hop 1.9 us NVLink / 4.0 us network; tree hop 1.25 / 8.5 us).
//
// Example:
//   Calibration cal = datasheet_defaults(*builtin_hardware().find_gpu("h100-sxm"));
//   cal.params(OpClass::kGemm).compute_efficiency;   // 794.5 / 989.4
Calibration datasheet_defaults(const GpuSpec& gpu);

// The measured eager layer a run of `processes` ranks of TP size `tp` uses:
// same TP size; with TP, sequence parallel if measured so; without, the one
// measured with the closest number of processes sharing the host (the first
// of equals). Null when none has that TP size.
const LayerHost* find_layer_host(const HostParams& host, int tp, bool sequence_parallel, int processes);

// The calibration with its host running `factor` times as long: every host
// time it holds (launches, collective calls, DTensor costs, eager layers) is
// multiplied; ratios between host times and everything on the GPU are kept.
// For predicting a run on a machine instance whose host was measured slower
// or faster than the calibration's (the training harness's host probe).
// Throws InputError unless factor is finite and positive.
Calibration with_host_time_scaled(const Calibration& calibration, double factor);

// Every problem with a calibration at once (efficiencies in (0, 1.5], tile
// sizes positive, latencies non-negative), with JSON pointers under `path`.
// The 1.5 bound admits fitted efficiencies above 1 (e.g. in-switch reduction
// beating the link rate) but rejects unit mistakes.
std::vector<Diagnostic> validate_calibration(const Calibration& calibration, const std::string& path = "/calibration");

}  // namespace dtsim::hardware
