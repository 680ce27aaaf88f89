// Model FLOPs of one step, Megatron's accounting (reference §6, MEG-FLOP:
// megatron/training/training.py num_floating_point_operations).
//
// With B = global batch (sequences), s = seq_len, h = hidden, a = heads,
// g = KV heads, d = head_dim, q = a d (the attention width), f = ffn_hidden,
// V = vocabulary, per layer forward:
//   QKV projection   2 B s h (q + 2 g d)
//   attention core   2 B s^2 q           (QK^T and PV at 2 B s^2 q each, causal half)
//   out projection   2 B s q h
//   MLP              2 B s h f x 2 (GELU: up, down) or x 3 (SwiGLU: gate, up, down)
// and once for the model: logits 2 B s h V. Training = 3 x forward (backward
// = 2 x forward); recompute is not counted (model FLOPs, not hardware FLOPs).
// With q = h (kv_channels x a = h, as Megatron assumes) the attention terms sum
// to Megatron's 4 B s h (h + h g/a + s/2), and the MLP to 4 B s h f (x 3/2 SwiGLU).
// V is the model's own vocabulary: Megatron uses the TP-padded one, which adds
// FLOPs the model does not need; MFU here counts only useful work.
// An MoE layer replaces the MLP term by the router 2 B s h E and, per token,
// top_k routed experts and the shared experts: 2 B s h (k f_e + n_s f_s) x 2
// (GELU) or x 3 (SwiGLU). Capacity drops and load imbalance do not change
// model FLOPs (Megatron counts k experts per token). A sliding-window layer's
// attention core counts its share of the causal (query, key) pairs.
//
// Multi-head latent attention (MlaSpec; d_qk = nope + rope, r_q, r_kv the
// latent ranks) replaces the QKV and out projections by, per token:
//   query  2 h r_q + 2 r_q a d_qk  (r_q = 0: 2 h a d_qk)
//   KV     2 h (r_kv + rope) + 2 r_kv a (nope + v)
//   out    2 a v h
// and its core does QK^T at width d_qk and PV at v: q = a (d_qk + v) / 2 in
// 2 B s^2 q. Megatron's MLA count (num_floating_point_operations) also adds
// a term per latent norm element; norms are not counted here, as for the
// other models.
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/model_spec.hpp"

namespace dtsim::models {

namespace {

// Forward FLOPs of one layer's MLA projections per token.
double mla_projection_flops_per_token(const ModelSpec& m) {
  const double h = static_cast<double>(m.hidden);
  const double a = static_cast<double>(m.num_heads);
  const MlaSpec& l = m.mla;
  const double qk = static_cast<double>(l.qk_nope_head_dim + l.qk_rope_head_dim);
  const double r_q = static_cast<double>(l.q_lora_rank);
  const double r_kv = static_cast<double>(l.kv_lora_rank);
  const double query = l.q_lora_rank > 0 ? 2.0 * h * r_q + 2.0 * r_q * a * qk : 2.0 * h * a * qk;
  const double kv = 2.0 * h * (r_kv + static_cast<double>(l.qk_rope_head_dim)) +
                    2.0 * r_kv * a * static_cast<double>(l.qk_nope_head_dim + l.v_head_dim);
  return query + kv + 2.0 * a * static_cast<double>(l.v_head_dim) * h;
}

}  // namespace

Flops model_flops_per_step(const ModelSpec& model, const TrainingSpec& training) {
  const double tokens = static_cast<double>(training.global_batch) * static_cast<double>(training.seq_len);
  const double s = static_cast<double>(training.seq_len);
  const double h = static_cast<double>(model.hidden);
  const double q = static_cast<double>(model.num_heads * model.head_dim);
  const double kv = static_cast<double>(model.num_kv_heads * model.head_dim);
  const double f = static_cast<double>(model.ffn_hidden);
  const double mlp_matrices = model.mlp == MlpKind::kSwiGlu ? 3.0 : 2.0;

  // The attention core per layer, full or through the sliding window (its
  // share of the causal pairs).
  const bool mla = model.attention == AttentionKind::kMla;
  const double core_width =
      mla ? static_cast<double>(model.num_heads) * static_cast<double>(model.head_dim + model.mla.v_head_dim) / 2.0 : q;
  const double core = 2.0 * tokens * s * core_width;
  const double window_share = causal_attention_pairs(training.seq_len, model.sliding_window) /
                              causal_attention_pairs(training.seq_len, 0);
  double windowed_layers = 0.0;
  for (std::int64_t l = 0; l < model.num_layers; ++l) windowed_layers += is_windowed_layer(model, l) ? 1.0 : 0.0;
  const double attention_cores =
      (static_cast<double>(model.num_layers) - windowed_layers) * core + windowed_layers * core * window_share;
  const double attention = mla ? tokens * mla_projection_flops_per_token(model)
                              : 2.0 * tokens * h * (q + 2.0 * kv) + 2.0 * tokens * q * h;
  const double mlp = 2.0 * tokens * h * f * mlp_matrices;
  const double logits = 2.0 * tokens * h * static_cast<double>(model.vocab_size);
  const auto moe_layers = static_cast<double>(num_moe_layers(model));
  const MoeSpec& e = model.moe;
  const double moe_mlp =
      2.0 * tokens * h * static_cast<double>(e.num_experts) +
      2.0 * tokens * h *
          static_cast<double>(e.top_k * e.expert_ffn_hidden + e.num_shared_experts * e.shared_expert_ffn_hidden) *
          mlp_matrices;
  const double forward = static_cast<double>(model.num_layers) * attention + attention_cores +
                         (static_cast<double>(model.num_layers) - moe_layers) * mlp + moe_layers * moe_mlp + logits;
  return Flops(3.0 * forward);
}

}  // namespace dtsim::models
