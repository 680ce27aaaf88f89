#include "dtsim/sim/simulation.hpp"

#include <string>

#include "dtsim/core/error.hpp"
#include "dtsim/core/unit_parse.hpp"
#include "dtsim/hardware/op_cost_model.hpp"
#include "dtsim/hardware/topology.hpp"
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/rank_layout.hpp"
#include "host_costs.hpp"
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
  if (spec.cluster.host_slowdown != 1.0) {
    SimulationSpec slower = spec;
    slower.calibration = hardware::with_host_time_scaled(spec.calibration, spec.cluster.host_slowdown);
    slower.cluster.host_slowdown = 1.0;
    Report r = simulate(slower);
    r.host_slowdown = spec.cluster.host_slowdown;
    return r;
  }
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
  const HostCosts host = host_costs(spec);
  in.host_per_launch = host.per_launch;
  in.host_per_forward_launch = host.per_forward_launch;
  in.extra_host_per_gemm = host.extra_per_gemm;
  in.extra_host_per_tp_collective = host.extra_per_tp_collective;
  in.extra_host_per_dp_all_gather = host.extra_per_dp_all_gather;
  in.extra_host_per_dp_reduce_scatter = host.extra_per_dp_reduce_scatter;
  in.extra_host_ddp_per_layer = host.ddp_per_layer;
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
