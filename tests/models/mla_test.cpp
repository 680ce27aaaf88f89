// Multi-head latent attention (MLA): parameter counts, model FLOPs, the
// layer's kernels, TP splits, saved activations, the lowering's SP gradient
// all-reduce and AMP casts, validation, and the library's DeepSeek-V3.
// Expectations are closed forms in the comments.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/model_spec.hpp"
#include "lowering_stage.hpp"
#include "small_models.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

using testing::small_mla;

TrainingSpec training(std::int64_t b, std::int64_t s) {
  TrainingSpec t;
  t.seq_len = s;
  t.micro_batch = b;
  t.global_batch = b;
  return t;
}

ParallelPlan plan(int tp, bool sp) {
  ParallelPlan p;
  p.tp = tp;
  p.sequence_parallel = sp;
  return p;
}

const LayerStep* find(const std::vector<LayerStep>& steps, const std::string& name) {
  for (const auto& s : steps) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

double gemm_flops(const std::vector<LayerStep>& steps) {
  double f = 0;
  for (const auto& s : steps) {
    if (s.kind == LayerStep::Kind::kCompute && s.work.op_class == OpClass::kGemm) f += s.work.flops.count();
  }
  return f;
}

bool has_leaf(const std::vector<Diagnostic>& d, const std::string& path) {
  for (const auto& x : d) {
    if (x.path == path) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("MLA parameters per layer", "[mla][model_spec]") {
  // With r_q: query h r_q + r_q (norm) + r_q a (nope + rope) = 256*64 + 64 + 64*8*48 = 16384 + 64 + 24576;
  // KV h (r_kv + rope) + r_kv + r_kv a (nope + v) = 256*48 + 32 + 32*8*56 = 12288 + 32 + 14336;
  // out-proj a v h = 8*24*256 = 49152. Sum 116832.
  const ModelSpec m = small_mla();
  CHECK(validate_model(m, "/model").empty());
  CHECK(attention_parameter_count(m) == 116832);
  CHECK(mla_replicated_parameter_count(m) == 16384 + 64 + 12288 + 32);
  // The layer adds two RMSNorms (256 each) and a SwiGLU MLP 3 x 256 x 512 = 393216.
  CHECK(decoder_layer_parameter_count(m) == 116832 + 512 + 393216);
  // Without query compression: h a (nope + rope) = 256*8*48 = 98304 replaces the query's 41024.
  CHECK(attention_parameter_count(small_mla(0)) == 98304 + 12288 + 32 + 14336 + 49152);

  // The layer's kernels hold the same at tp = 1; at tp = 2 the down-projections and latent norms stay whole
  // (28768), the up-projections and out-proj halve ((24576 + 14336 + 49152) / 2 = 44032), the norms stay
  // (512) and the MLP halves (196608).
  CHECK(decoder_layer_ops(m, training(1, 128), plan(1, false)).parameters == decoder_layer_parameter_count(m));
  CHECK(decoder_layer_ops(m, training(1, 128), plan(2, true)).parameters == 28768 + 44032 + 512 + 196608);
}

TEST_CASE("MLA FLOPs per token per layer", "[mla][flops]") {
  const ModelSpec m = small_mla();
  const std::int64_t b = 2, s = 128, tokens = b * s;
  const LayerOps l = decoder_layer_ops(m, training(b, s), plan(1, false));
  // Forward GEMMs per token: 2 x (h r_q + r_q a d_qk + h (r_kv + rope) + r_kv a (nope + v) + a v h)
  //   = 2 x (16384 + 24576 + 12288 + 14336 + 49152) = 233472, plus the MLP 2 x 3 h f = 786432.
  CHECK(gemm_flops(l.forward) == Approx(static_cast<double>(tokens) * (233472.0 + 786432.0)));
  // Attention core: QK^T 2 P a d_qk + PV 2 P a v per sequence, P = s^2 / 2 causal pairs:
  //   2 x 8192 x 8 x (48 + 24) = 9437184 per sequence.
  const LayerStep* core = find(l.forward, "attn_core");
  REQUIRE(core != nullptr);
  CHECK(core->work.flops.count() == Approx(b * 2.0 * (s * s / 2.0) * 8 * (48 + 24)));
  CHECK(core->work.attention->head_dim == 48);
  CHECK(core->work.attention->head_dim_v == 24);
  CHECK(find(l.backward, "attn_core_bwd")->work.flops.count() == Approx(2.5 * core->work.flops.count()));

  // Model FLOPs of a one-layer model, B sequences: 3 x (T (233472 + 786432) + B 2 P a (d_qk + v) + 2 T h V).
  ModelSpec one = m;
  one.num_layers = 1;
  TrainingSpec t = training(1, s);
  t.global_batch = b;
  const double expected =
      3.0 * (tokens * (233472.0 + 786432.0) + b * 2.0 * (s * s / 2.0) * 8 * (48 + 24) + 2.0 * tokens * 256 * 1024);
  CHECK(model_flops_per_step(one, t).count() == Approx(expected));
}

TEST_CASE("MLA under TP: up-projections split over heads, latents gathered under SP", "[mla][layer_ops]") {
  const ModelSpec m = small_mla();
  const std::int64_t s = 128;  // T = 128, T_sp = 64 at tp = 2
  const LayerOps l = decoder_layer_ops(m, training(1, s), plan(2, true));
  // Down-projections run on the sequence shard with whole weights: M = T / tp, N = r_q or r_kv + rope, K = h.
  const LayerStep* q_down = find(l.forward, "q_down_proj");
  REQUIRE(q_down != nullptr);
  CHECK(q_down->work.gemm->m == 64);
  CHECK(q_down->work.gemm->n == 64);
  CHECK(q_down->work.gemm->k == 256);
  CHECK(find(l.forward, "kv_down_proj")->work.gemm->n == 48);
  // Up-projections on all T tokens, a / tp = 4 heads: N = 4 x 48 (query), 4 x (32 + 24) (keys and values).
  CHECK(find(l.forward, "q_up_proj")->work.gemm->n == 4 * 48);
  CHECK(find(l.forward, "kv_up_proj")->work.gemm->n == 4 * 56);
  CHECK(find(l.forward, "attn_out_proj")->work.gemm->k == 4 * 24);
  // SP gathers the latents (T x r_q and T x (r_kv + rope), bf16), not the h-wide input.
  CHECK(find(l.forward, "tp_all_gather_q_up_proj_latent")->collective_bytes == Bytes(128 * 64 * 2));
  CHECK(find(l.forward, "tp_all_gather_kv_up_proj_latent")->collective_bytes == Bytes(128 * 48 * 2));
  CHECK(find(l.forward, "tp_all_gather_attn") == nullptr);
  // Backward reduce-scatters the latents' gradients (the rope key's included).
  CHECK(find(l.backward, "tp_reduce_scatter_kv_up_proj_dgrad")->collective_bytes == Bytes(128 * 48 * 2));
  CHECK(find(l.backward, "tp_reduce_scatter_q_up_proj_dgrad")->collective_bytes == Bytes(128 * 64 * 2));
  // Without query compression, a column-parallel q_proj takes the h-wide SP all-gather.
  const LayerOps direct = decoder_layer_ops(small_mla(0), training(1, s), plan(2, true));
  CHECK(find(direct.forward, "q_proj")->work.gemm->n == 4 * 48);
  CHECK(find(direct.forward, "tp_all_gather_attn")->collective_bytes == Bytes(128 * 256 * 2));
  CHECK(find(direct.forward, "q_down_proj") == nullptr);
}

TEST_CASE("MLA saved activations: the latents, flash's Q K V, not the h-wide input twice", "[mla][layer_ops]") {
  const ModelSpec m = small_mla();
  const std::int64_t T = 128, h = 256, a = 8, rq = 64, rkv = 32, dqk = 48, dv = 24, f = 512;
  const LayerOps l = decoder_layer_ops(m, training(1, T), plan(1, false));
  // Bytes (bf16 = 2, fp32 statistics 4 per token):
  //  input norm 2hT + 4T; q_down its input 2hT; q norm 2 r_q T + 4T; q_up 2 r_q T; kv norm 2 r_kv T + 4T;
  //  kv_up 2 r_kv T; flash Q, K, V 2T (a d_qk + a d_qk + a v) and LSE 4aT; out-proj 2 a v T;
  //  post norm 2hT + 4T; MLP up 2hT, SwiGLU 2 x 2fT, down 2fT.
  const std::int64_t attention = (2 * h * T + 4 * T) + 2 * h * T + (2 * rq * T + 4 * T) + 2 * rq * T +
                                 (2 * rkv * T + 4 * T) + 2 * rkv * T + 2 * T * (2 * a * dqk + a * dv) + 4 * a * T +
                                 2 * a * dv * T + (2 * h * T + 4 * T);
  const std::int64_t mlp = 2 * h * T + 4 * f * T + 2 * f * T;
  CHECK(l.saved_activations == Bytes(attention + mlp));
}

TEST_CASE("MLA's replicated weights join the SP gradient all-reduce, and AMP casts every projection", "[mla][lowering]") {
  const ModelSpec m = small_mla();
  // Under SP each TP rank computes the down-projections' and latent norms' gradients from its sequence shard:
  // they are all-reduced over TP with the two layer norms, 2 x 256 + 28768.
  const lowering_detail::ModelLayout sp(m, training(1, 128), plan(2, true));
  CHECK(sp.norm_parameters_per_layer() == 512 + 28768);
  // AMP casts the 5 attention matrices and the 3 SwiGLU matrices of a layer, one kernel per weight tensor (8):
  // every parameter but the layer norms (512) and the latent norms (64 + 32).
  TrainingSpec amp = training(1, 128);
  amp.precision = PrecisionMode::kAmpBf16;
  const lowering_detail::ModelLayout layout(m, amp, plan(1, false));
  const lowering_detail::StageModel sm = layout.stage(0);
  const lowering_detail::Unit* layer = nullptr;
  for (const auto& u : sm.chunks.front().units) {
    if (u.kind == lowering_detail::UnitKind::kDecoder) layer = &u;
  }
  REQUIRE(layer != nullptr);
  REQUIRE(layer->casts->size() == 1);
  const LayerStep& cast = layer->casts->front();
  CHECK(cast.work.bytes_read == Bytes(4 * (decoder_layer_parameter_count(m) - 512 - 96)));
  CHECK(cast.work.kernels == 8);
}

TEST_CASE("MLA validation names the field, the value and what was expected", "[mla]") {
  ModelSpec m = small_mla();
  m.mla.kv_lora_rank = 0;
  auto d = validate_model(m, "/model");
  REQUIRE(has_leaf(d, "/model/kv_lora_rank"));
  CHECK_THAT(d.front().message, Catch::Contains("kv_lora_rank = 0") && Catch::Contains(">= 1"));

  m = small_mla();
  m.head_dim = 64;
  CHECK(has_leaf(validate_model(m, "/model"), "/model/head_dim"));
  m = small_mla();
  m.num_kv_heads = 4;
  CHECK(has_leaf(validate_model(m, "/model"), "/model/num_kv_heads"));
  m = small_mla();
  m.linear_bias = true;
  CHECK(has_leaf(validate_model(m, "/model"), "/model/linear_bias"));

  // MLA fields on an MHA model are not silently ignored.
  ModelSpec mha = testing::small_llama(4);
  mha.mla.kv_lora_rank = 512;
  CHECK(has_leaf(validate_model(mha, "/model"), "/model/attention"));
}

TEST_CASE("DeepSeek-V3 with MLA: 671B total, 37B active", "[mla][model_spec]") {
  const ModelLibrary lib = builtin_models();
  const ModelSpec& v3 = *lib.find("deepseek-v3");
  REQUIRE(v3.attention == AttentionKind::kMla);
  CHECK(validate_model(v3, "/model").empty());
  // Attention per layer: 7168*1536 + 1536 + 1536*128*192 + 7168*576 + 512 + 512*128*256 + 128*128*7168
  //   = 187,107,328 (the "~187M" of MLA's parameter budget).
  CHECK(attention_parameter_count(v3) == 187107328);
  // Total: 61 attention blocks and norm pairs + 3 dense MLPs (3*7168*18432) + 58 MoE MLPs (router 7168*256,
  // 257 experts of 3*7168*2048) + 2 x 129280*7168 + 7168 = 671.03e9 (the report: 671B).
  const auto total = static_cast<double>(parameter_count(v3));
  CHECK(total == Approx(671.0e9).epsilon(0.01));
  CHECK(total == Approx(671.03e9).epsilon(0.0002));
  // Active: 9 of 257 experts per MoE layer = 37.55e9 with the token embedding, 36.63e9 without it
  // (DeepSeek's README_WEIGHTS: 36.6B activated, the 0.9B output head included; the report rounds to 37B).
  const auto active = static_cast<double>(active_parameter_count(v3));
  CHECK(active == Approx(37.0e9).epsilon(0.02));
  CHECK(active - 129280.0 * 7168 == Approx(36.6e9).epsilon(0.005));
}


TEST_CASE("MLA under context parallelism exchanges the up-projected K and V", "[mla][context_parallel]") {
  const ModelSpec m = small_mla();
  ParallelPlan p = plan(1, false);
  p.cp = 2;
  const std::int64_t s = 128;
  const LayerOps l = decoder_layer_ops(m, training(1, s), p);
  // Each rank holds s / cp = 64 tokens of K (8 heads x 48) and V (8 x 24): 64 x 8 x 72 x 2 bytes; the
  // all-gather's S is cp times that.
  const LayerStep* kv = find(l.forward, "cp_all_gather_kv");
  REQUIRE(kv != nullptr);
  CHECK(kv->collective_bytes == Bytes(2 * 64 * 8 * 72 * 2));
  // And 1/cp of the causal attention: 2 x 8192 x 8 x 72 / 2.
  CHECK(find(l.forward, "attn_core")->work.flops.count() == Approx(2.0 * (s * s / 2.0) * 8 * 72 / 2));
}
