// Collective algorithms as stages of point-to-point transfers. The formulas
// are stated in collective_plan.hpp; comments here say why the code is shaped
// the way it is.
#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/hardware/collective_curve.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "dtsim/core/error.hpp"

namespace dtsim::hardware {

std::string_view to_string(CollectiveAlgorithm a) {
  switch (a) {
    case CollectiveAlgorithm::kAuto:
      return "auto";
    case CollectiveAlgorithm::kRing:
      return "ring";
    case CollectiveAlgorithm::kTree:
      return "tree";
    case CollectiveAlgorithm::kHierarchical:
      return "hierarchical";
    case CollectiveAlgorithm::kDirect:
      return "direct";
  }
  return "?";
}

namespace {

// The group seen node by node.
struct GroupShape {
  std::vector<std::vector<int>> by_node;  // members per node, nodes in order of first appearance
  int g = 0;                              // members per node when uniform, else 0

  int nodes() const { return static_cast<int>(by_node.size()); }
  bool multi_node_uniform(int min_g) const { return nodes() > 1 && g >= min_g; }
};

GroupShape shape_of(std::span<const int> gpus, const Topology& topo) {
  GroupShape s;
  std::unordered_map<int, std::size_t> index;
  for (const int gpu : gpus) {
    const auto [it, fresh] = index.try_emplace(topo.node_of(gpu), s.by_node.size());
    if (fresh) s.by_node.emplace_back();
    s.by_node[it->second].push_back(gpu);
  }
  s.g = static_cast<int>(s.by_node.front().size());
  for (const auto& members : s.by_node) {
    if (static_cast<int>(members.size()) != s.g) s.g = 0;
  }
  return s;
}

// Collects one stage's transfers. Plans never hold two transfers with the
// same (src, dst) (the flow network would share links the same way, but twice
// the flows cost twice the work): every pattern below is duplicate-free by
// construction, merging repeated pairs itself where it has them. Order is
// insertion order, so plans are deterministic.
class StageBuilder {
 public:
  void reserve(std::size_t transfers) { stage_.transfers.reserve(transfers); }
  void add(int src, int dst, double bytes) { stage_.transfers.push_back(Transfer{src, dst, bytes}); }
  // Edges of a ring over `ring` (wrapping around), each carrying `bytes`.
  // The n edges of a ring of n >= 2 distinct members are distinct.
  void add_ring(const std::vector<int>& ring, double bytes) {
    const std::size_t n = ring.size();
    if (n < 2) return;
    for (std::size_t i = 0; i < n; ++i) add(ring[i], ring[(i + 1) % n], bytes);
  }
  CollectiveStage finish(Duration latency) {
    stage_.latency = latency;
    return std::move(stage_);
  }

