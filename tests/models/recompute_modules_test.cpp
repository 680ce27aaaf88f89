// Selective recompute by module (TrainingSpec::recompute_modules, Megatron's
// --recompute-modules): what each module stops keeping, what it re-runs and
// what the re-runs carry, their composition, and the rejected cases.
// Expectations are closed forms in the comments (bf16 tensors: 2 bytes).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "small_models.hpp"

using namespace dtsim;
using namespace dtsim::models;
using M = RecomputeModule;

namespace {

// small_llama (h 256, 8 heads of 32, 4 KV heads, SwiGLU f 512).
ModelSpec dense() { return testing::small_llama(2); }

ModelSpec mla(std::int64_t q_lora_rank = 64) { return testing::small_mla(q_lora_rank); }

// small_moe with `shared` shared experts of 256.
ModelSpec moe(std::int64_t shared = 0) {
  ModelSpec m = testing::small_moe();
  m.moe.num_shared_experts = shared;
  m.moe.shared_expert_ffn_hidden = shared > 0 ? 256 : 0;
  return m;
}

TrainingSpec training(Recompute r = Recompute::kNone, std::vector<RecomputeModule> modules = {},
                      PrecisionMode precision = PrecisionMode::kMegatronBf16) {
  TrainingSpec t;
  t.seq_len = 128;
  t.micro_batch = 2;
  t.global_batch = 2;
  t.precision = precision;
  t.recompute = r;
  t.recompute_modules = std::move(modules);
  return t;
}

TrainingSpec selective(std::vector<RecomputeModule> modules,
                       PrecisionMode precision = PrecisionMode::kMegatronBf16) {
  return training(Recompute::kSelective, std::move(modules), precision);
}

ParallelPlan plan(int tp = 1) {
  ParallelPlan p;
  p.tp = tp;
  p.sequence_parallel = tp > 1;
  return p;
}

LayerOps layer(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p) {
  return m.moe.enabled() ? moe_layer_ops(m, t, p) : decoder_layer_ops(m, t, p);
}

std::vector<std::string> names(const std::vector<LayerStep>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) out.push_back(s.name);
  return out;
}

const LayerStep& step(const std::vector<LayerStep>& steps, const std::string& name) {
  for (const auto& s : steps) {
    if (s.name == name) return s;
  }
  FAIL("no step " << name);
  return steps.front();
}

double flops(const std::vector<LayerStep>& steps) {
  double f = 0;
  for (const auto& s : steps) f += s.work.flops.count();
  return f;
}

// FLOPs of the forward steps named like the recompute list's, in order.
double forward_flops_of(const LayerOps& l) {
  double f = 0;
  for (const auto& r : l.recompute) f += step(l.forward, r.name).work.flops.count();
  return f;
}

double saved(const std::vector<LayerStep>& steps) {
  double b = 0;
  for (const auto& s : steps) b += s.saved_for_backward.as_double();
  return b;
}

bool same_steps(const std::vector<LayerStep>& a, const std::vector<LayerStep>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].saved_for_backward != b[i].saved_for_backward ||
        a[i].work.flops != b[i].work.flops || a[i].work.bytes_read != b[i].work.bytes_read ||
        a[i].work.bytes_written != b[i].work.bytes_written || a[i].kind != b[i].kind ||
        a[i].collective_bytes != b[i].collective_bytes) {
      return false;
    }
  }
  return true;
}

std::vector<Diagnostic> problems(const ModelSpec& m, const TrainingSpec& t) {
  return validate_plan(m, t, plan(), "/plan", "/training");
}

}  // namespace

