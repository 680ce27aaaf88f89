#include "dtsim/hardware/efficiency_tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace dtsim::hardware {

double GemmEfficiencyTable::log2_of(std::int64_t v) { return std::log2(static_cast<double>(std::max<std::int64_t>(v, 1))); }

GemmEfficiencyTable::Cell GemmEfficiencyTable::cell_of(DType dtype, double lm, double ln, double lk) {
  return {static_cast<int>(dtype), static_cast<int>(std::lround(lm)), static_cast<int>(std::lround(ln)),
          static_cast<int>(std::lround(lk))};
}

double GemmEfficiencyTable::correction(const GemmShape& shape, DType dtype) const {
  if (cells_.empty()) return 1.0;
  const auto key = std::make_tuple(shape.m, shape.n, shape.k, static_cast<int>(dtype));
  {
    const std::lock_guard<std::mutex> lock(cache_mutex_);
    if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  const double c = lookup(shape, dtype);
  const std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.emplace(key, c);
  return c;
}

double GemmEfficiencyTable::lookup(const GemmShape& shape, DType dtype) const {
  const double lm = log2_of(shape.m), ln = log2_of(shape.n), lk = log2_of(shape.k);
  const auto [d, cm, cn, ck] = cell_of(dtype, lm, ln, lk);
  constexpr double kRadius = 2.0;
  double weight_sum = 0.0, weighted = 0.0, nearest = std::numeric_limits<double>::infinity();
  for (int dm = -2; dm <= 2; ++dm) {
    for (int dn = -2; dn <= 2; ++dn) {
      for (int dk = -2; dk <= 2; ++dk) {
        const auto it = cells_.find({d, cm + dm, cn + dn, ck + dk});
        if (it == cells_.end()) continue;
        for (const Entry& e : it->second) {
          const double dist = std::sqrt((e.lm - lm) * (e.lm - lm) + (e.ln - ln) * (e.ln - ln) + (e.lk - lk) * (e.lk - lk));
          if (dist >= kRadius) continue;
          nearest = std::min(nearest, dist);
          const double w = 1.0 / (dist * dist + 1e-9);
          weight_sum += w;
          weighted += w * e.correction;
        }
      }
    }
  }
  if (weight_sum == 0.0) return 1.0;
  // Fade towards the parametric model as the nearest sample gets farther:
  // 3/4 trusted one octave away, nothing at two.
  const double trust = 1.0 - (nearest / kRadius) * (nearest / kRadius);
  return trust * (weighted / weight_sum) + (1.0 - trust);
}

AttentionEfficiencyTable::AttentionEfficiencyTable(const std::vector<AttentionSample>& samples) {
  for (const AttentionSample& s : samples) {
    points_[{s.kernel, s.head_dim, s.backward}].emplace_back(std::log2(static_cast<double>(std::max<std::int64_t>(s.seq, 1))),
                                                   s.efficiency);
  }
  for (auto& [key, pts] : points_) std::sort(pts.begin(), pts.end());
}

std::optional<double> AttentionEfficiencyTable::efficiency(AttentionKernel kernel, std::int64_t seq,
                                                           std::int64_t head_dim, bool backward) const {
  // The nearest measured head width with this direction (ties: the smaller).
  const std::vector<std::pair<double, double>>* best = nullptr;
  std::int64_t best_gap = std::numeric_limits<std::int64_t>::max();
  for (const auto& [key, pts] : points_) {
    const auto& [k, dim, bwd] = key;
    if (k != kernel || bwd != backward) continue;
    const std::int64_t gap = std::llabs(dim - head_dim);
    if (gap < best_gap) {
      best_gap = gap;
      best = &pts;
    }
  }
  if (best == nullptr || best->empty()) return std::nullopt;
  const auto& pts = *best;
  const double x = std::log2(static_cast<double>(std::max<std::int64_t>(seq, 1)));
  if (x <= pts.front().first) return pts.front().second;
  if (x >= pts.back().first) return pts.back().second;
  const auto hi = std::upper_bound(pts.begin(), pts.end(), std::make_pair(x, std::numeric_limits<double>::infinity()));
  const auto lo = hi - 1;
  const double f = (x - lo->first) / (hi->first - lo->first);
  return lo->second + f * (hi->second - lo->second);
}

}  // namespace dtsim::hardware
