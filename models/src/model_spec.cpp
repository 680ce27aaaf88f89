#include "dtsim/models/model_spec.hpp"

#include <algorithm>
#include <string>

namespace dtsim::models {

namespace {
// LayerNorm has a scale and a shift per channel; RMSNorm only a scale.
std::int64_t norm_parameters(const ModelSpec& m) { return m.norm == NormKind::kLayerNorm ? 2 * m.hidden : m.hidden; }

// Attention projections, their biases and the layer's two norms: what dense
// and MoE layers share.
std::int64_t attention_and_norm_parameters(const ModelSpec& m) {
  return attention_parameter_count(m) + 2 * norm_parameters(m);
}

// The MLP of one token in an MoE layer: its routed experts and shared experts.
std::int64_t moe_active_mlp_parameters(const ModelSpec& m) {
  return m.moe.top_k * expert_parameter_count(m) +
         (m.moe.num_shared_experts > 0 ? mlp_parameter_count(m, m.moe.num_shared_experts * m.moe.shared_expert_ffn_hidden)
                                       : 0);
}

std::int64_t embedding_and_head_parameters(const ModelSpec& m) {
  std::int64_t n = m.vocab_size * m.hidden;              // token embedding
  if (!m.tied_embeddings) n += m.vocab_size * m.hidden;  // separate output projection
  if (m.position == PositionKind::kLearned) n += m.max_seq_len * m.hidden;
  n += norm_parameters(m);  // final norm
  return n;
}

std::string str(std::int64_t v) { return std::to_string(v); }
std::string str(double v) {
  std::string s = std::to_string(v);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// The attention kind's fields (validate_model's MLA rules).
template <typename Add>
void validate_mla(const ModelSpec& m, Add& add) {
  const MlaSpec& a = m.mla;
  if (m.attention != AttentionKind::kMla) {
    if (a.q_lora_rank != 0 || a.kv_lora_rank != 0 || a.qk_nope_head_dim != 0 || a.qk_rope_head_dim != 0 ||
        a.v_head_dim != 0) {
      add("/attention", "MLA fields (q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim) "
                        "are set but attention is \"mha\"; expected attention \"mla\" or no MLA fields");
    }
    return;
  }
  auto at_least = [&](const char* leaf, const char* name, std::int64_t v, std::int64_t min) {
    if (v < min) {
      add(leaf, std::string(name) + " = " + str(v) + "; expected an integer >= " + str(min) + " with attention \"mla\"");
    }
  };
  at_least("/q_lora_rank", "q_lora_rank", a.q_lora_rank, 0);
  at_least("/kv_lora_rank", "kv_lora_rank", a.kv_lora_rank, 1);
  at_least("/qk_nope_head_dim", "qk_nope_head_dim", a.qk_nope_head_dim, 1);
  at_least("/qk_rope_head_dim", "qk_rope_head_dim", a.qk_rope_head_dim, 1);
  at_least("/v_head_dim", "v_head_dim", a.v_head_dim, 1);
  if (m.head_dim != a.qk_nope_head_dim + a.qk_rope_head_dim) {
    add("/head_dim", "head_dim = " + str(m.head_dim) + "; with attention \"mla\" expected qk_nope_head_dim + "
                     "qk_rope_head_dim = " + str(a.qk_nope_head_dim + a.qk_rope_head_dim) + " (the QK head width)");
  }
  if (m.num_kv_heads != m.num_heads) {
    add("/num_kv_heads", "num_kv_heads = " + str(m.num_kv_heads) + "; with attention \"mla\" expected num_heads = " +
                             str(m.num_heads) + " (every head has its own key and value)");
  }
  if (m.position != PositionKind::kRotary) {
    add("/position", "attention \"mla\" needs position \"rotary\" (its decoupled rotary key)");
  }
  if (m.linear_bias) add("/linear_bias", "attention \"mla\" with linear_bias is not modelled; expected false");
}
}  // namespace

std::int64_t mla_replicated_parameter_count(const ModelSpec& m) {
  if (m.attention != AttentionKind::kMla) return 0;
  const MlaSpec& a = m.mla;
  const std::int64_t per_norm_element = m.norm == NormKind::kLayerNorm ? 2 : 1;
  std::int64_t n = m.hidden * (a.kv_lora_rank + a.qk_rope_head_dim) + per_norm_element * a.kv_lora_rank;
  if (a.q_lora_rank > 0) n += m.hidden * a.q_lora_rank + per_norm_element * a.q_lora_rank;
  return n;
}

std::int64_t attention_parameter_count(const ModelSpec& m) {
  if (m.attention == AttentionKind::kMla) {
    const MlaSpec& a = m.mla;
    const std::int64_t qk = a.qk_nope_head_dim + a.qk_rope_head_dim;
    const std::int64_t q_up = (a.q_lora_rank > 0 ? a.q_lora_rank : m.hidden) * m.num_heads * qk;
    const std::int64_t kv_up = a.kv_lora_rank * m.num_heads * (a.qk_nope_head_dim + a.v_head_dim);
    const std::int64_t out = m.num_heads * a.v_head_dim * m.hidden;
    return mla_replicated_parameter_count(m) + q_up + kv_up + out;
  }
  const std::int64_t q_width = m.num_heads * m.head_dim;
  const std::int64_t qkv_width = (m.num_heads + 2 * m.num_kv_heads) * m.head_dim;
  std::int64_t n = m.hidden * qkv_width + q_width * m.hidden;
  if (m.linear_bias) n += qkv_width + m.hidden;
  return n;
}

std::int64_t mlp_parameter_count(const ModelSpec& m, std::int64_t f) {
  // SwiGLU has a gate and an up matrix of h x f each; GELU one.
  const std::int64_t up_width = m.mlp == MlpKind::kSwiGlu ? 2 * f : f;
  std::int64_t n = m.hidden * up_width + f * m.hidden;
  if (m.linear_bias) n += up_width + m.hidden;
  return n;
}

std::int64_t decoder_layer_parameter_count(const ModelSpec& m) {
  return attention_and_norm_parameters(m) + mlp_parameter_count(m, m.ffn_hidden);
}

std::int64_t expert_parameter_count(const ModelSpec& m) { return mlp_parameter_count(m, m.moe.expert_ffn_hidden); }

std::int64_t moe_layer_parameter_count(const ModelSpec& m) {
  std::int64_t n = attention_and_norm_parameters(m) + m.hidden * m.moe.num_experts;  // router
  n += m.moe.num_experts * expert_parameter_count(m);
  if (m.moe.num_shared_experts > 0) {
    n += mlp_parameter_count(m, m.moe.num_shared_experts * m.moe.shared_expert_ffn_hidden);
  }
  return n;
}

bool is_windowed_layer(const ModelSpec& m, std::int64_t layer) {
  if (m.sliding_window <= 0) return false;
  const std::int64_t n = m.full_attention_interval;
  return n <= 0 || layer % n != n - 1;
}

double causal_attention_pairs(std::int64_t seq, std::int64_t window) {
  const auto s = static_cast<double>(seq);
  if (window <= 0 || window >= seq) return s * (s + 1.0) / 2.0;
  const auto w = static_cast<double>(window);
  return w * (w + 1.0) / 2.0 + (s - w) * w;
}

bool is_moe_layer(const ModelSpec& m, std::int64_t layer) {
  if (!m.moe.enabled() || layer < m.moe.first_dense_layers || m.moe.layer_frequency < 1) return false;
  return (layer - m.moe.first_dense_layers) % m.moe.layer_frequency == 0;
}

std::int64_t num_moe_layers(const ModelSpec& m) {
  if (!m.moe.enabled() || m.moe.layer_frequency < 1 || m.num_layers <= m.moe.first_dense_layers) return 0;
  const std::int64_t after = m.num_layers - m.moe.first_dense_layers;
  return (after + m.moe.layer_frequency - 1) / m.moe.layer_frequency;
}

std::int64_t parameter_count(const ModelSpec& m) {
  const std::int64_t moe_layers = num_moe_layers(m);
  std::int64_t n = (m.num_layers - moe_layers) * decoder_layer_parameter_count(m);
  if (moe_layers > 0) n += moe_layers * moe_layer_parameter_count(m);
  return n + embedding_and_head_parameters(m);
}

std::int64_t active_parameter_count(const ModelSpec& m) {
  const std::int64_t moe_layers = num_moe_layers(m);
  std::int64_t n = (m.num_layers - moe_layers) * decoder_layer_parameter_count(m);
  if (moe_layers > 0) {
    n += moe_layers * (attention_and_norm_parameters(m) + m.hidden * m.moe.num_experts + moe_active_mlp_parameters(m));
  }
  return n + embedding_and_head_parameters(m);
}

std::vector<Diagnostic> validate_model(const ModelSpec& m, std::string_view model_path) {
  std::vector<Diagnostic> out;
  auto add = [&](std::string_view leaf, std::string message) {
    std::string path(model_path);
    path += leaf;
    out.push_back({std::move(path), std::move(message)});
  };
  if (m.sliding_window < 0) {
    add("/sliding_window", "sliding_window = " + str(m.sliding_window) + "; expected 0 (full attention) or more tokens");
  }
  if (m.full_attention_interval < 0) {
    add("/full_attention_interval",
        "full_attention_interval = " + str(m.full_attention_interval) + "; expected 0 (every layer windowed) or more");
  } else if (m.full_attention_interval > 0 && m.sliding_window == 0) {
    add("/full_attention_interval", "full_attention_interval = " + str(m.full_attention_interval) +
                                        " without a sliding_window; expected a sliding_window > 0");
  } else if (m.full_attention_interval == 1 || m.full_attention_interval > m.num_layers) {
    add("/full_attention_interval", "full_attention_interval = " + str(m.full_attention_interval) +
                                        "; expected 0 (every layer windowed) or 2 <= N <= num_layers = " +
                                        str(m.num_layers) + " (every N-th layer full)");
  }
  validate_mla(m, add);
  const MoeSpec& e = m.moe;
  if (!e.enabled()) {
    if (e.num_experts < 0) add("/num_experts", "num_experts = " + str(e.num_experts) + "; expected 0 (dense) or >= 2");
    const bool untouched = e.top_k == 0 && e.expert_ffn_hidden == 0 && e.num_shared_experts == 0 &&
                           e.shared_expert_ffn_hidden == 0 && e.first_dense_layers == 0 && e.capacity_factor == 0.0 &&
                           e.hottest_expert_share == 0.0;
    if (e.num_experts == 0 && !untouched) {
      add("/num_experts", "MoE fields are set but num_experts = 0 (a dense model); expected num_experts >= 2 or "
                          "no MoE fields");
    }
    return out;
  }
  if (e.num_experts < 2) add("/num_experts", "num_experts = " + str(e.num_experts) + "; expected 0 (dense) or >= 2");
  if (e.top_k < 1 || e.top_k > e.num_experts) {
    add("/top_k", "top_k = " + str(e.top_k) + "; expected 1 <= top_k <= num_experts = " + str(e.num_experts));
  }
  if (e.expert_ffn_hidden < 1) {
    add("/expert_ffn_hidden", "expert_ffn_hidden = " + str(e.expert_ffn_hidden) + "; expected an integer >= 1");
  }
  if (e.num_shared_experts < 0) {
    add("/num_shared_experts", "num_shared_experts = " + str(e.num_shared_experts) + "; expected an integer >= 0");
  } else if (e.num_shared_experts > 0 && e.shared_expert_ffn_hidden < 1) {
    add("/shared_expert_ffn_hidden", "num_shared_experts = " + str(e.num_shared_experts) +
                                         " needs shared_expert_ffn_hidden >= 1; got " + str(e.shared_expert_ffn_hidden));
  }
  if (e.layer_frequency < 1) {
    add("/moe_layer_frequency", "moe_layer_frequency = " + str(e.layer_frequency) + "; expected an integer >= 1");
  }
  if (e.first_dense_layers < 0 || e.first_dense_layers >= m.num_layers) {
    add("/first_dense_layers", "first_dense_layers = " + str(e.first_dense_layers) + "; expected 0 <= it < num_layers = " +
                                   str(m.num_layers) + " (an MoE model needs at least one MoE layer)");
  }
  if (!(e.capacity_factor >= 0.0)) {
    add("/capacity_factor", "capacity_factor = " + str(e.capacity_factor) + "; expected 0 (dropless) or more");
  }
  const double balanced = 1.0 / static_cast<double>(e.num_experts);
  if (e.hottest_expert_share != 0.0 &&
      !(e.hottest_expert_share >= balanced * (1.0 - 1e-12) && e.hottest_expert_share <= 1.0)) {
    add("/hottest_expert_share", "hottest_expert_share = " + str(e.hottest_expert_share) +
                                     "; expected 0 (balanced) or a share in [1/num_experts = " + str(balanced) + ", 1]");
  }
  return out;
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
std::string_view to_string(GateKind k) { return k == GateKind::kSoftmax ? "softmax" : "sigmoid"; }
std::string_view to_string(AttentionKind k) { return k == AttentionKind::kMha ? "mha" : "mla"; }

std::string attention_summary(const ModelSpec& m) {
  std::string out;
  if (m.attention == AttentionKind::kMla) {
    out += "MLA q/kv rank " + str(m.mla.q_lora_rank) + "/" + str(m.mla.kv_lora_rank);
  }
  if (m.sliding_window > 0) {
    if (!out.empty()) out += ", ";
    out += "window " + str(m.sliding_window);
    const std::int64_t n = m.full_attention_interval;
    if (n >= 2) {
      const std::string suffix = n % 10 == 2 && n % 100 != 12 ? "nd" : n % 10 == 3 && n % 100 != 13 ? "rd" : "th";
      out += " (every " + str(n) + suffix + " layer full)";
    }
  }
  return out;
}

}  // namespace dtsim::models
