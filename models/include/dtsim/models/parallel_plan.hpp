// A parallelism plan: how one training step is split over GPUs.
//
// Ranks are numbered by the plan's `order`, innermost (fastest-varying) first;
// the default {tensor, data, pipeline} keeps a TP group inside a node (GPU
// ranks are numbered node-major, so consecutive ranks share a node).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/core/units.hpp"

namespace dtsim::models {

struct ModelSpec;
struct TrainingSpec;

enum class PipelineSchedule : std::uint8_t { kGPipe, kOneFOneB, kInterleavedOneFOneB };
enum class ParallelDim : std::uint8_t { kTensor, kData, kPipeline };

struct ParallelPlan {
  int tp = 1;
  int pp = 1;
  int dp = 1;
  int virtual_stages = 1;  // model chunks per pipeline rank (interleaved 1F1B)
  bool sequence_parallel = false;
  // 0: plain data parallel (all-reduce of gradients).
  // 1: optimizer state sharded over DP (gradient reduce-scatter, parameter all-gather).
  // 2: + gradients sharded.  3: + parameters sharded (FSDP): all-gather before
  // each layer's forward and backward, reduce-scatter after its backward.
  int zero_stage = 0;
  PipelineSchedule schedule = PipelineSchedule::kOneFOneB;
  std::array<ParallelDim, 3> order{ParallelDim::kTensor, ParallelDim::kData, ParallelDim::kPipeline};
  Bytes dp_bucket_size = Bytes(40'000'000 * 4);  // gradient bucket (Megatron: 40M params in fp32)
  bool overlap_grad_reduce = true;               // bucketed DP reduction overlaps backward
  bool fsdp_prefetch = true;                     // ZeRO-3: all-gather layer i+1 while computing layer i
  // Decoder layers per pipeline stage, first to last; empty means an even split.
  std::vector<int> layers_per_stage;

  int world_size() const { return tp * pp * dp; }
};

// Every problem with the plan for this model and training shape, each with the
// JSON path (relative to `plan_path`) it concerns. Empty when valid.
std::vector<Diagnostic> validate_plan(const ModelSpec& model, const TrainingSpec& training, const ParallelPlan& plan,
                                      std::string_view plan_path, std::string_view training_path);

// Micro-batches per DP replica per step: global_batch / (dp * micro_batch).
std::int64_t num_microbatches(const TrainingSpec& training, const ParallelPlan& plan);

std::string_view to_string(PipelineSchedule s);
std::string_view to_string(ParallelDim d);

}  // namespace dtsim::models
