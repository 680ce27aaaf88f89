#include "dtsim/models/model_spec.hpp"

#include <algorithm>

namespace dtsim::models {

void ModelLibrary::add(ModelSpec spec) {
  for (auto& m : models_) {
    if (m.name == spec.name) {
      m = std::move(spec);
      return;
    }
  }
  models_.push_back(std::move(spec));
}

const ModelSpec* ModelLibrary::find(std::string_view name) const {
  for (const auto& m : models_) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<std::string> ModelLibrary::names() const {
  std::vector<std::string> out;
  out.reserve(models_.size());
  for (const auto& m : models_) out.push_back(m.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::string_view to_string(MlpKind k) { return k == MlpKind::kGelu ? "gelu" : "swiglu"; }
std::string_view to_string(NormKind k) { return k == NormKind::kLayerNorm ? "layernorm" : "rmsnorm"; }
std::string_view to_string(PositionKind k) { return k == PositionKind::kLearned ? "learned" : "rotary"; }

}  // namespace dtsim::models
