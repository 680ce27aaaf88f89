// The cluster as a graph of directed links: GPU <-> NVSwitch inside a node,
// GPU (NIC) <-> leaf, leaf <-> spine, spine <-> core for the fat tree. Each
// physical full-duplex link is two directed links. Capacities are effective
// (raw bandwidth x the calibration's efficiency for the link class).
//
// Routing is deterministic up-down routing: within a node through the switch;
// across nodes up to the lowest common tier and down. route() is O(tiers).
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
  const Link& link(LinkId id) const;
  std::string describe_link(LinkId id) const;  // "gpu3->nvswitch0", "leaf2->spine0", ...

  // Appends the links from src to dst (GPU indices) to `out`. src != dst.
  void route(int src, int dst, std::vector<LinkId>& out) const;
  Duration path_latency(int src, int dst) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dtsim::hardware
