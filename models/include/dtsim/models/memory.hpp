// Per-stage memory accounting: what each GPU of a pipeline stage holds at its
// peak during a step.
#pragma once

#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/training_spec.hpp"

namespace dtsim::models {

struct MemoryBreakdown {
  Bytes weights;                // parameters held for compute (and fp32 masters where kept separately: see optimizer_state)
  Bytes gradients;              // gradient buffers (fp32 main grads for Megatron)
  Bytes optimizer_state;        // Adam moments + fp32 master weights, after ZeRO sharding
  Bytes activations;            // saved activations of the micro-batches in flight at the peak
  Bytes temporary;              // the largest transient working set (e.g. logits, recompute buffers)
  Bytes communication_buffers;  // gradient buckets, ZeRO-3 gathered layers, pipeline buffers
  int microbatches_in_flight = 0;  // forward passes held before their backward, at the peak
  Bytes activations_per_microbatch;  // one micro-batch's saved activations for this stage (all chunks)

  Bytes total() const {
    return weights + gradients + optimizer_state + activations + temporary + communication_buffers;
  }
};

// One entry per pipeline stage (stage 0 first).
std::vector<MemoryBreakdown> estimate_memory(const ModelSpec& model, const TrainingSpec& training,
                                             const ParallelPlan& plan);

}  // namespace dtsim::models
