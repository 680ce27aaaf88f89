// dtsim plan: the fastest parallelism plans that fit, for a scenario's model,
// training shape and cluster (its plan section is replaced by the search).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <span>
#include <string>
#include <string_view>

#include "cli_common.hpp"
#include <fstream>
#include <optional>

#include "dtsim/models/memory.hpp"
#include "dtsim/scenarios/plan_search.hpp"
#include "dtsim/scenarios/plot.hpp"

namespace dtsim::cli {

using namespace dtsim::scenarios;

int command_plan(std::span<const std::string_view> args) {
  std::string file;
  PlanSearchOptions options;
  std::optional<std::string> plot;
  static constexpr std::string_view kOptions[] = {"--top", "--threads", "--plot"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--plot") {
      if (i + 1 >= args.size() || args[i + 1].empty()) throw UsageError("--plot needs a file name");
      plot = std::string(args[++i]);
    } else if (a == "--top" || a == "--threads") {
      if (i + 1 >= args.size()) throw UsageError(std::string(a) + " needs a value");
      const std::string v(args[++i]);
      int n = 0;
      try {
        std::size_t used = 0;
        n = std::stoi(v, &used);
        if (used != v.size() || n < 1 || n > 4096) throw std::invalid_argument(v);
      } catch (const std::exception&) {
        throw UsageError(std::string(a) + " expects a count from 1 to 4096, got '" + v + "'");
      }
      if (a == "--top") {
        options.top = static_cast<std::size_t>(n);
      } else {
        options.threads = n;
      }
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError(with_hint("option", a, kOptions, "plan"));
    } else if (file.empty()) {
      file = std::string(a);
    } else {
      throw UsageError("unexpected argument '" + std::string(a) + "'; plan takes one scenario file");
    }
  }
  if (file.empty()) throw UsageError("plan needs a scenario file");
  const Catalogs catalogs = builtin_catalogs();
  Scenario base;
  try {
    base = load_plan_search_base_file(file, catalogs);
  } catch (const InputError& e) {
    throw FileInputError(file, e);
  }
  const auto start = std::chrono::steady_clock::now();
  PlanSearchResult result;
  try {
    result = search_plans(base, options);
  } catch (const InputError& e) {
    throw FileInputError(file, e);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << render_plan_search(base, result);
  if (plot && !result.best.empty()) {
    // The best plan's memory per stage against the GPU's capacity.
    const Scenario best = with_plan(base, result.best.front().choice);
    std::ofstream out(*plot, std::ios::binary | std::ios::trunc);
    out << render_memory_plot(models::estimate_memory(best.spec.model, best.spec.training, best.spec.plan),
                              best.spec.cluster.node.gpu.memory_capacity,
                              "Memory per GPU, " + describe_plan(result.best.front().choice));
    out.close();
    if (!out) throw InputError("", "cannot write '" + *plot + "'");
  }
  char line[64];
  std::snprintf(line, sizeof line, "%.2f s", wall);
  std::cout << "\nSearch took " << line << " of wall time.\n";
  return kExitOk;
}

}  // namespace dtsim::cli
