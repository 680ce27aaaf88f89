// dtsim compare: predict measured training runs and print the errors, the
// table docs/validation.md carries.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli_common.hpp"
#include "dtsim/scenarios/calibration_io.hpp"
#include "dtsim/scenarios/report_text.hpp"
#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/scenarios/training_runs.hpp"

namespace dtsim::cli {

using namespace dtsim::scenarios;

namespace {

struct CompareArgs {
  std::string runs;
  std::string calibration = "datasheet-defaults";
  std::optional<std::string> node;
  std::optional<std::string> show;  // a run whose full prediction report is printed
  bool markdown = false;
  bool host_from_probe = false;  // scale each run's host times by its host probe
};

CompareArgs parse_compare_args(std::span<const std::string_view> args) {
  static constexpr std::string_view kOptions[] = {"--calibration", "--node", "--markdown", "--show",
                                                  "--host-from-probe"};
  CompareArgs c;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const auto value = [&](std::string_view option) {
      if (a.size() > option.size() && a[option.size()] == '=') return std::string(a.substr(option.size() + 1));
      if (i + 1 >= args.size()) throw UsageError(std::string(option) + " needs a value");
      return std::string(args[++i]);
    };
    if (a == "--markdown") {
      c.markdown = true;
    } else if (a == "--host-from-probe") {
      c.host_from_probe = true;
    } else if (a.rfind("--calibration", 0) == 0 && (a.size() == 13 || a[13] == '=')) {
      c.calibration = value("--calibration");
    } else if (a.rfind("--node", 0) == 0 && (a.size() == 6 || a[6] == '=')) {
      c.node = value("--node");
    } else if (a.rfind("--show", 0) == 0 && (a.size() == 6 || a[6] == '=')) {
      c.show = value("--show");
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError(with_hint("option", a, kOptions, "compare"));
    } else if (c.runs.empty()) {
      c.runs = std::string(a);
    } else {
      throw UsageError("unexpected argument '" + std::string(a) + "'; compare takes one runs file");
    }
  }
  if (c.runs.empty()) throw UsageError("compare needs a training-runs file (run_training.py's JSON)");
  return c;
}

hardware::Calibration calibration_for(const std::string& name, const hardware::NodeSpec& node,
                                      const Catalogs& catalogs) {
  if (name == "datasheet-defaults") return hardware::datasheet_defaults(node.gpu);
  const auto file = find_calibration_file(name, std::filesystem::current_path(), catalogs.calibration_dirs);
  if (!file) throw InputError("", "unknown calibration '" + name + "' (a file path, datasheet-defaults, or a name in hardware/calibration/fitted)");
  CalibrationFile f;
  try {
    f = read_calibration_json(read_text_file(*file), file->string());
  } catch (const InputError& e) {
    throw FileInputError(file->string(), e);
  }
  if (f.gpu != node.gpu.name) {
    throw InputError("", "calibration '" + f.calibration.name + "' was measured on " + f.gpu + " GPUs, the runs on " +
                             node.gpu.name);
  }
  return f.calibration;
}

std::string fmt(const char* f, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

// Of the predicted step, the share the GPU waits for its host.
double host_share(const RunComparison& r) {
  return r.predicted > Duration::zero() ? r.predicted_host_wait.seconds() / r.predicted.seconds() : 0.0;
}

// The predicted step's change with every host time 1.5 times as long.
double slower_host_change(const RunComparison& r) {
  return r.predicted > Duration::zero() ? r.predicted_slower_host.seconds() / r.predicted.seconds() - 1.0 : 0.0;
}

struct Summary {
  double mean = 0.0, worst = 0.0;
  std::string worst_name;
};

template <typename Get>
Summary summarize(const std::vector<RunComparison>& rows, Get get) {
  Summary s;
  for (const RunComparison& r : rows) {
    const double e = std::abs(get(r));
    s.mean += e;
    if (e >= s.worst) {
      s.worst = e;
      s.worst_name = r.name;
    }
  }
  if (!rows.empty()) s.mean /= static_cast<double>(rows.size());
  return s;
}

// Tasks of the last-finishing stage's first simulated rank, grouped by name:
// count and total time per stream, longest first (what a profiler's
// per-kernel table of the real step is set against).
void print_task_totals(const sim::Report& report) {
  int rank = -1;
  for (const sim::TimelineEntry& e : report.timeline) {
    if (e.stage == report.critical_stage && (rank < 0 || e.rank < rank)) rank = e.rank;
  }
  struct Total {
    int count = 0;
    Duration time;
  };
  std::map<std::pair<int, std::uint32_t>, Total> totals;  // (stream, label)
  for (const sim::TimelineEntry& e : report.timeline) {
    if (e.rank != rank) continue;
    Total& t = totals[{static_cast<int>(e.stream), e.label}];
    ++t.count;
    t.time += e.end - e.start;
  }
  std::vector<std::pair<std::pair<int, std::uint32_t>, Total>> rows(totals.begin(), totals.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.second.time > y.second.time; });
  std::cout << "\nTasks of rank " << rank << " (stage " << report.critical_stage << ") by total time\n"
            << "  stream       count    total ms  task\n";
  for (const auto& [key, t] : rows) {
    char line[96];
    std::snprintf(line, sizeof line, "  %-10s %7d %11.3f  ",
                  std::string(models::to_string(static_cast<models::StreamKind>(key.first))).c_str(), t.count,
                  t.time.seconds() * 1e3);
    std::cout << line << report.labels[key.second] << "\n";
  }
}

// The whole prediction report of one run, with its measurement: where the
// predicted time goes, to set against a profile of the real step.
int show_run(const TrainingRuns& runs, const std::string& name, const std::string& node_name) {
  const auto it = std::find_if(runs.runs.begin(), runs.runs.end(), [&](const MeasuredRun& m) { return m.name == name; });
  if (it == runs.runs.end()) {
    for (const std::string& why : runs.not_modelled) {
      if (why.rfind(name + ": ", 0) == 0) throw UsageError("--show " + name + ": left out, not modelled: " + why.substr(name.size() + 2));
    }
    std::vector<std::string_view> names;
    for (const MeasuredRun& m : runs.runs) names.push_back(m.name);
    throw UsageError(with_hint("run", name, names, "compare"));
  }
  Scenario s;
  s.name = it->name;
  s.description = "prediction of a measured training run";
  s.node_base = node_name;
  s.spec = it->spec;
  s.spec.options.record_timeline = true;
  const sim::Report report = sim::simulate(s.spec);
  std::cout << render_text_report(s, report);
  print_task_totals(report);
  if (it->host_scale) {
    std::cout << "Host probe   " << fmt("%.0f", it->host_probe->microseconds())
              << " us per plain eager layer: the calibration's host times x " << fmt("%.2f", *it->host_scale) << "\n";
  } else if (it->host_probe) {
    std::cout << "Host probe   " << fmt("%.0f", it->host_probe->microseconds())
              << " us per plain eager layer (not used; --host-from-probe scales the host times by it)\n";
  }
  std::cout << "Measured     " << fmt("%.1f", it->step_time.seconds() * 1e3) << " ms per step (p10 "
            << fmt("%.1f", it->step_p10.seconds() * 1e3) << ", p90 " << fmt("%.1f", it->step_p90.seconds() * 1e3)
            << "), peak " << fmt("%.2f", it->peak_memory.as_double() / (1024.0 * 1024.0 * 1024.0)) << " GiB allocated\n";
  return kExitOk;
}

}  // namespace

