// Pipeline schedules: the order in which one pipeline stage runs the forward
// and backward passes of every (micro-batch, model chunk) in a training step.
//
//  - GPipe: every forward, then every backward (micro-batch order).
//  - 1F1B (PipeDream-flush, Megatron's default): a warm-up of
//    min(pp - stage - 1, m) forwards, a steady state alternating one forward
//    and one backward, and a cool-down of the remaining backwards.
//  - Interleaved 1F1B (Megatron, v model chunks per stage): passes are numbered
//    k = 0 .. m*v - 1; pass k runs micro-batch (k / (pp*v)) * pp + k % pp of
//    chunk (k % (pp*v)) / pp in forward, and of chunk v - 1 - that in backward
//    (micro-batches in groups of pp, chunk-major within a group). The warm-up is
//    min((pp - stage - 1) * 2 + (v - 1) * pp, m*v) forwards, then 1F1B. Needs m
//    divisible by pp.
//
// Chunk c of stage s holds model chunk c * pp + s.
//
// Peak activations (reference §6, NAR21 / MEG-MEM): stage s of 1F1B holds at
// most min(pp - s, m) micro-batches; GPipe holds m; interleaved stage 0 holds
// pp * v + pp - 1 chunk passes, i.e. pp * (1 + (pp - 1) / (pp * v)) micro-batch
// equivalents.
//
// Example:
//   auto passes = pipeline_passes(PipelineSchedule::kOneFOneB, 4, 1, 8, 0);
//   // F0 F1 F2 F3 B0 F4 B1 F5 B2 F6 B3 F7 B4 B5 B6 B7
//   peak_in_flight(passes, 1).peak;  // 4 = min(pp - 0, m)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/models/parallel_plan.hpp"

namespace dtsim::models {

enum class PassKind : std::uint8_t { kForward, kBackward };

struct PipelinePass {
  PassKind kind = PassKind::kForward;
  std::int32_t microbatch = 0;
  std::int16_t chunk = 0;  // model chunk on this stage, 0 .. virtual_stages - 1
  bool operator==(const PipelinePass&) const = default;
};

// The forwards a stage runs before its first backward (its warm-up), as the
// schedule defines it. Same preconditions as pipeline_passes.
std::int64_t warmup_passes(PipelineSchedule schedule, int pp, int virtual_stages, std::int64_t num_microbatches,
                           int stage);

// The ordered passes of `stage`: 2 * num_microbatches * virtual_stages entries.
// Throws InputError when pp, virtual_stages or num_microbatches is below 1,
// stage is outside 0 .. pp - 1, virtual_stages > 1 with a schedule other than
// interleaved, or (interleaved) num_microbatches is not a multiple of pp.
std::vector<PipelinePass> pipeline_passes(PipelineSchedule schedule, int pp, int virtual_stages,
                                          std::int64_t num_microbatches, int stage);

struct InFlight {
  int peak = 0;                     // most forward passes held before their backward, all chunks together
  std::vector<int> peak_per_chunk;  // the same, counted per chunk (each chunk's own maximum)
};

// Forward passes whose backward has not yet run, at their peak, over a pass list.
InFlight peak_in_flight(std::span<const PipelinePass> passes, int virtual_stages);

// The peak over the pass list of sum over chunks of (forwards held of chunk c)
// x per_chunk[c]: the saved activations a stage holds at its worst moment when
// one forward of chunk c keeps per_chunk[c] bytes.
Bytes peak_held_bytes(std::span<const PipelinePass> passes, std::span<const Bytes> per_chunk);

}  // namespace dtsim::models
