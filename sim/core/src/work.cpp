#include "dtsim/core/work.hpp"

namespace dtsim {

std::string_view to_string(DType t) {
  switch (t) {
    case DType::kFp32: return "fp32";
    case DType::kBf16: return "bf16";
    case DType::kFp16: return "fp16";
    case DType::kFp8: return "fp8";
  }
  return "?";
}

std::string_view to_string(AttentionKernel k) {
  switch (k) {
    case AttentionKernel::kCudnn: return "cudnn";
    case AttentionKernel::kFlash2: return "flash2";
  }
  return "unknown";
}

std::string_view to_string(OpClass c) {
  switch (c) {
    case OpClass::kGemm: return "gemm";
    case OpClass::kAttention: return "attention";
    case OpClass::kElementwise: return "elementwise";
    case OpClass::kNormalization: return "normalization";
    case OpClass::kSoftmax: return "softmax";
    case OpClass::kEmbedding: return "embedding";
    case OpClass::kCast: return "cast";
    case OpClass::kOptimizer: return "optimizer";
    case OpClass::kMemcpy: return "memcpy";
    case OpClass::kScatterAdd: return "scatter_add";
    case OpClass::kLogSoftmax: return "log_softmax";
  }
  return "?";
}

std::string_view to_string(CollectiveKind k) {
  switch (k) {
    case CollectiveKind::kAllReduce: return "all_reduce";
    case CollectiveKind::kAllGather: return "all_gather";
    case CollectiveKind::kReduceScatter: return "reduce_scatter";
    case CollectiveKind::kAllToAll: return "all_to_all";
    case CollectiveKind::kBroadcast: return "broadcast";
    case CollectiveKind::kSendRecv: return "send_recv";
  }
  return "?";
}

}  // namespace dtsim
