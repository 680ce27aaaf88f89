// Measured training runs: the mapping from a run's config to a scenario, and
// the calibrated accuracy on the committed runs, held as a floor so that a
// change that makes predictions worse fails here (docs/validation.md has the
// per-run table; the bounds sit just outside today's figures).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "dtsim/scenarios/calibration_io.hpp"
#include "dtsim/scenarios/training_runs.hpp"
#include "scenario_test_util.hpp"

using namespace dtsim;
using namespace dtsim::scenarios;
using namespace dtsim::scenarios::testing;
using namespace dtsim::literals;

namespace {

TrainingRuns committed_runs(const std::string& runs, const std::string& node, const std::string& calibration) {
  const Catalogs& c = catalogs();
  const hardware::NodeSpec& n = *c.hardware.find_node(node);
  const CalibrationFile cal = read_calibration_json(
      read_text_file(source_path("hardware/calibration/fitted/" + calibration + ".json")), calibration);
  return read_training_runs(read_text_file(source_path("hardware/calibration/data/" + runs + ".json")), n,
                            cal.calibration);
}

struct Errors {
  double mean = 0.0, worst = 0.0;
};

Errors step_errors(const std::vector<RunComparison>& rows, int gpus) {
  Errors e;
  int n = 0;
  for (const RunComparison& r : rows) {
    if (r.gpus != gpus) continue;
    e.mean += std::abs(r.step_error);
    e.worst = std::max(e.worst, std::abs(r.step_error));
    ++n;
  }
  if (n > 0) e.mean /= n;
  return e;
}

// An H100 one-GPU set of `runs` runs (h100-x1): step-time mean and worst
// |error| below `step`, every run's peak-memory |error| below `memory`.
void check_one_gpu_set(const std::string& file, std::size_t runs, Errors step, double memory) {
  const auto rows = compare_runs(committed_runs(file, "dgx-h100", "h100-x1"));
  REQUIRE(rows.size() == runs);
  const Errors e = step_errors(rows, 1);
  INFO(file << ": mean " << e.mean << " worst " << e.worst);
  CHECK(e.mean < step.mean);
  CHECK(e.worst < step.worst);
  double mem = 0.0;
  for (const RunComparison& r : rows) mem = std::max(mem, std::abs(r.memory_error));
  CHECK(mem < memory);
}

// One small run on one GPU as run_training.py writes it: a GPT body in
// `precision`, with `extra` (JSON members) after its fields.
std::string one_run(const std::string& precision, const std::string& extra = "") {
  return R"({"kind": "dtsim-training-validation", "runs": [{"status": "ok",
      "config": {"name": "x", "arch": "gpt", "n_layers": 2, "hidden": 256, "n_heads": 4, "n_kv_heads": 4,
                 "ffn_hidden": 1024, "vocab": 1000, "tied": true, "seq_len": 128, "micro_batch": 1,
                 "grad_accum": 1, "n_microbatches": 1, "precision": ")" +
         precision + R"(", "dp": 1, "dp_impl": "none", "tp": 1,
                 "sp": false, "pp": 1, "pp_schedule": null, "ddp_bucket_mb": 25,
                 "activation_checkpointing": "none", "compile": false, "optimizer": "adamw_fused"},
      "step_time": {"time_s": 0.01, "time_p10_s": 0.01, "time_p90_s": 0.01},
      "peak_alloc_steady_bytes_max_over_ranks": 1000)" +
         extra + "}]}";
}

// The same with a host probe of `probe` (a JSON value), under AMP.
std::string probed_run(const std::string& probe) {
  return one_run("amp_bf16", R"(, "host_probe_layer_s_max_over_ranks": )" + probe);
}

}  // namespace

