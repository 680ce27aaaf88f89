#include "host_costs.hpp"

#include <cstdlib>

#include "dtsim/models/framework_profile.hpp"
#include "dtsim/models/layer_ops.hpp"

namespace dtsim::sim {

namespace {

// The calibration's measured eager layer that matches the plan (PyTorch
// frameworks only; TP: same TP size, sequence parallel if measured so;
// without TP, eager only, measured with the host shared by the closest
// number of processes to the node's GPUs), spread over the launches (kernels
// and TP collectives) of the layer that was measured: a Llama layer of the
// training harness, whose launch count depends on its structure and the
// plan, not on its sizes. Unset when nothing matches.
std::optional<Duration> measured_host_per_launch(const SimulationSpec& spec) {
  const auto& layers = spec.calibration.host.layers;
  const models::Framework fw = spec.training.framework;
  if (layers.empty() || fw == models::Framework::kMegatron) return std::nullopt;
  const int tp = spec.plan.tp;
  if (tp == 1 && fw != models::Framework::kPyTorchEager) return std::nullopt;  // compiled blocks: not measured
  const hardware::LayerHost* best = nullptr;
  const auto score = [&](const hardware::LayerHost& l) {
    if (l.tp != tp) return -1;
    if (tp > 1) return l.sequence_parallel == spec.plan.sequence_parallel ? 2 : 1;
    return 1000 - std::abs(l.processes - spec.cluster.node.gpus_per_node);
  };
  for (const hardware::LayerHost& l : layers) {
    if (score(l) >= 0 && (best == nullptr || score(l) > score(*best))) best = &l;
  }
  if (best == nullptr) return std::nullopt;
  models::ModelSpec measured = spec.model;
  measured.mlp = models::MlpKind::kSwiGlu;
  measured.norm = models::NormKind::kRmsNorm;
  measured.position = models::PositionKind::kRotary;
  measured.linear_bias = false;
  measured.dropout = false;
  models::TrainingSpec eager = spec.training;
  eager.framework = models::Framework::kPyTorchEager;
  eager.recompute = models::Recompute::kNone;
  eager.recompute_modules.clear();
  eager.precision = models::PrecisionMode::kPureBf16;
  models::LayerOps ops = models::decoder_layer_ops(measured, eager, spec.plan);
  models::apply_framework(ops, eager);
  std::int64_t launches = 0;
  for (const auto* list : {&ops.forward, &ops.backward}) {
    for (const models::LayerStep& s : *list) {
      launches += s.kind == models::LayerStep::Kind::kCompute ? s.work.kernels : 1;
    }
  }
  if (launches <= 0) return std::nullopt;
  return seconds_to_duration(best->layer.seconds() / static_cast<double>(launches));
}

}  // namespace

HostCosts host_costs(const SimulationSpec& spec) {
  HostCosts h;
  h.per_launch = measured_host_per_launch(spec);
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
  return h;
}

}  // namespace dtsim::sim
