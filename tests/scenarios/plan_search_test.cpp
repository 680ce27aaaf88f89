// Plan search: the enumeration covers the space, the bound never exceeds the
// simulated step time, and branch and bound returns exactly what simulating
// every plan would.
#include <algorithm>

#include <catch2/catch.hpp>

#include "dtsim/scenarios/plan_search.hpp"
#include "dtsim/sim/simulation.hpp"
#include "scenario_test_util.hpp"

namespace dtsim::scenarios {
namespace {

// GPT-3 125M (12 layers, 12 heads) on one DGX H100, global batch 8: small
// enough to simulate every plan.
Scenario small_base() {
  return load_plan_search_base(R"({
    "schema_version": 1,
    "model": "gpt3-125m",
    "training": {"seq_len": 512, "global_batch": 8},
    "plan": {},
    "cluster": {"node": "dgx-h100", "num_nodes": 1}
  })",
                               testing::catalogs());
}

// A small MoE model (8 experts, top-2, the first layer dense) on one DGX
// H100: the search also picks the expert-parallel size.
Scenario small_moe_base() {
  return load_plan_search_base(R"({
    "schema_version": 1,
    "model": {"name": "tiny-moe", "num_layers": 4, "hidden": 256, "num_heads": 8, "num_kv_heads": 4,
              "ffn_hidden": 1024, "vocab_size": 4096, "max_seq_len": 512, "mlp": "swiglu", "norm": "rmsnorm",
              "position": "rotary", "num_experts": 8, "top_k": 2, "expert_ffn_hidden": 512,
              "first_dense_layers": 1},
    "training": {"seq_len": 512, "global_batch": 8},
    "plan": {},
    "cluster": {"node": "dgx-h100", "num_nodes": 1}
  })",
                               testing::catalogs());
}

// A small Llama at 8K tokens: long enough that the search also tries
// context parallelism.
Scenario small_long_base() {
  return load_plan_search_base(R"({
    "schema_version": 1,
    "model": {"name": "tiny-long", "num_layers": 4, "hidden": 256, "num_heads": 8, "num_kv_heads": 4,
              "ffn_hidden": 1024, "vocab_size": 4096, "max_seq_len": 8192, "mlp": "swiglu", "norm": "rmsnorm",
              "position": "rotary"},
    "training": {"seq_len": 8192, "global_batch": 8},
    "plan": {},
    "cluster": {"node": "dgx-h100", "num_nodes": 1}
  })",
                               testing::catalogs());
}

}  // namespace

