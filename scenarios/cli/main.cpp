// The dtsim command line. Everything it does is a library call; this file
// parses arguments, prints, and is the one place that maps errors to exit
// codes: 0 success, 2 bad input or usage, 3 internal error.
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/core/unit_parse.hpp"
#include "dtsim/scenarios/did_you_mean.hpp"
#include "dtsim/scenarios/parameters.hpp"
#include "dtsim/scenarios/report_json.hpp"
#include "dtsim/scenarios/report_text.hpp"
#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/scenarios/trace.hpp"
#include "dtsim/scenarios/version.hpp"
#include "dtsim/sim/simulation.hpp"

namespace {

using namespace dtsim;
using namespace dtsim::scenarios;

constexpr int kExitOk = 0;
constexpr int kExitInput = 2;
constexpr int kExitInternal = 3;

// Wrong arguments: exit 2 with a pointer to --help.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An input problem in a named file: diagnostics are printed after the file name.
class FileInputError : public std::runtime_error {
 public:
  FileInputError(std::string file, const InputError& e)
      : std::runtime_error(e.what()), file_(std::move(file)), diagnostics_(e.diagnostics()) {}
  const std::string& file() const { return file_; }
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

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
    "  dtsim --help | --version\n"
    "\n"
    "Exit status: 0 success, 2 bad input or usage, 3 internal error.\n";

// "unknown option '--jsn' for 'run'; did you mean '--json'?"
std::string with_hint(std::string_view what, std::string_view got, std::span<const std::string_view> known,
                      std::string_view context = {}) {
  std::string message = "unknown " + std::string(what) + " '" + std::string(got) + "'";
  if (!context.empty()) message += " for '" + std::string(context) + "'";
  if (const auto hint = closest_name(got, known)) message += "; did you mean '" + std::string(*hint) + "'?";
  return message;
}

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

Scenario load(const std::string& file, const Catalogs& catalogs) {
  try {
    return load_scenario_file(file, catalogs);
  } catch (const InputError& e) {
    throw FileInputError(file, e);
  }
}

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

std::string padded(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

int command_list(std::span<const std::string_view> args) {
  static constexpr std::string_view kWhat[] = {"models", "gpus", "nodes"};
  if (args.size() != 1) throw UsageError("list takes one of: models, gpus, nodes");
  const Catalogs c = builtin_catalogs();
  if (args[0] == "models") {
    for (const std::string& name : c.models.names()) {
      const models::ModelSpec& m = *c.models.find(name);
      char params[32];
      std::snprintf(params, sizeof params, "%.2f B", static_cast<double>(models::parameter_count(m)) / 1e9);
      std::cout << padded(name, 14) << padded(params, 11) << m.num_layers << " layers, hidden " << m.hidden << ", "
                << m.num_heads << " heads (" << m.num_kv_heads << " KV), FFN " << m.ffn_hidden << ", vocab "
                << m.vocab_size << '\n';
    }
  } else if (args[0] == "gpus") {
    for (const std::string& name : c.hardware.gpu_names()) {
      const hardware::GpuSpec& g = *c.hardware.find_gpu(name);
      std::cout << padded(name, 12) << format_flop_rate(g.peak_bf16) << " bf16, " << format_bytes(g.memory_capacity)
                << ", " << format_bandwidth(g.memory_bandwidth) << " HBM, " << g.sm_count << " SMs\n";
    }
  } else if (args[0] == "nodes") {
    for (const std::string& name : c.hardware.node_names()) {
      const hardware::NodeSpec& n = *c.hardware.find_node(name);
      std::cout << padded(name, 14) << n.gpus_per_node << " x " << n.gpu.name << ", NVLink "
                << format_bandwidth(n.nvlink_bandwidth) << " per GPU, " << n.nics_per_node << " NICs x "
                << format_bandwidth(n.nic_bandwidth) << '\n';
    }
  } else {
    throw UsageError(with_hint("list", args[0], kWhat) + "; list takes models, gpus or nodes");
  }
  return kExitOk;
}

int command_describe(std::span<const std::string_view> args) {
  bool markdown = false;
  std::optional<std::string_view> wanted;
  for (const std::string_view a : args) {
    if (a == "--markdown") {
      markdown = true;
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError("unknown option '" + std::string(a) + "' for 'describe'");
    } else if (!wanted) {
      wanted = a;
    } else {
      throw UsageError("unexpected argument '" + std::string(a) + "'; describe takes one section");
    }
  }
  const std::vector<Section> sections = scenario_sections();
  std::vector<const Section*> shown;
  if (wanted) {
    const Section* s = find_section(sections, *wanted);
    if (s == nullptr) {
      std::vector<std::string_view> names;
      std::string list;
      for (const Section& x : sections) {
        names.push_back(x.name);
        list += (list.empty() ? "" : ", ") + std::string(x.name);
      }
      throw UsageError(with_hint("section", *wanted, names) + "; sections: " + list);
    }
    shown.push_back(s);
  } else {
    for (const Section& s : sections) shown.push_back(&s);
  }
  for (std::size_t i = 0; i < shown.size(); ++i) {
    if (i > 0) std::cout << '\n';
    if (markdown) {
      std::string where = "top level";
      if (!shown[i]->pointer.empty()) where = std::string("`").append(shown[i]->pointer).append("`");
      std::cout << "### " << shown[i]->name << " (" << where << ")\n\n" << render_markdown(*shown[i]);
    } else {
      std::cout << render_text(*shown[i]);
    }
  }
  return kExitOk;
}

int dispatch(std::span<const std::string_view> args) {
  static constexpr std::string_view kCommands[] = {"run", "validate", "list", "describe", "help"};
  if (args.empty()) throw UsageError("no command given");
  const std::string_view command = args[0];
  const auto rest = args.subspan(1);
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << "dtsim " << version() << ": distributed-training performance simulator\n\n" << kUsage;
    return kExitOk;
  }
  if (command == "--version") {
    std::cout << "dtsim " << version() << '\n';
    return kExitOk;
  }
  if (command == "run") return command_run(rest);
  if (command == "validate") return command_validate(rest);
  if (command == "list") return command_list(rest);
  if (command == "describe") return command_describe(rest);
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
