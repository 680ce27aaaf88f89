// Scenario files: one JSON document that names a model, a training shape, a
// parallelism plan, a cluster and a calibration, loaded into everything
// sim::simulate() needs. The format is documented field by field in
// docs/scenario-format.md (generated from parameters.hpp's tables).
//
// Reading is strict: every key is read explicitly, an unknown key is an error
// with a "did you mean" hint, quantities are strings with units ("400 Gb/s"),
// and an omitted key takes the default its parameter table states. Problems
// are collected, not stopped at: load_scenario() throws one InputError with
// every diagnostic (JSON pointer + message); validate_scenario() returns them.
//
// Example:
//   const Catalogs catalogs = builtin_catalogs();
//   Scenario s = load_scenario_file("scenarios/llama3-8b-8xh100-fsdp.json", catalogs);
//   sim::Report r = sim::simulate(s.spec);
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/hardware/presets.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/scenarios/cost.hpp"
#include "dtsim/sim/simulation.hpp"

namespace dtsim::scenarios {

// The schema_version this dtsim reads.
inline constexpr int kSchemaVersion = 1;

// The named models and hardware a scenario may refer to. An object the caller
// fills (no global registry): builtin_catalogs(), or a caller's own.
struct Catalogs {
  models::ModelLibrary models;
  hardware::HardwareCatalog hardware;
  // Where calibration names resolve: <dir>/<name>.json, first match wins.
  std::vector<std::filesystem::path> calibration_dirs;
};
// builtin_catalogs() also lists the fitted calibrations of the source tree
// (hardware/calibration/fitted) and of the installed share/dtsim/calibration.
Catalogs builtin_catalogs();

struct Scenario {
  std::string name;         // "name", or the file name without ".json"
  std::string description;  // free text from the file
  std::string file;         // the path it was loaded from; empty when loaded from text
  std::string model_base;   // the built-in model it names or bases on; empty for a custom model
  std::string node_base;    // the node preset it names or bases on
  sim::SimulationSpec spec;
  std::optional<CostSpec> cost;  // the "cost" section, when given
};

// Parses and checks a scenario. `origin` names the input in the scenario's
// default name (a file path; its stem becomes the name). Throws InputError
// listing every problem found.
Scenario load_scenario(std::string_view json_text, const Catalogs& catalogs, std::string_view origin = {});

// Reads a file (at most 64 MiB) and loads it. An unreadable file is an
// InputError whose path is empty and whose message names the file.
Scenario load_scenario_file(const std::filesystem::path& path, const Catalogs& catalogs);

// Problems that only building the cluster's network reveals (its
// consistency check; rules decidable from the counts, such as the fabric tier
// rule, are load_scenario's, via hardware::validate_cluster). O(GPUs + nodes):
// the simulation builds the same network, so load_scenario leaves this out.
std::vector<Diagnostic> check_network(const Scenario& scenario);

// Every problem with a scenario, network included; empty when it would run.
std::vector<Diagnostic> validate_scenario(std::string_view json_text, const Catalogs& catalogs);

// Reads a whole file as text; InputError("", "cannot read 'x': reason") on failure.
std::string read_text_file(const std::filesystem::path& path);

// One line: "llama3-70b on 8 x dgx-h100 (64 x h100-sxm), TP 8 x PP 2 x DP 4, ...".
std::string summary(const Scenario& scenario);

}  // namespace dtsim::scenarios
