// Mixture-of-experts: model-library parameter counts, routing loads, the MoE
// layer's kernels and all-to-alls, expert parallelism in plans, layouts,
// lowering and memory. Expectations are closed forms in the comments.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "dtsim/models/framework_profile.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/moe_routing.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/rank_layout.hpp"
#include "small_models.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

using testing::has_path;
using testing::small_moe;

TrainingSpec training(std::int64_t seq = 128, std::int64_t global_batch = 8) {
  TrainingSpec t;
  t.seq_len = seq;
  t.global_batch = global_batch;
  t.micro_batch = 1;
  return t;
}

double count(const ModelLibrary& lib, const char* name, bool active) {
  const ModelSpec* m = lib.find(name);
  REQUIRE(m != nullptr);
  return static_cast<double>(active ? active_parameter_count(*m) : parameter_count(*m));
}

Flops flops_of(const std::vector<LayerStep>& steps, const std::string& name) {
  Flops f;
  for (const LayerStep& s : steps)
    if (s.name == name) f += s.work.flops;
  return f;
}

}  // namespace

TEST_CASE("MoE model cards' total and active parameters", "[moe][model_spec]") {
  const ModelLibrary lib = builtin_models();
  // Mixtral 8x7B: 32 (h (a + 2kv) d + a d h + 2h + h E + 8 x 3 h f) + 2 V h + h
  //   = 32 (4096*6144 + 4096^2 + 8192 + 32768 + 8*3*4096*14336) + 2*32000*4096 + 4096 = 46.70e9;
  //   active: 2 experts instead of 8 = 12.88e9 (model card: 46.7B, 12.9B).
  CHECK(count(lib, "mixtral-8x7b", false) == Approx(46.7e9).epsilon(0.002));
  CHECK(count(lib, "mixtral-8x7b", true) == Approx(12.9e9).epsilon(0.005));
  CHECK(count(lib, "mixtral-8x22b", false) == Approx(141e9).epsilon(0.005));
  CHECK(count(lib, "mixtral-8x22b", true) == Approx(39e9).epsilon(0.01));
  // Qwen3-235B-A22B: 94 (4096*(64+8)*128 + 8192*4096 + 8192 + 4096*128 + 128*3*4096*1536) + 2*151936*4096
  //   + 4096 = 235.1e9; active 22.2e9.
  CHECK(count(lib, "qwen3-235b-a22b", false) == Approx(235e9).epsilon(0.005));
  CHECK(count(lib, "qwen3-235b-a22b", true) == Approx(22e9).epsilon(0.02));
  // gpt-oss-120b (biases on attention and experts): card 116.8B total, 5.1B active; the card's active
  // count leaves out the token embedding (a lookup, 201088 x 2880 = 0.58e9), which ours includes.
  CHECK(count(lib, "gpt-oss-120b", false) == Approx(116.8e9).epsilon(0.005));
  CHECK(count(lib, "gpt-oss-120b", true) - 201088.0 * 2880 == Approx(5.13e9).epsilon(0.005));
  // DeepSeek-V3's experts alone: 58 MoE layers x 256 x 3 x 7168 x 2048 = 653.9e9 (of the card's 671B;
  // the rest is attention (MLA), dense layers, shared experts and embeddings: mla_test.cpp).
  const ModelSpec& v3 = *lib.find("deepseek-v3");
  CHECK(num_moe_layers(v3) == 58);
  CHECK_FALSE(is_moe_layer(v3, 2));
  CHECK(is_moe_layer(v3, 3));
  CHECK(static_cast<double>(num_moe_layers(v3) * v3.moe.num_experts * expert_parameter_count(v3)) ==
        Approx(58.0 * 256 * 3 * 7168 * 2048));
  for (const std::string& n : lib.names()) {
    INFO(n);
    CHECK(validate_model(*lib.find(n), "/model").empty());
  }
}

