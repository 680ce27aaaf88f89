// Per-stage memory accounting: what each GPU of a pipeline stage holds at its
// peak during a step.
#pragma once

#include <algorithm>

#include <cstdint>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/training_spec.hpp"

namespace dtsim::models {

struct MemoryBreakdown {
  Bytes weights;                // parameters held for compute (and fp32 masters where kept separately: see optimizer_state)
  Bytes gradients;              // gradient buffers (fp32 main grads for Megatron)
  Bytes optimizer_state;        // Adam moments + fp32 master weights, after ZeRO sharding
  Bytes activations;            // saved activations of the micro-batches in flight at the peak
  Bytes temporary;              // the largest transient working set (e.g. logits, recompute buffers)
  Bytes communication_buffers;  // gradient buckets, ZeRO-3 gathered layers, pipeline buffers
  int microbatches_in_flight = 0;  // forward passes held before their backward, at the peak (interleaved: chunk passes)
  Bytes activations_per_microbatch;  // one micro-batch's saved activations for this stage (all chunks)
  // PyTorch frees the gradients every step (zero_grad(set_to_none=True)):
  // with one micro-batch per step they are created during the backward as
  // the activations are freed, so the two peak together only for the first
  // unit of the backward (the head's gradient beside every activation).
  bool gradients_replace_activations = false;
  Bytes first_backward_gradients;  // that unit's gradients (when the flag is set)
  // The part of `temporary` that is the loss's (the head's logits buffers,
  // freed when the loss's backward has run, before the head's weight
  // gradient exists); the rest of `temporary` (recompute, CP gathers) comes
  // after the head's backward, beside its gradient.
  Bytes loss_temporary;
  Bytes other_temporary;

  Bytes total() const {
    const Bytes transient =
        gradients_replace_activations
            ? std::max(activations + std::max(loss_temporary, other_temporary + first_backward_gradients), gradients)
            : gradients + activations + temporary;
    return weights + optimizer_state + communication_buffers + transient;
  }
};

// One entry per pipeline stage (stage 0 first). Per GPU of the stage, with P
// its parameters (TP shard; the embedding on stage 0, the head on the last,
// plus a copy of a tied embedding there when pp > 1) and parameter_bytes:
//  (MoE: P counts this rank's E / ep routed experts, each / expert_tp, and
//  "/ dp" below is / dp for the dense part and / expert_dp for the experts'.)
//  - weights = P x weights, / dp (rounded up) under ZeRO-3;
//  - gradients = P x gradients, / dp under ZeRO-2 and 3;
//  - optimizer_state = P x optimizer, / dp under ZeRO >= 1;
//    (Megatron: 18 P; ZeRO-1 6 P + 12 P / dp, the distributed optimizer;
//    ZeRO-2 2 P + 16 P / dp; ZeRO-3 18 P / dp. Reference §6's 16-byte ZeRO
//    figures assume 2-byte gradients: use kPureBf16's or add 2 P.)
//  - activations = the peak over the stage's schedule of the saved
//    activations of the forwards held before their backward, each chunk's
//    forward keeping its units' saved_activations (+ AMP's bf16 weight copies,
//    except a decoder layer's under full recompute, which re-casts them):
//    1F1B stage s holds min(pp - s, m) micro-batches, GPipe m, interleaved
//    stage 0 pp (1 + (pp - 1) / (pp v)) (reference §6); under the pytorch
//    frameworks with pp > 1 the last stage also keeps every micro-batch's
//    bf16 logits, whole (gathered over TP), as torch.distributed.pipelining
//    merges the outputs at the end;
//    (pytorch-eager's layer lists keep what eager autograd saves:
//    framework_profile.hpp);
//  - temporary = the largest transient: on the last stage one micro-batch's
//    fp32 logits (T x padded V / tp x 4; the PyTorch frameworks x 10: bf16
//    logits, fp32 log-softmax and its gradient), under recompute one layer's
//    re-materialized tensors (loss_temporary and other_temporary; with
//    gradients_replace_activations the head's gradients come after the
//    loss's buffers are freed and beside the other transients);
//  - communication_buffers = a message each way between stages (pp > 1);
//    PyTorch DDP (ZeRO-0 under the pytorch frameworks): P x gradients of
//    bucket buffers (gradient_as_bucket_view is off by default), for the
//    parameters DDP reduces: routed experts only when expert-DP > 1 (with
//    ep = dp nobody holds a replica to reduce with);
//    MoE stages: 2 x the dispatch all-to-all's S (send and receive buffers);
//    ZeRO-3: the gathered bf16 parameters of the largest unit (twice with
//    fsdp_prefetch) and its unsharded gradient. (ZeRO 0-2 buckets are views
//    into the gradient buffer.)
//
// ZeRO-2's P x gradients / dp is the sharded steady state; lowering reduces
// ZeRO 0-2 gradients once after the last micro-batch (see lowering.hpp), so a
// run that accumulates unsharded gradients in between needs up to P x
// gradients more at the end of its backward.
//
// Example:
//   auto mem = estimate_memory(model, training, plan);
//   bool fits = mem[0].total() <= 80_GiB;
std::vector<MemoryBreakdown> estimate_memory(const ModelSpec& model, const TrainingSpec& training,
                                             const ParallelPlan& plan);

// Bytes per parameter a precision mode keeps, before ZeRO sharding:
//   kMegatronBf16 {2 bf16 weight, 4 fp32 main grad, 12 fp32 master + m + v} = 18;
//   kAmpBf16      {4 fp32 weight, 4 fp32 grad, 8 m + v (the weight is the master)} = 16;
//   kPureBf16     {2, 2, 4 bf16 m + v} = 8.
struct ParameterBytes {
  std::int64_t weights = 0;
  std::int64_t gradients = 0;
  std::int64_t optimizer = 0;
  std::int64_t total() const { return weights + gradients + optimizer; }
};
ParameterBytes parameter_bytes(PrecisionMode precision);
// Bytes per parameter that ZeRO-3 gathers: the weights as stored, except under
// FSDP mixed precision, which gathers bf16 copies of fp32 shards.
std::int64_t gathered_weight_bytes(PrecisionMode precision);

// Parameters each GPU of each stage holds (TP shard, before ZeRO sharding),
// stage 0 first: the P of estimate_memory.
std::vector<std::int64_t> stage_parameters(const ModelSpec& model, const TrainingSpec& training,
                                           const ParallelPlan& plan);

}  // namespace dtsim::models