 private:
  CollectiveStage stage_;
};

// Latency of `steps` algorithm steps of which `inter` cross the network.
Duration hops(std::int64_t steps, std::int64_t inter, Duration intra_lat, Duration inter_lat) {
  return intra_lat * (steps - inter) + inter_lat * inter;
}

int ring_crossings(const std::vector<int>& ring, const Topology& topo, bool wrap) {
  int c = 0;
  const std::size_t n = ring.size();
  const std::size_t edges = wrap ? n : n - 1;
  for (std::size_t i = 0; i < edges; ++i) c += topo.node_of(ring[i]) != topo.node_of(ring[(i + 1) % n]) ? 1 : 0;
  return c;
}

struct Context {
  CollectiveKind kind;
  std::span<const int> gpus;
  double bytes;
  const Topology& topo;
  const CollectiveParams& params;
  const GroupShape& shape;
  int p() const { return static_cast<int>(gpus.size()); }
};

// Ring all-reduce / all-gather / reduce-scatter, channelized on uniform
// multi-node groups (see the header).
CollectivePlan ring_plan(const Context& c) {
  const int p = c.p();
  const bool ar = c.kind == CollectiveKind::kAllReduce;
  const int passes = ar ? 2 : 1;
  const double share = static_cast<double>(passes) * (p - 1) / p;  // of S, per ring edge
  StageBuilder sb;
  int crossings = 0;
  if (c.shape.multi_node_uniform(2)) {
    const int g = c.shape.g;
    const int n_nodes = c.shape.nodes();
    // Channel k enters node 0 at local index k. Even nodes are walked upward
    // (leaving one index below the entry), odd nodes downward (leaving one
    // above), and the next node is entered at the index just left, so every
    // inter-node edge joins equal local indices, i.e. stays on one rail (the
    // wrap-around too when N is even). Inside a node the g channels enter at
    // g different indices, so each of the node's g cyclic edges (x -> x+1 on
    // even nodes, x -> x-1 on odd ones) is used by all channels but the one
    // leaving from x: g-1 channels. Those merged edges are emitted directly.
    const double per_channel = share * c.bytes / g;
    sb.reserve(static_cast<std::size_t>(2 * p));
    for (int n = 0; n < n_nodes; ++n) {
      const int step = n % 2 == 0 ? 1 : g - 1;  // +1 or -1 modulo g
      const auto& m = c.shape.by_node[static_cast<std::size_t>(n)];
      for (int x = 0; x < g; ++x) {
        sb.add(m[static_cast<std::size_t>(x)], m[static_cast<std::size_t>((x + step) % g)], (g - 1) * per_channel);
      }
    }
    for (int k = 0; k < g; ++k) {
      int entry = k;
      for (int n = 0; n < n_nodes; ++n) {
        const int step = n % 2 == 0 ? 1 : g - 1;
        const int exit = (entry + (g - 1) * step) % g;
        const int next_entry = n + 1 < n_nodes ? exit : k;
        const auto& from = c.shape.by_node[static_cast<std::size_t>(n)];
        const auto& to = c.shape.by_node[static_cast<std::size_t>((n + 1) % n_nodes)];
        sb.add(from[static_cast<std::size_t>(exit)], to[static_cast<std::size_t>(next_entry)], per_channel);
        entry = exit;
      }
    }
    crossings = n_nodes;  // per channel
  } else {
    const std::vector<int> ring(c.gpus.begin(), c.gpus.end());
    sb.add_ring(ring, share * c.bytes);
    crossings = ring_crossings(ring, c.topo, true);
  }
  const std::int64_t steps = static_cast<std::int64_t>(passes) * (p - 1);
  const std::int64_t inter = static_cast<std::int64_t>(passes) * std::max(crossings - 1, 0);
  CollectivePlan plan;
  plan.algorithm = CollectiveAlgorithm::kRing;
  plan.stages.push_back(
      sb.finish(c.params.base_latency + hops(steps, inter, c.params.intra_hop_latency, c.params.inter_hop_latency)));
  return plan;
}

// Broadcast: a pipelined chain from the root in group order.
CollectivePlan chain_broadcast_plan(const Context& c) {
  StageBuilder sb;
  const std::vector<int> chain(c.gpus.begin(), c.gpus.end());
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) sb.add(chain[i], chain[i + 1], c.bytes);
  const int inter = ring_crossings(chain, c.topo, false);
  CollectivePlan plan;
  plan.algorithm = CollectiveAlgorithm::kRing;
  plan.stages.push_back(sb.finish(c.params.base_latency +
                                  hops(c.p() - 1, inter, c.params.intra_hop_latency, c.params.inter_hop_latency)));
  return plan;
}

// NCCL-style double binary tree all-reduce over nodes with intra-node chains.
CollectivePlan tree_plan(const Context& c) {
  const int g = c.shape.g;
  const int n_nodes = c.shape.nodes();
  const double per_channel = c.bytes / g;
  StageBuilder sb;
  // Chains: channel k walks each node from local index k (its head) upward;
  // reduction flows toward the head (x+1 -> x) and the result back (x -> x+1),
  // S/g per edge each way in all (both trees use the chain). A chain is a path
  // of g-1 of the node's g cyclic edges, and the g channels start at g
  // different heads, so each cyclic edge, in each direction, is used by g-1
  // channels: (g-1) S/g. With g = 2 the two directions are the same pair of
  // edges: S each. One member per node: no chain.
  sb.reserve(static_cast<std::size_t>(2 * g * n_nodes + 4 * g * (n_nodes - 1)));
  for (const auto& m : c.shape.by_node) {
    if (g == 2) {
      sb.add(m[0], m[1], c.bytes);
      sb.add(m[1], m[0], c.bytes);
    } else if (g > 2) {
      for (int x = 0; x < g; ++x) {
        const int next = (x + 1) % g;
        sb.add(m[static_cast<std::size_t>(next)], m[static_cast<std::size_t>(x)], (g - 1) * per_channel);
        sb.add(m[static_cast<std::size_t>(x)], m[static_cast<std::size_t>(next)], (g - 1) * per_channel);
      }
    }
  }
  // Two complementary binary trees over the nodes, each carrying half of a
  // channel between the nodes' heads (local index k for channel k). The trees
  // can share an edge, so the node-level edges are merged first (bytes in
  // units of half a channel), then laid out once per channel.
  std::vector<std::pair<std::pair<int, int>, int>> node_edges;  // (from, to) -> halves
  std::unordered_map<std::uint64_t, std::size_t> index;
  const auto link_nodes = [&](int from, int to) {
    const std::uint64_t key =
        (static_cast<std::uint64_t>(static_cast<std::uint32_t>(from)) << 32) | static_cast<std::uint32_t>(to);
    const auto [it, fresh] = index.try_emplace(key, node_edges.size());
    if (fresh) {
      node_edges.push_back({{from, to}, 1});
    } else {
      ++node_edges[it->second].second;
    }
  };
  for (int tree = 0; tree < 2; ++tree) {
    for (int i = 1; i < n_nodes; ++i) {
      const int child = tree == 0 ? i : n_nodes - 1 - i;
      const int parent = tree == 0 ? (i - 1) / 2 : n_nodes - 1 - (i - 1) / 2;
      link_nodes(child, parent);  // reduction up the tree
      link_nodes(parent, child);  // result down
    }
  }
  for (int k = 0; k < g; ++k) {
    for (const auto& [ends, halves] : node_edges) {
      const auto head = [&](int node) {
        return c.shape.by_node[static_cast<std::size_t>(node)][static_cast<std::size_t>(k)];
      };
      sb.add(head(ends.first), head(ends.second), halves * per_channel / 2);
    }
  }
  const auto depth = static_cast<std::int64_t>(std::bit_width(static_cast<unsigned>(n_nodes)) - 1);  // floor(log2 N)
  const Duration latency =
      c.params.base_latency + 2 * (c.params.tree_intra() * (g - 1) + c.params.tree_inter() * depth);
  CollectivePlan plan;
  plan.algorithm = CollectiveAlgorithm::kTree;
  plan.stages.push_back(sb.finish(latency));
  return plan;
}

// Hierarchical: intra-node rings and inter-node rings on rails, as stages.
CollectivePlan hierarchical_plan(const Context& c) {
  const int g = c.shape.g;
  const int n_nodes = c.shape.nodes();
  const CollectiveParams& pr = c.params;
  const auto intra_stage = [&](double per_edge, Duration latency) {
    StageBuilder sb;
    for (const auto& members : c.shape.by_node) sb.add_ring(members, per_edge);
    return sb.finish(latency);
  };
  const auto inter_stage = [&](double per_edge, Duration latency) {
    StageBuilder sb;
    std::vector<int> rail(static_cast<std::size_t>(n_nodes));
    for (int k = 0; k < g; ++k) {
      for (int n = 0; n < n_nodes; ++n)
        rail[static_cast<std::size_t>(n)] = c.shape.by_node[static_cast<std::size_t>(n)][static_cast<std::size_t>(k)];
      sb.add_ring(rail, per_edge);
    }
    return sb.finish(latency);
  };
  const double s = c.bytes;
  const double intra_share = static_cast<double>(g - 1) / g * s;  // RS or AG of S over g
  const double rail_bytes = s / g;                                // each rail's part
  const double inter_ag_share = static_cast<double>(n_nodes - 1) / n_nodes * rail_bytes;
  const Duration intra_lat = pr.intra_hop_latency * (g - 1);
  CollectivePlan plan;
  plan.algorithm = CollectiveAlgorithm::kHierarchical;
  switch (c.kind) {
    case CollectiveKind::kAllReduce:
      plan.stages.push_back(intra_stage(intra_share, pr.base_latency + intra_lat));
      plan.stages.push_back(inter_stage(2 * inter_ag_share, pr.inter_hop_latency * (2 * (n_nodes - 1))));
      plan.stages.push_back(intra_stage(intra_share, intra_lat));
      break;
    case CollectiveKind::kAllGather:
      plan.stages.push_back(inter_stage(inter_ag_share, pr.base_latency + pr.inter_hop_latency * (n_nodes - 1)));
      plan.stages.push_back(intra_stage(intra_share, intra_lat));
      break;
    case CollectiveKind::kReduceScatter:
      plan.stages.push_back(intra_stage(intra_share, pr.base_latency + intra_lat));
      plan.stages.push_back(inter_stage(inter_ag_share, pr.inter_hop_latency * (n_nodes - 1)));
      break;
    default:
      DTSIM_UNREACHABLE("hierarchical plan for a kind it does not apply to");
  }
  return plan;
}

// Rail-aligned all-to-all (NCCL's PXN, DeepEP's forwarding): a chunk for a
// member on another node crosses the network only between members of equal
// local index and moves between rails over NVLink inside a node. Both legs
// run at once, as the implementations pipeline them chunk by chunk, so this
// is one stage: (a, i) -> (a, j) carries everything (a, i) sends to local
// index j on any node, N chunks; (a, j) -> (b, j) carries what node a's g
// members send to (b, j), g chunks. Per GPU: (g-1)/g S over NVLink and
// (N-1)/N S over its NIC, none of it across rails.
CollectivePlan rail_all_to_all_plan(const Context& c) {
  const int g = c.shape.g;
  const int n_nodes = c.shape.nodes();
  const double chunk = c.bytes / c.p();
  StageBuilder sb;
  sb.reserve(static_cast<std::size_t>(n_nodes) * g * (g - 1 + n_nodes - 1));
  for (int a = 0; a < n_nodes; ++a) {
    const auto& node = c.shape.by_node[static_cast<std::size_t>(a)];
    for (int i = 0; i < g; ++i) {
      for (int j = 0; j < g; ++j) {
        if (i != j) sb.add(node[static_cast<std::size_t>(i)], node[static_cast<std::size_t>(j)], chunk * n_nodes);
      }
      for (int b = 0; b < n_nodes; ++b) {
        if (b != a) sb.add(node[static_cast<std::size_t>(i)], c.shape.by_node[static_cast<std::size_t>(b)][static_cast<std::size_t>(i)], chunk * g);
      }
    }
  }
  CollectivePlan plan;
  plan.algorithm = CollectiveAlgorithm::kHierarchical;
  plan.stages.push_back(sb.finish(c.params.base_latency + c.params.intra_hop_latency + c.params.inter_hop_latency));
  return plan;
}

CollectivePlan direct_plan(const Context& c) {
  StageBuilder sb;
  const int p = c.p();
  if (c.kind == CollectiveKind::kSendRecv) {
    sb.add(c.gpus[0], c.gpus[1], c.bytes);
  } else {
    const double chunk = c.bytes / p;
    for (int i = 0; i < p; ++i) {
      for (int j = 0; j < p; ++j) {
        if (i != j) sb.add(c.gpus[static_cast<std::size_t>(i)], c.gpus[static_cast<std::size_t>(j)], chunk);
      }
    }
  }
  const Duration hop = c.shape.nodes() > 1 ? c.params.inter_hop_latency : c.params.intra_hop_latency;
  CollectivePlan plan;
  plan.algorithm = CollectiveAlgorithm::kDirect;
  plan.stages.push_back(sb.finish(c.params.base_latency + hop));
  return plan;
}

bool applies(CollectiveAlgorithm a, const Context& c) {
  const CollectiveKind k = c.kind;
  const bool reducing_or_gathering =
      k == CollectiveKind::kAllReduce || k == CollectiveKind::kAllGather || k == CollectiveKind::kReduceScatter;
  switch (a) {
    case CollectiveAlgorithm::kRing:
      return reducing_or_gathering || k == CollectiveKind::kBroadcast;
    case CollectiveAlgorithm::kTree:
      return k == CollectiveKind::kAllReduce && c.shape.multi_node_uniform(1);
    case CollectiveAlgorithm::kHierarchical:
      return (reducing_or_gathering || k == CollectiveKind::kAllToAll) && c.shape.multi_node_uniform(2);
    case CollectiveAlgorithm::kDirect:
      return k == CollectiveKind::kAllToAll || k == CollectiveKind::kSendRecv;
    case CollectiveAlgorithm::kAuto:
      return false;
  }
  return false;
}

CollectivePlan build(CollectiveAlgorithm a, const Context& c) {
  switch (a) {
    case CollectiveAlgorithm::kRing:
      return c.kind == CollectiveKind::kBroadcast ? chain_broadcast_plan(c) : ring_plan(c);
    case CollectiveAlgorithm::kTree:
      return tree_plan(c);
    case CollectiveAlgorithm::kHierarchical:
      return c.kind == CollectiveKind::kAllToAll ? rail_all_to_all_plan(c) : hierarchical_plan(c);
    case CollectiveAlgorithm::kDirect:
      return direct_plan(c);
    case CollectiveAlgorithm::kAuto:
      break;
  }
  DTSIM_UNREACHABLE("no builder for this algorithm");
  return {};
}

CollectiveAlgorithm default_algorithm(CollectiveKind k) {
  return k == CollectiveKind::kAllToAll || k == CollectiveKind::kSendRecv ? CollectiveAlgorithm::kDirect
                                                                          : CollectiveAlgorithm::kRing;
}

void check_group(CollectiveKind kind, std::span<const int> gpus, Bytes bytes, const Topology& topo) {
  const std::string what = std::string(to_string(kind));
  if (gpus.empty()) throw InputError("", what + ": the group has no GPUs");
  if (bytes < Bytes(0)) throw InputError("", what + ": negative size " + std::to_string(bytes.count()) + " B");
  for (const int g : gpus) {
    if (g < 0 || g >= topo.num_gpus()) {
      throw InputError("", what + ": GPU " + std::to_string(g) + " is outside the cluster's " +
                               std::to_string(topo.num_gpus()) + " GPUs");
    }
  }
  if (kind == CollectiveKind::kSendRecv && gpus.size() != 2) {
    throw InputError("", "send_recv: the group must be {src, dst}, got " + std::to_string(gpus.size()) + " GPUs");
  }
  if (kind == CollectiveKind::kSendRecv) return;  // src == dst is a local copy, allowed
  std::vector<int> sorted(gpus.begin(), gpus.end());
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup != sorted.end()) throw InputError("", what + ": GPU " + std::to_string(*dup) + " appears twice in the group");
}

}  // namespace