TEST_CASE("MoE layer frequency and first dense layers pick the MoE layers", "[moe][model_spec]") {
  ModelSpec m = small_moe();
  m.num_layers = 10;
  m.moe.first_dense_layers = 2;
  m.moe.layer_frequency = 3;
  // Layers 2, 5, 8 are MoE: ceil((10 - 2) / 3) = 3.
  CHECK(num_moe_layers(m) == 3);
  for (std::int64_t l = 0; l < 10; ++l) CHECK(is_moe_layer(m, l) == (l == 2 || l == 5 || l == 8));
  // Dense layers keep the MLP of ffn_hidden: total = 7 dense + 3 MoE layers + embeddings.
  const std::int64_t embed = 2 * m.vocab_size * m.hidden + m.hidden;
  CHECK(parameter_count(m) == 7 * decoder_layer_parameter_count(m) + 3 * moe_layer_parameter_count(m) + embed);
}

TEST_CASE("model FLOPs of an MoE layer: router + top_k expert MLPs per token", "[moe][flops]") {
  const ModelSpec moe = small_moe();
  ModelSpec dense = moe;
  dense.moe = MoeSpec{};
  const TrainingSpec t = training();
  // Per token per MoE layer the MLP term changes from 2 h f x 3 to 2 h E + 2 h k f_e x 3; 3 MoE layers,
  // x 3 for training: difference = 3 x 3 x tokens x (2 h E + 6 h k f_e - 6 h f).
  const double tokens = 8.0 * 128.0;
  const double h = 256, e = 8, k = 2, fe = 128, f = 512;
  const double expected = 3.0 * 3.0 * tokens * (2 * h * e + 6 * h * k * fe - 6 * h * f);
  CHECK((model_flops_per_step(moe, t) - model_flops_per_step(dense, t)).count() == Approx(expected));
}

TEST_CASE("expert loads: balanced, skewed and capped", "[moe][routing]") {
  MoeSpec e;
  e.num_experts = 8;
  e.top_k = 2;
  e.expert_ffn_hidden = 64;
  SECTION("balanced: every rank computes T k assignments") {
    const ExpertLoad l = expert_load(e, 1000, 4);
    CHECK(l.assignments == 2000);
    CHECK(l.kept_assignments == 2000);
    CHECK(l.hottest_rank_assignments == 2000);
    CHECK(l.dropped_fraction == 0.0);
  }
  SECTION("the hottest expert takes half: its rank gets ep (T k s + (E/ep - 1) T k o)") {
    e.hottest_expert_share = 0.5;
    // o = 0.5 / 7; rank of 2 experts: 4 x (1000 + 2000 x 0.5/7) = 4571.4
    const ExpertLoad l = expert_load(e, 1000, 4);
    CHECK(l.hottest_rank_assignments == 4571);
    CHECK(l.kept_assignments == 2000);
    // ep = 1: one rank holds every expert, skew changes nothing.
    CHECK(expert_load(e, 1000, 1).hottest_rank_assignments == 2000);
  }
  SECTION("capacity factor 1.25 with the same skew drops the hottest expert's excess") {
    e.hottest_expert_share = 0.5;
    e.capacity_factor = 1.25;
    // cap = ceil(1.25 x 2000 / 8) = 313; hottest 1000 -> 313, others 142.86 each (below cap).
    const ExpertLoad l = expert_load(e, 1000, 4);
    CHECK(l.capacity_per_expert == 313);
    CHECK(l.kept_assignments == std::llround(313 + 7 * 1000.0 / 7));
    CHECK(l.dropped_fraction == Approx((1000.0 - 313.0) / 2000.0));
    CHECK(l.hottest_rank_assignments == std::llround(4 * (313 + 1000.0 / 7)));
  }
  SECTION("a capacity factor below 1 drops tokens even when balanced") {
    e.capacity_factor = 0.5;
    // cap = ceil(0.5 x 250) = 125 of 250 per expert: half dropped.
    CHECK(expert_load(e, 1000, 2).dropped_fraction == Approx(0.5));
  }
}

