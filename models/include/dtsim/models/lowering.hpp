// Lowering a (model, training, plan) into one Program per pipeline stage.
//
// Each Program is the rank class's whole step: forward and backward of every
// micro-batch of every model chunk on this stage in the schedule's order
// (GPipe, 1F1B, interleaved 1F1B, ZB-H1, DualPipe), with TP/SP collectives on the critical path,
// pipeline send/recv between stages, bucketed DP gradient reduction overlapped
// with backward, ZeRO parameter gathers, recompute, and the optimizer step.
//
// Precondition: validate_plan() returned no diagnostics (throws InputError otherwise).
//
// What each stage's Program contains (chunk c of stage s is model chunk
// k = c * pp + s; stage 0 chunk 0 starts with the embedding, the last stage's
// last chunk ends with the final norm, head and loss):
//  - For each pass of stage_passes(plan, m, s), in order (an overlapped
//    pair's two passes interleaved: below):
//    forward (mb, c): a recv on kRecvForward from the stage of model chunk
//    k - 1 (none for k = 0), every unit's forward kernels on kCompute (AMP:
//    its weight casts first), each TP collective on kTensorComm after the
//    kernel producing its input and before the kernel consuming its output,
//    then a send on kSendForward to the stage of model chunk k + 1 (none for
//    the last model chunk). Backward (mb, c): a recv on kRecvBackward from
//    the stage of chunk k + 1 (none for the last), per unit in reverse order
//    its recompute kernels (phase kRecompute) then its backward kernels, then
//    a send on kSendBackward to the stage of chunk k - 1 (none for k = 0).
//    A split backward's B pass (kBackwardInput) is the same without the
//    weight-gradient kernels; its W pass (kBackwardWeight) is those kernels
//    alone, per unit in reverse order, with no recv or send; the DP gradient
//    buckets fill in the pass that completes a chunk's last backward (whole
//    or W). DualPipe's chunk 1 runs its model chunk k in the other direction:
//    it receives activations from, and sends them to, stage_holding(k -+ 1),
//    on the reverse streams (kRecvForwardReverse, ...).
//    Messages carry micro_batch x seq x hidden elements of the residual
//    stream (bf16; fp32 under AMP), / tp with sequence parallelism.
//  - An overlapped forward-backward pair (plan.ep_comm_overlap) emits the
//    forward's tasks up to and including its next expert all-to-all, then the
//    backward's up to its next, and so on; each pass keeps its own data path
//    (its kernels and collectives depend on its own predecessors only), and
//    every expert all-to-all goes on kExpertComm instead of kTensorComm. The
//    tasks are those of the two passes run one after the other.
//  - A send depends on the task producing its data, a recv on nothing, and
//    the first kernel after a recv on the recv. A TP collective that reduces
//    a backward input-gradient GEMM's output (the kernel before it is a
//    non-weight-gradient GEMM) is waited for by the next kernel that is not a
//    weight-gradient kernel: the wgrad GEMMs after it overlap it, as
//    Megatron's asynchronous TP communication does.
//  - DP gradients (dp > 1), filled into buckets of dp_bucket_size in backward
//    order, each unit's taking parameters x gradient bytes (memory.hpp's
//    parameter_bytes), during a chunk's last backward: a bucket is issued on
//    kDataComm when full and at the chunk's end, after the last weight-gradient
//    kernel of the unit that filled it: an all-reduce for ZeRO-0, a
//    reduce-scatter for ZeRO 1/2 (Megatron's distributed optimizer; FSDP's
//    no-sync accumulation: one reduction of the accumulated gradients, not
//    DeepSpeed ZeRO-2's reduction of every micro-batch). overlap_grad_reduce =
//    false issues every bucket after the whole backward. ZeRO-3: a
//    reduce-scatter per unit per micro-batch, and an all-gather of the unit's
//    bf16 parameters before its forward and before its backward
//    (fsdp_prefetch: the gather of unit i + 1 is issued before unit i computes
//    and that of i + 2 after it; otherwise each gather waits for the previous
//    unit's kernels). AMP under ZeRO-3 casts the shards as FSDP's mixed
//    precision does, inside the gather: no per-forward cast kernels and no
//    bf16 copies kept for backward.
//  - After the last pass: with sequence parallelism, a TP all-reduce of the
//    norm weights' gradients (Megatron); with tied embeddings and pp > 1, the
//    embedding gradient exchanged between the first and last stage as a send
//    and a recv each way (a 2-rank all-reduce moves the same bytes; not under
//    DualPipe); under DualPipe, the replicas' reduced gradients (the ZeRO
//    shard, or all) exchanged the same way between stages s and pp - 1 - s; the
//    optimizer (optimizer_ops over the stage's parameters, / dp for ZeRO >= 1)
//    with the gradient norm's 4-byte all-reduces over TP, pipeline and (ZeRO
//    >= 1) DP after its "grad_norm" kernel; for ZeRO 1/2 an all-gather of the
//    updated parameters (kParameterSync).
//  - Phases: kForward / kBackward / kRecompute / kOptimizer kernels,
//    kTensorComm (TP), kGradientSync (DP gradients, grad norm, tied
//    embedding), kParameterSync (ZeRO gathers), kPipelineComm (send / recv).
//  - Labels: the kernel names of layer_ops, "recv_fwd", "send_fwd",
//    "recv_bwd", "send_bwd", "dp_all_reduce", "dp_reduce_scatter",
//    "fsdp_all_gather", "fsdp_reduce_scatter", "dp_param_all_gather",
//    "sp_norm_grad_all_reduce", "grad_norm_all_reduce",
//    "tied_embedding_grad_send", "tied_embedding_grad_recv", "replica_grad_send",
//    "replica_grad_recv".
//
// Not modelled: the head's reuse of a tied embedding under ZeRO-3 at pp = 1
// (the head gathers only its own parameters); Megatron's bucketed parameter
// all-gather overlapped with the next forward (one all-gather ends the step).
//
// Example:
//   auto programs = lower_to_programs(model, training, plan);  // programs[s] for stage s
//   Flops f = programs[0].total_flops(Phase::kForward);
#pragma once

#include <cstdint>
#include <vector>

#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/program.hpp"
#include "dtsim/models/training_spec.hpp"

namespace dtsim::models {

std::vector<Program> lower_to_programs(const ModelSpec& model, const TrainingSpec& training, const ParallelPlan& plan);

// What a pipeline transfer carries; part of its match key.
enum class TransferKind : std::uint8_t { kActivation, kGradient, kTiedEmbeddingGradient, kReplicaGradient };

// The match_key both ends of a pipeline transfer compute:
//   kind x 2^56 + microbatch x 2^24 + model_chunk,
// where model_chunk is the receiving end's model chunk (activations: k + 1 for
// the output of chunk k; gradients: k - 1). The tied-embedding exchange uses
// microbatch 0 from the first stage to the last and 1 back, model chunk 0;
// DualPipe's replica exchange microbatch 0 from stage s < pp/2 to pp - 1 - s
// and 1 back, model chunk s.
std::uint64_t pipeline_match_key(TransferKind kind, std::int64_t microbatch, std::int64_t model_chunk);

// Model FLOPs of one whole step over all GPUs (Megatron's accounting: causal
// attention counted at half, recompute not counted), for MFU.
Flops model_flops_per_step(const ModelSpec& model, const TrainingSpec& training);

}  // namespace dtsim::models
