// Decomposes a collective over a group of GPUs into transfers across the
// topology, by algorithm. A plan is a sequence of stages; the transfers of one
// stage run concurrently (and share links with everything else in flight, in
// the replay's flow network); a stage starts when the previous one finished
// and its latency has elapsed.
//
// Ring algorithms are modelled pipelined, as NCCL runs them: every ring edge
// carries its whole share at once (e.g. all-reduce: 2(p-1)/p * S per edge)
// plus 2(p-1) hop latencies. Hierarchical all-reduce over several nodes is
// reduce-scatter inside each node, ring all-reduce of S/g across nodes on g
// parallel rails, then all-gather inside each node.
//
// Byte convention: see models/program.hpp (nccl-tests "S").
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/core/work.hpp"
#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/topology.hpp"

namespace dtsim::hardware {

enum class CollectiveAlgorithm : std::uint8_t { kAuto, kRing, kTree, kHierarchical, kDirect };
std::string_view to_string(CollectiveAlgorithm a);

struct Transfer {
  int src = 0;  // GPU index
  int dst = 0;
  double bytes = 0.0;
};

struct CollectiveStage {
  std::vector<Transfer> transfers;
  Duration latency;  // fixed cost of the stage (hops x per-hop latency, + base for the first)
};

struct CollectivePlan {
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::kRing;
  std::vector<CollectiveStage> stages;
};

// `gpus` are the group's members in rank order (size >= 1; size 1 gives an
// empty plan). kAuto picks the algorithm with the lowest contention-free
// estimate (like NCCL's tuner).
CollectivePlan plan_collective(CollectiveKind kind, std::span<const int> gpus, Bytes bytes, const Topology& topology,
                               const CollectiveParams& params, CollectiveAlgorithm algorithm);

// Contention-free closed-form time of a plan: per stage, latency + the largest
// transfer divided by its bottleneck link capacity shared among the stage's
// own transfers on that link.
Duration estimate_plan(const CollectivePlan& plan, const Topology& topology);

}  // namespace dtsim::hardware
