#include "dtsim/sim/simulation.hpp"

#include <cstdlib>
#include <optional>
#include <string>

#include "dtsim/core/error.hpp"
#include "dtsim/core/unit_parse.hpp"
#include "dtsim/hardware/op_cost_model.hpp"
#include "dtsim/hardware/topology.hpp"
#include "dtsim/models/framework_profile.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/rank_layout.hpp"
#include "replay.hpp"
#include "report_builder.hpp"

namespace dtsim::sim {
namespace {

void check_fits_cluster(const SimulationSpec& spec) {
  std::vector<Diagnostic> diags =
      models::validate_plan(spec.model, spec.training, spec.plan, "/plan", "/training");
  const int world = spec.plan.world_size();
  const int gpus = spec.cluster.num_gpus();
  if (world != gpus) {
    diags.push_back({"/plan", "dp x tp x pp = " + std::to_string(world) + " but the cluster has " +
                                  std::to_string(gpus) + " GPUs (" + std::to_string(spec.cluster.num_nodes) +
                                  " nodes x " + std::to_string(spec.cluster.node.gpus_per_node) + ")"});
  }
  if (!diags.empty()) throw InputError(std::move(diags));
}

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

void fill_memory(const SimulationSpec& spec, Report& r) {
  const auto stages = models::estimate_memory(spec.model, spec.training, spec.plan);
  r.memory_capacity = spec.cluster.node.gpu.memory_capacity;
  r.fits = true;
  std::string over;
  for (std::size_t s = 0; s < stages.size(); ++s) {
    StageMemory sm;
    sm.stage = static_cast<int>(s);
    sm.memory = stages[s];
    sm.fits = stages[s].total() <= r.memory_capacity;
    r.peak_memory = std::max(r.peak_memory, stages[s].total());
    if (!sm.fits) {
      if (r.fits) {
        over = "stage " + std::to_string(s) + " needs " + format_bytes(stages[s].total());
      } else {
        over += ", stage " + std::to_string(s) + " needs " + format_bytes(stages[s].total());
      }
      r.fits = false;
    }
    r.memory.push_back(sm);
  }
  if (!r.fits) {
    r.oom_message = "out of memory: " + over + " per GPU, more than the " + format_bytes(r.memory_capacity) +
                    " of one " + spec.cluster.node.gpu.name;
  }
}

}  // namespace

Report simulate(const SimulationSpec& spec) {
  check_fits_cluster(spec);
  const std::vector<models::Program> programs = models::lower_to_programs(spec.model, spec.training, spec.plan);
  const models::RankLayout layout(spec.plan);
  const hardware::Topology topology(spec.cluster, spec.calibration);
  const hardware::OpCostModel cost(spec.cluster.node.gpu, spec.calibration);

  ReplayInputs in;
  in.programs = &programs;
  in.layout = &layout;
  in.topology = &topology;
  in.cost = &cost;
  in.collective_params = spec.calibration.collective;
  in.algorithm = spec.options.algorithm;
  in.symmetric = spec.options.use_symmetry;
  in.event_limit = spec.options.event_limit;
  in.overlap = spec.calibration.overlap;
  in.host_per_launch = measured_host_per_launch(spec);
  // Without a measured layer, PyTorch TP's DTensor dispatch is charged per
  // op: each linear's dispatch and each reduction of a partial result
  // (HostParams). Where Megatron's backward reduces the fused QKV (and
  // MLP-up) input gradient once, DTensor reduces q, k, v (and w1, w3)
  // separately: a layer has 2 + 5 = 7 DTensor reductions for its 4 TP
  // collectives, so each is charged 7/4 of one.
  if (!in.host_per_launch && spec.training.framework != models::Framework::kMegatron && spec.plan.tp > 1) {
    in.extra_host_per_gemm = spec.calibration.host.dtensor_op;
    in.extra_host_per_tp_collective = seconds_to_duration(spec.calibration.host.dtensor_redistribute.seconds() * 1.75);
  }
  ReplayResult result = replay(in);

  Report r;
  r.model_name = spec.model.name;
  r.gpu_name = spec.cluster.node.gpu.name;
  r.calibration_name = spec.calibration.name;
  r.num_gpus = spec.cluster.num_gpus();
  r.tp = spec.plan.tp;
  r.pp = spec.plan.pp;
  r.dp = spec.plan.dp;
  r.num_microbatches = models::num_microbatches(spec.training, spec.plan);
  r.tokens_per_step = spec.training.global_batch * spec.training.seq_len;
  r.step_time = result.makespan.since_start();
  DTSIM_CHECK(r.step_time > Duration::zero(), "a training step took no time");
  r.tokens_per_second = static_cast<double>(r.tokens_per_step) / r.step_time.seconds();
  r.model_flops = models::model_flops_per_step(spec.model, spec.training);
  r.mfu = r.model_flops.count() /
          (r.step_time.seconds() * r.num_gpus * spec.cluster.node.gpu.peak_bf16.flops_per_second());

  const std::size_t crit = critical_rank(result);
  r.critical_stage = result.ranks[crit].stage;
  r.breakdown = attribute_breakdown(result, crit, programs);
  r.critical_path = critical_path(result, crit, programs);
  fill_memory(spec, r);

  r.symmetric = spec.options.use_symmetry;
  r.simulated_ranks = static_cast<int>(result.ranks.size());
  r.events = result.events;
  r.tasks = result.tasks;

  if (spec.options.record_timeline) {
    // One label table for the whole report: program label ids are per stage.
    std::vector<std::vector<std::uint32_t>> remap(programs.size());
    for (const RankTrace& rt : result.ranks) {
      const models::Program& p = programs[static_cast<std::size_t>(rt.stage)];
      auto& map = remap[static_cast<std::size_t>(rt.stage)];
      for (std::size_t i = 0; i < p.size(); ++i) {
        const models::Task& t = p.tasks()[i];
        if (map.size() <= t.label) map.resize(t.label + 1, UINT32_MAX);
        if (map[t.label] == UINT32_MAX) {
          map[t.label] = static_cast<std::uint32_t>(r.labels.size());
          r.labels.push_back(p.label(t));
        }
        TimelineEntry e;
        e.rank = rt.rank;
        e.stage = rt.stage;
        e.stream = t.stream;
        e.phase = t.phase;
        e.label = map[t.label];
        e.microbatch = t.microbatch;
        e.layer = t.layer;
        e.start = rt.start[i];
        e.end = rt.end[i];
        r.timeline.push_back(e);
      }
    }
  }
  return r;
}

}  // namespace dtsim::sim
