// Sweeps: many scenarios described by one file. A scenario's "sweep" section
// lists axes, each a JSON pointer into the scenario and the values it takes;
// every point substitutes its values into the scenario document and loads the
// result exactly as a scenario file is loaded, so a point gets the same
// checks. A point that does not load (or whose network cannot be built) is
// skipped with its first diagnostic as the reason; the others are simulated,
// in parallel, each independently. The format is in docs/sweeps.md.
//
// Determinism: results are kept in point order whatever the thread count or
// sharding; every output is a function of the results alone, so a sweep run
// in shards and merged prints the same bytes as one run.
//
// Example:
//   const Catalogs catalogs = builtin_catalogs();
//   SweepDefinition d = read_sweep_file("scenarios/sweeps/llama3-8b-plans.json");
//   SweepResult r = run_sweep(d, catalogs);   // SweepOptions: threads, shard, callbacks
//   std::cout << render_sweep_table(r, Metric::kStepTime, 20);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/scenarios/cost.hpp"
#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/sim/report.hpp"

namespace dtsim::scenarios {

// The sweep section's scalar settings (its parameter table in scenario_tables.hpp).
struct SweepSettings {
  bool zip = false;      // false: product of the axes; true: the i-th values together
  bool fill_dp = false;  // derive /plan/dp from the GPU count at every point
};

struct SweepAxis {
  std::string path;                 // JSON pointer into the scenario, e.g. "/plan/tp"
  std::vector<std::string> values;  // each value as compact JSON text ("8", "\"1f1b\"")
};

// A sweep read from a scenario file: the scenario without its "sweep"
// section, and the axes. A file without a sweep is a sweep of one point.
struct SweepDefinition {
  std::string name;       // the scenario's "name", or the file name without ".json"
  std::string origin;     // the file it was read from (resolves relative calibration paths)
  std::string base_json;  // the scenario document without "sweep", compact JSON
  SweepSettings settings;
  std::vector<SweepAxis> axes;
  std::string fingerprint;  // 16 hex digits identifying base, settings and axes (shards must agree)

