// The machine-readable report (`dtsim run --json`): one JSON object, every
// field documented in docs/report-format.md. Deterministic: keys in a fixed
// order, doubles as "%.9g", byte counts and counters as integers, so the same
// scenario and report always give the same bytes.
//
// Example:
//   std::string json = render_json_report(scenario, sim::simulate(scenario.spec));
//   // {"report_version": 1, "scenario": {...}, "step_time_s": 1.234, ...}
#pragma once

#include <string>

#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/sim/report.hpp"

namespace dtsim::scenarios {

// Version of the report's layout; bumped when a field changes meaning or goes.
inline constexpr int kReportVersion = 1;

std::string render_json_report(const Scenario& scenario, const sim::Report& report);

}  // namespace dtsim::scenarios
