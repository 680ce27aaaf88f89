// Regression checks: re-run scenarios (each point of a sweep) and compare
// their metrics with a stored baseline, within relative tolerances, for CI.
//
// Direction matters: a step time or peak memory above the baseline by more
// than its tolerance, or throughput / MFU below it, is a regression; the
// opposite is an improvement (reported, not a failure: update the baseline).
// A point that no longer simulates, stops fitting in memory, has no baseline
// entry (new) or whose baseline entry is not produced any more (missing) also
// fails. The baseline format is in docs/sweeps.md.
//
// Example:
//   Baseline b = parse_baseline(read_text_file("ci/baseline.json"));
//   auto current = baseline_entries("s.json", run_sweep(read_sweep_file("s.json"), catalogs));
//   CheckReport r = compare_to_baseline(b, current, {"s.json"});
//   std::cout << render_check_text(r, b.tolerances);  // r.passed()
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dtsim/scenarios/sweep.hpp"

namespace dtsim::scenarios {

// Relative tolerances (0.01 = 1 %).
struct Tolerances {
  double step_time = 0.01;
  double throughput = 0.01;
  double mfu = 0.01;
  double memory = 0.005;
};

struct BaselineEntry {
  std::string file;      // the scenario file as given on the command line
  std::string scenario;  // its name
  std::string point;     // "tp=8 pp=2" for a sweep point; "" for a plain scenario
  bool skipped = false;
  std::string reason;  // when skipped
  double step_time_s = 0.0;
  double tokens_per_second = 0.0;
  double mfu = 0.0;
  std::int64_t peak_memory_bytes = 0;
  bool fits = true;
};

struct Baseline {
  Tolerances tolerances;
  std::vector<BaselineEntry> entries;
};

// Throws InputError naming the JSON path on a malformed baseline.
Baseline parse_baseline(std::string_view json_text);
std::string render_baseline(const Baseline& baseline);

// One entry per point of a sweep's result.
std::vector<BaselineEntry> baseline_entries(const std::string& file, const SweepResult& result);

// `old` with every entry of `files` replaced by `current`; other files' entries and the tolerances kept.
Baseline updated_baseline(const Baseline& old, const std::vector<BaselineEntry>& current,
                          const std::vector<std::string>& files);

enum class CheckStatus : std::uint8_t { kOk, kImproved, kRegressed, kNew, kMissing };

struct MetricDiff {
  std::string metric;  // "step_time_s", ...
  double baseline = 0.0;
  double current = 0.0;
  double relative = 0.0;   // (current - baseline) / baseline
  double tolerance = 0.0;
  bool regressed = false;
  bool improved = false;
};

struct CheckOutcome {
  std::string file, scenario, point;
  CheckStatus status = CheckStatus::kOk;
  std::vector<MetricDiff> diffs;  // every compared metric
  std::string message;            // why it failed, for new / missing / skipped / no longer fits
};

struct CheckReport {
  std::vector<CheckOutcome> outcomes;  // in the order of `current`, then missing entries
  bool passed() const;
};

// Compares `current` with the baseline's entries of the same files.
CheckReport compare_to_baseline(const Baseline& baseline, const std::vector<BaselineEntry>& current,
                                const std::vector<std::string>& files);

// One line per point (failures with their metric diffs) and a summary.
std::string render_check_text(const CheckReport& report);
// JUnit XML: a testsuite per file, a testcase per point, <failure> for each failed one.
std::string render_junit(const CheckReport& report);

}  // namespace dtsim::scenarios
