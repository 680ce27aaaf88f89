// The topology keeps its links in a Boost.Graph adjacency list (vertex = GPU,
// NVSwitch, NIC, leaf, spine, core; edge property = LinkId) and a flat link
// table. Link ids are laid out so that route() computes them from indices:
//   [0, 2G)             NVLink: GPU g up 2g, down 2g+1 (only if gpus_per_node > 1)
//   nic_base + 2q (+1)  NIC q = node*K + nic: up, down
//   trunk_base[t] + 2j (+1)  tier-t vertex j: up trunk, down trunk (t < tiers)
// The graph is used for storage, naming and the build-time consistency
// check; the hot path never touches it.
#include "dtsim/hardware/topology.hpp"

#include <algorithm>
#include <array>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/property_map/property_map.hpp>
#include <limits>
#include <string>
#include <utility>

#include "dtsim/core/error.hpp"
#include "fabric_tiers.hpp"

namespace dtsim::hardware {

namespace {

struct EdgeProps {
  LinkId link = 0;
};
using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property, EdgeProps>;
using Vertex = Graph::vertex_descriptor;
using Edge = Graph::edge_descriptor;

// Graph edges that are not links: the PCIe attachment of a GPU to a shared NIC.
constexpr LinkId kNoLink = std::numeric_limits<LinkId>::max();
constexpr int kMaxTiers = detail::kMaxFabricTiers;
using detail::ceil_div;

std::string level_name(int t) {
  switch (t) {
    case 1:
      return "leaf";
    case 2:
      return "spine";
    case 3:
      return "core";
    default:
      return "tier" + std::to_string(t) + ".";
  }
}

}  // namespace

struct Topology::Impl {
  // Shape.
  int gpus = 0;
  int gpn = 0;  // GPUs per node
  int nodes = 0;
  int nics = 0;  // per node
  int half = 0;  // radix / 2: down ports of a switch
  int tiers = 0;
  bool rail = true;
  bool nvswitch = false;      // gpn > 1
  bool nic_vertices = false;  // NICs shared by several GPUs (and a fabric exists)

  // Tier t (1-based) has count[t] vertices; index 0 unused.
  std::array<std::int64_t, kMaxTiers + 1> count{};
  std::array<Vertex, kMaxTiers + 1> level_vertex{};
  std::array<LinkId, kMaxTiers + 1> trunk_base{};
  Vertex switch_vertex = 0;
  Vertex nic_vertex = 0;
  LinkId nic_base = 0;

  std::vector<Link> links;
  Graph graph;
  std::vector<Edge> edge_of;  // by LinkId

  int nic_of(int gpu) const {
    const int node = gpu / gpn;
    const int local = gpu % gpn;
    return node * nics + static_cast<int>(static_cast<std::int64_t>(local) * nics / gpn);
  }
  std::int64_t leaf_of_nic(std::int64_t q) const {
    if (!rail) return q / half;
    const std::int64_t node = q / nics;
    return (node / half) * nics + q % nics;
  }
  Vertex gpu_end(int gpu) const {  // where a GPU's fabric traffic enters the NIC link
    return nic_vertices ? nic_vertex + static_cast<Vertex>(nic_of(gpu)) : static_cast<Vertex>(gpu);
  }

  LinkId add_link(Vertex from, Vertex to, Bandwidth capacity, Duration latency, LinkClass cls) {
    const auto id = static_cast<LinkId>(links.size());
    links.push_back(Link{capacity, latency, cls});
    edge_of.push_back(boost::add_edge(from, to, EdgeProps{id}, graph).first);
    return id;
  }

