#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/lowering.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

// GPT-style layer as KOR22 assumes it: MHA, f = 4h, LayerNorm, biases,
// dropout, learned positions, tied embeddings. V divisible by 128 x 8.
ModelSpec gpt_like() {
  ModelSpec m;
  m.name = "gpt-test";
  m.num_layers = 4;
  m.hidden = 1024;
  m.num_heads = 16;
  m.num_kv_heads = 16;
  m.head_dim = 64;
  m.ffn_hidden = 4096;
  m.vocab_size = 51200;
  m.max_seq_len = 2048;
  m.mlp = MlpKind::kGelu;
  m.norm = NormKind::kLayerNorm;
  m.position = PositionKind::kLearned;
  m.tied_embeddings = true;
  m.linear_bias = true;
  m.dropout = true;
  return m;
}

// Llama-style: GQA, SwiGLU, RMSNorm, rotary, untied, no bias, no dropout.
ModelSpec llama_like() {
  ModelSpec m;
  m.name = "llama-test";
  m.num_layers = 4;
  m.hidden = 1024;
  m.num_heads = 16;
  m.num_kv_heads = 4;
  m.head_dim = 64;
  m.ffn_hidden = 2816;
  m.vocab_size = 32768;
  m.max_seq_len = 8192;
  m.mlp = MlpKind::kSwiGlu;
  m.norm = NormKind::kRmsNorm;
  m.position = PositionKind::kRotary;
  m.tied_embeddings = false;
  m.linear_bias = false;
  m.dropout = false;
  return m;
}

TrainingSpec training(std::int64_t b, std::int64_t s, PrecisionMode p = PrecisionMode::kMegatronBf16,
                      Recompute r = Recompute::kNone) {
  TrainingSpec t;
  t.seq_len = s;
  t.micro_batch = b;
  t.global_batch = 8 * b;
  t.precision = p;
  t.recompute = r;
  return t;
}

ParallelPlan plan(int tp, bool sp) {
  ParallelPlan p;
  p.tp = tp;
  p.sequence_parallel = sp;
  return p;
}

double flops_of(const std::vector<LayerStep>& steps, OpClass c) {
  double f = 0;
  for (const auto& s : steps) {
    if (s.kind == LayerStep::Kind::kCompute && s.work.op_class == c) f += s.work.flops.count();
  }
  return f;
}

const LayerStep& step(const std::vector<LayerStep>& steps, const std::string& name) {
  for (const auto& s : steps) {
    if (s.name == name) return s;
  }
  FAIL("no step named " << name);
  return steps.front();
}

bool has(const std::vector<LayerStep>& steps, const std::string& name) {
  for (const auto& s : steps) {
    if (s.name == name) return true;
  }
  return false;
}

struct CollectiveCount {
  int all_reduce = 0;
  int all_gather = 0;
  int reduce_scatter = 0;
  std::vector<std::int64_t> bytes;
};

CollectiveCount collectives(const std::vector<LayerStep>& steps) {
  CollectiveCount c;
  for (const auto& s : steps) {
    if (s.kind != LayerStep::Kind::kTensorCollective) continue;
    if (s.collective == CollectiveKind::kAllReduce) ++c.all_reduce;
    if (s.collective == CollectiveKind::kAllGather) ++c.all_gather;
    if (s.collective == CollectiveKind::kReduceScatter) ++c.reduce_scatter;
    c.bytes.push_back(s.collective_bytes.count());
  }
  return c;
}

std::int64_t sum_saved(const std::vector<LayerStep>& steps) {
  std::int64_t b = 0;
  for (const auto& s : steps) b += s.saved_for_backward.count();
  return b;
}

}  // namespace

TEST_CASE("forward GEMM + attention FLOPs x layers x tp equal model FLOPs per micro-batch", "[layer_ops][flops]") {
  // sum over ranks of one micro-batch's forward = model_flops_per_step / (3 * global_batch / micro_batch);
  // both count causal attention at half and the unpadded-equals-padded vocabulary (V divisible by 128 t).
  for (const ModelSpec& m : {gpt_like(), llama_like()}) {
    for (int tp : {1, 2, 4}) {
      for (bool sp : {false, true}) {
        const TrainingSpec t = training(2, 1024);
        const ParallelPlan p = plan(tp, sp);
        const LayerOps layer = decoder_layer_ops(m, t, p);
        const LayerOps head = head_and_loss_ops(m, t, p);
        const double per_rank = static_cast<double>(m.num_layers) *
                                    (flops_of(layer.forward, OpClass::kGemm) + flops_of(layer.forward, OpClass::kAttention)) +
                                flops_of(head.forward, OpClass::kGemm);
        const double expected = model_flops_per_step(m, t).count() /
                                (3.0 * static_cast<double>(t.global_batch / t.micro_batch));
        INFO(m.name << " tp=" << tp << " sp=" << sp);
        CHECK(per_rank * tp == Approx(expected).epsilon(1e-9));
      }
    }
  }
}

