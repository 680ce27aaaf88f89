// Embedding dtsim's sweep, plan search and check in a capacity planner.
//
// A planner has its own inputs (here: a model, a batch, candidate node
// counts) and its own way to show progress and collect results. It builds a
// sweep in memory, runs it with callbacks (progress and each finished point,
// never two calls at once), ranks the points by cost, asks the plan search for
// the best plan of the cheapest cluster, and checks the run against a
// baseline kept from a previous run. Everything is a library call: no files,
// no dtsim process.
//
// Run: build/examples/capacity_planner
#include <cstdio>
#include <string>

#include "dtsim/scenarios/check.hpp"
#include "dtsim/scenarios/plan_search.hpp"
#include "dtsim/scenarios/sweep.hpp"

using namespace dtsim::scenarios;

int main() {
  // GPT-3 1.3B on 1 to 4 DGX H100 nodes, plain data parallel (dp filled from
  // the GPU count), priced at 3 USD per GPU-hour for 26 B tokens.
  const std::string scenario = R"({
    "schema_version": 1,
    "name": "planner",
    "model": "gpt3-1.3b",
    "training": {"seq_len": 2048, "global_batch": 256, "micro_batch": 4, "precision": "megatron_bf16"},
    "plan": {"tp": 1, "pp": 1, "dp": 8},
    "cluster": {"node": "dgx-h100", "num_nodes": 1},
    "cost": {"tokens": 26000000000, "gpu_hour_price": 3.0},
    "sweep": {"fill_dp": true, "axes": [{"path": "/cluster/num_nodes", "values": [1, 2, 4]},
                                        {"path": "/plan/tp", "values": [1, 2]}]}
  })";
  const Catalogs catalogs = builtin_catalogs();
  const SweepDefinition sweep = read_sweep(scenario, "planner");

  SweepOptions options;
  options.threads = 2;
  options.on_progress = [](std::int64_t done, std::int64_t total) {
    std::printf("  progress %lld/%lld\n", static_cast<long long>(done), static_cast<long long>(total));
  };
  int finished = 0;
  options.on_point = [&finished](const PointResult& p) { finished += p.skipped ? 0 : 1; };
  const SweepResult result = run_sweep(sweep, catalogs, options);
  std::printf("%d points simulated\n\n", finished);

  // The planner's own report: the three cheapest clusters.
  const auto ranked = rank_points(result, Metric::kCost);
  for (std::size_t r = 0; r < ranked.size() && r < 3; ++r) {
    const PointMetrics& m = result.points[ranked[r]].metrics;
    std::printf("#%zu  %d GPUs (TP %d x DP %d): %.1f h to train, %.0f %s\n", r + 1, m.num_gpus, m.tp, m.dp,
                m.cost->time_to_train_s / 3600.0, *m.cost->cost, m.currency.c_str());
  }
  if (ranked.empty()) return 1;

  // The best plan for the cheapest cluster, searched over every plan.
  const PointResult& cheapest = result.points[ranked.front()];
  Scenario base = load_sweep_point(sweep, cheapest.index, catalogs);
  PlanSearchOptions search;
  search.top = 2;
  const PlanSearchResult plans = search_plans(base, search);
  std::printf("\nBest plan on %d GPUs: %s, %.1f ms per step (%lld plans simulated of %lld)\n", cheapest.metrics.num_gpus,
              describe_plan(plans.best.front().choice).c_str(), plans.best.front().metrics.step_time.seconds() * 1e3,
              static_cast<long long>(plans.stats.simulated), static_cast<long long>(plans.stats.enumerated));
  if (plans.best.size() > 1) std::printf("Ahead of the next: %s\n", why_ahead(plans.best[0], plans.best[1]).c_str());

  // A regression check against the baseline of a previous run (here: this run).
  Baseline baseline;
  baseline.entries = baseline_entries("planner", result);
  const CheckReport check = compare_to_baseline(baseline, baseline_entries("planner", result), {"planner"});
  std::printf("\nCheck against the stored baseline: %s\n", check.passed() ? "passed" : "FAILED");
  return check.passed() ? 0 : 1;
}
