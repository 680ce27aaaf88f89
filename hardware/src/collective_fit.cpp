// Collective part of the calibration fit (calibration_fit.hpp): latencies from
// the smallest messages, then per (kind, group size) a bandwidth-factor curve
// that makes plan_collective's estimate match every measured size.
#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <utility>

#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/hardware/topology.hpp"
#include "fit_common.hpp"

namespace dtsim::hardware::fit {

namespace {

using Group = std::pair<CollectiveKind, int>;

// Algorithm steps of one call inside a node (NCCL's ring; direct kinds: one).
double latency_steps(CollectiveKind kind, int p) {
  switch (kind) {
    case CollectiveKind::kAllReduce: return 2.0 * (p - 1);
    case CollectiveKind::kAllGather:
    case CollectiveKind::kReduceScatter:
    case CollectiveKind::kBroadcast: return p - 1.0;
    case CollectiveKind::kAllToAll:
    case CollectiveKind::kSendRecv: return 1.0;
  }
  return 1.0;
}

std::string group_name(const Group& g) {
  std::string s(to_string(g.first));
  s += " x";
  s += std::to_string(g.second);
  return s;
}

struct Estimate {
  double latency_s = 0.0;
  double total_s = 0.0;
};

class OneNode {
 public:
  OneNode(const NodeSpec& node, int gpus, const Calibration& cal) : cluster_(make_cluster(node, gpus)), topo_(cluster_, cal) {}
  Estimate estimate(CollectiveKind kind, int p, Bytes bytes, const CollectiveParams& params) const {
    std::vector<int> gpus(static_cast<std::size_t>(p));
    std::iota(gpus.begin(), gpus.end(), 0);
    const CollectivePlan plan = plan_collective(kind, gpus, bytes, topo_, params, CollectiveAlgorithm::kAuto);
    Estimate e;
    for (const CollectiveStage& s : plan.stages) e.latency_s += s.latency.seconds();
    e.total_s = estimate_plan(plan, topo_).seconds();
    return e;
  }

