// Private to layer_ops.cpp: the kernels and collectives of an MoE block (the
// part of an MoE layer that replaces the MLP), appended to an OpsBuilder's
// forward and backward lists. See moe_layer_ops in layer_ops.hpp for the
// sequence and moe_routing.hpp for the token counts.
#pragma once

#include <cstdint>

#include "dtsim/models/moe_routing.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "layer_ops_builder.hpp"

namespace dtsim::models::layer_ops_detail {

struct MoeDims {
  std::int64_t experts = 0;          // E
  std::int64_t top_k = 0;            // k
  std::int64_t ep = 1;
  std::int64_t etp = 1;              // expert tensor parallel size
  std::int64_t local_experts = 0;    // E / ep
  std::int64_t expert_ffn = 0;       // f_e / etp
  std::int64_t expert_up_width = 0;  // 2 expert_ffn (SwiGLU) or expert_ffn
  std::int64_t shared_ffn = 0;       // num_shared x shared_ffn / tp (0: none)
  std::int64_t shared_up_width = 0;
  std::int64_t tokens = 0;           // T_l: the tokens this rank routes (its SP shard)
  ExpertLoad load;                   // routing of T_l tokens over the EP group
  // Rows the grouped expert GEMMs process on this rank: the busiest rank's
  // assignments, x etp after the expert-TP all-gather.
  std::int64_t expert_rows = 0;
  GateKind gate = GateKind::kSoftmax;
};

// Throws InputError on the preconditions of moe_layer_ops.
MoeDims moe_dims_of(const ModelSpec& m, const Dims& d, const ParallelPlan& p);

void moe_block_forward(OpsBuilder& ob, const MoeDims& e);
void moe_block_backward(OpsBuilder& ob, const MoeDims& e);

}  // namespace dtsim::models::layer_ops_detail
