// How a software stack (TrainingSpec::framework) changes the kernels of a
// layer: Megatron and torch.compile fuse the elementwise chains that eager
// PyTorch launches op by op. Host-side costs (DTensor dispatch) are charged by
// the replay from the calibration; this file only reshapes kernel lists.
//
// Eager PyTorch, per layer (the rotate-half rotary and SwiGLU of
// hardware/calibration/training/model.py, torchtitan-style code):
//  - rotary on q and k: x1*cos, x2*sin, subtract, x1*sin, x2*cos, add and a
//    concatenation, 7 kernels per tensor, moving 7 tensor-sizes of data where
//    the fused kernel moves 2 (read + write): 14 kernels, bytes x 3.5.
//    Backward: the multiplies' gradients, their sums and the slice
//    backward's zero-fill and copies: 10 kernels per tensor, bytes x 4.
//  - SwiGLU: silu (read f, write f) then the gate product (read 2f, write f):
//    2 kernels, 5f instead of 3f. Backward: both products' gradients and
//    silu's: 3 kernels, 9f instead of 5f.
//  - The attention output's transpose back to [tokens, heads x dim] is a
//    copy (read + write of the output), and so is its gradient's.
//  - A norm's backward is two kernels that both read x and dy: the input
//    gradient's, then GammaBetaBackward's for the weight gradient (5 tensor
//    sizes moved where a fused backward moves 3).
//  - MoE layers (the harness's model.MoE): experts' SwiGLU as above; the
//    token permutation as index arithmetic, an argsort and an index_select
//    (10 kernels); the un-permutation as a weighting multiply, a zero fill
//    and an index_add, the last an atomic scatter-add (OpClass::kScatterAdd,
//    its own step "moe_unpermute_index_add"); index_select's backward
//    likewise ("moe_permute_bwd_index_add"); their
//    backwards likewise (framework_profile.cpp lists the bytes).
//  - Saved for backward (eager only): SwiGLU as F.silu(gate) * up keeps
//    gate, silu(gate) and up (3 f-wide tensors; the fused kernel 2), dense,
//    shared and routed experts alike; under autocast (plain AMP) every GEMM
//    casts and keeps its own bf16 copy of its input, so the separate wq, wk,
//    wv keep 3 copies of the norm output and SwiGLU's w1, w3 (or the
//    experts' batched w1, w3) 2. saved_activations is re-summed.
// Both PyTorch frameworks run attention as FlashAttention-2 (SDPA's flash
// backend); Megatron as cuDNN fused attention (Transformer Engine). Megatron
// is otherwise unchanged (the lists are its fused ones), and so is
// pytorch-compile.
#pragma once

#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/training_spec.hpp"

namespace dtsim::models {

// Reshapes `ops` (a decoder layer's lists) for t.framework, in place.
void apply_framework(LayerOps& ops, const TrainingSpec& t);

}  // namespace dtsim::models
