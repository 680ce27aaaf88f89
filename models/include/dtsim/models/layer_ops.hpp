// The operators of one training step, at kernel granularity, for the shard one
// rank holds (TP-split shapes, SP-split sequence). Each list is in execution
// order; TP collectives appear where Megatron issues them.
//
// Every op carries FLOPs and HBM bytes read and written, including the
// memory-bound kernels (norms, activations, residual adds, rotary, softmax /
// cross-entropy, embedding lookup and its backward, dtype casts, optimizer
// update), and how many bytes of its tensors the forward keeps for backward.
//
// Shapes per micro-batch: tokens T = micro_batch x seq_len; with sequence
// parallelism the norm/residual/dropout region holds T / tp tokens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/core/work.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/training_spec.hpp"

namespace dtsim::models {

struct LayerStep {
  enum class Kind : std::uint8_t { kCompute, kTensorCollective };
  Kind kind = Kind::kCompute;
  std::string name;  // "qkv_proj", "attn_core", "mlp_down", "tp_all_reduce_attn", ...
  ComputeWork work;                                   // when kCompute
  CollectiveKind collective = CollectiveKind::kAllReduce;  // when kTensorCollective (over the TP group)
  Bytes collective_bytes;                             // nccl-tests "S" convention
  Bytes saved_for_backward;  // bytes of this step's tensors the forward keeps (0 in backward lists)
};

struct LayerOps {
  std::vector<LayerStep> forward;
  std::vector<LayerStep> backward;  // input- and weight-gradient kernels, in execution order
  // Re-run in backward before `backward` under recompute (empty for kNone).
  std::vector<LayerStep> recompute;
  // Saved activations of one micro-batch under the training's recompute mode.
  Bytes saved_activations;
  std::int64_t parameters = 0;  // parameters this rank holds for the block (TP shard)
};

// One decoder layer (attention + MLP block with norms and residuals).
LayerOps decoder_layer_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p);
// Token (and learned position) embedding on the first stage.
LayerOps embedding_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p);
// Final norm, vocabulary projection (vocab split over TP) and cross-entropy on the last stage.
LayerOps head_and_loss_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p);
// The optimizer step over `parameters` parameters this rank updates (after ZeRO
// sharding), with the precision mode's casts.
std::vector<LayerStep> optimizer_ops(std::int64_t parameters, const TrainingSpec& t);
// AMP only: per-forward casts of `parameters` fp32 weights to bf16 (empty otherwise).
std::vector<LayerStep> weight_cast_ops(std::int64_t parameters, const TrainingSpec& t);

}  // namespace dtsim::models
