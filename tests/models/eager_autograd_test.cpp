// Eager PyTorch's autograd structure that the fused lists do not have
// (framework_profile.cpp, layer_ops_steps.hpp), in closed form on
// small_models.hpp's shapes: the sums of input gradients of GEMMs sharing an
// input, autocast's per-GEMM input casts, and FSDP2's mixed precision
// computing in bf16 under ZeRO-3.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dtsim/models/framework_profile.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/model_spec.hpp"
#include "small_models.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

constexpr std::int64_t kTokens = 2 * 256;

TrainingSpec training(PrecisionMode p, Framework f = Framework::kPyTorchEager) {
  TrainingSpec t;
  t.seq_len = 256;
  t.micro_batch = 2;
  t.global_batch = 2;
  t.framework = f;
  t.precision = p;
  return t;
}

ParallelPlan plan(int zero_stage = 0) {
  ParallelPlan p;
  p.zero_stage = zero_stage;
  return p;
}

LayerOps layer(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p = plan()) {
  LayerOps ops = decoder_layer_ops(m, t, p);
  apply_framework(ops, t);
  return ops;
}

const LayerStep* find(const std::vector<LayerStep>& steps, const std::string& name) {
  for (const LayerStep& s : steps) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ModelSpec gpt_like() { return testing::small_gpt(4); }

}  // namespace

TEST_CASE("eager autograd sums the input gradients of q, k, v and of SwiGLU's w1, w3", "[layer_ops][eager]") {
  const ModelSpec m = testing::small_llama(4);
  const std::int64_t e = kTokens * m.hidden;  // the norm output's elements
  const LayerOps bf16 = layer(m, training(PrecisionMode::kPureBf16));
  const LayerStep* qkv = find(bf16.backward, "qkv_proj_input_grad_sum");
  REQUIRE(qkv != nullptr);
  CHECK(qkv->work.kernels == 2);  // dq_x + dk_x + dv_x
  CHECK(qkv->work.bytes_read.count() == 2 * 2 * e * 2);
  CHECK(qkv->work.bytes_written.count() == 2 * e * 2);
  const LayerStep* up = find(bf16.backward, "mlp_up_input_grad_sum");
  REQUIRE(up != nullptr);
  CHECK(up->work.kernels == 1);
  // GELU's one fc has nothing to sum; q, k, v still do.
  const LayerOps gpt = layer(gpt_like(), training(PrecisionMode::kPureBf16));
  CHECK(find(gpt.backward, "mlp_up_input_grad_sum") == nullptr);
  CHECK(find(gpt.backward, "qkv_proj_input_grad_sum") != nullptr);
  // The fused lists (Megatron, torch.compile) have one GEMM: no sums.
  CHECK(find(layer(m, training(PrecisionMode::kPureBf16, Framework::kPyTorchCompile)).backward,
             "qkv_proj_input_grad_sum") == nullptr);
}

TEST_CASE("under autocast each GEMM casts its own input, and each gradient is cast back before the sums",
          "[layer_ops][eager][amp]") {
  const ModelSpec m = testing::small_llama(4);
  const std::int64_t e = kTokens * m.hidden;
  const LayerOps amp = layer(m, training(PrecisionMode::kAmpBf16));
  const LayerStep* cast = find(amp.forward, "qkv_proj_input_cast");
  REQUIRE(cast != nullptr);
  CHECK(cast->work.kernels == 3);
  CHECK(cast->work.bytes_read.count() == 3 * e * 4);
  CHECK(cast->work.bytes_written.count() == 3 * e * 2);
  CHECK(find(amp.forward, "mlp_up_input_cast")->work.kernels == 2);
  CHECK(find(amp.backward, "qkv_proj_input_grad_cast")->work.kernels == 3);
  // The sums run on the fp32 casts, after them.
  const LayerStep* sum = find(amp.backward, "qkv_proj_input_grad_sum");
  REQUIRE(sum != nullptr);
  CHECK(sum->work.bytes_read.count() == 2 * 2 * e * 4);
  std::size_t at_cast = 0, at_sum = 0;
  for (std::size_t i = 0; i < amp.backward.size(); ++i) {
    if (amp.backward[i].name == "qkv_proj_input_grad_cast") at_cast = i;
    if (amp.backward[i].name == "qkv_proj_input_grad_sum") at_sum = i;
  }
  CHECK(at_sum == at_cast + 1);
  // AMP's weight gradients: each bf16 GEMM output cast into its fp32 .grad,
  // one kernel per weight (q, k, v), no add (AccumulateGrad adds only from
  // the second micro-batch on).
  const LayerStep* wcast = find(amp.backward, "qkv_proj_wgrad_cast");
  REQUIRE(wcast != nullptr);
  CHECK(wcast->work.kernels == 3);
  CHECK(find(amp.backward, "qkv_proj_wgrad_add") == nullptr);
}