TEST_CASE("MoE layer kernels: router, grouped expert GEMMs, dispatch and combine all-to-alls", "[moe][layer_ops]") {
  const ModelSpec m = small_moe();
  const TrainingSpec t = training();
  ParallelPlan p;
  p.dp = 4;
  p.ep = 4;
  const LayerOps ops = moe_layer_ops(m, t, p);
  const double tokens = 128, h = 256, e = 8, k = 2, fe = 128;
  // Router 2 T h E; expert up 2 (T k) h (2 f_e); down 2 (T k) f_e h (balanced: this rank computes T k rows).
  CHECK(flops_of(ops.forward, "router").count() == Approx(2 * tokens * h * e));
  CHECK(flops_of(ops.forward, "expert_up").count() == Approx(2 * tokens * k * h * 2 * fe));
  CHECK(flops_of(ops.forward, "expert_down").count() == Approx(2 * tokens * k * fe * h));
  // The grouped GEMM runs one product per local expert (E / ep = 2) of T k / 2 rows.
  for (const LayerStep& s : ops.forward) {
    if (s.name == "expert_up") {
      REQUIRE(s.work.gemm);
      CHECK(s.work.gemm->batch == 2);
      CHECK(s.work.gemm->m == 128);
    }
  }
  // Each all-to-all sends every token's hidden vector to k experts: S = T k h x 2 bytes; two forward
  // (dispatch, combine), two backward.
  int forward_a2a = 0, backward_a2a = 0;
  for (const LayerStep& s : ops.forward) {
    if (s.kind != LayerStep::Kind::kExpertCollective) continue;
    ++forward_a2a;
    CHECK(s.collective == CollectiveKind::kAllToAll);
    CHECK(s.collective_bytes == Bytes(static_cast<std::int64_t>(tokens * k * h * 2)));
  }
  for (const LayerStep& s : ops.backward) {
    if (s.kind == LayerStep::Kind::kExpertCollective) ++backward_a2a;
  }
  CHECK(forward_a2a == 2);
  CHECK(backward_a2a == 2);
  // Parameters: attention + norms + router + E/ep experts (expert_parameters).
  const std::int64_t attention = 256 * (8 + 8) * 32 + 256 * 256 + 2 * 256;
  CHECK(ops.expert_parameters == 2 * 3 * 256 * 128);
  CHECK(ops.parameters == attention + 256 * 8 + ops.expert_parameters);
  // ep = 1: no all-to-all.
  p.ep = 1;
  const LayerOps local = moe_layer_ops(m, t, p);
  CHECK(std::none_of(local.forward.begin(), local.forward.end(),
                     [](const LayerStep& s) { return s.kind == LayerStep::Kind::kExpertCollective; }));
  CHECK(local.expert_parameters == 8 * 3 * 256 * 128);
}

TEST_CASE("eager PyTorch runs an MoE layer's token shuffles op by op", "[moe][framework]") {
  // T = 128 tokens, k = 2, h = 256, bf16: R = T k h 2 B = 131,072 B, Tb = T h 2 B = 65,536 B.
  const ModelSpec m = small_moe();
  TrainingSpec t = training();
  const ParallelPlan p;
  const LayerOps fused = moe_layer_ops(m, t, p);
  t.framework = Framework::kPyTorchEager;
  LayerOps eager = moe_layer_ops(m, t, p);
  apply_framework(eager, t);
  const auto find = [](const std::vector<LayerStep>& steps, const std::string& name) -> const LayerStep& {
    const auto it = std::find_if(steps.begin(), steps.end(), [&](const LayerStep& s) { return s.name == name; });
    REQUIRE(it != steps.end());
    return *it;
  };
  const std::int64_t r = 128 * 2 * 256 * 2, tb = 128 * 256 * 2;
  // Gather, weighting multiply and zero fill; then index_add, a scatter-add of R.
  const LayerStep& unpermute = find(eager.forward, "moe_unpermute");
  CHECK(unpermute.work.kernels == 3);
  CHECK(unpermute.work.bytes_read == Bytes(r));
  CHECK(unpermute.work.bytes_written == Bytes(r + tb));
  const LayerStep& combine = find(eager.forward, "moe_unpermute_index_add");
  CHECK(combine.work.op_class == OpClass::kScatterAdd);
  CHECK(combine.work.kernels == 1);
  CHECK(combine.work.bytes_read == Bytes(r));
  CHECK(combine.work.bytes_written == Bytes(0));
  CHECK(find(eager.forward, "moe_permute").work.kernels == 10);
  CHECK(find(eager.forward, "moe_permute").work.bytes_read == find(fused.forward, "moe_permute").work.bytes_read);
  const LayerStep& permute_bwd = find(eager.backward, "moe_permute_bwd");
  CHECK(permute_bwd.work.kernels == 1);
  CHECK(permute_bwd.work.bytes_written == Bytes(tb));
  CHECK(find(eager.backward, "moe_permute_bwd_index_add").work.op_class == OpClass::kScatterAdd);
  CHECK(find(eager.backward, "moe_permute_bwd_index_add").work.bytes_read == Bytes(r));
  // Fused, neither is a scatter-add.
  for (const LayerStep& s : fused.forward) CHECK(s.work.op_class != OpClass::kScatterAdd);
  // The experts' SwiGLU: silu then the gate product, 5/3 of the fused traffic.
  CHECK(find(eager.forward, "expert_swiglu").work.kernels == 2);
  CHECK(find(eager.forward, "expert_swiglu").work.bytes_read.as_double() ==
        Approx(find(fused.forward, "expert_swiglu").work.bytes_read.as_double() * 5.0 / 3.0).epsilon(1e-5));
  // FLOPs are the fused lists' (the same arithmetic, more kernels).
  CHECK(flops_of(eager.forward, "moe_unpermute").count() + flops_of(eager.forward, "moe_unpermute_index_add").count() ==
        flops_of(fused.forward, "moe_unpermute").count());
  CHECK(flops_of(eager.backward, "moe_permute_bwd").count() +
            flops_of(eager.backward, "moe_permute_bwd_index_add").count() ==
        flops_of(fused.backward, "moe_permute_bwd").count());
}