CollectivePlan plan_collective(CollectiveKind kind, std::span<const int> gpus, Bytes bytes, const Topology& topology,
                               const CollectiveParams& params, CollectiveAlgorithm algorithm) {
  check_group(kind, gpus, bytes, topology);
  if (gpus.size() == 1) {
    CollectivePlan empty;
    empty.algorithm = algorithm == CollectiveAlgorithm::kAuto ? default_algorithm(kind) : algorithm;
    return empty;
  }
  const GroupShape shape = shape_of(gpus, topology);
  // A fitted calibration's measured bandwidth inside one node: the transfers
  // carry bytes / factor (collective_curve.hpp); 1 without curves.
  const double factor =
      shape.nodes() == 1 ? collective_curve_factor(params, kind, static_cast<int>(gpus.size()), bytes) : 1.0;
  const Context ctx{kind, gpus, bytes.as_double() / factor, topology, params, shape};
  if (algorithm != CollectiveAlgorithm::kAuto) {
    return build(applies(algorithm, ctx) ? algorithm : default_algorithm(kind), ctx);
  }
  // Like NCCL's tuner: every applicable algorithm, the fastest wins; the
  // default comes first so that it wins ties.
  const CollectiveAlgorithm first = default_algorithm(kind);
  std::vector<CollectiveAlgorithm> others;
  for (const CollectiveAlgorithm a : {CollectiveAlgorithm::kRing, CollectiveAlgorithm::kTree,
                                      CollectiveAlgorithm::kHierarchical, CollectiveAlgorithm::kDirect}) {
    if (a != first && applies(a, ctx)) others.push_back(a);
  }
  CollectivePlan best = build(first, ctx);
  if (others.empty()) return best;  // nothing to compare: skip the estimate
  Duration best_time = estimate_plan(best, topology);
  for (const CollectiveAlgorithm a : others) {
    CollectivePlan candidate = build(a, ctx);
    const Duration t = estimate_plan(candidate, topology);
    if (t < best_time) {
      best = std::move(candidate);
      best_time = t;
    }
  }
  return best;
}

