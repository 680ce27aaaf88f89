#include <catch2/catch.hpp>

#include <functional>
#include <tuple>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/hardware/op_cost_model.hpp"
#include "dtsim/hardware/topology.hpp"
#include "dtsim/models/program.hpp"
#include "dtsim/models/rank_layout.hpp"
#include "replay.hpp"
#include "toy_machine.hpp"
#include "toy_replay.hpp"
#include "report_builder.hpp"

using namespace dtsim;
using namespace dtsim::literals;
using Catch::Matchers::WithinRel;
using models::GroupKind;
using models::Phase;
using models::Program;
using models::StreamKind;
using models::TaskId;

namespace {

using testing::ideal_calibration;
using testing::replay_programs;
using testing::toy_cluster;

// Memory-bound work of exactly `bytes` bytes: takes bytes / 1 TB/s.
ComputeWork stream_work(double bytes) {
  ComputeWork w;
  w.op_class = OpClass::kElementwise;
  w.bytes_read = Bytes(static_cast<std::int64_t>(bytes / 2));
  w.bytes_written = Bytes(static_cast<std::int64_t>(bytes / 2));
  return w;
}

struct Fixture {
  models::ParallelPlan plan;
  hardware::ClusterSpec cluster;
  hardware::Calibration cal = ideal_calibration();
  std::vector<Program> programs;

  sim::ReplayResult run(bool symmetric = true,
                        hardware::CollectiveAlgorithm algorithm = hardware::CollectiveAlgorithm::kRing) {
    return replay_programs(programs, plan, cluster, cal, algorithm, symmetric);
  }
};

}  // namespace

TEST_CASE("compute tasks on one stream run back to back", "[replay]") {
  // 1 GB then 2 GB at 1 TB/s: 1 ms + 2 ms = 3 ms.
  Fixture f;
  f.cluster = toy_cluster(1, 1);
  Program p(0);
  const TaskId a = p.add_compute(stream_work(1e9), Phase::kForward, "a", {});
  p.add_compute(stream_work(2e9), Phase::kForward, "b", std::vector<TaskId>{a});
  f.programs.push_back(p);
  const auto r = f.run();
  CHECK_THAT(r.makespan.since_start().seconds(), WithinRel(3e-3, 1e-9));
  CHECK(r.tasks == 2);
}

TEST_CASE("every eagerly launched kernel pays the calibration's eager gap", "[replay]") {
  // 1 GB (one kernel) then 2 GB in 3 kernels, with a 5 us gap per kernel:
  // 3 ms + 4 x 5 us.
  Fixture f;
  f.cluster = toy_cluster(1, 1);
  f.cal.host.eager_kernel_gap = 5_us;
  Program p(0);
  const TaskId a = p.add_compute(stream_work(1e9), Phase::kForward, "a", {});
  ComputeWork three = stream_work(2e9);
  three.kernels = 3;
  p.add_compute(three, Phase::kForward, "b", std::vector<TaskId>{a});
  f.programs.push_back(p);
  CHECK_THAT(f.run().makespan.since_start().seconds(), WithinRel(3e-3 + 4 * 5e-6, 1e-9));
}

TEST_CASE("a TP all-reduce on the critical path adds the ring time", "[replay][collective]") {
  // 8 GPUs, ring all-reduce of S = 800 MB over 100 GB/s links:
  // 2(p-1)/p * S / B = 2*7/8 * 0.8e9 / 1e11 = 14 ms. Compute 1 ms before and after.
  Fixture f;
  f.plan.tp = 8;
  f.cluster = toy_cluster(8, 1);
  Program p(0);
  const TaskId a = p.add_compute(stream_work(1e9), Phase::kForward, "a", {});
  const TaskId ar = p.add_collective({CollectiveKind::kAllReduce, GroupKind::kTensor, Bytes(800'000'000)},
                                     StreamKind::kTensorComm, Phase::kTensorComm, "tp_ar", std::vector<TaskId>{a});
  p.add_compute(stream_work(1e9), Phase::kForward, "b", std::vector<TaskId>{ar});
  f.programs.push_back(p);
  const double expected = 1e-3 + 2.0 * 7.0 / 8.0 * 0.8e9 / 100e9 + 1e-3;
  CHECK_THAT(f.run(true).makespan.since_start().seconds(), WithinRel(expected, 1e-6));
  CHECK_THAT(f.run(false).makespan.since_start().seconds(), WithinRel(expected, 1e-6));
}

