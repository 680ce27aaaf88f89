// What a simulation predicts for one training step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/program.hpp"

namespace dtsim::sim {

// Where the step's time goes, seen from the rank that finishes last. The parts
// add up to step_time: compute + exposed_comm + bubble + optimizer + host_wait
// + other.
struct Breakdown {
  Duration compute;       // forward, backward and recompute kernels
  Duration exposed_comm;  // compute stream idle, waiting on a TP/DP/ZeRO collective
  Duration bubble;        // compute stream idle, waiting on another pipeline stage
  Duration optimizer;     // optimizer kernels
  // Compute stream idle with the next kernel ready to run but not yet issued
  // by its host (launch-bound eager frameworks): the part of the step that
  // follows the host's speed rather than the GPU's.
  Duration host_wait;
  Duration other;  // idle not attributable to the above (e.g. after the last task)
};

struct StageMemory {
  int stage = 0;
  models::MemoryBreakdown memory;
  bool fits = true;
};

// One stretch of the critical path: consecutive tasks of one kind.
struct CriticalPathSegment {
  int stage = 0;
  models::Phase phase = models::Phase::kForward;
  std::string what;  // e.g. "forward mb 3 layers 0-9", "dp reduce_scatter"
  TimePoint start;
  Duration duration;
};

// One task's execution, for the trace.
struct TimelineEntry {
  int rank = 0;  // the simulated rank (its class representative in symmetric mode)
  int stage = 0;
  models::StreamKind stream = models::StreamKind::kCompute;
  models::Phase phase = models::Phase::kForward;
  std::uint32_t label = 0;  // index into Report::labels
  std::int32_t microbatch = -1;
  std::int32_t layer = -1;
  TimePoint start;
  TimePoint end;
};

struct Report {
  // Identity of the prediction.
  std::string model_name;
  std::string gpu_name;
  std::string calibration_name;  // "datasheet-defaults" or the fitted profile
  double host_slowdown = 1.0;    // the cluster's host times / the calibration's
  int num_gpus = 0;
  int tp = 1, pp = 1, dp = 1;
  std::int64_t num_microbatches = 0;
  std::int64_t tokens_per_step = 0;

  Duration step_time;
  double tokens_per_second = 0.0;
  double mfu = 0.0;  // model FLOPs / (step_time x GPUs x bf16 peak)
  Flops model_flops;
  Breakdown breakdown;
  int critical_stage = 0;  // stage whose rank finished last

  std::vector<StageMemory> memory;
  Bytes peak_memory;  // largest over stages
  Bytes memory_capacity;
  bool fits = true;
  std::string oom_message;  // names the stage that does not fit; empty when fits

  std::vector<CriticalPathSegment> critical_path;

  // Simulation statistics.
  bool symmetric = true;
  int simulated_ranks = 0;
  std::uint64_t events = 0;
  std::uint64_t tasks = 0;

  // Filled when SimulationOptions::record_timeline.
  std::vector<TimelineEntry> timeline;
  std::vector<std::string> labels;
};

}  // namespace dtsim::sim
