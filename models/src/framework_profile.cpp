#include "dtsim/models/framework_profile.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dtsim::models {

namespace {

void scale(LayerStep& s, std::int32_t kernels, double bytes_factor) {
  s.work.kernels = kernels;
  s.work.bytes_read = Bytes(static_cast<std::int64_t>(std::llround(s.work.bytes_read.as_double() * bytes_factor)));
  s.work.bytes_written =
      Bytes(static_cast<std::int64_t>(std::llround(s.work.bytes_written.as_double() * bytes_factor)));
}

// A copy of the attention core's output (forward) or of its gradient (backward).
LayerStep output_copy(const LayerStep& attention, bool backward) {
  LayerStep c;
  c.name = backward ? "attn_output_copy_bwd" : "attn_output_copy";
  c.work.op_class = OpClass::kMemcpy;
  c.work.dtype = DType::kBf16;
  const Bytes out = backward ? attention.work.bytes_read : attention.work.bytes_written;
  c.work.bytes_read = out;
  c.work.bytes_written = out;
  c.work.kernels = 1;
  return c;
}

// PyTorch's scaled_dot_product_attention runs FlashAttention-2 (its flash
// backend); Megatron's Transformer Engine runs cuDNN's fused attention.
void flash2_attention(std::vector<LayerStep>& steps) {
  for (LayerStep& s : steps) {
    if (s.work.attention) s.work.attention->kernel = AttentionKernel::kFlash2;
  }
}

// Sets a memory-bound step's kernels and traffic outright.
void reshape(LayerStep& s, std::int32_t kernels, double read, double written) {
  s.work.kernels = kernels;
  s.work.bytes_read = Bytes(static_cast<std::int64_t>(std::llround(read)));
  s.work.bytes_written = Bytes(static_cast<std::int64_t>(std::llround(written)));
}

// An MoE layer's token shuffles as eager PyTorch code runs them (the
// harness's model.MoE, op by op), in place of Megatron's fused permute and
// unpermute. R = routed rows x hidden x 2 B (the permuted tokens), Tb =
// tokens x hidden x 2 B, both read off the fused steps' own traffic:
//  - permute: index arithmetic (2 arange, mul, add, remainder), the gate
//    weights' gather and cast, a stable argsort, a floor division and the
//    index_select of the token rows: 10 kernels, traffic as fused;
//  - unpermute: gather of the weights, the weighting multiply (R in, R out),
//    a zero fill of the output (Tb): 3 kernels, R read, R + Tb written; then
//    index_add of the weighted rows into the output, a scatter-add of R;
//  - unpermute backward: index_select of the output gradient's rows (R, R),
//    its weighting (R, R), and the weights' gradient as a product and a row
//    sum (3R, R): 4 kernels, 5R read, 3R written;
//  - permute backward (index_select's): a zero fill (Tb), then index_add of
//    the row gradients, a scatter-add of R.
// A scatter-add (OpClass::kScatterAdd) counts its source bytes only: one
// atomic add per element bounds it (bench_membound.py's "scatter" suite).
// Returns the index_add step that follows `s`, if `s` is followed by one.
std::optional<LayerStep> eager_moe(LayerStep& s) {
  const auto index_add = [&](double rows) {
    LayerStep a = s;
    a.name = s.name + "_index_add";
    a.work.op_class = OpClass::kScatterAdd;
    a.work.flops = Flops(rows / 2.0);  // one add per bf16 element
    a.saved_for_backward = Bytes(0);
    reshape(a, 1, rows, 0.0);
    return a;
  };
  if (s.name == "moe_permute") {
    s.work.kernels = 10;
  } else if (s.name == "moe_unpermute") {
    const double rows = s.saved_for_backward.as_double();  // the kept expert outputs: R
    const double tokens = s.work.bytes_written.as_double();
    LayerStep a = index_add(rows);
    reshape(s, 3, rows, rows + tokens);
    s.work.flops = Flops(s.work.flops.count() - a.work.flops.count());  // the adds moved to index_add
    return a;
  } else if (s.name == "moe_unpermute_bwd") {
    const double rows = s.work.bytes_written.as_double();  // R (+ the gate weights' gradient, negligible)
    reshape(s, 4, 5 * rows, 3 * rows);
  } else if (s.name == "moe_permute_bwd") {
    const double tokens = s.work.bytes_written.as_double();
    const double rows = 2.0 * s.work.flops.count();  // one add per bf16 element of R
    LayerStep a = index_add(rows);
    s.work.op_class = OpClass::kMemcpy;
    s.work.flops = Flops(0.0);
    reshape(s, 1, 0.0, tokens);
    return a;
  }
  return std::nullopt;
}

bool has_step(const std::vector<LayerStep>& steps, const std::string& name) {
  for (const LayerStep& s : steps) {
    if (s.name == name) return true;
  }
  return false;
}

// GEMMs of the harness's eager modules that share one input: q, k and v
// read the attention norm's output, SwiGLU's w1 and w3 the MLP norm's (the
// dense, shared and routed experts' alike; the fused lists have one GEMM
// each). 1 for any other step.
std::int64_t shared_input_gemms(const std::string& gemm, const std::vector<LayerStep>& steps) {
  if (gemm == "qkv_proj") return 3;
  for (const char* up : {"mlp_up", "shared_expert_up", "expert_up"}) {
    const std::string swiglu = std::string(up).substr(0, std::string(up).size() - 3) + "_swiglu";
    if (gemm == up && (has_step(steps, swiglu) || has_step(steps, swiglu + "_bwd"))) return 2;
  }
  return 1;
}

// What eager autograd keeps that the fused lists do not (forward lists only;
// a step whose saved bytes are 0, e.g. under full recompute, stays 0):
//  - SwiGLU as F.silu(gate) * up: silu saves its input (the gate) and the
//    multiply saves both operands, silu's output and the up projection: 3
//    tensors of f where the fused kernel keeps gate and up (2).
//  - Under autocast every GEMM casts its own input (autocast caches the
//    casts of leaf weights only), and each GEMM keeps its bf16 copy: the
//    separate wq, wk and wv keep 3 copies of the norm output where one fused
//    QKV GEMM keeps 1; SwiGLU's separate w1 and w3 (the dense MLP's, the
//    shared experts' and the routed experts' batched ones) keep 2.
void eager_saved(std::vector<LayerStep>& steps, bool autocast) {
  for (LayerStep& s : steps) {
    const Bytes kept = s.saved_for_backward;
    if (s.name == "mlp_swiglu" || s.name == "expert_swiglu" || s.name == "shared_expert_swiglu") {
      s.saved_for_backward = Bytes(kept.count() / 2 * 3);
    }
    if (const std::int64_t n = shared_input_gemms(s.name, steps); autocast && n > 1) s.saved_for_backward = kept * n;
  }
}

// The GEMM a step named "<gemm>_<suffix>" belongs to, or "" when it has no such suffix.
std::string gemm_of(const std::string& name, const std::string& suffix) {
  return name.size() > suffix.size() && name.ends_with(suffix) ? name.substr(0, name.size() - suffix.size())
                                                               : std::string();
}

void eager(std::vector<LayerStep>& steps, bool backward, bool autocast) {
  std::vector<LayerStep> out;
  out.reserve(steps.size() + 3);
  // Autograd sums the input gradients of GEMMs sharing an input (n - 1 adds
  // of the input's size, after the dgrads; under autocast after each GEMM's
  // gradient is cast back to the fp32 input's). Under autocast each of them
  // also cast its own bf16 copy of the input (autocast caches the casts of
  // leaf weights only), and each copy's gradient is cast back, as is each
  // weight's gradient: n casts where the fused lists have one. Profiled
  // (one H100, session 6): the GPT block's 16 bf16-to-fp32 casts a layer
  // are its 12 weight and bias gradients and the input gradients of q, k, v
  // and fc (the lists count the weights' casts, not the biases').
  // `grad` is the step whose output the sum reads: the dgrad (its bf16
  // input gradient), or under autocast the casts back (fp32; n of them).
  const auto input_grad_sum = [&](const std::string& gemm, std::int64_t n, const LayerStep& grad, bool cast_back) {
    const std::int64_t width = cast_back ? 4 : 2;
    const std::int64_t elems = grad.work.bytes_written.count() / width / (cast_back ? n : 1);
    LayerStep a = grad;
    a.name = gemm + "_input_grad_sum";
    a.work = ComputeWork{};
    a.work.op_class = OpClass::kElementwise;
    a.work.dtype = cast_back ? DType::kFp32 : DType::kBf16;
    a.work.flops = Flops(static_cast<double>((n - 1) * elems));
    a.work.bytes_read = Bytes((n - 1) * 2 * elems * width);
    a.work.bytes_written = Bytes((n - 1) * elems * width);
    a.work.kernels = static_cast<std::int32_t>(n - 1);
    a.saved_for_backward = Bytes(0);
    return a;
  };
  for (LayerStep& s : steps) {
    if (autocast) {
      for (const char* suffix : {"_input_cast", "_input_grad_cast", "_wgrad_cast"}) {
        const std::string gemm = gemm_of(s.name, suffix);
        if (const std::int64_t n = gemm.empty() ? 1 : shared_input_gemms(gemm, steps); n > 1) {
          scale(s, static_cast<std::int32_t>(n), static_cast<double>(n));
        }
      }
    }
    // LayerNorm / RMSNorm backward: layer_norm_grad_input reads x and dy and
    // writes dx, then GammaBetaBackward reads x and dy again for the weight
    // (and bias) gradient: the fused kernel's traffic plus two more reads of
    // a tensor the size of dx.
    if (s.name == "input_norm_bwd" || s.name == "post_attn_norm_bwd") {
      s.work.bytes_read += s.work.bytes_written * 2;
    }
    if (s.name == "rotary_qk") scale(s, 14, 3.5);
    if (s.name == "rotary_qk_bwd") scale(s, 20, 4.0);
    if (s.name == "mlp_swiglu" || s.name == "expert_swiglu" || s.name == "shared_expert_swiglu") {
      scale(s, 2, 5.0 / 3.0);
    }
    if (s.name == "mlp_swiglu_bwd" || s.name == "expert_swiglu_bwd" || s.name == "shared_expert_swiglu_bwd") {
      scale(s, 3, 9.0 / 5.0);
    }
    const std::optional<LayerStep> scatter = eager_moe(s);
    // The gradient copy precedes the attention backward; the output copy follows the forward.
    if (backward && s.name == "attn_core_bwd") out.push_back(output_copy(s, true));
    out.push_back(s);
    if (scatter) out.push_back(*scatter);
    if (!backward && s.name == "attn_core") out.push_back(output_copy(s, false));
    if (backward) {
      // The sum follows the dgrad, or under autocast the casts back where the
      // list has them (sized by them: under sequence parallelism they hold
      // the rank's shard; the routed experts' grouped GEMMs have none).
      for (const char* suffix : {"_dgrad", "_input_grad_cast"}) {
        const std::string gemm = gemm_of(s.name, suffix);
        if (gemm.empty()) continue;
        const bool cast_back = autocast && has_step(steps, gemm + "_input_grad_cast");
        if ((std::string_view(suffix) == "_input_grad_cast") != cast_back) continue;
        if (const std::int64_t n = shared_input_gemms(gemm, steps); n > 1) {
          out.push_back(input_grad_sum(gemm, n, s, cast_back));
        }
      }
    }
  }
  steps = std::move(out);
}

}  // namespace

void apply_framework(LayerOps& ops, const TrainingSpec& t) {
  if (t.framework == Framework::kMegatron) return;
  for (auto* list : {&ops.forward, &ops.recompute, &ops.backward}) flash2_attention(*list);
  if (t.framework != Framework::kPyTorchEager) return;
  // Autocast runs where the lists cast GEMM inputs: plain AMP, and FSDP2's
  // mixed precision without ZeRO-3 (AMP then); under ZeRO-3 the harness's
  // FSDP mixed precision computes with bf16 parameters and no autocast
  // context (layer_widths_for).
  const bool autocast = std::any_of(ops.forward.begin(), ops.forward.end(),
                                    [](const LayerStep& s) { return !gemm_of(s.name, "_input_cast").empty(); });
  eager_saved(ops.forward, autocast);
  eager_saved(ops.recompute, autocast);
  eager(ops.forward, false, autocast);
  eager(ops.recompute, false, autocast);
  eager(ops.backward, true, autocast);
  Bytes saved;
  for (const LayerStep& s : ops.forward) saved += s.saved_for_backward;
  ops.saved_activations = saved;
}

}  // namespace dtsim::models
