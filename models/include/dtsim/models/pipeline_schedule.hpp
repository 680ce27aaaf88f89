// Pipeline schedules: the order in which one pipeline stage runs the forward
// and backward passes of every (micro-batch, model chunk) in a training step.
//
// A backward is one pass (kBackward: input and weight gradients together) in
// GPipe and the 1F1B schedules. The zero-bubble schedules split it in two: B
// (kBackwardInput: the input-gradient kernels, whose result the previous stage
// waits for) and W (kBackwardWeight: the weight-gradient GEMMs, which nothing
// downstream waits for), and place the W passes to fill idle time.
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
//  - ZB-H1 (Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024, §2.1):
//    1F1B's warm-up and F B steady state with the backward split; stage s
//    starts its W passes s steady iterations late (oldest first, one after each
//    B from then on) and runs the W passes still owed after its last B. Every
//    stage then holds min(pp, m) micro-batches from F to W, 1F1B's stage-0
//    peak. For m >= pp and W no longer than F or B the bubble is
//    (pp - 1)(F + B - W); with F = B = W a third of 1F1B's (pp - 1)(F + B + W).
//  - DualPipe (DeepSeek-V3 report §3.2.1, and DeepSeek's open DualPipe
//    schedule): pp even, the model in pp stages, stage s holding model stage s
//    as chunk 0 and model stage pp - 1 - s as chunk 1 (parameters x 2).
//    Micro-batches 0 .. m/2 - 1 enter at stage 0 and run through the chunks 0
//    (stage 0 -> pp - 1); m/2 .. m - 1 enter at stage pp - 1 and run through
//    the chunks 1 (pp - 1 -> 0). With h = min(s, pp - 1 - s), "near" the
//    direction that reaches s first and "far" the other, stage s runs:
//      2(pp/2 - h - 1) F near; h + 1 x (F near, F far);
//      pp/2 - h - 1 x (B far split, W, F far);
//      m/2 - pp + h + 1 x (F near, B far, F far, B near), the first
//        (F near, B far) of the middle stages (h = pp/2 - 1) not a pair;
//      pp/2 - h - 1 x (B far, F far, B near);
//      h + 1 x (B far, B near), split from the middle one on;
//      pp/2 - h - 1 x (W, B near split); h + 1 x W,
//    where a split B defers its W to the next W in the list (first in, first
//    out) and the other backwards are whole. Each forward followed by a
//    backward of the other chunk inside the steady part is one of the report's
//    overlapped F&B pairs (overlaps_next): with plan.ep_comm_overlap lowering
//    interleaves the pair's passes at their all-to-alls (stage_passes);
//    without it, it runs the forward, then the backward. Every stage holds
//    pp + 1 micro-batches at its peak (m >= 2 pp). With F = B = W and each F&B pair taking F + B + W, the bubble is the
//    report's (pp/2 - 1)(F&B + B - 3W) with B the whole backward; run one
//    after the other, the pair's forward result leaves earlier and the bubble
//    is (pp/2 - 1) F. Needs pp even, m even and m >= 2(pp - 1).
//
// Chunk c of stage s holds model chunk c * pp + s (model_chunk_of; DualPipe:
// as above).
//
// Peak activations (reference §6, NAR21 / MEG-MEM): stage s of 1F1B holds at
// most min(pp - s, m) micro-batches; GPipe holds m; interleaved stage 0 holds
// pp * v + pp - 1 chunk passes, i.e. pp * (1 + (pp - 1) / (pp * v)) micro-batch
// equivalents; ZB-H1 min(pp, m) on every stage; DualPipe pp + 1 chunk passes.
// A forward's activations count as held until the pass that ends its
// backward: the whole backward, or W of a split one (W still needs the layers'
// inputs; B frees the rest early, which this upper bound ignores).
//
// Example:
//   auto passes = pipeline_passes(PipelineSchedule::kOneFOneB, 4, 1, 8, 0);
//   // F0 F1 F2 F3 B0 F4 B1 F5 B2 F6 B3 F7 B4 B5 B6 B7
//   peak_in_flight(passes, 1).peak;  // 4 = min(pp - 0, m)
//   pipeline_passes(PipelineSchedule::kZeroBubbleH1, 4, 1, 8, 1);  // B: the split B pass
//   // F0 F1 F2 B0 F3 B1 W0 F4 B2 W1 F5 B3 W2 F6 B4 W3 F7 B5 W4 B6 W5 B7 W6 W7
//   pipeline_passes(PipelineSchedule::kDualPipe, 4, 1, 8, 0);  // (micro-batch.chunk)
//   // F0.0 F1.0 F2.0 F4.1 B4.1(split) W4.1 F5.1 F3.0 B5.1 F6.1 B0.0 B6.1 F7.1 B1.0
//   // B7.1 B2.0(split) W2.0 B3.0(split) W3.0
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/models/parallel_plan.hpp"

