// The cluster as a graph of directed links: GPU <-> NVSwitch inside a node,
// GPU (NIC) <-> leaf, leaf <-> spine, spine <-> core for the fat tree. Each
// physical full-duplex link is two directed links. Capacities are effective
// (raw bandwidth x the calibration's efficiency for the link class).
//
// Model (h = switch_radix / 2, o = oversubscription, K = nics_per_node):
//  - Inside a node (gpus_per_node > 1) every GPU has an up and a down link to
//    the node's one NVSwitch vertex: nvlink_bandwidth x nvlink_efficiency,
//    latency nvlink_latency / 2 each, so GPU to GPU costs nvlink_latency.
//  - Each NIC is a link pair to its leaf: nic_bandwidth x network_efficiency.
//    With one NIC per GPU the pair starts at the GPU; with fewer, NIC i serves
//    GPUs g with g*K/gpus_per_node == i and the pair starts at a NIC vertex
//    that those GPUs reach over PCIe, which is not modelled as a bottleneck.
//  - Tier 1 (leaves). Rail-optimized: a scalable unit (SU) is h consecutive
//    nodes and leaf (su, rail) = su*K + rail takes NIC `rail` of every node of
//    the SU. Otherwise leaf j takes the h consecutive NIC ports j*h ... j*h+h-1
//    (node-major: port = node*K + nic).
//  - Tier t+1 aggregates h consecutive tier-t vertices (leaves into pods under
//    one spine vertex, pods under one core vertex, ...). Each vertex stands for
//    a group of switches with ideal ECMP, so the links between tiers are
//    trunks: a vertex's up trunk (and its down trunk) has capacity = the
//    capacity below it / o, where below a leaf are its attached NICs and
//    below a higher vertex the up trunks of its children.
//  - Tiers: 0 for a single node (no fabric); otherwise the fewest t such that
//    tier t has one vertex (one leaf joins everything, one spine, ...).
//    Rail-optimized leaves never join two rails, so K > 1 needs 2 tiers or
//    more. With radix 64 and 8 rails: 2 tiers up to 128 nodes (4 SUs, as the
//    DGX SuperPOD's 127 nodes), 3 up to 4,096 nodes. An explicit tier count
//    below that throws InputError; above it adds single-vertex tiers, unused.
//  - Latency: a link includes the switch it enters: NIC up nic_latency +
//    switch_latency, NIC down nic_latency, a trunk switch_latency. So a path
//    costs 2 nic_latency + switch_latency per switch traversed.
//
// Routing is deterministic up-down routing: within a node through the switch;
// across nodes up to the lowest common tier and down. route() is O(tiers),
// computed from indices (no search). Cross-rail traffic goes up to the spine
// (NCCL's PXN, which moves it to the right rail over NVLink first, is not
// modelled; the collective plans keep inter-node ring and tree edges on a rail).
//
// Building is O(GPUs + nodes); it checks with a breadth-first search that
// every GPU is reachable and that routes are walks in the graph.
//
// Example:
//   Topology topo(cluster, calibration);
//   std::vector<LinkId> path;
//   topo.route(0, 9, path);            // GPU 0 -> GPU 9 (another node)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/hardware/calibration.hpp"
#include "dtsim/hardware/cluster_spec.hpp"

namespace dtsim::hardware {

using LinkId = std::uint32_t;

enum class LinkClass : std::uint8_t { kNvlink, kNic, kFabric };

struct Link {
  Bandwidth capacity;  // effective, per direction
  Duration latency;
  LinkClass link_class = LinkClass::kNvlink;
};

class Topology {
 public:
  Topology(const ClusterSpec& cluster, const Calibration& calibration);
  ~Topology();
  Topology(Topology&&) noexcept;
  Topology& operator=(Topology&&) noexcept;

  int num_gpus() const;
  int gpus_per_node() const;
  int node_of(int gpu) const { return gpu / gpus_per_node(); }
  int tiers() const;  // fabric tiers actually built (0 for a single node)
  std::size_t num_links() const;
  std::size_t num_vertices() const;  // GPUs, NVSwitches, NIC vertices, fabric vertices
  const Link& link(LinkId id) const;
  std::string describe_link(LinkId id) const;  // "gpu3->nvswitch0", "leaf2->spine0", ...

  // Appends the links from src to dst (GPU indices) to `out`; nothing when
  // src == dst. Same node: [src->nvswitch, nvswitch->dst]; otherwise
  // [src->leaf, (leaf->spine, (spine->core, core->spine'),) ..., leaf'->dst].
  void route(int src, int dst, std::vector<LinkId>& out) const;
  // Sum of the latencies of route(src, dst)'s links.
  Duration path_latency(int src, int dst) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dtsim::hardware