  std::string vertex_name(Vertex v) const;
  void build(const ClusterSpec& c, const Calibration& cal);
  void check_consistency() const;
  void route(int src, int dst, std::vector<LinkId>& out) const;
};

std::string Topology::Impl::vertex_name(Vertex v) const {
  if (v < static_cast<Vertex>(gpus)) return "gpu" + std::to_string(v);
  for (int t = tiers; t >= 1; --t) {
    if (v >= level_vertex[t]) return level_name(t) + std::to_string(v - level_vertex[t]);
  }
  if (nic_vertices && v >= nic_vertex) {
    const auto q = v - nic_vertex;
    return "node" + std::to_string(q / static_cast<Vertex>(nics)) + ".nic" +
           std::to_string(q % static_cast<Vertex>(nics));
  }
  return "nvswitch" + std::to_string(v - switch_vertex);
}

void Topology::Impl::build(const ClusterSpec& c, const Calibration& cal) {
  const NodeSpec& node = c.node;
  const FabricSpec& fab = c.fabric;
  gpn = node.gpus_per_node;
  nodes = c.num_nodes;
  gpus = gpn * nodes;
  nics = node.nics_per_node;
  half = fab.switch_radix / 2;
  rail = fab.rail_optimized;
  nvswitch = gpn > 1;

  // Tier counts by the tier rule (see topology.hpp); validate_cluster has
  // rejected explicit tier counts below it and shapes needing more than
  // kMaxTiers.
  if (nodes > 1) {
    const int needed = detail::tiers_needed(nodes, nics, half, rail);
    DTSIM_CHECK(needed <= kMaxTiers && (fab.tiers == 0 || fab.tiers >= needed),
                "topology: a tier count that validate_cluster should have rejected");
    tiers = std::max(needed, fab.tiers);
  }
  nic_vertices = tiers > 0 && nics < gpn;
  if (tiers > 0) {
    count[1] = detail::leaf_count(nodes, nics, half, rail);
    for (int t = 2; t <= tiers; ++t) count[t] = ceil_div(count[t - 1], half);
  }

  // Vertices.
  std::int64_t nv = gpus;
  switch_vertex = static_cast<Vertex>(nv);
  if (nvswitch) nv += nodes;
  nic_vertex = static_cast<Vertex>(nv);
  if (nic_vertices) nv += static_cast<std::int64_t>(nodes) * nics;
  for (int t = 1; t <= tiers; ++t) {
    level_vertex[t] = static_cast<Vertex>(nv);
    nv += count[t];
  }
  std::int64_t nl = (nvswitch ? 2LL * gpus : 0) + (tiers > 0 ? 2LL * nodes * nics : 0);
  for (int t = 1; t < tiers; ++t) nl += 2 * count[t];
  if (nl >= static_cast<std::int64_t>(kNoLink)) throw InputError("/cluster", "cluster too large: more than 2^32 links");
  // Vertices are added in place: assigning a fresh adjacency_list would copy
  // it edge by edge.
  for (std::int64_t v = 0; v < nv; ++v) boost::add_vertex(graph);
  links.reserve(static_cast<std::size_t>(nl));
  edge_of.reserve(static_cast<std::size_t>(nl));

  // NVLink: GPU g up 2g, down 2g+1.
  if (nvswitch) {
    const Bandwidth cap = node.nvlink_bandwidth * cal.collective.nvlink_efficiency;
    const Duration lat = node.nvlink_latency / 2;
    for (int g = 0; g < gpus; ++g) {
      const Vertex sw = switch_vertex + static_cast<Vertex>(g / gpn);
      add_link(static_cast<Vertex>(g), sw, cap, lat, LinkClass::kNvlink);
      add_link(sw, static_cast<Vertex>(g), cap, lat, LinkClass::kNvlink);
    }
  }
  if (tiers == 0) return;

  // NICs: NIC q up nic_base + 2q, down + 1. Leaf attachment counted for trunks.
  const Bandwidth nic_cap = node.nic_bandwidth * cal.collective.network_efficiency;
  const double o = fab.oversubscription;
  nic_base = static_cast<LinkId>(links.size());
  std::vector<double> below(static_cast<std::size_t>(count[1]), 0.0);  // capacity under each vertex, bytes/s
  const std::int64_t nic_total = static_cast<std::int64_t>(nodes) * nics;
  for (std::int64_t q = 0; q < nic_total; ++q) {
    const Vertex end =
        nic_vertices ? nic_vertex + static_cast<Vertex>(q) : static_cast<Vertex>((q / nics) * gpn + (q % nics));
    const std::int64_t leaf = leaf_of_nic(q);
    const Vertex lv = level_vertex[1] + static_cast<Vertex>(leaf);
    add_link(end, lv, nic_cap, node.nic_latency + fab.switch_latency, LinkClass::kNic);
    add_link(lv, end, nic_cap, node.nic_latency, LinkClass::kNic);
    below[static_cast<std::size_t>(leaf)] += nic_cap.bytes_per_second();
  }

  // Trunks: tier-t vertex j up trunk_base[t] + 2j, down + 1.
  for (int t = 1; t < tiers; ++t) {
    trunk_base[t] = static_cast<LinkId>(links.size());
    std::vector<double> above(static_cast<std::size_t>(count[t + 1]), 0.0);
    for (std::int64_t j = 0; j < count[t]; ++j) {
      const Bandwidth cap = Bandwidth::bytes_per_second(below[static_cast<std::size_t>(j)] / o);
      const Vertex v = level_vertex[t] + static_cast<Vertex>(j);
      const Vertex p = level_vertex[t + 1] + static_cast<Vertex>(j / half);
      add_link(v, p, cap, fab.switch_latency, LinkClass::kFabric);
      add_link(p, v, cap, fab.switch_latency, LinkClass::kFabric);
      above[static_cast<std::size_t>(j / half)] += cap.bytes_per_second();
    }
    below = std::move(above);
  }

  // Graph-only edges: GPUs to the NIC they share (PCIe), both ways.
  if (nic_vertices) {
    for (int g = 0; g < gpus; ++g) {
      boost::add_edge(static_cast<Vertex>(g), gpu_end(g), EdgeProps{kNoLink}, graph);
      boost::add_edge(gpu_end(g), static_cast<Vertex>(g), EdgeProps{kNoLink}, graph);
    }
  }
  DTSIM_CHECK(static_cast<std::int64_t>(links.size()) == nl, "topology link count differs from its layout");
}

void Topology::Impl::check_consistency() const {
  // Every GPU reachable from GPU 0 (breadth-first search over the directed
  // graph, O(V + E): ~2 ms at 16K GPUs).
  std::vector<boost::default_color_type> color(boost::num_vertices(graph), boost::white_color);
  const auto colors = boost::make_iterator_property_map(color.begin(), boost::get(boost::vertex_index, graph));
  boost::breadth_first_search(graph, Vertex{0}, boost::color_map(colors));
  for (int g = 0; g < gpus; ++g) {
    DTSIM_CHECK(color[static_cast<std::size_t>(g)] != boost::white_color,
                "topology: gpu" + std::to_string(g) + " is not reachable from gpu0");
  }
  // Routes are walks in the graph: from GPU 0 to one GPU of every node (on a
  // rotating rail, so cross-rail paths are covered) and back. O(nodes * tiers).
  std::vector<LinkId> path;
  const auto check_walk = [&](int s, int d) {
    path.clear();
    route(s, d, path);
    DTSIM_CHECK(!path.empty(), "topology: empty route between distinct GPUs");
    const bool same_node = s / gpn == d / gpn;
    const Vertex from = same_node ? static_cast<Vertex>(s) : gpu_end(s);
    const Vertex to = same_node ? static_cast<Vertex>(d) : gpu_end(d);
    Vertex at = from;
    for (const LinkId l : path) {
      DTSIM_CHECK(boost::source(edge_of[l], graph) == at,
                  "topology: route gpu" + std::to_string(s) + "->gpu" + std::to_string(d) + " is not a walk");
      at = boost::target(edge_of[l], graph);
    }
    DTSIM_CHECK(at == to, "topology: route gpu" + std::to_string(s) + "->gpu" + std::to_string(d) + " ends elsewhere");
  };
  if (gpn > 1) check_walk(0, 1);
  for (int n = 1; n < nodes; ++n) {
    const int other = n * gpn + n % gpn;
    check_walk(0, other);
    check_walk(other, 0);
  }
}

void Topology::Impl::route(int src, int dst, std::vector<LinkId>& out) const {
  DTSIM_CHECK(src >= 0 && src < gpus && dst >= 0 && dst < gpus, "route: GPU index out of range");
  if (src == dst) return;
  if (src / gpn == dst / gpn) {
    out.push_back(static_cast<LinkId>(2 * src));
    out.push_back(static_cast<LinkId>(2 * dst + 1));
    return;
  }
  const int qs = nic_of(src);
  const int qd = nic_of(dst);
  out.push_back(nic_base + static_cast<LinkId>(2 * qs));
  std::int64_t a = leaf_of_nic(qs);
  std::int64_t b = leaf_of_nic(qd);
  // Climb both ends until they meet; the down trunks are appended in reverse.
  std::array<LinkId, kMaxTiers> down{};
  int t = 1;
  while (a != b) {
    DTSIM_CHECK(t < tiers, "route: ends did not meet below the top tier");
    out.push_back(trunk_base[t] + static_cast<LinkId>(2 * a));
    down[static_cast<std::size_t>(t)] = trunk_base[t] + static_cast<LinkId>(2 * b + 1);
    a /= half;
    b /= half;
    ++t;
  }
  for (int k = t - 1; k >= 1; --k) out.push_back(down[static_cast<std::size_t>(k)]);
  out.push_back(nic_base + static_cast<LinkId>(2 * qd + 1));
}

Topology::Topology(const ClusterSpec& cluster, const Calibration& calibration) : impl_(std::make_unique<Impl>()) {
  std::vector<Diagnostic> diags = validate_cluster(cluster);
  std::vector<Diagnostic> cal = validate_calibration(calibration);
  diags.insert(diags.end(), cal.begin(), cal.end());
  if (!diags.empty()) throw InputError(std::move(diags));
  impl_->build(cluster, calibration);
  impl_->check_consistency();
}

Topology::~Topology() = default;
Topology::Topology(Topology&&) noexcept = default;
Topology& Topology::operator=(Topology&&) noexcept = default;

int Topology::num_gpus() const { return impl_->gpus; }
int Topology::gpus_per_node() const { return impl_->gpn; }
int Topology::tiers() const { return impl_->tiers; }
std::size_t Topology::num_links() const { return impl_->links.size(); }
std::size_t Topology::num_vertices() const { return boost::num_vertices(impl_->graph); }

const Link& Topology::link(LinkId id) const {
  DTSIM_CHECK(id < impl_->links.size(), "link id out of range");
  return impl_->links[id];
}

std::string Topology::describe_link(LinkId id) const {
  DTSIM_CHECK(id < impl_->links.size(), "link id out of range");
  const Edge e = impl_->edge_of[id];
  return impl_->vertex_name(boost::source(e, impl_->graph)) + "->" + impl_->vertex_name(boost::target(e, impl_->graph));
}

void Topology::route(int src, int dst, std::vector<LinkId>& out) const { impl_->route(src, dst, out); }

Duration Topology::path_latency(int src, int dst) const {
  std::vector<LinkId> path;
  impl_->route(src, dst, path);
  Duration total = Duration::zero();
  for (const LinkId l : path) total += impl_->links[l].latency;
  return total;
}

}  // namespace dtsim::hardware
