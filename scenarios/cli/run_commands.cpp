// dtsim run and dtsim validate: simulate one scenario, or check it.
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cli_common.hpp"
#include "dtsim/scenarios/report_json.hpp"
#include "dtsim/scenarios/report_text.hpp"
#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/scenarios/trace.hpp"
#include "dtsim/sim/simulation.hpp"

namespace dtsim::cli {

using namespace dtsim::scenarios;

namespace {

struct RunArgs {
  std::string scenario;
  bool json = false;
  bool full = false;
  std::optional<std::string> trace;
};

RunArgs parse_run_args(std::span<const std::string_view> args) {
  RunArgs r;
  static constexpr std::string_view kOptions[] = {"--json", "--trace", "--full"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--json") {
      r.json = true;
    } else if (a == "--full") {
      r.full = true;
    } else if (a == "--trace" || a.substr(0, 8) == "--trace=") {
      std::string_view file;
      if (a == "--trace") {
        if (i + 1 >= args.size()) throw UsageError("--trace needs a file name");
        file = args[++i];
      } else {
        file = a.substr(8);
      }
      if (file.empty()) throw UsageError("--trace needs a file name");
      r.trace = std::string(file);
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError(with_hint("option", a, kOptions, "run"));
    } else if (r.scenario.empty()) {
      r.scenario = std::string(a);
    } else {
      throw UsageError("unexpected argument '" + std::string(a) + "'; run takes one scenario file");
    }
  }
  if (r.scenario.empty()) throw UsageError("run needs a scenario file");
  return r;
}

}  // namespace

int command_run(std::span<const std::string_view> args) {
  const RunArgs a = parse_run_args(args);
  const Catalogs catalogs = builtin_catalogs();
  Scenario s = load(a.scenario, catalogs);
  if (a.full) s.spec.options.use_symmetry = false;
  // Open the trace file first: a bad path should not cost a simulation.
  std::ofstream trace_out;
  if (a.trace) {
    s.spec.options.record_timeline = true;
    trace_out.open(*a.trace, std::ios::binary | std::ios::trunc);
    if (!trace_out) throw InputError("", "cannot write trace file '" + *a.trace + "'");
  }
  sim::Report report;
  try {
    report = sim::simulate(s.spec);
  } catch (const InputError& e) {
    throw FileInputError(a.scenario, e);
  }
  if (a.trace) {
    write_trace(trace_out, s, report);
    trace_out.close();
    if (!trace_out) throw InputError("", "cannot write trace file '" + *a.trace + "'");
  }
  if (a.json) {
    std::cout << render_json_report(s, report);
  } else {
    std::cout << render_text_report(s, report);
    if (a.trace) {
      std::cout << "Trace        " << *a.trace << " (" << report.timeline.size()
                << " tasks; open it in ui.perfetto.dev)\n";
    }
  }
  return kExitOk;
}

int command_validate(std::span<const std::string_view> args) {
  if (args.empty()) throw UsageError("validate needs a scenario file");
  if (args.size() > 1) throw UsageError("unexpected argument '" + std::string(args[1]) + "'; validate takes one scenario file");
  if (args[0].size() > 1 && args[0][0] == '-') throw UsageError("unknown option '" + std::string(args[0]) + "' for 'validate'");
  const Catalogs catalogs = builtin_catalogs();
  const std::string file(args[0]);
  const Scenario s = load(file, catalogs);
  if (auto problems = check_network(s); !problems.empty()) throw FileInputError(file, InputError(std::move(problems)));
  std::cout << "OK: " << summary(s) << '\n';
  return kExitOk;
}

}  // namespace dtsim::cli