int command_compare(std::span<const std::string_view> args) {
  const CompareArgs a = parse_compare_args(args);
  const std::string text = read_text_file(a.runs);
  const Catalogs catalogs = builtin_catalogs();
  // The node: named, or from the GPU the runs were measured on.
  std::string node_name = a.node.value_or("");
  if (node_name.empty()) {
    TrainingRuns probe;
    try {
      probe = read_training_runs(text, *catalogs.hardware.find_node("dgx-h100"), hardware::Calibration{});
    } catch (const InputError& e) {
      throw FileInputError(a.runs, e);
    }
    node_name = node_for_gpu(probe.gpu_name);
    if (node_name.empty()) throw UsageError("cannot tell the node of GPU '" + probe.gpu_name + "'; name it with --node");
  }
  const hardware::NodeSpec* node = catalogs.hardware.find_node(node_name);
  if (node == nullptr) {
    const std::vector<std::string> names = catalogs.hardware.node_names();
    const std::vector<std::string_view> views(names.begin(), names.end());
    throw UsageError(with_hint("node", node_name, views, "compare"));
  }
  const hardware::Calibration cal = calibration_for(a.calibration, *node, catalogs);
  TrainingRuns runs;
  try {
    runs = read_training_runs(text, *node, cal);
  } catch (const InputError& e) {
    throw FileInputError(a.runs, e);
  }
  const int probed = a.host_from_probe ? use_host_probes(runs) : 0;
  if (a.show) return show_run(runs, *a.show, node_name);
  const std::vector<RunComparison> rows = compare_runs(runs);
  // With a fitted calibration, the datasheet defaults' predictions alongside.
  const bool both = cal.name != "datasheet-defaults";
  std::vector<RunComparison> defaults;
  if (both) {
    TrainingRuns d = runs;
    for (MeasuredRun& m : d.runs) m.spec.calibration = hardware::datasheet_defaults(node->gpu);
    defaults = compare_runs(d);
  }
  const Summary step = summarize(rows, [](const RunComparison& r) { return r.step_error; });
  const Summary mem = summarize(rows, [](const RunComparison& r) { return r.memory_error; });
  const auto ms = [](Duration d) { return fmt("%.1f", d.seconds() * 1e3); };
  const auto gib = [](Bytes b) { return fmt("%.2f", b.as_double() / (1024.0 * 1024.0 * 1024.0)); };
  const auto pct = [](double e) { return fmt("%+.1f%%", 100.0 * e); };

  if (a.markdown) {
    std::cout << "| run | GPUs | measured ms (p10-p90) | " << (both ? "datasheet ms (error) | " : "") << cal.name
              << " ms | error | host % | host 1.5x | measured GiB | predicted GiB | error |\n"
              << (both ? "|---|---|---|---|---|---|---|---|---|---|---|\n" : "|---|---|---|---|---|---|---|---|---|---|\n");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const RunComparison& r = rows[i];
      std::cout << "| " << r.name << " | " << r.gpus << " | " << ms(r.measured) << " (" << ms(r.measured_p10) << "-"
                << ms(r.measured_p90) << ") | ";
      if (both) std::cout << ms(defaults[i].predicted) << " (" << pct(defaults[i].step_error) << ") | ";
      std::cout << ms(r.predicted) << " | " << pct(r.step_error) << " | " << fmt("%.1f", 100.0 * host_share(r))
                << " | " << pct(slower_host_change(r)) << " | " << gib(r.measured_memory) << " | "
                << gib(r.predicted_memory) << " | " << pct(r.memory_error) << " |\n";
    }
  } else {
    char line[256];
    std::snprintf(line, sizeof line, "%-32s %4s %12s %12s %8s %7s %8s %10s %10s %8s\n", "run", "GPUs", "measured ms",
                  "predicted ms", "error", "host %", "host1.5x", "meas GiB", "pred GiB", "error");
    std::cout << line;
    for (const RunComparison& r : rows) {
      const double host = host_share(r);
      const double slower = slower_host_change(r);
      std::snprintf(line, sizeof line, "%-32s %4d %12s %12s %8s %7s %8s %10s %10s %8s\n", r.name.c_str(), r.gpus,
                    ms(r.measured).c_str(), ms(r.predicted).c_str(), pct(r.step_error).c_str(),
                    fmt("%.1f", 100.0 * host).c_str(), pct(slower).c_str(), gib(r.measured_memory).c_str(),
                    gib(r.predicted_memory).c_str(), pct(r.memory_error).c_str());
      std::cout << line;
    }
  }
  if (both) {
    const Summary d = summarize(defaults, [](const RunComparison& r) { return r.step_error; });
    std::cout << "\nWith datasheet-defaults: step time mean |error| " << fmt("%.1f%%", 100.0 * d.mean) << ", worst "
              << fmt("%.1f%%", 100.0 * d.worst) << " (" << d.worst_name << ")";
  }
  std::cout << "\n" << rows.size() << " runs on " << node->name << " (" << runs.not_ok << " not ok, left out), calibration "
            << cal.name << ": step time mean |error| " << fmt("%.1f%%", 100.0 * step.mean) << ", worst "
            << fmt("%.1f%%", 100.0 * step.worst) << " (" << step.worst_name << "); peak memory mean |error| "
            << fmt("%.1f%%", 100.0 * mem.mean) << ", worst " << fmt("%.1f%%", 100.0 * mem.worst) << " ("
            << mem.worst_name << ")\n";
  if (a.host_from_probe) {
    double lo = 0.0, hi = 0.0;
    for (const MeasuredRun& m : runs.runs) {
      if (!m.host_scale) continue;
      lo = lo == 0.0 ? *m.host_scale : std::min(lo, *m.host_scale);
      hi = std::max(hi, *m.host_scale);
    }
    std::cout << "Host times from each run's host probe: " << probed << " of " << runs.runs.size() << " runs scaled";
    if (probed > 0) std::cout << " (x " << fmt("%.2f", lo) << " to " << fmt("%.2f", hi) << ")";
    std::cout << "; the rest (no probe recorded) keep the calibration's.\n";
  }
  if (!runs.not_modelled.empty()) {
    std::cout << runs.not_modelled.size() << " runs left out, not modelled:\n";
    for (const std::string& why : runs.not_modelled) std::cout << "  " << why << "\n";
  }
  return kExitOk;
}

}  // namespace dtsim::cli