TEST_CASE("backward FLOPs are 2x forward GEMMs and 2.5x forward attention", "[layer_ops][flops]") {
  // dgrad + wgrad per forward GEMM: 2x; flash backward: 2.5x forward (FlashAttention convention).
  for (const ModelSpec& m : {gpt_like(), llama_like()}) {
    const LayerOps l = decoder_layer_ops(m, training(1, 2048), plan(2, true));
    CHECK(flops_of(l.backward, OpClass::kGemm) == Approx(2.0 * flops_of(l.forward, OpClass::kGemm)).epsilon(1e-12));
    CHECK(flops_of(l.backward, OpClass::kAttention) ==
          Approx(2.5 * flops_of(l.forward, OpClass::kAttention)).epsilon(1e-12));
  }
}

TEST_CASE("GEMM and attention shapes of a TP shard", "[layer_ops]") {
  const ModelSpec m = llama_like();
  const std::int64_t b = 2, s = 512, t = 4, T = b * s;
  const LayerOps l = decoder_layer_ops(m, training(b, s), plan(static_cast<int>(t), false));
  // QKV column-parallel: M = T, N = (a + 2 kv) d / t = (16 + 8) 64 / 4 = 384, K = h.
  const auto& qkv = step(l.forward, "qkv_proj");
  REQUIRE(qkv.work.gemm);
  CHECK(qkv.work.gemm->m == T);
  CHECK(qkv.work.gemm->n == 384);
  CHECK(qkv.work.gemm->k == 1024);
  CHECK(qkv.work.flops.count() == Approx(2.0 * T * 384 * 1024));
  // Row-parallel out-proj: N = h, K = a d / t = 256. MLP-down K = f / t = 704.
  CHECK(step(l.forward, "attn_out_proj").work.gemm->k == 256);
  CHECK(step(l.forward, "mlp_down").work.gemm->k == 704);
  CHECK(step(l.forward, "mlp_up").work.gemm->n == 2 * 704);  // SwiGLU gate + up
  // wgrad of QKV: M = 384, N = h, K = T.
  const auto& wg = step(l.backward, "qkv_proj_wgrad");
  CHECK(wg.work.gemm->m == 384);
  CHECK(wg.work.gemm->n == 1024);
  CHECK(wg.work.gemm->k == T);
  // Causal flash forward: 4 b s^2 (a/t) d / 2.
  const auto& at = step(l.forward, "attn_core");
  REQUIRE(at.work.attention);
  CHECK(at.work.attention->heads == 4);
  CHECK(at.work.attention->kv_heads == 1);
  CHECK(at.work.attention->causal);
  CHECK(at.work.flops.count() == Approx(4.0 * b * s * s * 4 * 64 / 2));
  CHECK(step(l.backward, "attn_core_bwd").work.attention->backward);
}

TEST_CASE("saved activations match KOR22 for a GPT layer with flash attention", "[layer_ops][memory]") {
  // KOR22 Table 2 without the 5 a s / h term (flash attention keeps no s^2
  // tensors). Beyond KOR22 we also keep per-token fp32 norm statistics
  // (LayerNorm mean + rstd: 8 bytes x 2 norms) and flash's fp32 log-sum-exp
  // (4 bytes per token and local head).
  const ModelSpec m = gpt_like();
  const double s = 2048, b = 2, h = 1024, a = 16;
  const TrainingSpec tr = training(2, 2048);
  SECTION("no parallelism: 34 s b h") {
    const double closed = 34 * s * b * h + 4 * a * s * b + 16 * s * b;
    const LayerOps l = decoder_layer_ops(m, tr, plan(1, false));
    CHECK(l.saved_activations.as_double() == Approx(closed).epsilon(1e-12));
    CHECK(l.saved_activations.as_double() == Approx(34 * s * b * h).epsilon(0.005));
  }
  SECTION("TP without SP: s b h (10 + 24 / t)") {
    for (double t : {2.0, 4.0, 8.0}) {
      const double closed = s * b * h * (10 + 24 / t) + 4 * a * s * b / t + 16 * s * b;
      const LayerOps l = decoder_layer_ops(m, tr, plan(static_cast<int>(t), false));
      CHECK(l.saved_activations.as_double() == Approx(closed).epsilon(1e-12));
    }
  }
  SECTION("TP + SP: 34 s b h / t") {
    for (double t : {2.0, 4.0, 8.0}) {
      const double closed = 34 * s * b * h / t + 4 * a * s * b / t + 16 * s * b / t;
      const LayerOps l = decoder_layer_ops(m, tr, plan(static_cast<int>(t), true));
      CHECK(l.saved_activations.as_double() == Approx(closed).epsilon(1e-12));
    }
  }
  SECTION("full recompute keeps the layer input: 2 s b h / t_sp") {
    const TrainingSpec full = training(2, 2048, PrecisionMode::kMegatronBf16, Recompute::kFull);
    CHECK(decoder_layer_ops(m, full, plan(4, true)).saved_activations.as_double() == Approx(2 * s * b * h / 4));
    CHECK(decoder_layer_ops(m, full, plan(4, false)).saved_activations.as_double() == Approx(2 * s * b * h));
  }
  SECTION("selective recompute drops the LSE and re-runs the flash forward") {
    const TrainingSpec sel = training(2, 2048, PrecisionMode::kMegatronBf16, Recompute::kSelective);
    const LayerOps l = decoder_layer_ops(m, sel, plan(4, true));
    CHECK(l.saved_activations.as_double() == Approx(34 * s * b * h / 4 + 16 * s * b / 4));
    REQUIRE(l.recompute.size() == 1);
    CHECK(l.recompute.front().name == "attn_core");
  }
}