TEST_CASE("communication on its own stream overlaps compute", "[replay][overlap]") {
  // DP all-reduce of S = 80 MB over 2 nodes x 1 GPU, NIC 10 GB/s:
  // 2(p-1)/p * S / B = 1 * 0.08e9 / 1e10 = 8 ms, overlapping 5 ms of compute:
  // step = max(8, 5) = 8 ms.
  Fixture f;
  f.plan.dp = 2;
  f.cluster = toy_cluster(1, 2);
  Program p(0);
  p.add_collective({CollectiveKind::kAllReduce, GroupKind::kData, Bytes(80'000'000)}, StreamKind::kDataComm,
                   Phase::kGradientSync, "dp_ar", {});
  p.add_compute(stream_work(5e9), Phase::kBackward, "bwd", {});
  f.programs.push_back(p);
  CHECK_THAT(f.run().makespan.since_start().seconds(), WithinRel(8e-3, 1e-6));
}

TEST_CASE("two collectives sharing the NICs each get half the bandwidth", "[replay][flow]") {
  // Two DP all-reduces of 80 MB issued together on two streams of each rank
  // share each NIC: each takes 2 x 8 ms = 16 ms.
  Fixture f;
  f.plan.dp = 2;
  f.cluster = toy_cluster(1, 2);
  Program p(0);
  p.add_collective({CollectiveKind::kAllReduce, GroupKind::kData, Bytes(80'000'000)}, StreamKind::kDataComm,
                   Phase::kGradientSync, "dp_ar", {});
  p.add_collective({CollectiveKind::kAllReduce, GroupKind::kData, Bytes(80'000'000)}, StreamKind::kTensorComm,
                   Phase::kGradientSync, "dp_ar2", {});
  f.programs.push_back(p);
  // The second collective on a different group kind would not match; use the
  // data group on both streams: ranks issue them in the same order.
  CHECK_THAT(f.run(false).makespan.since_start().seconds(), WithinRel(16e-3, 1e-6));
}

TEST_CASE("a pipeline send and recv start together and bound the consumer", "[replay][pipeline]") {
  // Stage 0 computes 2 ms then sends 100 MB to stage 1 over NVLink
  // (100 GB/s: 1 ms); stage 1 computes 3 ms after receiving: 2 + 1 + 3 = 6 ms.
  Fixture f;
  f.plan.pp = 2;
  f.cluster = toy_cluster(2, 1);
  Program s0(0), s1(1);
  const TaskId c0 = s0.add_compute(stream_work(2e9), Phase::kForward, "f0", {});
  s0.add_send({1, Bytes(100'000'000), 42}, StreamKind::kSendForward, Phase::kPipelineComm, "send_fwd",
              std::vector<TaskId>{c0});
  const TaskId r1 = s1.add_recv({0, Bytes(100'000'000), 42}, StreamKind::kRecvForward, Phase::kPipelineComm,
                                "recv_fwd", {});
  s1.add_compute(stream_work(3e9), Phase::kForward, "f1", std::vector<TaskId>{r1});
  f.programs = {s0, s1};
  const auto r = f.run();
  CHECK_THAT(r.makespan.since_start().seconds(), WithinRel(6e-3, 1e-6));
  // The recv's cause is the send on the other stage.
  REQUIRE(r.ranks.size() == 2);
  CHECK(r.ranks[1].cause[r1].sim_rank == 0);
}

TEST_CASE("a send whose recv never comes is reported as a deadlock", "[replay][errors]") {
  Fixture f;
  f.plan.pp = 2;
  f.cluster = toy_cluster(2, 1);
  Program s0(0), s1(1);
  s0.add_send({1, Bytes(1000), 7}, StreamKind::kSendForward, Phase::kPipelineComm, "send_fwd", {});
  s1.add_recv({0, Bytes(1000), 8}, StreamKind::kRecvForward, Phase::kPipelineComm, "recv_fwd", {});
  f.programs = {s0, s1};
  CHECK_THROWS_WITH(f.run(), Catch::Matchers::StartsWith("replay deadlocked: rank 0 (stage 0)"));
}