TEST_CASE("a skewed load makes the busiest rank's expert GEMMs and all-to-alls longer", "[moe][layer_ops]") {
  ModelSpec m = small_moe();
  m.moe.hottest_expert_share = 0.5;
  ParallelPlan p;
  p.dp = 4;
  p.ep = 4;
  const LayerOps ops = moe_layer_ops(m, training(), p);
  // The busiest rank (the hottest expert and one other): 4 x (T k s + T k o) with T k = 256,
  // s = 0.5, o = 0.5 / 7: 4 x (128 + 18.29) = 585.1 -> 585 rows (2.29 x the balanced 256).
  const double rows = 585;
  CHECK(flops_of(ops.forward, "expert_up").count() == Approx(2 * rows * 256 * 256));
  for (const LayerStep& s : ops.forward) {
    if (s.kind == LayerStep::Kind::kExpertCollective) CHECK(s.collective_bytes == Bytes(585 * 256 * 2));
  }
}

TEST_CASE("expert tensor parallelism gathers and scatters over the expert-TP group", "[moe][layer_ops]") {
  const ModelSpec m = small_moe();
  ParallelPlan p;
  p.tp = 2;
  p.dp = 2;
  p.ep = 2;
  p.expert_tp = 2;
  p.sequence_parallel = true;
  const LayerOps ops = moe_layer_ops(m, training(), p);
  // T_l = 128 / 2 = 64 tokens routed per rank; after the expert-TP all-gather 2 x 128 rows, f_e / 2 wide.
  CHECK(flops_of(ops.forward, "expert_down").count() == Approx(2.0 * 256 * 64 * 256));
  int etp = 0;
  for (const LayerStep& s : ops.forward) etp += s.kind == LayerStep::Kind::kExpertTensorCollective ? 1 : 0;
  CHECK(etp == 2);
  CHECK(ops.expert_parameters == 4 * 3 * 256 * 64);
}

TEST_CASE("invalid expert plans are rejected with their JSON path", "[moe][parallel_plan]") {
  const ModelSpec m = small_moe();
  const TrainingSpec t = training();
  auto check = [&](const ParallelPlan& p) { return validate_plan(m, t, p, "/plan", "/training"); };
  ParallelPlan p;
  p.dp = 8;
  p.ep = 8;
  CHECK(check(p).empty());
  p.ep = 3;
  CHECK(has_path(check(p), "/plan/ep", "does not divide num_experts = 8"));
  p.dp = 4;
  p.ep = 8;  // divides the 8 experts but not the 4 GPUs of a stage
  CHECK(has_path(check(p), "/plan/ep", "ep x expert_tp = 8 x 1 = 8 does not divide tp x dp x cp = 1 x 4 x 1 = 4"));
  p = ParallelPlan{};
  p.tp = 2;
  p.dp = 2;
  CHECK(has_path(check(p), "/plan/sequence_parallel", "needs sequence_parallel = true"));
  p.sequence_parallel = true;
  p.expert_tp = 3;
  CHECK(has_path(check(p), "/plan/expert_tp", "does not divide expert_ffn_hidden = 128"));
  p = ParallelPlan{};
  p.dp = 2;
  p.zero_stage = 3;
  CHECK(has_path(check(p), "/plan/zero_stage", "not modelled"));
  ParallelPlan dense_ep;
  dense_ep.dp = 2;
  dense_ep.ep = 2;
  const auto d = validate_plan(testing::small_llama(4), t, dense_ep, "/plan", "/training");
  CHECK(has_path(d, "/plan/ep", "has no experts; expected ep = 1"));
}

