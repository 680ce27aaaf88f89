// Sweep and plan-search speed: points simulated per second on a 1,024-GPU
// sweep with 1 and 2 threads (alternating runs, medians), the speed-up, and
// the wall time of one plan search. Prints a table; never run by ctest.
//
// Run: build/tests/benchmarks/dtsim_sweep_bench [SWEEP.json] [--runs N] [--plan SCENARIO.json]
//   defaults: scenarios/sweeps/gpt3-175b-1024xa100-plans.json, 3 runs, no plan search.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "dtsim/scenarios/plan_search.hpp"
#include "dtsim/scenarios/sweep.hpp"

using namespace dtsim::scenarios;

namespace {

int run(int argc, char** argv) {
  std::string sweep_file = std::string(DTSIM_SOURCE_DIR) + "/scenarios/sweeps/gpt3-175b-1024xa100-plans.json";
  std::string plan_file;
  int runs = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--plan") == 0 && i + 1 < argc) {
      plan_file = argv[++i];
    } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (argv[i][0] == '-') {
      std::fprintf(stderr, "usage: dtsim_sweep_bench [--runs N] [--plan SCENARIO.json] [SWEEP.json]\n");
      return 2;
    } else {
      sweep_file = argv[i];
    }
  }
  const Catalogs catalogs = builtin_catalogs();
  const SweepDefinition sweep = read_sweep_file(sweep_file);
  std::vector<double> rate1, rate2;
  std::string first_json;
  for (int r = 0; r < runs; ++r) {
    for (const int threads : {1, 2}) {
      SweepOptions options;
      options.threads = threads;
      const double start = dtsim::bench::now_seconds();
      const SweepResult result = run_sweep(sweep, catalogs, options);
      const double wall = dtsim::bench::now_seconds() - start;
      (threads == 1 ? rate1 : rate2).push_back(static_cast<double>(result.points.size()) / wall);
      // Same bytes whatever the thread count (the determinism the tests check, here at scale).
      const std::string json = render_sweep_json(result);
      if (first_json.empty()) first_json = json;
      if (json != first_json) {
        std::fprintf(stderr, "sweep output differs between runs\n");
        return 1;
      }
    }
  }
  std::printf("sweep %s: %lld points, %d runs each\n", sweep.name.c_str(), static_cast<long long>(sweep.num_points()), runs);
  std::printf("| threads | points/s (median) |\n|---|---|\n");
  std::printf("| 1 | %.2f |\n| 2 | %.2f |\n", dtsim::bench::median(rate1), dtsim::bench::median(rate2));
  std::printf("speed-up with 2 threads: %.2fx\n", dtsim::bench::median(rate2) / dtsim::bench::median(rate1));
  if (!plan_file.empty()) {
    const Scenario base = load_plan_search_base_file(plan_file, catalogs);
    PlanSearchOptions options;
    options.threads = 2;
    options.top = 1;
    const double start = dtsim::bench::now_seconds();
    const PlanSearchResult r = search_plans(base, options);
    const double wall = dtsim::bench::now_seconds() - start;
    const PlanSearchStats& s = r.stats;
    std::printf("plan search %s: %.1f s wall (2 threads); %lld enumerated, %lld invalid, %lld over memory, "
                "%lld with more recompute than needed, %lld pruned by bound, %lld simulated; best: %s, %.3f s\n",
                base.name.c_str(), wall, static_cast<long long>(s.enumerated), static_cast<long long>(s.invalid),
                static_cast<long long>(s.over_memory), static_cast<long long>(s.more_recompute_than_needed),
                static_cast<long long>(s.pruned_by_bound),
                static_cast<long long>(s.simulated), describe_plan(r.best.front().choice).c_str(),
                r.best.front().metrics.step_time.seconds());
  }
  std::printf("peak RSS: %.0f MiB\n", dtsim::bench::peak_rss_mib());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dtsim_sweep_bench: %s\n", e.what());
    return 2;
  }
}