TEST_CASE("selective alone is recompute_modules [core_attn]", "[recompute][layer_ops]") {
  for (const ModelSpec& m : {dense(), mla(), mla(0), moe(1)}) {
    for (auto prec : {PrecisionMode::kMegatronBf16, PrecisionMode::kAmpBf16}) {
      for (int tp : {1, 2}) {
        const LayerOps a = layer(m, training(Recompute::kSelective, {}, prec), plan(tp));
        const LayerOps b = layer(m, selective({M::kCoreAttention}, prec), plan(tp));
        INFO(m.name << " tp " << tp);
        CHECK(same_steps(a.forward, b.forward));
        CHECK(same_steps(a.recompute, b.recompute));
        CHECK(a.saved_activations == b.saved_activations);
        // The attention core only, carrying O and the LSE.
        CHECK(names(b.recompute) == std::vector<std::string>{"attn_core"});
      }
    }
  }
}

TEST_CASE("layernorm: the norms' outputs are not kept, the norms re-run", "[recompute][layer_ops][memory]") {
  // Dense layer, T = b s = 256 tokens, h = 256: the QKV GEMM and the MLP-up
  // GEMM each kept the norm output, T_sp h x 2 bytes; both go.
  const ModelSpec m = dense();
  for (int tp : {1, 2}) {
    const double t_sp = 256.0 / tp, h = 256;
    const LayerOps none = layer(m, training(), plan(tp));
    const LayerOps ln = layer(m, selective({M::kLayerNorm}), plan(tp));
    CHECK(none.saved_activations.as_double() - ln.saved_activations.as_double() == Approx(2 * 2 * t_sp * h));
    CHECK(names(ln.recompute) == std::vector<std::string>{"input_norm", "post_attn_norm"});
    // RMSNorm forward: 4 FLOPs per element, T_sp h elements each.
    CHECK(flops(ln.recompute) == Approx(2 * 4 * t_sp * h));
    CHECK(flops(ln.recompute) == Approx(forward_flops_of(ln)));
    // They re-make what the GEMMs no longer keep.
    CHECK(saved(ln.recompute) == Approx(2 * 2 * t_sp * h));
    CHECK(step(ln.forward, "qkv_proj").saved_for_backward.count() == 0);
    CHECK(step(ln.forward, "mlp_up").saved_for_backward.count() == 0);
    // The norms still keep their inputs and statistics (2 T_sp h + 4 T_sp).
    CHECK(step(ln.forward, "input_norm").saved_for_backward.as_double() == Approx(2 * t_sp * h + 4 * t_sp));
  }
  SECTION("under AMP the GEMMs' bf16 input casts re-run with the norms") {
    const LayerOps ln = layer(m, selective({M::kLayerNorm}, PrecisionMode::kAmpBf16), plan(1));
    CHECK(names(ln.recompute) ==
          std::vector<std::string>{"input_norm", "qkv_proj_input_cast", "post_attn_norm", "mlp_up_input_cast"});
    const LayerOps none = layer(m, training(Recompute::kNone, {}, PrecisionMode::kAmpBf16), plan(1));
    CHECK(none.saved_activations.as_double() - ln.saved_activations.as_double() == Approx(2 * 2 * 256.0 * 256));
  }
  SECTION("MLA: both down-projections read the norm output (one kept tensor)") {
    const LayerOps n = layer(mla(), training(), plan(1));
    const LayerOps l = layer(mla(), selective({M::kLayerNorm}), plan(1));
    CHECK(n.saved_activations.as_double() - l.saved_activations.as_double() == Approx(2 * 2 * 256.0 * 256));
  }
}

