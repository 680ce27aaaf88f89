#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/model_spec.hpp"
#include "small_models.hpp"

using namespace dtsim;
using namespace dtsim::models;
using Catch::Matchers::WithinRel;

namespace {

// Llama-shaped, 16 layers (see small_models.hpp).
ModelSpec llama_like() { return testing::small_llama(16); }

TrainingSpec training(std::int64_t global_batch) {
  TrainingSpec t;
  t.seq_len = 256;
  t.global_batch = global_batch;
  t.micro_batch = 2;
  return t;
}

ParallelPlan plan(int tp, int pp, int dp) {
  ParallelPlan p;
  p.tp = tp;
  p.pp = pp;
  p.dp = dp;
  return p;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

TEST_CASE("bytes per parameter by precision", "[memory]") {
  // Megatron 2 + 4 + 12 = 18 (reference §6: "Megatron with fp32 main-grad: 18");
  // AMP 4 + 4 + 8 = 16; pure bf16 2 + 2 + 4 = 8.
  const auto meg = parameter_bytes(PrecisionMode::kMegatronBf16);
  CHECK(meg.weights == 2);
  CHECK(meg.gradients == 4);
  CHECK(meg.optimizer == 12);
  CHECK(meg.total() == 18);
  CHECK(parameter_bytes(PrecisionMode::kAmpBf16).total() == 16);
  CHECK(parameter_bytes(PrecisionMode::kPureBf16).total() == 8);
}

TEST_CASE("stage parameters add up to the model", "[memory]") {
  // tp 1, no vocabulary padding: the stages hold parameter_count(m) between them.
  const ModelSpec m = llama_like();
  const auto p = stage_parameters(m, training(8), plan(1, 4, 1));
  REQUIRE(p.size() == 4);
  std::int64_t sum = 0;
  for (const auto v : p) sum += v;
  CHECK(sum == parameter_count(m));
  // Middle stages hold 4 layers only.
  CHECK(p[1] == 4 * decoder_layer_parameter_count(m));
  // Tied embeddings over pp > 1: the last stage keeps a copy of the V x h matrix.
  ModelSpec tied = m;
  tied.tied_embeddings = true;
  const auto pt = stage_parameters(tied, training(8), plan(1, 4, 1));
  sum = 0;
  for (const auto v : pt) sum += v;
  CHECK(sum == parameter_count(tied) + 1024 * 256);
}

TEST_CASE("ZeRO stages shard weights, gradients and optimizer state (Megatron precision)", "[memory][zero]") {
  // Per GPU, P the stage's parameters, N = dp (reference §6, with Megatron's 4-byte main grads):
  //   ZeRO-0: 18 P;  ZeRO-1: 6 P + 12 P/N (distributed optimizer);  ZeRO-2: 2 P + 16 P/N;  ZeRO-3: 18 P/N.
  const ModelSpec m = llama_like();
  const int dp = 8;
  for (const int zero : {0, 1, 2, 3}) {
    ParallelPlan p = plan(2, 2, dp);
    p.zero_stage = zero;
    const auto mem = estimate_memory(m, training(32), p);
    const auto params = stage_parameters(m, training(32), p);
    for (std::size_t s = 0; s < 2; ++s) {
      const std::int64_t P = params[s];
      const std::int64_t shard = ceil_div(P, dp);
      std::int64_t expected = 0;
      switch (zero) {
        case 0: expected = 18 * P; break;
        case 1: expected = 6 * P + 12 * shard; break;
        case 2: expected = 2 * P + 16 * shard; break;
        case 3: expected = 18 * shard; break;
      }
      const auto& b = mem[s];
      CHECK((b.weights + b.gradients + b.optimizer_state).count() == expected);
    }
  }
}

TEST_CASE("ZeRO with 2-byte gradients gives the reference's 16-byte figures", "[memory][zero]") {
  // Reference §6 (K = 12): ZeRO-1 4 P + 12 P/N, ZeRO-2 2 P + 14 P/N, ZeRO-3 16 P/N. Megatron
  // precision with its 4-byte main grads adds exactly 2 P (ZeRO 0/1) or 2 P/N (ZeRO 2/3).
  const ModelSpec m = llama_like();
  const int dp = 4;
  for (const int zero : {1, 2, 3}) {
    ParallelPlan p = plan(1, 1, dp);
    p.zero_stage = zero;
    const auto mem = estimate_memory(m, training(16), p);
    const auto& b = mem[0];
    const std::int64_t P = stage_parameters(m, training(16), p)[0];
    const std::int64_t n = ceil_div(P, dp);
    const std::int64_t reference = zero == 1 ? 4 * P + 12 * n : zero == 2 ? 2 * P + 14 * n : 16 * n;
    const std::int64_t extra = zero == 1 ? 2 * P : 2 * n;
    CHECK((b.weights + b.gradients + b.optimizer_state).count() == reference + extra);
  }
}

TEST_CASE("1F1B stage s holds min(pp - s, m) micro-batches of activations, and GPipe m", "[memory][activations]") {
  for (const auto schedule : {PipelineSchedule::kOneFOneB, PipelineSchedule::kGPipe}) {
    for (const std::int64_t global : {4, 16}) {  // m = 2 or 8 with micro_batch 2
      ParallelPlan p = plan(2, 4, 1);
      p.schedule = schedule;
      const auto mem = estimate_memory(llama_like(), training(global), p);
      const std::int64_t m = global / 2;
      for (int s = 0; s < 4; ++s) {
        const auto& b = mem[static_cast<std::size_t>(s)];
        const std::int64_t held = schedule == PipelineSchedule::kGPipe ? m : std::min<std::int64_t>(4 - s, m);
        CHECK(b.microbatches_in_flight == held);
        CHECK(b.activations == b.activations_per_microbatch * held);
      }
    }
  }
}

TEST_CASE("interleaved stage 0 holds p (1 + (p - 1)/(p v)) micro-batches (Megatron)", "[memory][activations]") {
  // Stage s peaks at W + 1 = 2 (p - s - 1) + (v - 1) p + 1 chunk passes of 1/v of the stage each:
  // for stage 0, p v + p - 1 = v p (1 + (p - 1)/(p v)) (reference §6, MEG-MEM). Stage 1 of 4 holds
  // decoder layers only, so its chunks are equal and the count is exact; stage 0's first chunk
  // also holds the embedding's few bytes per token (token ids, TP mask), within 1%.
  const ModelSpec m = llama_like();
  const TrainingSpec t = training(32);  // m = 16
  for (const int v : {2, 4}) {
    ParallelPlan p = plan(2, 4, 1);
    p.schedule = PipelineSchedule::kInterleavedOneFOneB;
    p.virtual_stages = v;
    const auto mem = estimate_memory(m, t, p);
    const double pp = 4.0;
    CHECK(mem[0].microbatches_in_flight == 4 * v + 4 - 1);
    CHECK_THAT(mem[0].activations.as_double() / mem[0].activations_per_microbatch.as_double(),
               WithinRel(pp * (1.0 + (pp - 1.0) / (pp * v)), 0.01));
    const int passes_1 = 2 * (4 - 1 - 1) + (v - 1) * 4 + 1;
    CHECK(mem[1].microbatches_in_flight == passes_1);
    CHECK(mem[1].activations * v == mem[1].activations_per_microbatch * passes_1);
  }
}

TEST_CASE("full recompute keeps each layer's input: 2 s b h per layer", "[memory][activations]") {
  // Reference §6 (KOR22): full recompute keeps the layer input, 2 s b h bytes (bf16), / t with SP.
  // A middle stage (4 layers) holds only decoder layers.
  TrainingSpec t = training(8);
  t.recompute = Recompute::kFull;
  for (const bool sp : {false, true}) {
    ParallelPlan p = plan(2, 4, 1);
    p.sequence_parallel = sp;
    const auto mem = estimate_memory(llama_like(), t, p);
    const auto& b = mem[1];
    const std::int64_t per_layer = 2 * 256 * 2 * 256 / (sp ? 2 : 1);
    CHECK(b.activations_per_microbatch.count() == 4 * per_layer);
  }
}

TEST_CASE("AMP keeps a bf16 copy of each cast weight per micro-batch in flight", "[memory][activations]") {
  // Autocast's bf16 weights (2 B per GEMM weight) stay saved until the backward:
  // a middle stage's activations per micro-batch grow by 2 x (layer parameters - norms) x layers.
  ParallelPlan p = plan(1, 4, 1);
  TrainingSpec meg = training(8);
  TrainingSpec amp = meg;
  amp.precision = PrecisionMode::kAmpBf16;
  const auto layer_amp = decoder_layer_ops(llama_like(), amp, p);
  const auto mem = estimate_memory(llama_like(), amp, p);
  const auto& b = mem[1];
  const std::int64_t casts = 4 * 2 * (layer_amp.parameters - 2 * 256);
  CHECK(b.activations_per_microbatch == layer_amp.saved_activations * 4 + Bytes(casts));
}

TEST_CASE("FSDP mixed precision under ZeRO-3 keeps no weight copies, and plain AMP under ZeRO-3 does", "[memory][activations]") {
  // fsdp_mixed_bf16 gathers bf16 shards and re-gathers them for backward;
  // amp_bf16 gathers the fp32 weights and autocast keeps bf16 copies, as without ZeRO-3.
  ParallelPlan p = plan(1, 4, 2);
  p.zero_stage = 3;
  TrainingSpec mixed = training(8);
  mixed.precision = PrecisionMode::kFsdpMixedBf16;
  const auto layer = decoder_layer_ops(llama_like(), mixed, p);
  const auto mem = estimate_memory(llama_like(), mixed, p);
  CHECK(mem[1].activations_per_microbatch == layer.saved_activations * 4);
  TrainingSpec amp = mixed;
  amp.precision = PrecisionMode::kAmpBf16;
  const auto amp_mem = estimate_memory(llama_like(), amp, p);
  const std::int64_t casts = 4 * 2 * (layer.parameters - 2 * 256);
  // AMP's layer saves more (its residual stream is fp32: autocast leaves the embedding alone).
  const auto amp_layer = decoder_layer_ops(llama_like(), amp, p);
  CHECK(amp_layer.saved_activations > layer.saved_activations);
  CHECK(amp_mem[1].activations_per_microbatch == amp_layer.saved_activations * 4 + Bytes(casts));
  // The gathered unit buffers: 4 B per parameter under AMP, 2 B under FSDP mixed precision.
  CHECK(gathered_weight_bytes(PrecisionMode::kAmpBf16) == 4);
  CHECK(gathered_weight_bytes(PrecisionMode::kFsdpMixedBf16) == 2);
  CHECK(gathered_weight_bytes(PrecisionMode::kMegatronBf16) == 2);
  CHECK(amp_mem[1].communication_buffers > mem[1].communication_buffers);
}

TEST_CASE("FSDP2 under PyTorch holds the unsharded gradients while it accumulates micro-batches", "[memory]") {
  // dp 2, 2 micro-batches: every parameter's unsharded gradient (bf16; under
  // FSDP2's mixed precision the bf16 parameter's) until the last reduces it;
  // one micro-batch, or Megatron's ZeRO-3, keeps only the shard.
  ParallelPlan p = plan(1, 1, 2);
  p.zero_stage = 3;
  TrainingSpec t = training(8);  // m = 2
  t.framework = Framework::kPyTorchEager;
  t.precision = PrecisionMode::kPureBf16;
  const std::int64_t params = stage_parameters(llama_like(), t, p)[0];
  CHECK(estimate_memory(llama_like(), t, p)[0].gradients == Bytes(params * 2));
  t.precision = PrecisionMode::kFsdpMixedBf16;
  CHECK(estimate_memory(llama_like(), t, p)[0].gradients == Bytes(params * 2));
  t.precision = PrecisionMode::kAmpBf16;
  CHECK(estimate_memory(llama_like(), t, p)[0].gradients == Bytes(params * 4));
  TrainingSpec one = t;
  one.global_batch = 4;  // m = 1
  CHECK(estimate_memory(llama_like(), one, p)[0].gradients == Bytes(ceil_div(params, 2) * 4));
  t.framework = Framework::kMegatron;
  t.precision = PrecisionMode::kMegatronBf16;
  CHECK(estimate_memory(llama_like(), t, p)[0].gradients == Bytes(ceil_div(params, 2) * 4));
}

TEST_CASE("the last stage's temporary holds one micro-batch's fp32 logits", "[memory]") {
  // T x V / tp x 4 = (2 x 256) x 512 x 4 B with tp 2.
  const auto mem = estimate_memory(llama_like(), training(8), plan(2, 2, 1));
  CHECK(mem[1].temporary.count() >= 2 * 256 * 512 * 4);
  CHECK(mem[1].temporary.count() == 2 * 256 * 512 * 4);
  CHECK(mem[0].temporary.count() == 0);  // no recompute, no head
}

TEST_CASE("communication buffers: pipeline messages and ZeRO-3's gathered units", "[memory]") {
  // pp > 1: a message each way, 2 x (b s h x 2 B). ZeRO-3 with prefetch: two gathered units
  // (the largest, bf16) and its fp32 gradient before the reduce-scatter.
  const ModelSpec m = llama_like();
  const std::int64_t message = 2 * 256 * 256 * 2;
  CHECK(estimate_memory(m, training(8), plan(1, 2, 1))[0].communication_buffers.count() == 2 * message);
  CHECK(estimate_memory(m, training(8), plan(1, 1, 1))[0].communication_buffers.count() == 0);
  ParallelPlan p = plan(1, 1, 4);
  p.zero_stage = 3;
  const std::int64_t layer = decoder_layer_parameter_count(m);
  const std::int64_t largest = std::max<std::int64_t>(layer, 1024 * 256);  // embedding or head matrix vs a layer
  CHECK(estimate_memory(m, training(8), p)[0].communication_buffers.count() == largest * 2 * 2 + largest * 4);
  p.fsdp_prefetch = false;
  CHECK(estimate_memory(m, training(8), p)[0].communication_buffers.count() == largest * 2 + largest * 4);
}

TEST_CASE("totals add the parts", "[memory]") {
  const auto mem = estimate_memory(llama_like(), training(8), plan(2, 2, 2));
  const auto& b = mem[0];
  CHECK(b.total() == b.weights + b.gradients + b.optimizer_state + b.activations + b.temporary +
                         b.communication_buffers);
  CHECK(b.total() > Bytes(0));
}

TEST_CASE("PyTorch with one micro-batch: gradients replace activations during the backward", "[memory]") {
  // zero_grad(set_to_none=True): the gradients appear layer by layer as the
  // backward frees activations. The peak is the larger of the forward's end
  // (activations + temporary, plus the head's gradients that the backward
  // creates first) and the backward's end (every gradient).
  TrainingSpec t = training(2);  // 1 micro-batch of 2 sequences, dp 1
  t.framework = Framework::kPyTorchEager;
  t.precision = PrecisionMode::kPureBf16;
  const MemoryBreakdown b = estimate_memory(llama_like(), t, plan(1, 1, 1))[0];
  REQUIRE(b.gradients_replace_activations);
  CHECK(b.first_backward_gradients > Bytes(0));
  CHECK(b.first_backward_gradients < b.gradients);
  // The head's gradient comes after the loss's buffers are freed (eager_memory_test.cpp).
  CHECK(b.total() == b.weights + b.optimizer_state + b.communication_buffers +
                         std::max(b.activations + std::max(b.loss_temporary,
                                                           b.other_temporary + b.first_backward_gradients),
                                  b.gradients));
  CHECK(b.total() < b.weights + b.gradients + b.optimizer_state + b.activations + b.temporary +
                        b.communication_buffers);
  // Gradient accumulation keeps the first micro-batch's gradients through the
  // second's forward; Megatron keeps its gradient buffer: both add up.
  TrainingSpec accumulate = t;
  accumulate.global_batch = 4;
  CHECK_FALSE(estimate_memory(llama_like(), accumulate, plan(1, 1, 1))[0].gradients_replace_activations);
  TrainingSpec megatron = t;
  megatron.framework = Framework::kMegatron;
  megatron.precision = PrecisionMode::kMegatronBf16;
  CHECK_FALSE(estimate_memory(llama_like(), megatron, plan(1, 1, 1))[0].gradients_replace_activations);
}

TEST_CASE("memory rejects an invalid plan", "[memory][reject]") {
  CHECK_THROWS_WITH(estimate_memory(llama_like(), training(8), plan(1, 3, 1)),
                    "/plan/pp: pp x virtual_stages = 3 x 1 = 3 does not divide num_layers = 16; expected a divisor, "
                    "or give layers_per_stage");
}