Duration estimate_plan(const CollectivePlan& plan, const Topology& topology) {
  // Bytes per link of one stage. Large stages index a dense array by link id
  // (touching every link of a 16K-GPU cluster is cheaper than hashing
  // millions of hops); small ones, the common case of a TP group, use a map.
  std::size_t max_transfers = 0;
  for (const CollectiveStage& stage : plan.stages) max_transfers = std::max(max_transfers, stage.transfers.size());
  const bool dense = max_transfers * 4 > topology.num_links() / 8;
  std::vector<double> dense_load(dense ? topology.num_links() : 0, 0.0);
  std::vector<LinkId> touched;
  std::unordered_map<LinkId, double> sparse_load;
  std::vector<LinkId> path;
  Duration total = Duration::zero();
  for (const CollectiveStage& stage : plan.stages) {
    for (const Transfer& t : stage.transfers) {
      if (t.src == t.dst || t.bytes <= 0.0) continue;
      path.clear();
      topology.route(t.src, t.dst, path);
      for (const LinkId l : path) {
        if (dense) {
          if (dense_load[l] == 0.0) touched.push_back(l);
          dense_load[l] += t.bytes;
        } else {
          sparse_load[l] += t.bytes;
        }
      }
    }
    double seconds = 0.0;
    const auto busiest = [&](LinkId l, double bytes) {
      seconds = std::max(seconds, bytes / topology.link(l).capacity.bytes_per_second());
    };
    for (const LinkId l : touched) {
      busiest(l, dense_load[l]);
      dense_load[l] = 0.0;
    }
    for (const auto& [l, bytes] : sparse_load) busiest(l, bytes);
    touched.clear();
    sparse_load.clear();
    total += stage.latency + seconds_to_duration(seconds);
  }
  return total;
}

}  // namespace dtsim::hardware
