// SVG charts: well-formed XML that carries every plotted value, and the Pareto
// front by its definition.
#include <catch2/catch.hpp>

#include <regex>

#include "dtsim/scenarios/plot.hpp"

namespace dtsim::scenarios {
namespace {

// A strict enough well-formedness check for what the plots write: every tag
// closes in order, attributes are quoted, and only the five XML entities appear.
bool well_formed(const std::string& svg) {
  std::vector<std::string> open;
  std::size_t pos = 0;
  if (svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0) != 0) return false;
  pos = svg.find('\n') + 1;
  while ((pos = svg.find('<', pos)) != std::string::npos) {
    const std::size_t end = svg.find('>', pos);
    if (end == std::string::npos) return false;
    std::string tag = svg.substr(pos + 1, end - pos - 1);
    if (tag.find('<') != std::string::npos) return false;
    if (tag.front() == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return false;
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
    // Quotes in attributes come in pairs.
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0) return false;
    pos = end + 1;
  }
  static const std::regex bad_entity("&(?!(amp|lt|gt|quot|apos);)");
  return open.empty() && !std::regex_search(svg, bad_entity);
}

PointResult point(std::int64_t index, int gpus, double step_s, double hours, double cost) {
  PointResult p;
  p.index = index;
  p.values = {std::to_string(gpus)};
  p.metrics.num_gpus = gpus;
  p.metrics.step_time = seconds_to_duration(step_s);
  p.metrics.cost = CostEstimate{1, hours * 3600.0, hours * gpus, 1.0, cost};
  p.metrics.currency = "USD";
  return p;
}

SweepResult example() {
  SweepResult r;
  r.name = "a<b & c";
  r.axis_paths = {"/cluster/num_nodes"};
  r.total_points = 5;
  // (cost, hours): (10, 9) (20, 5) (30, 6) (40, 2) and a skipped point.
  r.points = {point(0, 8, 4.0, 9, 10), point(1, 16, 2.5, 5, 20), point(2, 32, 1.5, 6, 30), point(3, 64, 1.0, 2, 40)};
  PointResult skipped;
  skipped.index = 4;
  skipped.values = {"128"};
  skipped.skipped = true;
  skipped.reason = "/plan: no";
  r.points.push_back(skipped);
  return r;
}

}  // namespace

TEST_CASE("the Pareto front keeps points no cheaper point beats on time", "[scenarios][plot]") {
  // (30 USD, 6 h) is dominated by (20 USD, 5 h); the others are each faster than every cheaper one.
  CHECK(pareto_front(example()) == std::vector<std::size_t>{0, 1, 3});
}

TEST_CASE("the sweep plot is well-formed and carries every simulated point", "[scenarios][plot]") {
  const std::string svg = render_sweep_plot(example());
  CHECK(well_formed(svg));
  CHECK(svg.find("<title>dtsim sweep a&lt;b &amp; c</title>") != std::string::npos);
  for (const char* p : {"data-point=\"0\" data-gpus=\"8\" data-step-time-s=\"4.0\"",
                        "data-point=\"3\" data-gpus=\"64\" data-step-time-s=\"1.0\""}) {
    CHECK(svg.find(p) != std::string::npos);
  }
  CHECK(svg.find("data-point=\"4\"") == std::string::npos);  // skipped: not plotted
  const std::regex front("class=\"front\"");
  CHECK(std::distance(std::sregex_iterator(svg.begin(), svg.end(), front), std::sregex_iterator()) == 3);
  CHECK(svg.find("class=\"front-line\"") != std::string::npos);
}

TEST_CASE("the memory plot draws one bar per stage and the capacity", "[scenarios][plot]") {
  models::MemoryBreakdown a, b;
  a.weights = Bytes(std::int64_t{10} << 30);
  a.activations = Bytes(std::int64_t{30} << 30);
  b.weights = Bytes(std::int64_t{12} << 30);
  const std::string svg = render_memory_plot({a, b}, Bytes(std::int64_t{80} << 30), "stages");
  CHECK(well_formed(svg));
  CHECK(svg.find("data-stage=\"0\" data-total-bytes=\"42949672960\"") != std::string::npos);  // 40 GiB
  CHECK(svg.find("data-stage=\"1\" data-total-bytes=\"12884901888\"") != std::string::npos);
  CHECK(svg.find("data-capacity-bytes=\"85899345920\"") != std::string::npos);
}

}  // namespace dtsim::scenarios
