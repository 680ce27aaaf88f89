// The vocabulary shared by models/ and hardware/: *what* runs, never how long.
//
// models/ describes each kernel of a training step as ComputeWork (its class,
// FLOPs, bytes moved, and the shape that decides its efficiency); hardware/
// turns ComputeWork into a Duration on a given GPU. Neither knows the other:
// hardware never sees "attention layer 17", models never sees "H100".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "dtsim/core/units.hpp"

namespace dtsim {

enum class DType : std::uint8_t { kFp32, kBf16, kFp16, kFp8 };

constexpr std::int64_t dtype_size(DType t) {
  switch (t) {
    case DType::kFp32: return 4;
    case DType::kBf16: return 2;
    case DType::kFp16: return 2;
    case DType::kFp8: return 1;
  }
  return 0;
}
std::string_view to_string(DType t);

// The classes the op cost model keeps separate efficiencies for. A calibration
// profile fits one set of parameters per class.
enum class OpClass : std::uint8_t {
  kGemm,           // dense matrix product on tensor cores
  kAttention,      // fused (flash-style) attention, forward or backward
  kElementwise,    // activations, residual adds, dropout, rotary, bias
  kNormalization,  // LayerNorm / RMSNorm forward or backward
  kSoftmax,        // softmax and cross-entropy over the vocabulary
  kEmbedding,      // embedding gather / scatter-add
  kCast,           // dtype conversion (AMP weight casts)
  kOptimizer,      // fused optimizer update over parameters
  kMemcpy,         // plain device copies
  kScatterAdd,     // index_add of rows (eager MoE combine): one atomic add per source
                   // element bounds it, so its bytes are the source rows' only
  kLogSoftmax,     // PyTorch's fp32 log-softmax over vocabulary rows (the eager loss),
                   // forward or backward, bytes = every pass over the row
};
inline constexpr int kOpClassCount = 11;
std::string_view to_string(OpClass c);

// M x K times K x N, repeated `batch` times.
struct GemmShape {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  std::int64_t batch = 1;
  bool operator==(const GemmShape&) const = default;
};

// Which fused-attention implementation runs: measured efficiencies differ by
// 2x on Hopper (hardware/calibration/README.md).
enum class AttentionKernel : std::uint8_t {
  kCudnn,   // cuDNN fused attention (Transformer Engine, Megatron on Hopper)
  kFlash2,  // FlashAttention-2, PyTorch SDPA's flash backend
};
std::string_view to_string(AttentionKernel k);

struct AttentionShape {
  std::int64_t batch = 0;
  std::int64_t seq_q = 0;
  std::int64_t seq_kv = 0;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;    // Q and K head width
  std::int64_t head_dim_v = 0;  // V (and output) head width; 0: head_dim (MLA: 128 against QK's 192)
  bool causal = true;
  bool backward = false;
  AttentionKernel kernel = AttentionKernel::kCudnn;
  bool operator==(const AttentionShape&) const = default;
};

// One kernel's work. FLOPs are the useful floating-point operations (a
// multiply-add counts 2); bytes are what the kernel reads from and writes to
// HBM assuming no reuse across kernels.
struct ComputeWork {
  OpClass op_class = OpClass::kElementwise;
  DType dtype = DType::kBf16;
  Flops flops;
  Bytes bytes_read;
  Bytes bytes_written;
  std::optional<GemmShape> gemm;
  std::optional<AttentionShape> attention;
  // Kernels launched for this work (a fused op is 1; an unfused chain is more).
  std::int32_t kernels = 1;
  bool operator==(const ComputeWork&) const = default;
};

enum class CollectiveKind : std::uint8_t {
  kAllReduce,
  kAllGather,
  kReduceScatter,
  kAllToAll,
  kBroadcast,
  kSendRecv,
};
std::string_view to_string(CollectiveKind k);

}  // namespace dtsim