TEST_CASE("invalid MoE model fields are rejected with their JSON path", "[moe][model_spec]") {
  ModelSpec m = small_moe();
  m.moe.top_k = 9;
  CHECK(has_path(validate_model(m, "/model"), "/model/top_k", "expected 1 <= top_k <= num_experts = 8"));
  m = small_moe();
  m.moe.first_dense_layers = 4;
  CHECK(has_path(validate_model(m, "/model"), "/model/first_dense_layers", "at least one MoE layer"));
  m = small_moe();
  m.moe.hottest_expert_share = 0.05;
  CHECK(has_path(validate_model(m, "/model"), "/model/hottest_expert_share", "[1/num_experts = 0.125, 1]"));
  m = small_moe();
  m.moe.num_shared_experts = 1;
  CHECK(has_path(validate_model(m, "/model"), "/model/shared_expert_ffn_hidden", "needs shared_expert_ffn_hidden"));
  ModelSpec dense = testing::small_llama(2);
  dense.moe.top_k = 2;
  CHECK(has_path(validate_model(dense, "/model"), "/model/num_experts", "num_experts = 0"));
  // Lowering refuses an invalid model too.
  m = small_moe();
  m.moe.top_k = 0;
  CHECK_THROWS_AS(lower_to_programs(m, training(), ParallelPlan{}), InputError);
}

TEST_CASE("expert groups fold into the tensor x data ranks of a stage (Megatron)", "[moe][rank_layout]") {
  ParallelPlan p;
  p.tp = 2;
  p.dp = 2;
  p.pp = 2;
  p.ep = 2;
  p.expert_tp = 1;
  const RankLayout l(p);
  // Stage 1 holds ranks 4..7 = indices 0..3 (tp fastest); expert coords (etp, ep, edp) = (0, i % 2, i / 2).
  CHECK(l.group_of(GroupKind::kExpert, 5) == std::vector<int>{4, 5});
  CHECK(l.group_of(GroupKind::kExpertData, 5) == std::vector<int>{5, 7});
  CHECK(l.group_of(GroupKind::kExpertTensor, 5) == std::vector<int>{5});
  CHECK(l.group_size(GroupKind::kExpertData) == 2);
  // expert_tp = tp = 2 (the default), ep = 2: the EP group strides over the TP group.
  p.expert_tp = 0;
  const RankLayout d(p);
  CHECK(d.group_of(GroupKind::kExpertTensor, 5) == std::vector<int>{4, 5});
  CHECK(d.group_of(GroupKind::kExpert, 5) == std::vector<int>{5, 7});
  CHECK(d.group_size(GroupKind::kExpertData) == 1);
  p.ep = 4;
  CHECK_THROWS_AS(RankLayout(p), InputError);
}

