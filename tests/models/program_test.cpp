#include <catch2/catch.hpp>

#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/models/program.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {

ComputeWork gemm(double flops) {
  ComputeWork w;
  w.op_class = OpClass::kGemm;
  w.flops = Flops(flops);
  return w;
}

P2POp message(int peer, std::uint64_t key, std::int64_t bytes = 1024) { return P2POp{peer, Bytes(bytes), key}; }

using Deps = std::vector<TaskId>;

}  // namespace

TEST_CASE("tasks get consecutive ids, their payloads and dependencies", "[program]") {
  Program p(3);
  const TaskId a = p.add_compute(gemm(10), Phase::kForward, "qkv_proj", {}, 2, 7, 1);
  const TaskId b = p.add_collective({CollectiveKind::kAllReduce, GroupKind::kTensor, Bytes(64)},
                                    StreamKind::kTensorComm, Phase::kTensorComm, "tp_all_reduce", Deps{a}, 2, 7, 1);
  const TaskId c = p.add_send(message(4, 99), StreamKind::kSendForward, Phase::kPipelineComm, "send_fwd", Deps{a, b});
  const TaskId d = p.add_recv(message(2, 98), StreamKind::kRecvBackward, Phase::kPipelineComm, "recv_bwd", {});
  CHECK(p.stage() == 3);
  CHECK(a == 0);
  CHECK(b == 1);
  CHECK(c == 2);
  CHECK(d == 3);
  REQUIRE(p.size() == 4);
  const Task& ta = p.tasks()[a];
  CHECK(ta.kind == TaskKind::kCompute);
  CHECK(ta.stream == StreamKind::kCompute);
  CHECK(ta.microbatch == 2);
  CHECK(ta.layer == 7);
  CHECK(ta.chunk == 1);
  CHECK(p.work(ta).flops == Flops(10));
  const Task& tb = p.tasks()[b];
  CHECK(p.collective(tb).bytes == Bytes(64));
  CHECK(p.deps_of(tb).size() == 1);
  CHECK(p.deps_of(tb)[0] == a);
  const Task& tc = p.tasks()[c];
  CHECK(tc.kind == TaskKind::kSend);
  CHECK(p.p2p(tc).peer_stage == 4);
  CHECK(p.p2p(tc).match_key == 99);
  CHECK(p.deps_of(tc).size() == 2);
  CHECK(p.tasks()[d].kind == TaskKind::kRecv);
  CHECK(p.p2p(p.tasks()[d]).match_key == 98);
  CHECK(p.label(tc) == "send_fwd");
}

TEST_CASE("labels are interned in order of first use", "[program]") {
  // "a", "b", "a", "c" -> label indices 0, 1, 0, 2.
  Program p;
  p.add_compute(gemm(1), Phase::kForward, "a", {});
  p.add_compute(gemm(1), Phase::kForward, "b", {});
  p.add_compute(gemm(1), Phase::kForward, "a", {});
  p.add_compute(gemm(1), Phase::kForward, "c", {});
  CHECK(p.tasks()[0].label == 0);
  CHECK(p.tasks()[1].label == 1);
  CHECK(p.tasks()[2].label == 0);
  CHECK(p.tasks()[3].label == 2);
  CHECK(p.label(p.tasks()[2]) == "a");
}

TEST_CASE("total FLOPs sum compute tasks, overall and per phase", "[program]") {
  // forward 10 + 20, backward 40, recompute 5: total 75; collectives count nothing.
  Program p;
  p.add_compute(gemm(10), Phase::kForward, "f1", {});
  p.add_compute(gemm(20), Phase::kForward, "f2", {});
  p.add_collective({CollectiveKind::kAllReduce, GroupKind::kTensor, Bytes(8)}, StreamKind::kTensorComm,
                   Phase::kTensorComm, "ar", Deps{1});
  p.add_compute(gemm(5), Phase::kRecompute, "r", {});
  p.add_compute(gemm(40), Phase::kBackward, "b", {});
  CHECK(p.total_flops() == Flops(75));
  CHECK(p.total_flops(Phase::kForward) == Flops(30));
  CHECK(p.total_flops(Phase::kBackward) == Flops(40));
  CHECK(p.total_flops(Phase::kRecompute) == Flops(5));
  CHECK(p.total_flops(Phase::kOptimizer) == Flops(0));
}

TEST_CASE("the builder refuses forward dependencies and wrong streams", "[program][reject]") {
  Program p;
  p.add_compute(gemm(1), Phase::kForward, "a", {});
  CHECK_THROWS_AS(p.add_compute(gemm(1), Phase::kForward, "b", Deps{1}), InternalError);
  CHECK_THROWS_AS(p.add_compute(gemm(1), Phase::kForward, "b", Deps{5}), InternalError);
  CHECK_THROWS_AS(p.add_send(message(1, 1), StreamKind::kRecvForward, Phase::kPipelineComm, "s", {}), InternalError);
  CHECK_THROWS_AS(p.add_recv(message(1, 1), StreamKind::kSendForward, Phase::kPipelineComm, "r", {}), InternalError);
  CHECK_THROWS_AS(p.add_collective({}, StreamKind::kCompute, Phase::kTensorComm, "c", {}), InternalError);
  CHECK(p.size() == 1);
}