TEST_CASE("SwiGLU GQA layer keeps its tensors", "[layer_ops][memory]") {
  // Per layer, bf16, no TP: norm inputs 2 x 2Th (+ 4T rstd each), QKV input 2Th,
  // Q,K,V 2T(a + 2kv)d, LSE 4Ta, out-proj input 2Tad, MLP-up input 2Th,
  // SwiGLU input 2T(2f), down input 2Tf: no dropout masks.
  const ModelSpec m = llama_like();
  const double T = 4096, h = 1024, f = 2816, a = 16, kv = 4, d = 64;
  const double closed = 2 * (2 * T * h + 4 * T) + 2 * T * h + 2 * T * (a + 2 * kv) * d + 4 * T * a + 2 * T * a * d +
                        2 * T * h + 2 * T * 2 * f + 2 * T * f;
  const LayerOps l = decoder_layer_ops(m, training(2, 2048), plan(1, false));
  CHECK(l.saved_activations.as_double() == Approx(closed).epsilon(1e-12));
}

TEST_CASE("saved_for_backward of the forward sums to saved_activations", "[layer_ops][memory]") {
  for (const ModelSpec& m : {gpt_like(), llama_like()}) {
    for (auto prec : {PrecisionMode::kMegatronBf16, PrecisionMode::kAmpBf16, PrecisionMode::kPureBf16}) {
      for (auto rc : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
        const TrainingSpec t = training(1, 1024, prec, rc);
        const ParallelPlan p = plan(2, true);
        for (const LayerOps& l : {decoder_layer_ops(m, t, p), embedding_ops(m, t, p), head_and_loss_ops(m, t, p)}) {
          CHECK(sum_saved(l.forward) == l.saved_activations.count());
          CHECK(sum_saved(l.backward) == 0);
        }
      }
    }
  }
}

TEST_CASE("full recompute re-runs the whole forward, TP collectives included", "[layer_ops]") {
  const TrainingSpec t = training(1, 2048, PrecisionMode::kMegatronBf16, Recompute::kFull);
  const LayerOps l = decoder_layer_ops(llama_like(), t, plan(4, true));
  REQUIRE(l.recompute.size() == l.forward.size());
  // 2 all-gathers + 2 reduce-scatters, as in the forward.
  const CollectiveCount c = collectives(l.recompute);
  CHECK(c.all_gather == 2);
  CHECK(c.reduce_scatter == 2);
  CHECK(flops_of(l.recompute, OpClass::kGemm) == Approx(flops_of(l.forward, OpClass::kGemm)));
  CHECK(decoder_layer_ops(llama_like(), training(1, 2048), plan(4, true)).recompute.empty());
}

TEST_CASE("TP collectives per layer", "[layer_ops][tp]") {
  const ModelSpec m = llama_like();
  const std::int64_t T = 2 * 2048, h = 1024;
  SECTION("no SP: 2 all-reduces of T h 2 bytes forward and backward") {
    const LayerOps l = decoder_layer_ops(m, training(2, 2048), plan(4, false));
    const CollectiveCount f = collectives(l.forward);
    CHECK(f.all_reduce == 2);
    CHECK(f.all_gather + f.reduce_scatter == 0);
    for (auto b : f.bytes) CHECK(b == T * h * 2);
    const CollectiveCount bw = collectives(l.backward);
    CHECK(bw.all_reduce == 2);
    CHECK(bw.all_gather + bw.reduce_scatter == 0);
    for (auto b : bw.bytes) CHECK(b == T * h * 2);
  }
  SECTION("SP: 2 all-gathers + 2 reduce-scatters of T h 2 forward; backward adds the input re-gathers") {
    const LayerOps l = decoder_layer_ops(m, training(2, 2048), plan(4, true));
    const CollectiveCount f = collectives(l.forward);
    CHECK(f.all_gather == 2);
    CHECK(f.reduce_scatter == 2);
    CHECK(f.all_reduce == 0);
    for (auto b : f.bytes) CHECK(b == T * h * 2);
    // backward: AG of the output gradient (x2), AG of the saved input (x2), RS of the input gradient (x2).
    const CollectiveCount bw = collectives(l.backward);
    CHECK(bw.all_gather == 4);
    CHECK(bw.reduce_scatter == 2);
    for (auto b : bw.bytes) CHECK(b == T * h * 2);
  }
  SECTION("tp = 1: none") {
    const LayerOps l = decoder_layer_ops(m, training(2, 2048), plan(1, true));
    CHECK(collectives(l.forward).bytes.empty());
    CHECK(collectives(l.backward).bytes.empty());
  }
}

