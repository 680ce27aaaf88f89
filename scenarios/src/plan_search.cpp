// Plan search: enumerate, prune by memory and a step-time lower bound, then
// simulate in order of the bound (branch and bound). See plan_search.hpp.
#include "dtsim/scenarios/plan_search.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <numeric>
#include <tuple>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "dtsim/core/unit_parse.hpp"
#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/hardware/op_cost_model.hpp"
#include "dtsim/hardware/topology.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/rank_layout.hpp"
#include "dtsim/sim/simulation.hpp"
#include "scenario_document.hpp"
#include "scenario_tables.hpp"
#include "sweep_format.hpp"

namespace dtsim::scenarios {
namespace {

using models::ParallelPlan;
using models::PipelineSchedule;
using models::Recompute;

// The loader's guard on one simulation's size (scenario.cpp, "Limits"):
// micro-batches x layers of one stage.
constexpr std::int64_t kMaxStageWork = std::int64_t{1} << 18;

// Simulated together before the bound is compared again. Fixed, not the
// thread count, so that which plans get simulated never depends on threads.
constexpr std::size_t kBatch = 4;

// Sequences from this length on also try context parallelism.
constexpr std::int64_t kLongSequence = 8192;

std::vector<std::int64_t> divisors(std::int64_t n) {
  std::vector<std::int64_t> out;
  for (std::int64_t d = 1; d * d <= n; ++d) {
    if (n % d != 0) continue;
    out.push_back(d);
    if (d != n / d) out.push_back(n / d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What the bound needs of the cluster, built once per search: the cost model
// and the topology whose contention-free collective estimates the replay's
// flow network can only exceed.
struct BoundContext {
  BoundContext(const Scenario& s)
      : cost(s.spec.cluster.node.gpu, s.spec.calibration), topology(s.spec.cluster, s.spec.calibration),
        params(s.spec.calibration.collective), algorithm(s.spec.options.algorithm) {}
  hardware::OpCostModel cost;
  hardware::Topology topology;
  hardware::CollectiveParams params;
  hardware::CollectiveAlgorithm algorithm;

  // Contention-free time of a collective; with `bandwidth_only`, without its
  // fixed latencies (a lower bound for the same bytes split into buckets).
  Duration collective(CollectiveKind kind, const std::vector<int>& group, Bytes bytes, bool bandwidth_only) const {
    if (group.size() <= 1 || bytes <= Bytes(0)) return Duration::zero();
    const hardware::CollectivePlan plan = hardware::plan_collective(kind, group, bytes, topology, params, algorithm);
    Duration t = hardware::estimate_plan(plan, topology);
    if (bandwidth_only) {
      for (const hardware::CollectiveStage& st : plan.stages) t -= st.latency;
    }
    return std::max(t, Duration::zero());
  }

  // The least time any algorithm needs to move `bytes` over its links, fixed
  // latencies left out: linear in the bytes for each algorithm, so it bounds
  // the same bytes issued as many smaller collectives, whatever algorithm
  // each of them gets.
  Duration bandwidth_floor(CollectiveKind kind, const std::vector<int>& group, Bytes bytes) const {
    if (group.size() <= 1 || bytes <= Bytes(0)) return Duration::zero();
    Duration best = Duration::max();
    for (const auto a : {hardware::CollectiveAlgorithm::kRing, hardware::CollectiveAlgorithm::kTree,
                         hardware::CollectiveAlgorithm::kHierarchical, hardware::CollectiveAlgorithm::kDirect}) {
      const hardware::CollectivePlan plan = hardware::plan_collective(kind, group, bytes, topology, params, a);
      Duration t = hardware::estimate_plan(plan, topology);
      for (const hardware::CollectiveStage& st : plan.stages) t -= st.latency;
      best = std::min(best, std::max(t, Duration::zero()));
    }
    return best;
  }
};

Duration steps_time(const std::vector<models::LayerStep>& steps, const BoundContext& ctx, const std::vector<int>& tp_group) {
  Duration t = Duration::zero();
  for (const models::LayerStep& s : steps) {
    if (s.kind == models::LayerStep::Kind::kCompute) {
      t += ctx.cost.duration(s.work);
    } else if (s.kind == models::LayerStep::Kind::kTensorCollective) {
      t += ctx.collective(s.collective, tp_group, s.collective_bytes, false);
    }
    // Expert all-to-alls and expert-TP collectives are left out: still a bound.
  }
  return t;
}

// A bound for every stage s (max over s is the bound):
//   m x t_s + fill + optimizer_s (+ ZeRO-1/2's parameter all-gather), where
//   t_s is one micro-batch's forward and backward on stage s (its layers, the
//   embedding on stage 0, the head and loss on the last) and fill the first
//   micro-batch's trip through the other pp - 1 stages (1/v of the smallest
//   stage each) that every stage waits through before its first or after its
//   last pass;
// and, under ZeRO 0-2, the gradient reduction the optimizer waits for, which
// cannot start before the last micro-batch's backward.
Duration lower_bound(const Scenario& s, const BoundContext& ctx) {
  const auto& spec = s.spec;
  const ParallelPlan& p = spec.plan;
  const models::RankLayout layout(p);
  const std::vector<int> tp_group = layout.group_of(models::GroupKind::kTensor, 0);
  const std::vector<int> dp_group = layout.group_of(models::GroupKind::kData, 0);
  // Backward TP collectives may overlap weight-gradient kernels: only their
  // compute counts there.
  const std::vector<int> alone{0};
  auto pass_times = [&](const models::LayerOps& ops) {
    return std::pair{steps_time(ops.forward, ctx, tp_group),
                     steps_time(ops.backward, ctx, alone) + steps_time(ops.recompute, ctx, alone)};
  };
  const auto [layer_forward, layer_backward] = pass_times(models::decoder_layer_ops(spec.model, spec.training, p));
  // MoE layers cost their own kernels (the dense ones of an MoE model, e.g.
  // DeepSeek's first three, cost decoder_layer_ops').
  const auto [moe_forward, moe_backward] = spec.model.moe.enabled()
                                               ? pass_times(models::moe_layer_ops(spec.model, spec.training, p))
                                               : std::pair{layer_forward, layer_backward};
  const auto [embed_forward, embed_backward] = pass_times(models::embedding_ops(spec.model, spec.training, p));
  const auto [head_forward, head_backward] = pass_times(models::head_and_loss_ops(spec.model, spec.training, p));
  const std::int64_t m = models::num_microbatches(spec.training, p);
  const std::vector<std::int64_t> chunks = models::layers_per_model_chunk(spec.model, p);
  const bool interleaved = p.virtual_stages > 1;
  const models::ParameterBytes bytes = models::parameter_bytes(spec.training.precision);
  const std::vector<std::int64_t> params = models::stage_parameters(spec.model, spec.training, p);

  // Layers per stage, dense and MoE: chunk c of stage s is model chunk c x pp + s.
  std::vector<std::int64_t> layers(static_cast<std::size_t>(p.pp), 0);
  std::vector<std::int64_t> moe_layers(static_cast<std::size_t>(p.pp), 0);
  std::int64_t first_layer = 0;
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    const std::size_t st = k % static_cast<std::size_t>(p.pp);
    for (std::int64_t l = first_layer; l < first_layer + chunks[k]; ++l) {
      ++(models::is_moe_layer(spec.model, l) ? moe_layers[st] : layers[st]);
    }
    first_layer += chunks[k];
  }
  const Duration dense_pass = layer_forward + layer_backward;
  const Duration moe_pass = moe_forward + moe_backward;
  Duration cheapest_stage = Duration::max();
  Duration cheapest_forward = Duration::max();
  for (std::size_t st = 0; st < layers.size(); ++st) {
    cheapest_stage = std::min(cheapest_stage, dense_pass * layers[st] + moe_pass * moe_layers[st]);
    cheapest_forward = std::min(cheapest_forward, layer_forward * layers[st] + moe_forward * moe_layers[st]);
  }
  // ZB-H1 fills its warm-up and drain with deferred weight-gradient passes:
  // only the first micro-batch's forward through the other stages is sure to
  // be waited for (the last stage cannot start before it arrives).
  const bool zero_bubble = p.schedule == PipelineSchedule::kZeroBubbleH1;
  const Duration fill = zero_bubble ? cheapest_forward * (p.pp - 1)
                                    : cheapest_stage * (p.pp - 1) / p.virtual_stages;

  Duration bound = Duration::zero();
  for (int st = 0; st < p.pp; ++st) {
    const auto n = layers[static_cast<std::size_t>(st)];
    const auto n_moe = moe_layers[static_cast<std::size_t>(st)];
    Duration forward = layer_forward * n + moe_forward * n_moe;
    Duration backward = layer_backward * n + moe_backward * n_moe;
    if (st == 0) {
      forward += embed_forward;
      backward += embed_backward;
    }
    if (st == p.pp - 1) {
      forward += head_forward;
      backward += head_backward;
    }
    const Duration work = (forward + backward) * m;
    const std::int64_t stage_params = params[static_cast<std::size_t>(st)];
    const std::int64_t shard = p.zero_stage >= 1 ? stage_params / p.data_ranks() : stage_params;
    const Duration optimizer = steps_time(models::optimizer_ops(shard, spec.training, 0), ctx, tp_group);
    Duration gather = Duration::zero();
    if (p.zero_stage >= 1 && p.zero_stage <= 2) {
      gather = ctx.collective(CollectiveKind::kAllGather, dp_group, Bytes(stage_params * bytes.weights), false);
    }
    bound = std::max(bound, work + fill + optimizer + gather);
    if (p.zero_stage == 3 && p.data_ranks() > 1) {
      // FSDP gathers every unit's parameters before its forward and again
      // before its backward, and reduce-scatters its gradients after, for
      // every micro-batch, all on the one data-parallel stream: the stream's
      // busy time bounds the step however well it overlaps compute.
      const Duration per_microbatch =
          ctx.bandwidth_floor(CollectiveKind::kAllGather, dp_group,
                              Bytes(stage_params * models::gathered_weight_bytes(spec.training.precision))) *
              2 +
          ctx.bandwidth_floor(CollectiveKind::kReduceScatter, dp_group, Bytes(stage_params * bytes.gradients));
      bound = std::max(bound, per_microbatch * m + optimizer);
    }
    if (p.zero_stage <= 2 && p.data_ranks() > 1) {
      // Stage 0 waits through the whole fill and drain before its last
      // backward; with interleaving up to pp micro-batches' backward may
      // follow the first chunk's last one.
      const Duration start = interleaved ? work - backward * p.pp
                                         : work - backward + (st == 0 && !zero_bubble ? fill : Duration::zero());
      const Duration reduce = ctx.collective(p.zero_stage == 0 ? CollectiveKind::kAllReduce : CollectiveKind::kReduceScatter,
                                             dp_group, Bytes(stage_params * bytes.gradients), true);
      bound = std::max(bound, std::max(start, Duration::zero()) + reduce + optimizer + gather);
    }
  }
  return bound;
}

bool fits_memory(const Scenario& s) {
  const auto stages = models::estimate_memory(s.spec.model, s.spec.training, s.spec.plan);
  const Bytes capacity = s.spec.cluster.node.gpu.memory_capacity;
  return std::all_of(stages.begin(), stages.end(), [&](const models::MemoryBreakdown& m) { return m.total() <= capacity; });
}

// Recomputation only adds work (the same kernels run again, nothing else
// changes), so a plan is never faster than the same plan with less
// recomputation. A plan is dropped when that cheaper variant fits in memory.
std::vector<bool> dominated_by_less_recompute(const std::vector<PlanChoice>& plans, const std::vector<char>& fits) {
  using Key = std::tuple<int, int, int, int, int, int, bool, std::int64_t, int, int, bool>;
  const auto key_of = [](const PlanChoice& c) {
    const ParallelPlan& p = c.plan;
    return Key{p.tp, p.pp, p.dp, p.virtual_stages, static_cast<int>(p.schedule), p.zero_stage, p.sequence_parallel,
               c.micro_batch, (p.ep * 4096 + p.cp) * 2 + static_cast<int>(p.cp_comm), static_cast<int>(p.order[1]),
               p.ep_comm_overlap};
  };
  std::map<Key, Recompute> least;  // the least recomputation that fits, per plan
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (!fits[i]) continue;
    const auto [it, fresh] = least.try_emplace(key_of(plans[i]), plans[i].recompute);
    if (!fresh) it->second = std::min(it->second, plans[i].recompute);
  }
  std::vector<bool> dominated(plans.size(), false);
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (fits[i]) dominated[i] = least.at(key_of(plans[i])) < plans[i].recompute;
  }
  return dominated;
}

struct Candidate {
  PlanChoice choice;
  Duration bound;
  std::size_t order = 0;  // enumeration order: the tie-breaker
};

std::string seconds_text(Duration d) { return format_duration(d); }

}  // namespace

Scenario load_plan_search_base(std::string_view json_text, const Catalogs& catalogs, std::string_view origin) {
  const detail::Json doc = detail::parse_json_document(json_text);
  return detail::load_scenario_document(doc, catalogs, origin, {.plan_free = true});
}

Scenario load_plan_search_base_file(const std::filesystem::path& path, const Catalogs& catalogs) {
  Scenario s = load_plan_search_base(read_text_file(path), catalogs, path.string());
  s.file = path.string();
  return s;
}

Scenario with_plan(const Scenario& base, const PlanChoice& choice) {
  Scenario s = base;
  s.spec.plan = choice.plan;
  s.spec.training.micro_batch = choice.micro_batch;
  s.spec.training.recompute = choice.recompute;
  // The base's recompute_modules say what "selective" re-runs; the other modes take none.
  if (choice.recompute != Recompute::kSelective) s.spec.training.recompute_modules.clear();
  return s;
}

std::vector<PlanChoice> enumerate_plans(const Scenario& base, PlanSearchStats& stats) {
  const models::ModelSpec& m = base.spec.model;
  const models::TrainingSpec& t = base.spec.training;
  const std::int64_t gpus = base.spec.cluster.num_gpus();
  const std::int64_t per_node = base.spec.cluster.node.gpus_per_node;
  std::vector<PlanChoice> out;
  ParallelPlan plan = base.spec.plan;
  plan.layers_per_stage.clear();
  // Context parallelism only for long sequences (8K tokens and more, where
  // it is used in practice), every cp that leaves load-balanced chunks of at
  // least 1K tokens.
  std::vector<std::int64_t> cps{1};
  if (t.seq_len >= kLongSequence) {
    for (const std::int64_t cp : divisors(gpus)) {
      if (cp > 1 && t.seq_len % (2 * cp) == 0 && t.seq_len / (2 * cp) >= 1024) cps.push_back(cp);
    }
  }
  for (const std::int64_t tp : divisors(per_node)) {
    if (m.num_heads % tp != 0 || m.num_kv_heads % tp != 0) continue;  // not even a candidate
    for (const std::int64_t cp : cps)
    for (const std::int64_t pp : divisors(m.num_layers)) {
      if (gpus % (tp * cp * pp) != 0) continue;
      const std::int64_t dp = gpus / (tp * cp * pp);
      if (t.global_batch % dp != 0) continue;
      const std::int64_t per_replica = t.global_batch / dp;
      for (const std::int64_t mb : divisors(per_replica)) {
        const std::int64_t microbatches = per_replica / mb;
        // Schedules: with one stage the schedule is moot (1F1B); interleaving
        // takes every virtual-stage count >= 2 that splits the stage's layers.
        std::vector<std::pair<PipelineSchedule, int>> schedules{{PipelineSchedule::kOneFOneB, 1}};
        if (pp > 1) {
          schedules.emplace_back(PipelineSchedule::kGPipe, 1);
          schedules.emplace_back(PipelineSchedule::kZeroBubbleH1, 1);
          for (const std::int64_t v : divisors(m.num_layers / pp)) {
            if (v >= 2) schedules.emplace_back(PipelineSchedule::kInterleavedOneFOneB, static_cast<int>(v));
          }
        }
        // Expert parallelism (MoE models): every EP size dividing the experts
        // that folds into the stage's tp x dp ranks, expert-TP as Megatron's
        // default (= tp); dense models keep ep = 1.
        std::vector<std::int64_t> eps{1};
        if (m.moe.enabled()) {
          eps.clear();
          for (const std::int64_t ep : divisors(m.moe.num_experts)) {
            if ((tp * dp) % (ep * tp) == 0) eps.push_back(ep);
          }
        }
        // Placements: TP stays innermost (inside a node's NVLink domain); then
        // data before pipeline (Megatron's default: DP peers on neighbouring
        // GPUs) or pipeline before data (stage neighbours on one node), when
        // there is both to order.
        std::vector<std::array<models::ParallelDim, 3>> orders{
            {models::ParallelDim::kTensor, models::ParallelDim::kData, models::ParallelDim::kPipeline}};
        if (pp > 1 && dp > 1) {
          orders.push_back({models::ParallelDim::kTensor, models::ParallelDim::kPipeline, models::ParallelDim::kData});
        }
        // Context parallelism: the ring (K/V blocks passed around, overlapped
        // with attention) and the all-gather variant.
        std::vector<models::ContextComm> cp_comms{models::ContextComm::kRing};
        if (cp > 1) cp_comms.push_back(models::ContextComm::kAllGather);
        // MoE: with and without overlapped expert all-to-alls (validate_plan
        // keeps the overlap to ep > 1 and the schedules that pair passes). The
        // bound leaves all-to-alls out, so it bounds both.
        std::vector<bool> overlaps{false};
        if (m.moe.enabled()) overlaps.push_back(true);
        for (const auto& order : orders)
        for (const models::ContextComm cp_comm : cp_comms)
        for (const bool overlap : overlaps)
        for (const auto& [schedule, v] : schedules) {
          for (const std::int64_t ep : eps) {
            for (const Recompute r : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
              for (int zero = 0; zero <= (dp > 1 ? 3 : 0); ++zero) {
                for (const bool sp : {false, true}) {
                  if (sp && tp == 1) continue;
                  ++stats.enumerated;
                  plan.tp = static_cast<int>(tp);
                  plan.pp = static_cast<int>(pp);
                  plan.dp = static_cast<int>(dp);
                  plan.virtual_stages = v;
                  plan.schedule = schedule;
                  plan.zero_stage = zero;
                  plan.sequence_parallel = sp;
                  plan.ep = static_cast<int>(ep);
                  plan.expert_tp = 0;
                  plan.order = order;
                  plan.cp = static_cast<int>(cp);
                  plan.cp_comm = cp_comm;
                  plan.ep_comm_overlap = overlap;
                  models::TrainingSpec tt = t;
                  tt.micro_batch = mb;
                  tt.recompute = r;
                  if (r != Recompute::kSelective) tt.recompute_modules.clear();
                  if (!models::validate_plan(m, tt, plan, "/plan", "/training").empty() ||
                      microbatches * (m.num_layers / pp) > kMaxStageWork) {
                    ++stats.invalid;
                    continue;
                  }
                  out.push_back({plan, mb, r});
                }
              }
            }
          }
        }
      }
    }
  }
  return out;
}

Duration step_time_lower_bound(const Scenario& s) {
  const BoundContext ctx(s);
  return lower_bound(s, ctx);
}

PlanSearchResult search_plans(const Scenario& base, const PlanSearchOptions& options) {
  PlanSearchResult result;
  PlanSearchStats& stats = result.stats;
  const std::vector<PlanChoice> plans = enumerate_plans(base, stats);
  const int threads = options.threads > 0 ? options.threads : tbb::task_arena::automatic;
  tbb::task_arena arena(threads);
  // Memory and bound of every plan, in parallel (each plan's own slot, so the
  // result does not depend on the thread count).
  const BoundContext ctx(base);
  std::vector<char> fits(plans.size(), 0);
  std::vector<Duration> bounds(plans.size());
  arena.execute([&] {
    tbb::parallel_for(std::size_t{0}, plans.size(), [&](std::size_t i) {
      const Scenario s = with_plan(base, plans[i]);
      fits[i] = fits_memory(s) ? 1 : 0;
      if (fits[i]) bounds[i] = lower_bound(s, ctx);
    });
  });
  const std::vector<bool> dominated = dominated_by_less_recompute(plans, fits);
  std::vector<Candidate> candidates;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (!fits[i]) {
      ++stats.over_memory;
    } else if (dominated[i]) {
      ++stats.more_recompute_than_needed;
    } else {
      candidates.push_back({plans[i], bounds[i], i});
    }
  }
  if (candidates.empty()) {
    throw InputError("/plan", "no plan fits: " + std::to_string(stats.enumerated) + " plans enumerated, " +
                                  std::to_string(stats.invalid) + " invalid, " + std::to_string(stats.over_memory) +
                                  " over the GPU's memory");
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.bound != b.bound ? a.bound < b.bound : a.order < b.order;
  });

  const std::size_t top = std::max<std::size_t>(options.top, 1);
  std::vector<std::pair<RankedPlan, std::size_t>> best;  // with enumeration order, for ties
  auto cutoff = [&]() { return best.size() < top ? Duration::max() : best.back().first.metrics.step_time; };
  std::size_t next = 0;
  while (next < candidates.size() && candidates[next].bound < cutoff()) {
    std::vector<std::size_t> batch;
    while (batch.size() < kBatch && next < candidates.size() && candidates[next].bound < cutoff()) batch.push_back(next++);
    std::vector<RankedPlan> simulated(batch.size());
    std::vector<bool> failed(batch.size(), false);
    arena.execute([&] {
      tbb::parallel_for(std::size_t{0}, batch.size(), [&](std::size_t k) {
        const Candidate& c = candidates[batch[k]];
        const Scenario s = with_plan(base, c.choice);
        try {
          simulated[k] = {c.choice, c.bound, point_metrics(s, sim::simulate(s.spec))};
        } catch (const InputError&) {
          failed[k] = true;  // e.g. a network the simulator cannot build for this plan
        }
      });
    });
    for (std::size_t k = 0; k < batch.size(); ++k) {
      if (failed[k]) {
        ++stats.invalid;
        continue;
      }
      ++stats.simulated;
      if (simulated[k].metrics.step_time < simulated[k].lower_bound) ++stats.bound_violations;
      best.emplace_back(std::move(simulated[k]), candidates[batch[k]].order);
    }
    std::sort(best.begin(), best.end(), [](const auto& a, const auto& b) {
      const Duration ta = a.first.metrics.step_time;
      const Duration tb = b.first.metrics.step_time;
      return ta != tb ? ta < tb : a.second < b.second;
    });
    if (best.size() > top) best.resize(top);
    if (options.on_progress) {
      options.on_progress(stats.simulated, static_cast<std::int64_t>(candidates.size() - next));
    }
  }
  stats.pruned_by_bound = static_cast<std::int64_t>(candidates.size() - next);
  for (auto& [plan, order] : best) result.best.push_back(std::move(plan));
  return result;
}

