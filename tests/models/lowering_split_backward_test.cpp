// Lowering of the split-backward schedules: ZB-H1's W passes and DualPipe's
// bidirectional chunks, their gradient buckets, replica exchange and memory.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/layer_ops.hpp"
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/pipeline_schedule.hpp"
#include "small_models.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

constexpr auto kZbH1 = PipelineSchedule::kZeroBubbleH1;
constexpr auto kDual = PipelineSchedule::kDualPipe;

ModelSpec llama_like() { return testing::small_llama(8); }

ModelSpec tied_like() {
  ModelSpec m = llama_like();
  m.name = "tied";
  m.tied_embeddings = true;
  return m;
}

TrainingSpec training(std::int64_t global_batch) {
  TrainingSpec t;
  t.seq_len = 128;
  t.global_batch = global_batch;
  t.micro_batch = 1;
  return t;
}

ParallelPlan plan(int tp, int pp, int dp, PipelineSchedule s) {
  ParallelPlan p;
  p.tp = tp;
  p.pp = pp;
  p.dp = dp;
  p.schedule = s;
  p.sequence_parallel = tp > 1;
  return p;
}

void require_sound(const std::vector<Program>& programs) {
  for (const Program& p : programs) {
    const auto d = check_program(p);
    INFO((d.empty() ? std::string() : d.front().path + ": " + d.front().message));
    REQUIRE(d.empty());
  }
  const auto d = check_programs(programs);
  INFO((d.empty() ? std::string() : d.front().path + ": " + d.front().message));
  REQUIRE(d.empty());
}

std::int64_t count_label(const Program& p, const std::string& label) {
  return std::count_if(p.tasks().begin(), p.tasks().end(), [&](const Task& t) { return p.label(t) == label; });
}

// The names of the decoder's weight-gradient kernels (layer_ops marks them).
std::set<std::string> wgrad_names(const ModelSpec& m, const TrainingSpec& t, const ParallelPlan& p) {
  std::set<std::string> out;
  for (const LayerStep& s : decoder_layer_ops(m, t, p).backward) {
    if (s.kind == LayerStep::Kind::kCompute && s.weight_gradient) out.insert(s.name);
  }
  return out;
}

bool is_dp_bucket(const Program& p, const Task& t) {
  return t.kind == TaskKind::kCollective && (p.label(t) == "dp_all_reduce" || p.label(t) == "dp_reduce_scatter");
}

}  // namespace

TEST_CASE("ZB-H1 and DualPipe lower to sound programs", "[lowering][zb][dualpipe]") {
  // DAGs, every send matched by one recv in channel order, no cycle through rendezvous (check_programs).
  struct Case {
    PipelineSchedule schedule;
    int pp, tp, dp, zero;
    std::int64_t global_batch;
  };
  const std::vector<Case> cases{{kZbH1, 4, 2, 2, 0, 16}, {kZbH1, 2, 1, 2, 1, 8},  {kZbH1, 1, 1, 2, 2, 4},
                                {kZbH1, 4, 1, 1, 0, 2},  {kDual, 4, 2, 2, 1, 16}, {kDual, 2, 1, 2, 0, 4},
                                {kDual, 8, 1, 1, 2, 14}, {kDual, 4, 1, 1, 0, 6}};
  for (const auto& model : {llama_like(), tied_like()}) {
    for (const Case& c : cases) {
      for (const auto rc : {Recompute::kNone, Recompute::kFull}) {
        for (const bool overlap : {true, false}) {
          ParallelPlan p = plan(c.tp, c.pp, c.dp, c.schedule);
          p.zero_stage = c.zero;
          p.overlap_grad_reduce = overlap;
          p.dp_bucket_size = Bytes(1'000'000);
          TrainingSpec t = training(c.global_batch);
          t.recompute = rc;
          INFO(model.name << " " << to_string(c.schedule) << " pp " << c.pp << " tp " << c.tp << " dp " << c.dp);
          require_sound(lower_to_programs(model, t, p));
        }
      }
    }
  }
}

TEST_CASE("DualPipe's two directions do not wait on each other's channels at pp = 16", "[lowering][dualpipe]") {
  // With both directions on one FIFO per stream kind, stage 1's send of a chunk-0 activation to
  // stage 2 (posted early, received late) would hold back its chunk-1 sends to stage 0, which the
  // backward that lets stage 2 post that recv needs: a cycle. The reverse streams keep them apart.
  for (const std::int64_t m : {30, 32, 64}) {
    ParallelPlan p = plan(1, 16, 1, kDual);
    INFO("m " << m);
    require_sound(lower_to_programs(testing::small_llama(16), training(m), p));
  }
}