TEST_CASE("memory-bound kernels are present and counted", "[layer_ops]") {
  const std::int64_t T = 2 * 2048, h = 1024;
  SECTION("Llama: RMSNorm, rotary, SwiGLU, residual adds") {
    const LayerOps l = decoder_layer_ops(llama_like(), training(2, 2048), plan(1, false));
    // RMSNorm forward: reads T h 2 + h 2 (weight), writes T h 2 + T 4 (fp32 rstd).
    const auto& n = step(l.forward, "input_norm");
    CHECK(n.work.op_class == OpClass::kNormalization);
    CHECK(n.work.bytes_read.count() == T * h * 2 + h * 2);
    CHECK(n.work.bytes_written.count() == T * h * 2 + T * 4);
    for (const char* name : {"post_attn_norm", "rotary_qk", "mlp_swiglu", "attn_residual_add", "mlp_residual_add"}) {
      CHECK(has(l.forward, name));
    }
    for (const char* name : {"input_norm_bwd", "post_attn_norm_bwd", "rotary_qk_bwd", "mlp_swiglu_bwd",
                             "attn_residual_grad_add", "input_residual_grad_add"}) {
      CHECK(has(l.backward, name));
    }
    // Rotary reads and writes q and k: T (a + kv) d 2 = T 20 64 2 (+ the s d 4 cos/sin table).
    const auto& r = step(l.forward, "rotary_qk");
    CHECK(r.work.bytes_written.count() == T * 20 * 64 * 2);
    CHECK(r.work.bytes_read.count() == T * 20 * 64 * 2 + 2048 * 64 * 4);
    // Residual add: reads branch + residual, writes the sum: 2 T h 2 / T h 2.
    CHECK(step(l.forward, "mlp_residual_add").work.bytes_read.count() == 2 * T * h * 2);
  }
  SECTION("GPT: LayerNorm, QKV bias, bias-GELU, bias-dropout-add with its mask") {
    const LayerOps l = decoder_layer_ops(gpt_like(), training(2, 2048), plan(1, false));
    // LayerNorm forward: reads T h 2 + 2 h 2, writes T h 2 + T 8 (mean, rstd).
    const auto& n = step(l.forward, "input_norm");
    CHECK(n.work.bytes_read.count() == T * h * 2 + 2 * h * 2);
    CHECK(n.work.bytes_written.count() == T * h * 2 + T * 8);
    for (const char* name : {"qkv_bias_add", "mlp_bias_gelu", "attn_bias_dropout_add", "mlp_bias_dropout_add"}) {
      CHECK(has(l.forward, name));
    }
    for (const char* name : {"qkv_bias_grad", "mlp_up_bias_grad", "attn_dropout_bwd", "mlp_out_bias_grad"}) {
      CHECK(has(l.backward, name));
    }
    // bias-dropout-add keeps a 1-byte mask per element: T h.
    CHECK(step(l.forward, "attn_bias_dropout_add").saved_for_backward.count() == T * h);
    CHECK_FALSE(has(l.forward, "rotary_qk"));
  }
}

TEST_CASE("precision modes change widths, casts and gradient accumulation", "[layer_ops][precision]") {
  const ModelSpec m = llama_like();
  const std::int64_t T = 2048, h = 1024, qkv = (16 + 8) * 64;
  SECTION("Megatron: wgrad accumulates into fp32 main grads (r/w 4 bytes per weight element)") {
    const LayerOps l = decoder_layer_ops(m, training(1, 2048), plan(1, false));
    const auto& wg = step(l.backward, "qkv_proj_wgrad");
    CHECK(wg.work.bytes_written.count() == qkv * h * 4);
    CHECK(wg.work.bytes_read.count() == (T * qkv + T * h) * 2 + qkv * h * 4);
    CHECK_FALSE(has(l.forward, "qkv_proj_input_cast"));
  }
  SECTION("pure bf16: wgrad accumulates in bf16") {
    const LayerOps l = decoder_layer_ops(m, training(1, 2048, PrecisionMode::kPureBf16), plan(1, false));
    CHECK(step(l.backward, "qkv_proj_wgrad").work.bytes_written.count() == qkv * h * 2);
  }
  SECTION("AMP: fp32 residual stream, bf16 casts before GEMMs, weight gradients cast to fp32") {
    const LayerOps l = decoder_layer_ops(m, training(1, 2048, PrecisionMode::kAmpBf16), plan(1, false));
    CHECK(step(l.forward, "input_norm").work.bytes_read.count() == T * h * 4 + h * 4);
    const auto& cast = step(l.forward, "qkv_proj_input_cast");
    CHECK(cast.work.op_class == OpClass::kCast);
    CHECK(cast.work.bytes_read.count() == T * h * 4);
    CHECK(cast.work.bytes_written.count() == T * h * 2);
    CHECK(step(l.backward, "qkv_proj_wgrad").work.bytes_written.count() == qkv * h * 2);
    const auto& cast_back = step(l.backward, "qkv_proj_wgrad_cast");
    CHECK(cast_back.work.op_class == OpClass::kCast);
    CHECK(cast_back.work.bytes_read.count() == qkv * h * 2);
    CHECK(cast_back.work.bytes_written.count() == qkv * h * 4);
    // Norm input saved in fp32: 4 T h + 4 T.
    CHECK(step(l.forward, "input_norm").saved_for_backward.count() == 4 * T * h + 4 * T);
  }
}

