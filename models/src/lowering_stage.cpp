#include "lowering_stage.hpp"

#include "dtsim/models/framework_profile.hpp"

#include <algorithm>
#include <string>

#include "dtsim/core/error.hpp"
#include "dtsim/models/pipeline_schedule.hpp"
#include "layer_ops_steps.hpp"

namespace dtsim::models::lowering_detail {
namespace {

Bytes sum_saved(const std::vector<LayerStep>& steps) {
  Bytes b;
  for (const LayerStep& s : steps) b += s.saved_for_backward;
  return b;
}


}  // namespace

ModelLayout::ModelLayout(const ModelSpec& model, const TrainingSpec& training, const ParallelPlan& plan)
    : pp_(plan.pp), v_(plan.virtual_stages), schedule_(plan.schedule), tied_(model.tied_embeddings) {
  std::vector<Diagnostic> problems = validate_model(model, "/model");
  std::vector<Diagnostic> plan_problems = validate_plan(model, training, plan, "/plan", "/training");
  problems.insert(problems.end(), plan_problems.begin(), plan_problems.end());
  if (!problems.empty()) throw InputError(std::move(problems));

  decoder_ = decoder_layer_ops(model, training, plan);
  apply_framework(decoder_, training);
  is_windowed_.assign(static_cast<std::size_t>(model.num_layers), 0);
  for (std::int64_t l = 0; l < model.num_layers; ++l) {
    is_windowed_[static_cast<std::size_t>(l)] = is_windowed_layer(model, l) ? 1 : 0;
  }
  mixed_windows_ = model.sliding_window > 0 && model.full_attention_interval > 0;
  ModelSpec full_attention = model;
  full_attention.sliding_window = 0;
  if (mixed_windows_) {
    decoder_full_ = decoder_layer_ops(full_attention, training, plan);
    apply_framework(decoder_full_, training);
  }
  moe_ = model.moe.enabled();
  is_moe_.assign(static_cast<std::size_t>(model.num_layers), 0);
  if (moe_) {
    moe_decoder_ = moe_layer_ops(model, training, plan);
    apply_framework(moe_decoder_, training);
    if (mixed_windows_) {
      moe_decoder_full_ = moe_layer_ops(full_attention, training, plan);
      apply_framework(moe_decoder_full_, training);
    }
    for (std::int64_t l = 0; l < model.num_layers; ++l) is_moe_[static_cast<std::size_t>(l)] = is_moe_layer(model, l);
    for (const LayerStep& s : moe_decoder_.forward) {
      if (s.kind == LayerStep::Kind::kExpertCollective) dispatch_bytes_ = std::max(dispatch_bytes_, s.collective_bytes);
    }
  }
  embedding_ = embedding_ops(model, training, plan);
  head_ = head_and_loss_ops(model, training, plan);
  embedding_matrix_ = padded_vocab_size(model, plan.tp) / plan.tp * model.hidden;
  // Megatron keeps a copy of a tied embedding on the last stage when the two
  // ends live on different GPUs; head_and_loss_ops leaves it out.
  head_parameters_ = head_.parameters + (tied_ && pp_ > 1 ? embedding_matrix_ : 0);

  norm_per_layer_ = model.norm == NormKind::kLayerNorm ? 2 * model.hidden : model.hidden;
  final_norm_ = norm_per_layer_;
  norm_per_layer_ *= 2;  // input norm and post-attention norm
  mla_replicated_ = mla_replicated_parameter_count(model);
  // MLA's latent norms (not cast under AMP): r_q and r_kv wide.
  const std::int64_t latent_norms =
      model.attention == AttentionKind::kMla
          ? (model.mla.kv_lora_rank + model.mla.q_lora_rank) * (model.norm == NormKind::kLayerNorm ? 2 : 1)
          : 0;
  // Attention weight matrices: QKV and out-proj; MLA's query down and up (or
  // one query projection), KV down and up, out-proj.
  const std::int32_t attention_matrices =
      model.attention == AttentionKind::kMla ? (model.mla.q_lora_rank > 0 ? 5 : 4) : 2;

  // Eager PyTorch's parameter tensors (the harness's model.py): q, k, v and
  // out-proj (MLA: its matrices, out-proj included), SwiGLU's three MLP
  // matrices or GELU's two, a bias for each matrix with linear_bias, two norms
  // (LayerNorm: weight and bias); an MoE layer's router and its three batched
  // expert tensors in place of the MLP.
  const std::int32_t norm_tensors = model.norm == NormKind::kLayerNorm ? 2 : 1;
  // MLA's latent norms: the KV latent's, and the query latent's with q_lora.
  const std::int32_t latent_norm_tensors =
      model.attention == AttentionKind::kMla ? (model.mla.q_lora_rank > 0 ? 2 : 1) * norm_tensors : 0;
  const std::int32_t attn_tensors =
      model.attention == AttentionKind::kMla ? attention_matrices + latent_norm_tensors : 4;
  const std::int32_t mlp_tensors = model.mlp == MlpKind::kSwiGlu ? 3 : 2;
  layer_tensors_ = (attn_tensors + mlp_tensors) * (model.linear_bias ? 2 : 1) + 2 * norm_tensors;
  moe_layer_tensors_ = attn_tensors * (model.linear_bias ? 2 : 1) + 4 + 2 * norm_tensors;
  embedding_tensors_ = model.position == PositionKind::kLearned ? 2 : 1;
  head_tensors_ = norm_tensors + (model.tied_embeddings && plan.pp == 1 ? 0 : 1);
  output_bytes_ = training.micro_batch * training.seq_len * padded_vocab_size(model, plan.tp) * 2;  // as memory.cpp

  // AMP's autocast casts the weights of GEMMs (and their biases), not norms or
  // the embedding lookup: the attention matrices, MLP up and MLP down per layer,
  // and each one's bias with linear_bias; the head casts its vocabulary matrix.
  // FSDP's mixed precision (fsdp_mixed_bf16) casts the shards before gathering
  // them in bf16 and frees them after use: no autocast copies (torchtitan's
  // setup). Plain AMP under FSDP gathers fp32 weights and autocast casts them.
  casts_recomputed_ = training.recompute == Recompute::kFull;
  if (!(plan.zero_stage >= 3 && training.precision == PrecisionMode::kFsdpMixedBf16)) {
    // One cast per weight tensor as the harness's modules hold them (q, k, v
    // separately), norms left out.
    const std::int32_t layer_tensors = layer_tensors_ - 2 * norm_tensors - latent_norm_tensors;
    decoder_casts_ = weight_cast_ops(decoder_.parameters - norm_per_layer_ - latent_norms, training, layer_tensors);
    // The router, QKV and out-proj, up and down of every local expert and of
    // the shared experts (and their biases).
    if (moe_) {
      const std::int64_t matrices =
          attention_matrices + 2 * (model.moe.num_experts / plan.ep) + (model.moe.num_shared_experts > 0 ? 2 : 0);
      const auto moe_tensors = static_cast<std::int32_t>(1 + matrices * (model.linear_bias ? 2 : 1));
      moe_casts_ = weight_cast_ops(moe_decoder_.parameters - norm_per_layer_ - latent_norms, training, moe_tensors);
    }
    head_casts_ = weight_cast_ops(embedding_matrix_, training, 1);
  }

  layers_per_chunk_ = layers_per_model_chunk(model, plan);
  first_layer_.assign(layers_per_chunk_.size(), 0);
  for (std::size_t i = 1; i < layers_per_chunk_.size(); ++i) {
    first_layer_[i] = first_layer_[i - 1] + layers_per_chunk_[i - 1];
  }
  std::int64_t tokens = training.micro_batch * training.seq_len;
  if (plan.sequence_parallel) tokens /= plan.tp;
  // The residual stream crosses stage boundaries in the layers' width.
  p2p_bytes_ = Bytes(tokens * model.hidden * layer_ops_detail::layer_widths_for(training, plan).residual);
}

std::int32_t ModelLayout::parameter_tensors(const Unit& u) const {
  switch (u.kind) {
    case UnitKind::kEmbedding: return embedding_tensors_;
    case UnitKind::kDecoder: return u.ops == &moe_decoder_ || u.ops == &moe_decoder_full_ ? moe_layer_tensors_ : layer_tensors_;
    case UnitKind::kHead: return head_tensors_;
  }
  return 0;
}

Unit ModelLayout::make_unit(UnitKind kind, std::int32_t layer) const {
  Unit u;
  u.kind = kind;
  u.layer = layer;
  switch (kind) {
    case UnitKind::kEmbedding:
      u.ops = &embedding_;
      u.casts = &no_casts_;
      u.parameters = embedding_.parameters;
      break;
    case UnitKind::kDecoder: {
      const bool moe = moe_ && is_moe_[static_cast<std::size_t>(layer)] != 0;
      const bool full = mixed_windows_ && is_windowed_[static_cast<std::size_t>(layer)] == 0;
      u.ops = moe ? (full ? &moe_decoder_full_ : &moe_decoder_) : (full ? &decoder_full_ : &decoder_);
      u.casts = moe ? &moe_casts_ : &decoder_casts_;
      u.parameters = u.ops->parameters;
      u.expert_parameters = u.ops->expert_parameters;
      break;
    }
    case UnitKind::kHead:
      u.ops = &head_;
      u.casts = &head_casts_;
      u.parameters = head_parameters_;
      break;
  }
  const bool casts_kept = !(kind == UnitKind::kDecoder && casts_recomputed_);
  u.saved_per_microbatch = u.ops->saved_activations + (casts_kept ? sum_saved(*u.casts) : Bytes());
  return u;
}

StageModel ModelLayout::stage(int s) const {
  DTSIM_CHECK(s >= 0 && s < pp_, "stage outside the pipeline");
  StageModel sm;
  sm.stage = s;
  const int last_chunk = num_model_chunks() - 1;
  // DualPipe: two chunks, model stage s and a replica of model stage pp - 1 - s.
  const int chunks = chunks_per_stage(schedule_, v_);
  for (int c = 0; c < chunks; ++c) {
    ChunkModel ch;
    ch.model_chunk = model_chunk_of(schedule_, pp_, s, c);
    const auto mc = static_cast<std::size_t>(ch.model_chunk);
    if (ch.model_chunk == 0) {
      ch.units.push_back(make_unit(UnitKind::kEmbedding, -1));
      sm.holds_embedding = true;
    }
    for (std::int64_t l = 0; l < layers_per_chunk_[mc]; ++l) {
      ch.units.push_back(make_unit(UnitKind::kDecoder, static_cast<std::int32_t>(first_layer_[mc] + l)));
    }
    if (ch.model_chunk == last_chunk) {
      ch.units.push_back(make_unit(UnitKind::kHead, -1));
      sm.holds_head = true;
    }
    for (const Unit& u : ch.units) {
      ch.parameters += u.parameters;
      ch.saved_per_microbatch += u.saved_per_microbatch;
      sm.expert_parameters += u.expert_parameters;
      if (u.ops == &moe_decoder_) sm.holds_moe_layer = true;
    }
    sm.parameters += ch.parameters;
    sm.chunks.push_back(std::move(ch));
  }
  return sm;
}

}  // namespace dtsim::models::lowering_detail
