// Real training runs measured by hardware/calibration/training/run_training.py
// ("dtsim-training-validation" files), turned into the scenarios that
// predict them, and the comparison `dtsim compare` prints.
//
// How a run's config maps onto a scenario (hardware/calibration/README.md
// describes the configs):
//  - model: arch "llama" -> RMSNorm, SwiGLU, rotary, no biases; "gpt" ->
//    LayerNorm, GELU, learned positions, biases (max_seq_len = seq_len);
//    layers, hidden, heads, KV heads, FFN, vocabulary and tying as given;
//  - training: micro_batch, global batch = micro_batch x (grad_accum, or
//    n_microbatches under PP) x dp; precision bf16 -> pure_bf16, amp_bf16 ->
//    amp_bf16, fsdp_mp_bf16 -> fsdp_mixed_bf16; activation_checkpointing full -> recompute
//    full; no gradient clipping (the harness does not clip); framework
//    pytorch-compile when compile is set, else pytorch-eager;
//  - plan: tp, pp, dp; sequence_parallel = sp; schedule gpipe / 1f1b; FSDP2 ->
//    zero_stage 3; DDP -> zero_stage 0 with dp_bucket_size = ddp_bucket_mb MiB;
//  - cluster: one node of n_gpus GPUs of the given node preset.
// Runs whose status is not "ok" are left out (and counted). So are, with the
// reason, runs of the harness's one-rank wrappers (DDP or FSDP2 with dp = 1,
// a pipelining schedule with pp = 1): they measure a framework's own cost
// without communication, which a plan of one rank does not express (a plan
// with dp = 1 has no data-parallel wrapper, one with pp = 1 no schedule).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/cluster_spec.hpp"
#include "dtsim/hardware/microbench_profile.hpp"
#include "dtsim/sim/simulation.hpp"

namespace dtsim::scenarios {

struct MeasuredRun {
  std::string name;
  int gpus = 1;
  Duration step_time;  // median over timed steps of the max over ranks
  Duration step_p10;
  Duration step_p90;
  Bytes peak_memory;   // steady-state peak allocated, max over ranks
  // The slowest rank's host probe (host_probe_layer_s_max_over_ranks: the
  // host time of the calibration's plain eager layer, measured in the run's
  // processes after its timed steps; files from session 10 on). Unset when
  // not recorded.
  std::optional<Duration> host_probe;
  // Set by use_host_probes: the factor it set as the run's
  // spec.cluster.host_slowdown (unset: not probed).
  std::optional<double> host_scale;
  sim::SimulationSpec spec;
};

struct TrainingRuns {
  std::string gpu_name;  // as the driver reports it
  std::vector<MeasuredRun> runs;
  int not_ok = 0;        // runs left out: failed or timed out
  // Runs left out because no scenario expresses them: "name: why".
  std::vector<std::string> not_modelled;
};

// Reads a training-validation file; every run is set up for `node` (its GPU
// count replaced by the run's) and `calibration`. Throws InputError naming
// the JSON path of anything it cannot map.
TrainingRuns read_training_runs(std::string_view json_text, const hardware::NodeSpec& node,
                                const hardware::Calibration& calibration);

// Predicts each run with a probe on its own host's speed: sets its
// cluster.host_slowdown (which scales every host time of its calibration in
// sim::simulate) to the probe over the calibration's plain eager layer of
// the run's process count. Runs without a
// probe, or whose calibration measured no plain layer, keep the calibration
// as it is (host_scale unset). Returns how many runs were scaled.
int use_host_probes(TrainingRuns& runs);

struct RunComparison {
  std::string name;
  int gpus = 1;
  Duration measured;
  Duration measured_p10;
  Duration measured_p90;
  Duration predicted;
  // Of `predicted`, the time the GPU waits for its host to issue the next
  // kernel: a prediction with much of it follows the host CPU's speed.
  Duration predicted_host_wait;
  // The prediction again with every host time 1.5 times as long
  // (cluster.host_slowdown x 1.5): how far the step is from following its
  // host, which host_wait alone does not show near the knee.
  Duration predicted_slower_host;
  double step_error = 0.0;  // predicted / measured - 1
  Bytes measured_memory;
  Bytes predicted_memory;
  double memory_error = 0.0;
};

// Simulates every run (in parallel; the result is in input order).
std::vector<RunComparison> compare_runs(const TrainingRuns& runs);

// dtsim's prediction of each whole tiny step bench_framework.py
// --only-step-host measured (hardware::StepHostMeasurement), mapped as a
// one-GPU harness run of that shape is, on `node` with `calibration`:
// `measured` is the step's host time. Those steps keep the GPU waiting for
// the host, so the prediction checks the calibration's host model of a
// whole step (layers, embedding, loss, optimizer), which no fit uses.
std::vector<RunComparison> predict_step_host(const std::vector<hardware::StepHostMeasurement>& steps,
                                             const hardware::NodeSpec& node, const hardware::Calibration& calibration);

}  // namespace dtsim::scenarios
