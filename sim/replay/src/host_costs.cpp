#include "host_costs.hpp"

#include <algorithm>

#include "dtsim/models/framework_profile.hpp"
#include "dtsim/models/layer_ops.hpp"

namespace dtsim::sim {

namespace {

// Whether every layer of an MoE model is the harness's MoE block (model.MoE:
// routed experts with a softmax router behind the Llama attention, no shared
// expert, no dense layers), the one bench_framework.py measures.
bool harness_moe_block(const models::MoeSpec& moe) {
  return moe.enabled() && moe.num_shared_experts == 0 && moe.first_dense_layers == 0 && moe.layer_frequency == 1 &&
         moe.gate == models::GateKind::kSoftmax;
}

// The calibration's ratio for the model's block kind (the harness's GPT
// block: GELU and LayerNorm; Llama: SwiGLU and RMSNorm; its MoE block: the
// Llama block with routed experts) in its precision (AMP or bf16), measured
// under full recompute where the step recomputes every layer and that was
// measured (else the ratio without); null when not measured or none of these
// kinds.
const hardware::EagerBlockHost* block_of(const SimulationSpec& spec) {
  const models::ModelSpec& m = spec.model;
  if (m.attention != models::AttentionKind::kMha) return nullptr;
  const bool gpt = m.mlp == models::MlpKind::kGelu && m.norm == models::NormKind::kLayerNorm;
  const bool llama = m.mlp == models::MlpKind::kSwiGlu && m.norm == models::NormKind::kRmsNorm;
  if (!gpt && !llama) return nullptr;
  if (m.moe.enabled() && (!llama || !harness_moe_block(m.moe))) return nullptr;
  // FSDP2's mixed precision computes in bf16 under ZeRO-3, as AMP without it
  // (layer_widths_for).
  const models::PrecisionMode p = spec.training.precision;
  const bool fsdp_mixed = p == models::PrecisionMode::kFsdpMixedBf16;
  if (p != models::PrecisionMode::kAmpBf16 && p != models::PrecisionMode::kPureBf16 && !fsdp_mixed) return nullptr;
  const hardware::EagerBlock kind = m.moe.enabled() ? hardware::EagerBlock::kMoe
                                    : gpt           ? hardware::EagerBlock::kGpt
                                                    : hardware::EagerBlock::kLlama;
  const bool autocast = p == models::PrecisionMode::kAmpBf16 || (fsdp_mixed && spec.plan.zero_stage < 3);
  const bool full_recompute = spec.training.recompute == models::Recompute::kFull;
  const hardware::EagerBlockHost* found = nullptr;
  for (const hardware::EagerBlockHost& b : spec.calibration.host.blocks) {
    if (b.block != kind || b.autocast != autocast || (b.recompute && !full_recompute)) continue;
    if (found == nullptr || b.recompute) found = &b;  // the recompute ratio where it applies
  }
  return found;
}

// The calibration's forward share for the model's block (kind, precision and
// recompute as block_of matches them; the bf16 Llama block where the
// calibration has no block ratio for it), else for the bf16 Llama block with
// the same recompute; null when neither was measured.
const hardware::ForwardShare* forward_share_of(const SimulationSpec& spec, const hardware::EagerBlockHost* block) {
  const bool full_recompute = block != nullptr && block->recompute;
  const hardware::EagerBlock kind = block != nullptr ? block->block : hardware::EagerBlock::kLlama;
  const bool autocast = block != nullptr && block->autocast;
  const hardware::ForwardShare* fallback = nullptr;
  for (const hardware::ForwardShare& f : spec.calibration.host.forward_shares) {
    if (f.recompute != full_recompute) continue;
    if (f.block == kind && f.autocast == autocast) return &f;
    if (f.block == hardware::EagerBlock::kLlama && !f.autocast) fallback = &f;
  }
  return fallback;
}

// The calibration's measured eager layer of TP size `tp`: with TP, sequence
// parallel if measured so; without, shared by the closest number of
// processes to the node's GPUs. Null when none.
const hardware::LayerHost* measured_layer(const SimulationSpec& spec, int tp) {
  return hardware::find_layer_host(spec.calibration.host, tp, spec.plan.sequence_parallel,
                                   spec.cluster.node.gpus_per_node);
}

// Host time per launch from a measured eager layer: one rate for every
// launch (`all`), or, where the calibration measured the block's forward
// share (tp = 1 only), the forward's part of the layer spread over the
// forward launches (`forward`) and the rest over the others (`all`).
struct MeasuredRates {
  std::optional<Duration> all;
  std::optional<Duration> forward;
};

// The calibration's measured eager layer that matches the plan (PyTorch
// frameworks only; TP: same TP size, sequence parallel if measured so;
// without TP, eager only, measured with the host shared by the closest
// number of processes to the node's GPUs), spread over the launches (kernels
// and TP collectives) of the layer that was measured: a Llama layer of the
// training harness, whose launch count depends on its structure and the
// plan, not on its sizes. Without TP, where the calibration measured the
// model's block kind and precision against that Llama layer (HostParams::
// blocks), the layer's time is scaled by that ratio and spread over the
// launches of the model's own block in its precision instead (the MoE block
// as measured: without expert parallelism; a ratio measured under full
// recompute over the forward, recompute and backward launches). Launches
// are what the replay charges at this rate: kernels and TP collectives
// (expert-parallel and context-parallel collectives pay the collective
// call). Unset when nothing matches; split by forward share where measured.
MeasuredRates measured_host_per_launch(const SimulationSpec& spec) {
  const models::Framework fw = spec.training.framework;
  if (fw == models::Framework::kMegatron) return {};
  const int tp = spec.plan.tp;
  if (tp == 1 && fw != models::Framework::kPyTorchEager) return {};  // compiled blocks: not measured
  const hardware::LayerHost* best = measured_layer(spec, tp);
  if (best == nullptr) return {};
  const hardware::EagerBlockHost* block = tp == 1 ? block_of(spec) : nullptr;
  models::ModelSpec measured = spec.model;
  models::TrainingSpec eager = spec.training;
  eager.framework = models::Framework::kPyTorchEager;
  eager.recompute = block != nullptr && block->recompute ? models::Recompute::kFull : models::Recompute::kNone;
  eager.recompute_modules.clear();
  if (block == nullptr) {
    measured.mlp = models::MlpKind::kSwiGlu;
    measured.norm = models::NormKind::kRmsNorm;
    measured.position = models::PositionKind::kRotary;
    measured.linear_bias = false;
    eager.precision = models::PrecisionMode::kPureBf16;
  }
  measured.dropout = false;
  models::LayerOps ops;
  if (block != nullptr && block->block == hardware::EagerBlock::kMoe) {
    models::ParallelPlan one_rank_experts = spec.plan;
    one_rank_experts.ep = 1;
    one_rank_experts.expert_tp = 0;
    ops = models::moe_layer_ops(measured, eager, one_rank_experts);
  } else {
    ops = models::decoder_layer_ops(measured, eager, spec.plan);
  }
  models::apply_framework(ops, eager);
  const auto launches_of = [](const std::vector<models::LayerStep>& list) {
    std::int64_t n = 0;
    for (const models::LayerStep& s : list) {
      if (s.kind == models::LayerStep::Kind::kCompute) n += std::max<std::int64_t>(s.work.kernels, 0);
      if (s.kind == models::LayerStep::Kind::kTensorCollective) ++n;
    }
    return n;
  };
  const std::int64_t forward = launches_of(ops.forward);
  const std::int64_t rest = launches_of(ops.recompute) + launches_of(ops.backward);
  if (forward + rest <= 0) return {};
  const double layer = best->layer.seconds() * (block != nullptr ? block->ratio : 1.0);
  const hardware::ForwardShare* share = tp == 1 ? forward_share_of(spec, block) : nullptr;
  if (share == nullptr || forward <= 0 || rest <= 0) {
    return {seconds_to_duration(layer / static_cast<double>(forward + rest)), std::nullopt};
  }
  return {seconds_to_duration(layer * (1.0 - share->share) / static_cast<double>(rest)),
          seconds_to_duration(layer * share->share / static_cast<double>(forward))};
}

// The measured host work of the plan's data-parallel wrapper under the
// PyTorch frameworks (DDP without ZeRO, FSDP2 under ZeRO-3; FSDP2's mixed
// precision without ZeRO-3 is AMP), for the training precision; null when
// not measured or not one of these.
const hardware::WrapperHost* wrapper_of(const SimulationSpec& spec) {
  if (spec.training.framework == models::Framework::kMegatron || spec.plan.data_ranks() <= 1) return nullptr;
  const int zero = spec.plan.zero_stage;
  if (zero != 0 && zero != 3) return nullptr;
  const hardware::DataParallelWrapper kind =
      zero == 3 ? hardware::DataParallelWrapper::kFsdp2 : hardware::DataParallelWrapper::kDdp;
  hardware::WrapperPrecision precision{};
  switch (spec.training.precision) {
    case models::PrecisionMode::kPureBf16: precision = hardware::WrapperPrecision::kBf16; break;
    case models::PrecisionMode::kAmpBf16: precision = hardware::WrapperPrecision::kAmp; break;
    case models::PrecisionMode::kFsdpMixedBf16:
      precision = zero == 3 ? hardware::WrapperPrecision::kFsdpMixed : hardware::WrapperPrecision::kAmp;
      break;
    default: return nullptr;
  }
  for (const hardware::WrapperHost& w : spec.calibration.host.wrappers) {
    if (w.wrapper == kind && w.precision == precision) return &w;
  }
  return nullptr;
}

// The wrapper's measured host work as durations (HostCosts' wrapper fields),
// scaled by the calibration's plain layer. The benchmark's difference
// includes what the replay charges on its own for FSDP2's collectives, so
// that part is taken off: the call, and one launch per copy (the gather's
// copy in and out, the reduction's concatenation: one kernel each on the
// benchmark's small layer) at the rate the replay charges a launch. DDP's
// bucket copies are per step, not per layer: nothing to take off.
void add_wrapper_costs(const SimulationSpec& spec, HostCosts& h) {
  const hardware::WrapperHost* w = wrapper_of(spec);
  const hardware::LayerHost* layer = measured_layer(spec, 1);
  if (w == nullptr || layer == nullptr) return;
  const double unit = layer->layer.seconds();
  if (w->wrapper == hardware::DataParallelWrapper::kDdp) {
    h.ddp_per_layer = seconds_to_duration(w->rest * unit);
    return;
  }
  const double launch = (h.per_launch ? *h.per_launch : spec.calibration.host.kernel_launch).seconds();
  const double call = spec.calibration.host.collective_launch.seconds();
  h.extra_per_dp_all_gather = seconds_to_duration(std::max(w->all_gather * unit - 2.0 * launch - call, 0.0));
  h.extra_per_dp_reduce_scatter = seconds_to_duration(std::max(w->rest * unit - launch - call, 0.0));
}

}  // namespace

HostCosts host_costs(const SimulationSpec& spec) {
  HostCosts h;
  const MeasuredRates rates = measured_host_per_launch(spec);
  h.per_launch = rates.all;
  h.per_forward_launch = rates.forward;
  // Without a measured layer, PyTorch TP's DTensor dispatch is charged per
  // op: each linear's dispatch and each reduction of a partial result
  // (HostParams). Where Megatron's backward reduces the fused QKV (and
  // MLP-up) input gradient once, DTensor reduces q, k, v (and w1, w3)
  // separately: a layer has 2 + 5 = 7 DTensor reductions for its 4 TP
  // collectives, so each is charged 7/4 of one.
  if (!h.per_launch && spec.training.framework != models::Framework::kMegatron && spec.plan.tp > 1) {
    h.extra_per_gemm = spec.calibration.host.dtensor_op;
    h.extra_per_tp_collective = seconds_to_duration(spec.calibration.host.dtensor_redistribute.seconds() * 1.75);
  }
  add_wrapper_costs(spec, h);
  return h;
}

}  // namespace dtsim::sim
