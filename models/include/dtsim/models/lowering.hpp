// Lowering a (model, training, plan) into one Program per pipeline stage.
//
// Each Program is the rank class's whole step: forward and backward of every
// micro-batch of every model chunk on this stage in the schedule's order
// (GPipe, 1F1B, interleaved 1F1B), with TP/SP collectives on the critical path,
// pipeline send/recv between stages, bucketed DP gradient reduction overlapped
// with backward, ZeRO parameter gathers, recompute, and the optimizer step.
//
// Precondition: validate_plan() returned no diagnostics (throws InputError otherwise).
#pragma once

#include <vector>

#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/program.hpp"
#include "dtsim/models/training_spec.hpp"

namespace dtsim::models {

std::vector<Program> lower_to_programs(const ModelSpec& model, const TrainingSpec& training, const ParallelPlan& plan);

// Model FLOPs of one whole step over all GPUs (Megatron's accounting: causal
// attention counted at half, recompute not counted), for MFU.
Flops model_flops_per_step(const ModelSpec& model, const TrainingSpec& training);

}  // namespace dtsim::models