TEST_CASE("symmetric replay weights sibling flows: oversubscribed fabric", "[replay][symmetry]") {
  // 4 nodes x 2 GPUs, TP2 x DP4 with TP inside the node: two DP rings (one
  // per local GPU index) run at once. With a non-rail-optimized, 4:1
  // oversubscribed fabric the siblings share trunks; the symmetric replay
  // (one representative ring, weighted) must equal the full replay.
  Fixture f;
  f.plan.tp = 2;
  f.plan.dp = 4;
  f.cluster = toy_cluster(2, 4);
  f.cluster.fabric.switch_radix = 4;  // 2 nodes per leaf: the rings cross the spine
  f.cluster.fabric.oversubscription = 4.0;
  f.cluster.fabric.rail_optimized = false;
  Program p(0);
  const TaskId a = p.add_compute(stream_work(1e9), Phase::kBackward, "bwd", {});
  p.add_collective({CollectiveKind::kAllReduce, GroupKind::kData, Bytes(40'000'000)}, StreamKind::kDataComm,
                   Phase::kGradientSync, "dp_ar", std::vector<TaskId>{a});
  f.programs.push_back(p);
  const double sym = f.run(true).makespan.since_start().seconds();
  const double full = f.run(false).makespan.since_start().seconds();
  CHECK_THAT(sym, WithinRel(full, 1e-9));
  // And the sharing is real: slower than one ring alone on the NICs
  // (1 ms + 2*3/4 * 40 MB / 10 GB/s = 7 ms).
  CHECK(full > 7e-3 * (1 + 1e-6));
}

TEST_CASE("symmetric replay of an all-to-all: the leader's transfers, weighted, finish with everyone's",
          "[replay][symmetry][all_to_all]") {
  // EP 8 folded into DP 16 over 4 nodes x 4 GPUs: two expert groups of 2
  // nodes each exchange at once. The symmetric replay keeps only each group
  // leader's 7 transfers (weighted by everyone's traffic per link); it must
  // finish when the full replay's 2 x 56 transfers do, on a rail-optimized
  // fabric and on an oversubscribed one that is not, with the direct and the
  // rail-aligned (hierarchical) exchange.
  for (const bool rails : {true, false}) {
    for (const auto algorithm : {hardware::CollectiveAlgorithm::kDirect, hardware::CollectiveAlgorithm::kHierarchical}) {
      Fixture f;
      f.plan.dp = 16;
      f.plan.ep = 8;
      f.cluster = toy_cluster(4, 4);
      f.cluster.fabric.rail_optimized = rails;
      if (!rails) {
        f.cluster.fabric.switch_radix = 4;
        f.cluster.fabric.oversubscription = 2.0;
      }
      Program p(0);
      const TaskId a = p.add_compute(stream_work(1e9), Phase::kForward, "router", {});
      p.add_collective({CollectiveKind::kAllToAll, GroupKind::kExpert, Bytes(64'000'000)}, StreamKind::kTensorComm,
                       Phase::kExpertComm, "dispatch", std::vector<TaskId>{a});
      f.programs.push_back(p);
      const double sym = f.run(true, algorithm).makespan.since_start().seconds();
      const double full = f.run(false, algorithm).makespan.since_start().seconds();
      INFO("rail-optimized " << rails << ", algorithm " << hardware::to_string(algorithm));
      CHECK_THAT(sym, WithinRel(full, 1e-9));
      // Bounded below by each NIC's share: 1 ms of compute + (N-1)/N S / 10 GB/s with N = 2.
      CHECK(full >= (1e-3 + 0.5 * 64e6 / 10e9) * (1 - 1e-9));
    }
  }
}

