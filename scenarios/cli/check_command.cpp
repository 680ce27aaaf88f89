// dtsim check: re-run scenarios and compare them with a stored baseline, for
// CI: exit 0 when every metric holds, 4 when any regresses (or a point is new
// or missing), 2 on bad input; --junit writes a report CI systems display.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cli_common.hpp"
#include "dtsim/scenarios/check.hpp"
#include "dtsim/scenarios/sweep.hpp"

namespace dtsim::cli {

using namespace dtsim::scenarios;

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw InputError("", "cannot write '" + path + "'");
}

}  // namespace

int command_check(std::span<const std::string_view> args) {
  std::vector<std::string> files;
  std::optional<std::string> baseline_file, junit;
  bool update = false;
  int threads = 0;
  static constexpr std::string_view kOptions[] = {"--baseline", "--junit", "--update-baseline", "--threads"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size() || args[i + 1].empty()) throw UsageError(std::string(a) + " needs a value");
      return std::string(args[++i]);
    };
    if (a == "--baseline") {
      baseline_file = value();
    } else if (a == "--junit") {
      junit = value();
    } else if (a == "--update-baseline") {
      update = true;
    } else if (a == "--threads") {
      const std::string v = value();
      try {
        std::size_t used = 0;
        threads = std::stoi(v, &used);
        if (used != v.size() || threads < 1 || threads > 4096) throw std::invalid_argument(v);
      } catch (const std::exception&) {
        throw UsageError("--threads expects a count from 1 to 4096, got '" + v + "'");
      }
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError(with_hint("option", a, kOptions, "check"));
    } else {
      files.emplace_back(a);
    }
  }
  if (files.empty()) throw UsageError("check needs scenario files");
  if (!baseline_file) throw UsageError("check needs --baseline FILE");

  Baseline baseline;
  const bool exists = std::filesystem::exists(*baseline_file);
  if (exists || !update) {
    try {
      baseline = parse_baseline(read_text_file(*baseline_file));
    } catch (const InputError& e) {
      throw FileInputError(*baseline_file, e);
    }
  }

  const Catalogs catalogs = builtin_catalogs();
  std::vector<BaselineEntry> current;
  for (const std::string& f : files) {
    SweepDefinition sweep;
    try {
      sweep = read_sweep_file(f);
    } catch (const InputError& e) {
      throw FileInputError(f, e);
    }
    SweepOptions options;
    options.threads = threads;
    const auto entries = baseline_entries(f, run_sweep(sweep, catalogs, options));
    current.insert(current.end(), entries.begin(), entries.end());
  }

  if (update) {
    write_text(*baseline_file, render_baseline(updated_baseline(baseline, current, files)));
    std::cout << "Wrote " << current.size() << " entries for " << files.size() << " files to " << *baseline_file << '\n';
    return kExitOk;
  }
  const CheckReport report = compare_to_baseline(baseline, current, files);
  if (junit) write_text(*junit, render_junit(report));
  std::cout << render_check_text(report);
  return report.passed() ? kExitOk : kExitCheckFailed;
}

}  // namespace dtsim::cli