TEST_CASE("check_program accepts a sound program", "[program][check]") {
  Program p;
  const TaskId a = p.add_compute(gemm(1), Phase::kForward, "a", {});
  const TaskId b = p.add_collective({CollectiveKind::kAllReduce, GroupKind::kTensor, Bytes(8)},
                                    StreamKind::kTensorComm, Phase::kTensorComm, "ar", Deps{a});
  p.add_compute(gemm(1), Phase::kForward, "c", Deps{b});
  CHECK(check_program(p).empty());
}

TEST_CASE("check_program flags one group kind on two streams", "[program][check][reject]") {
  // The replay numbers a group kind's collectives in arrival order: two streams would race.
  Program p;
  p.add_collective({CollectiveKind::kAllReduce, GroupKind::kData, Bytes(8)}, StreamKind::kDataComm,
                   Phase::kGradientSync, "ar1", {});
  p.add_collective({CollectiveKind::kAllReduce, GroupKind::kData, Bytes(8)}, StreamKind::kTensorComm,
                   Phase::kGradientSync, "ar2", {});
  const auto d = check_program(p);
  REQUIRE(d.size() == 1);
  CHECK(d[0].path == "/tasks/1");
  CHECK(d[0].message ==
        "a data collective on stream 'tensor_comm' while earlier ones use 'data_comm'; expected one stream per group "
        "kind");
}

namespace {

// Stage 0 computes and sends forward (key 1); stage 1 receives, computes and
// sends a gradient back (key 2); stage 0 receives it and computes.
std::vector<Program> two_stage_step() {
  std::vector<Program> ps{Program(0), Program(1)};
  const TaskId f0 = ps[0].add_compute(gemm(1), Phase::kForward, "f", {});
  ps[0].add_send(message(1, 1), StreamKind::kSendForward, Phase::kPipelineComm, "send_fwd", Deps{f0});
  const TaskId r0 = ps[0].add_recv(message(1, 2), StreamKind::kRecvBackward, Phase::kPipelineComm, "recv_bwd", {});
  ps[0].add_compute(gemm(2), Phase::kBackward, "b", Deps{r0});
  const TaskId r1 = ps[1].add_recv(message(0, 1), StreamKind::kRecvForward, Phase::kPipelineComm, "recv_fwd", {});
  ps[1].add_compute(gemm(1), Phase::kForward, "f", Deps{r1});
  const TaskId b1 = ps[1].add_compute(gemm(2), Phase::kBackward, "b", {});
  ps[1].add_send(message(0, 2), StreamKind::kSendBackward, Phase::kPipelineComm, "send_bwd", Deps{b1});
  return ps;
}

}  // namespace

TEST_CASE("check_programs accepts matched transfers without cycles", "[program][check]") {
  const auto ps = two_stage_step();
  CHECK(check_programs(ps).empty());
}

TEST_CASE("check_programs flags unmatched and mismatched transfers", "[program][check][reject]") {
  SECTION("a send nobody receives") {
    auto ps = two_stage_step();
    ps[0].add_send(message(1, 7), StreamKind::kSendForward, Phase::kPipelineComm, "send_fwd", {});
    const auto d = check_programs(ps);
    REQUIRE(d.size() == 1);
    CHECK(d[0].path == "/programs/0/tasks/4");
    CHECK(d[0].message == "sends match_key 7 to stage 1 but no recv there has it; expected exactly one");
  }
  SECTION("a recv nobody sends") {
    auto ps = two_stage_step();
    ps[1].add_recv(message(0, 8), StreamKind::kRecvForward, Phase::kPipelineComm, "recv_fwd", {});
    const auto d = check_programs(ps);
    REQUIRE(d.size() == 1);
    CHECK(d[0].path == "/programs/1/tasks/4");
    CHECK(d[0].message == "receives match_key 8 from stage 0; expected a send with that key there");
  }
  SECTION("a recv on the wrong direction's stream, with the wrong size") {
    auto ps = two_stage_step();
    ps[0].add_send(message(1, 9, 100), StreamKind::kSendForward, Phase::kPipelineComm, "send_fwd", {});
    ps[1].add_recv(message(0, 9, 200), StreamKind::kRecvBackward, Phase::kPipelineComm, "recv_bwd", {});
    const auto d = check_programs(ps);
    REQUIRE(d.size() == 2);
    CHECK(d[0].path == "/programs/1/tasks/4");
    CHECK(d[0].message == "receives 200 B but the send carries 100 B; expected equal sizes");
    CHECK(d[1].message ==
          "receives on 'recv_backward' what stage 0 sends on 'send_forward'; expected 'recv_forward'");
  }
  SECTION("a send to itself") {
    auto ps = two_stage_step();
    ps[0].add_send(message(0, 9), StreamKind::kSendForward, Phase::kPipelineComm, "send_fwd", {});
    const auto d = check_programs(ps);
    REQUIRE(d.size() == 1);
    CHECK(d[0].message == "sends to stage 0; expected another stage in 0..1");
  }
}