TEST_CASE("mla_up_proj keeps the compressed latents instead of Q, K and V", "[recompute][mla][memory]") {
  // small MLA, T = 256 tokens, tp 1, a = 8 heads, d_qk 48, v 24, h 256, f 512:
  // kept without recompute: norms 2 (2Th + 4T); query down-proj input 2Th;
  // latents before their norms 2T (r_q + r_kv) + 2 x 4T; normed latents (the
  // up-projections' inputs) 2T (r_q + r_kv); Q, K, V 2T a (2 d_qk + v); LSE
  // 4Ta; out-proj input 2Tav; MLP 2Th + 2T 2f + 2Tf.
  // With mla_up_proj the normed latents and Q, K, V go; the rotary key 2T rope comes in.
  const double T = 256, h = 256, a = 8, dqk = 48, v = 24, rq = 64, rkv = 32, rope = 16, f = 512;
  const double mlp = 2 * T * h + 2 * T * 2 * f + 2 * T * f;
  const double none_closed = 2 * (2 * T * h + 4 * T) + 2 * T * h + 2 * T * (rq + rkv) + 8 * T + 2 * T * (rq + rkv) +
                             2 * T * a * (2 * dqk + v) + 4 * T * a + 2 * T * a * v + mlp;
  const double up_closed = 2 * (2 * T * h + 4 * T) + 2 * T * h + 2 * T * (rq + rkv + rope) + 8 * T + 4 * T * a +
                           2 * T * a * v + mlp;
  const LayerOps none = layer(mla(), training(), plan(1));
  const LayerOps up = layer(mla(), selective({M::kMlaUpProjection}), plan(1));
  CHECK(none.saved_activations.as_double() == Approx(none_closed).epsilon(1e-12));
  CHECK(up.saved_activations.as_double() == Approx(up_closed).epsilon(1e-12));
  CHECK(names(up.recompute) ==
        std::vector<std::string>{"q_latent_norm", "q_up_proj", "kv_latent_norm", "kv_up_proj", "mla_rotary"});
  // Re-run FLOPs: the up-projections 2 T r_q a d_qk + 2 T r_kv a (nope + v), the latent norms, the rotary.
  CHECK(flops(up.recompute) == Approx(forward_flops_of(up)));
  CHECK(flops(up.recompute) > 2 * T * rq * a * dqk + 2 * T * rkv * a * (32 + v));
  // They re-make the normed latents and Q, K, V (flash attention's inputs) for backward.
  CHECK(saved(up.recompute) == Approx(2 * T * (rq + rkv) + 2 * T * a * (2 * dqk + v)));
  CHECK(step(up.forward, "attn_core").saved_for_backward.as_double() == Approx(4 * T * a));

  SECTION("with core_attn too: flash attention keeps nothing and re-runs after the rotary") {
    const LayerOps both = layer(mla(), selective({M::kMlaUpProjection, M::kCoreAttention}), plan(1));
    CHECK(both.saved_activations.as_double() == Approx(up_closed - 4 * T * a).epsilon(1e-12));
    CHECK(names(both.recompute).back() == "attn_core");
    CHECK(step(both.forward, "attn_core").saved_for_backward.count() == 0);
  }
  SECTION("tp 2 with SP: the latents' all-gathers re-run, the latents are kept sharded") {
    const LayerOps n2 = layer(mla(), training(), plan(2));
    const LayerOps u2 = layer(mla(), selective({M::kMlaUpProjection}), plan(2));
    // Removed: normed latents 2 (T/2)(r_q + r_kv), Q, K, V of 4 heads 2T 4 (2 d_qk + v); added rope key 2 (T/2) rope.
    CHECK(n2.saved_activations.as_double() - u2.saved_activations.as_double() ==
          Approx(2 * (T / 2) * (rq + rkv) + 2 * T * 4 * (2 * dqk + v) - 2 * (T / 2) * rope));
    CHECK(names(u2.recompute) ==
          std::vector<std::string>{"q_latent_norm", "tp_all_gather_q_up_proj_latent", "q_up_proj", "kv_latent_norm",
                                   "tp_all_gather_kv_up_proj_latent", "kv_up_proj", "mla_rotary"});
  }
  SECTION("without q_lora_rank the query projection re-runs from the kept norm output") {
    const LayerOps n0 = layer(mla(0), training(), plan(1));
    const LayerOps u0 = layer(mla(0), selective({M::kMlaUpProjection}), plan(1));
    CHECK(names(u0.recompute) ==
          std::vector<std::string>{"q_proj", "kv_latent_norm", "kv_up_proj", "mla_rotary"});
    CHECK(n0.saved_activations.as_double() - u0.saved_activations.as_double() ==
          Approx(2 * T * rkv + 2 * T * a * (2 * dqk + v) - 2 * T * rope));
  }
}

