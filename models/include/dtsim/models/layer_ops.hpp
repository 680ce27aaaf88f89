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
//
// Conventions (each derived in layer_ops.cpp):
//  - GEMM FLOPs 2 M N K; forward Y[T x N] = X[T x K] W^T, dgrad M=T N=K K=N,
//    wgrad M=N N=K K=T. Megatron TP: QKV, MLP-up and logits column-parallel,
//    out-proj and MLP-down row-parallel.
//  - Attention is one fused flash kernel: forward 4 b s^2 (a/t) d / 2 FLOPs
//    (causal half), backward 2.5x forward (the FlashAttention papers' count).
//    With a value width d_v other than d (MLA) d becomes (d + d_v) / 2.
//  - TP collectives: forward all-reduce after out-proj / MLP-down (no SP) or
//    reduce-scatter (SP) plus an all-gather before QKV / MLP-up (SP); backward
//    mirrors them (all-reduce / reduce-scatter of the column-parallel input
//    gradient, SP all-gather of the row-parallel output gradient and re-gather
//    of the saved sharded input for the wgrad). Bytes: nccl-tests "S".
//  - The logits vocabulary is padded to a multiple of 128 x tp (Megatron's
//    make-vocab-size-divisible-by = 128) and split over tp.
//  - Precision: GEMMs, attention and MLP activations are bf16 in every mode.
//    kMegatronBf16: bf16 residual stream; wgrad GEMMs accumulate into fp32
//    main grads (r/w 4 bytes per weight element). kAmpBf16: fp32 residual
//    stream and norms, a cast kernel before each GEMM input (and back for its
//    gradient), wgrad written in bf16 then cast into the fp32 .grad.
//    kPureBf16: all bf16; Megatron's wgrad accumulates into storage, the
//    PyTorch frameworks' writes the gradient. kFsdpMixedBf16 computes as
//    kPureBf16 under ZeRO-3, as kAmpBf16 without it. Under the PyTorch
//    frameworks the adds of later micro-batches into .grad are the
//    lowering's (gradient_accumulation_ops); Megatron's lists are its steady
//    state (micro-batch 2 onwards).
//  - Saved activations follow KOR22 with flash attention (no s^2 tensors;
//    Q, K, V, the out-proj input and the fp32 log-sum-exp kept instead), plus
//    the fp32 norm statistics. kSelective re-runs the modules of
//    TrainingSpec::recompute_modules (default: core_attn), each taking its
//    tensors out of the forward's and into `recompute` (copies of the
//    forward steps re-run, in forward order):
//      core_attn: the attention core is checkpointed (keeps Q, K, V, not the
//        LSE; `recompute` += the flash forward, re-making O and the LSE);
//      layernorm: the input and post-attention norms' outputs are not kept
//        (the GEMMs they feed drop their saved input, T_sp x h x 2 bytes per
//        norm and consumer; the MoE block's router and shared experts both
//        count it); `recompute` += the norm [and AMP's casts];
//      mla_up_proj: MLA's up-projected Q, K, V (flash attention's inputs)
//        and normed latents are not kept; the compressed latents and now the
//        rotary key (T_sp x rope) are; `recompute` += latent norms, [SP
//        all-gathers,] up-projections (or, without q_lora_rank, the query
//        projection) and the MLA rotary;
//      moe_act: the routed experts' activation output is not kept (rows x
//        f_e / expert_tp x 2); `recompute` += the activation;
//      mlp / shared_experts: the block keeps only its input; `recompute` +=
//        its GEMMs, activation and TP collectives.
//    A module a layer lacks (moe_act in a dense layer) leaves it unchanged;
//    validate_recompute rejects one the whole model lacks (InputError here).
//    kFull: only the layer input T_sp x h is kept; `recompute` = the whole
//    forward, TP collectives included.
//  - Invariant: the forward list's saved_for_backward sum to saved_activations.
//    Recompute steps carry what they re-materialize transiently for backward.
//
// Preconditions (InputError naming the field otherwise): heads, KV heads and
// ffn_hidden divisible by tp; with sequence parallelism seq_len divisible by tp.
//
// Example:
//   LayerOps l = decoder_layer_ops(model, training, plan);
//   Flops fwd;
//   for (const LayerStep& s : l.forward) fwd += s.work.flops;
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
  // A kernel, or a collective over the rank's TP group, its expert-parallel
  // group (MoE dispatch and combine all-to-alls) or its expert-TP group.
  enum class Kind : std::uint8_t {
    kCompute,
    kTensorCollective,
    kExpertCollective,
    kExpertTensorCollective,
    kContextCollective,  // over the context-parallel group (K and V of the attention)
  };
  Kind kind = Kind::kCompute;
  std::string name;  // "qkv_proj", "attn_core", "mlp_down", "tp_all_reduce_attn", ...
  ComputeWork work;                                   // when kCompute
  CollectiveKind collective = CollectiveKind::kAllReduce;  // when a collective
  Bytes collective_bytes;                             // nccl-tests "S" convention
  Bytes saved_for_backward;  // bytes of this step's tensors the forward keeps (0 in backward lists)
  // Backward only: the step produces or accumulates a weight gradient and no
  // input gradient depends on it (wgrad GEMMs, bias-gradient reductions,
  // embedding-gradient kernels): the "W" part a zero-bubble schedule may defer.
  bool weight_gradient = false;
  // A collective that runs alongside the next compute step instead of before
  // it (ring attention's K/V exchange during the attention): that step does
  // not wait for it, the one after does.
  bool overlaps_next = false;
};