TEST_CASE("a run's config maps onto the scenario that predicts it", "[scenarios][validation]") {
  const TrainingRuns runs = committed_runs("h200-x4-serial-training", "dgx-h200", "h200-x4");
  REQUIRE(runs.runs.size() == 19);
  CHECK(runs.gpu_name == "NVIDIA H200");
  const MeasuredRun* tp2dp2 = nullptr;
  const MeasuredRun* pp2 = nullptr;
  for (const MeasuredRun& r : runs.runs) {
    if (r.name == "4g_tp2spdp2_llama4k_amp") tp2dp2 = &r;
    if (r.name == "2g_pp2_gpipe_llama2k_bf16") pp2 = &r;
  }
  REQUIRE(tp2dp2 != nullptr);
  CHECK(tp2dp2->spec.plan.tp == 2);
  CHECK(tp2dp2->spec.plan.dp == 2);
  CHECK(tp2dp2->spec.plan.sequence_parallel);
  CHECK(tp2dp2->spec.plan.zero_stage == 3);  // FSDP2
  CHECK(tp2dp2->spec.training.precision == models::PrecisionMode::kAmpBf16);
  CHECK(tp2dp2->spec.training.framework == models::Framework::kPyTorchEager);
  CHECK(tp2dp2->spec.cluster.num_gpus() == 4);
  REQUIRE(pp2 != nullptr);
  CHECK(pp2->spec.plan.schedule == models::PipelineSchedule::kGPipe);
  CHECK(pp2->spec.training.global_batch == 2 * 8);  // micro-batch 2 x 8 micro-batches
  CHECK(pp2->spec.model.num_layers == 8);
}

TEST_CASE("calibrated single-GPU predictions stay within today's accuracy", "[scenarios][validation]") {
  // H100 and H200, 12 runs each, calibrations fitted on microbenchmarks only.
  // Session 7 (eager autograd's accumulation and input-gradient sums,
  // autocast's per-GEMM casts, the attention launch tail): 2.7% / 14.7% and
  // 2.5% / 6.3%; the H100 worst
  // case is the host-bound 1g_llama1k_amp_s512, which measured 35.0 ms in
  // session 2 and 31.6 ms on another instance.
  const auto h100 = compare_runs(committed_runs("h100-x1-training", "dgx-h100", "h100-x1"));
  const Errors a = step_errors(h100, 1);
  INFO("H100 mean " << a.mean << " worst " << a.worst);
  CHECK(a.mean < 0.035);
  CHECK(a.worst < 0.16);
  const auto h200 = compare_runs(committed_runs("h200-x4-training", "dgx-h200", "h200-x4"));
  const Errors b = step_errors(h200, 1);
  INFO("H200 mean " << b.mean << " worst " << b.worst);
  CHECK(b.mean < 0.035);
  CHECK(b.worst < 0.075);
}

TEST_CASE("the session-6 held-out set stays within the issue's targets", "[scenarios][validation]") {
  // HOLDOUT7: one H100, predictions written down before it ran (7 runs; the
  // 12-expert MoE configuration could not run). Step time <= 5% mean, <= 12%
  // worst is the target; 4.7% and 7.6% as predicted in session 6, 1.8% and
  // 4.7% with session 7's model (no longer out of sample).
  check_one_gpu_set("h100-x1-s6-holdout7-training", 7, {0.03, 0.06}, 0.02);
}

TEST_CASE("the session-10 held-out set stays within the issue's targets", "[scenarios][validation]") {
  // HOLDOUT9: one H100, predictions committed before it ran (8 runs, four
  // new shapes): 4.6% mean, 10.1% worst (the MoE body, under-predicted),
  // memory 0.9% mean, 2.6% worst, as first predicted; 4.1% and 8.0% since
  // H100 took H200's scatter-add fit.
  check_one_gpu_set("h100-x1-s10-holdout9-training", 8, {0.05, 0.12}, 0.03);
}

TEST_CASE("calibrated multi-GPU predictions stay within today's accuracy", "[scenarios][validation]") {
  // H200, 2 and 4 GPUs, the serial re-run: data-parallel and pipeline runs
  // (tensor-parallel steps are host-bound and vary by machine instance:
  // docs/validation.md), and peak memory of all 19.
  const auto rows = compare_runs(committed_runs("h200-x4-serial-training", "dgx-h200", "h200-x4"));
  REQUIRE(rows.size() == 19);
  double step_sum = 0.0, step_worst = 0.0, mem_sum = 0.0;
  int n = 0;
  for (const RunComparison& r : rows) {
    mem_sum += std::abs(r.memory_error);
    if (r.name.find("tp") != std::string::npos) continue;
    step_sum += std::abs(r.step_error);
    step_worst = std::max(step_worst, std::abs(r.step_error));
    ++n;
  }
  REQUIRE(n == 12);
  INFO("DP/PP step mean " << step_sum / n << " worst " << step_worst << "; memory mean " << mem_sum / 19);
  CHECK(step_sum / n < 0.05);  // session 7: 3.8%, worst 9.1%, memory 3.6%
  CHECK(step_worst < 0.11);
  CHECK(mem_sum / 19 < 0.045);
}

