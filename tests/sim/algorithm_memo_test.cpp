// The replay remembers kAuto's algorithm choice per (group kind, collective
// kind, group, size) (algorithm_memo.hpp). Checked on the shipped scenarios:
// every collective of every stage gets the plan a fresh kAuto evaluation
// gives (same algorithm, same estimated time, same transfers), and replaying
// with the memo gives every task the same times as without it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "dtsim/hardware/op_cost_model.hpp"
#include "dtsim/hardware/topology.hpp"
#include "dtsim/models/lowering.hpp"
#include "dtsim/models/rank_layout.hpp"
#include "dtsim/scenarios/scenario.hpp"
#include "algorithm_memo.hpp"
#include "host_costs.hpp"
#include "replay.hpp"

using namespace dtsim;

namespace {

std::vector<std::filesystem::path> shipped_scenarios() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(DTSIM_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The replay simulate() runs for `spec`, with or without the memo.
sim::ReplayResult replay_of(const sim::SimulationSpec& spec, bool memoize) {
  const std::vector<models::Program> programs = models::lower_to_programs(spec.model, spec.training, spec.plan);
  const models::RankLayout layout(spec.plan);
  const hardware::Topology topology(spec.cluster, spec.calibration);
  const hardware::OpCostModel cost(spec.cluster.node.gpu, spec.calibration);
  sim::ReplayInputs in;
  in.programs = &programs;
  in.layout = &layout;
  in.topology = &topology;
  in.cost = &cost;
  in.collective_params = spec.calibration.collective;
  in.algorithm = hardware::CollectiveAlgorithm::kAuto;
  in.symmetric = spec.options.use_symmetry;
  in.overlap = spec.calibration.overlap;
  const sim::HostCosts host = sim::host_costs(spec);
  in.host_per_launch = host.per_launch;
  in.extra_host_per_gemm = host.extra_per_gemm;
  in.extra_host_per_tp_collective = host.extra_per_tp_collective;
  in.memoize_algorithm = memoize;
  return sim::replay(in);
}

}  // namespace

TEST_CASE("the remembered algorithm plans every shipped collective as kAuto does", "[replay][algorithm]") {
  const scenarios::Catalogs catalogs = scenarios::builtin_catalogs();
  for (const auto& file : shipped_scenarios()) {
    DYNAMIC_SECTION(file.filename().string()) {
      const sim::SimulationSpec spec = scenarios::load_scenario_file(file, catalogs).spec;
      const auto programs = models::lower_to_programs(spec.model, spec.training, spec.plan);
      const models::RankLayout layout(spec.plan);
      const hardware::Topology topology(spec.cluster, spec.calibration);
      const hardware::CollectiveParams& params = spec.calibration.collective;
      sim::AlgorithmMemo memo(topology, params, hardware::CollectiveAlgorithm::kAuto);
      std::size_t collectives = 0, compared = 0, mismatches = 0;
      // Calls per collective shape: the first evaluates, the second is answered
      // from the memo and compared with a fresh evaluation, later ones repeat it.
      std::map<std::tuple<int, int, int, std::int64_t>, int> calls;
      // Each stage's representative rank (tp = dp = 0), as the symmetric replay runs it.
      for (int stage = 0; stage < layout.num_classes(); ++stage) {
        const int rank = layout.rank_of({0, 0, stage});
        const models::Program& p = programs[static_cast<std::size_t>(stage)];
        for (const models::Task& t : p.tasks()) {
          if (t.kind != models::TaskKind::kCollective) continue;
          const models::CollectiveOp& op = p.collective(t);
          const std::vector<int> group = layout.group_of(op.group, rank);
          if (group.size() <= 1) continue;
          ++collectives;
          const int n = ++calls[std::make_tuple(static_cast<int>(op.group), static_cast<int>(op.kind), group.front(),
                                                op.bytes.count())];
          if (n == 1) memo.plan(op, group);
          if (n != 2) continue;
          ++compared;
          const hardware::CollectivePlan fresh = hardware::plan_collective(
              op.kind, group, op.bytes, topology, params, hardware::CollectiveAlgorithm::kAuto);
          const hardware::CollectivePlan kept = memo.plan(op, group);
          bool same = kept.algorithm == fresh.algorithm && kept.stages.size() == fresh.stages.size() &&
                      hardware::estimate_plan(kept, topology) == hardware::estimate_plan(fresh, topology);
          for (std::size_t i = 0; same && i < kept.stages.size(); ++i) {
            const auto& a = kept.stages[i];
            const auto& b = fresh.stages[i];
            same = a.latency == b.latency && a.transfers.size() == b.transfers.size();
            for (std::size_t j = 0; same && j < a.transfers.size(); ++j) {
              same = a.transfers[j].src == b.transfers[j].src && a.transfers[j].dst == b.transfers[j].dst &&
                     a.transfers[j].bytes == b.transfers[j].bytes;
            }
          }
          mismatches += same ? 0 : 1;
        }
      }
      CHECK(mismatches == 0);
      CHECK(compared > 0);
      // One evaluation per distinct collective, not one per call.
      CHECK(memo.evaluations() == calls.size());
      CHECK(memo.evaluations() < collectives);
    }
  }
}

namespace {

// Replaying the dense shipped scenarios twice is quick; those with expert
// parallelism replay all-to-alls of thousands of flows (a minute or more
// each), so they are checked by hand: test_sim_scenarios "[.slow]".
void check_replay_unchanged(bool include_expert_parallel) {
  const scenarios::Catalogs catalogs = scenarios::builtin_catalogs();
  for (const auto& file : shipped_scenarios()) {
    const scenarios::Scenario s = scenarios::load_scenario_file(file, catalogs);
    const bool expert_parallel = models::RankLayout(s.spec.plan).group_size(models::GroupKind::kExpert) > 1;
    if (expert_parallel != include_expert_parallel) continue;
    INFO(file.filename().string());
    const sim::ReplayResult fresh = replay_of(s.spec, false);
    const sim::ReplayResult memo = replay_of(s.spec, true);
    CHECK(memo.makespan == fresh.makespan);
    CHECK(memo.events == fresh.events);
    REQUIRE(memo.ranks.size() == fresh.ranks.size());
    std::size_t differing = 0;
    for (std::size_t i = 0; i < memo.ranks.size(); ++i) {
      const sim::RankTrace& a = memo.ranks[i];
      const sim::RankTrace& b = fresh.ranks[i];
      differing += a.start != b.start || a.end != b.end || a.rendezvous != b.rendezvous ? 1 : 0;
    }
    CHECK(differing == 0);
    CHECK(memo.algorithm_choices < fresh.algorithm_choices);
  }
}

}  // namespace

TEST_CASE("remembering kAuto's choice changes no task's time on the dense shipped scenarios", "[replay][algorithm]") {
  check_replay_unchanged(false);
}

TEST_CASE("remembering kAuto's choice changes no task's time on the expert-parallel scenarios",
          "[replay][algorithm][.slow]") {
  check_replay_unchanged(true);
}