TEST_CASE("per-rank parameters times tp give the unsharded layer", "[layer_ops][params]") {
  for (int tp : {1, 2, 4}) {
    // Llama: everything split except the two RMSNorm weights (h each, replicated).
    const ModelSpec l = llama_like();
    const auto ll = decoder_layer_ops(l, training(1, 2048), plan(tp, true));
    CHECK(ll.parameters * tp - (tp - 1) * 2 * l.hidden == decoder_layer_parameter_count(l));
    // GPT: replicated two LayerNorms (2h each) and the two row-parallel biases (h each).
    const ModelSpec g = gpt_like();
    const auto gl = decoder_layer_ops(g, training(1, 2048), plan(tp, false));
    CHECK(gl.parameters * tp - (tp - 1) * 6 * g.hidden == decoder_layer_parameter_count(g));
    // Embedding: V h / tp (V divisible by 128 tp) + replicated positions s_max h.
    CHECK(embedding_ops(g, training(1, 2048), plan(tp, false)).parameters ==
          g.vocab_size * g.hidden / tp + g.max_seq_len * g.hidden);
    // Head: tied -> only the final LayerNorm (2h); untied -> V h / tp + h.
    CHECK(head_and_loss_ops(g, training(1, 2048), plan(tp, false)).parameters == 2 * g.hidden);
    CHECK(head_and_loss_ops(l, training(1, 2048), plan(tp, false)).parameters == l.vocab_size * l.hidden / tp + l.hidden);
  }
}

TEST_CASE("vocabulary is padded to a multiple of 128 tp", "[layer_ops][head]") {
  ModelSpec m = llama_like();
  m.vocab_size = 128256;  // Llama 3: 1002 x 128
  CHECK(padded_vocab_size(m, 1) == 128256);
  CHECK(padded_vocab_size(m, 8) == 129024);  // ceil(128256 / 1024) x 1024
  m.vocab_size = 50257;                      // GPT-2 BPE
  CHECK(padded_vocab_size(m, 1) == 50304);
  CHECK(padded_vocab_size(m, 2) == 50432);
  const auto head = head_and_loss_ops(m, training(1, 2048), plan(2, false));
  CHECK(step(head.forward, "logits").work.gemm->n == 50432 / 2);
}

TEST_CASE("head: vocab-parallel cross-entropy in fp32", "[layer_ops][head]") {
  const ModelSpec m = llama_like();
  const std::int64_t T = 2 * 2048, Vr = 32768 / 4;
  const LayerOps l = head_and_loss_ops(m, training(2, 2048), plan(4, true));
  // Three all-reduces of T x 4 bytes (max, predicted logit, sum of exp); the
  // SP all-gather of the final-norm output before the logits GEMM.
  const CollectiveCount f = collectives(l.forward);
  CHECK(f.all_reduce == 3);
  CHECK(f.all_gather == 1);
  for (const char* n : {"tp_all_reduce_ce_max", "tp_all_reduce_ce_predicted", "tp_all_reduce_ce_sum_exp"}) {
    CHECK(step(l.forward, n).collective_bytes.count() == T * 4);
  }
  // Cast of the bf16 logits shard to fp32: reads T Vr 2, writes T Vr 4.
  const auto& cast = step(l.forward, "logits_to_fp32");
  CHECK(cast.work.bytes_read.count() == T * Vr * 2);
  CHECK(cast.work.bytes_written.count() == T * Vr * 4);
  // Keeps the fp32 softmax (T Vr 4) plus mask and targets (T + 8 T).
  CHECK(step(l.forward, "ce_normalize").saved_for_backward.count() == T * Vr * 4 + T + 8 * T);
  // Backward: logits dgrad, wgrad, RS of the input gradient (SP), final norm.
  CHECK(has(l.backward, "ce_grad"));
  CHECK(has(l.backward, "logits_dgrad"));
  CHECK(has(l.backward, "logits_wgrad"));
  CHECK(has(l.backward, "tp_reduce_scatter_logits_dgrad"));
  CHECK(l.backward.back().name == "final_norm_bwd");
  // logits forward GEMM: 2 T h Vr.
  CHECK(step(l.forward, "logits").work.flops.count() == Approx(2.0 * T * 1024 * Vr));
}

