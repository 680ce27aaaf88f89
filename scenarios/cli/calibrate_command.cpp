// dtsim calibrate: fit the cost model to measured microbenchmark profiles and
// write a calibration file that scenarios can name.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli_common.hpp"
#include "dtsim/hardware/calibration_fit.hpp"
#include "dtsim/scenarios/calibration_io.hpp"
#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/scenarios/training_runs.hpp"

namespace dtsim::cli {

using namespace dtsim::scenarios;

namespace {

struct CalibrateArgs {
  std::vector<std::string> profiles;
  std::string name;
  std::string output;
  std::optional<std::string> node;
  std::optional<int> gpus;  // keep only measurements of groups up to this size
  std::vector<std::string> checks;  // profiles whose collectives the fit is checked against
};

std::string option_value(std::span<const std::string_view> args, std::size_t& i, std::string_view option) {
  const std::string_view a = args[i];
  if (a.size() > option.size() && a.substr(0, option.size()) == option && a[option.size()] == '=') {
    return std::string(a.substr(option.size() + 1));
  }
  if (i + 1 >= args.size()) throw UsageError(std::string(option) + " needs a value");
  return std::string(args[++i]);
}

bool is_option(std::string_view a, std::string_view option) {
  return a == option || (a.size() > option.size() && a.substr(0, option.size()) == option && a[option.size()] == '=');
}

std::optional<int> parse_positive(const std::string& s) {
  if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const int n = std::stoi(s);
  return n > 0 ? std::optional<int>(n) : std::nullopt;
}

// A machine with fewer GPUs than the profile's: only what it could have measured.
void keep_groups_up_to(hardware::MicrobenchProfile& p, int gpus) {
  std::erase_if(p.collectives, [&](const auto& m) { return m.group_size > gpus; });
  std::erase_if(p.dtensor, [&](const auto& m) { return m.tp > gpus; });
  std::erase_if(p.overlap, [&](const auto& m) { return m.world > gpus; });
  std::erase_if(p.layer_host, [&](const auto& m) { return m.tp > gpus; });
  std::erase_if(p.moe_layer_host, [&](const auto& m) { return m.processes > gpus; });
  std::erase_if(p.eager_layer_host, [&](const auto& m) { return m.processes > gpus; });
  std::erase_if(p.wrapper_host, [&](const auto& m) { return m.processes > gpus; });
}

CalibrateArgs parse_calibrate_args(std::span<const std::string_view> args) {
  static constexpr std::string_view kOptions[] = {"--name", "--output", "--node", "--gpus", "--check"};
  CalibrateArgs c;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (is_option(a, "--name")) {
      c.name = option_value(args, i, "--name");
    } else if (is_option(a, "--output") || a == "-o") {
      c.output = a == "-o" ? option_value(args, i, "-o") : option_value(args, i, "--output");
    } else if (is_option(a, "--node")) {
      c.node = option_value(args, i, "--node");
    } else if (is_option(a, "--check")) {
      c.checks.push_back(option_value(args, i, "--check"));
    } else if (is_option(a, "--gpus")) {
      const std::string v = option_value(args, i, "--gpus");
      const auto n = parse_positive(v);
      if (!n) throw UsageError("--gpus needs a positive integer, got '" + v + "'");
      c.gpus = *n;
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError(with_hint("option", a, kOptions, "calibrate"));
    } else {
      c.profiles.emplace_back(a);
    }
  }
  if (c.profiles.empty()) throw UsageError("calibrate needs at least one microbenchmark profile (JSON)");
  if (c.name.empty()) throw UsageError("calibrate needs --name NAME (how scenarios will refer to the calibration)");
  if (c.output.empty()) throw UsageError("calibrate needs --output FILE (e.g. hardware/calibration/fitted/NAME.json)");
  return c;
}

std::string percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * x);
  return buf;
}

// The fitted host model against the whole tiny steps the profiles measured
// (bench_framework.py --only-step-host): host-bound by construction, fitted
// by nothing, so their error is the host model's out of sample.
void print_step_host_check(const std::vector<hardware::MicrobenchProfile>& profiles, const hardware::NodeSpec& node,
                           const hardware::Calibration& calibration) {
  std::vector<hardware::StepHostMeasurement> steps;
  for (const hardware::MicrobenchProfile& p : profiles) steps.insert(steps.end(), p.step_host.begin(), p.step_host.end());
  if (steps.empty()) return;
  const std::vector<RunComparison> rows = predict_step_host(steps, node, calibration);
  std::cout << "Whole steps  " << rows.size()
            << " tiny training step(s) measured on the host (not fitted), predicted with this calibration:\n";
  double sum = 0.0;
  for (const RunComparison& r : rows) {
    char line[192];
    std::snprintf(line, sizeof line, "  %-28s measured %8.3f ms, predicted %8.3f ms (%+.1f%%; GPU waits for the host %.0f%%)\n",
                  r.name.c_str(), r.measured.seconds() * 1e3, r.predicted.seconds() * 1e3, 100.0 * r.step_error,
                  100.0 * r.predicted_host_wait.seconds() / r.predicted.seconds());
    std::cout << line;
    sum += std::abs(r.step_error);
  }
  std::cout << "  mean |error| " << percent(sum / static_cast<double>(rows.size())) << "\n";
}

}  // namespace

