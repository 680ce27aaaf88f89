// The Chrome trace: well-formed JSON that Perfetto opens, one complete event
// per task with exact microsecond times, named processes and threads.
#include <catch2/catch.hpp>

#include <map>

#include "dtsim/scenarios/trace.hpp"
#include "scenario_test_util.hpp"

using namespace dtsim;
using namespace dtsim::scenarios;
using namespace dtsim::scenarios::testing;

TEST_CASE("the trace parses back with one X event per task", "[scenarios][trace]") {
  const sim::Report r = sample_report();
  const Json j = Json::parse(render_trace(sample_scenario(), r));
  REQUIRE(j.contains("traceEvents"));
  std::vector<Json> complete;
  std::map<int, std::string> process_names;
  std::map<std::pair<int, int>, std::string> thread_names;
  for (const Json& e : j["traceEvents"]) {
    if (e["ph"] == "X") complete.push_back(e);
    if (e["ph"] == "M" && e["name"] == "process_name") process_names[e["pid"]] = e["args"]["name"];
    if (e["ph"] == "M" && e["name"] == "thread_name") thread_names[{e["pid"], e["tid"]}] = e["args"]["name"];
  }
  REQUIRE(complete.size() == r.timeline.size());
  const Json& first = complete[0];
  CHECK(first["name"] == "qkv_proj");
  CHECK(first["pid"] == 0);
  CHECK(first["tid"] == 0);
  CHECK(first["ts"].get<double>() == 0.0);
  CHECK(first["dur"].get<double>() == Approx(1.5));
  CHECK(first["args"]["phase"] == "forward");
  CHECK(first["args"]["microbatch"] == 0);
  CHECK(first["args"]["layer"] == 0);
  CHECK(first["args"]["stage"] == 0);
  // A send has no layer: the key is left out rather than -1.
  CHECK_FALSE(complete[2]["args"].contains("layer"));
  CHECK(complete[3]["pid"] == 4);

  CHECK(process_names[0] == "stage 0 (4 ranks: 0-3)");
  CHECK(process_names[4] == "stage 1 (4 ranks: 4-7)");
  CHECK(thread_names[{0, 0}] == "compute");
  CHECK(thread_names[{0, 1}] == "tp comm");
  CHECK(thread_names[{0, 3}] == "pp send fwd");
  CHECK(thread_names.count({4, 1}) == 0);  // only streams that ran anything
  CHECK(j["otherData"]["scenario"] == "sample");
}

TEST_CASE("trace times are exact to the picosecond", "[scenarios][trace]") {
  const std::string text = render_trace(sample_scenario(), sample_report());
  // 1,500,000 ps -> 2,000,001 ps: ts 1.500000 us, dur 0.500001 us.
  CHECK(text.find("\"ts\":1.500000,\"dur\":0.500001") != std::string::npos);
  CHECK(text == render_trace(sample_scenario(), sample_report()));
}

TEST_CASE("a full run names every rank by its coordinates", "[scenarios][trace]") {
  sim::Report r = sample_report();
  r.symmetric = false;
  const Json j = Json::parse(render_trace(sample_scenario(), r));
  std::map<int, std::string> names;
  for (const Json& e : j["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "process_name") names[e["pid"]] = e["args"]["name"];
  }
  CHECK(names[0] == "rank 0 (stage 0, tp 0, dp 0)");
  CHECK(names[4] == "rank 4 (stage 1, tp 0, dp 0)");
}

TEST_CASE("a report without a timeline cannot be traced", "[scenarios][trace]") {
  sim::Report r = sample_report();
  r.timeline.clear();
  CHECK_THROWS_AS(render_trace(sample_scenario(), r), InternalError);
}
