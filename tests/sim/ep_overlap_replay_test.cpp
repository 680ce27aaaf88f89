// Overlapped expert all-to-alls replayed: at pp = 1 (F0 [F1 B0] [F2 B1] ...
// B(m-1)), when every all-to-all is shorter than the other pass's kernels it
// runs beside, overlap saves exactly the all-to-all time of the paired passes.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "replay.hpp"
#include "toy_machine.hpp"
#include "toy_replay.hpp"

using namespace dtsim;
using namespace dtsim::literals;
using models::GroupKind;
using models::Program;
using models::Task;
using models::TaskKind;

namespace {

// h 256 (8 heads of 32), 8 experts of 512, top-2, 4 layers (the first dense), 4096-token
// micro-batches: every kernel moves megabytes (microseconds at 1 TB/s).
models::ModelSpec moe_model() {
  models::ModelSpec m;
  m.name = "toy-moe";
  m.num_layers = 4;
  m.hidden = 256;
  m.num_heads = 8;
  m.num_kv_heads = 8;
  m.head_dim = 32;
  m.ffn_hidden = 1024;
  m.vocab_size = 4096;
  m.max_seq_len = 4096;
  m.moe.num_experts = 8;
  m.moe.top_k = 2;
  m.moe.expert_ffn_hidden = 512;
  m.moe.first_dense_layers = 1;
  return m;
}

struct Run {
  Duration makespan;
  Duration paired_all_to_all;  // all-to-all time of F1..F(m-1) and B0..B(m-2)
};

Run run(bool overlap, std::int64_t m) {
  models::TrainingSpec t;
  t.seq_len = 4096;
  t.micro_batch = 1;
  t.global_batch = 2 * m;
  models::ParallelPlan p;
  p.dp = 2;
  p.ep = 2;
  p.ep_comm_overlap = overlap;
  const auto programs = models::lower_to_programs(moe_model(), t, p);
  // NVLink at 10 TB/s: a 4 MiB all-to-all (4096 tokens x 2 x 256 x 2 bytes)
  // takes ~0.2 us, shorter than any kernel run beside it.
  hardware::ClusterSpec cluster = testing::toy_cluster(2, 1);
  cluster.node.nvlink_bandwidth = Bandwidth::bytes_per_second(1e13);
  const auto r = testing::replay_programs(programs, p, cluster, testing::ideal_calibration(),
                                          hardware::CollectiveAlgorithm::kRing, false);
  Run out;
  out.makespan = r.makespan - TimePoint{};
  const Program& prog = programs[0];
  const auto& trace = r.ranks[0];
  for (std::size_t i = 0; i < prog.tasks().size(); ++i) {
    const Task& task = prog.tasks()[i];
    if (task.kind != TaskKind::kCollective || prog.collective(task).group != GroupKind::kExpert) continue;
    const bool backward = prog.label(task).ends_with("_bwd");
    const bool paired = backward ? task.microbatch < m - 1 : task.microbatch > 0;
    if (paired) out.paired_all_to_all += trace.end[i] - trace.rendezvous[i];
  }
  return out;
}

}  // namespace

TEST_CASE("overlap at pp = 1 hides the paired passes' all-to-alls exactly", "[replay][ep_overlap]") {
  for (const std::int64_t m : {2, 4}) {
    const Run seq = run(false, m);
    const Run ovl = run(true, m);
    INFO("m = " << m);
    // 3 MoE layers x 4 all-to-alls per F+B, (m - 1) pairs.
    REQUIRE(seq.paired_all_to_all > Duration::zero());
    CHECK((seq.makespan - ovl.makespan).seconds() ==
          Approx(seq.paired_all_to_all.seconds()).epsilon(1e-6));
  }
}