 private:
  static ClusterSpec make_cluster(const NodeSpec& node, int gpus) {
    ClusterSpec c;
    c.node = node;
    c.node.gpus_per_node = std::max(node.gpus_per_node, gpus);
    c.node.nics_per_node = std::min(std::max(c.node.nics_per_node, 1), c.node.gpus_per_node);
    c.num_nodes = 1;
    return c;
  }
  ClusterSpec cluster_;
  Topology topo_;
};

// The curve of one group from its measurements (ascending size).
CollectiveCurve fit_curve(const Group& g, const std::vector<const CollectiveMeasurement*>& records, const OneNode& net,
                          const CollectiveParams& flat) {
  CollectiveCurve curve;
  curve.kind = g.first;
  curve.group_size = g.second;
  for (const CollectiveMeasurement* m : records) {
    const Estimate e = net.estimate(g.first, g.second, m->bytes, flat);
    const double measured = m->time.seconds();
    const double bandwidth_part = e.total_s - e.latency_s;
    // Where the measurement is (almost) all latency the factor is ill-defined:
    // give the bandwidth term at most 95% of the measured time's worth.
    const double measured_part = std::max(measured - e.latency_s, 0.05 * measured);
    double factor = bandwidth_part > 0.0 ? bandwidth_part / measured_part : 1.0;
    factor = std::clamp(factor, 1e-3, 1.5);
    curve.points.push_back({m->bytes, factor});
  }
  return curve;
}

}  // namespace

void fit_collectives(const std::vector<CollectiveMeasurement>& records, const NodeSpec& node, Calibration& cal,
                     std::vector<FitResidual>& residuals) {
  if (records.empty()) return;
  std::map<Group, std::vector<const CollectiveMeasurement*>> groups;
  int max_p = 2;
  for (const CollectiveMeasurement& m : records) {
    if (m.group_size < 2 || !(m.time.seconds() > 0.0)) continue;
    groups[{m.kind, m.group_size}].push_back(&m);
    max_p = std::max(max_p, m.group_size);
  }
  for (auto& [g, v] : groups) {
    std::stable_sort(v.begin(), v.end(), [](const auto* a, const auto* b) { return a->bytes < b->bytes; });
  }

  // Latency: time of each group's smallest message = base + steps x hop.
  Eigen::MatrixXd a(static_cast<Eigen::Index>(groups.size()), 2);
  Eigen::VectorXd y(static_cast<Eigen::Index>(groups.size()));
  Eigen::Index row = 0;
  for (const auto& [g, v] : groups) {
    a(row, 0) = 1.0;
    a(row, 1) = latency_steps(g.first, g.second);
    y(row) = v.front()->time.seconds();
    ++row;
  }
  CollectiveParams& params = cal.collective;
  if (row >= 2) {
    const Eigen::VectorXd x = a.colPivHouseholderQr().solve(y);
    double base = x(0), hop = x(1);
    if (hop < 0.0) {
      hop = 0.0;
      base = y.mean();
    }
    if (base < 0.0) base = 0.0;
    params.base_latency = seconds_to_duration(base);
    params.intra_hop_latency = seconds_to_duration(hop);
    params.tree_intra_hop_latency = params.intra_hop_latency;
  }
  params.curves.clear();

  const OneNode net(node, max_p, cal);
  const CollectiveParams flat = params;
  for (const auto& [g, v] : groups) params.curves.push_back(fit_curve(g, v, net, flat));

  // Held out: curves from every other size predict the sizes in between.
  CollectiveParams half = flat;
  for (const auto& [g, v] : groups) {
    std::vector<const CollectiveMeasurement*> even;
    for (std::size_t i = 0; i < v.size(); i += 2) even.push_back(v[i]);
    half.curves.push_back(fit_curve(g, even, net, flat));
  }

  for (const auto& [g, v] : groups) {
    const std::string name = group_name(g);
    ResidualAccumulator in_all(name, "in_sample"), in_big(name + " >= 1 MiB", "in_sample");
    ResidualAccumulator out_big(name + " >= 1 MiB", "held_out");
    for (std::size_t i = 0; i < v.size(); ++i) {
      const CollectiveMeasurement& m = *v[i];
      const double measured = m.time.seconds();
      const double fitted = net.estimate(g.first, g.second, m.bytes, params).total_s;
      const bool big = m.bytes >= Bytes(1 << 20);
      in_all.add(fitted, measured);
      if (big) in_big.add(fitted, measured);
      if (big && i % 2 == 1) out_big.add(net.estimate(g.first, g.second, m.bytes, half).total_s, measured);
    }
    in_all.emit(residuals);
    in_big.emit(residuals);
    out_big.emit(residuals);
  }
}

std::vector<FitResidual> check_collectives(const std::vector<CollectiveMeasurement>& records, const NodeSpec& node,
                                           const Calibration& cal) {
  std::map<Group, std::vector<const CollectiveMeasurement*>> groups;
  int max_p = 2;
  for (const CollectiveMeasurement& m : records) {
    if (m.group_size < 2 || !(m.time.seconds() > 0.0)) continue;
    groups[{m.kind, m.group_size}].push_back(&m);
    max_p = std::max(max_p, m.group_size);
  }
  std::vector<FitResidual> out;
  if (groups.empty()) return out;
  const OneNode net(node, max_p, cal);
  for (const auto& [g, v] : groups) {
    const std::string name = group_name(g);
    ResidualAccumulator all(name, "checked"), big(name + " >= 1 MiB", "checked");
    for (const CollectiveMeasurement* m : v) {
      const double predicted = net.estimate(g.first, g.second, m->bytes, cal.collective).total_s;
      all.add(predicted, m->time.seconds());
      if (m->bytes >= Bytes(1 << 20)) big.add(predicted, m->time.seconds());
    }
    all.emit(out);
    big.emit(out);
  }
  return out;
}

}  // namespace dtsim::hardware::fit
