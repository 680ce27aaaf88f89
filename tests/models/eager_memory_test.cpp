// What eager PyTorch keeps for backward, against the fused lists, and how the
// PyTorch frameworks' peak is assembled (docs/validation.md, "Eager PyTorch's
// saved tensors"). Closed forms on small_models.hpp's shapes.
#include <catch2/catch.hpp>

#include <algorithm>

#include "dtsim/models/framework_profile.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/model_spec.hpp"
#include "small_models.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

constexpr std::int64_t kSeq = 256;
constexpr std::int64_t kMicro = 2;
constexpr std::int64_t kTokens = kSeq * kMicro;

TrainingSpec training(Framework f, PrecisionMode p, std::int64_t global_batch = kMicro) {
  TrainingSpec t;
  t.seq_len = kSeq;
  t.micro_batch = kMicro;
  t.global_batch = global_batch;
  t.framework = f;
  t.precision = p;
  return t;
}

ParallelPlan plan(int dp = 1, int ep = 1, int zero = 0) {
  ParallelPlan p;
  p.dp = dp;
  p.ep = ep;
  p.zero_stage = zero;
  return p;
}

// A layer's saved bytes after the framework's reshaping.
Bytes saved(const LayerOps& raw, const TrainingSpec& t) {
  LayerOps ops = raw;
  apply_framework(ops, t);
  return ops.saved_activations;
}

ModelSpec gpt_like() { return testing::small_gpt(4); }

ModelSpec moe_like() {
  ModelSpec m = testing::small_llama(4);
  m.moe.num_experts = 8;
  m.moe.top_k = 2;
  m.moe.expert_ffn_hidden = 128;
  return m;
}

}  // namespace

TEST_CASE("eager SwiGLU keeps silu's output as well as gate and up", "[memory][eager]") {
  // F.silu(w1(x)) * w3(x): silu saves the gate, the multiply saves silu's
  // output and the up projection: one T x f bf16 tensor more than the fused
  // kernel's [gate, up]. torch.compile's and Megatron's lists are unchanged.
  const ModelSpec m = testing::small_llama(4);
  const TrainingSpec eager = training(Framework::kPyTorchEager, PrecisionMode::kPureBf16);
  const TrainingSpec compiled = training(Framework::kPyTorchCompile, PrecisionMode::kPureBf16);
  const LayerOps raw = decoder_layer_ops(m, eager, plan());
  CHECK((saved(raw, eager) - saved(raw, compiled)).count() == kTokens * m.ffn_hidden * 2);
  CHECK(saved(raw, compiled) == raw.saved_activations);
  // GELU keeps its input and the projection its output in both: no change.
  const ModelSpec g = gpt_like();
  const LayerOps graw = decoder_layer_ops(g, eager, plan());
  CHECK(saved(graw, eager) == saved(graw, compiled));
}

TEST_CASE("eager autocast keeps one bf16 copy of a GEMM input per GEMM", "[memory][eager][amp]") {
  // Separate wq, wk, wv cast the norm output three times (2 copies more than
  // one fused QKV GEMM); SwiGLU's w1 and w3 twice (1 more); a GELU MLP's one
  // fc once. Each copy is T x h bf16.
  const ModelSpec m = testing::small_llama(4);
  const TrainingSpec eager = training(Framework::kPyTorchEager, PrecisionMode::kAmpBf16);
  const TrainingSpec compiled = training(Framework::kPyTorchCompile, PrecisionMode::kAmpBf16);
  const LayerOps raw = decoder_layer_ops(m, eager, plan());
  const std::int64_t copy = kTokens * m.hidden * 2;
  CHECK((saved(raw, eager) - saved(raw, compiled)).count() == kTokens * m.ffn_hidden * 2 + 3 * copy);

  const ModelSpec g = gpt_like();
  const LayerOps graw = decoder_layer_ops(g, eager, plan());
  CHECK((saved(graw, eager) - saved(graw, compiled)).count() == 2 * copy);

  // FSDP's mixed precision runs without autocast: only SwiGLU's extra tensor.
  const TrainingSpec fsdp_mp = training(Framework::kPyTorchEager, PrecisionMode::kFsdpMixedBf16);
  const TrainingSpec fsdp_mp_compiled = training(Framework::kPyTorchCompile, PrecisionMode::kFsdpMixedBf16);
  const LayerOps mraw = decoder_layer_ops(m, fsdp_mp, plan(2, 1, 3));
  CHECK((saved(mraw, fsdp_mp) - saved(mraw, fsdp_mp_compiled)).count() == kTokens * m.ffn_hidden * 2);
}

TEST_CASE("eager full recompute keeps only the layer input, and the recompute re-saves the eager tensors",
          "[memory][eager][recompute]") {
  const ModelSpec m = testing::small_llama(4);
  TrainingSpec eager = training(Framework::kPyTorchEager, PrecisionMode::kPureBf16);
  eager.recompute = Recompute::kFull;
  TrainingSpec compiled = eager;
  compiled.framework = Framework::kPyTorchCompile;
  LayerOps e = decoder_layer_ops(m, eager, plan());
  LayerOps c = e;
  apply_framework(e, eager);
  apply_framework(c, compiled);
  CHECK(e.saved_activations.count() == kTokens * m.hidden * 2);  // the checkpointed input, bf16
  CHECK(e.saved_activations == c.saved_activations);
  Bytes re, rc;
  for (const LayerStep& s : e.recompute) re += s.saved_for_backward;
  for (const LayerStep& s : c.recompute) rc += s.saved_for_backward;
  CHECK((re - rc).count() == kTokens * m.ffn_hidden * 2);
}