TEST_CASE("moe_act: the routed experts' activation output is not kept", "[recompute][moe][memory]") {
  // Balanced, ep 1: the experts see T k = 256 x 2 rows; SwiGLU output rows x f_e x 2 bytes.
  const double rows = 256 * 2, fe = 128;
  const LayerOps none = layer(moe(), training(), plan(1));
  const LayerOps act = layer(moe(), selective({M::kMoeActivation}), plan(1));
  CHECK(none.saved_activations.as_double() - act.saved_activations.as_double() == Approx(2 * rows * fe));
  CHECK(names(act.recompute) == std::vector<std::string>{"expert_swiglu"});
  CHECK(flops(act.recompute) == Approx(5 * rows * fe));  // SwiGLU: 5 FLOPs per output element
  CHECK(saved(act.recompute) == Approx(2 * rows * fe));
  CHECK(step(act.forward, "expert_down").saved_for_backward.count() == 0);
  // A dense layer of the MoE model has no routed experts: unchanged, nothing re-run.
  const LayerOps dense_layer = decoder_layer_ops(moe(), selective({M::kMoeActivation}), plan(1));
  CHECK(dense_layer.recompute.empty());
  CHECK(dense_layer.saved_activations == decoder_layer_ops(moe(), training(), plan(1)).saved_activations);
}

TEST_CASE("mlp and shared_experts checkpoint their block, keeping only its input", "[recompute][layer_ops][memory]") {
  const double T = 256;
  SECTION("mlp: the SwiGLU input 2T 2f and the down-projection input 2Tf go") {
    const double f = 512;
    const LayerOps none = layer(dense(), training(), plan(1));
    const LayerOps mlp = layer(dense(), selective({M::kMlp}), plan(1));
    CHECK(none.saved_activations.as_double() - mlp.saved_activations.as_double() == Approx(2 * T * 2 * f + 2 * T * f));
    CHECK(names(mlp.recompute) == std::vector<std::string>{"mlp_up", "mlp_swiglu", "mlp_down"});
    // 2 T h 2f + 2 T f h GEMM FLOPs + 5 T f for SwiGLU.
    CHECK(flops(mlp.recompute) == Approx(2 * T * 256 * 2 * f + 2 * T * f * 256 + 5 * T * f));
    CHECK(saved(mlp.recompute) == Approx(2 * T * 2 * f + 2 * T * f));
    // Under TP with SP the block's all-gather and reduce-scatter run again.
    CHECK(names(layer(dense(), selective({M::kMlp}), plan(2)).recompute) ==
          std::vector<std::string>{"tp_all_gather_mlp", "mlp_up", "mlp_swiglu", "mlp_down", "tp_reduce_scatter_mlp"});
  }
  SECTION("shared_experts: one shared expert of 256") {
    const double fs = 256;
    const LayerOps none = layer(moe(1), training(), plan(1));
    const LayerOps sh = layer(moe(1), selective({M::kSharedExperts}), plan(1));
    CHECK(none.saved_activations.as_double() - sh.saved_activations.as_double() ==
          Approx(2 * T * 2 * fs + 2 * T * fs));
    CHECK(names(sh.recompute) ==
          std::vector<std::string>{"shared_expert_up", "shared_expert_swiglu", "shared_expert_down"});
    CHECK(flops(sh.recompute) == Approx(forward_flops_of(sh)));
  }
  SECTION("with layernorm the norm output is dropped once, not twice") {
    const LayerOps none = layer(dense(), training(), plan(1));
    const LayerOps both = layer(dense(), selective({M::kLayerNorm, M::kMlp}), plan(1));
    CHECK(none.saved_activations.as_double() - both.saved_activations.as_double() ==
          Approx(2 * 2 * T * 256 + 2 * T * 2 * 512 + 2 * T * 512));
    CHECK(names(both.recompute) ==
          std::vector<std::string>{"input_norm", "post_attn_norm", "mlp_up", "mlp_swiglu", "mlp_down"});
  }
}

