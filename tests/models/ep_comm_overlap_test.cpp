// Overlapped expert all-to-alls (plan.ep_comm_overlap): which passes pair
// (stage_passes), which plans may ask for it, how lowering interleaves a
// pair's two passes, and the activations the pp = 1 schedule holds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "dtsim/models/lowering.hpp"
#include "dtsim/models/memory.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/pipeline_schedule.hpp"
#include "small_models.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

using testing::has_path;
using testing::small_moe;

TrainingSpec training(std::int64_t global_batch) {
  TrainingSpec t;
  t.seq_len = 128;
  t.global_batch = global_batch;
  t.micro_batch = 1;
  return t;
}

ParallelPlan ep_plan(int dp, int ep) {
  ParallelPlan p;
  p.dp = dp;
  p.ep = ep;
  p.ep_comm_overlap = true;
  return p;
}

std::string str(const std::vector<PipelinePass>& passes) {
  std::string out;
  for (const PipelinePass& p : passes) {
    if (!out.empty()) out += ' ';
    if (p.overlaps_next) out += '[';
    out += p.kind == PassKind::kForward ? 'F' : p.kind == PassKind::kBackwardWeight ? 'W' : 'B';
    out += std::to_string(p.microbatch);
    if (p.chunk != 0) {
      out += '.';
      out += std::to_string(p.chunk);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("ep_comm_overlap at pp = 1: one forward of warm-up, then forward i + 1 with backward i",
          "[ep_overlap][schedule]") {
  ParallelPlan p = ep_plan(2, 2);
  CHECK(str(stage_passes(p, 4, 0)) == "F0 [F1 B0 [F2 B1 [F3 B2 B3");
  CHECK(str(stage_passes(p, 2, 0)) == "F0 [F1 B0 B1");
  p.ep_comm_overlap = false;
  CHECK(str(stage_passes(p, 4, 0)) == "F0 B0 F1 B1 F2 B2 F3 B3");
}

TEST_CASE("ep_comm_overlap pairs interleaved 1F1B's forwards with the next backward of another pass",
          "[ep_overlap][schedule]") {
  ParallelPlan p = ep_plan(2, 2);
  p.pp = 2;
  p.virtual_stages = 2;
  p.schedule = PipelineSchedule::kInterleavedOneFOneB;
  for (int stage = 0; stage < 2; ++stage) {
    const auto plain = pipeline_passes(p.schedule, 2, 2, 4, stage);
    const auto paired = stage_passes(p, 4, stage);
    REQUIRE(paired.size() == plain.size());
    int pairs = 0;
    for (std::size_t i = 0; i < plain.size(); ++i) {
      // Same passes in the same order; marks exactly on F directly before a B of another pass.
      CHECK(paired[i].kind == plain[i].kind);
      CHECK(paired[i].microbatch == plain[i].microbatch);
      CHECK(paired[i].chunk == plain[i].chunk);
      const bool expected = i + 1 < plain.size() && plain[i].kind == PassKind::kForward &&
                            plain[i + 1].kind == PassKind::kBackward &&
                            (plain[i + 1].microbatch != plain[i].microbatch || plain[i + 1].chunk != plain[i].chunk);
      CHECK(paired[i].overlaps_next == expected);
      pairs += paired[i].overlaps_next ? 1 : 0;
    }
    // 8 chunk passes each way; warm-up (pp - s - 1) x 2 + (v - 1) x pp forwards, then
    // one F B step per remaining forward: 8 - 4 = 4 pairs on stage 0; on stage 1,
    // 8 - 2 = 6 steps, of which the 4 forwards of the last model chunk are followed
    // by their own backward (the loss's), so 2 pairs.
    CHECK(pairs == (stage == 0 ? 4 : 2));
    if (stage == 1) CHECK(str(paired) == "F0 F1 F0.1 B0.1 F1.1 B1.1 [F2 B0 [F3 B1 F2.1 B2.1 F3.1 B3.1 B2 B3");
  }
}

TEST_CASE("ep_comm_overlap keeps DualPipe's own pairs, and without it none is marked", "[ep_overlap][schedule]") {
  ParallelPlan p = ep_plan(2, 2);
  p.pp = 4;
  p.schedule = PipelineSchedule::kDualPipe;
  for (int stage = 0; stage < 4; ++stage) {
    const auto plain = pipeline_passes(p.schedule, 4, 1, 8, stage);
    CHECK(stage_passes(p, 8, stage) == plain);
    ParallelPlan off = p;
    off.ep_comm_overlap = false;
    const auto sequential = stage_passes(off, 8, stage);
    CHECK(std::none_of(sequential.begin(), sequential.end(), [](const PipelinePass& x) { return x.overlaps_next; }));
  }
  // pipeline_passes' own example: stage 0 runs two pairs, F4.1 B4.1 is not one.
  CHECK(str(stage_passes(p, 8, 0)) == "F0 F1 F2 F4.1 B4.1 W4.1 F5.1 [F3 B5.1 [F6.1 B0 B6.1 [F7.1 B1 B7.1 B2 W2 B3 W3");
}

TEST_CASE("ep_comm_overlap is rejected where there is nothing to overlap or no schedule to pair",
          "[ep_overlap][parallel_plan]") {
  const ModelSpec moe = small_moe();
  auto check = [&](const ModelSpec& m, const ParallelPlan& p, std::int64_t gb) {
    return validate_plan(m, training(gb), p, "/plan", "/training");
  };
  CHECK(check(moe, ep_plan(2, 2), 8).empty());
  CHECK(has_path(check(testing::small_llama(4), ep_plan(2, 1), 8), "/plan/ep_comm_overlap",
                 "needs an MoE model with ep > 1 (model 'llama-like'"));
  CHECK(has_path(check(moe, ep_plan(2, 1), 8), "/plan/ep_comm_overlap", "ep = 1"));
  // One micro-batch per step: nothing to pair at pp = 1.
  CHECK(has_path(check(moe, ep_plan(2, 2), 2), "/plan/ep_comm_overlap", "has 1 micro-batch"));
  ParallelPlan gpipe = ep_plan(2, 2);
  gpipe.schedule = PipelineSchedule::kGPipe;
  CHECK(has_path(check(moe, gpipe, 8), "/plan/ep_comm_overlap", "expected schedule '1f1b', got 'gpipe'"));
  ParallelPlan pipelined = ep_plan(2, 2);
  pipelined.pp = 2;
  CHECK(has_path(check(moe, pipelined, 8), "/plan/ep_comm_overlap",
                 "needs schedule 'interleaved-1f1b' or 'dualpipe'; got '1f1b'"));
  pipelined.schedule = PipelineSchedule::kInterleavedOneFOneB;
  pipelined.virtual_stages = 2;
  CHECK(check(moe, pipelined, 8).empty());
}

TEST_CASE("an overlapped pair's backward kernels run between the forward's all-to-alls", "[ep_overlap][lowering]") {
  const ModelSpec m = small_moe();
  const TrainingSpec t = training(4);  // dp 2: 2 micro-batches, F0 [F1 B0] B1
  ParallelPlan off = ep_plan(2, 2);
  off.ep_comm_overlap = false;
  const auto seq = lower_to_programs(m, t, off);
  const auto ovl = lower_to_programs(m, t, ep_plan(2, 2));
  REQUIRE(ovl.size() == 1);
  CHECK(check_programs(ovl).empty());

  // The same tasks, reordered: per label, count and FLOPs agree.
  auto census = [](const Program& p) {
    std::map<std::string, std::pair<int, double>> c;
    for (const Task& task : p.tasks()) {
      std::string key = p.label(task);
      key += '/';
      key += to_string(task.phase);
      auto& e = c[key];
      ++e.first;
      if (task.kind == TaskKind::kCompute) e.second += p.work(task).flops.count();
    }
    return c;
  };
  CHECK(census(ovl[0]) == census(seq[0]));

  const Program& p = ovl[0];
  int expert_collectives = 0;
  for (const Task& task : p.tasks()) {
    if (task.kind == TaskKind::kCollective && p.collective(task).group == GroupKind::kExpert) {
      ++expert_collectives;
      CHECK(task.stream == StreamKind::kExpertComm);
    }
  }
  CHECK(expert_collectives == 3 * 2 * 4);  // 3 MoE layers x 2 per pass x 4 passes

  // In the pair, each all-to-all of one pass is followed on the compute stream by
  // the other pass's kernels: the compute task after a collective of micro-batch
  // mb belongs to the other micro-batch, 6 times each way (F1's 6, B0's 6).
  std::map<std::int32_t, int> switches;
  for (std::size_t i = 0; i < p.tasks().size(); ++i) {
    const Task& a = p.tasks()[i];
    if (a.kind != TaskKind::kCollective || p.collective(a).group != GroupKind::kExpert) continue;
    for (std::size_t j = i + 1; j < p.tasks().size(); ++j) {
      const Task& next = p.tasks()[j];
      if (next.kind != TaskKind::kCompute) continue;
      if (next.microbatch != a.microbatch) ++switches[a.microbatch];
      break;
    }
  }
  CHECK(switches[0] == 6);  // B0's all-to-alls, each followed by F1's kernels
  CHECK(switches[1] == 6);  // F1's, each followed by B0's
  CHECK(switches.size() == 2);
}

TEST_CASE("ep_comm_overlap at pp = 1 holds two micro-batches' activations", "[ep_overlap][memory]") {
  const ModelSpec m = small_moe();
  const TrainingSpec t = training(8);
  ParallelPlan off = ep_plan(2, 2);
  off.ep_comm_overlap = false;
  const MemoryBreakdown seq = estimate_memory(m, t, off)[0];
  const MemoryBreakdown ovl = estimate_memory(m, t, ep_plan(2, 2))[0];
  CHECK(seq.microbatches_in_flight == 1);
  CHECK(ovl.microbatches_in_flight == 2);
  CHECK(seq.activations == seq.activations_per_microbatch);
  CHECK(ovl.activations == ovl.activations_per_microbatch * 2);
  CHECK(ovl.weights == seq.weights);
}
