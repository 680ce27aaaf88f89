#include "dtsim/hardware/topology.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "dtsim/core/error.hpp"
#include "dtsim/hardware/presets.hpp"

using namespace dtsim;
using namespace dtsim::hardware;
using namespace dtsim::literals;
using Catch::Matchers::Contains;
using Catch::Matchers::WithinRel;

namespace {

// DGX H100 nodes on the default fabric (radix 64, 8 rails, non-blocking).
ClusterSpec dgx_h100(int nodes) {
  return ClusterSpec{*builtin_hardware().find_node("dgx-h100"), nodes, default_fabric()};
}

// Efficiencies 0.8 (NVLink) and 0.5 (network) so capacities show them.
Calibration cal() {
  Calibration c;
  c.collective.nvlink_efficiency = 0.8;
  c.collective.network_efficiency = 0.5;
  return c;
}

std::vector<std::string> route_names(const Topology& t, int src, int dst) {
  std::vector<LinkId> path;
  t.route(src, dst, path);
  std::vector<std::string> out;
  for (const LinkId l : path) out.push_back(t.describe_link(l));
  return out;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("one node: GPUs meet at the NVSwitch, no fabric", "[topology]") {
  // 8 GPUs: 8 + 1 vertices, 2 x 8 links; capacity 450 GB/s x 0.8.
  const Topology t(dgx_h100(1), cal());
  CHECK(t.num_gpus() == 8);
  CHECK(t.tiers() == 0);
  CHECK(t.num_vertices() == 9);
  CHECK(t.num_links() == 16);
  CHECK(route_names(t, 0, 5) == Names{"gpu0->nvswitch0", "nvswitch0->gpu5"});
  std::vector<LinkId> path;
  t.route(0, 5, path);
  CHECK_THAT(t.link(path[0]).capacity.bytes_per_second(), WithinRel(450e9 * 0.8, 1e-12));
  CHECK(t.link(path[0]).link_class == LinkClass::kNvlink);
  // GPU to GPU costs nvlink_latency (0.6 us), half on each link.
  CHECK(t.path_latency(0, 5) == Duration::from_ps(600'000));
  path.clear();
  t.route(3, 3, path);
  CHECK(path.empty());
}

TEST_CASE("two nodes: same rail through one leaf, other rails through the spine", "[topology][routing]") {
  // 2 nodes x 8 rails, radix 64: one SU (8 leaves), one spine vertex: 2 tiers.
  const Topology t(dgx_h100(2), cal());
  CHECK(t.tiers() == 2);
  CHECK(route_names(t, 0, 8) == Names{"gpu0->leaf0", "leaf0->gpu8"});
  CHECK(route_names(t, 0, 9) == Names{"gpu0->leaf0", "leaf0->spine0", "spine0->leaf1", "leaf1->gpu9"});
  CHECK(route_names(t, 15, 0) == Names{"gpu15->leaf7", "leaf7->spine0", "spine0->leaf0", "leaf0->gpu0"});
  std::vector<LinkId> path;
  t.route(0, 8, path);
  // NIC: 400 Gb/s = 50 GB/s x 0.5.
  CHECK_THAT(t.link(path[0]).capacity.bytes_per_second(), WithinRel(50e9 * 0.5, 1e-12));
  CHECK(t.link(path[0]).link_class == LinkClass::kNic);
  // Latency: 2 adapters + 1 switch (same rail); 2 adapters + 3 switches (via spine).
  const FabricSpec f = default_fabric();
  const Duration nic = builtin_hardware().find_node("dgx-h100")->nic_latency;
  CHECK(t.path_latency(0, 8) == nic * 2 + f.switch_latency);
  CHECK(t.path_latency(0, 9) == nic * 2 + f.switch_latency * 3);
}

TEST_CASE("64 nodes: vertex and link counts of a 2-tier rail-optimized tree", "[topology][fat_tree]") {
  // 512 GPUs + 64 NVSwitches + 2 SUs x 8 rails = 16 leaves + 1 spine = 593 vertices;
  // links: 2 x 512 NVLink + 2 x 512 NIC + 2 x 16 trunks = 2080.
  const Topology t(dgx_h100(64), cal());
  CHECK(t.tiers() == 2);
  CHECK(t.num_vertices() == 593);
  CHECK(t.num_links() == 2080);
  // Node 32 is in SU 1: GPU 256 (rail 0) hangs off leaf 8.
  CHECK(route_names(t, 0, 256) == Names{"gpu0->leaf0", "leaf0->spine0", "spine0->leaf8", "leaf8->gpu256"});
}

TEST_CASE("2,048 nodes: 3 tiers, routes across pods go through the core", "[topology][fat_tree]") {
  // 64 SUs x 8 rails = 512 leaves; pods of 32 leaves = 16 spine vertices; 1 core.
  // Vertices 16384 + 2048 + 512 + 16 + 1 = 18961; links 4 x 16384 + 2 x 512 + 2 x 16 = 66592.
  const Topology t(dgx_h100(2048), cal());
  CHECK(t.tiers() == 3);
  CHECK(t.num_vertices() == 18961);
  CHECK(t.num_links() == 66592);
  // Same node: 2 links; same leaf: 2; same pod other leaf: 4; other pod: 6.
  CHECK(route_names(t, 0, 7).size() == 2);
  CHECK(route_names(t, 0, 8).size() == 2);
  CHECK(route_names(t, 0, 32 * 8) == Names{"gpu0->leaf0", "leaf0->spine0", "spine0->leaf8", "leaf8->gpu256"});
  // GPU 16376 = node 2047, rail 0: SU 63, leaf 504, pod 15.
  CHECK(route_names(t, 0, 16376) == Names{"gpu0->leaf0", "leaf0->spine0", "spine0->core0", "core0->spine15",
                                          "spine15->leaf504", "leaf504->gpu16376"});
  const FabricSpec f = default_fabric();
  const Duration nic = builtin_hardware().find_node("dgx-h100")->nic_latency;
  CHECK(t.path_latency(0, 16376) == nic * 2 + f.switch_latency * 5);
}

TEST_CASE("trunks carry what is below them over the oversubscription", "[topology][fat_tree]") {
  // 2048 nodes, NIC capacity c = 50 GB/s x 0.5. Leaf: 32 NICs -> up trunk 32c/o;
  // spine: 32 leaves x 32c/o -> up trunk 1024c/o^2.
  const double c = 50e9 * 0.5;
  const auto trunk = [&](double oversub, const std::string& name) {
    ClusterSpec cl = dgx_h100(2048);
    cl.fabric.oversubscription = oversub;
    const Topology t(cl, cal());
    for (LinkId l = 0; l < t.num_links(); ++l) {
      if (t.describe_link(l) == name) {
        CHECK(t.link(l).link_class == LinkClass::kFabric);
        return t.link(l).capacity.bytes_per_second();
      }
    }
    FAIL("no link " << name);
    return 0.0;
  };
  CHECK_THAT(trunk(1.0, "leaf0->spine0"), WithinRel(32 * c, 1e-12));
  CHECK_THAT(trunk(1.0, "spine0->leaf0"), WithinRel(32 * c, 1e-12));
  CHECK_THAT(trunk(2.0, "leaf0->spine0"), WithinRel(16 * c, 1e-12));  // 2:1 halves it
  CHECK_THAT(trunk(1.0, "spine3->core0"), WithinRel(1024 * c, 1e-12));
  CHECK_THAT(trunk(2.0, "spine3->core0"), WithinRel(256 * c, 1e-12));
}

TEST_CASE("a partly filled unit sizes its trunks to the NICs attached", "[topology][fat_tree]") {
  // 40 nodes: SU 1 has 8 nodes, so its leaves carry 8 NICs: trunk 8c.
  const Topology t(dgx_h100(40), cal());
  for (LinkId l = 0; l < t.num_links(); ++l) {
    if (t.describe_link(l) == "leaf9->spine0")
      CHECK_THAT(t.link(l).capacity.bytes_per_second(), WithinRel(8 * 25e9, 1e-12));
    if (t.describe_link(l) == "leaf1->spine0")
      CHECK_THAT(t.link(l).capacity.bytes_per_second(), WithinRel(32 * 25e9, 1e-12));
  }
}

TEST_CASE("the tier rule: the fewest tiers whose top is one vertex", "[topology][fat_tree]") {
  // Rail-optimized, 8 rails, radix 64: 2 tiers up to 128 nodes, 3 up to 4096.
  CHECK(Topology(dgx_h100(128), cal()).tiers() == 2);
  CHECK(Topology(dgx_h100(129), cal()).tiers() == 3);
  // One GPU (one NIC) per node: a leaf joins 32 nodes in 1 tier.
  ClusterSpec single = dgx_h100(32);
  single.node.gpus_per_node = 1;
  single.node.nics_per_node = 1;
  CHECK(Topology(single, cal()).tiers() == 1);
  single.num_nodes = 33;
  CHECK(Topology(single, cal()).tiers() == 2);
  // An explicit larger count adds unused single-vertex tiers.
  ClusterSpec more = dgx_h100(2);
  more.fabric.tiers = 3;
  const Topology t(more, cal());
  CHECK(t.tiers() == 3);
  CHECK(route_names(t, 0, 9).size() == 4);
}

TEST_CASE("too few tiers is an input error that says how many are needed", "[topology][errors]") {
  ClusterSpec c = dgx_h100(2048);
  c.fabric.tiers = 2;
  try {
    Topology t(c, cal());
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(e.path() == "/cluster/fabric/tiers");
    CHECK(e.message() ==
          "2 tiers of radix-64 switches cannot connect 2048 nodes of 8 NICs (rail-optimized); they need at least 3 "
          "tiers (or set tiers to 0)");
  }
  ClusterSpec bad = dgx_h100(2);
  bad.fabric.switch_radix = 3;
  CHECK_THROWS_WITH(Topology(bad, cal()), Contains("/cluster/fabric/switch_radix"));
}

TEST_CASE("validate_cluster applies the tier rule from the counts alone", "[topology][errors]") {
  // Radix 64, 8 rails: 2 tiers up to 128 nodes, 3 up to 4,096 (topology.hpp).
  ClusterSpec c = dgx_h100(129);
  c.fabric.tiers = 2;
  const auto d = validate_cluster(c, "/x");
  REQUIRE(d.size() == 1);
  CHECK(d[0].path == "/x/fabric/tiers");
  CHECK(d[0].message ==
        "2 tiers of radix-64 switches cannot connect 129 nodes of 8 NICs (rail-optimized); they need at least 3 "
        "tiers (or set tiers to 0)");
  c.num_nodes = 128;
  CHECK(validate_cluster(c).empty());
  // Radix 4 (2 down ports), one NIC per node, not rail-optimized: 2^k nodes
  // need k tiers, so 512 nodes need 9 and are beyond the 8 modelled.
  ClusterSpec deep = dgx_h100(512);
  deep.node.nics_per_node = 1;
  deep.fabric.switch_radix = 4;
  deep.fabric.rail_optimized = false;
  const auto e = validate_cluster(deep);
  REQUIRE(e.size() == 1);
  CHECK(e[0].path == "/cluster/fabric/switch_radix");
  CHECK(e[0].message == "512 nodes need 9 tiers of radix-4 switches; at most 8 are modelled");
  deep.num_nodes = 256;
  CHECK(validate_cluster(deep).empty());
  CHECK(Topology(deep, cal()).tiers() == 8);
}

TEST_CASE("without rail optimization a leaf takes consecutive NIC ports", "[topology][fat_tree]") {
  // 8 nodes x 8 NICs = 64 ports, 32 per leaf: nodes 0-3 on leaf 0, 4-7 on leaf 1.
  ClusterSpec c = dgx_h100(8);
  c.fabric.rail_optimized = false;
  const Topology t(c, cal());
  CHECK(t.tiers() == 2);
  CHECK(route_names(t, 0, 9) == Names{"gpu0->leaf0", "leaf0->gpu9"});  // other rail, same leaf
  CHECK(route_names(t, 0, 32) == Names{"gpu0->leaf0", "leaf0->spine0", "spine0->leaf1", "leaf1->gpu32"});
  c.num_nodes = 4;
  CHECK(Topology(c, cal()).tiers() == 1);
}

TEST_CASE("GPUs sharing a NIC share its link", "[topology][nic]") {
  // 8 GPUs, 4 NICs per node: GPUs 2i and 2i+1 use NIC i (rail i).
  ClusterSpec c = dgx_h100(2);
  c.node.nics_per_node = 4;
  const Topology t(c, cal());
  // Vertices: 16 GPUs + 2 NVSwitches + 8 NIC vertices + 4 leaves + 1 spine.
  CHECK(t.num_vertices() == 31);
  // Links: 32 NVLink + 2 x 8 NIC + 2 x 4 trunks.
  CHECK(t.num_links() == 56);
  std::vector<LinkId> a, b;
  t.route(0, 8, a);
  t.route(1, 9, b);
  CHECK(a.front() == b.front());
  CHECK(route_names(t, 1, 9) == Names{"node0.nic0->leaf0", "leaf0->node1.nic0"});
  CHECK(route_names(t, 2, 10) == Names{"node0.nic1->leaf1", "leaf1->node1.nic1"});
  CHECK(route_names(t, 1, 2) == Names{"gpu1->nvswitch0", "nvswitch0->gpu2"});
}

TEST_CASE("GB200 NVL72: 72 GPUs under one NVSwitch, 72 NICs per rack", "[topology][presets]") {
  // 2 racks, one SU: 72 rails -> 72 leaves; pods of 32 leaves -> 3 spine
  // vertices under 1 core: 3 tiers.
  const Topology t(ClusterSpec{*builtin_hardware().find_node("gb200-nvl72"), 2, default_fabric()}, cal());
  CHECK(t.tiers() == 3);
  CHECK(route_names(t, 0, 71) == Names{"gpu0->nvswitch0", "nvswitch0->gpu71"});
  CHECK(route_names(t, 5, 77) == Names{"gpu5->leaf5", "leaf5->gpu77"});
}

TEST_CASE("[.benchmark] a 16,384-GPU topology builds in well under 0.5 s", "[.][benchmark][topology]") {
  const auto start = std::chrono::steady_clock::now();
  const Topology t(dgx_h100(2048), cal());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("16384-GPU topology built in " << s * 1e3 << " ms");
  CHECK(s < 0.5);
  CHECK(t.num_gpus() == 16384);
}
