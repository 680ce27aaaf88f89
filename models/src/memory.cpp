#include "dtsim/models/memory.hpp"

#include <algorithm>

#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/pipeline_schedule.hpp"
#include "lowering_stage.hpp"

namespace dtsim::models {
namespace {

using lowering_detail::ModelLayout;
using lowering_detail::StageModel;
using lowering_detail::Unit;
using lowering_detail::UnitKind;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

Bytes sum_saved(const std::vector<LayerStep>& steps) {
  Bytes b;
  for (const LayerStep& s : steps) b += s.saved_for_backward;
  return b;
}

// One micro-batch's K and V on this rank (bf16), as context parallelism moves them.
std::int64_t local_kv_bytes(const ModelSpec& model, const TrainingSpec& training, const ParallelPlan& plan) {
  return training.micro_batch * (training.seq_len / plan.cp) * 2 * (model.num_kv_heads / plan.tp) * model.head_dim * 2;
}

// The loss's transient on the last stage: its logits buffers.
Bytes loss_temporary_bytes(const StageModel& sm, const ModelSpec& model, const TrainingSpec& training,
                           const ParallelPlan& plan) {
  Bytes t;
  if (sm.holds_head) {
    // Megatron's fused cross-entropy works on fp32 logits: T x (padded V / tp)
    // x 4. PyTorch's F.cross_entropy(logits.float()) keeps the bf16 logits
    // (2), saves the fp32 log-softmax (4) and builds its fp32 gradient (4)
    // at the start of backward: 10 bytes per logit.
    const std::int64_t rows = padded_vocab_size(model, plan.tp) / plan.tp;
    const std::int64_t per_logit = training.framework == Framework::kMegatron ? 4 : 10;
    t = Bytes(training.micro_batch * training.seq_len * rows * per_logit);
  }
  return t;
}

// The other transients, which the layers' backward passes create.
Bytes other_temporary_bytes(const StageModel& sm, const ModelSpec& model, const TrainingSpec& training,
                            const ParallelPlan& plan, const ModelLayout& layout) {
  Bytes t;
  // The all-gather variant of context parallelism gathers a layer's whole K
  // and V before its attention.
  if (plan.cp > 1 && plan.cp_comm == ContextComm::kAllGather) {
    t = std::max(t, Bytes(local_kv_bytes(model, training, plan) * plan.cp));
  }
  // Recompute re-materializes one layer's tensors for its backward.
  t = std::max(t, sum_saved(layout.decoder().recompute));
  if (sm.holds_moe_layer) t = std::max(t, sum_saved(layout.moe_decoder().recompute));
  return t;
}

Bytes communication_bytes(const StageModel& sm, const ModelSpec& model, const TrainingSpec& training,
                          const ParallelPlan& plan, const ParameterBytes& pb, const ModelLayout& layout) {
  Bytes c;
  // PyTorch DDP (gradient_as_bucket_view off, its default) copies gradients
  // into flat bucket buffers of its own: a second gradient buffer.
  if (plan.data_ranks() > 1 && plan.zero_stage == 0 && training.framework != Framework::kMegatron) {
    const std::int64_t reduced =
        sm.parameters - (plan.expert_data_parallel() > 1 ? 0 : sm.expert_parameters);
    c += Bytes(reduced * pb.gradients);
  }
  if (plan.pp > 1) c += layout.p2p_bytes() * 2;  // a message in flight each way
  // MoE all-to-all: the permuted send buffer and the receive buffer of one
  // dispatch (or combine) in flight, each the busiest rank's S.
  if (sm.holds_moe_layer) c += layout.dispatch_bytes() * 2;
  if (plan.cp > 1 && plan.cp_comm == ContextComm::kRing) {
    // Ring attention: the K/V block being computed on and the one arriving.
    c += Bytes(2 * local_kv_bytes(model, training, plan));
  }
  if (plan.data_ranks() > 1 && plan.zero_stage >= 3) {
    std::int64_t largest = 0;
    for (const auto& ch : sm.chunks) {
      for (const Unit& u : ch.units) largest = std::max(largest, u.parameters);
    }
    // Gathered parameters (the prefetched next unit too) and the unit's
    // unsharded gradient before its reduce-scatter.
    c += Bytes(largest * gathered_weight_bytes(training.precision) * (plan.fsdp_prefetch ? 2 : 1) +
               largest * pb.gradients);
  }
  return c;
}

}  // namespace

std::int64_t gathered_weight_bytes(PrecisionMode precision) {
  return precision == PrecisionMode::kFsdpMixedBf16 ? 2 : parameter_bytes(precision).weights;
}

ParameterBytes parameter_bytes(PrecisionMode precision) {
  switch (precision) {
    case PrecisionMode::kMegatronBf16: return {2, 4, 12};
    case PrecisionMode::kAmpBf16:
    case PrecisionMode::kFsdpMixedBf16: return {4, 4, 8};
    case PrecisionMode::kPureBf16: return {2, 2, 4};
  }
  return {};
}

std::vector<std::int64_t> stage_parameters(const ModelSpec& model, const TrainingSpec& training,
                                           const ParallelPlan& plan) {
  const ModelLayout layout(model, training, plan);
  std::vector<std::int64_t> out;
  for (int s = 0; s < plan.pp; ++s) out.push_back(layout.stage(s).parameters);
  return out;
}

std::vector<MemoryBreakdown> estimate_memory(const ModelSpec& model, const TrainingSpec& training,
                                             const ParallelPlan& plan) {
  const ModelLayout layout(model, training, plan);  // validates the plan
  const std::int64_t m = num_microbatches(training, plan);
  const ParameterBytes pb = parameter_bytes(training.precision);
  const std::int64_t dp = plan.data_ranks();  // ZeRO shards over data x context parallel ranks
  std::vector<MemoryBreakdown> out;
  out.reserve(static_cast<std::size_t>(plan.pp));
  for (int s = 0; s < plan.pp; ++s) {
    const StageModel sm = layout.stage(s);
    const std::int64_t p = sm.parameters;
    // ZeRO shards the dense parameters over DP, the routed experts' over expert-DP.
    const std::int64_t shard =
        ceil_div(p - sm.expert_parameters, dp) + ceil_div(sm.expert_parameters, plan.expert_data_parallel());
    MemoryBreakdown mb;
    mb.weights = Bytes((plan.zero_stage >= 3 ? shard : p) * pb.weights);
    mb.gradients = Bytes((plan.zero_stage >= 2 ? shard : p) * pb.gradients);
    if (plan.zero_stage >= 3 && dp > 1 && m > 1 && training.framework != Framework::kMegatron) {
      // FSDP2 under the PyTorch frameworks keeps every unit's unsharded
      // gradient (the parameter's dtype: bf16 under its mixed precision)
      // until the last micro-batch reduces it (lowering: fsdp_reduces).
      const std::int64_t unsharded = training.precision == PrecisionMode::kFsdpMixedBf16 ? 2 : pb.gradients;
      mb.gradients = Bytes(p * unsharded);
    }
    mb.optimizer_state = Bytes((plan.zero_stage >= 1 ? shard : p) * pb.optimizer);

    const auto passes = stage_passes(plan, m, s);
    std::vector<Bytes> per_chunk;
    per_chunk.reserve(sm.chunks.size());
    for (const auto& ch : sm.chunks) {
      per_chunk.push_back(ch.saved_per_microbatch);
      mb.activations_per_microbatch += ch.saved_per_microbatch;
    }
    mb.activations = peak_held_bytes(passes, per_chunk);
    // torch.distributed.pipelining keeps the last stage's output (the bf16
    // logits, gathered over TP: a stage's output is a plain tensor) of every
    // micro-batch until the step ends, to return them merged.
    if (sm.holds_head && plan.pp > 1 && training.framework != Framework::kMegatron) {
      const std::int64_t vocab = padded_vocab_size(model, plan.tp);
      mb.activations += Bytes(m * training.micro_batch * training.seq_len * vocab * 2);
    }
    mb.microbatches_in_flight = peak_in_flight(passes, chunks_per_stage(plan.schedule, plan.virtual_stages)).peak;
    // The largest transient working set: what lives only while one kernel
    // sequence runs, not across the schedule.
    mb.loss_temporary = loss_temporary_bytes(sm, model, training, plan);
    mb.other_temporary = other_temporary_bytes(sm, model, training, plan, layout);
    mb.temporary = std::max(mb.loss_temporary, mb.other_temporary);
    mb.gradients_replace_activations = training.framework != Framework::kMegatron && m == 1 && plan.pp == 1;
    if (mb.gradients_replace_activations && !sm.chunks.empty() && !sm.chunks.back().units.empty()) {
      const std::int64_t last = sm.chunks.back().units.back().parameters;
      mb.first_backward_gradients = Bytes((plan.zero_stage >= 2 ? ceil_div(last, dp) : last) * pb.gradients);
    }
    mb.communication_buffers = communication_bytes(sm, model, training, plan, pb, layout);
    out.push_back(mb);
  }
  return out;
}

}  // namespace dtsim::models
