// Context parallelism: the rank layout, the attention's share of work per
// rank, the K/V exchange's bytes (ring and all-gather), memory, lowering and
// validation. Expectations are closed forms in the comments.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/rank_layout.hpp"
#include "small_models.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

// seq 512, one sequence per micro-batch.
TrainingSpec training(std::int64_t global_batch = 4) {
  TrainingSpec t;
  t.seq_len = 512;
  t.global_batch = global_batch;
  t.micro_batch = 1;
  return t;
}

ParallelPlan plan(int tp, int cp, int dp, int pp = 1) {
  ParallelPlan p;
  p.tp = tp;
  p.cp = cp;
  p.dp = dp;
  p.pp = pp;
  return p;
}

const LayerStep& find(const std::vector<LayerStep>& steps, const std::string& name) {
  const auto it = std::find_if(steps.begin(), steps.end(), [&](const LayerStep& s) { return s.name == name; });
  REQUIRE(it != steps.end());
  return *it;
}

int count(const std::vector<LayerStep>& steps, LayerStep::Kind kind) {
  return static_cast<int>(std::count_if(steps.begin(), steps.end(), [&](const LayerStep& s) { return s.kind == kind; }));
}

}  // namespace

TEST_CASE("context parallelism sits inside the data dimension, context fastest", "[cp][rank_layout]") {
  // tp 2, cp 2, dp 2: rank = tp + 2 (cp + 2 dp). Rank 5 = 1 + 2 x (0 + 2 x 1): tp 1, cp 0, dp 1.
  const RankLayout l(plan(2, 2, 2));
  CHECK(l.world_size() == 8);
  const RankCoord c = l.coord_of(5);
  CHECK(c.tp == 1);
  CHECK(c.cp == 0);
  CHECK(c.dp == 1);
  CHECK(l.rank_of(c) == 5);
  CHECK(l.group_of(GroupKind::kContext, 5) == std::vector<int>{5, 7});
  CHECK(l.group_of(GroupKind::kTensor, 5) == std::vector<int>{4, 5});
  // Gradients are reduced over every rank holding the same weights: dp x cp.
  CHECK(l.group_of(GroupKind::kData, 5) == std::vector<int>{1, 3, 5, 7});
  CHECK(l.group_size(GroupKind::kContext) == 2);
  CHECK(l.group_size(GroupKind::kData) == 4);
}

TEST_CASE("each context-parallel rank does 1/cp of the layer's work", "[cp][layer_ops]") {
  const ModelSpec m = testing::small_llama(2);
  const LayerOps one = decoder_layer_ops(m, training(), plan(1, 1, 1));
  const LayerOps two = decoder_layer_ops(m, training(), plan(1, 2, 1));
  // Causal attention over the whole sequence: 2 b s^2 (a d) = 2 x 512^2 x 256, halved per rank
  // by the load-balanced chunks; the projections see s / cp tokens.
  CHECK(find(one.forward, "attn_core").work.flops.count() == Approx(2.0 * 512 * 512 * 256));
  CHECK(find(two.forward, "attn_core").work.flops.count() == Approx(2.0 * 512 * 512 * 256 / 2));
  CHECK(find(two.forward, "qkv_proj").work.flops.count() ==
        Approx(find(one.forward, "qkv_proj").work.flops.count() / 2));
  // Queries are the rank's 256 tokens, keys the whole 512.
  REQUIRE(find(two.forward, "attn_core").work.attention);
  CHECK(find(two.forward, "attn_core").work.attention->seq_q == 256);
  CHECK(find(two.forward, "attn_core").work.attention->seq_kv == 512);
  // Every tensor a layer saves scales with the rank's tokens.
  CHECK(two.saved_activations * 2 == one.saved_activations);
}

TEST_CASE("ring attention exchanges K and V during the kernel, dK and dV back in backward", "[cp][layer_ops]") {
  // K and V of the whole sequence: b s x 2 x kv_heads d x 2 B = 512 x 2 x 128 x 2 = 262,144 B, the
  // all-gather's S; each rank receives (cp - 1)/cp of it in cp - 1 ring steps.
  const ModelSpec m = testing::small_llama(2);
  for (const int cp : {2, 4}) {
    const LayerOps ops = decoder_layer_ops(m, training(), plan(1, cp, 1));
    const LayerStep& gather = find(ops.forward, "cp_all_gather_kv");
    CHECK(gather.kind == LayerStep::Kind::kContextCollective);
    CHECK(gather.collective == CollectiveKind::kAllGather);
    CHECK(gather.collective_bytes == Bytes(512 * 2 * 128 * 2));
    CHECK(gather.overlaps_next);
    CHECK(count(ops.forward, LayerStep::Kind::kContextCollective) == 1);
    // Backward: K, V again and dK, dV back, both during the attention backward.
    const LayerStep& back = find(ops.backward, "cp_reduce_scatter_dkv");
    CHECK(back.collective == CollectiveKind::kReduceScatter);
    CHECK(back.collective_bytes == gather.collective_bytes);
    CHECK(back.overlaps_next);
    CHECK(count(ops.backward, LayerStep::Kind::kContextCollective) == 2);
  }
  // tp 2 halves the KV heads per rank, and so the bytes.
  const LayerOps tp2 = decoder_layer_ops(m, training(), plan(2, 2, 1));
  CHECK(find(tp2.forward, "cp_all_gather_kv").collective_bytes == Bytes(512 * 2 * 64 * 2));
  // No exchange without context parallelism.
  CHECK(count(decoder_layer_ops(m, training(), plan(1, 1, 1)).forward, LayerStep::Kind::kContextCollective) == 0);
}

