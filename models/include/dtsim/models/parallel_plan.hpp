// A parallelism plan: how one training step is split over GPUs.
//
// Ranks are numbered by the plan's `order`, innermost (fastest-varying) first;
// the default {tensor, data, pipeline} keeps a TP group inside a node (GPU
// ranks are numbered node-major, so consecutive ranks share a node).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/core/units.hpp"

namespace dtsim::models {

struct ModelSpec;
struct TrainingSpec;

// kZeroBubbleH1: Qi et al.'s ZB-H1; kDualPipe: DeepSeek-V3's bidirectional
// schedule (pipeline_schedule.hpp describes each).
enum class PipelineSchedule : std::uint8_t { kGPipe, kOneFOneB, kInterleavedOneFOneB, kZeroBubbleH1, kDualPipe };
enum class ParallelDim : std::uint8_t { kTensor, kData, kPipeline };
enum class ContextComm : std::uint8_t { kRing, kAllGather };

struct ParallelPlan {
  int tp = 1;
  int pp = 1;
  int dp = 1;
  int virtual_stages = 1;  // model chunks per pipeline rank (interleaved 1F1B)
  bool sequence_parallel = false;
  // 0: plain data parallel (all-reduce of gradients).
  // 1: optimizer state sharded over DP (gradient reduce-scatter, parameter all-gather).
  // 2: + gradients sharded.  3: + parameters sharded (FSDP): all-gather before
  // each layer's forward and backward, reduce-scatter after its backward.
  int zero_stage = 0;
  PipelineSchedule schedule = PipelineSchedule::kOneFOneB;
  std::array<ParallelDim, 3> order{ParallelDim::kTensor, ParallelDim::kData, ParallelDim::kPipeline};
  Bytes dp_bucket_size = Bytes(40'000'000 * 4);  // gradient bucket (Megatron: 40M params in fp32)
  bool overlap_grad_reduce = true;               // bucketed DP reduction overlaps backward
  bool fsdp_prefetch = true;                     // ZeRO-3: all-gather layer i+1 while computing layer i
  // Decoder layers per pipeline stage, first to last; empty means an even split.
  std::vector<int> layers_per_stage;
  // Expert parallelism (MoE models), folded into the same GPUs as Megatron
  // does: within a pipeline stage the tp x dp ranks, numbered tensor-fastest
  // (i = tp_coord + tp x dp_coord), are regrouped as expert_tp x ep x
  // expert_dp, expert-tensor fastest. Attention and dense layers use the
  // (tp, dp) groups; the experts use (expert_tp, ep, expert_dp) groups of the
  // same ranks. ep splits the routed experts; expert_tp splits each expert's
  // matrices; expert gradients are reduced over the expert-DP group.
  int ep = 1;
  int expert_tp = 0;  // 0: the same as tp (Megatron's default)
  // Context parallelism: each sequence split over cp ranks (RankLayout: inside
  // the data dimension, context fastest). Ring attention passes K and V
  // blocks around the group while the attention computes; all-gather
  // gathers them first. Gradients and ZeRO shards span dp x cp ranks.
  int cp = 1;
  ContextComm cp_comm = ContextComm::kRing;
  // MoE: run pairs of one micro-batch's forward and another's backward
  // interleaved, so that each pass's expert all-to-alls run while the other
  // pass computes (Megatron-Core's --overlap-moe-expert-parallel-comm, the
  // "combined 1F1B"; DeepSeek-V3's DualPipe forward-backward pairs).
  // stage_passes (pipeline_schedule.hpp) says which passes pair.
  bool ep_comm_overlap = false;

