// Private building blocks of layer_ops.cpp: constructors for LayerStep values
// and the byte widths each precision mode gives the tensors of a layer.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "dtsim/core/work.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/training_spec.hpp"

namespace dtsim::models::layer_ops_detail {

// Bytes per element of the tensor roles of a step, by precision mode.
struct Widths {
  std::int64_t act = 2;       // GEMM operands and outputs, attention tensors, MLP activations (bf16)
  std::int64_t residual = 2;  // residual stream, norm inputs and outputs
  std::int64_t param = 2;     // parameters as kernels read them (norm weights, biases, embeddings)
  std::int64_t grad = 2;      // gradient storage per parameter
  // How the wgrad GEMM's output reaches gradient storage:
  //  - kIntoStorage: the GEMM reads and writes the stored gradient (Megatron's
  //    accumulation into fp32 main_grad; bf16 with beta = 1);
  //  - kCastToFp32 (AMP): the GEMM writes a bf16 gradient of the bf16 weight
  //    copy, which autograd casts to the fp32 parameter's .grad (one kernel);
  //  - kComputeDtype (FSDP2 mixed precision): the GEMM writes the unsharded
  //    bf16 parameter's gradient, which FSDP casts when it reduces it.
  // Eager PyTorch's adds into .grad from a step's second micro-batch on are
  // the lowering's (gradient_accumulation_ops).
  enum class WgradOutput : std::uint8_t { kIntoStorage, kCastToFp32, kComputeDtype };
  WgradOutput wgrad = WgradOutput::kIntoStorage;
  // PyTorch autocast: the residual stream and norms run in fp32 and each GEMM
  // input is cast to bf16 by a separate kernel (and its gradient cast back).
  bool autocast = false;
  DType residual_dtype() const { return residual == 4 ? DType::kFp32 : DType::kBf16; }
};

inline Widths widths_for(PrecisionMode p) {
  Widths w;
  switch (p) {
    case PrecisionMode::kMegatronBf16:
      w.grad = 4;
      break;
    case PrecisionMode::kAmpBf16:
    case PrecisionMode::kFsdpMixedBf16:
      w.residual = 4;
      w.param = 4;
      w.grad = 4;
      w.wgrad = p == PrecisionMode::kAmpBf16 ? Widths::WgradOutput::kCastToFp32 : Widths::WgradOutput::kComputeDtype;
      w.autocast = true;
      break;
    case PrecisionMode::kPureBf16:
      break;
  }
  return w;
}

// The widths a layer's kernels see under a plan. FSDP2's mixed precision
// under ZeRO-3 computes entirely in bf16: FSDP casts each shard when it
// gathers it and each unit's forward inputs, so there is no autocast, the
// residual stream is bf16 and the wgrad GEMMs write the bf16 parameters'
// gradients (FSDP casts them when it reduces). Profiled over one rank (one
// H100, session 7): the same layer kernels as pure bf16, no fp32 ones.
// Without ZeRO-3 it is AMP (training_spec.hpp). Under the PyTorch
// frameworks a pure-bf16 wgrad GEMM writes the gradient (the first
// micro-batch's becomes .grad; later ones are added by AccumulateGrad,
// gradient_accumulation_ops), where Megatron's accumulates into storage.
inline Widths layer_widths_for(const TrainingSpec& t, const ParallelPlan& plan) {
  const PrecisionMode p = t.precision;
  if (p == PrecisionMode::kFsdpMixedBf16 && plan.zero_stage < 3) return widths_for(PrecisionMode::kAmpBf16);
  if (p == PrecisionMode::kFsdpMixedBf16 ||
      (p == PrecisionMode::kPureBf16 && t.framework != Framework::kMegatron)) {
    Widths w = widths_for(PrecisionMode::kPureBf16);
    w.wgrad = Widths::WgradOutput::kComputeDtype;
    return w;
  }
  return widths_for(p);
}

inline double as_double(std::int64_t v) { return static_cast<double>(v); }

inline LayerStep compute_step(std::string name, OpClass op_class, DType dtype, double flops, std::int64_t read,
                              std::int64_t written, std::int64_t saved = 0, std::int32_t kernels = 1) {
  LayerStep s;
  s.kind = LayerStep::Kind::kCompute;
  s.name = std::move(name);
  s.work.op_class = op_class;
  s.work.dtype = dtype;
  s.work.flops = Flops(flops);
  s.work.bytes_read = Bytes(read);
  s.work.bytes_written = Bytes(written);
  s.work.kernels = kernels;
  s.saved_for_backward = Bytes(saved);
  return s;
}

// A bf16 GEMM of shape m x k times k x n: 2 m n k FLOPs.
inline LayerStep gemm_step(std::string name, std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t read,
                           std::int64_t written, std::int64_t saved = 0) {
  LayerStep s = compute_step(std::move(name), OpClass::kGemm, DType::kBf16, 2.0 * as_double(m) * as_double(n) * as_double(k),
                             read, written, saved);
  s.work.gemm = GemmShape{m, n, k, 1};
  return s;
}

inline LayerStep weight_grad(LayerStep s) {
  s.weight_gradient = true;
  return s;
}

// A collective over the tensor-parallel group; bytes in the nccl-tests "S"
// convention (all-reduce: the buffer; all-gather / reduce-scatter: the full array).
inline LayerStep tp_collective_step(std::string name, CollectiveKind kind, std::int64_t bytes) {
  LayerStep s;
  s.kind = LayerStep::Kind::kTensorCollective;
  s.name = std::move(name);
  s.collective = kind;
  s.collective_bytes = Bytes(bytes);
  return s;
}

}  // namespace dtsim::models::layer_ops_detail
