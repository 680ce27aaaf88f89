// A decoder-only transformer's architecture, as data.
//
// Covers the GPT family (LayerNorm, GELU MLP of 4h, MHA, learned positions,
// tied embeddings, biases), the Llama family (RMSNorm, SwiGLU MLP, GQA,
// rotary positions, untied embeddings, no biases) and mixture-of-experts
// models (MoeSpec: routed experts picked top-k per token by a softmax or
// sigmoid gate, shared experts, the first layers dense), and DeepSeek's
// multi-head latent attention (MlaSpec). Built-in models live in a
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

#include "dtsim/core/error.hpp"

namespace dtsim::models {

enum class MlpKind : std::uint8_t { kGelu, kSwiGlu };
enum class NormKind : std::uint8_t { kLayerNorm, kRmsNorm };
enum class PositionKind : std::uint8_t { kLearned, kRotary };
// How the router turns its logits into expert weights: softmax over the
// experts (Mixtral, Qwen3, gpt-oss) or a per-expert sigmoid (DeepSeek-V3).
enum class GateKind : std::uint8_t { kSoftmax, kSigmoid };
// kMha: multi-head attention, grouped-query when num_kv_heads < num_heads.
// kMla: DeepSeek-V2/V3 multi-head latent attention (MlaSpec).
enum class AttentionKind : std::uint8_t { kMha, kMla };

// Multi-head latent attention (DeepSeek-V2, arXiv:2405.04434 §2.1; V3). Per
// token, with a heads, h hidden:
//   query:  h -> q_lora_rank (down, "q_a_proj"), RMSNorm, -> a (nope + rope)
//           (up, "q_b_proj"); q_lora_rank = 0: one h -> a (nope + rope) projection;
//   keys and values: h -> kv_lora_rank + rope ("kv_a_proj_with_mqa": the latent
//           and one rotary key shared by every head), RMSNorm of the latent,
//           latent -> a (nope + v) ("kv_b_proj": each head's key part and value);
//   attention with QK head width nope + rope and value width v; output
//           projection a v -> h.
// The model's head_dim must equal qk_nope_head_dim + qk_rope_head_dim and
// num_kv_heads num_heads (every head has its own key and value after the
// up-projection). Under tensor parallelism the up-projections and the
// output projection split over heads; the down-projections and latent norms
// are replicated on every TP rank (Megatron's MLASelfAttention).
struct MlaSpec {
  std::int64_t q_lora_rank = 0;  // 0: no query compression
  std::int64_t kv_lora_rank = 0;
  std::int64_t qk_nope_head_dim = 0;
  std::int64_t qk_rope_head_dim = 0;
  std::int64_t v_head_dim = 0;
};

// The mixture-of-experts part of a model. num_experts = 0 is a dense model
// (every other field is then ignored and must keep its default).
//
// Layer l (0-based) is an MoE layer when l >= first_dense_layers and
// (l - first_dense_layers) % layer_frequency == 0; the others are dense
// layers with the model's ffn_hidden MLP. An MoE layer replaces the MLP by:
// a router (h x num_experts GEMM and the gate), top_k routed experts per
// token (each an MLP of the model's `mlp` kind with expert_ffn_hidden),
// and num_shared_experts experts every token goes through
// (shared_expert_ffn_hidden each; Megatron fuses them into one MLP of
// num_shared_experts x shared_expert_ffn_hidden).
struct MoeSpec {
  std::int64_t num_experts = 0;
  std::int64_t top_k = 0;
  std::int64_t expert_ffn_hidden = 0;
  std::int64_t num_shared_experts = 0;
  std::int64_t shared_expert_ffn_hidden = 0;
  std::int64_t first_dense_layers = 0;
  std::int64_t layer_frequency = 1;
  GateKind gate = GateKind::kSoftmax;
  // Megatron's moe_expert_capacity_factor: each expert takes at most
  // ceil(capacity_factor x tokens x top_k / num_experts) of a rank's tokens
  // and drops the rest. 0: dropless (no capacity).
  double capacity_factor = 0.0;
  // Load imbalance: the share of all routed (token, expert) assignments that
  // the busiest expert receives. 0 means perfectly balanced (1 / num_experts);
  // otherwise in [1 / num_experts, 1]; the other experts share the rest evenly.
  double hottest_expert_share = 0.0;

  bool enabled() const { return num_experts > 0; }
};

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
  AttentionKind attention = AttentionKind::kMha;
  MlaSpec mla;  // with attention = kMla; every field 0 otherwise
  // Sliding-window attention: each query attends to the last sliding_window
  // tokens (itself included; 0 = full causal attention) in the windowed
  // layers: all of them when full_attention_interval = 0, otherwise every
  // layer but each full_attention_interval-th (layer % interval == interval -
  // 1 is full: 2 alternates windowed and full as gpt-oss does).
  std::int64_t sliding_window = 0;
  std::int64_t full_attention_interval = 0;
  MoeSpec moe;         // num_experts = 0: dense
  std::string source;  // where the figures come from (paper, model card)
};

