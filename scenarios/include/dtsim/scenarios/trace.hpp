// A Chrome trace-event timeline of one simulated step, for ui.perfetto.dev or
// chrome://tracing: {"traceEvents": [...]} with one "X" (complete) event per
// task, ts and dur in microseconds (exact to the picosecond), pid = simulated
// rank (named by "M" process_name metadata: "stage 3 (8 ranks: 24-31)" in a
// symmetric run, "rank 5 (stage 0, tp 5, dp 0)" in a full one), tid = stream
// (thread_name: compute, tp comm, dp comm, pp send fwd, ...), name = the
// task's label, args = {phase, microbatch, layer, stage}.
//
// The report must carry a timeline: simulate with
// SimulationOptions::record_timeline = true (InternalError otherwise).
//
// Example:
//   scenario.spec.options.record_timeline = true;
//   std::ofstream out("step.json");
//   write_trace(out, scenario, sim::simulate(scenario.spec));
#pragma once

#include <ostream>
#include <string>

#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/sim/report.hpp"

namespace dtsim::scenarios {

void write_trace(std::ostream& out, const Scenario& scenario, const sim::Report& report);
std::string render_trace(const Scenario& scenario, const sim::Report& report);

}  // namespace dtsim::scenarios