TEST_CASE("FSDP2 mixed precision computes in bf16 under ZeRO-3, as AMP without it", "[layer_ops][eager][fsdp]") {
  const ModelSpec m = testing::small_llama(4);
  const std::int64_t e = kTokens * m.hidden;
  const TrainingSpec t = training(PrecisionMode::kFsdpMixedBf16);
  const LayerOps zero3 = layer(m, t, plan(3));
  const LayerOps bf16 = layer(m, training(PrecisionMode::kPureBf16), plan(3));
  CHECK(find(zero3.forward, "qkv_proj_input_cast") == nullptr);
  // A bf16 residual stream: the norm reads x and its weight in bf16.
  CHECK(find(zero3.forward, "input_norm")->work.bytes_read == find(bf16.forward, "input_norm")->work.bytes_read);
  CHECK(zero3.saved_activations == bf16.saved_activations);
  CHECK(find(zero3.backward, "qkv_proj_input_grad_sum")->work.bytes_read.count() == 2 * 2 * e * 2);
  // Without ZeRO-3 it is AMP throughout: fp32 residual stream, each GEMM's
  // own input cast, and adds into an fp32 .grad.
  const LayerOps zero0 = layer(m, t, plan(0));
  REQUIRE(find(zero0.forward, "qkv_proj_input_cast") != nullptr);
  CHECK(find(zero0.forward, "qkv_proj_input_cast")->work.kernels == 3);
  const auto adds0 = gradient_accumulation_ops(1000, 1, t, plan(0));
  const auto adds3 = gradient_accumulation_ops(1000, 1, t, plan(3));
  REQUIRE((adds0.size() == 1 && adds3.size() == 1));
  CHECK(adds0[0].work.bytes_written.count() == 4000);
  CHECK(adds3[0].work.bytes_written.count() == 2000);
}

TEST_CASE("a PyTorch wgrad writes the gradient, and Megatron's accumulates into storage", "[layer_ops][eager]") {
  // PyTorch: the first micro-batch's gradient becomes .grad, later ones are
  // the lowering's adds, so the GEMM reads only its operands. Megatron
  // (and its precision) reads and writes its fp32 main_grad.
  const ModelSpec m = testing::small_llama(4);
  const std::int64_t h = m.hidden, f = m.ffn_hidden;
  const LayerOps eager = layer(m, training(PrecisionMode::kPureBf16));
  const LayerStep* down = find(eager.backward, "mlp_down_wgrad");
  REQUIRE(down != nullptr);
  CHECK(down->work.bytes_written.count() == h * f * 2);
  CHECK(down->work.bytes_read.count() == (kTokens * h + kTokens * f) * 2);
  TrainingSpec megatron = training(PrecisionMode::kMegatronBf16, Framework::kMegatron);
  const LayerOps fused = decoder_layer_ops(m, megatron, plan());
  CHECK(find(fused.backward, "mlp_down_wgrad")->work.bytes_read.count() == (kTokens * h + kTokens * f) * 2 + h * f * 4);
}

TEST_CASE("routed experts: the weight gradients' cast under AMP, and w1 and w3's input-gradient sum",
          "[layer_ops][eager][moe]") {
  ModelSpec m = testing::small_llama(4);
  m.moe.num_experts = 8;
  m.moe.top_k = 2;
  m.moe.expert_ffn_hidden = 128;
  const LayerOps amp = [&] {
    LayerOps ops = moe_layer_ops(m, training(PrecisionMode::kAmpBf16), plan());
    apply_framework(ops, training(PrecisionMode::kAmpBf16));
    return ops;
  }();
  CHECK(find(amp.backward, "expert_up_wgrad_cast") != nullptr);
  CHECK(find(amp.backward, "expert_down_wgrad_cast") != nullptr);
  const LayerStep* sum = find(amp.backward, "expert_up_input_grad_sum");
  REQUIRE(sum != nullptr);
  CHECK(sum->work.kernels == 1);
}
