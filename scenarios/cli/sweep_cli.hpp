// The pieces of `dtsim sweep` that the single-process command
// (sweep_commands.cpp) and the MPI one (sweep_mpi.cpp) share, so that both
// parse the same options and print the same bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dtsim/scenarios/sweep.hpp"

namespace dtsim::cli {

// The output options of sweep and merge.
struct OutputArgs {
  scenarios::Metric rank_by = scenarios::Metric::kStepTime;
  std::size_t top = 20;
  std::optional<std::string> csv, json, plot;
};

struct SweepArgs {
  std::string file;
  OutputArgs out;
  int threads = 0;  // 0: the default (every core the process may use)
  std::optional<scenarios::Shard> shard;
  bool quiet = false;
};

// Parses `dtsim sweep`'s arguments; throws UsageError.
SweepArgs parse_sweep_args(std::span<const std::string_view> args);

// Reads the sweep file and checks that --rank-by's metric can exist; throws
// FileInputError / InputError.
scenarios::SweepDefinition read_sweep_for(const SweepArgs& args);

// Runs the sweep (or `options.shard`), drawing a progress bar on stderr when it
// is a terminal and --quiet is not given.
scenarios::SweepResult run_sweep_with_progress(const scenarios::SweepDefinition& sweep, const SweepArgs& args,
                                               scenarios::SweepOptions options);

// Writes the requested files and prints the table; the exit status (2 when no
// point of a whole sweep could be simulated).
int report(const scenarios::SweepResult& result, const OutputArgs& out);

}  // namespace dtsim::cli
