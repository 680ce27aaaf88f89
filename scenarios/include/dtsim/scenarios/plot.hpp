// Self-contained SVG charts of sweep and plan results: no scripts, no fonts
// or styles from the network. Every plotted value is also in the file as
// data-* attributes and <title> tooltips, so tests and tools can read it back.
//
// Example:
//   std::ofstream("sweep.svg") << render_sweep_plot(result, Metric::kStepTime);
#pragma once

#include <string>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/scenarios/sweep.hpp"

namespace dtsim::scenarios {

// Step time against GPU count for every simulated point (points that do not
// fit drawn hollow) and, when the points carry a cost, the Pareto front of
// time to train against cost. Points of equal GPU count are spread by index
// when the sweep keeps one GPU count.
std::string render_sweep_plot(const SweepResult& result);

// One bar per pipeline stage, stacked by memory kind, against the GPU's capacity.
std::string render_memory_plot(const std::vector<models::MemoryBreakdown>& stages, Bytes capacity,
                               const std::string& title);

// The indices (into result.points) of the simulated points on the Pareto front
// of time to train (lower) against cost (lower), by ascending cost; empty
// without cost figures.
std::vector<std::size_t> pareto_front(const SweepResult& result);

}  // namespace dtsim::scenarios