TEST_CASE("head: PyTorch's cross-entropy on the fp32 logits without TP", "[layer_ops][head]") {
  const ModelSpec m = llama_like();
  const std::int64_t T = 2 * 2048, V = 32768;
  const std::int64_t L = T * V;
  TrainingSpec t = training(2, 2048, PrecisionMode::kPureBf16);
  t.framework = Framework::kPyTorchEager;
  const LayerOps l = head_and_loss_ops(m, t, plan(1, false));
  // log_softmax: three passes over each fp32 row (max, sum of exp, write):
  // 12 bytes read and 4 written a logit; keeps its output (4 a logit).
  const auto& lsm = step(l.forward, "ce_log_softmax");
  CHECK(lsm.work.op_class == OpClass::kLogSoftmax);
  CHECK(lsm.work.bytes_read.count() == 12 * L);
  CHECK(lsm.work.bytes_written.count() == 4 * L);
  CHECK(lsm.saved_for_backward.count() == 4 * L);
  CHECK(step(l.forward, "ce_nll_loss").saved_for_backward.count() == 8 * T);  // the int64 targets
  // Backward: the zero-filled fp32 gradient, nll's scatter, log_softmax's
  // backward (gradient read twice, output once, input gradient written).
  CHECK(step(l.backward, "ce_grad_zero_fill").work.bytes_written.count() == 4 * L);
  const auto& lsm_bwd = step(l.backward, "ce_log_softmax_bwd");
  CHECK(lsm_bwd.work.op_class == OpClass::kLogSoftmax);
  CHECK(lsm_bwd.work.bytes_read.count() == 12 * L);
  CHECK(lsm_bwd.work.bytes_written.count() == 4 * L);
  CHECK(step(l.backward, "logits_grad_to_bf16").work.bytes_read.count() == 4 * L);
  CHECK_FALSE(has(l.forward, "ce_exp_sum"));
  CHECK(sum_saved(l.forward) == l.saved_activations.count());
  // pytorch-compile compiles the blocks only: the same eager loss.
  t.framework = Framework::kPyTorchCompile;
  CHECK(has(head_and_loss_ops(m, t, plan(1, false)).forward, "ce_log_softmax"));
  // Under TP the PyTorch loss is vocabulary-parallel like Megatron's.
  t.framework = Framework::kPyTorchEager;
  const LayerOps tp = head_and_loss_ops(m, t, plan(2, false));
  CHECK(has(tp.forward, "ce_exp_sum"));
  CHECK_FALSE(has(tp.forward, "ce_log_softmax"));
  // Megatron keeps its vocab-parallel kernels at TP 1 too.
  t.framework = Framework::kMegatron;
  CHECK(has(head_and_loss_ops(m, t, plan(1, false)).forward, "ce_exp_sum"));
}

TEST_CASE("foreach AdamW: eight elementwise passes, 18 S + 2 G bytes a parameter", "[layer_ops][optimizer]") {
  const std::int64_t n = std::int64_t{1} << 30;
  TrainingSpec t = training(1, 2048, PrecisionMode::kPureBf16);
  t.framework = Framework::kPyTorchEager;
  t.clip_grad_norm = false;
  const std::vector<LayerStep> fused = optimizer_ops(n, t, -1);
  t.optimizer = OptimizerImpl::kForeach;
  const std::vector<LayerStep> foreach = optimizer_ops(n, t, -1);
  REQUIRE(foreach.size() == 1);
  const LayerStep& s = foreach[0];
  CHECK(s.name == "adam_foreach");
  CHECK(s.work.op_class == OpClass::kElementwise);
  CHECK(s.work.bytes_read.count() + s.work.bytes_written.count() == n * (18 * 2 + 2 * 2));  // bf16: 40 B
  CHECK(s.work.kernels == 8 * fused[0].work.kernels);
  t.precision = PrecisionMode::kAmpBf16;  // fp32 parameters, moments and gradients: 80 B
  const LayerStep amp = optimizer_ops(n, t, -1)[0];
  CHECK(amp.work.bytes_read.count() + amp.work.bytes_written.count() == n * (18 * 4 + 2 * 4));
}

TEST_CASE("embedding: lookup, TP reduction and dense backward", "[layer_ops][embedding]") {
  const std::int64_t T = 2048, h = 1024;
  SECTION("rotary + SP: reduce-scatter straight to the SP layout") {
    const ModelSpec m = llama_like();
    const LayerOps l = embedding_ops(m, training(1, 2048), plan(4, true));
    const CollectiveCount f = collectives(l.forward);
    CHECK(f.reduce_scatter == 1);
    CHECK(f.all_reduce == 0);
    CHECK(step(l.forward, "tp_reduce_scatter_embedding").collective_bytes.count() == T * h * 2);
    CHECK(collectives(l.backward).all_gather == 1);
    // Dense backward into the fp32 main grad of the V/t x h shard: zero (w 2),
    // scatter-add, then main_grad += grad (r 2 + 4, w 4) per table element.
    const std::int64_t table = 32768 / 4 * h;
    CHECK(step(l.backward, "embedding_grad_zero").work.bytes_written.count() == table * 2);
    CHECK(step(l.backward, "embedding_grad_accumulate").work.bytes_read.count() == table * 6);
    CHECK(step(l.backward, "embedding_grad_accumulate").work.bytes_written.count() == table * 4);
  }
  SECTION("learned positions: all-reduce, then position lookup and add; dropout mask kept") {
    const ModelSpec m = gpt_like();
    const LayerOps l = embedding_ops(m, training(1, 2048), plan(2, true));
    CHECK(step(l.forward, "tp_all_reduce_embedding").collective_bytes.count() == T * h * 2);
    CHECK(has(l.forward, "position_add"));
    // Dropout on the SP region (T/2 tokens): 1-byte mask.
    CHECK(step(l.forward, "embedding_dropout").saved_for_backward.count() == T / 2 * h);
    CHECK(has(l.backward, "position_embedding_grad_accumulate"));
  }
  SECTION("tp = 1: no collective") {
    const LayerOps l = embedding_ops(llama_like(), training(1, 2048), plan(1, false));
    CHECK(collectives(l.forward).bytes.empty());
    CHECK(collectives(l.backward).bytes.empty());
  }
}

