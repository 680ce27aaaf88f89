// Helpers shared by the calibration fits (calibration_fit.cpp, collective_fit.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dtsim/hardware/calibration_fit.hpp"

namespace dtsim::hardware::fit {

// Accumulates |predicted / measured - 1| for one residual group.
class ResidualAccumulator {
 public:
  ResidualAccumulator(std::string group, std::string kind) : group_(std::move(group)), kind_(std::move(kind)) {}
  void add(double predicted_s, double measured_s) {
    if (!(measured_s > 0.0) || !std::isfinite(predicted_s)) return;
    const double e = std::abs(predicted_s / measured_s - 1.0);
    sum_ += e;
    max_ = std::max(max_, e);
    ++n_;
  }
  void emit(std::vector<FitResidual>& out) const {
    if (n_ == 0) return;
    out.push_back({group_, kind_, n_, sum_ / n_, max_});
  }

 private:
  std::string group_, kind_;
  double sum_ = 0.0, max_ = 0.0;
  int n_ = 0;
};

inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Every measurement of every profile, in one list per kind.
using Records = MicrobenchProfile;

// Each fit refines `cal` in place from the records (calibration_fit.hpp).
Duration kernel_floor(const Records& r, Duration fallback);
void fit_host(const Records& r, Calibration& cal);
void fit_overlap(const Records& r, Calibration& cal);
void fit_gemm(const Records& r, const GpuSpec& gpu, Calibration& cal);
void fit_attention(const Records& r, const GpuSpec& gpu, Calibration& cal);
void fit_memory_bound(const Records& r, const GpuSpec& gpu, Calibration& cal);
void gemm_residuals(const Records& r, const GpuSpec& gpu, const Calibration& cal, std::vector<FitResidual>& out);
void attention_residuals(const Records& r, const GpuSpec& gpu, const Calibration& cal, std::vector<FitResidual>& out);
void memory_bound_residuals(const Records& r, const GpuSpec& gpu, const Calibration& cal,
                            std::vector<FitResidual>& out);

// Fits the collective latencies and curves of `cal` (see calibration_fit.hpp)
// and appends the collective residuals.
// Residuals ("checked") of `cal`'s collectives against measurements it was not fitted on.
std::vector<FitResidual> check_collectives(const std::vector<CollectiveMeasurement>& records, const NodeSpec& node,
                                           const Calibration& cal);
void fit_collectives(const std::vector<CollectiveMeasurement>& records, const NodeSpec& node, Calibration& cal,
                     std::vector<FitResidual>& residuals);

}  // namespace dtsim::hardware::fit
