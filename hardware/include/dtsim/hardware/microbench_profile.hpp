// Measurements of one machine's microbenchmark run (hardware/calibration/
// bench/run_all.py), as typed records: what `dtsim calibrate` fits the cost
// model to. Reading the JSON file is the scenarios layer's job
// (dtsim/scenarios/calibration_io.hpp); this header only holds the data.
//
// Every time is the median over samples of one op (seconds in the file,
// Duration here). Byte and FLOP counts follow the profile's own conventions,
// which match the cost model's (hardware/calibration/README.md):
//  - GEMM: C[M,N] = A[M,K] B[K,N], 2MNK FLOPs;
//  - attention: causal forward 4 b s^2 h d / 2 FLOPs, backward 2.5x forward;
//  - memory-bound: every input read once, every output written once;
//  - collectives: nccl-tests sizes (all-gather: the full output).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/core/work.hpp"

namespace dtsim::hardware {

struct GemmMeasurement {
  GemmShape shape;
  DType dtype = DType::kBf16;
  Duration time;
};

struct AttentionMeasurement {
  AttentionShape shape;  // backward = false: forward only; true: forward + backward together
  Flops flops;           // of what was timed (forward, or forward + backward)
  Duration time;
};

// A memory-bound kernel (or a short eager chain of them) over one tensor size.
struct MemoryBoundMeasurement {
  std::string op;  // "copy_d2d", "rmsnorm", "adamw", ...
  OpClass op_class = OpClass::kElementwise;
  Bytes bytes;          // read + written
  std::int32_t kernels = 1;
  Duration time;
  // Timed by launching eagerly (the optimizer step): where the kernel is
  // shorter than the host's launch path, the time is the host's.
  bool eager_timed = false;
  // The data's type where the record names it (the optimizer's parameters
  // and moments, fp32 or bf16); unset for the other suites, whose records
  // are of one type each. A class measured in bf16 and another type gets
  // bf16 its own bandwidth (OpClassParams::bf16_memory_efficiency).
  std::optional<DType> dtype{};
};

// The cost of one tiny op: what the host spends launching it eagerly, and the
// GPU-side floor per kernel when replayed back to back from a CUDA graph.
struct LaunchMeasurement {
  std::string op;
  Duration host_enqueue;
  Duration graph_gpu;
};

struct CollectiveMeasurement {
  CollectiveKind kind = CollectiveKind::kAllReduce;
  int group_size = 2;
  Bytes bytes;                    // nccl-tests "S"
  Duration time;                  // GPU-side, back to back
  Duration host_bound_time;       // zero when not measured: with an idle GPU at each launch
};

// Host time of one eager op on DTensors over a TP mesh, and of the same op on
// plain tensors (bench_framework.py).
struct DTensorHostMeasurement {
  std::string op;  // "add", "linear_colwise", "linear_rowwise_reduced", ...
  int tp = 2;
  Duration dtensor;
  Duration plain;
};

// Host time of one eager decoder layer's forward + backward, with the
// harness's tensor-parallel plan over `tp` processes and without TP (plain),
// measured while `tp` processes share the host (bench_framework.py).
struct LayerHostMeasurement {
  int tp = 2;
  bool sequence_parallel = false;
  Duration layer;
  Duration plain_layer;
};

// Host time of one eager MoE decoder layer's forward + backward (the harness's
// MoE layer, no expert parallelism) and of the dense layer measured beside it,
// while `processes` processes share the host (bench_framework.py).
struct MoeLayerHostMeasurement {
  int experts = 0;
  int top_k = 0;
  int processes = 1;
  Duration layer;
  Duration plain_layer;
};

// Host time of one eager decoder layer's forward + backward of a block kind
// ("llama", "gpt") in a precision ("bf16", "amp_bf16"), one process
// (bench_framework.py --only-layer-host).
struct EagerLayerHostMeasurement {
  std::string arch;
  std::string precision;
  int processes = 1;
  Duration layer;
  // "none", or "full": every block under torch.utils.checkpoint (its
  // forward, the recomputed forward and the backward; --only-recompute-host).
  std::string recompute = "none";
  // The forward alone (autograd recording, no backward); unset in records
  // from before session 11.
  std::optional<Duration> forward;
};

// Host time of one eager Llama layer's forward + backward wrapped in a
// data-parallel wrapper over `processes` ranks (bench_framework.py
// --only-wrapper-host; over one rank it measures the wrapper's own hooks,
// copies and casts with no communication), beside the same layer unwrapped.
//  - wrapper: "ddp", "fsdp2_reshard" or "fsdp2_noreshard" (FSDP2 with and
//    without reshard_after_forward: the first gathers each unit twice);
//  - precision: "bf16", "amp_bf16" or "fsdp_mp_bf16" (FSDP2's
//    MixedPrecisionPolicy); plain_precision: the unwrapped layer's ("bf16"
//    or "amp_bf16").
struct WrapperHostMeasurement {
  std::string wrapper;
  std::string precision;
  std::string plain_precision;
  int processes = 1;
  Duration layer;
  Duration plain_layer;
};

// Host time of one step of PyTorch's one-stage pipelining schedule
// ("gpipe", "1f1b") over `microbatches` micro-batches, beside the same
// micro-batches in a plain loop (bench_framework.py --only-wrapper-host).
struct PipelineHostMeasurement {
  std::string schedule;
  int microbatches = 0;
  Duration step;
  Duration plain_step;
};

// Host time of one whole step of the training harness's plain loop on a
// tiny Llama (bench_framework.py --only-step-host): `grad_accum`
// micro-batches of embedding, `layers` blocks, output layer and loss, each
// forward + backward, then fused AdamW and zero_grad; beside the same
// process's eager Llama layer (forward + backward), in "bf16" or "amp_bf16".
// The model's shape as the harness's configs name it, so that the step can be
// predicted (scenarios::predict_step_host).
struct StepHostMeasurement {
  std::string precision;
  int layers = 0;
  int grad_accum = 1;
  int micro_batch = 1;
  std::int64_t hidden = 0;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t ffn_hidden = 0;
  std::int64_t vocab = 0;
  std::int64_t seq_len = 0;
  bool tied = false;
  Duration step;
  Duration layer;
};

// Kernels long enough that the host stays ahead, timed back to back when
// launched eagerly and when replayed from a CUDA graph (per kernel).
struct EagerGapMeasurement {
  std::string op;
  Duration eager;
  Duration graph;
};

// A kernel timed alone and while NCCL all-reduces run on another stream.
struct OverlapMeasurement {
  std::string kernel;  // "gemm_bf16_8192", "copy_1GiB"
  OpClass op_class = OpClass::kGemm;
  int world = 2;
  Duration alone;
  Duration with_collective;
};

struct MicrobenchProfile {
  std::string origin;      // the file it was read from
  std::string machine;     // machine_tag, e.g. "h200-x4"
  std::string gpu_name;    // as the driver reports it
  std::string versions;    // driver, CUDA, NCCL, PyTorch, one line
  std::vector<GemmMeasurement> gemm;
  std::vector<AttentionMeasurement> attention;
  std::vector<MemoryBoundMeasurement> memory_bound;
  std::vector<LaunchMeasurement> launch;
  std::vector<EagerGapMeasurement> eager_gap;
  std::vector<CollectiveMeasurement> collectives;
  std::vector<DTensorHostMeasurement> dtensor;
  std::vector<OverlapMeasurement> overlap;
  std::vector<LayerHostMeasurement> layer_host;
  std::vector<MoeLayerHostMeasurement> moe_layer_host;
  std::vector<EagerLayerHostMeasurement> eager_layer_host;
  std::vector<WrapperHostMeasurement> wrapper_host;
  std::vector<PipelineHostMeasurement> pipeline_host;
  std::vector<StepHostMeasurement> step_host;
};

}  // namespace dtsim::hardware
