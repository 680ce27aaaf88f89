// Plan search: the fastest parallelism plans for a model, a training shape
// (sequence length, global batch) and a cluster.
//
// Every plan is enumerated: TP sizes that divide the GPUs of a node (TP stays
// inside the NVLink domain) and the heads; PP sizes that divide the layers
// (even splits); DP = GPUs / (TP x PP) dividing the global batch; every
// micro-batch size dividing the per-replica batch; GPipe, 1F1B and
// interleaved 1F1B with every virtual-stage count that splits the layers;
// recompute none / selective / full; ZeRO 0-3; sequence parallelism on and
// off where TP > 1. Each plan is checked (models::validate_plan), then pruned
// in two cheap steps before any simulation:
//   1. memory: models::estimate_memory per stage against the GPU's capacity;
//   2. a lower bound on the step time, from the calibrated cost of one
//      decoder layer's kernels (OpCostModel) and of its TP collectives at the
//      NVLink bandwidth bound:
//        (m + (pp - 1) / v) x layers_per_stage x layer_time + optimizer
//      (m micro-batches, v virtual stages: the pipeline fill and drain that
//      the first stage waits through), and under ZeRO-3 the data-parallel
//      stream's gathers and reduce-scatters of every micro-batch; exposed
//      DP traffic and pipeline transfers left out, so it never exceeds the
//      simulated time.
// A plan that fits is also dropped when the same plan with less recomputation
// fits: recomputation only adds kernels, so it cannot be faster (the test
// checks this on a space small enough to simulate whole).
// Survivors are simulated in order of their bound, a fixed batch at a time
// (so that the result does not depend on the thread count), until the next
// bound is no better than the top-th best simulated time: branch and bound,
// exact as long as the bound holds (tests check it against the simulation).
//
// For MoE models, expert parallelism too: every ep dividing the experts
// that folds into the stage's tp x dp ranks (expert-TP = tp); for sequences
// of 8K tokens and more, every ring context-parallel size leaving chunks of
// 1K tokens or more. Placements: TP innermost, then data or pipeline.
//
// Example:
//   Scenario base = load_plan_search_base_file("scenarios/gpt3-175b-1024xa100-tp8pp8dp16.json", catalogs);
//   PlanSearchResult r = search_plans(base);       // PlanSearchOptions: threads, top, progress
//   std::cout << render_plan_search(base, r);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/training_spec.hpp"
#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/scenarios/sweep.hpp"

namespace dtsim::scenarios {

// One point of the search space: the plan and the training choices it makes.
struct PlanChoice {
  models::ParallelPlan plan;
  std::int64_t micro_batch = 1;
  models::Recompute recompute = models::Recompute::kNone;
};

struct RankedPlan {
  PlanChoice choice;
  Duration lower_bound;
  PointMetrics metrics;  // from the simulation
};

struct PlanSearchStats {
  std::int64_t enumerated = 0;      // plans generated
  std::int64_t invalid = 0;         // rejected by validate_plan or the simulator's size limits
  std::int64_t over_memory = 0;     // estimated peak memory above the GPU's capacity
  // Fits, but so does the same plan with less recomputation, which is never slower.
  std::int64_t more_recompute_than_needed = 0;
  std::int64_t pruned_by_bound = 0; // lower bound no better than the top-th simulated time
  std::int64_t simulated = 0;
  std::int64_t bound_violations = 0;  // simulated faster than its bound (a bug if ever > 0)
};

struct PlanSearchResult {
  std::vector<RankedPlan> best;  // fastest first; at most `top`
  PlanSearchStats stats;
};

struct PlanSearchOptions {
  int threads = 0;      // 0: TBB's default
  std::size_t top = 3;  // plans to return
  // Called after each simulated batch: plans simulated so far, and how many remain above the bound.
  std::function<void(std::int64_t simulated, std::int64_t candidates_left)> on_progress;
};

// Loads a scenario for plan search: everything is read and checked as usual
// except that the plan need not fit the cluster (its tp, pp, dp, schedule,
// ZeRO stage, micro-batch and recompute are what the search chooses; its other
// settings, such as dp_bucket_size, are kept; ep_comm_overlap is searched
// too, both ways for MoE models). Throws InputError.
Scenario load_plan_search_base(std::string_view json_text, const Catalogs& catalogs, std::string_view origin = {});
Scenario load_plan_search_base_file(const std::filesystem::path& path, const Catalogs& catalogs);

// Every valid plan of the search space, in enumeration order (for tests and
// for callers with their own search).
std::vector<PlanChoice> enumerate_plans(const Scenario& base, PlanSearchStats& stats);

// The scenario `base` with `choice` applied.
Scenario with_plan(const Scenario& base, const PlanChoice& choice);

// The step-time lower bound described above.
Duration step_time_lower_bound(const Scenario& scenario);

// Runs the search. Throws InputError when no plan is valid and fits.
PlanSearchResult search_plans(const Scenario& base, const PlanSearchOptions& options = {});

// "TP 8 x PP 8 x DP 16, interleaved-1f1b v2, micro-batch 1, recompute full, ZeRO-1, SP".
std::string describe_plan(const PlanChoice& choice);

// Why plan a is ahead of plan b: the breakdown parts where it saves most
// ("0.84 s less bubble, 0.31 s less exposed communication"), and memory or
// recompute differences that explain them.
std::string why_ahead(const RankedPlan& a, const RankedPlan& b);

// The ranked plans with their metrics, the reasons, and the search statistics.
std::string render_plan_search(const Scenario& base, const PlanSearchResult& result);

// The "plan" and "training" members for a scenario file running `choice`.
std::string plan_json(const Scenario& base, const PlanChoice& choice);

}  // namespace dtsim::scenarios