TEST_CASE("check_programs flags a channel whose ends disagree on order", "[program][check][reject]") {
  // Stage 0 sends keys 1, 2; stage 1 receives 2, 1: FIFO streams would wait on each other forever.
  std::vector<Program> ps{Program(0), Program(1)};
  ps[0].add_send(message(1, 1), StreamKind::kSendForward, Phase::kPipelineComm, "s", {});
  ps[0].add_send(message(1, 2), StreamKind::kSendForward, Phase::kPipelineComm, "s", {});
  ps[1].add_recv(message(0, 2), StreamKind::kRecvForward, Phase::kPipelineComm, "r", {});
  ps[1].add_recv(message(0, 1), StreamKind::kRecvForward, Phase::kPipelineComm, "r", {});
  const auto d = check_programs(ps);
  REQUIRE(d.size() == 1);
  CHECK(d[0].path == "/programs/0");
  CHECK(d[0].message ==
        "stage 0 sends on 'send_forward' to stage 1 in a different order than that stage receives; expected the "
        "same order at both ends");
}

TEST_CASE("check_programs finds a deadlock through send/recv rendezvous", "[program][check][reject]") {
  // Each stage waits for the other's data before producing its own:
  // recv(A)=send(A) <- compute1 <- recv(B)=send(B) <- compute0 <- recv(A).
  std::vector<Program> ps{Program(0), Program(1)};
  const TaskId r0 = ps[0].add_recv(message(1, 1), StreamKind::kRecvBackward, Phase::kPipelineComm, "r", {});
  const TaskId c0 = ps[0].add_compute(gemm(1), Phase::kForward, "c", Deps{r0});
  ps[0].add_send(message(1, 2), StreamKind::kSendForward, Phase::kPipelineComm, "s", Deps{c0});
  const TaskId r1 = ps[1].add_recv(message(0, 2), StreamKind::kRecvForward, Phase::kPipelineComm, "r", {});
  const TaskId c1 = ps[1].add_compute(gemm(1), Phase::kForward, "c", Deps{r1});
  ps[1].add_send(message(0, 1), StreamKind::kSendBackward, Phase::kPipelineComm, "s", Deps{c1});
  CHECK(check_program(ps[0]).empty());  // each program alone is fine
  const auto d = check_programs(ps);
  REQUIRE(d.size() == 1);
  CHECK(d[0].message ==
        "lies on a cycle of dependencies, stream order and send/recv matching; the step would deadlock");
}

TEST_CASE("a deadlock through stream order alone is found too", "[program][check][reject]") {
  // Stage 1's recv of key 2 heads its kRecvForward stream before the recv of key 1,
  // but stage 0 sends 2 only after receiving 1's answer: stream order closes the cycle.
  std::vector<Program> ps{Program(0), Program(1)};
  ps[0].add_send(message(1, 1), StreamKind::kSendForward, Phase::kPipelineComm, "s", {});
  const TaskId r0 = ps[0].add_recv(message(1, 3), StreamKind::kRecvBackward, Phase::kPipelineComm, "r", {});
  const TaskId c0 = ps[0].add_compute(gemm(1), Phase::kForward, "c", Deps{r0});
  ps[0].add_send(message(1, 2), StreamKind::kSendForward, Phase::kPipelineComm, "s", Deps{c0});
  const TaskId r1 = ps[1].add_recv(message(0, 1), StreamKind::kRecvForward, Phase::kPipelineComm, "r", {});
  ps[1].add_recv(message(0, 2), StreamKind::kRecvForward, Phase::kPipelineComm, "r", {});
  // The answer (key 3) waits for a compute that waits for the recv of key 2.
  const TaskId c1 = ps[1].add_compute(gemm(1), Phase::kForward, "c", Deps{TaskId{1}});
  ps[1].add_send(message(0, 3), StreamKind::kSendBackward, Phase::kPipelineComm, "s", Deps{c1, r1});
  const auto d = check_programs(ps);
  REQUIRE(d.size() == 1);
  CHECK(d[0].message ==
        "lies on a cycle of dependencies, stream order and send/recv matching; the step would deadlock");
}

TEST_CASE("streams and phases have names", "[program]") {
  CHECK(to_string(StreamKind::kCompute) == "compute");
  CHECK(to_string(StreamKind::kRecvBackward) == "recv_backward");
  CHECK(to_string(Phase::kGradientSync) == "gradient_sync");
  CHECK(to_string(Phase::kPipelineComm) == "pipeline_comm");
}
