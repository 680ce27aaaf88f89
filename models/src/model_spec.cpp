#include "dtsim/models/model_spec.hpp"

#include <algorithm>

namespace dtsim::models {

namespace {
// LayerNorm has a scale and a shift per channel; RMSNorm only a scale.
std::int64_t norm_parameters(const ModelSpec& m) { return m.norm == NormKind::kLayerNorm ? 2 * m.hidden : m.hidden; }
}  // namespace

std::int64_t decoder_layer_parameter_count(const ModelSpec& m) {
  const std::int64_t q_width = m.num_heads * m.head_dim;
  const std::int64_t qkv_width = (m.num_heads + 2 * m.num_kv_heads) * m.head_dim;
  // SwiGLU has a gate and an up matrix of h x f each; GELU one.
  const std::int64_t up_width = m.mlp == MlpKind::kSwiGlu ? 2 * m.ffn_hidden : m.ffn_hidden;
  std::int64_t n = m.hidden * qkv_width + q_width * m.hidden + m.hidden * up_width + m.ffn_hidden * m.hidden;
  n += 2 * norm_parameters(m);
  if (m.linear_bias) n += qkv_width + m.hidden + up_width + m.hidden;
  return n;
}

std::int64_t parameter_count(const ModelSpec& m) {
  std::int64_t n = m.num_layers * decoder_layer_parameter_count(m);
  n += m.vocab_size * m.hidden;                          // token embedding
  if (!m.tied_embeddings) n += m.vocab_size * m.hidden;  // separate output projection
  if (m.position == PositionKind::kLearned) n += m.max_seq_len * m.hidden;
  n += norm_parameters(m);  // final norm
  return n;
}

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