std::string describe_plan(const PlanChoice& c) {
  const ParallelPlan& p = c.plan;
  std::string out = "TP " + std::to_string(p.tp) + " x PP " + std::to_string(p.pp) + " x DP " + std::to_string(p.dp);
  if (p.cp > 1) {
    out.append(" x CP ").append(std::to_string(p.cp));
    out.append(" (").append(detail::name_of(detail::kContextCommChoices, p.cp_comm)).append(")");
  }
  if (p.ep > 1) out.append(" (EP ").append(std::to_string(p.ep)).append(p.ep_comm_overlap ? ", overlapped" : "").append(")");
  if (p.order[1] == models::ParallelDim::kPipeline) out.append(", order tensor-pipeline-data");
  if (p.pp > 1) {
    out.append(", ").append(detail::name_of(detail::kScheduleChoices, p.schedule));
    if (p.virtual_stages > 1) out.append(" v").append(std::to_string(p.virtual_stages));
  }
  out.append(", micro-batch ").append(std::to_string(c.micro_batch));
  out.append(", recompute ").append(detail::name_of(detail::kRecomputeChoices, c.recompute));
  if (p.zero_stage > 0) out.append(", ZeRO-").append(std::to_string(p.zero_stage));
  if (p.sequence_parallel) out.append(", SP");
  return out;
}