TEST_CASE("the all-gather variant waits for K and V and holds them whole", "[cp][layer_ops][memory]") {
  const ModelSpec m = testing::small_llama(2);
  ParallelPlan p = plan(1, 2, 1);
  p.cp_comm = ContextComm::kAllGather;
  const LayerOps ops = decoder_layer_ops(m, training(), p);
  CHECK_FALSE(find(ops.forward, "cp_all_gather_kv").overlaps_next);
  // The reduce-scatter of dK, dV follows the attention backward.
  const auto at = [&](const std::string& name) {
    return std::find_if(ops.backward.begin(), ops.backward.end(), [&](const LayerStep& s) { return s.name == name; });
  };
  CHECK(at("cp_reduce_scatter_dkv") > at("attn_core_bwd"));
  // Memory: the gathered K and V (262,144 B) as a transient; the ring keeps two local blocks
  // (2 x 131,072 B) in its communication buffers instead.
  const auto gathered = estimate_memory(m, training(), p);
  p.cp_comm = ContextComm::kRing;
  const auto ring = estimate_memory(m, training(), p);
  CHECK(gathered[0].temporary >= Bytes(262'144));
  CHECK(ring[0].communication_buffers - gathered[0].communication_buffers == Bytes(2 * 131'072));
}

TEST_CASE("lowering: the attention does not wait for the ring, the next kernel does", "[cp][lowering]") {
  const ModelSpec m = testing::small_llama(2);
  const auto programs = lower_to_programs(m, training(4), plan(1, 2, 2));
  REQUIRE(programs.size() == 1);
  const Program& p = programs[0];
  const auto& tasks = p.tasks();
  int exchanges = 0;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const Task& t = tasks[i];
    if (t.kind != TaskKind::kCollective || p.label(t) != "cp_all_gather_kv") continue;
    ++exchanges;
    CHECK(p.collective(t).group == GroupKind::kContext);
    CHECK(t.phase == Phase::kContextComm);
    // The next compute task is the attention (forward or backward): it does not depend on the
    // exchange; the one after does.
    std::size_t j = i + 1;
    while (tasks[j].kind != TaskKind::kCompute) ++j;
    CHECK(p.label(tasks[j]).rfind("attn_core", 0) == 0);
    const auto deps = p.deps_of(tasks[j]);
    CHECK(std::find(deps.begin(), deps.end(), static_cast<TaskId>(i)) == deps.end());
    std::size_t k = j + 1;
    while (tasks[k].kind != TaskKind::kCompute) ++k;
    const auto next = p.deps_of(tasks[k]);
    CHECK(std::find(next.begin(), next.end(), static_cast<TaskId>(i)) != next.end());
  }
  // 2 layers x 2 micro-batches (global batch 4 over dp 2), once in forward and once in backward.
  CHECK(exchanges == 8);
  // The gradients are reduced over dp x cp = 4 ranks: the data group.
  bool reduced = false;
  for (const Task& t : tasks) {
    if (t.kind == TaskKind::kCollective && p.collective(t).group == GroupKind::kData) reduced = true;
  }
  CHECK(reduced);
}

TEST_CASE("invalid context-parallel plans are rejected with their JSON path", "[cp][parallel_plan]") {
  const ModelSpec m = testing::small_llama(2);
  TrainingSpec t = training();
  const auto problems = [&](const ParallelPlan& p) { return validate_plan(m, t, p, "/plan", "/training"); };
  const auto has = [](const std::vector<Diagnostic>& d, const std::string& path, const std::string& text) {
    return std::any_of(d.begin(), d.end(), [&](const Diagnostic& x) {
      return x.path == path && x.message.find(text) != std::string::npos;
    });
  };
  CHECK(problems(plan(1, 2, 1)).empty());
  CHECK(has(problems(plan(1, 0, 1)), "/plan/cp", "cp = 0"));
  t.seq_len = 500;  // not divisible by 2 x cp = 8
  CHECK(has(problems(plan(1, 4, 1)), "/plan/cp", "divisible by 2 x cp = 8"));
  t.seq_len = 520;  // 520 / 4 = 130 tokens per rank, not divisible by tp = 4
  ParallelPlan sp = plan(4, 4, 1);
  sp.sequence_parallel = true;
  CHECK(has(problems(sp), "/plan/sequence_parallel", "seq_len / cp = 130"));
}