  std::int64_t num_points() const;
};

// At most this many points per sweep.
inline constexpr std::int64_t kMaxSweepPoints = 10'000'000;

// Reads a scenario document's sweep. Throws InputError naming the JSON path
// for a malformed sweep: an unknown key, an axis path the scenario format
// does not know (/sweep/axes/<i>/path), an empty axis, zip axes of different
// lengths, a range that is empty or too long. The rest of the scenario is
// checked per point, not here.
SweepDefinition read_sweep(std::string_view json_text, std::string_view origin = {});
SweepDefinition read_sweep_file(const std::filesystem::path& path);

// The values of point `index` (0-based, < num_points()), one per axis, as JSON text.
std::vector<std::string> point_values(const SweepDefinition& sweep, std::int64_t index);

// The scenario of point `index`: the base with the point's values substituted
// (a built-in name on the way, such as "model": "gpt3-175b", becomes
// {"base": "gpt3-175b"}; a missing section becomes {}), loaded and checked
// like a scenario file, network included. Throws InputError when the point is
// invalid.
Scenario load_sweep_point(const SweepDefinition& sweep, std::int64_t index, const Catalogs& catalogs);

// What a sweep reports for a simulated point.
struct PointMetrics {
  int num_gpus = 0;
  int tp = 1, pp = 1, dp = 1;
  std::int64_t num_microbatches = 0;
  Duration step_time;
  double tokens_per_second = 0.0;
  double mfu = 0.0;  // fraction
  sim::Breakdown breakdown;
  Bytes peak_memory;
  Bytes memory_capacity;
  bool fits = true;
  std::optional<CostEstimate> cost;  // when the scenario has a cost section
  std::string currency;              // the cost section's currency; empty without one
};

struct PointResult {
  std::int64_t index = 0;
  std::vector<std::string> values;  // one per axis, JSON text
  bool skipped = false;
  std::string reason;  // skipped: "path: message" of the first problem
  PointMetrics metrics;  // simulated points only
};

// Metrics from one simulated scenario (used by sweeps, plan search and check).
PointMetrics point_metrics(const Scenario& scenario, const sim::Report& report);

// Run i of n (1-based). The points are dealt in rounds of n consecutive
// indices, one to each shard, each round's deal rotated by a hash of the
// round number: every shard gets the same number of points (within one)
// and, whatever the axes, a similar mix. (Dealing by index % n alone would
// give one shard every point with the first value of an n-valued last axis:
// all the valid points of a sweep whose last axis is sometimes invalid, or
// all the slow ones.) `mpirun -n N dtsim sweep` runs shard r+1/N on rank r.
struct Shard {
  int index = 1;
  int count = 1;
};
// The shard (1-based, of `count`) that owns point `index`.
int shard_of(std::int64_t index, int count);
// The points of `shard` of a sweep of `total_points`, ascending.
std::vector<std::int64_t> shard_points(std::int64_t total_points, const Shard& shard);
// "2/4" -> {2, 4}; nullopt with `error` set when malformed or out of range.
std::optional<Shard> parse_shard(std::string_view text, std::string& error);

struct SweepResult {
  std::string name;
  std::string fingerprint;
  bool zip = false;
  std::vector<std::string> axis_paths;
  std::int64_t total_points = 0;
  std::optional<Shard> shard;       // set on a shard's result
  std::vector<PointResult> points;  // ascending index; every point unless sharded
};

struct SweepOptions {
  int threads = 0;  // 0: as many as the machine has (TBB's default)
  std::optional<Shard> shard;
  // Called after each point, never two calls at once (from worker threads,
  // in completion order): points done so far of `total` in this run.
  std::function<void(std::int64_t done, std::int64_t total)> on_progress;
  // Called with each finished point, never two calls at once, in completion order.
  std::function<void(const PointResult&)> on_point;
};

// Simulates every point of the sweep (or of the shard). Never throws for an
// invalid point; InternalError from a simulation propagates.
SweepResult run_sweep(const SweepDefinition& sweep, const Catalogs& catalogs, const SweepOptions& options = {});

// Combines the results of shards 1..n of one sweep into the unsharded result.
// Throws InputError when they are of different sweeps, a shard is missing or
// repeated, or a point is missing.
SweepResult merge_sweep_results(std::vector<SweepResult> shards);

// What a sweep can be ranked by.
enum class Metric : std::uint8_t {
  kStepTime,     // lower is better
  kThroughput,   // tokens per second, higher is better
  kMfu,          // higher is better
  kMemory,       // peak memory per GPU, lower is better
  kTimeToTrain,  // needs a cost section; lower is better
  kGpuHours,     // needs a cost section
  kEnergy,       // needs a cost section
  kCost,         // needs a cost section with gpu_hour_price
};
// "step_time", "throughput", "mfu", "memory", "time_to_train", "gpu_hours", "energy", "cost".
std::optional<Metric> parse_metric(std::string_view name);
std::string_view metric_name(Metric m);
std::vector<std::string_view> metric_names();
// The metric's value for a simulated point, in the unit of its column; nullopt
// when the point lacks it (no cost section, no price).
std::optional<double> metric_value(const PointMetrics& m, Metric metric);
bool lower_is_better(Metric m);
// Why no point of the sweep can have `metric` (the cost metrics need a cost
// section, cost needs its gpu_hour_price); empty when points may have it.
std::string metric_unavailable(const SweepDefinition& sweep, Metric metric);

// Indices into result.points of the simulated points, best first: points that
// fit in memory before those that do not, then by the metric, then by point
// index. Points without the metric come last among their group.
std::vector<std::size_t> rank_points(const SweepResult& result, Metric metric);

// Skip reasons with how many points each skipped, most frequent first (ties by text).
std::vector<std::pair<std::string, std::int64_t>> skip_reasons(const SweepResult& result);

// The ranked table (at most `top` rows; 0 = all) and the skip summary.
std::string render_sweep_table(const SweepResult& result, Metric metric, std::size_t top);
// Every point in index order, one row each, header first (RFC 4180 quoting).
std::string render_sweep_csv(const SweepResult& result);
// Every point with all its metrics (docs/sweeps.md); read back by parse_sweep_json.
std::string render_sweep_json(const SweepResult& result);
// Reads render_sweep_json's output back exactly. Throws InputError (with a
// JSON path) when it is not such a document.
SweepResult parse_sweep_json(std::string_view text);

}  // namespace dtsim::scenarios
