// Private to layer_ops.cpp: the attention block of a layer with multi-head
// latent attention (MlaSpec), appended to an OpsBuilder's forward and backward
// lists in place of the QKV / rotary / out-projection block.
//
// Forward (T tokens, T_sp = T / tp under SP, a_t = heads / tp, d_qk = nope +
// rope; Megatron's MLASelfAttention with its fused MLA rotary):
//   input norm; [AMP cast] query down-projection T_sp x h -> r_q (weights
//   replicated over TP, on the rank's sequence shard), its RMSNorm, [SP
//   all-gather T x r_q] query up-projection r_q -> a_t d_qk (column-parallel);
//   with r_q = 0 a column-parallel h -> a_t d_qk projection instead;
//   [AMP cast] KV down-projection T_sp x h -> r_kv + rope (replicated), the
//   latent's RMSNorm, [SP all-gather T x (r_kv + rope)] KV up-projection
//   r_kv -> a_t (nope + v) (column-parallel);
//   rotary on the query's rope part and the shared rope key, fused with
//   assembling Q and K (a_t d_qk each, the rope key broadcast to every head)
//   and V (a_t v): 2 kernels;
//   [CP: the K/V exchange, of the up-projected K and V as for MHA]
//   flash attention (QK width d_qk, V width v); out-projection a_t v -> h
//   (row-parallel); residual; post-attention norm.
// Backward mirrors it; the latents' input gradients (with the rope key's,
// to which every head contributes) are all-reduced over TP, or
// reduce-scattered to T_sp rows under SP, before the latent norms and the
// replicated down-projections, whose two input gradients are added.
// Saved for backward: the norm output once (twice under AMP: each GEMM keeps
// its own bf16 cast), the latents before and after their norms (T_sp rows),
// flash attention's Q, K, V and LSE, and the out-projection input. The
// replicated weights' gradients are partial sums under SP; the lowering
// all-reduces them over TP with the norms' (mla_replicated_parameter_count).
// Approximated: the latent norms and the latent path run in bf16 under AMP
// too (no casts of the r-wide tensors), and PyTorch eager runs the fused
// rotary as one kernel per tensor like Megatron.
#pragma once

#include <cstdint>

#include "layer_ops_builder.hpp"

namespace dtsim::models::layer_ops_detail {

void mla_attention_block_forward(OpsBuilder& ob);
void mla_attention_block_backward(OpsBuilder& ob);
// This rank's parameters of the attention projections and latent norms (the
// replicated down-projections whole, the rest / tp), the layer norms excluded.
std::int64_t mla_rank_parameters(const ModelSpec& m, const Dims& d);

}  // namespace dtsim::models::layer_ops_detail