TEST_CASE("lowering an EP plan: all-to-alls over the expert group, expert gradients over expert-DP",
          "[moe][lowering]") {
  const ModelSpec m = small_moe();
  TrainingSpec t = training(128, 16);
  ParallelPlan p;
  p.dp = 4;
  p.ep = 2;  // expert-DP = 4 / 2 = 2
  p.zero_stage = 1;
  const auto programs = lower_to_programs(m, t, p);
  REQUIRE(programs.size() == 1);
  CHECK(check_programs(programs).empty());
  const Program& prog = programs[0];
  std::int64_t a2a = 0;
  Bytes expert_grads, dense_grads;
  for (const Task& task : prog.tasks()) {
    if (task.kind != TaskKind::kCollective) continue;
    const CollectiveOp& op = prog.collective(task);
    if (op.group == GroupKind::kExpert) {
      ++a2a;
      CHECK(op.kind == CollectiveKind::kAllToAll);
      CHECK(task.phase == Phase::kExpertComm);
    }
    if (prog.label(task) == "expert_dp_reduce_scatter") expert_grads += op.bytes;
    if (prog.label(task) == "dp_reduce_scatter") dense_grads += op.bytes;
  }
  // 3 MoE layers x 4 micro-batches x (2 forward + 2 backward).
  CHECK(a2a == 3 * 4 * 4);
  // Expert gradients: 3 layers x E/ep = 4 experts x 3 h f_e x 4 bytes (fp32 main grads).
  CHECK(expert_grads == Bytes(3 * 4 * 3 * 256 * 128 * 4));
  const auto params = stage_parameters(m, t, p);
  CHECK(dense_grads + expert_grads == Bytes(params[0] * 4));
}

TEST_CASE("a shared expert's input is the router's: kept once, under autocast twice", "[moe][layer_ops][memory]") {
  // T = 128 tokens, h = 256, one shared expert of width 256 (SwiGLU: up 512 wide).
  const double T = 128;
  const double h = 256;
  const double fs = 256;
  ModelSpec with_shared = small_moe();
  with_shared.moe.num_shared_experts = 1;
  with_shared.moe.shared_expert_ffn_hidden = 256;
  auto saved = [](const ModelSpec& m, const TrainingSpec& t) {
    return moe_layer_ops(m, t, ParallelPlan{}).saved_activations.as_double();
  };
  auto kept_by = [](const LayerOps& ops, const std::string& name) {
    for (const LayerStep& s : ops.forward)
      if (s.name == name) return s.saved_for_backward.as_double();
    return -1.0;
  };
  const TrainingSpec t = training();
  // bf16: the shared expert adds only its own tensors, the SwiGLU's input
  // (T x 2 fs) and the down-projection's (T x fs); the normed input is the router's.
  CHECK(saved(with_shared, t) - saved(small_moe(), t) == Approx(2 * T * 2 * fs + 2 * T * fs));
  const LayerOps bf16 = moe_layer_ops(with_shared, t, ParallelPlan{});
  CHECK(kept_by(bf16, "router") == Approx(2 * T * h));
  CHECK(kept_by(bf16, "shared_expert_up") == 0.0);
  // Under AMP's autocast each GEMM casts, and keeps, its own bf16 copy.
  TrainingSpec amp = t;
  amp.precision = PrecisionMode::kAmpBf16;
  const LayerOps cast = moe_layer_ops(with_shared, amp, ParallelPlan{});
  CHECK(kept_by(cast, "shared_expert_up") == Approx(2 * T * h));
}

TEST_CASE("memory of experts under EP: weights per rank and ZeRO-1 over expert-DP", "[moe][memory]") {
  const ModelSpec m = small_moe();
  const TrainingSpec t = training(128, 16);
  ParallelPlan p;
  p.dp = 4;
  p.ep = 4;
  p.zero_stage = 1;
  const auto mem = estimate_memory(m, t, p);
  const auto params = stage_parameters(m, t, p);
  // One rank: 1 dense layer, 3 MoE layers with E/ep = 2 experts, embeddings and head.
  const std::int64_t expert = 3 * 2 * 3 * 256 * 128;
  const std::int64_t dense = params[0] - expert;
  ParallelPlan local = p;
  local.ep = 1;
  CHECK(stage_parameters(m, t, local)[0] - params[0] == 3 * (8 - 2) * 3 * 256 * 128);
  CHECK(mem[0].weights == Bytes(params[0] * 2));
  // ZeRO-1: 12 bytes of optimizer state per parameter, dense over dp = 4, experts over expert-DP = 1.
  CHECK(mem[0].optimizer_state == Bytes(((dense + 3) / 4 + expert) * 12));
  // Dispatch buffers: send and receive of one all-to-all (T k h x 2 bytes each).
  const auto no_ep = estimate_memory(m, t, local);
  CHECK(mem[0].communication_buffers - no_ep[0].communication_buffers == Bytes(2 * 128 * 2 * 256 * 2));
}
