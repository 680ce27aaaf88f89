// The readable report `dtsim run` prints: what was simulated (scenario, model,
// cluster, plan, calibration), the step time, throughput and MFU, where the
// time goes, memory per pipeline stage against capacity, the longest stretches
// of the critical path, and how the simulation ran.
//
// Example:
//   std::cout << render_text_report(scenario, sim::simulate(scenario.spec));
#pragma once

#include <string>

#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/sim/report.hpp"

namespace dtsim::scenarios {

struct TextReportOptions {
  // Critical-path segments listed, longest first.
  int critical_path_segments = 10;
};

std::string render_text_report(const Scenario& scenario, const sim::Report& report,
                               const TextReportOptions& options = {});

}  // namespace dtsim::scenarios