TEST_CASE("optimizer bytes per parameter by precision mode", "[layer_ops][optimizer]") {
  const std::int64_t P = 50'000'000;
  auto totals = [&](PrecisionMode pm, bool clip) {
    TrainingSpec t = training(1, 1024, pm);
    t.clip_grad_norm = clip;
    std::int64_t r = 0, w = 0;
    for (const auto& s : optimizer_ops(P, t)) {
      r += s.work.bytes_read.count();
      w += s.work.bytes_written.count();
    }
    return std::pair<double, double>(static_cast<double>(r) / P, static_cast<double>(w) / P);
  };
  // (The norm also writes 320 fp32 partials per launch: < 1e-4 bytes per parameter here.)
  // Megatron: norm r4; Adam r16 w12; bf16 copy r4 w2; zero w4 -> r24 w18 (r20 without clipping).
  CHECK(totals(PrecisionMode::kMegatronBf16, true).first == Approx(24.0).epsilon(1e-4));
  CHECK(totals(PrecisionMode::kMegatronBf16, true).second == Approx(18.0).epsilon(1e-4));
  CHECK(totals(PrecisionMode::kMegatronBf16, false).first == Approx(20.0));
  // AMP: norm r4; scale r4 w4; Adam r16 w12 -> r24 w16.
  CHECK(totals(PrecisionMode::kAmpBf16, true).first == Approx(24.0).epsilon(1e-4));
  CHECK(totals(PrecisionMode::kAmpBf16, true).second == Approx(16.0).epsilon(1e-4));
  // Pure bf16: norm r2; scale r2 w2; Adam r8 w6 -> r12 w8; without clipping r8 w6.
  CHECK(totals(PrecisionMode::kPureBf16, true).first == Approx(12.0).epsilon(1e-4));
  CHECK(totals(PrecisionMode::kPureBf16, true).second == Approx(8.0).epsilon(1e-4));
  CHECK(totals(PrecisionMode::kPureBf16, false).first == Approx(8.0));
  CHECK(totals(PrecisionMode::kPureBf16, false).second == Approx(6.0));
  // Launches: ceil(P / (320 x 65536)) = ceil(5e7 / 20971520) = 3.
  const auto ops = optimizer_ops(P, training(1, 1024));
  CHECK(step(ops, "adam_update").work.kernels == 3);
  CHECK(step(ops, "adam_update").work.op_class == OpClass::kOptimizer);
  CHECK(optimizer_ops(0, training(1, 1024)).empty());
  // ZeRO-1 over 8 DP ranks: Adam over P/8, but the whole local fp32 buffer (4 P bytes) is zeroed.
  const auto zero1 = optimizer_ops(P / 8, training(1, 1024), P);
  CHECK(step(zero1, "adam_update").work.bytes_read.count() == P / 8 * 16);
  CHECK(step(zero1, "zero_main_grads").work.bytes_written.count() == 4 * P);
}

TEST_CASE("AMP weight casts read 4 and write 2 bytes per parameter", "[layer_ops][precision]") {
  const std::int64_t P = 1'000'000;
  const auto casts = weight_cast_ops(P, training(1, 1024, PrecisionMode::kAmpBf16), 7);
  REQUIRE(casts.size() == 1);
  // 6 bytes per parameter moved; the bf16 copy (2 per parameter) stays for the dgrad.
  CHECK(casts[0].work.bytes_read.count() + casts[0].work.bytes_written.count() == 6 * P);
  CHECK(casts[0].saved_for_backward.count() == 2 * P);
  CHECK(casts[0].work.kernels == 7);
  CHECK(weight_cast_ops(P, training(1, 1024, PrecisionMode::kMegatronBf16)).empty());
  CHECK(weight_cast_ops(P, training(1, 1024, PrecisionMode::kPureBf16)).empty());
}

TEST_CASE("PyTorch's data-parallel wrappers copy through flat buffers, and Megatron does not", "[layer_ops][dp]") {
  const std::int64_t P = 1'000'000;
  const auto one = [](const std::vector<LayerStep>& v) -> LayerStep {  // a copy: the vector is a temporary
    REQUIRE(v.size() == 1);
    return v[0];
  };
  const auto eager = [&](PrecisionMode p) {
    TrainingSpec t = training(1, 1024, p);
    t.framework = Framework::kPyTorchEager;
    return t;
  };
  // Pure bf16: every buffer is bf16 (2 B read and written per element).
  const TrainingSpec bf16 = eager(PrecisionMode::kPureBf16);
  const LayerStep& out = one(data_parallel_copy_ops(DataParallelCopy::kFsdpGatherCopyOut, P, bf16, 9));
  CHECK(out.work.bytes_read.count() == 2 * P);
  CHECK(out.work.bytes_written.count() == 2 * P);
  CHECK(out.work.op_class == OpClass::kMemcpy);
  // AMP under FSDP gathers and reduces the fp32 parameters and gradients.
  const TrainingSpec amp = eager(PrecisionMode::kAmpBf16);
  CHECK(one(data_parallel_copy_ops(DataParallelCopy::kFsdpGatherCopyIn, P, amp)).work.bytes_written.count() == 4 * P);
  CHECK(one(data_parallel_copy_ops(DataParallelCopy::kFsdpReduceCopyIn, P, amp)).work.bytes_read.count() == 4 * P);
  // FSDP's mixed precision casts the fp32 shard to bf16 on the way in and the
  // bf16 gradients to the fp32 reduce dtype.
  const TrainingSpec mixed = eager(PrecisionMode::kFsdpMixedBf16);
  const LayerStep& cast_in = one(data_parallel_copy_ops(DataParallelCopy::kFsdpGatherCopyIn, P, mixed));
  CHECK(cast_in.work.op_class == OpClass::kCast);
  CHECK(cast_in.work.bytes_read.count() == 4 * P);
  CHECK(cast_in.work.bytes_written.count() == 2 * P);
  const LayerStep& reduce_in = one(data_parallel_copy_ops(DataParallelCopy::kFsdpReduceCopyIn, P, mixed));
  CHECK(reduce_in.work.bytes_read.count() == 2 * P);
  CHECK(reduce_in.work.bytes_written.count() == 4 * P);
  // DDP: the bucket copy and the scaling, each a read and a write of the gradients.
  const LayerStep& bucket = one(data_parallel_copy_ops(DataParallelCopy::kDdpBucketCopy, P, bf16, 9));
  CHECK(bucket.work.bytes_read.count() == 2 * 2 * P);
  CHECK(bucket.work.bytes_written.count() == 2 * 2 * P);
  CHECK(bucket.work.kernels == 10);
  // Megatron's contiguous buffers: nothing.
  TrainingSpec megatron = bf16;
  megatron.framework = Framework::kMegatron;
  CHECK(data_parallel_copy_ops(DataParallelCopy::kFsdpGatherCopyOut, P, megatron).empty());
  CHECK(data_parallel_copy_ops(DataParallelCopy::kDdpBucketCopy, P, megatron).empty());
}