TEST_CASE("ZB-H1 runs 1F1B's kernels, with each W after its micro-batch's send_bwd", "[lowering][zb]") {
  // Splitting the backward reorders kernels, it adds or drops none: per stage the same FLOPs per phase.
  // In 1F1B a micro-batch's weight-gradient GEMMs run before its input gradient is sent back; in
  // ZB-H1 they form the W pass, after the B pass's send.
  const TrainingSpec t = training(8);
  const ParallelPlan zb = plan(2, 4, 1, kZbH1);
  const ParallelPlan base = plan(2, 4, 1, PipelineSchedule::kOneFOneB);
  const auto zb_programs = lower_to_programs(llama_like(), t, zb);
  const auto base_programs = lower_to_programs(llama_like(), t, base);
  const auto wgrad = wgrad_names(llama_like(), t, zb);
  REQUIRE(!wgrad.empty());
  for (int s = 1; s < 4; ++s) {
    const Program& z = zb_programs[static_cast<std::size_t>(s)];
    const Program& b = base_programs[static_cast<std::size_t>(s)];
    for (const Phase ph : {Phase::kForward, Phase::kBackward, Phase::kRecompute, Phase::kOptimizer}) {
      CHECK_THAT(z.total_flops(ph).count(), Catch::Matchers::WithinRel(b.total_flops(ph).count(), 1e-12));
    }
    CHECK(z.size() == b.size());
    for (const bool split : {true, false}) {
      const Program& p = split ? z : b;
      std::vector<std::size_t> send_at(8, 0);
      for (std::size_t i = 0; i < p.size(); ++i) {
        const Task& task = p.tasks()[i];
        if (p.label(task) == "send_bwd") send_at[static_cast<std::size_t>(task.microbatch)] = i;
      }
      std::int64_t wgrads = 0;
      for (std::size_t i = 0; i < p.size(); ++i) {
        const Task& task = p.tasks()[i];
        if (task.kind != TaskKind::kCompute || task.phase != Phase::kBackward || task.layer < 0) continue;
        if (wgrad.count(std::string(p.label(task))) == 0) continue;
        ++wgrads;
        CHECK((i > send_at[static_cast<std::size_t>(task.microbatch)]) == split);
      }
      CHECK(wgrads == 8 * 2 * static_cast<std::int64_t>(wgrad.size()));  // m x 2 layers per stage
    }
  }
}

