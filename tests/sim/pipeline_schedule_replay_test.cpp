// Pipeline schedules replayed on uniform-cost stages: the makespan and the
// bubble of 1F1B, ZB-H1 and DualPipe against their closed forms.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/hardware/op_cost_model.hpp"
#include "dtsim/hardware/topology.hpp"
#include "dtsim/models/pipeline_schedule.hpp"
#include "dtsim/models/program.hpp"
#include "dtsim/models/rank_layout.hpp"
#include "replay.hpp"
#include "toy_machine.hpp"
#include "toy_replay.hpp"

using namespace dtsim;
using namespace dtsim::literals;
using Catch::Matchers::WithinRel;
using models::PassKind;
using models::Phase;
using models::PipelinePass;
using models::PipelineSchedule;
using models::Program;
using models::StreamKind;
using models::TaskId;

namespace {

// pp GPUs on one node of the toy machine.
hardware::ClusterSpec one_node(int gpus) { return testing::toy_cluster(gpus, 1); }

using testing::ideal_calibration;
using testing::replay_programs;

// `units` ms of memory-bound work at 1 TB/s.
ComputeWork ms_work(int units) {
  ComputeWork w;
  w.op_class = OpClass::kElementwise;
  w.bytes_read = Bytes(std::int64_t{500'000'000} * units);
  w.bytes_written = Bytes(std::int64_t{500'000'000} * units);
  return w;
}

// One program per stage from the schedule's pass lists: F, B and W take 1 ms
// each (a whole backward 2 ms), one kernel per pass; the forward of
// (mb, model chunk k) receives from the stage holding k - 1 and sends to the
// one holding k + 1, the backward (whole or B) the other way, with 1-byte
// messages (10 ps over NVLink).
std::vector<Program> uniform_programs(PipelineSchedule sched, int pp, std::int64_t m) {
  const int chunks = models::chunks_per_stage(sched, 1);
  const int last = pp - 1;  // model chunks 0 .. pp - 1
  auto key = [](int dir, std::int64_t mb, int receiver_chunk) {
    return (static_cast<std::uint64_t>(dir) << 48) | (static_cast<std::uint64_t>(mb) << 16) |
           static_cast<std::uint64_t>(receiver_chunk);
  };
  std::vector<Program> out;
  for (int s = 0; s < pp; ++s) {
    Program p(s);
    TaskId prev = 0;
    bool has_prev = false;
    for (const PipelinePass& pass : models::pipeline_passes(sched, pp, 1, m, s)) {
      REQUIRE(pass.chunk < chunks);
      const int k = models::model_chunk_of(sched, pp, s, pass.chunk);
      std::vector<TaskId> deps;
      if (has_prev) deps.push_back(prev);
      const bool fwd = pass.kind == PassKind::kForward;
      const bool bwd = pass.kind == PassKind::kBackward || pass.kind == PassKind::kBackwardInput;
      if (fwd && k > 0) {
        deps.push_back(p.add_recv({models::stage_holding(sched, pp, k - 1, pass.chunk), Bytes(1), key(0, pass.microbatch, k)},
                                  StreamKind::kRecvForward, Phase::kPipelineComm, "recv_fwd", {}, pass.microbatch));
      }
      if (bwd && k < last) {
        deps.push_back(p.add_recv({models::stage_holding(sched, pp, k + 1, pass.chunk), Bytes(1), key(1, pass.microbatch, k)},
                                  StreamKind::kRecvBackward, Phase::kPipelineComm, "recv_bwd", {}, pass.microbatch));
      }
      const int units = pass.kind == PassKind::kBackward ? 2 : 1;
      prev = p.add_compute(ms_work(units), fwd ? Phase::kForward : Phase::kBackward, "pass", deps, pass.microbatch);
      has_prev = true;
      const std::vector<TaskId> after{prev};
      if (fwd && k < last) {
        p.add_send({models::stage_holding(sched, pp, k + 1, pass.chunk), Bytes(1), key(0, pass.microbatch, k + 1)},
                   StreamKind::kSendForward, Phase::kPipelineComm, "send_fwd", after, pass.microbatch);
      }
      if (bwd && k > 0) {
        p.add_send({models::stage_holding(sched, pp, k - 1, pass.chunk), Bytes(1), key(1, pass.microbatch, k - 1)},
                   StreamKind::kSendBackward, Phase::kPipelineComm, "send_bwd", after, pass.microbatch);
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

// The replayed step time in ms.
double replay_ms(PipelineSchedule sched, int pp, std::int64_t m) {
  models::ParallelPlan plan;
  plan.pp = pp;
  const auto cluster = one_node(pp);
  const auto cal = ideal_calibration();
  const std::vector<Program> programs = uniform_programs(sched, pp, m);
  REQUIRE(models::check_programs(programs).empty());
  return replay_programs(programs, plan, cluster, cal, hardware::CollectiveAlgorithm::kRing, true)
             .makespan.since_start()
             .seconds() *
         1e3;
}

}  // namespace

TEST_CASE("replayed bubbles with F = B = W = 1 ms: 1F1B 3(pp-1), ZB-H1 pp-1, DualPipe pp/2-1", "[replay][pipeline][schedule]") {
  // Every stage computes m (F + B + W) = 3m ms. The bubble on top (messages take 10 ps):
  //   1F1B   (pp - 1)(F + B + W)        = 3 (pp - 1)
  //   ZB-H1  (pp - 1)(F + B - W)        = pp - 1       (Qi et al. §2.1: a third of 1F1B's)
  //   DualPipe, its F&B pairs run in sequence: (pp/2 - 1) F = pp/2 - 1
  //   (the report's (pp/2 - 1)(F&B + B - 3W) = pp - 2 with each pair as one 3 ms unit).
  const double tol = 1e-6;
  for (const int pp : {2, 4, 8}) {
    for (const std::int64_t m : {2 * std::int64_t{pp}, 4 * std::int64_t{pp}}) {
      INFO("pp " << pp << " m " << m);
      const double work = 3.0 * static_cast<double>(m);
      const double one = replay_ms(PipelineSchedule::kOneFOneB, pp, m);
      const double zb = replay_ms(PipelineSchedule::kZeroBubbleH1, pp, m);
      const double dual = replay_ms(PipelineSchedule::kDualPipe, pp, m);
      CHECK_THAT(one, WithinRel(work + 3.0 * (pp - 1), tol));
      CHECK_THAT(zb, WithinRel(work + 1.0 * (pp - 1), tol));
      CHECK_THAT(dual, WithinRel(work + (pp / 2 - 1), tol));
    }
  }
}