TEST_CASE("eager MoE experts keep three f-wide tensors per routed row, two input copies under AMP",
          "[memory][eager][moe]") {
  const ModelSpec m = moe_like();
  const std::int64_t rows = kTokens * m.moe.top_k;  // balanced, ep 1: every assignment here
  const TrainingSpec eager = training(Framework::kPyTorchEager, PrecisionMode::kPureBf16);
  const TrainingSpec compiled = training(Framework::kPyTorchCompile, PrecisionMode::kPureBf16);
  const LayerOps raw = moe_layer_ops(m, eager, plan());
  CHECK((saved(raw, eager) - saved(raw, compiled)).count() == rows * m.moe.expert_ffn_hidden * 2);

  const TrainingSpec amp = training(Framework::kPyTorchEager, PrecisionMode::kAmpBf16);
  const TrainingSpec amp_compiled = training(Framework::kPyTorchCompile, PrecisionMode::kAmpBf16);
  const LayerOps araw = moe_layer_ops(m, amp, plan());
  // Experts: silu's output and a second bf16 copy of the routed rows (w1 and
  // w3 cast separately); attention: two more copies of the norm output.
  CHECK((saved(araw, amp) - saved(araw, amp_compiled)).count() ==
        rows * m.moe.expert_ffn_hidden * 2 + rows * m.hidden * 2 + 2 * kTokens * m.hidden * 2);
}

TEST_CASE("PyTorch: the head's gradient comes after the loss's buffers are freed", "[memory][eager]") {
  const ModelSpec m = testing::small_llama(4);
  const TrainingSpec t = training(Framework::kPyTorchEager, PrecisionMode::kPureBf16);
  const MemoryBreakdown b = estimate_memory(m, t, plan())[0];
  REQUIRE(b.gradients_replace_activations);
  // F.cross_entropy(logits.float()): 10 bytes per logit, T x V.
  CHECK(b.loss_temporary.count() == kTokens * m.vocab_size * 10);
  CHECK(b.other_temporary == Bytes(0));
  CHECK(b.temporary == b.loss_temporary);
  // The head's weight gradient (V x h bf16 + the final norm's) is smaller than
  // the loss's buffers here, so it adds nothing to the peak.
  CHECK(b.first_backward_gradients.count() == (m.vocab_size * m.hidden + m.hidden) * 2);
  REQUIRE(b.first_backward_gradients < b.loss_temporary);
  REQUIRE(b.activations + b.temporary > b.gradients);
  CHECK(b.total() == b.weights + b.optimizer_state + b.communication_buffers + b.activations + b.loss_temporary);

  // Under full recompute a layer's re-materialized tensors come after the
  // head's backward: they and the head's gradient add up.
  ModelSpec wide = m;
  wide.vocab_size = 128;  // a small loss buffer
  TrainingSpec r = t;
  r.recompute = Recompute::kFull;
  const MemoryBreakdown rb = estimate_memory(wide, r, plan())[0];
  REQUIRE(rb.other_temporary + rb.first_backward_gradients > rb.loss_temporary);
  REQUIRE(rb.activations + rb.other_temporary + rb.first_backward_gradients > rb.gradients);
  CHECK(rb.total() == rb.weights + rb.optimizer_state + rb.communication_buffers + rb.activations +
                          rb.other_temporary + rb.first_backward_gradients);

  // Megatron keeps its gradient buffer: everything adds up, unchanged.
  const TrainingSpec meg = training(Framework::kMegatron, PrecisionMode::kMegatronBf16);
  const MemoryBreakdown mb = estimate_memory(m, meg, plan())[0];
  CHECK(mb.total() == mb.weights + mb.gradients + mb.optimizer_state + mb.activations + mb.temporary +
                          mb.communication_buffers);
}

TEST_CASE("PyTorch DDP buckets hold the gradients DDP reduces: no routed experts when ep = dp",
          "[memory][ddp][moe]") {
  const ModelSpec m = moe_like();
  // Two micro-batches: gradients and activations add up, so the difference
  // between the frameworks is the bucket buffer alone (Megatron has none).
  const auto buffers = [&](Framework f, int dp, int ep) {
    const TrainingSpec t = training(f, PrecisionMode::kPureBf16, 2 * kMicro * dp);
    return estimate_memory(m, t, plan(dp, ep))[0];
  };
  const MemoryBreakdown ep2 = buffers(Framework::kPyTorchEager, 2, 2);
  const MemoryBreakdown ep2_meg = buffers(Framework::kMegatron, 2, 2);
  const std::int64_t dense = parameter_count(m) - num_moe_layers(m) * m.moe.num_experts * expert_parameter_count(m);
  const std::int64_t local_experts = num_moe_layers(m) * (m.moe.num_experts / 2) * expert_parameter_count(m);
  REQUIRE(ep2.gradients.count() == (dense + local_experts) * 2);
  CHECK((ep2.communication_buffers - ep2_meg.communication_buffers).count() == dense * 2);
  // ep 2 over dp 4: each expert has a replica to reduce with, and DDP buckets it.
  const MemoryBreakdown ep2dp4 = buffers(Framework::kPyTorchEager, 4, 2);
  const MemoryBreakdown ep2dp4_meg = buffers(Framework::kMegatron, 4, 2);
  CHECK((ep2dp4.communication_buffers - ep2dp4_meg.communication_buffers).count() == (dense + local_experts) * 2);
}
