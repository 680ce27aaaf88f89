// Private to lowering.cpp and memory.cpp: what one pipeline stage holds.
//
// The per-layer kernel lists are computed once per (model, training, plan);
// each stage's model chunks then list their units (embedding, decoder layers,
// head) in forward order, pointing into those lists. Lowering walks the units
// to emit tasks; memory accounting sums their parameters and saved
// activations. Keeping both on one description keeps them consistent.
#pragma once

#include <cstdint>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/training_spec.hpp"

namespace dtsim::models::lowering_detail {

enum class UnitKind : std::uint8_t { kEmbedding, kDecoder, kHead };

// One block of a model chunk, as this rank holds it (TP shard).
struct Unit {
  UnitKind kind = UnitKind::kDecoder;
  const LayerOps* ops = nullptr;
  const std::vector<LayerStep>* casts = nullptr;  // AMP weight casts per forward (empty otherwise)
  std::int32_t layer = -1;                        // global decoder layer; -1 for embedding and head
  std::int64_t parameters = 0;                    // this rank's parameters of the block
  std::int64_t expert_parameters = 0;             // of which routed experts' (reduced over expert-DP)
  Bytes saved_per_microbatch;                     // activations + AMP weight copies kept until backward
};

struct ChunkModel {
  int model_chunk = 0;
  std::vector<Unit> units;  // forward order
  Bytes saved_per_microbatch;
  std::int64_t parameters = 0;
};

struct StageModel {
  int stage = 0;
  std::vector<ChunkModel> chunks;  // chunk c holds model_chunk_of(schedule, pp, stage, c)
  std::int64_t parameters = 0;     // this rank's parameters on the stage (TP shard, before ZeRO)
  std::int64_t expert_parameters = 0;  // of which routed experts' (EP / expert-TP shard)
  bool holds_moe_layer = false;
  bool holds_embedding = false;
  bool holds_head = false;
};

// Kernel lists and sizes shared by every stage. Holds the LayerOps the units
// point to: keep it alive while stage models are in use (not copyable).
class ModelLayout {
 public:
  // Throws InputError if the plan is invalid for the model and training.
  ModelLayout(const ModelSpec& model, const TrainingSpec& training, const ParallelPlan& plan);
  ModelLayout(const ModelLayout&) = delete;
  ModelLayout& operator=(const ModelLayout&) = delete;

  StageModel stage(int s) const;

  int pp() const { return pp_; }
  bool tied_embeddings() const { return tied_; }
  int virtual_stages() const { return v_; }
  PipelineSchedule schedule() const { return schedule_; }
  int num_model_chunks() const { return pp_ * v_; }
  // Bytes of one stage-to-stage message: micro_batch x seq x hidden bf16 (/ tp with SP).
  Bytes p2p_bytes() const { return p2p_bytes_; }
  // The embedding matrix shard (padded vocab / tp x hidden): what tied embeddings
  // share between the first and the last stage.
  std::int64_t embedding_matrix_parameters() const { return embedding_matrix_; }
  // Normalization parameters of the whole stage's layers (SP all-reduces their gradients over TP).
  // With MLA also its down-projections and latent norms: whole on every TP
  // rank and, under SP, trained on the rank's sequence shard.
  std::int64_t norm_parameters_per_layer() const { return norm_per_layer_ + mla_replicated_; }
  std::int64_t final_norm_parameters() const { return final_norm_; }
  const LayerOps& decoder() const { return decoder_; }
  // The MoE layers' kernels (empty lists for a dense model).
  const LayerOps& moe_decoder() const { return moe_decoder_; }
  // Bytes of one all-to-all's send buffer (its nccl-tests S; 0 without ep > 1).
  Bytes dispatch_bytes() const { return dispatch_bytes_; }
  const LayerOps& embedding() const { return embedding_; }
  const LayerOps& head() const { return head_; }
  // Parameter tensors of a unit as eager PyTorch holds them (the training
  // harness's modules: q, k, v, out-proj and each MLP matrix separately, norm
  // weights and biases): what per-tensor kernels (scale_grads' div_) count.
  std::int32_t parameter_tensors(const Unit& u) const;
  // One micro-batch's output of the last stage: the bf16 logits, whole
  // vocabulary (a pipelining stage's output is a plain, gathered tensor).
  std::int64_t output_bytes_per_microbatch() const { return output_bytes_; }

 private:
  Unit make_unit(UnitKind kind, std::int32_t layer) const;

  int pp_ = 1;
  int v_ = 1;
  std::int32_t layer_tensors_ = 0;
  std::int32_t moe_layer_tensors_ = 0;
  std::int32_t embedding_tensors_ = 1;
  std::int32_t head_tensors_ = 0;
  std::int64_t output_bytes_ = 0;
  PipelineSchedule schedule_ = PipelineSchedule::kOneFOneB;
  bool tied_ = false;
  // Full recompute checkpoints each layer, AMP's weight casts included: their
  // bf16 copies are made again in the recompute, not kept from the forward.
  bool casts_recomputed_ = false;
  LayerOps decoder_;
  LayerOps moe_decoder_;
  // A model with sliding-window layers and full ones: the full layers' lists
  // (decoder_ and moe_decoder_ are then the windowed layers').
  LayerOps decoder_full_;
  LayerOps moe_decoder_full_;
  bool mixed_windows_ = false;
  std::vector<std::uint8_t> is_windowed_;  // per decoder layer
  bool moe_ = false;
  std::vector<std::uint8_t> is_moe_;  // per decoder layer
  Bytes dispatch_bytes_;
  LayerOps embedding_;
  LayerOps head_;
  std::int64_t head_parameters_ = 0;  // the head's, plus the tied matrix copy when pp > 1
  std::vector<LayerStep> decoder_casts_;
  std::vector<LayerStep> moe_casts_;
  std::vector<LayerStep> head_casts_;
  std::vector<LayerStep> no_casts_;  // the embedding's: autocast does not cast embedding lookups
  std::vector<std::int64_t> layers_per_chunk_;  // model order
  std::vector<std::int64_t> first_layer_;       // model order
  Bytes p2p_bytes_;
  std::int64_t embedding_matrix_ = 0;
  std::int64_t norm_per_layer_ = 0;
  std::int64_t mla_replicated_ = 0;
  std::int64_t final_norm_ = 0;
};

}  // namespace dtsim::models::lowering_detail