TEST_CASE("every module combination keeps the saved-activation invariant", "[recompute][layer_ops][memory]") {
  const std::vector<std::vector<RecomputeModule>> lists{
      {M::kCoreAttention, M::kLayerNorm},
      {M::kLayerNorm, M::kMlaUpProjection, M::kMoeActivation, M::kSharedExperts, M::kMlp},
      {M::kCoreAttention, M::kLayerNorm, M::kMlaUpProjection, M::kMoeActivation, M::kSharedExperts, M::kMlp}};
  for (auto prec : {PrecisionMode::kMegatronBf16, PrecisionMode::kAmpBf16, PrecisionMode::kPureBf16}) {
    for (int tp : {1, 2}) {
      for (const auto& list : lists) {
        ModelSpec m = mla();
        m.moe = moe(1).moe;
        m.num_layers = 4;
        const TrainingSpec t = selective(list, prec);
        REQUIRE(problems(m, t).empty());
        for (const LayerOps& l : {decoder_layer_ops(m, t, plan(tp)), moe_layer_ops(m, t, plan(tp))}) {
          Bytes sum;
          for (const auto& s : l.forward) sum += s.saved_for_backward;
          CHECK(sum == l.saved_activations);
          CHECK(l.saved_activations.count() > 0);
          CHECK(flops(l.recompute) == Approx(forward_flops_of(l)));
        }
      }
    }
  }
}

TEST_CASE("bad recompute_modules are rejected with their JSON path", "[recompute][parallel_plan][errors]") {
  const auto only = [](const std::vector<Diagnostic>& ds, const std::string& path, const std::string& message) {
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].path == path);
    CHECK(ds[0].message == message);
  };
  only(problems(dense(), selective({M::kCoreAttention, M::kMlaUpProjection})), "/training/recompute_modules/1",
       "mla_up_proj recomputes multi-head latent attention's up-projections, but model 'llama-like' has attention = "
       "mha; expected a model with attention = mla");
  only(problems(dense(), selective({M::kMoeActivation})), "/training/recompute_modules/0",
       "moe_act recomputes the routed experts' activation, but model 'llama-like' has no experts (num_experts = 0); "
       "expected an MoE model");
  only(problems(moe(), selective({M::kLayerNorm, M::kSharedExperts})), "/training/recompute_modules/1",
       "shared_experts recomputes an MoE layer's shared experts, but model 'small-moe' has none (num_shared_experts "
       "= 0); expected a model with shared experts");
  ModelSpec all_moe = moe();
  all_moe.moe.first_dense_layers = 0;
  only(problems(all_moe, selective({M::kMlp})), "/training/recompute_modules/0",
       "mlp recomputes a dense layer's MLP, but every layer of model 'small-moe' is an MoE layer; expected a model "
       "with dense layers (for experts: moe_act, shared_experts)");
  only(problems(dense(), selective({M::kLayerNorm, M::kCoreAttention, M::kLayerNorm})),
       "/training/recompute_modules/2", "'layernorm' is listed twice (first at index 0); expected each module once");
  only(problems(dense(), training(Recompute::kNone, {M::kLayerNorm})), "/training/recompute_modules",
       "recompute_modules = [\"layernorm\"] needs recompute = \"selective\", got \"none\"; expected recompute = "
       "\"selective\", or no recompute_modules");
  only(problems(dense(), training(Recompute::kFull, {M::kCoreAttention, M::kLayerNorm})),
       "/training/recompute_modules",
       "recompute_modules = [\"core_attn\", \"layernorm\"] needs recompute = \"selective\", got \"full\"; expected "
       "recompute = \"selective\", or no recompute_modules");
  CHECK(problems(moe(1), selective({M::kMlp, M::kMoeActivation, M::kSharedExperts})).empty());
  // The layer builders refuse them too.
  CHECK_THROWS_AS(decoder_layer_ops(dense(), selective({M::kMlaUpProjection}), plan(1)), InputError);
  try {
    (void)decoder_layer_ops(dense(), selective({M::kMoeActivation}), plan(1));
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("/training/recompute_modules/0") != std::string::npos);
  }
}
