// Sweeps: reading the section, expanding points, substituting values, running
// in parallel and in shards, and reading the JSON output back.
#include <algorithm>

#include <catch2/catch.hpp>

#include "dtsim/scenarios/sweep.hpp"
#include "scenario_test_util.hpp"

namespace dtsim::scenarios {
namespace {

using testing::catalogs;
using testing::Json;

// GPT-3 125M on one DGX H100: small enough that a point simulates in milliseconds.
Json small_sweep(Json sweep) {
  Json j = Json::parse(R"({
    "schema_version": 1,
    "name": "small",
    "model": "gpt3-125m",
    "training": {"seq_len": 512, "global_batch": 16},
    "plan": {"tp": 1, "pp": 1, "dp": 8},
    "cluster": {"node": "dgx-h100", "num_nodes": 1}
  })");
  j["sweep"] = std::move(sweep);
  return j;
}

Diagnostic sweep_error(const Json& j) {
  try {
    read_sweep(j.dump());
  } catch (const InputError& e) {
    return e.diagnostics().front();
  }
  FAIL("no error");
  return {};
}

SweepOptions with_threads(int threads, std::optional<Shard> shard = std::nullopt) {
  SweepOptions o;
  o.threads = threads;
  o.shard = shard;
  return o;
}

}  // namespace

TEST_CASE("product sweeps vary the last axis fastest", "[scenarios][sweep]") {
  const SweepDefinition d = read_sweep(small_sweep(Json::parse(R"({"axes": [
      {"path": "/plan/tp", "values": [1, 2]},
      {"path": "/training/recompute", "values": ["none", "full", "selective"]}]})"))
                                           .dump());
  REQUIRE(d.num_points() == 6);  // 2 x 3
  CHECK(point_values(d, 0) == std::vector<std::string>{"1", "\"none\""});
  CHECK(point_values(d, 2) == std::vector<std::string>{"1", "\"selective\""});
  CHECK(point_values(d, 3) == std::vector<std::string>{"2", "\"none\""});
  CHECK(point_values(d, 5) == std::vector<std::string>{"2", "\"selective\""});
}

TEST_CASE("zip sweeps pair values by position, and ranges expand inclusively", "[scenarios][sweep]") {
  const SweepDefinition d = read_sweep(small_sweep(Json::parse(R"({"mode": "zip", "axes": [
      {"path": "/plan/tp", "range": {"from": 1, "to": 8, "factor": 2}},
      {"path": "/plan/dp", "range": {"from": 2, "to": 5, "step": 1}}]})"))
                                           .dump());
  REQUIRE(d.num_points() == 4);  // 1, 2, 4, 8 and 2, 3, 4, 5
  CHECK(d.axes[0].values == std::vector<std::string>{"1", "2", "4", "8"});
  CHECK(d.axes[1].values == std::vector<std::string>{"2", "3", "4", "5"});
  CHECK(point_values(d, 2) == std::vector<std::string>{"4", "4"});
}

TEST_CASE("bad sweeps are input errors naming the path", "[scenarios][sweep]") {
  const Diagnostic unknown = sweep_error(small_sweep(Json::parse(R"({"axes": [
      {"path": "/plan/tp", "values": [1]}, {"path": "/plan/tpp", "values": [1]}]})")));
  CHECK(unknown.path == "/sweep/axes/1/path");
  CHECK(unknown.message == "unknown field 'tpp' in /plan; did you mean 'tp'?");

  const Diagnostic deep = sweep_error(small_sweep(Json::parse(R"({"axes": [{"path": "/plan/tp/x", "values": [1]}]})")));
  CHECK(deep.path == "/sweep/axes/0/path");
  CHECK(deep.message.find("'tp' is a integer") == 0);

  const Diagnostic zip = sweep_error(small_sweep(Json::parse(R"({"mode": "zip", "axes": [
      {"path": "/plan/tp", "values": [1, 2]}, {"path": "/plan/pp", "values": [1]}]})")));
  CHECK(zip.path == "/sweep/axes/1");
  CHECK(zip.message == "zip needs axes of one length: this one has 1 values, axis 0 has 2");

  CHECK(sweep_error(small_sweep(Json::parse(R"({"axes": [{"path": "/plan/tp", "values": []}]})"))).path ==
        "/sweep/axes/0/values");
  CHECK(sweep_error(small_sweep(Json::parse(R"({"fill_dp": true, "axes": [{"path": "/plan/dp", "values": [1]}]})")))
            .path == "/sweep/axes/0/path");
  CHECK(sweep_error(small_sweep(Json::parse(R"({"axes": [{"path": "/plan/tp", "range": {"from": 4, "to": 1}}]})")))
            .path == "/sweep/axes/0/range/to");
  CHECK(sweep_error(small_sweep(Json::parse(R"({"axes": [{"path": "/sweep/mode", "values": [1]}]})"))).message ==
        "a sweep cannot vary 'sweep'");
  CHECK(sweep_error(small_sweep(Json::parse(R"({"axis": []})"))).message ==
        "unknown key; did you mean 'axes'?");
}

TEST_CASE("a built-in name on the path becomes {\"base\": name}", "[scenarios][sweep]") {
  const SweepDefinition d = read_sweep(small_sweep(Json::parse(R"({"axes": [
      {"path": "/model/num_layers", "values": [6]},
      {"path": "/cluster/node/nic_bandwidth", "values": ["100 Gb/s"]}]})"))
                                           .dump());
  const Scenario s = load_sweep_point(d, 0, catalogs());
  CHECK(s.spec.model.num_layers == 6);
  CHECK(s.spec.model.name == "gpt3-125m (modified)");
  CHECK(s.spec.cluster.node.nic_bandwidth.bytes_per_second() == 12.5e9);
  CHECK(s.spec.cluster.node.name == "dgx-h100 (modified)");
}