TEST_CASE("a training-runs file with an unknown precision is rejected with its path", "[scenarios][validation][reject]") {
  try {
    read_training_runs(one_run("fp8"), *catalogs().hardware.find_node("dgx-h100"), hardware::Calibration{});
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].path == "/runs/0/config/precision");
  }
}

TEST_CASE("one-rank wrapper runs are left out with the reason, not predicted as plain runs", "[scenarios][validation]") {
  const TrainingRuns runs = committed_runs("h100-x1-s7-one-rank-training", "dgx-h100", "h100-x1");
  // Three of session 2's configs and two plain twins are predicted; the five
  // FSDP2, two DDP and two pipelining runs over one rank are not.
  CHECK(runs.runs.size() == 5);
  REQUIRE(runs.not_modelled.size() == 8);
  const auto listed = [&](const std::string& prefix) {
    return std::any_of(runs.not_modelled.begin(), runs.not_modelled.end(),
                       [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
  };
  CHECK(listed("s7_pp1_gpipe_llama2k_bf16: a one-stage gpipe schedule"));
  CHECK(listed("s7_ddp1_llama2k_bf16: ddp over one rank"));
  CHECK(listed("s7_fsdp1_llama1792_mp_s4096: fsdp2 over one rank"));
}

TEST_CASE("FSDP2 runs on H200 stay within today's accuracy", "[scenarios][validation]") {
  // Sessions 4 and 5's FSDP2 runs (2 and 4 GPUs, bf16, AMP and FSDP2's mixed
  // precision, with and without resharding): session 8's wrapper host time
  // took them from 11.7% mean, 31.2% worst to 5.6%, 11.9%.
  double sum = 0.0, worst = 0.0;
  int n = 0;
  for (const char* set : {"h200-x4-s4-training", "h200-x4-s4b-training"}) {
    for (const RunComparison& r : compare_runs(committed_runs(set, "dgx-h200", "h200-x4"))) {
      if (r.name.find("fsdp") == std::string::npos) continue;
      sum += std::abs(r.step_error);
      worst = std::max(worst, std::abs(r.step_error));
      ++n;
    }
  }
  REQUIRE(n == 8);
  INFO("FSDP2 step mean " << sum / n << " worst " << worst);
  CHECK(sum / n < 0.065);
  CHECK(worst < 0.13);
}

TEST_CASE("a run's host probe scales its calibration's host times by the probe over the plain layer",
          "[scenarios][validation]") {
  hardware::Calibration cal;
  cal.host.kernel_launch = 10_us;
  cal.host.collective_launch = 30_us;
  cal.host.layers.push_back({1, false, 1, 2000_us});
  cal.host.layers.push_back({1, false, 4, 2500_us});
  cal.host.layers.push_back({2, true, 2, 9000_us});
  cal.host.blocks.push_back({hardware::EagerBlock::kGpt, true, 0.95});
  const hardware::NodeSpec& node = *catalogs().hardware.find_node("dgx-h100");
  TrainingRuns runs = read_training_runs(probed_run("0.003"), node, cal);
  REQUIRE(runs.runs.size() == 1);
  REQUIRE(runs.runs[0].host_probe);
  CHECK(runs.runs[0].host_probe->microseconds() == Approx(3000.0));
  CHECK_FALSE(runs.runs[0].host_scale);  // read, not used until asked
  CHECK(use_host_probes(runs) == 1);
  // One GPU: the one-process layer is the reference, 3000 / 2000.
  REQUIRE(runs.runs[0].host_scale);
  CHECK(*runs.runs[0].host_scale == Approx(1.5));
  // Through the cluster's host_slowdown, which simulate applies as
  // with_host_time_scaled: the same prediction as the scaled calibration.
  CHECK(runs.runs[0].spec.cluster.host_slowdown == Approx(1.5));
  const hardware::Calibration scaled = hardware::with_host_time_scaled(cal, 1.5);
  const hardware::HostParams& h = scaled.host;
  CHECK(h.kernel_launch.microseconds() == Approx(15.0));
  CHECK(h.collective_launch.microseconds() == Approx(45.0));
  CHECK(h.layers[0].layer.microseconds() == Approx(3000.0));
  CHECK(h.layers[2].layer.microseconds() == Approx(13500.0));
  CHECK(h.blocks[0].ratio == Approx(0.95));  // ratios are kept
  TrainingRuns explicit_scale = read_training_runs(probed_run("0.003"), node, scaled);
  const RunComparison probed = compare_runs(runs)[0];
  CHECK(probed.predicted == compare_runs(explicit_scale)[0].predicted);
  // The prediction moves with the host: this tiny run is host-bound.
  TrainingRuns plain = read_training_runs(probed_run("0.003"), node, cal);
  const RunComparison as_calibrated = compare_runs(plain)[0];
  CHECK(probed.predicted > as_calibrated.predicted);
  CHECK(probed.predicted_host_wait > as_calibrated.predicted_host_wait);

  // 0 (every rank's probe failed) is no probe; nothing is scaled.
  TrainingRuns none = read_training_runs(probed_run("0"), node, cal);
  CHECK_FALSE(none.runs[0].host_probe);
  CHECK(use_host_probes(none) == 0);
}

TEST_CASE("a host probe that is not a non-negative number is an error with its path",
          "[scenarios][validation][reject]") {
  for (const std::string bad : {"-0.001", "\"fast\""}) {
    try {
      read_training_runs(probed_run(bad), *catalogs().hardware.find_node("dgx-h100"), hardware::Calibration{});
      FAIL("expected an InputError for " + bad);
    } catch (const InputError& e) {
      REQUIRE(e.diagnostics().size() == 1);
      CHECK(e.diagnostics()[0].path == "/runs/0/host_probe_layer_s_max_over_ranks");
      CHECK(e.diagnostics()[0].message.find("expected a number of seconds >= 0") != std::string::npos);
    }
  }
}

TEST_CASE("a whole tiny step of the host benchmark is predicted as the same one-GPU harness run",
          "[scenarios][validation][host]") {
  hardware::Calibration cal;
  cal.host.kernel_launch = 10_us;
  cal.host.layers.push_back({1, false, 1, 2000_us});
  const hardware::NodeSpec& node = *catalogs().hardware.find_node("dgx-h100");
  hardware::StepHostMeasurement m;
  m.precision = "bf16";
  m.layers = 2;
  m.grad_accum = 3;
  m.micro_batch = 1;
  m.hidden = 256;
  m.heads = 8;
  m.kv_heads = 2;
  m.ffn_hidden = 512;
  m.vocab = 1024;
  m.seq_len = 64;
  m.step = 15_ms;
  const std::vector<RunComparison> rows = predict_step_host({m}, node, cal);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].name == "step_host bf16 L2 ga3");
  CHECK(rows[0].measured == 15_ms);
  const std::string run = R"({"kind": "dtsim-training-validation", "runs": [{"status": "ok",
      "config": {"name": "x", "arch": "llama", "n_layers": 2, "hidden": 256, "n_heads": 8, "n_kv_heads": 2,
                 "ffn_hidden": 512, "vocab": 1024, "tied": false, "seq_len": 64, "micro_batch": 1,
                 "grad_accum": 3, "n_microbatches": 1, "precision": "bf16", "dp": 1, "dp_impl": "none", "tp": 1,
                 "sp": false, "pp": 1, "pp_schedule": null, "ddp_bucket_mb": 25,
                 "activation_checkpointing": "none", "compile": false, "optimizer": "adamw_fused"},
      "step_time": {"time_s": 0.015, "time_p10_s": 0.015, "time_p90_s": 0.015},
      "peak_alloc_steady_bytes_max_over_ranks": 1000}]})";
  const RunComparison same = compare_runs(read_training_runs(run, node, cal))[0];
  CHECK(rows[0].predicted == same.predicted);
  CHECK(rows[0].step_error == Approx(same.step_error));
  // Three micro-batches of two 2 ms layers: the host alone takes 12 ms, and
  // the GPU waits for it most of the step.
  CHECK(rows[0].predicted > 12_ms);
  CHECK(rows[0].predicted_host_wait.seconds() > 0.5 * rows[0].predicted.seconds());
}