TEST_CASE("the critical path charges a transfer from when its peer arrived", "[replay][critical_path]") {
  // Two stages on one node: stage 0 computes 1 ms (1 GB at 1 TB/s) and sends
  // 100 MB (1 ms at 100 GB/s); stage 1 posts its recv at t = 0 and computes
  // 2 ms after it. Path: forward [0, 1 ms], transfer [1, 2 ms] (not from 0,
  // when the recv was posted), forward [2, 4 ms].
  Fixture f;
  f.plan.pp = 2;
  f.cluster = toy_cluster(2, 1);
  const models::P2POp msg{1, Bytes(100'000'000), 7};
  Program p0(0);
  const TaskId fwd0 = p0.add_compute(stream_work(1e9), Phase::kForward, "fwd", {}, 0);
  p0.add_send(msg, StreamKind::kSendForward, Phase::kPipelineComm, "send_fwd", std::vector<TaskId>{fwd0}, 0);
  Program p1(1);
  const TaskId recv = p1.add_recv(models::P2POp{0, Bytes(100'000'000), 7}, StreamKind::kRecvForward,
                                  Phase::kPipelineComm, "recv_fwd", {}, 0);
  p1.add_compute(stream_work(2e9), Phase::kForward, "fwd", std::vector<TaskId>{recv}, 0);
  f.programs = {p0, p1};
  const sim::ReplayResult r = f.run(false);
  CHECK_THAT(r.makespan.since_start().seconds(), WithinRel(4e-3, 1e-9));
  const auto path = sim::critical_path(r, sim::critical_rank(r), f.programs);
  REQUIRE(path.size() == 3);
  CHECK(path[0].stage == 0);
  CHECK(path[0].phase == Phase::kForward);
  CHECK_THAT(path[0].duration.seconds(), WithinRel(1e-3, 1e-9));
  CHECK(path[1].phase == Phase::kPipelineComm);
  CHECK_THAT(path[1].start.since_start().seconds(), WithinRel(1e-3, 1e-9));
  CHECK_THAT(path[1].duration.seconds(), WithinRel(1e-3, 1e-9));
  CHECK(path[2].stage == 1);
  CHECK_THAT(path[2].start.since_start().seconds(), WithinRel(2e-3, 1e-9));
  CHECK_THAT(path[2].duration.seconds(), WithinRel(2e-3, 1e-9));
}