TEST_CASE("invalid points are skipped with their first problem, and fill_dp derives dp", "[scenarios][sweep]") {
  const SweepDefinition d = read_sweep(small_sweep(Json::parse(R"({"fill_dp": true, "axes": [
      {"path": "/plan/tp", "values": [1, 3, 16]}]})"))
                                           .dump());
  const SweepResult r = run_sweep(d, catalogs(), with_threads(1));
  REQUIRE(r.points.size() == 3);
  CHECK_FALSE(r.points[0].skipped);
  CHECK(r.points[0].metrics.dp == 8);  // 8 GPUs / tp 1
  CHECK(r.points[1].skipped);          // 8 GPUs are not a multiple of tp 3
  CHECK(r.points[1].reason ==
        "/plan/dp: cannot fill dp: the cluster's 8 GPUs are not a multiple of the plan's other parallel sizes (3)");
  CHECK(r.points[2].skipped);
  const auto reasons = skip_reasons(r);
  CHECK(reasons.size() == 2);
}

TEST_CASE("sweeps give the same bytes for any thread count and shard split", "[scenarios][sweep]") {
  const SweepDefinition d = read_sweep(small_sweep(Json::parse(R"({"fill_dp": true, "axes": [
      {"path": "/plan/tp", "values": [1, 2, 4, 8]},
      {"path": "/plan/pp", "values": [1, 2, 5]},
      {"path": "/training/micro_batch", "values": [1, 2]}]})"))
                                           .dump());
  const SweepResult one = run_sweep(d, catalogs(), with_threads(1));
  const SweepResult two = run_sweep(d, catalogs(), with_threads(2));
  const std::string json = render_sweep_json(one);
  CHECK(render_sweep_json(two) == json);
  CHECK(render_sweep_csv(two) == render_sweep_csv(one));
  CHECK(render_sweep_table(two, Metric::kStepTime, 0) == render_sweep_table(one, Metric::kStepTime, 0));

  // Shards through their JSON text, merged in any order.
  std::vector<SweepResult> shards;
  for (const int i : {3, 1, 2}) {
    const SweepResult s = run_sweep(d, catalogs(), with_threads(2, Shard{i, 3}));
    for (const PointResult& p : s.points) CHECK(shard_of(p.index, 3) == i);
    shards.push_back(parse_sweep_json(render_sweep_json(s)));
  }
  const SweepResult merged = merge_sweep_results(shards);
  CHECK(render_sweep_json(merged) == json);
  CHECK(render_sweep_csv(merged) == render_sweep_csv(one));

  shards.pop_back();
  CHECK_THROWS_WITH(merge_sweep_results(shards), "/shard: shard 2/3 is missing");
}

TEST_CASE("ranking puts fitting points first and breaks ties by index", "[scenarios][sweep]") {
  SweepResult r;
  r.total_points = 4;
  auto point = [](std::int64_t index, double seconds, bool fits) {
    PointResult p;
    p.index = index;
    p.metrics.step_time = seconds_to_duration(seconds);
    p.metrics.fits = fits;
    p.metrics.tokens_per_second = 1.0 / seconds;
    return p;
  };
  r.points = {point(0, 2.0, true), point(1, 1.0, false), point(2, 2.0, true), point(3, 1.5, true)};
  CHECK(rank_points(r, Metric::kStepTime) == std::vector<std::size_t>{3, 0, 2, 1});
  CHECK(rank_points(r, Metric::kThroughput) == std::vector<std::size_t>{3, 0, 2, 1});
  CHECK(metric_value(r.points[0].metrics, Metric::kCost) == std::nullopt);
}

TEST_CASE("shards partition the points evenly and mix the last axis", "[scenarios][sweep]") {
  for (const int n : {1, 2, 3, 7}) {
    for (const std::int64_t total : {0, 1, 5, 20, 101}) {
      std::vector<int> owner(static_cast<std::size_t>(total), 0);
      for (int i = 1; i <= n; ++i) {
        const std::vector<std::int64_t> points = shard_points(total, Shard{i, n});
        // Within one of total / n points each, ascending, and shard_of agrees.
        CHECK(static_cast<std::int64_t>(points.size()) >= total / n);
        CHECK(static_cast<std::int64_t>(points.size()) <= total / n + 1);
        CHECK(std::is_sorted(points.begin(), points.end()));
        for (const std::int64_t p : points) {
          CHECK(shard_of(p, n) == i);
          ++owner[static_cast<std::size_t>(p)];
        }
      }
      // Every point in exactly one shard.
      CHECK(std::count(owner.begin(), owner.end(), 1) == total);
    }
  }
  // A last axis of two values in 2 shards (index % 2 would give shard 1 every
  // even point): each shard gets both values, in 100 rounds at least 30 of each.
  for (const int i : {1, 2}) {
    const std::vector<std::int64_t> points = shard_points(200, Shard{i, 2});
    const auto even = std::count_if(points.begin(), points.end(), [](std::int64_t p) { return p % 2 == 0; });
    CHECK(even >= 30);
    CHECK(even <= 70);
  }
}

TEST_CASE("shard specs parse as I/N", "[scenarios][sweep]") {
  std::string error;
  CHECK(parse_shard("2/4", error)->index == 2);
  CHECK_FALSE(parse_shard("0/4", error));
  CHECK(error == "expected 1 <= I <= N in I/N, got '0/4'");
  CHECK_FALSE(parse_shard("2", error));
  CHECK_FALSE(parse_shard("a/b", error));
}

}  // namespace dtsim::scenarios
