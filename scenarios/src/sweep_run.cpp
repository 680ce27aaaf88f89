// Running a sweep's points in parallel (TBB) and merging shards.
#include <algorithm>
#include <charconv>
#include <mutex>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "dtsim/core/error.hpp"
#include "dtsim/scenarios/sweep.hpp"
#include "dtsim/sim/simulation.hpp"

namespace dtsim::scenarios {
namespace {

std::string first_problem(const InputError& e) {
  const Diagnostic& d = e.diagnostics().front();
  if (d.path.empty()) return d.message;
  std::string out = d.path;
  out.append(": ").append(d.message);
  return out;
}

PointResult run_point(const SweepDefinition& sweep, std::int64_t index, const Catalogs& catalogs) {
  PointResult r;
  r.index = index;
  r.values = point_values(sweep, index);
  try {
    const Scenario s = load_sweep_point(sweep, index, catalogs);
    r.metrics = point_metrics(s, sim::simulate(s.spec));
  } catch (const InputError& e) {
    // An invalid point is reported, never fatal for the sweep.
    r.skipped = true;
    r.reason = first_problem(e);
    r.metrics = {};
  }
  return r;
}

// The deal's rotation in round `round` of `count` shards: SplitMix64's
// finalizer, a fixed function, so every shard and every rank agrees.
std::int64_t rotation(std::int64_t round, int count) {
  auto z = static_cast<std::uint64_t>(round) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<std::int64_t>(z % static_cast<std::uint64_t>(count));
}

}  // namespace

PointMetrics point_metrics(const Scenario& scenario, const sim::Report& report) {
  PointMetrics m;
  m.num_gpus = report.num_gpus;
  m.tp = report.tp;
  m.pp = report.pp;
  m.dp = report.dp;
  m.num_microbatches = report.num_microbatches;
  m.step_time = report.step_time;
  m.tokens_per_second = report.tokens_per_second;
  m.mfu = report.mfu;
  m.breakdown = report.breakdown;
  m.peak_memory = report.peak_memory;
  m.memory_capacity = report.memory_capacity;
  m.fits = report.fits;
  if (scenario.cost) {
    m.cost = estimate_cost(*scenario.cost, report, scenario.spec.cluster.node.gpu.tdp);
    m.currency = scenario.cost->currency;
  }
  return m;
}

int shard_of(std::int64_t index, int count) {
  DTSIM_CHECK(count >= 1 && index >= 0, "shard_of needs a point index and a shard count");
  return static_cast<int>((index % count + rotation(index / count, count)) % count) + 1;
}

std::vector<std::int64_t> shard_points(std::int64_t total_points, const Shard& shard) {
  DTSIM_CHECK(shard.count >= 1 && shard.index >= 1 && shard.index <= shard.count, "shard_points needs I/N");
  const int n = shard.count;
  std::vector<std::int64_t> points;
  points.reserve(static_cast<std::size_t>(total_points / n + 1));
  // In round r the point r*n + j goes to shard (j + rotation) % n + 1; solve for j.
  for (std::int64_t round = 0; round * n < total_points; ++round) {
    const std::int64_t j = ((shard.index - 1 - rotation(round, n)) % n + n) % n;
    const std::int64_t index = round * n + j;
    if (index < total_points) points.push_back(index);
  }
  return points;
}

std::optional<Shard> parse_shard(std::string_view text, std::string& error) {
  const std::size_t slash = text.find('/');
  Shard s;
  auto parse_int = [](std::string_view t, int& out) {
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return ec == std::errc() && end == t.data() + t.size();
  };
  if (slash == std::string_view::npos || !parse_int(text.substr(0, slash), s.index) ||
      !parse_int(text.substr(slash + 1), s.count)) {
    error = "expected I/N such as 2/4, got '" + std::string(text) + "'";
    return std::nullopt;
  }
  if (s.count < 1 || s.index < 1 || s.index > s.count) {
    error = "expected 1 <= I <= N in I/N, got '" + std::string(text) + "'";
    return std::nullopt;
  }
  return s;
}

SweepResult run_sweep(const SweepDefinition& sweep, const Catalogs& catalogs, const SweepOptions& options) {
  SweepResult result;
  result.name = sweep.name;
  result.fingerprint = sweep.fingerprint;
  result.zip = sweep.settings.zip;
  for (const SweepAxis& a : sweep.axes) result.axis_paths.push_back(a.path);
  result.total_points = sweep.num_points();
  result.shard = options.shard;

  // The indices this run owns, ascending.
  const std::vector<std::int64_t> indices = shard_points(result.total_points, options.shard.value_or(Shard{}));
  result.points.resize(indices.size());

  std::mutex callback_mutex;  // serializes the caller's callbacks; local to this run
  std::int64_t done = 0;
  const auto total = static_cast<std::int64_t>(indices.size());
  auto body = [&](const tbb::blocked_range<std::size_t>& range) {
    for (std::size_t k = range.begin(); k != range.end(); ++k) {
      result.points[k] = run_point(sweep, indices[k], catalogs);
      if (options.on_progress || options.on_point) {
        const std::lock_guard<std::mutex> lock(callback_mutex);
        ++done;
        if (options.on_point) options.on_point(result.points[k]);
        if (options.on_progress) options.on_progress(done, total);
      }
    }
  };
  const int threads = options.threads > 0 ? options.threads : tbb::task_arena::automatic;
  tbb::task_arena arena(threads);
  // Grain 1: one point is a whole simulation, far above TBB's scheduling cost.
  arena.execute([&] { tbb::parallel_for(tbb::blocked_range<std::size_t>(0, indices.size(), 1), body); });
  return result;
}

SweepResult merge_sweep_results(std::vector<SweepResult> shards) {
  if (shards.empty()) throw InputError("", "nothing to merge");
  const SweepResult& first = shards.front();
  const int count = first.shard ? first.shard->count : 1;
  std::vector<bool> seen(static_cast<std::size_t>(count), false);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const SweepResult& s = shards[i];
    const std::string which = "input " + std::to_string(i + 1);
    if (s.fingerprint != first.fingerprint || s.total_points != first.total_points ||
        s.axis_paths != first.axis_paths) {
      throw InputError("/fingerprint", which + " is a shard of another sweep (fingerprint " + s.fingerprint +
                                           ", the first input's is " + first.fingerprint + ")");
    }
    const int c = s.shard ? s.shard->count : 1;
    const int idx = s.shard ? s.shard->index : 1;
    if (c != count) {
      throw InputError("/shard", which + " is shard " + std::to_string(idx) + "/" + std::to_string(c) +
                                     " but the first input is one of " + std::to_string(count));
    }
    if (seen[static_cast<std::size_t>(idx - 1)]) {
      throw InputError("/shard", which + " repeats shard " + std::to_string(idx) + "/" + std::to_string(c));
    }
    seen[static_cast<std::size_t>(idx - 1)] = true;
  }
  for (int i = 0; i < count; ++i) {
    if (!seen[static_cast<std::size_t>(i)]) {
      throw InputError("/shard", "shard " + std::to_string(i + 1) + "/" + std::to_string(count) + " is missing");
    }
  }
  SweepResult merged;
  merged.name = first.name;
  merged.fingerprint = first.fingerprint;
  merged.zip = first.zip;
  merged.axis_paths = first.axis_paths;
  merged.total_points = first.total_points;
  for (SweepResult& s : shards) {
    for (PointResult& p : s.points) merged.points.push_back(std::move(p));
  }
  std::sort(merged.points.begin(), merged.points.end(),
            [](const PointResult& a, const PointResult& b) { return a.index < b.index; });
  for (std::size_t i = 0; i < merged.points.size(); ++i) {
    if (merged.points[i].index != static_cast<std::int64_t>(i)) {
      throw InputError("/points", "point " + std::to_string(i) + " is missing or repeated in the shards");
    }
  }
  if (static_cast<std::int64_t>(merged.points.size()) != merged.total_points) {
    throw InputError("/points", "the shards hold " + std::to_string(merged.points.size()) + " of " +
                                    std::to_string(merged.total_points) + " points");
  }
  return merged;
}

}  // namespace dtsim::scenarios