namespace dtsim::models {

// kBackward: the whole backward; kBackwardInput / kBackwardWeight: its B and
// W halves in the zero-bubble schedules (B before W on the same stage).
enum class PassKind : std::uint8_t { kForward, kBackward, kBackwardInput, kBackwardWeight };

struct PipelinePass {
  PassKind kind = PassKind::kForward;
  std::int32_t microbatch = 0;
  std::int16_t chunk = 0;  // model chunk on this stage, 0 .. chunks_per_stage - 1
  // This forward and the backward after it form an overlapped pair: lowering
  // interleaves them (stage_passes). pipeline_passes marks DualPipe's F&B
  // pairs, which run one after the other unless stage_passes keeps the mark.
  bool overlaps_next = false;
  bool operator==(const PipelinePass&) const = default;
};

// Model chunks each stage holds: virtual_stages, or 2 for DualPipe.
int chunks_per_stage(PipelineSchedule schedule, int virtual_stages);

// The model chunk (0 .. pp * virtual_stages - 1 in model order; DualPipe: 0 ..
// pp - 1) that chunk `chunk` of `stage` holds: chunk * pp + stage, or for
// DualPipe stage (chunk 0) and pp - 1 - stage (chunk 1).
int model_chunk_of(PipelineSchedule schedule, int pp, int stage, int chunk);

// The stage whose chunk `chunk` holds `model_chunk`: the inverse of
// model_chunk_of (model_chunk % pp; DualPipe chunk 1: pp - 1 - model_chunk).
int stage_holding(PipelineSchedule schedule, int pp, int model_chunk, int chunk);

// The forwards a stage runs before its first backward (its warm-up), as the
// schedule defines it. Same preconditions as pipeline_passes.
std::int64_t warmup_passes(PipelineSchedule schedule, int pp, int virtual_stages, std::int64_t num_microbatches,
                           int stage);

// The ordered passes of `stage`: one forward and one whole backward, or one B
// and one W, per (micro-batch, chunk) the stage runs (2 * num_microbatches *
// virtual_stages entries for GPipe and 1F1B, 3 * num_microbatches for ZB-H1).
// Throws InputError when pp, virtual_stages or num_microbatches is below 1,
// stage is outside 0 .. pp - 1, virtual_stages > 1 with a schedule other than
// interleaved, (interleaved) num_microbatches is not a multiple of pp, or
// (DualPipe) pp is odd or num_microbatches odd or below 2(pp - 1).
std::vector<PipelinePass> pipeline_passes(PipelineSchedule schedule, int pp, int virtual_stages,
                                          std::int64_t num_microbatches, int stage);

// The passes `stage` runs under `plan` (what lowering and the memory model
// use): pipeline_passes of the plan's schedule, with overlaps_next marking
// the forward-backward pairs lowering interleaves. Without
// plan.ep_comm_overlap none is marked (DualPipe's pairs run one after the
// other). With it:
//  - DualPipe: its own F&B pairs (pipeline_passes' marks);
//  - interleaved 1F1B: every forward directly followed by a backward of
//    another (micro-batch, chunk) (a backward of the same one would need the
//    forward's output); validate_plan admits no other schedule at pp > 1;
//  - 1F1B at pp = 1: one forward of warm-up, then forward i + 1 paired with
//    backward i (Megatron-Core's combined 1F1B without pipelining), so two
//    micro-batches' activations are held at once instead of one.
// Same preconditions as pipeline_passes.
//
// Example (pp = 1, 3 micro-batches, ep_comm_overlap):
//   stage_passes(plan, 3, 0);  // F0 [F1 B0] [F2 B1] B2, brackets = overlapped pairs
std::vector<PipelinePass> stage_passes(const ParallelPlan& plan, std::int64_t num_microbatches, int stage);

struct InFlight {
  int peak = 0;                     // most forward passes held before their backward (or W), all chunks together
  std::vector<int> peak_per_chunk;  // the same, counted per chunk (each chunk's own maximum)
};

// Forward passes whose backward has not yet run, at their peak, over a pass list.
InFlight peak_in_flight(std::span<const PipelinePass> passes, int virtual_stages);

// The peak over the pass list of sum over chunks of (forwards held of chunk c)
// x per_chunk[c]: the saved activations a stage holds at its worst moment when
// one forward of chunk c keeps per_chunk[c] bytes.
Bytes peak_held_bytes(std::span<const PipelinePass> passes, std::span<const Bytes> per_chunk);

}  // namespace dtsim::models
