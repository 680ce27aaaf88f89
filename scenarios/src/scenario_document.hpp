// Loading a scenario from an already parsed document (private to scenarios/):
// sweeps substitute values into one parsed document per point and load each
// without printing and re-parsing it.
#pragma once

#include <string_view>

#include "dtsim/scenarios/scenario.hpp"
#include "json_reader.hpp"

namespace dtsim::scenarios::detail {

struct LoadOptions {
  // Set plan.dp to the cluster's GPUs / (the plan's other parallel sizes)
  // instead of reading it (a sweep's fill_dp).
  bool fill_dp = false;
  // Read the plan section but leave out the checks that tie it to the cluster
  // and model (world size, validate_plan): plan search replaces the plan.
  bool plan_free = false;
};

// load_scenario() on a parsed document. Throws InputError with every problem.
Scenario load_scenario_document(const Json& doc, const Catalogs& catalogs, std::string_view origin,
                                const LoadOptions& options = {});

// The structural problems of a "sweep" section at /sweep (sweep_spec.cpp):
// keys, mode, axes and their paths, values and ranges.
void check_sweep_section(const Json& sweep, Diagnostics& out);

}  // namespace dtsim::scenarios::detail