TEST_CASE("a two-stage pipeline's critical path: forward, transfer from rendezvous, next stage", "[replay][critical_path]") {
  // Stages 0 and 1 on one node, NVLink 100 GB/s, send/recv latency
  // base 5 us + one NVLink hop 2 us. Stage 0: forward 1 ms per micro-batch
  // (1 GB at 1 TB/s), sends 100 MB after each (1 ms + 7 us). Stage 1 posts
  // both recvs at t = 0 and runs a 2 ms forward after each arrives.
  //   mb 0: fwd0 [0, 1], transfer [1, 2.007], fwd1 [2.007, 4.007]
  //   mb 1: fwd0 [1, 2], send waits for the send stream until 2.007,
  //         transfer [2.007, 3.014], fwd1 [4.007, 6.007] (after mb 0's)
  // Critical path: forward (stage 0) [0, 1] -> pipeline transfer [1, 2.007]
  // (not from 0, when the recv was posted) -> forward (stage 1) [2.007, 6.007].
  Fixture f;
  f.plan.pp = 2;
  f.cluster = toy_cluster(2, 1);
  f.cal.collective.base_latency = Duration::from_ps(5'000'000);
  f.cal.collective.intra_hop_latency = Duration::from_ps(2'000'000);
  const Bytes bytes(100'000'000);
  Program p0(0);
  Program p1(1);
  std::vector<TaskId> recvs;
  TaskId prev_fwd1 = 0;
  for (int mb = 0; mb < 2; ++mb) {
    const auto key = static_cast<std::uint64_t>(mb);
    const TaskId fwd0 = p0.add_compute(stream_work(1e9), Phase::kForward, "fwd", {}, mb);
    p0.add_send(models::P2POp{1, bytes, key}, StreamKind::kSendForward, Phase::kPipelineComm, "send_fwd",
                std::vector<TaskId>{fwd0}, mb);
    recvs.push_back(p1.add_recv(models::P2POp{0, bytes, key}, StreamKind::kRecvForward, Phase::kPipelineComm,
                                "recv_fwd", {}, mb));
    std::vector<TaskId> deps{recvs.back()};
    if (mb > 0) deps.push_back(prev_fwd1);
    prev_fwd1 = p1.add_compute(stream_work(2e9), Phase::kForward, "fwd", deps, mb);
  }
  f.programs = {p0, p1};
  const sim::ReplayResult r = f.run();
  const double ms = 1e-3;
  const double transfer = 1e8 / 100e9 + 7e-6;  // bytes / bandwidth + latency
  CHECK_THAT(r.makespan.since_start().seconds(), WithinRel(1 * ms + transfer + 4 * ms, 1e-9));
  // The recv of mb 0 was posted at 0; its rendezvous is the send's start.
  const sim::RankTrace& s1 = r.ranks[1];
  CHECK(s1.start[recvs[0]] == TimePoint::start());
  CHECK_THAT(s1.rendezvous[recvs[0]].since_start().seconds(), WithinRel(1 * ms, 1e-9));

  const auto path = sim::critical_path(r, sim::critical_rank(r), f.programs);
  REQUIRE(path.size() == 3);
  CHECK(path[0].stage == 0);
  CHECK(path[0].phase == Phase::kForward);
  CHECK(path[0].start == TimePoint::start());
  CHECK_THAT(path[0].duration.seconds(), WithinRel(1 * ms, 1e-9));
  CHECK(path[1].phase == Phase::kPipelineComm);
  CHECK_THAT(path[1].start.since_start().seconds(), WithinRel(1 * ms, 1e-9));
  CHECK_THAT(path[1].duration.seconds(), WithinRel(transfer, 1e-9));
  CHECK(path[2].stage == 1);
  CHECK(path[2].phase == Phase::kForward);
  CHECK_THAT(path[2].start.since_start().seconds(), WithinRel(1 * ms + transfer, 1e-9));
  CHECK_THAT(path[2].duration.seconds(), WithinRel(4 * ms, 1e-9));
  // The stage-1 rank idles until mb 0 arrives: all of it bubble.
  const sim::Breakdown b = sim::attribute_breakdown(r, 1, f.programs);
  CHECK_THAT(b.bubble.seconds(), WithinRel(1 * ms + transfer, 1e-9));
  CHECK(b.exposed_comm == Duration::zero());
}

TEST_CASE("a pipeline-group collective waits for the slower stage: path and breakdown", "[replay][critical_path]") {
  // Stage 0 computes 1 ms, stage 1 3 ms; then both all-reduce 80 MB over the
  // pipeline group (2 GPUs, NVLink 100 GB/s: 2(p-1)/p * S / B = 0.8 ms), then
  // compute 1 ms. Both end at 4.8 ms; the critical rank is stage 0 (lowest
  // on ties). Its path: stage 1's 3 ms -> all-reduce [3, 3.8] -> stage 0's
  // last 1 ms; its breakdown: the 2 ms waiting for stage 1 is bubble, the
  // 0.8 ms all-reduce exposed communication.
  Fixture f;
  f.plan.pp = 2;
  f.cluster = toy_cluster(2, 1);
  for (int stage = 0; stage < 2; ++stage) {
    Program p(stage);
    const TaskId a = p.add_compute(stream_work(stage == 0 ? 1e9 : 3e9), Phase::kBackward, "bwd", {});
    const TaskId ar = p.add_collective({CollectiveKind::kAllReduce, GroupKind::kPipeline, Bytes(80'000'000)},
                                       StreamKind::kDataComm, Phase::kGradientSync, "pp_ar", std::vector<TaskId>{a});
    p.add_compute(stream_work(1e9), Phase::kOptimizer, "opt", std::vector<TaskId>{ar});
    f.programs.push_back(p);
  }
  const sim::ReplayResult r = f.run();
  const double ms = 1e-3;
  CHECK_THAT(r.makespan.since_start().seconds(), WithinRel(4.8 * ms, 1e-9));
  const std::size_t crit = sim::critical_rank(r);
  REQUIRE(r.ranks[crit].stage == 0);
  const auto path = sim::critical_path(r, crit, f.programs);
  REQUIRE(path.size() == 3);
  CHECK(path[0].stage == 1);
  CHECK_THAT(path[0].duration.seconds(), WithinRel(3 * ms, 1e-9));
  CHECK(path[1].phase == Phase::kGradientSync);
  CHECK_THAT(path[1].start.since_start().seconds(), WithinRel(3 * ms, 1e-9));
  CHECK_THAT(path[1].duration.seconds(), WithinRel(0.8 * ms, 1e-9));
  CHECK(path[2].stage == 0);
  CHECK(path[2].phase == Phase::kOptimizer);
  CHECK_THAT(path[2].start.since_start().seconds(), WithinRel(3.8 * ms, 1e-9));
  const sim::Breakdown b = sim::attribute_breakdown(r, crit, f.programs);
  CHECK_THAT(b.compute.seconds(), WithinRel(1 * ms, 1e-9));
  CHECK_THAT(b.bubble.seconds(), WithinRel(2 * ms, 1e-9));
  CHECK_THAT(b.exposed_comm.seconds(), WithinRel(0.8 * ms, 1e-9));
  CHECK_THAT(b.optimizer.seconds(), WithinRel(1 * ms, 1e-9));
}