  int world_size() const { return tp * cp * pp * dp; }
  // Ranks holding the same weights: the gradient reduction and ZeRO group.
  int data_ranks() const { return dp * cp; }
  int expert_tensor_parallel() const { return expert_tp > 0 ? expert_tp : tp; }
  // tp x dp / (ep x expert_tp): how many ranks hold a copy of each expert shard.
  int expert_data_parallel() const {
    const int group = ep * expert_tensor_parallel();
    return group > 0 ? tp * dp * cp / group : 0;
  }
};

// Every problem with the plan for this model and training shape, each with the
// JSON path it concerns (`plan_path` + "/tp", `training_path` +
// "/global_batch", ...), naming the value and what was expected. Empty when
// valid. The rules:
//  - tp, pp, dp, virtual_stages >= 1; zero_stage in 0..3; dp_bucket_size > 0;
//    order names tensor, data and pipeline once each;
//  - seq_len, global_batch, micro_batch >= 1; global_batch divisible by
//    dp x micro_batch;
//  - tp divides num_heads, num_kv_heads and ffn_hidden;
//  - layers: pp x virtual_stages divides num_layers, unless layers_per_stage
//    is given: pp entries (each >= 1 and, with virtual stages, divisible by
//    virtual_stages) or pp x virtual_stages entries (one per model chunk, in
//    model order, each >= 1), summing to num_layers;
//  - virtual_stages > 1 only with the interleaved schedule, which needs
//    virtual_stages > 1, pp > 1 and a micro-batch count divisible by pp
//    (Megatron's rule); GPipe, 1F1B and ZB-H1 take any micro-batch count >= 1;
//    DualPipe needs an even pp and an even micro-batch count >= 2(pp - 1);
//    ZB-H1 and DualPipe are not modelled with ZeRO-3;
//  - sequence_parallel needs tp > 1 and seq_len divisible by tp;
//  - cp >= 1; cp > 1 needs seq_len divisible by 2 x cp (load-balanced
//    causal chunks) and, with sequence parallelism, seq_len / cp by tp;
//  - experts (validate_model's MoE rules hold): ep >= 1, expert_tp >= 0;
//    ep > 1 or expert_tp > 0 only for an MoE model; ep divides num_experts;
//    ep x expert_tp divides tp x dp x cp (the ranks of a stage they fold into);
//    expert_tp divides expert_ffn_hidden; tp divides the shared experts'
//    width; an MoE model with tp > 1 needs sequence_parallel (Megatron's
//    rule); ZeRO-3 is not modelled with MoE;
//  - ep_comm_overlap needs an MoE model with ep > 1 and the schedules
//    Megatron-Core combines (Megatron-Core: no pipelining or virtual stages;
//    DeepSeek's DualPipe): at pp = 1, 1f1b and at least 2 micro-batches
//    (forward i + 1 pairs with backward i); at pp > 1, interleaved-1f1b or
//    dualpipe.
// ZeRO-3 is accepted with pp > 1 (FSDP inside each stage, as torchtitan runs it).
// It includes validate_recompute's rules.
//
// Example:
//   auto d = validate_plan(model, training, plan, "/plan", "/training");
//   if (!d.empty()) throw InputError(std::move(d));
std::vector<Diagnostic> validate_plan(const ModelSpec& model, const TrainingSpec& training, const ParallelPlan& plan,
                                      std::string_view plan_path, std::string_view training_path);

// training.recompute_modules against the recompute mode and the model:
// only with recompute = selective, at least one module, each at most once;
// mla_up_proj needs attention = mla, moe_act an MoE model, shared_experts
// shared experts, mlp at least one dense layer. Paths are
// training_path + "/recompute_modules[/i]".
std::vector<Diagnostic> validate_recompute(const ModelSpec& model, const TrainingSpec& training,
                                           std::string_view training_path);

// Micro-batches per DP replica per step: global_batch / (dp * micro_batch).
// Throws InputError when dp or micro_batch is below 1.
std::int64_t num_microbatches(const TrainingSpec& training, const ParallelPlan& plan);

// Decoder layers of each model chunk, in model order: pp x virtual_stages
// entries, where chunk c of stage s is model chunk c * pp + s (Megatron's
// interleaving). Without layers_per_stage the split is even. With
// layers_per_stage of pp entries, stage s's layers are split evenly over its
// virtual_stages chunks; with pp x virtual_stages entries, they are the model
// chunks' own counts, in model order. Throws InputError on a plan that
// validate_plan rejects for its layer split.
//
// Example: 32 layers, pp = 4, virtual_stages = 2 -> {4, 4, 4, 4, 4, 4, 4, 4};
// stage 1 holds model chunks 1 (layers 4..7) and 5 (layers 20..23).
std::vector<std::int64_t> layers_per_model_chunk(const ModelSpec& model, const ParallelPlan& plan);

std::string_view to_string(PipelineSchedule s);
std::string_view to_string(ParallelDim d);
std::string_view to_string(ContextComm c);

}  // namespace dtsim::models
