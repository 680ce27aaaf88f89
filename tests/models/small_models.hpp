// Small models shared by the models tests, sized so closed forms stay exact.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/model_spec.hpp"

namespace dtsim::models::testing {

// Llama-shaped: h 256, 8 heads of 32 (4 KV heads), SwiGLU 512, vocabulary
// 1024 (a multiple of 128 x tp for tp <= 8: no padding), untied.
inline ModelSpec small_llama(std::int64_t num_layers) {
  ModelSpec m;
  m.name = "llama-like";
  m.num_layers = num_layers;
  m.hidden = 256;
  m.num_heads = 8;
  m.num_kv_heads = 4;
  m.head_dim = 32;
  m.ffn_hidden = 512;
  m.vocab_size = 1024;
  m.max_seq_len = 1024;
  return m;
}

// small_llama(num_layers) as the training harness's GPT block: MHA, GELU
// MLP of 1024, LayerNorm, learned positions, biases.
inline ModelSpec small_gpt(std::int64_t num_layers) {
  ModelSpec m = small_llama(num_layers);
  m.num_kv_heads = m.num_heads;
  m.mlp = MlpKind::kGelu;
  m.norm = NormKind::kLayerNorm;
  m.position = PositionKind::kLearned;
  m.linear_bias = true;
  m.ffn_hidden = 1024;
  return m;
}

// small_llama(2) with multi-head latent attention: 8 heads, r_q 64 (0: no
// query compression), r_kv 32, nope 32, rope 16 (head_dim 48), v 24
// (narrower than nope, so a mix-up of the two shows).
inline ModelSpec small_mla(std::int64_t q_lora_rank = 64) {
  ModelSpec m = small_llama(2);
  m.name = "small-mla";
  m.attention = AttentionKind::kMla;
  m.num_kv_heads = 8;
  m.head_dim = 48;
  m.mla = MlaSpec{.q_lora_rank = q_lora_rank, .kv_lora_rank = 32, .qk_nope_head_dim = 32, .qk_rope_head_dim = 16,
                  .v_head_dim = 24};
  return m;
}

// Llama-shaped MoE: small_llama(4) with 8 experts of 128, top-2, the first
// layer dense (ffn 512), no shared experts.
inline ModelSpec small_moe() {
  ModelSpec m = small_llama(4);
  m.name = "small-moe";
  m.moe.num_experts = 8;
  m.moe.top_k = 2;
  m.moe.expert_ffn_hidden = 128;
  m.moe.first_dense_layers = 1;
  return m;
}

// A diagnostic at `path` whose message contains `fragment`.
inline bool has_path(const std::vector<Diagnostic>& d, const std::string& path, const std::string& fragment) {
  return std::any_of(d.begin(), d.end(), [&](const Diagnostic& x) {
    return x.path == path && x.message.find(fragment) != std::string::npos;
  });
}

}  // namespace dtsim::models::testing