TEST_CASE("plan search finds what simulating every plan finds", "[scenarios][plan]") {
  const int which = GENERATE(0, 1, 2);
  const bool moe = which == 1;
  INFO((which == 0 ? "dense model" : which == 1 ? "MoE model" : "dense model at 8K tokens"));
  const Scenario base = which == 0 ? small_base() : which == 1 ? small_moe_base() : small_long_base();
  PlanSearchStats stats;
  const std::vector<PlanChoice> plans = enumerate_plans(base, stats);
  // tp in {1, 2, 4} (8 does not divide 12 heads), pp in {1, 2, 4} with tp x pp | 8.
  int expert_parallel = 0;
  int context_parallel = 0;
  int all_gather_cp = 0;
  int zero_bubble = 0;
  int overlapped = 0;
  for (const PlanChoice& c : plans) {
    if (c.plan.ep_comm_overlap) {
      ++overlapped;
      CHECK(c.plan.ep > 1);
    }
    CHECK(c.plan.world_size() == 8);
    CHECK(c.plan.tp != 8);
    if (c.plan.ep > 1) ++expert_parallel;
    if (c.plan.cp > 1) ++context_parallel;
    if (c.plan.cp > 1 && c.plan.cp_comm == models::ContextComm::kAllGather) ++all_gather_cp;
    if (c.plan.schedule == models::PipelineSchedule::kZeroBubbleH1) {
      ++zero_bubble;
      CHECK(c.plan.zero_stage < 3);  // ZB-H1 splits the backward, which ZeRO-3 cannot
    }
  }
  CHECK((expert_parallel > 0) == moe);
  CHECK((overlapped > 0) == moe);  // MoE plans with overlapped all-to-alls, bounded like the rest
  CHECK((context_parallel > 0) == (which == 2));
  CHECK((all_gather_cp > 0) == (which == 2));
  CHECK(zero_bubble > 0);
  CHECK(stats.enumerated == stats.invalid + static_cast<std::int64_t>(plans.size()));

  struct Simulated {
    Duration time;
    std::size_t order;
  };
  std::vector<Simulated> all;
  std::vector<Duration> times(plans.size());
  std::vector<bool> fits(plans.size());
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const Scenario s = with_plan(base, plans[i]);
    const sim::Report r = sim::simulate(s.spec);
    INFO(describe_plan(plans[i]));
    INFO("bound " << step_time_lower_bound(s).seconds() << " s, simulated " << r.step_time.seconds() << " s");
    CHECK(step_time_lower_bound(s) <= r.step_time);  // the bound holds for every plan
    times[i] = r.step_time;
    fits[i] = r.fits;
  }
  // The search drops a plan when the same plan with less recomputation fits,
  // because recomputation never makes a step faster: check that here, then
  // leave those plans out of the reference ranking too.
  const auto same_but_recompute = [&](std::size_t i, std::size_t j) {
    PlanChoice a = plans[i];
    a.recompute = plans[j].recompute;
    return describe_plan(a) == describe_plan(plans[j]);
  };
  int pairs = 0;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < plans.size(); ++j) {
      if (plans[j].recompute >= plans[i].recompute || !same_but_recompute(i, j)) continue;
      ++pairs;
      INFO(describe_plan(plans[i]) << " vs " << describe_plan(plans[j]));
      CHECK(times[i] >= times[j]);
      dominated = dominated || fits[j];
    }
    if (fits[i] && !dominated) all.push_back({times[i], i});
  }
  CHECK(pairs > 0);
  std::sort(all.begin(), all.end(), [](const Simulated& a, const Simulated& b) {
    return a.time != b.time ? a.time < b.time : a.order < b.order;
  });
  REQUIRE(all.size() >= 3);

  for (const int threads : {1, 2}) {
    PlanSearchOptions options;
    options.threads = threads;
    options.top = 3;
    const PlanSearchResult r = search_plans(base, options);
    REQUIRE(r.best.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) {
      CHECK(r.best[k].metrics.step_time == all[k].time);
      CHECK(describe_plan(r.best[k].choice) == describe_plan(plans[all[k].order]));
    }
    CHECK(r.stats.bound_violations == 0);
    CHECK(r.stats.simulated + r.stats.pruned_by_bound + r.stats.over_memory + r.stats.more_recompute_than_needed +
              r.stats.invalid ==
          r.stats.enumerated);
    CHECK(r.stats.simulated < static_cast<std::int64_t>(plans.size()));  // the bound prunes
  }
}

TEST_CASE("plan search explains the order", "[scenarios][plan]") {
  RankedPlan a, b;
  a.metrics.step_time = seconds_to_duration(1.0);
  b.metrics.step_time = seconds_to_duration(1.5);
  a.metrics.breakdown.bubble = seconds_to_duration(0.1);
  b.metrics.breakdown.bubble = seconds_to_duration(0.5);
  a.metrics.breakdown.exposed_comm = seconds_to_duration(0.2);
  b.metrics.breakdown.exposed_comm = seconds_to_duration(0.3);
  a.choice.plan.pp = b.choice.plan.pp = 4;
  b.choice.recompute = models::Recompute::kFull;
  CHECK(why_ahead(a, b) ==
        "500.000 ms faster: 400.000 ms less bubble, 100.000 ms less exposed communication; recompute none instead of "
        "full "
        "(fits without it)");
  b.choice.recompute = models::Recompute::kNone;
  const std::string reasons = "500.000 ms faster: 400.000 ms less bubble, 100.000 ms less exposed communication; ";
  a.choice.plan.virtual_stages = 2;
  CHECK(why_ahead(a, b) == reasons + "2 virtual stages shrink the bubble");
  a.choice.plan.virtual_stages = 1;
  a.choice.plan.schedule = models::PipelineSchedule::kZeroBubbleH1;
  CHECK(why_ahead(a, b) == reasons + "ZB-H1's deferred weight gradients fill the bubble");
  a.choice.plan.pp = 1;
  CHECK(why_ahead(a, b) == reasons + "no pipeline, no bubble");
}

}  // namespace dtsim::scenarios
