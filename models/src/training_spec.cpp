#include "dtsim/models/training_spec.hpp"

#include <algorithm>

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

std::string_view to_string(RecomputeModule m) {
  switch (m) {
    case RecomputeModule::kCoreAttention: return "core_attn";
    case RecomputeModule::kLayerNorm: return "layernorm";
    case RecomputeModule::kMlaUpProjection: return "mla_up_proj";
    case RecomputeModule::kMoeActivation: return "moe_act";
    case RecomputeModule::kMlp: return "mlp";
    case RecomputeModule::kSharedExperts: return "shared_experts";
  }
  return "unknown";
}

bool recomputes(const TrainingSpec& t, RecomputeModule m) {
  if (t.recompute != Recompute::kSelective) return false;
  if (t.recompute_modules.empty()) return m == RecomputeModule::kCoreAttention;
  return std::find(t.recompute_modules.begin(), t.recompute_modules.end(), m) != t.recompute_modules.end();
}

}  // namespace dtsim::models
