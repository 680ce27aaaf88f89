// How a step trains: batch shape, precision, optimizer, recompute.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace dtsim::models {

// Where weights live and what casts happen each step.
enum class PrecisionMode : std::uint8_t {
  // Megatron: bf16 weights used for compute, fp32 main gradients accumulated
  // across micro-batches, fp32 master weights and Adam moments in the optimizer
  // (18 bytes/param before sharding); the optimizer writes the bf16 copy.
  kMegatronBf16,
  // PyTorch AMP: fp32 weights and gradients; autocast casts every weight to
  // bf16 in each forward (a memory-bound cast per weight per micro-batch).
  kAmpBf16,
  // Everything bf16: weights, gradients, Adam moments (8 bytes/param).
  kPureBf16,
  // PyTorch FSDP2 mixed precision (MixedPrecisionPolicy(param_dtype=bf16,
  // reduce_dtype=fp32)): fp32 sharded weights, gradients and Adam moments;
  // FSDP casts each shard to bf16 before gathering it, so the gathers move
  // bf16 and there is no per-forward autocast copy of the weights. Under
  // ZeRO-3 only; otherwise it is amp_bf16. (amp_bf16 under ZeRO-3 gathers
  // the fp32 weights and autocast casts them.)
  kFsdpMixedBf16,
};

// The software stack the step runs under (docs/calibration.md): what it fuses
// and what its host side costs.
enum class Framework : std::uint8_t {
  // Megatron-LM / Transformer Engine: fused rotary, SwiGLU, norms and
  // bias-dropout-add; TP through its own collectives.
  kMegatron,
  // Eager PyTorch (torch.nn + DTensor for TP, as in torchtitan without
  // compile, or hardware/calibration/training): every small op is its own
  // kernel (rotary as slices, multiplies and a concatenation; SiLU and the
  // gate product separately), and TP ops pay DTensor's host dispatch.
  kPyTorchEager,
  // PyTorch with torch.compile on each block: elementwise chains fused as in
  // Megatron; TP still dispatched through DTensor on the host.
  kPyTorchCompile,
};

// Which AdamW implementation updates the weights (PyTorch frameworks; Megatron's
// is fused): fused (AdamW(fused=True), one multi-tensor kernel per chunk) or
// foreach (torch.optim.AdamW's default on CUDA: a sequence of multi-tensor
// elementwise kernels).
enum class OptimizerImpl : std::uint8_t {
  kFused,
  kForeach,
};

enum class Recompute : std::uint8_t {
  kNone,
  kSelective,  // recompute the parts of each layer recompute_modules names (default: the attention core)
  kFull,       // keep each layer's input; recompute the whole layer in backward
};

// The parts of a layer selective recompute can re-run in backward, by
// Megatron-Core's --recompute-modules names (layer_ops.hpp says what each
// keeps and re-runs).
enum class RecomputeModule : std::uint8_t {
  kCoreAttention,    // core_attn: the flash attention kernel (checkpoint keeps Q, K, V)
  kLayerNorm,        // layernorm: the input and pre-MLP norms (outputs not kept)
  kMlaUpProjection,  // mla_up_proj: MLA's latent norms, up-projections and rotary (Q, K, V not kept)
  kMoeActivation,    // moe_act: the routed experts' activation (output not kept)
  kMlp,              // mlp: a dense layer's MLP block (checkpoint keeps its input)
  kSharedExperts,    // shared_experts: an MoE layer's shared-expert MLP (checkpoint keeps its input)
};

struct TrainingSpec {
  std::int64_t seq_len = 0;
  std::int64_t global_batch = 0;  // sequences per optimizer step, all DP replicas together
  std::int64_t micro_batch = 1;   // sequences per micro-batch per DP replica
  PrecisionMode precision = PrecisionMode::kMegatronBf16;
  Recompute recompute = Recompute::kNone;
  // Under kSelective only (validate_plan rejects it otherwise): the modules
  // recomputed, in the scenario's order. Empty means Megatron's default,
  // {kCoreAttention}.
  std::vector<RecomputeModule> recompute_modules;
  // Gradient-norm clipping each step (Megatron's default clip_grad = 1.0).
  // Megatron computes the fp32 gradient norm; the PyTorch modes (AMP, pure
  // bf16) follow torch.nn.utils.clip_grad_norm_, which also rescales every
  // gradient. False: neither kernel runs (plain optimizer.step()).
  bool clip_grad_norm = true;
  Framework framework = Framework::kMegatron;
  // AdamW is the only optimizer modelled: two moments per parameter.
  OptimizerImpl optimizer = OptimizerImpl::kFused;
};

std::string_view to_string(PrecisionMode p);
std::string_view to_string(Recompute r);
std::string_view to_string(RecomputeModule m);

// Whether a layer re-runs module `m` in backward: selective recompute with `m`
// listed (or, with no list, m = kCoreAttention). False under kNone and kFull
// (full recompute re-runs everything without naming modules).
bool recomputes(const TrainingSpec& t, RecomputeModule m);
std::string_view to_string(Framework f);

}  // namespace dtsim::models
