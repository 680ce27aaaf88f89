// A decoder-only transformer's architecture, as data.
//
// Covers the GPT family (LayerNorm, GELU MLP of 4h, MHA, learned positions,
// tied embeddings, biases) and the Llama family (RMSNorm, SwiGLU MLP, GQA,
// rotary positions, untied embeddings, no biases). Built-in models live in a
// ModelLibrary (an object filled explicitly; no static registration), and a
// scenario may define a custom model inline.
//
// Example:
//   ModelLibrary lib = builtin_models();
//   const ModelSpec* m = lib.find("llama3-70b");
//   std::int64_t n = parameter_count(*m);   // ~70.6e9
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dtsim::models {

enum class MlpKind : std::uint8_t { kGelu, kSwiGlu };
enum class NormKind : std::uint8_t { kLayerNorm, kRmsNorm };
enum class PositionKind : std::uint8_t { kLearned, kRotary };

struct ModelSpec {
  std::string name;
  std::int64_t num_layers = 0;
  std::int64_t hidden = 0;        // h
  std::int64_t num_heads = 0;     // a
  std::int64_t num_kv_heads = 0;  // = num_heads for MHA, fewer for GQA
  std::int64_t head_dim = 0;      // usually hidden / num_heads
  std::int64_t ffn_hidden = 0;    // MLP inner size (per matrix for SwiGLU)
  std::int64_t vocab_size = 0;
  std::int64_t max_seq_len = 0;   // positions the model supports (learned embeddings size)
  MlpKind mlp = MlpKind::kSwiGlu;
  NormKind norm = NormKind::kRmsNorm;
  PositionKind position = PositionKind::kRotary;
  bool tied_embeddings = false;
  bool linear_bias = false;
  // Hidden dropout after the attention and MLP blocks and on the embedding
  // output (GPT-3 style). Its 1-byte masks count as saved activations (KOR22);
  // attention-probability dropout runs inside the flash kernel and keeps nothing.
  bool dropout = false;
  std::string source;  // where the figures come from (paper, model card)
};

// Total trainable parameters (embeddings included, counted once when tied),
// with the vocabulary as the model card states it (no TP padding):
//   layers x decoder_layer_parameter_count + V h (+ V h untied) (+ max_seq h learned)
//   + final norm (h, or 2h for LayerNorm).
std::int64_t parameter_count(const ModelSpec& m);

// Parameters of one decoder layer: QKV h (a + 2 kv) d, out-proj a d h, MLP
// 2 h f (GELU) or 3 h f (SwiGLU), two norms (h each; 2h for LayerNorm), and
// with linear_bias the biases (a + 2 kv) d + h + f (2f for SwiGLU) + h.
std::int64_t decoder_layer_parameter_count(const ModelSpec& m);

// A set of named models. Lookups are by exact name.
class ModelLibrary {
 public:
  void add(ModelSpec spec);  // replaces a model of the same name
  const ModelSpec* find(std::string_view name) const;
  std::vector<std::string> names() const;  // sorted

 private:
  std::vector<ModelSpec> models_;
};

// GPT-3 175B, Llama-3 8B / 70B / 405B, and smaller members used in tests.
ModelLibrary builtin_models();

std::string_view to_string(MlpKind k);
std::string_view to_string(NormKind k);
std::string_view to_string(PositionKind k);

}  // namespace dtsim::models