TEST_CASE("ZB-H1's gradient buckets follow the W pass that fills them", "[lowering][zb][dp]") {
  // Stage 1 of 4 runs W7 last, after its last B (send_bwd of micro-batch 7): every bucket of the
  // accumulated gradients is issued after that send, and after a weight-gradient kernel. In 1F1B
  // the buckets start during the last whole backward, before its send.
  const TrainingSpec t = training(8);
  for (const auto sched : {kZbH1, PipelineSchedule::kOneFOneB}) {
    ParallelPlan p = plan(1, 4, 2, sched);
    p.dp_bucket_size = Bytes(200'000);
    const Program pr = lower_to_programs(llama_like(), t, p)[1];
    std::size_t last_send = 0;
    std::size_t first_bucket = pr.size();
    std::int64_t buckets = 0;
    for (std::size_t i = 0; i < pr.size(); ++i) {
      const Task& task = pr.tasks()[i];
      if (pr.label(task) == "send_bwd") last_send = i;
      if (is_dp_bucket(pr, task)) {
        ++buckets;
        first_bucket = std::min(first_bucket, i);
      }
    }
    REQUIRE(buckets >= 2);
    CHECK((first_bucket > last_send) == (sched == kZbH1));
  }
}

TEST_CASE("DualPipe: each stage holds model stages s and pp - 1 - s", "[lowering][dualpipe][memory]") {
  // Parameters x 2: stage s's are 1F1B's stage s plus stage pp - 1 - s.
  const TrainingSpec t = training(8);
  for (const int pp : {2, 4}) {
    const auto one = stage_parameters(llama_like(), t, plan(1, pp, 1, PipelineSchedule::kOneFOneB));
    const auto dual = stage_parameters(llama_like(), t, plan(1, pp, 1, kDual));
    std::int64_t one_total = 0;
    std::int64_t dual_total = 0;
    for (int s = 0; s < pp; ++s) {
      CHECK(dual[static_cast<std::size_t>(s)] ==
            one[static_cast<std::size_t>(s)] + one[static_cast<std::size_t>(pp - 1 - s)]);
      one_total += one[static_cast<std::size_t>(s)];
      dual_total += dual[static_cast<std::size_t>(s)];
    }
    CHECK(dual_total == 2 * one_total);
    // pp + 1 micro-batches in flight on every stage (DeepSeek-V3 Table 2).
    for (const auto& mb : estimate_memory(llama_like(), t, plan(1, pp, 1, kDual))) {
      CHECK(mb.microbatches_in_flight == pp + 1);
    }
  }
}

TEST_CASE("DualPipe's transfers run both ways, and the replicas swap their reduced gradients", "[lowering][dualpipe]") {
  // pp 4, m 8: chunk 0 carries micro-batches 0..3 from stage 0 to 3, chunk 1 micro-batches 4..7
  // from stage 3 to 0. Each stage sends a forward activation for each of its chunks' micro-batches
  // that is not at the pipeline's end: 4 x 2 on stages 1 and 2, 4 on stages 0 and 3.
  for (const int zero : {0, 1}) {
    ParallelPlan p = plan(1, 4, 2, kDual);
    p.zero_stage = zero;
    const TrainingSpec t2 = training(16);  // dp 2: m = 8
    const auto programs = lower_to_programs(llama_like(), t2, p);
    const auto params = stage_parameters(llama_like(), t2, p);
    for (int s = 0; s < 4; ++s) {
      const Program& pr = programs[static_cast<std::size_t>(s)];
      const std::int64_t ends = (s == 0 || s == 3) ? 1 : 0;
      CHECK(count_label(pr, "send_fwd") == 4 * (2 - ends));
      CHECK(count_label(pr, "send_bwd") == 4 * (2 - ends));
      for (const Task& task : pr.tasks()) {
        if (task.kind == TaskKind::kSend && pr.label(task) == "send_fwd") {
          // Chunk 0 goes down the pipeline, chunk 1 up.
          CHECK(pr.p2p(task).peer_stage == (task.chunk == 0 ? s + 1 : s - 1));
          CHECK(task.stream == (task.chunk == 0 ? StreamKind::kSendForward : StreamKind::kSendForwardReverse));
          CHECK(task.microbatch / 4 == task.chunk);
        }
        if (pr.label(task) == "replica_grad_send") {
          // ZeRO-0: every gradient (4 B each, Megatron's fp32 main grads); ZeRO-1: the DP shard.
          const std::int64_t n = params[static_cast<std::size_t>(s)];
          CHECK(pr.p2p(task).bytes.count() == (zero == 0 ? n : (n + 1) / 2) * 4);
          CHECK(pr.p2p(task).peer_stage == 3 - s);
          CHECK(task.phase == Phase::kGradientSync);
        }
      }
      CHECK(count_label(pr, "replica_grad_send") == 1);
      CHECK(count_label(pr, "replica_grad_recv") == 1);
      CHECK(count_label(pr, "tied_embedding_grad_send") == 0);
    }
  }
}

TEST_CASE("ZB-H1 and DualPipe plan rules", "[plan][zb][dualpipe][reject]") {
  const ModelSpec m = llama_like();
  auto check = [&](const ParallelPlan& p, std::int64_t global) {
    return validate_plan(m, training(global), p, "/plan", "/training");
  };
  ParallelPlan p = plan(1, 4, 1, kDual);
  CHECK(check(p, 8).empty());
  CHECK(check(p, 6).empty());  // 2 (pp - 1)

  auto require_one = [](const std::vector<Diagnostic>& d, const std::string& path, const std::string& msg) {
    REQUIRE(d.size() == 1);
    CHECK(d[0].path == path);
    CHECK(d[0].message == msg);
  };
  require_one(check(p, 4), "/plan/schedule",
              "schedule 'dualpipe' needs an even micro-batch count (global_batch / (dp x micro_batch) = 4; half "
              "enter at each end of the pipeline) of at least 2 x (pp - 1) = 6");
  require_one(check(p, 9), "/plan/schedule",
              "schedule 'dualpipe' needs an even micro-batch count (global_batch / (dp x micro_batch) = 9; half "
              "enter at each end of the pipeline) of at least 2 x (pp - 1) = 6");
  ModelSpec six = testing::small_llama(6);
  ParallelPlan odd = plan(1, 3, 1, kDual);
  const auto d = validate_plan(six, training(8), odd, "/plan", "/training");
  require_one(d, "/plan/pp", "schedule 'dualpipe' needs an even pp (stage s pairs with stage pp - 1 - s); got pp = 3");
  for (const auto s : {kZbH1, kDual}) {
    ParallelPlan z = plan(1, 4, 2, s);
    z.zero_stage = 3;
    require_one(check(z, 16), "/plan/zero_stage",
                "zero_stage = 3 with schedule '" + std::string(to_string(s)) +
                    "' is not modelled (its W passes would need their own parameter gathers); expected 0, 1 or 2");
    ParallelPlan v = plan(1, 2, 1, s);
    v.virtual_stages = 2;
    require_one(check(v, 8), "/plan/virtual_stages",
                "virtual_stages = 2 with schedule '" + std::string(to_string(s)) +
                    "'; expected 1, or the 'interleaved-1f1b' schedule");
  }
  // ZB-H1 takes any micro-batch count, as 1F1B does.
  CHECK(check(plan(1, 4, 1, kZbH1), 3).empty());
}