struct LayerOps {
  std::vector<LayerStep> forward;
  std::vector<LayerStep> backward;  // input- and weight-gradient kernels, in execution order
  // Re-run in backward before `backward` under recompute (empty for kNone).
  std::vector<LayerStep> recompute;
  // Saved activations of one micro-batch under the training's recompute mode.
  Bytes saved_activations;
  std::int64_t parameters = 0;  // parameters this rank holds for the block (TP shard)
  // Of `parameters`, the routed experts' (this rank's E / ep experts, / expert_tp):
  // their gradients are reduced over the expert-data-parallel group, not DP.
  std::int64_t expert_parameters = 0;
};

// Megatron's padded vocabulary: V rounded up to a multiple of 128 x tp.
std::int64_t padded_vocab_size(const ModelSpec& m, int tp);

// One dense decoder layer (attention + MLP block with norms and residuals).
// With attention = kMla the attention block is MLA's (layer_ops_mla.hpp lists
// its kernels and collectives).
LayerOps decoder_layer_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p);
// One MoE decoder layer: the attention block as in decoder_layer_ops, then on
// the rank's sequence-parallel tokens T_l (T / tp) with moe_routing's load:
//  forward: router GEMM (T_l x h x E) and gate (softmax or sigmoid, top-k);
//    token permutation (T_l k rows of h gathered expert-major); [ep > 1] the
//    dispatch all-to-all over the EP group, S = R h x 2 bytes with R the
//    busiest rank's assignments (= T_l k balanced), and Megatron's sort of
//    the received chunks by local expert (more than one local expert);
//    [expert_tp > 1] all-gather of the received tokens over expert-TP;
//    grouped expert GEMMs (up, activation, down: 2 R h f_e x 3 (SwiGLU) FLOPs,
//    f_e / expert_tp wide, one GEMM batch per local expert);
//    [expert_tp > 1] reduce-scatter; [ep > 1] the combine all-to-all (same
//    S) and the chunk sort back; un-permutation weighted by the gate
//    (T_l k rows summed into T_l); the shared experts as one TP MLP of width
//    num_shared x shared_ffn (column/row parallel with the SP gathers) and
//    the add of its output; the residual.
//  backward mirrors it (the all-to-alls again, each wgrad right after its
//  dgrad) and sums the input gradients of the router, permutation and
//  shared-expert paths.
// Preconditions as validate_plan: ep | E, expert_tp | f_e, tp | shared width,
// sequence_parallel when tp > 1. Expert biases (linear_bias) are counted in
// the parameters but get no kernels.
LayerOps moe_layer_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p);
// Token (and learned position) embedding on the first stage. Holds the token
// embedding shard (padded vocab / tp rows) even when tied to the head.
LayerOps embedding_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p);
// Final norm, vocabulary projection (vocab split over TP) and cross-entropy on
// the last stage. With tied embeddings `parameters` excludes the shared weight
// (embedding_ops counts it); a lowering with PP > 1 adds it back on the last stage.
LayerOps head_and_loss_ops(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p);
// The optimizer step over `parameters` parameters this rank updates (after ZeRO
// sharding), with the precision mode's casts. Bytes per parameter:
//   Megatron: grad norm r4 (if clipping), Adam r16 w12 (fp32 master, grad, m, v),
//             bf16 copy r4 w2, main-grad zeroing w4;
//   AMP:      grad norm r4 + clip scale r4 w4 (if clipping), Adam r16 w12;
//   pure bf16: grad norm r2 + clip scale r2 w2 (if clipping), Adam r8 w6.
// (PyTorch modes zero gradients with set_to_none: no kernel.) Kernel launches
// follow multi_tensor_apply: ceil(parameters / (320 x 65536)).
// The grad-norm's scalar all-reduce over the model-parallel group is left to
// the lowering (it is not a TP-only collective).
// `grad_buffer_elements` is the gradient buffer Megatron zeroes for the next
// step: its whole local buffer even when the optimizer state is sharded over
// DP (ZeRO-1); negative means `parameters`.
std::vector<LayerStep> optimizer_ops(std::int64_t parameters, const TrainingSpec& t,
                                     std::int64_t grad_buffer_elements = -1);
