#include "dtsim/hardware/collective_curve.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace dtsim::hardware {

double collective_curve_factor(const CollectiveParams& params, CollectiveKind kind, int group_size, Bytes bytes) {
  const CollectiveCurve* best = nullptr;
  for (const CollectiveCurve& c : params.curves) {
    if (c.kind != kind || c.points.empty()) continue;
    if (best == nullptr) {
      best = &c;
      continue;
    }
    const int gap = std::abs(c.group_size - group_size);
    const int best_gap = std::abs(best->group_size - group_size);
    if (gap < best_gap || (gap == best_gap && c.group_size > best->group_size)) best = &c;
  }
  if (best == nullptr) return 1.0;
  const auto& pts = best->points;
  const double x = std::log2(std::max(bytes.as_double(), 1.0));
  const auto at = [](const CollectiveCurvePoint& p) { return std::log2(std::max(p.bytes.as_double(), 1.0)); };
  if (x <= at(pts.front())) return pts.front().factor;
  if (x >= at(pts.back())) return pts.back().factor;
  for (std::size_t i = 1; i < pts.size(); ++i) {
    if (x <= at(pts[i])) {
      const double x0 = at(pts[i - 1]), x1 = at(pts[i]);
      const double f = x1 > x0 ? (x - x0) / (x1 - x0) : 1.0;
      return pts[i - 1].factor + f * (pts[i].factor - pts[i - 1].factor);
    }
  }
  return pts.back().factor;
}

}  // namespace dtsim::hardware
