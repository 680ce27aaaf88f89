// dtsim sweep and dtsim merge: run a scenario's sweep (or one shard of it)
// and print the ranked table; combine shard outputs into the unsharded result.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unistd.h>

#include "cli_common.hpp"
#include "dtsim/scenarios/plot.hpp"
#include "dtsim/scenarios/sweep.hpp"
#include "sweep_cli.hpp"
#include "sweep_mpi.hpp"

namespace dtsim::cli {

using namespace dtsim::scenarios;

namespace {

// A progress line on stderr, redrawn at most ten times a second; only when
// stderr is a terminal, so CI logs stay clean.
class ProgressBar {
 public:
  ProgressBar() : start_(std::chrono::steady_clock::now()) {}

  void update(std::int64_t done, std::int64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    constexpr int kWidth = 30;
    const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : kWidth;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kWidth - filled), '.');
    char line[160];
    const double left = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
    std::snprintf(line, sizeof line, "\r[%s] %lld/%lld points  %.1f points/s  %.0f s left ", bar.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total), rate, left);
    std::cerr << line << std::flush;
    drawn_ = true;
  }

  ~ProgressBar() {
    if (drawn_) std::cerr << "\r\033[K" << std::flush;
  }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

 private:
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

// Parses an option shared by sweep and merge at args[i]; false when it is none of them.
bool parse_output_option(std::span<const std::string_view> args, std::size_t& i, OutputArgs& out,
                         std::string_view command) {
  const std::string_view a = args[i];
  auto value = [&]() -> std::string {
    if (i + 1 >= args.size() || args[i + 1].empty()) throw UsageError(std::string(a) + " needs a value");
    return std::string(args[++i]);
  };
  if (a == "--csv") {
    out.csv = value();
  } else if (a == "--json") {
    out.json = value();
  } else if (a == "--plot") {
    out.plot = value();
  } else if (a == "--top") {
    const std::string v = value();
    try {
      std::size_t used = 0;
      const long long n = std::stoll(v, &used);
      if (used != v.size() || n < 0) throw std::invalid_argument(v);
      out.top = static_cast<std::size_t>(n);
    } catch (const std::exception&) {
      throw UsageError("--top expects a count (0 = all), got '" + v + "'");
    }
  } else if (a == "--rank-by") {
    const std::string v = value();
    const auto m = parse_metric(v);
    if (!m) {
      const auto names = metric_names();
      throw UsageError(with_hint("metric", v, names, command) + " (one of step_time, throughput, mfu, memory, "
                       "time_to_train, gpu_hours, energy, cost)");
    }
    out.rank_by = *m;
  } else {
    return false;
  }
  return true;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw InputError("", "cannot write '" + path + "'");
}

}  // namespace

SweepArgs parse_sweep_args(std::span<const std::string_view> args) {
  SweepArgs s;
  static constexpr std::string_view kOptions[] = {"--threads", "--shard", "--rank-by", "--top",
                                                  "--csv",     "--json",  "--plot",    "--quiet"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (parse_output_option(args, i, s.out, "sweep")) continue;
    if (a == "--threads" || a == "--shard") {
      if (i + 1 >= args.size()) throw UsageError(std::string(a) + " needs a value");
      const std::string v(args[++i]);
      if (a == "--threads") {
        try {
          std::size_t used = 0;
          s.threads = std::stoi(v, &used);
          if (used != v.size() || s.threads < 1 || s.threads > 4096) throw std::invalid_argument(v);
        } catch (const std::exception&) {
          throw UsageError("--threads expects a count from 1 to 4096, got '" + v + "'");
        }
      } else {
        std::string error;
        s.shard = parse_shard(v, error);
        if (!s.shard) throw UsageError("--shard " + error);
      }
    } else if (a == "--quiet") {
      s.quiet = true;
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError(with_hint("option", a, kOptions, "sweep"));
    } else if (s.file.empty()) {
      s.file = std::string(a);
    } else {
      throw UsageError("unexpected argument '" + std::string(a) + "'; sweep takes one scenario file");
    }
  }
  if (s.file.empty()) throw UsageError("sweep needs a scenario file");
  return s;
}

SweepDefinition read_sweep_for(const SweepArgs& args) {
  SweepDefinition sweep;
  try {
    sweep = read_sweep_file(args.file);
  } catch (const InputError& e) {
    throw FileInputError(args.file, e);
  }
  if (const std::string why = metric_unavailable(sweep, args.out.rank_by); !why.empty()) throw InputError("", why);
  return sweep;
}

SweepResult run_sweep_with_progress(const SweepDefinition& sweep, const SweepArgs& args, SweepOptions options) {
  const Catalogs catalogs = builtin_catalogs();
  std::unique_ptr<ProgressBar> bar;  // not std::optional: g++ 12 -O3 warns (falsely) of an uninitialized member
  if (!args.quiet && isatty(STDERR_FILENO) != 0) {
    bar = std::make_unique<ProgressBar>();
    options.on_progress = [&bar](std::int64_t done, std::int64_t total) { bar->update(done, total); };
  }
  SweepResult result = run_sweep(sweep, catalogs, options);
  bar.reset();
  return result;
}

// Exit 2 when no point of a whole sweep could be simulated: the input cannot
// be what was meant.
int report(const SweepResult& result, const OutputArgs& o) {
  if (o.csv) write_file(*o.csv, render_sweep_csv(result));
  if (o.json) write_file(*o.json, render_sweep_json(result));
  if (o.plot) write_file(*o.plot, render_sweep_plot(result));
  std::cout << render_sweep_table(result, o.rank_by, o.top);
  std::int64_t simulated = 0;
  for (const PointResult& p : result.points) simulated += p.skipped ? 0 : 1;
  if (simulated == 0 && !result.shard && !result.points.empty()) {
    std::cerr << "dtsim: no point of the sweep could be simulated (reasons above)\n";
    return kExitInput;
  }
  return kExitOk;
}

int command_sweep(std::span<const std::string_view> args) {
  // Under mpirun the points are split over the ranks (sweep_mpi.cpp).
  if (built_with_mpi() && mpi_launch_from_env().launched) return command_sweep_mpi(args);
  const SweepArgs a = parse_sweep_args(args);
  const SweepDefinition sweep = read_sweep_for(a);
  SweepOptions options;
  options.threads = a.threads;
  options.shard = a.shard;
  return report(run_sweep_with_progress(sweep, a, std::move(options)), a.out);
}

int command_merge(std::span<const std::string_view> args) {
  std::vector<std::string> files;
  OutputArgs o;
  static constexpr std::string_view kOptions[] = {"--rank-by", "--top", "--csv", "--json", "--plot"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (parse_output_option(args, i, o, "merge")) continue;
    if (a.size() > 1 && a[0] == '-') throw UsageError(with_hint("option", a, kOptions, "merge"));
    files.emplace_back(a);
  }
  if (files.empty()) throw UsageError("merge needs the shard outputs (dtsim sweep --shard I/N --json FILE)");
  std::vector<SweepResult> shards;
  for (const std::string& f : files) {
    try {
      shards.push_back(parse_sweep_json(read_text_file(f)));
    } catch (const InputError& e) {
      throw FileInputError(f, e);
    }
  }
  return report(merge_sweep_results(std::move(shards)), o);
}

}  // namespace dtsim::cli