std::string why_ahead(const RankedPlan& a, const RankedPlan& b) {
  const sim::Breakdown& x = a.metrics.breakdown;
  const sim::Breakdown& y = b.metrics.breakdown;
  struct Part {
    const char* name;
    Duration saved;
  };
  std::vector<Part> parts{{"compute", y.compute - x.compute},
                          {"exposed communication", y.exposed_comm - x.exposed_comm},
                          {"bubble", y.bubble - x.bubble},
                          {"optimizer", y.optimizer - x.optimizer},
                          {"waiting for the host", y.host_wait - x.host_wait},
                          {"other idle", y.other - x.other}};
  std::stable_sort(parts.begin(), parts.end(), [](const Part& p, const Part& q) { return p.saved > q.saved; });
  std::string out = format_duration(b.metrics.step_time - a.metrics.step_time) + " faster";
  std::string reasons;
  for (std::size_t i = 0; i < 2; ++i) {
    if (parts[i].saved <= Duration::zero()) break;
    if (!reasons.empty()) reasons.append(", ");
    reasons.append(format_duration(parts[i].saved)).append(" less ").append(parts[i].name);
  }
  if (!reasons.empty()) out.append(": ").append(reasons);
  if (a.choice.recompute != b.choice.recompute) {
    out.append("; recompute ")
        .append(detail::name_of(detail::kRecomputeChoices, a.choice.recompute))
        .append(" instead of ")
        .append(detail::name_of(detail::kRecomputeChoices, b.choice.recompute));
    if (a.choice.recompute < b.choice.recompute) out.append(" (fits without it)");
  }
  if (a.metrics.breakdown.bubble < y.bubble) {
    if (a.choice.plan.pp == 1) {
      out.append("; no pipeline, no bubble");
    } else if (a.choice.plan.schedule != b.choice.plan.schedule &&
               a.choice.plan.schedule == PipelineSchedule::kZeroBubbleH1) {
      out.append("; ZB-H1's deferred weight gradients fill the bubble");
    } else if (a.choice.plan.virtual_stages > b.choice.plan.virtual_stages) {
      out.append("; ").append(std::to_string(a.choice.plan.virtual_stages)).append(" virtual stages shrink the bubble");
    }
  }
  return out;
}

