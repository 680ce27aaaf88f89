#include "dtsim/models/framework_profile.hpp"

#include <cmath>
#include <string>
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

void eager(std::vector<LayerStep>& steps, bool backward) {
  std::vector<LayerStep> out;
  out.reserve(steps.size() + 1);
  for (LayerStep& s : steps) {
    if (s.name == "rotary_qk") scale(s, 14, 3.5);
    if (s.name == "rotary_qk_bwd") scale(s, 20, 4.0);
    if (s.name == "mlp_swiglu") scale(s, 2, 5.0 / 3.0);
    if (s.name == "mlp_swiglu_bwd") scale(s, 3, 9.0 / 5.0);
    // The gradient copy precedes the attention backward; the output copy follows the forward.
    if (backward && s.name == "attn_core_bwd") out.push_back(output_copy(s, true));
    out.push_back(s);
    if (!backward && s.name == "attn_core") out.push_back(output_copy(s, false));
  }
  steps = std::move(out);
}

}  // namespace

void apply_framework(LayerOps& ops, const TrainingSpec& t) {
  if (t.framework == Framework::kMegatron) return;
  for (auto* list : {&ops.forward, &ops.recompute, &ops.backward}) flash2_attention(*list);
  if (t.framework != Framework::kPyTorchEager) return;
  eager(ops.forward, false);
  eager(ops.recompute, false);
  eager(ops.backward, true);
}

}  // namespace dtsim::models
