// Small models shared by the models tests, sized so closed forms stay exact.
#pragma once

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

}  // namespace dtsim::models::testing
