#include "dtsim/models/training_spec.hpp"

namespace dtsim::models {

std::string_view to_string(PrecisionMode p) {
  switch (p) {
    case PrecisionMode::kMegatronBf16: return "megatron_bf16";
    case PrecisionMode::kAmpBf16: return "amp_bf16";
    case PrecisionMode::kPureBf16: return "pure_bf16";
    case PrecisionMode::kFsdpMixedBf16: return "fsdp_mixed_bf16";
  }
  return "unknown";
}

std::string_view to_string(Framework f) {
  switch (f) {
    case Framework::kMegatron: return "megatron";
    case Framework::kPyTorchEager: return "pytorch-eager";
    case Framework::kPyTorchCompile: return "pytorch-compile";
  }
  return "unknown";
}

std::string_view to_string(Recompute r) {
  switch (r) {
    case Recompute::kNone: return "none";
    case Recompute::kSelective: return "selective";
    case Recompute::kFull: return "full";
  }
  return "unknown";
}

}  // namespace dtsim::models
