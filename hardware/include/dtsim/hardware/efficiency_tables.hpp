// Lookups over a fitted calibration's measured efficiencies (calibration.hpp):
// how the cost model turns a few hundred measured shapes into an efficiency
// for any shape.
//
// GEMM: measured samples correct the parametric efficiency
//   param(M, N, K) = compute_efficiency x wave(M, N) x K / (K + gemm_k_half).
// The correction is an inverse-distance-weighted mean of measured / param over
// the samples of the same dtype within distance 2 in log2 space (a factor 4
// in one dimension), trusted 1 - (d / 2)^2 where d is the nearest sample's
// distance (3/4 one octave away, none at two), so it is exact at a measured
// shape and fades to the parametric model away from them. Lookups touch only
// the 125 grid cells around the query, and are cached per shape.
//
// Attention: the efficiency at the query's sequence length, interpolated
// linearly in log2(seq) between the measured lengths of the nearest measured
// head width of the same kernel (forward and backward separately), flat
// beyond the ends; nothing when that kernel was not measured.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <tuple>
#include <vector>

#include "dtsim/core/work.hpp"
#include "dtsim/hardware/calibration.hpp"

namespace dtsim::hardware {

class GemmEfficiencyTable {
 public:
  // `parametric` is the roofline's efficiency for a sample's shape, so the
  // table stores each sample's correction factor.
  template <typename Parametric>
  GemmEfficiencyTable(const std::vector<GemmSample>& samples, Parametric parametric) {
    for (const GemmSample& s : samples) {
      const double p = parametric(s.shape, s.dtype);
      if (p <= 0.0) continue;
      Entry e{log2_of(s.shape.m), log2_of(s.shape.n), log2_of(s.shape.k), s.efficiency / p};
      cells_[cell_of(s.dtype, e.lm, e.ln, e.lk)].push_back(e);
    }
  }
  bool empty() const { return cells_.empty(); }
  // Multiplicative correction to the parametric efficiency; 1 far from every sample.
  double correction(const GemmShape& shape, DType dtype) const;

 private:
  struct Entry {
    double lm, ln, lk, correction;
  };
  using Cell = std::tuple<int, int, int, int>;
  static double log2_of(std::int64_t v);
  static Cell cell_of(DType dtype, double lm, double ln, double lk);
  double lookup(const GemmShape& shape, DType dtype) const;
  std::map<Cell, std::vector<Entry>> cells_;
  // Shapes repeat across a program's tasks: remember each answer. Guarded so
  // that one cost model may serve several threads.
  struct ShapeHash {
    std::size_t operator()(const std::tuple<std::int64_t, std::int64_t, std::int64_t, int>& k) const {
      const auto [m, n, kk, d] = k;
      std::size_t h = std::hash<std::int64_t>{}(m);
      h = h * 1000003u ^ std::hash<std::int64_t>{}(n);
      h = h * 1000003u ^ std::hash<std::int64_t>{}(kk);
      return h * 31u + static_cast<std::size_t>(d);
    }
  };
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::tuple<std::int64_t, std::int64_t, std::int64_t, int>, double, ShapeHash> cache_;
};

class AttentionEfficiencyTable {
 public:
  explicit AttentionEfficiencyTable(const std::vector<AttentionSample>& samples);
  bool empty() const { return points_.empty(); }
  // Unset when the table is empty.
  std::optional<double> efficiency(AttentionKernel kernel, std::int64_t seq, std::int64_t head_dim,
                                   bool backward) const;

 private:
  // (kernel, head_dim, backward) -> (log2 seq, efficiency), ascending seq.
  std::map<std::tuple<AttentionKernel, std::int64_t, bool>, std::vector<std::pair<double, double>>> points_;
};

}  // namespace dtsim::hardware