int command_calibrate(std::span<const std::string_view> args) {
  const CalibrateArgs a = parse_calibrate_args(args);
  std::vector<hardware::MicrobenchProfile> profiles;
  for (const std::string& file : a.profiles) {
    try {
      profiles.push_back(read_microbench_profile(read_text_file(file), file));
      if (a.gpus) keep_groups_up_to(profiles.back(), *a.gpus);
    } catch (const InputError& e) {
      throw FileInputError(file, e);
    }
  }
  // Profiles to check the fit against, read first: a bad one fails before anything is written.
  std::vector<hardware::MicrobenchProfile> checks;
  for (const std::string& file : a.checks) {
    try {
      checks.push_back(read_microbench_profile(read_text_file(file), file));
      if (a.gpus) keep_groups_up_to(checks.back(), *a.gpus);
    } catch (const InputError& e) {
      throw FileInputError(file, e);
    }
  }
  const std::string node_name = a.node ? *a.node : node_for_gpu(profiles.front().gpu_name);
  if (node_name.empty()) {
    throw UsageError("cannot tell the node preset of GPU '" + profiles.front().gpu_name +
                     "'; name it with --node (dtsim list nodes)");
  }
  const Catalogs catalogs = builtin_catalogs();
  const hardware::NodeSpec* node = catalogs.hardware.find_node(node_name);
  if (node == nullptr) {
    std::vector<std::string> names = catalogs.hardware.node_names();
    std::vector<std::string_view> views(names.begin(), names.end());
    throw UsageError(with_hint("node", node_name, views, "calibrate"));
  }
  // Efficiencies are fitted against the preset GPU's datasheet peaks: profiles
  // all of another known GPU would give a calibration that misstates both.
  // One borrowed from another GPU beside the node's own (the shipped H200
  // calibrations take H100's eager gap and wrapper ratios) is said, not refused.
  std::vector<std::string> borrowed;
  for (const hardware::MicrobenchProfile& p : profiles) {
    const std::string own = node_for_gpu(p.gpu_name);
    if (!own.empty() && own != node->name) borrowed.push_back("'" + p.origin + "' (" + p.gpu_name + ")");
  }
  if (borrowed.size() == profiles.size()) {
    const std::string own = node_for_gpu(profiles.front().gpu_name);
    throw UsageError("profile '" + profiles.front().origin + "' was measured on '" + profiles.front().gpu_name +
                     "', the GPU of " + own + ", not of " + node->name + " (" + node->gpu.name +
                     "); fit it with --node " + own);
  }
  const hardware::CalibrationFit fit = hardware::fit_calibration(profiles, *node, a.name);

  CalibrationFile file{fit.calibration, node->gpu.name, fit.residuals};
  std::ofstream out(a.output, std::ios::binary | std::ios::trunc);
  if (!out) throw InputError("", "cannot write calibration file '" + a.output + "'");
  out << write_calibration_json(file);
  out.close();
  if (!out) throw InputError("", "cannot write calibration file '" + a.output + "'");

  const hardware::Calibration& c = fit.calibration;
  std::cout << "Calibration  " << c.name << " for " << node->gpu.name << " (" << node->name << "), from "
            << profiles.size() << " profile(s)\n";
  for (const std::string& b : borrowed) {
    std::cout << "Borrowed     " << b << ": measured on another GPU, used as if on " << node->gpu.name << "\n";
  }
  char line[256];
  std::snprintf(line, sizeof line, "GEMM         efficiency %.3f x wave x K/(K+%.0f), tile %dx%d, %zu samples\n",
                c.params(OpClass::kGemm).compute_efficiency, c.gemm_k_half, c.gemm_tile_m, c.gemm_tile_n,
                c.gemm_samples.size());
  std::cout << line;
  std::snprintf(line, sizeof line, "Attention    median efficiency %.3f, %zu samples\n",
                c.params(OpClass::kAttention).compute_efficiency, c.attention_samples.size());
  std::cout << line;
  std::snprintf(line, sizeof line, "Host         %.2f us per kernel launch, %.2f us per collective call\n",
                c.host.kernel_launch.microseconds(), c.host.collective_launch.microseconds());
  std::cout << line;
  std::snprintf(line, sizeof line, "Eager gap    %.2f us per kernel launched eagerly (beyond a CUDA graph's)%s\n",
                c.host.eager_kernel_gap.microseconds(), c.host.eager_kernel_gap > Duration::zero() ? "" : ", not measured");
  std::cout << line;
  // The measured eager layers: what PyTorch-eager predictions spread over a layer's launches.
  for (const hardware::LayerHost& l : c.host.layers) {
    std::snprintf(line, sizeof line, "Eager layer  TP %d%s, %d process(es): %.0f us host per forward + backward\n", l.tp,
                  l.sequence_parallel ? " + SP" : "", l.processes, l.layer.microseconds());
    std::cout << line;
  }
  for (const hardware::AttentionTail& t : c.attention_tails) {
    std::snprintf(line, sizeof line, "Attention    %s %s: launch tail of %.2f thread blocks per SM\n",
                  std::string(to_string(t.kernel)).c_str(), t.backward ? "bwd" : "fwd", t.blocks_per_sm);
    std::cout << line;
  }
  for (const hardware::EagerBlockHost& b : c.host.blocks) {
    std::snprintf(line, sizeof line, "Eager block  %s%s%s: %.2f x the bf16 Llama layer's host time\n",
                  b.block == hardware::EagerBlock::kGpt   ? "GPT"
                  : b.block == hardware::EagerBlock::kMoe ? "MoE (Llama, routed experts)"
                                                          : "Llama",
                  b.autocast ? " under AMP" : " in bf16", b.recompute ? " with full recompute" : "", b.ratio);
    std::cout << line;
  }
  for (const hardware::ForwardShare& f : c.host.forward_shares) {
    std::snprintf(line, sizeof line, "Forward      %s%s%s: %.0f%% of the block's host time is its forward\n",
                  f.block == hardware::EagerBlock::kGpt ? "GPT" : "Llama", f.autocast ? " under AMP" : " in bf16",
                  f.recompute ? " with full recompute" : "", 100.0 * f.share);
    std::cout << line;
  }
  for (const hardware::WrapperHost& w : c.host.wrappers) {
    const char* precision = w.precision == hardware::WrapperPrecision::kAmp         ? "AMP"
                            : w.precision == hardware::WrapperPrecision::kFsdpMixed ? "mixed precision"
                                                                                    : "bf16";
    if (w.wrapper == hardware::DataParallelWrapper::kFsdp2) {
      std::snprintf(line, sizeof line,
                    "Wrapper      FSDP2 %s: %.2f x the bf16 Llama layer's host time per all-gather, %.2f x per unit "
                    "beyond its gathers\n",
                    precision, w.all_gather, w.rest);
    } else {
      std::snprintf(line, sizeof line, "Wrapper      DDP %s: %.2f x the bf16 Llama layer's host time per layer\n",
                    precision, w.rest);
    }
    std::cout << line;
  }
  std::size_t pipeline_records = 0;
  for (const hardware::MicrobenchProfile& p : profiles) pipeline_records += p.pipeline_host.size();
  if (pipeline_records > 0) {
    std::cout << "Pipelining   " << pipeline_records
              << " one-stage schedule host record(s) read, not fitted (docs/calibration.md says why)\n";
  }
  print_step_host_check(profiles, *node, c);
  std::snprintf(line, sizeof line, "Collectives  base %.2f us + %.2f us per NVLink hop, %zu curves\n",
                c.collective.base_latency.microseconds(), c.collective.intra_hop_latency.microseconds(),
                c.collective.curves.size());
  std::cout << line << "\nFit residuals |predicted / measured - 1|:\n";
  std::snprintf(line, sizeof line, "  %-36s %-9s %7s %8s %8s\n", "group", "kind", "samples", "mean", "max");
  std::cout << line;
  for (const hardware::FitResidual& r : fit.residuals) {
    std::snprintf(line, sizeof line, "  %-36s %-9s %7d %8s %8s\n", r.group.c_str(), r.kind.c_str(), r.samples,
                  percent(r.mean_abs_error).c_str(), percent(r.max_abs_error).c_str());
    std::cout << line;
  }
  for (std::size_t k = 0; k < a.checks.size(); ++k) {
    const std::vector<hardware::FitResidual> checked = hardware::check_collectives(checks[k], *node, c);
    std::cout << "\nCollectives of " << a.checks[k] << " (not fitted), |predicted / measured - 1|:\n";
    if (checked.empty()) std::cout << "  (no collective measurements)\n";
    for (const hardware::FitResidual& r : checked) {
      std::snprintf(line, sizeof line, "  %-36s %-9s %7d %8s %8s\n", r.group.c_str(), r.kind.c_str(), r.samples,
                    percent(r.mean_abs_error).c_str(), percent(r.max_abs_error).c_str());
      std::cout << line;
    }
  }
  std::cout << "\nWrote " << a.output << "; name it in a scenario as \"calibration\": \"" << c.name
            << "\" (when in hardware/calibration/fitted/) or by path.\n";
  return kExitOk;
}

}  // namespace dtsim::cli