namespace {

// replay_programs with the data-parallel wrappers' host extras set.
// The fixture's replay (ring collectives) with host costs set by `set_host`.
sim::ReplayResult replay_with_host(const Fixture& f, const std::function<void(sim::ReplayInputs&)>& set_host) {
  const models::RankLayout layout(f.plan);
  const hardware::Topology topology(f.cluster, f.cal);
  const hardware::OpCostModel cost(f.cluster.node.gpu, f.cal);
  sim::ReplayInputs in;
  in.programs = &f.programs;
  in.layout = &layout;
  in.topology = &topology;
  in.cost = &cost;
  in.collective_params = f.cal.collective;
  in.algorithm = hardware::CollectiveAlgorithm::kRing;
  set_host(in);
  return sim::replay(in);
}

sim::ReplayResult replay_with_wrapper_host(const Fixture& f, Duration all_gather, Duration reduce_scatter,
                                           Duration ddp_per_layer) {
  return replay_with_host(f, [&](sim::ReplayInputs& in) {
    in.extra_host_per_dp_all_gather = all_gather;
    in.extra_host_per_dp_reduce_scatter = reduce_scatter;
    in.extra_host_ddp_per_layer = ddp_per_layer;
  });
}

}  // namespace

TEST_CASE("FSDP2's host work delays the work its all-gather and reduce-scatter issue", "[replay][host]") {
  // dp 2 over 2 nodes: gather (1 kB), 1 ms of compute, reduce-scatter (1 kB).
  // The host spends 3 ms before issuing the gather and 4 ms more before the
  // reduce-scatter: compute runs 3-4 ms and the reduce-scatter starts at 7 ms
  // (its 1 kB over 10 GB/s adds 50 ns).
  Fixture f;
  f.plan.dp = 2;
  f.cluster = toy_cluster(1, 2);
  Program p(0);
  const TaskId ag = p.add_collective({CollectiveKind::kAllGather, GroupKind::kData, Bytes(1000)},
                                     StreamKind::kDataComm, Phase::kParameterSync, "fsdp_all_gather", {});
  const TaskId c = p.add_compute(stream_work(1e9), Phase::kForward, "layer", std::vector<TaskId>{ag});
  p.add_collective({CollectiveKind::kReduceScatter, GroupKind::kData, Bytes(1000)}, StreamKind::kDataComm,
                   Phase::kGradientSync, "fsdp_reduce_scatter", std::vector<TaskId>{c});
  f.programs.push_back(p);
  CHECK_THAT(f.run().makespan.since_start().seconds(), WithinRel(1e-3, 1e-3));
  CHECK_THAT(replay_with_wrapper_host(f, 3_ms, 4_ms, Duration::zero()).makespan.since_start().seconds(),
             WithinRel(7e-3, 1e-3));
}

