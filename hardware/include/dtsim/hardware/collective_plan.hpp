// Decomposes a collective over a group of GPUs into transfers across the
// topology, by algorithm. A plan is a sequence of stages; the transfers of one
// stage run concurrently (and share links with everything else in flight, in
// the replay's flow network); a stage starts when the previous one finished
// and its latency has elapsed.
//
// Notation: p members, S bytes (nccl-tests convention, models/program.hpp),
// the group spans N nodes; "uniform" means every one of those nodes holds the
// same number g of members. Members of a node keep their group order; nodes
// are ordered by first appearance. alpha = base_latency, a_i / a_e = the
// intra-node (NVLink) / inter-node (network) hop latency.
//
// Ring (all-reduce, all-gather, reduce-scatter; NCCL's pipelined rings): every
// ring edge carries its whole share at once: all-reduce 2(p-1)/p * S,
// AG/RS (p-1)/p * S. Latency (NCCL's ring formula, reference §4): alpha +
// (steps - x) a_i + x a_e with steps = 2(p-1) (AR) or p-1 (AG/RS) and x =
// passes * (c - 1) network steps, c = ring edges that cross nodes (x = 0 in a
// node). One ring in group order, except on a uniform group with N > 1 and
// g > 1: then g rings ("channels", as NCCL runs one per NIC), each carrying
// S/g. Channel k enters node 0 at local index k; it walks an even node's
// members upward (entry, entry+1, ..., leaving at entry-1) and an odd node's
// downward (leaving at entry+1), and enters the next node at the local index
// it left from. Inter-node edges thus join members of equal local index (one
// rail, as NCCL keeps rings on a NIC's rail; the wrap-around edge too when N
// is even), and each NIC carries one channel: 2(p-1)/p * S/g for all-reduce.
// Broadcast (ring): a pipelined chain from gpus[0] in group order, S per edge,
// latency alpha + p-1 hops.
//
// Tree (all-reduce over N > 1 nodes, uniform groups; NCCL's double binary
// tree): g channels of S/g. Channel k chains each node's members starting at
// local index k (the node's head); reduction flows down the chain to the head
// and the result back up (S/g per chain edge each way). The heads of channel k
// form two binary trees over the nodes, each carrying half the channel:
// tree 0 with node i's parent (i-1)/2, tree 1 its mirror (i -> N-1-i), S/(2g)
// each way per tree edge. Per rank ~2S/g crosses its NIC (NCCL: algBw =
// busBw / 2); latency alpha + 2((g-1) t_i + floor(log2 N) t_e) with the
// tree's hop latencies. Within one node NCCL's tree is a chain with less
// bandwidth than the ring (reference §4: x7/9), so it is not offered there.
//
// Hierarchical (N > 1, uniform, g > 1): all-reduce = reduce-scatter inside
// each node (ring of its g members, (g-1)/g * S per edge, alpha + (g-1) a_i),
// then all-reduce of S/g across nodes on g parallel rails (ring of the members
// of equal local index, 2(N-1)/N * S/g per edge, 2(N-1) a_e), then all-gather
// inside each node ((g-1)/g * S, (g-1) a_i). All-gather: inter-node AG of S/g
// on the rails, then intra AG; reduce-scatter: intra RS, then inter RS.
//
// Hierarchical all-to-all (N > 1, uniform, g > 1; NCCL's PXN, DeepEP): rail-
// aligned forwarding in one pipelined stage. Member (a, i) sends N S/p to
// each (a, j), j != i, over NVLink (everything for local index j on any
// node), and (a, i) sends g S/p to each (b, i), b != a, over the network (what
// node a holds for (b, i)); no traffic crosses rails. Latency alpha + a_i +
// a_e. Per GPU: (g-1)/g S on NVLink, (N-1)/N S on its NIC.
//
// Direct: all-to-all sends S/p from every member to every other (S = bytes
// each rank sends in total; O(p^2) transfers), latency alpha + one hop (a_e
// if the group spans nodes); send/recv (gpus = {src, dst}) one transfer of S,
// latency alpha + one hop.
//
// An algorithm that does not apply (tree for all-gather, hierarchical inside
// one node, ...) falls back to the kind's default: direct for all-to-all and
// send/recv, ring for the others. The returned plan names the algorithm used.
// kAuto evaluates every applicable algorithm with estimate_plan and takes the
// fastest; ties go to ring. Transfer endpoints depend only on the group, kind
// and algorithm, never on S.
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
// estimate (like NCCL's tuner). Throws InputError for an empty group, a GPU
// index outside the topology, a GPU listed twice, negative bytes, or a
// send/recv group that is not {src, dst}.
//
// Example:
//   CollectivePlan plan = plan_collective(CollectiveKind::kAllReduce, gpus, 256_MiB,
//                                         topology, calibration.collective, CollectiveAlgorithm::kAuto);
//   Duration t = estimate_plan(plan, topology);
CollectivePlan plan_collective(CollectiveKind kind, std::span<const int> gpus, Bytes bytes, const Topology& topology,
                               const CollectiveParams& params, CollectiveAlgorithm algorithm);

// Contention-free closed-form time of a plan: per stage, latency + the time
// its busiest link needs, max over links of (bytes of the stage's transfers
// crossing it) / capacity; stages summed. For equal transfers this is the
// largest transfer over its bottleneck capacity shared among the stage's
// transfers on that link (max-min fair sharing); ignores other traffic.
Duration estimate_plan(const CollectivePlan& plan, const Topology& topology);

}  // namespace dtsim::hardware
