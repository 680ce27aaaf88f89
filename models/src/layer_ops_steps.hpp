// Private building blocks of layer_ops.cpp: constructors for LayerStep values
// and the byte widths each precision mode gives the tensors of a layer.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "dtsim/core/work.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/training_spec.hpp"

namespace dtsim::models::layer_ops_detail {

// Bytes per element of the tensor roles of a step, by precision mode.
struct Widths {
  std::int64_t act = 2;       // GEMM operands and outputs, attention tensors, MLP activations (bf16)
  std::int64_t residual = 2;  // residual stream, norm inputs and outputs
  std::int64_t param = 2;     // parameters as kernels read them (norm weights, biases, embeddings)
  std::int64_t grad = 2;      // gradient storage per parameter
  // The wgrad GEMM accumulates straight into gradient storage (Megatron's
  // gradient-accumulation fusion into fp32 main_grad; bf16 GEMM with beta = 1).
  // When false (AMP) the GEMM writes a bf16 gradient that autograd casts to
  // fp32 and adds into .grad in separate kernels.
  bool wgrad_fused = true;
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
      w.wgrad_fused = false;
      w.autocast = true;
      break;
    case PrecisionMode::kPureBf16:
      break;
  }
  return w;
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