// AMP only: per-forward casts of `parameters` fp32 weights to bf16 (empty
// otherwise), `tensors` kernel launches (autocast casts each weight tensor
// separately). Its saved_for_backward is the bf16 copy (2 bytes per
// parameter), which the GEMMs keep for their dgrad until backward.
std::vector<LayerStep> weight_cast_ops(std::int64_t parameters, const TrainingSpec& t, std::int32_t tensors = 1);

// PyTorch's AccumulateGrad from a step's second micro-batch on (PyTorch
// frameworks; empty under Megatron, whose wgrad GEMMs accumulate into
// main_grad): the first backward's weight gradient becomes .grad as it is,
// each later one is added into it, one add kernel per parameter tensor
// (`tensors`), reading both and writing .grad (fp32 under AMP, bf16 in pure
// bf16 and for FSDP2's unsharded bf16 parameters). Seen in a profile of 8
// micro-batches (one H100, session 7): 7 x 75 adds over the 75 parameter
// tensors.
std::vector<LayerStep> gradient_accumulation_ops(std::int64_t parameters, std::int32_t tensors, const TrainingSpec& t,
                                                 const ParallelPlan& plan);

// torch.distributed.pipelining's kernels at the end of a step (PyTorch
// frameworks with pp > 1; empty under Megatron): the schedule divides every
// gradient by the micro-batch count (scale_grads: one div_ per parameter
// tensor, `tensors` kernels over the stage's `parameters` gradients), and the
// last stage concatenates every micro-batch's output into the merged output
// step() returns (`merged_output_bytes` read and written; 0 elsewhere).
// Seen in a one-stage schedule's profile (one H100, session 7): 75 div_
// kernels for the 75 parameter tensors, one concatenation of the 8 logits.
std::vector<LayerStep> pipelining_step_end_ops(std::int64_t parameters, std::int32_t tensors,
                                               std::int64_t merged_output_bytes, const TrainingSpec& t);

// The copies PyTorch's data-parallel wrappers make around their collectives,
// on the compute stream (Megatron's contiguous parameter and gradient
// buffers make none: empty for it). `elements` is the parameters moved;
// `tensors` the parameter tensors (one copy kernel each where PyTorch
// launches per tensor).
//  - kFsdpGatherCopyIn: FSDP2 copies (FSDP's mixed precision: casts) the local
//    shard into the flat all-gather buffer, foreach_copy; `elements` = shard.
//  - kFsdpGatherCopyOut: split_with_sizes_copy of the gathered buffer into the
//    unsharded parameters; `elements` = the unit's whole parameters.
//  - kFsdpReduceCopyIn: chunk_cat of the unsharded gradients (cast to the
//    reduce dtype) into the reduce-scatter buffer.
//  - kDdpBucketCopy: DDP copies each gradient into its bucket and divides the
//    bucket by the group size before the all-reduce (read and write twice).
// Stored/gathered/reduced widths follow t.precision (memory.hpp).
enum class DataParallelCopy : std::uint8_t {
  kFsdpGatherCopyIn,
  kFsdpGatherCopyOut,
  kFsdpReduceCopyIn,
  kDdpBucketCopy,
};
std::vector<LayerStep> data_parallel_copy_ops(DataParallelCopy which, std::int64_t elements, const TrainingSpec& t,
                                              std::int32_t tensors = 1);

}  // namespace dtsim::models