std::string render_plan_search(const Scenario& base, const PlanSearchResult& r) {
  const auto& spec = base.spec;
  std::string out = "Plan search: " + spec.model.name + ", seq " + std::to_string(spec.training.seq_len) +
                    " x global batch " + std::to_string(spec.training.global_batch) + ", on " +
                    std::to_string(spec.cluster.num_gpus()) + " x " + spec.cluster.node.gpu.name + " (" +
                    std::to_string(spec.cluster.num_nodes) + " x " + spec.cluster.node.name + ")\n";
  const PlanSearchStats& s = r.stats;
  out += "Plans        " + std::to_string(s.enumerated) + " enumerated: " + std::to_string(s.invalid) + " invalid, " +
         std::to_string(s.over_memory) + " over memory, " +
         std::to_string(s.more_recompute_than_needed) + " recompute more than they need to fit, " + std::to_string(s.pruned_by_bound) +
         " pruned by the step-time bound, " + std::to_string(s.simulated) + " simulated\n\n";
  std::vector<std::string> headers{"rank", "plan", "step time", "bound", "MFU", "memory/GPU", "compute", "exposed comm",
                                   "bubble"};
  std::vector<bool> right{true, false, true, true, true, true, true, true, true};
  const bool cost = !r.best.empty() && r.best.front().metrics.cost.has_value();
  if (cost) {
    headers.emplace_back("time to train");
    right.push_back(true);
    if (r.best.front().metrics.cost->cost) {
      headers.push_back("cost (" + r.best.front().metrics.currency + ")");
      right.push_back(true);
    }
  }
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < r.best.size(); ++i) {
    const RankedPlan& p = r.best[i];
    const PointMetrics& m = p.metrics;
    std::vector<std::string> row{std::to_string(i + 1), describe_plan(p.choice), seconds_text(m.step_time),
                                 seconds_text(p.lower_bound), detail::fixed(100.0 * m.mfu, 1) + " %",
                                 format_bytes(m.peak_memory), seconds_text(m.breakdown.compute),
                                 seconds_text(m.breakdown.exposed_comm), seconds_text(m.breakdown.bubble)};
    if (cost) {
      row.push_back(detail::format_long_time(m.cost->time_to_train_s));
      if (m.cost->cost) row.push_back(detail::si(*m.cost->cost));
    }
    rows.push_back(std::move(row));
  }
  out += detail::render_columns(headers, right, rows);
  if (r.best.size() > 1) {
    out += "\nWhy each is ahead of the next:\n";
    for (std::size_t i = 0; i + 1 < r.best.size(); ++i) {
      out += "  #" + std::to_string(i + 1) + " vs #" + std::to_string(i + 2) + ": " + why_ahead(r.best[i], r.best[i + 1]) +
             "\n";
    }
  }
  if (!r.best.empty()) out += "\nBest plan as scenario fields:\n" + plan_json(base, r.best.front().choice);
  return out;
}

