// The calibration fit's orchestration (calibration_fit.hpp states what is
// fitted and how; the parts live in compute_fit.cpp, host_fit.cpp and
// collective_fit.cpp).
#include "dtsim/hardware/calibration_fit.hpp"

#include <map>
#include <string>
#include <vector>

#include "dtsim/core/error.hpp"
#include "fit_common.hpp"

namespace dtsim::hardware {

namespace {

using Records = fit::Records;

// Eager-timed records running at less than half the per-byte rate of the
// largest record of the same op time the host, not the kernel: the fused
// AdamW step measures 75-90 us from 1M to 4M parameters on H100 and H200,
// flat, where the kernel scales with the bytes. Fitted, they would charge
// every launch of the update that host time.
std::vector<MemoryBoundMeasurement> without_host_bound(std::vector<MemoryBoundMeasurement> v) {
  std::map<std::string, const MemoryBoundMeasurement*> largest;
  for (const MemoryBoundMeasurement& m : v) {
    auto& l = largest[m.op];
    if (l == nullptr || m.bytes > l->bytes) l = &m;
  }
  const auto per_byte = [](const MemoryBoundMeasurement& m) { return m.time.seconds() / m.bytes.as_double(); };
  std::vector<MemoryBoundMeasurement> kept;
  for (const MemoryBoundMeasurement& m : v) {
    if (m.eager_timed && m.bytes > Bytes(0) && per_byte(m) > 2.0 * per_byte(*largest[m.op])) continue;
    kept.push_back(m);
  }
  return kept;
}

Records gather(std::span<const MicrobenchProfile> profiles) {
  Records r;
  for (const MicrobenchProfile& p : profiles) {
    r.gemm.insert(r.gemm.end(), p.gemm.begin(), p.gemm.end());
    r.attention.insert(r.attention.end(), p.attention.begin(), p.attention.end());
    r.memory_bound.insert(r.memory_bound.end(), p.memory_bound.begin(), p.memory_bound.end());
    r.launch.insert(r.launch.end(), p.launch.begin(), p.launch.end());
    r.eager_gap.insert(r.eager_gap.end(), p.eager_gap.begin(), p.eager_gap.end());
    r.collectives.insert(r.collectives.end(), p.collectives.begin(), p.collectives.end());
    r.dtensor.insert(r.dtensor.end(), p.dtensor.begin(), p.dtensor.end());
    r.overlap.insert(r.overlap.end(), p.overlap.begin(), p.overlap.end());
    r.layer_host.insert(r.layer_host.end(), p.layer_host.begin(), p.layer_host.end());
    r.moe_layer_host.insert(r.moe_layer_host.end(), p.moe_layer_host.begin(), p.moe_layer_host.end());
    r.eager_layer_host.insert(r.eager_layer_host.end(), p.eager_layer_host.begin(), p.eager_layer_host.end());
    r.wrapper_host.insert(r.wrapper_host.end(), p.wrapper_host.begin(), p.wrapper_host.end());
    r.pipeline_host.insert(r.pipeline_host.end(), p.pipeline_host.begin(), p.pipeline_host.end());
  }
  r.memory_bound = without_host_bound(std::move(r.memory_bound));
  return r;
}

std::string describe_sources(std::span<const MicrobenchProfile> profiles) {
  std::string s = "fitted by dtsim calibrate from";
  for (const MicrobenchProfile& p : profiles) {
    s += " ";
    s += p.origin.empty() ? std::string("(unnamed profile)") : p.origin;
    s += " [";
    s += p.machine;
    s += ", ";
    s += p.gpu_name;
    if (!p.versions.empty()) {
      s += ", ";
      s += p.versions;
    }
    s += "]";
  }
  s += "; figures not measured keep the datasheet defaults";
  return s;
}

}  // namespace

CalibrationFit fit_calibration(std::span<const MicrobenchProfile> profiles, const NodeSpec& node, std::string name) {
  if (profiles.empty()) throw InputError("", "no microbenchmark profile given");
  const Records r = gather(profiles);
  if (r.gemm.empty()) {
    throw InputError("", "the profile(s) hold no GEMM measurements (suite 'gemm'): the GEMM efficiency cannot be fitted");
  }
  const GpuSpec& gpu = node.gpu;
  CalibrationFit out;
  Calibration& cal = out.calibration;
  cal = datasheet_defaults(gpu);
  cal.name = std::move(name);
  cal.source = describe_sources(profiles);

  fit::fit_host(r, cal);
  fit::fit_overlap(r, cal);
  const Duration floor = fit::kernel_floor(r, cal.params(OpClass::kGemm).kernel_overhead);
  for (const OpClass c : {OpClass::kGemm, OpClass::kAttention}) cal.params(c).kernel_overhead = floor;
  fit::fit_gemm(r, gpu, cal);
  fit::fit_attention(r, gpu, cal);
  fit::fit_memory_bound(r, gpu, cal);
  fit::fit_collectives(r.collectives, node, cal, out.residuals);

  std::vector<FitResidual> compute;
  fit::gemm_residuals(r, gpu, cal, compute);
  fit::attention_residuals(r, gpu, cal, compute);
  fit::memory_bound_residuals(r, gpu, cal, compute);
  out.residuals.insert(out.residuals.begin(), compute.begin(), compute.end());

  if (auto problems = validate_calibration(cal); !problems.empty()) {
    throw InternalError("fitted calibration fails validation: " + problems.front().path + ": " + problems.front().message);
  }
  return out;
}

std::vector<FitResidual> check_collectives(const MicrobenchProfile& profile, const NodeSpec& node,
                                           const Calibration& calibration) {
  return fit::check_collectives(profile.collectives, node, calibration);
}

}  // namespace dtsim::hardware
