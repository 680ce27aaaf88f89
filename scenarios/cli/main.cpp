// The dtsim command line. Everything it does is a library call; the commands
// parse arguments and print, each in its own file, and this file is the one
// place that maps errors to exit codes: 0 success, 2 bad input or usage,
// 3 internal error (dtsim check returns 4 when a check fails).
#include <exception>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli_common.hpp"
#include "dtsim/core/error.hpp"
#include "dtsim/scenarios/version.hpp"
#include "sweep_mpi.hpp"

namespace {

using namespace dtsim;
using namespace dtsim::cli;
using dtsim::scenarios::version;

constexpr std::string_view kUsage =
    "Usage:\n"
    "  dtsim run SCENARIO.json [--json] [--trace FILE] [--full]\n"
    "      Simulate one training step and print the report. --json: one JSON\n"
    "      object instead (docs/report-format.md); --trace FILE: also write a\n"
    "      Chrome trace-event timeline for ui.perfetto.dev; --full: simulate every\n"
    "      rank instead of one per pipeline stage.\n"
    "  dtsim validate SCENARIO.json\n"
    "      Check a scenario without simulating: \"OK: <summary>\" or every problem.\n"
    "  dtsim list models|gpus|nodes\n"
    "      The built-in models and hardware presets a scenario can name.\n"
    "  dtsim describe [SECTION] [--markdown]\n"
    "      Every scenario field: type and unit, default, meaning\n"
    "      (docs/scenario-format.md).\n"
    "  dtsim calibrate PROFILE.json... --name NAME --output FILE [--node NODE] [--gpus N] [--check PROFILE]...\n"
    "      Fit the cost model to microbenchmark profiles measured with\n"
    "      hardware/calibration/bench/run_all.py and bench_framework.py (its runs\n"
    "      wrapped by framework_doc.py); print the fit residuals and write\n"
    "      a calibration file that scenarios name (docs/calibration.md); --gpus N\n"
    "      keeps only measurements of groups of at most N GPUs; --check: also the\n"
    "      errors on another profile's collectives, which the fit does not use.\n"
    "  dtsim compare RUNS.json [--calibration NAME|FILE] [--node NODE] [--markdown] [--show RUN]\n"
    "                [--host-from-probe]\n"
    "      Predict every real training run of a file written by\n"
    "      hardware/calibration/training/run_training.py and print measured vs\n"
    "      predicted step time and peak memory, with the mean absolute error.\n"
    "      --show RUN: the full prediction report of that one run instead.\n"
    "      --host-from-probe: scale each run's host times by its recorded host\n"
    "      probe over the calibration's (runs measured on a faster or slower host).\n"
    "  dtsim sweep SCENARIO.json [--threads N] [--shard I/N] [--rank-by METRIC] [--top N]\n"
    "              [--csv FILE] [--json FILE] [--plot FILE.svg] [--quiet]\n"
    "      Simulate every point of the scenario's sweep in parallel and print them\n"
    "      ranked (METRIC: step_time, throughput, mfu, memory, time_to_train,\n"
    "      gpu_hours, energy, cost); invalid points are skipped with the reason.\n"
    "      --shard I/N: only the I-th of N even shares of the points (docs/sweeps.md);\n"
    "      --plot: an SVG of step time against GPUs and the Pareto front of time\n"
    "      against cost.\n"
    "  dtsim merge SHARD.json... [--rank-by METRIC] [--top N] [--csv FILE] [--json FILE]\n"
    "              [--plot FILE.svg]\n"
    "      Combine the --json outputs of every shard into the unsharded result.\n"
  "  dtsim plan SCENARIO.json [--top N] [--threads N] [--plot FILE.svg]\n"
    "      Search every parallelism plan for the scenario's model, batch and cluster;\n"
    "      print the fastest that fit in memory and why each is ahead. --plot: the\n"
    "      best plan's memory per stage against the GPU's capacity (SVG).\n"
  "  dtsim check SCENARIO.json... --baseline BASELINE.json [--junit FILE]\n"
    "              [--update-baseline] [--threads N]\n"
    "      Re-run the scenarios (every sweep point) and compare step time, throughput,\n"
    "      MFU and memory with the baseline's, within its tolerances; exit 4 when any\n"
    "      regresses. --junit: a JUnit XML report; --update-baseline: rewrite it.\n"
  "  dtsim --help | --version\n"
    "\n"
    "Exit status: 0 success, 2 bad input or usage, 3 internal error, 4 a check failed.\n";

// The usage lines of one command: from its "  dtsim COMMAND" line up to the
// next command's (empty when kUsage has none).
std::string_view usage_of(std::string_view command) {
  const std::string head = "  dtsim " + std::string(command) + ' ';
  const std::size_t begin = kUsage.find(head);
  if (begin == std::string_view::npos) return {};
  const std::size_t end = kUsage.find("\n  dtsim ", begin + 1);
  return kUsage.substr(begin, end == std::string_view::npos ? std::string_view::npos : end + 1 - begin);
}

int dispatch(std::span<const std::string_view> args) {
  static constexpr std::string_view kCommands[] = {"run", "validate", "list", "describe", "calibrate", "compare", "sweep", "merge", "plan", "check", "help"};
  if (args.empty()) throw UsageError("no command given");
  const std::string_view command = args[0];
  const auto rest = args.subspan(1);
  // Under mpirun every rank gets here: refuse, once (rank 0), anything but an MPI sweep.
  const MpiLaunch launch = mpi_launch_from_env();
  if (const std::string why = mpi_refusal(launch, command); !why.empty()) {
    if (launch.rank == 0) std::cerr << "dtsim: " << why << '\n';
    return kExitInput;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << "dtsim " << version() << ": distributed-training performance simulator\n\n" << kUsage
              << (built_with_mpi() ? "\nThis dtsim was built with MPI: mpirun -n N dtsim sweep splits the points.\n"
                                   : "\nThis dtsim was built without MPI (DTSIM_WITH_MPI): it refuses to run under\n"
                                     "mpirun with more than one process.\n");
    return kExitOk;
  }
  if (command == "--version") {
    std::cout << "dtsim " << version() << '\n';
    return kExitOk;
  }
  // COMMAND --help: that command's usage.
  for (const std::string_view a : rest) {
    if (a != "--help" && a != "-h") continue;
    if (const std::string_view u = usage_of(command); !u.empty()) {
      std::cout << "Usage:\n" << u << "See 'dtsim --help' for every command.\n";
      return kExitOk;
    }
  }
  if (command == "run") return command_run(rest);
  if (command == "validate") return command_validate(rest);
  if (command == "list") return command_list(rest);
  if (command == "describe") return command_describe(rest);
  if (command == "calibrate") return command_calibrate(rest);
  if (command == "compare") return command_compare(rest);
  if (command == "sweep") return command_sweep(rest);
  if (command == "merge") return command_merge(rest);
  if (command == "plan") return command_plan(rest);
  if (command == "check") return command_check(rest);
  if (command.size() > 1 && command[0] == '-') throw UsageError("unknown option '" + std::string(command) + "'");
  throw UsageError(with_hint("command", command, kCommands));
}

void print_diagnostics(std::string_view file, const std::vector<Diagnostic>& diagnostics) {
  for (const Diagnostic& d : diagnostics) {
    std::cerr << file << ": ";
    if (!d.path.empty()) std::cerr << d.path << ": ";
    std::cerr << d.message << '\n';
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    return dispatch(args);
  } catch (const UsageError& e) {
    std::cerr << "dtsim: " << e.what() << "\nTry 'dtsim --help'.\n";
    return kExitInput;
  } catch (const FileInputError& e) {
    print_diagnostics(e.file(), e.diagnostics());
    return kExitInput;
  } catch (const InputError& e) {
    print_diagnostics("dtsim", e.diagnostics());
    return kExitInput;
  } catch (const InternalError& e) {
    std::cerr << "dtsim: " << e.what() << "\nThis is a bug in dtsim; please report it with the scenario.\n";
    return kExitInternal;
  } catch (const std::exception& e) {
    std::cerr << "dtsim: internal error: " << e.what() << '\n';
    return kExitInternal;
  } catch (...) {
    std::cerr << "dtsim: internal error: unknown exception\n";
    return kExitInternal;
  }
}