std::string plan_json(const Scenario& base, const PlanChoice& c) {
  const ParallelPlan& p = c.plan;
  std::string out = "  \"training\": {\"seq_len\": " + std::to_string(base.spec.training.seq_len) +
                    ", \"global_batch\": " + std::to_string(base.spec.training.global_batch) +
                    ", \"micro_batch\": " + std::to_string(c.micro_batch) + ", \"recompute\": \"" +
                    std::string(detail::name_of(detail::kRecomputeChoices, c.recompute)) + "\"},\n";
  out += "  \"plan\": {\"tp\": " + std::to_string(p.tp) + ", \"pp\": " + std::to_string(p.pp) +
         ", \"dp\": " + std::to_string(p.dp) + ", \"virtual_stages\": " + std::to_string(p.virtual_stages) +
         ", \"schedule\": \"" + std::string(detail::name_of(detail::kScheduleChoices, p.schedule)) +
         "\", \"zero_stage\": " + std::to_string(p.zero_stage) + (p.ep > 1 ? ", \"ep\": " + std::to_string(p.ep) : "") +
         (p.ep_comm_overlap ? ", \"ep_comm_overlap\": true" : "") +
         (p.cp > 1 ? ", \"cp\": " + std::to_string(p.cp) + ", \"cp_comm\": \"" +
                         std::string(detail::name_of(detail::kContextCommChoices, p.cp_comm)) + "\""
                   : "") +
         ", \"sequence_parallel\": " + (p.sequence_parallel ? "true" : "false") +
         (p.order[1] == models::ParallelDim::kPipeline ? ", \"order\": [\"tensor\", \"pipeline\", \"data\"]" : "") + "}\n";
  return out;
}

}  // namespace dtsim::scenarios