// Total trainable parameters (embeddings included, counted once when tied),
// with the vocabulary as the model card states it (no TP padding):
//   dense layers x decoder_layer_parameter_count + MoE layers x
//   moe_layer_parameter_count + V h (+ V h untied) (+ max_seq h learned)
//   + final norm (h, or 2h for LayerNorm).
std::int64_t parameter_count(const ModelSpec& m);

// Parameters of one dense decoder layer: attention_parameter_count, MLP 2 h f
// (GELU) or 3 h f (SwiGLU), two norms (h each; 2h for LayerNorm), and with
// linear_bias the MLP biases f (2f for SwiGLU) + h.
std::int64_t decoder_layer_parameter_count(const ModelSpec& m);

// Parameters of one layer's attention block, its two norms excluded.
//  MHA/GQA: QKV h (a + 2 kv) d, out-proj a d h, with linear_bias + (a + 2 kv) d + h.
//  MLA (d_qk = nope + rope): query h r_q + r_q + r_q a d_qk (or h a d_qk when
//  r_q = 0), keys/values h (r_kv + rope) + r_kv + r_kv a (nope + v), out-proj
//  a v h (latent norms r each, 2r for LayerNorm).
std::int64_t attention_parameter_count(const ModelSpec& m);
// Of those, the MLA down-projections and latent norms that every TP rank
// holds whole (0 for MHA): h r_q + r_q + h (r_kv + rope) + r_kv.
std::int64_t mla_replicated_parameter_count(const ModelSpec& m);

// Whether decoder layer `layer` (0-based) attends through the sliding window.
bool is_windowed_layer(const ModelSpec& m, std::int64_t layer);
// (query, key) pairs of causal attention over `seq` tokens with a window of
// `window` tokens (0: no window): sum over positions i of min(i + 1, window).
double causal_attention_pairs(std::int64_t seq, std::int64_t window);

// Whether decoder layer `layer` (0-based) is an MoE layer (MoeSpec's rule).
bool is_moe_layer(const ModelSpec& m, std::int64_t layer);
// MoE layers of the model.
std::int64_t num_moe_layers(const ModelSpec& m);

// Parameters of one MLP of inner width f of the model's kind: 3 h f (SwiGLU)
// or 2 h f (GELU), plus biases f (2f SwiGLU) + h with linear_bias.
std::int64_t mlp_parameter_count(const ModelSpec& m, std::int64_t f);
// One routed expert's parameters: mlp_parameter_count(m, expert_ffn_hidden).
std::int64_t expert_parameter_count(const ModelSpec& m);
// Parameters of one MoE layer: attention and norms as a dense layer, the
// router h x E, E routed experts, and the shared experts.
std::int64_t moe_layer_parameter_count(const ModelSpec& m);
// Parameters one token uses (embedding and head once, every attention, every
// dense MLP, and in each MoE layer the router, top_k routed experts and the
// shared experts): the "active" count of most model cards (gpt-oss's card
// also leaves out the token embedding). = parameter_count for a dense model.
std::int64_t active_parameter_count(const ModelSpec& m);

// Problems with the model's own fields (not the plan's), each at
// model_path + "/<field>", naming the value and what was expected. Empty
// when valid. MoE rules: num_experts >= 2 when set; 1 <= top_k <=
// num_experts; expert_ffn_hidden >= 1; shared experts need
// shared_expert_ffn_hidden >= 1; layer_frequency >= 1; first_dense_layers <
// num_layers (at least one MoE layer); capacity_factor >= 0 (a value below 1
// drops tokens even under balanced routing); hottest_expert_share 0 or in
// [1 / num_experts, 1]; a dense model leaves every MoE field at its default.
// Attention rules: MLA needs kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim
// and v_head_dim >= 1, q_lora_rank >= 0, head_dim = nope + rope, num_kv_heads
// = num_heads, rotary positions and no linear biases; MHA leaves the MLA
// fields 0. sliding_window >= 0; full_attention_interval 0 or in [2,
// num_layers] (1 would leave no windowed layer, more than num_layers no full
// one), and only with a window.
std::vector<Diagnostic> validate_model(const ModelSpec& m, std::string_view model_path);

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
std::string_view to_string(GateKind k);
std::string_view to_string(AttentionKind k);
// The attention beyond heads and KV heads, for listings and reports: "" for
// full MHA/GQA, else e.g. "MLA q/kv rank 1536/512" and "window 128 (every 2nd
// layer full)", joined by ", ".
std::string attention_summary(const ModelSpec& m);

}  // namespace dtsim::models