TEST_CASE("bad shapes are rejected with the field that is wrong", "[layer_ops][errors]") {
  const ModelSpec m = llama_like();
  // 4 KV heads cannot be split 8 ways.
  try {
    decoder_layer_ops(m, training(1, 2048), plan(8, false));
    FAIL("expected InputError");
  } catch (const InputError& e) {
    CHECK(e.path() == "/plan/tp");
    CHECK(e.message().find("num_kv_heads") != std::string::npos);
  }
  // SP needs seq_len divisible by tp.
  try {
    decoder_layer_ops(m, training(1, 1022), plan(4, true));
    FAIL("expected InputError");
  } catch (const InputError& e) {
    CHECK(e.path() == "/plan/sequence_parallel");
  }
  CHECK_THROWS_AS(decoder_layer_ops(m, training(0, 2048), plan(1, false)), InputError);
}

TEST_CASE("weight-gradient steps are marked for deferral", "[layer_ops]") {
  // The W part of backward: wgrad GEMMs do exactly the forward GEMM FLOPs
  // (2 M N K each); dgrads are never marked.
  for (auto prec : {PrecisionMode::kMegatronBf16, PrecisionMode::kAmpBf16}) {
    const LayerOps l = decoder_layer_ops(gpt_like(), training(1, 2048, prec), plan(2, true));
    double w_flops = 0;
    for (const auto& s : l.backward) {
      const bool is_wgrad = s.name.find("_wgrad") != std::string::npos || s.name.find("bias_grad") != std::string::npos;
      INFO(s.name);
      CHECK(s.weight_gradient == is_wgrad);
      if (s.weight_gradient && s.work.op_class == OpClass::kGemm) w_flops += s.work.flops.count();
    }
    CHECK(w_flops == Approx(flops_of(l.forward, OpClass::kGemm)).epsilon(1e-12));
    for (const auto& s : l.forward) CHECK_FALSE(s.weight_gradient);
  }
  const LayerOps e = embedding_ops(llama_like(), training(1, 2048), plan(1, false));
  CHECK(step(e.backward, "embedding_grad_scatter_add").weight_gradient);
}

TEST_CASE("built-in models lower at their usual TP plans", "[layer_ops]") {
  // Llama-3 70B, TP 8 + SP, s = 8192, b = 1: per-layer saved bytes, all / t:
  // norms 2 (2Th + 4T), QKV and MLP-up inputs 2 x 2Th, Q,K,V 2T(a + 2kv)d,
  // LSE 4Ta, out-proj input 2Tad, SwiGLU input 4Tf, down input 2Tf.
  const ModelLibrary lib = builtin_models();
  const ModelSpec& m = *lib.find("llama3-70b");
  const double T = 8192, h = 8192, a = 64, kv = 8, d = 128, f = 28672, t = 8;
  const double closed =
      (2 * (2 * T * h + 4 * T) + 2 * 2 * T * h + 2 * T * (a + 2 * kv) * d + 4 * T * a + 2 * T * a * d + 6 * T * f) / t;
  const LayerOps l = decoder_layer_ops(m, training(1, 8192), plan(8, true));
  CHECK(l.saved_activations.as_double() == Approx(closed).epsilon(1e-12));
  for (const char* name : {"gpt3-175b", "llama3-8b", "llama3-405b", "gpt3-13b"}) {
    INFO(name);
    const ModelSpec& mm = *lib.find(name);
    CHECK_NOTHROW(decoder_layer_ops(mm, training(1, 2048), plan(8, true)));
    CHECK_NOTHROW(embedding_ops(mm, training(1, 2048), plan(8, true)));
    CHECK_NOTHROW(head_and_loss_ops(mm, training(1, 2048), plan(8, true)));
  }
}