TEST_CASE("DDP's host work per layer is charged to the data-parallel all-reduces in equal parts",
          "[replay][host]") {
  // Two layers of 1 ms each, then two bucket all-reduces (1 kB). 2 ms of host
  // per layer over 2 all-reduces: 2 ms before each, so the second is issued
  // at 4 ms (the GPU is done at 2 ms).
  Fixture f;
  f.plan.dp = 2;
  f.cluster = toy_cluster(1, 2);
  Program p(0);
  const TaskId l0 = p.add_compute(stream_work(1e9), Phase::kBackward, "layer0", {}, 0, 0);
  const TaskId l1 = p.add_compute(stream_work(1e9), Phase::kBackward, "layer1", std::vector<TaskId>{l0}, 0, 1);
  for (int i = 0; i < 2; ++i) {
    p.add_collective({CollectiveKind::kAllReduce, GroupKind::kData, Bytes(1000)}, StreamKind::kDataComm,
                     Phase::kGradientSync, "dp_all_reduce", std::vector<TaskId>{l1});
  }
  f.programs.push_back(p);
  CHECK_THAT(f.run().makespan.since_start().seconds(), WithinRel(2e-3, 1e-3));
  CHECK_THAT(replay_with_wrapper_host(f, Duration::zero(), Duration::zero(), 2_ms).makespan.since_start().seconds(),
             WithinRel(4e-3, 1e-3));
}

TEST_CASE("the breakdown charges a kernel's wait for its host to host_wait", "[replay][host][breakdown]") {
  // Three chained 1 ms kernels. At 2 ms of host per launch the host issues
  // them at 2, 4 and 6 ms: the GPU waits 2 ms for the first and 1 ms before
  // each of the others, and the step ends at 7 ms. At 0.5 ms per launch only
  // the first waits (0.5 ms); the others are issued before they are ready.
  Fixture f;
  f.cluster = toy_cluster(1, 1);
  Program p(0);
  const TaskId a = p.add_compute(stream_work(1e9), Phase::kForward, "a", {});
  const TaskId b = p.add_compute(stream_work(1e9), Phase::kForward, "b", std::vector<TaskId>{a});
  p.add_compute(stream_work(1e9), Phase::kBackward, "c", std::vector<TaskId>{b});
  f.programs.push_back(p);
  for (const auto& [launch, step, wait] : {std::tuple{2_ms, 7e-3, 4e-3}, std::tuple{500_us, 3.5e-3, 0.5e-3}}) {
    const sim::ReplayResult r = replay_with_host(f, [&](sim::ReplayInputs& in) { in.host_per_launch = launch; });
    CHECK_THAT(r.makespan.since_start().seconds(), WithinRel(step, 1e-9));
    const sim::Breakdown br = sim::attribute_breakdown(r, 0, f.programs);
    CHECK_THAT(br.host_wait.seconds(), WithinRel(wait, 1e-9));
    CHECK_THAT(br.compute.seconds(), WithinRel(3e-3, 1e-9));
    CHECK(br.other == Duration::zero());
    CHECK(br.exposed_comm + br.bubble + br.optimizer == Duration::zero());
  }
}

TEST_CASE("forward kernels are issued at their own host rate, the others at the common one", "[replay][host]") {
  // A 1 ms forward kernel, then a 1 ms backward kernel. One rate of 1 ms:
  // issued at 1 and 2 ms, done at 3 ms. Forward at 3 ms, backward at 1 ms:
  // issued at 3 and 4 ms, done at 5 ms.
  Fixture f;
  f.cluster = toy_cluster(1, 1);
  Program p(0);
  const TaskId a = p.add_compute(stream_work(1e9), Phase::kForward, "fwd", {});
  p.add_compute(stream_work(1e9), Phase::kBackward, "bwd", std::vector<TaskId>{a});
  f.programs.push_back(p);
  const auto one_rate = replay_with_host(f, [](sim::ReplayInputs& in) { in.host_per_launch = 1_ms; });
  CHECK_THAT(one_rate.makespan.since_start().seconds(), WithinRel(3e-3, 1e-9));
  const auto split = replay_with_host(f, [](sim::ReplayInputs& in) {
    in.host_per_launch = 1_ms;
    in.host_per_forward_launch = 3_ms;
  });
  CHECK_THAT(split.makespan.since_start().seconds(), WithinRel(5e-3, 1e-9));
}
