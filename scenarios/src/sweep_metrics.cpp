// Metrics a sweep ranks by, the ranking, and the skip summary.
#include <algorithm>
#include <array>
#include <map>

#include "dtsim/scenarios/sweep.hpp"

namespace dtsim::scenarios {
namespace {

struct MetricName {
  Metric metric;
  std::string_view name;
};
constexpr std::array<MetricName, 8> kMetricNames{{{Metric::kStepTime, "step_time"},
                                                  {Metric::kThroughput, "throughput"},
                                                  {Metric::kMfu, "mfu"},
                                                  {Metric::kMemory, "memory"},
                                                  {Metric::kTimeToTrain, "time_to_train"},
                                                  {Metric::kGpuHours, "gpu_hours"},
                                                  {Metric::kEnergy, "energy"},
                                                  {Metric::kCost, "cost"}}};

}  // namespace

std::optional<Metric> parse_metric(std::string_view name) {
  for (const MetricName& m : kMetricNames) {
    if (m.name == name) return m.metric;
  }
  return std::nullopt;
}

std::string_view metric_name(Metric metric) {
  for (const MetricName& m : kMetricNames) {
    if (m.metric == metric) return m.name;
  }
  return "?";
}

std::vector<std::string_view> metric_names() {
  std::vector<std::string_view> out;
  for (const MetricName& m : kMetricNames) out.push_back(m.name);
  return out;
}

bool lower_is_better(Metric m) { return m != Metric::kThroughput && m != Metric::kMfu; }

std::optional<double> metric_value(const PointMetrics& m, Metric metric) {
  switch (metric) {
    case Metric::kStepTime: return m.step_time.seconds();
    case Metric::kThroughput: return m.tokens_per_second;
    case Metric::kMfu: return m.mfu;
    case Metric::kMemory: return m.peak_memory.as_double();
    case Metric::kTimeToTrain:
      if (m.cost) return m.cost->time_to_train_s;
      return std::nullopt;
    case Metric::kGpuHours:
      if (m.cost) return m.cost->gpu_hours;
      return std::nullopt;
    case Metric::kEnergy:
      if (m.cost) return m.cost->energy_kwh;
      return std::nullopt;
    case Metric::kCost:
      if (m.cost) return m.cost->cost;
      return std::nullopt;
  }
  return std::nullopt;
}

std::vector<std::size_t> rank_points(const SweepResult& result, Metric metric) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < result.points.size(); ++i) {
    if (!result.points[i].skipped) order.push_back(i);
  }
  const bool lower = lower_is_better(metric);
  // A total order (fits, has the metric, value, index): the same for any input order.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const PointResult& pa = result.points[a];
    const PointResult& pb = result.points[b];
    if (pa.metrics.fits != pb.metrics.fits) return pa.metrics.fits;
    const auto va = metric_value(pa.metrics, metric);
    const auto vb = metric_value(pb.metrics, metric);
    if (va.has_value() != vb.has_value()) return va.has_value();
    if (va && *va != *vb) return lower ? *va < *vb : *va > *vb;
    return pa.index < pb.index;
  });
  return order;
}

std::vector<std::pair<std::string, std::int64_t>> skip_reasons(const SweepResult& result) {
  std::map<std::string, std::int64_t> counts;
  for (const PointResult& p : result.points) {
    if (p.skipped) ++counts[p.reason];
  }
  std::vector<std::pair<std::string, std::int64_t>> out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace dtsim::scenarios
