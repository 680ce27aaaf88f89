#include "dtsim/hardware/collective_plan.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <numeric>
#include <vector>

#include "dtsim/core/error.hpp"

using namespace dtsim;
using namespace dtsim::hardware;
using namespace dtsim::literals;
using Catch::Matchers::Contains;
using Catch::Matchers::WithinRel;

namespace {

// Round numbers: NVLink 100 GB/s x 0.8 = Bnv 80 GB/s, NIC 10 GB/s x 0.5 =
// Bnic 5 GB/s; alpha 10 us, hop 1 us (NVLink) / 5 us (network); tree hops
// 0.5 / 7 us.
constexpr double kBnv = 80e9;
constexpr double kBnic = 5e9;
constexpr double kAlpha = 10e-6;
constexpr double kAi = 1e-6;
constexpr double kAe = 5e-6;
constexpr double kTi = 0.5e-6;
constexpr double kTe = 7e-6;

ClusterSpec toy_cluster(int gpus_per_node, int nodes) {
  ClusterSpec c;
  c.node.name = "toy";
  c.node.gpu.name = "toy-gpu";
  c.node.gpu.peak_bf16 = FlopRate::flops_per_second(1e15);
  c.node.gpu.peak_fp32 = FlopRate::flops_per_second(1e14);
  c.node.gpu.memory_capacity = 80_GiB;
  c.node.gpu.memory_bandwidth = Bandwidth::bytes_per_second(1e12);
  c.node.gpu.sm_count = 100;
  c.node.gpus_per_node = gpus_per_node;
  c.node.nics_per_node = gpus_per_node;
  c.node.nvlink_bandwidth = 100_GBps;
  c.node.nic_bandwidth = 10_GBps;
  c.num_nodes = nodes;
  c.fabric.switch_radix = 64;
  return c;
}

Calibration toy_calibration() {
  Calibration cal;
  cal.collective.nvlink_efficiency = 0.8;
  cal.collective.network_efficiency = 0.5;
  cal.collective.base_latency = 10_us;
  cal.collective.intra_hop_latency = 1_us;
  cal.collective.inter_hop_latency = 5_us;
  cal.collective.tree_intra_hop_latency = Duration::from_ps(500'000);
  cal.collective.tree_inter_hop_latency = 7_us;
  return cal;
}

std::vector<int> iota(int n, int first = 0) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

struct Fixture {
  Calibration cal = toy_calibration();
  Topology topo;
  explicit Fixture(int gpn, int nodes) : topo(toy_cluster(gpn, nodes), cal) {}

  CollectivePlan plan(CollectiveKind k, const std::vector<int>& g, double bytes,
                      CollectiveAlgorithm a = CollectiveAlgorithm::kAuto) const {
    return plan_collective(k, g, Bytes(static_cast<std::int64_t>(bytes)), topo, cal.collective, a);
  }
  double time(const CollectivePlan& p) const { return estimate_plan(p, topo).seconds(); }
};

double total_bytes(const CollectiveStage& s) {
  double b = 0;
  for (const auto& t : s.transfers) b += t.bytes;
  return b;
}

}  // namespace

TEST_CASE("ring all-reduce in one node: 2(p-1)/p S/B + alpha + 2(p-1) hops", "[collective][ring]") {
  const Fixture f(8, 1);
  for (const int p : {2, 4, 8}) {
    for (const double s : {1e6, 1e9, 3.3e9}) {
      INFO("p = " << p << ", S = " << s);
      const CollectivePlan plan = f.plan(CollectiveKind::kAllReduce, iota(p), s, CollectiveAlgorithm::kRing);
      CHECK(plan.algorithm == CollectiveAlgorithm::kRing);
      REQUIRE(plan.stages.size() == 1);
      CHECK(plan.stages[0].transfers.size() == static_cast<std::size_t>(p));
      const double expected = kAlpha + 2 * (p - 1) * kAi + 2.0 * (p - 1) / p * s / kBnv;
      CHECK_THAT(f.time(plan), WithinRel(expected, 1e-6));
    }
  }
}

TEST_CASE("ring all-gather and reduce-scatter: (p-1)/p S/B + alpha + (p-1) hops", "[collective][ring]") {
  const Fixture f(8, 1);
  for (const auto kind : {CollectiveKind::kAllGather, CollectiveKind::kReduceScatter}) {
    for (const int p : {3, 8}) {
      const double s = 2e9;
      const double expected = kAlpha + (p - 1) * kAi + (p - 1.0) / p * s / kBnv;
      CHECK_THAT(f.time(f.plan(kind, iota(p), s, CollectiveAlgorithm::kRing)), WithinRel(expected, 1e-6));
    }
  }
}

TEST_CASE("broadcast is a pipelined chain: S/B + alpha + (p-1) hops", "[collective][ring]") {
  const Fixture f(8, 1);
  const CollectivePlan plan = f.plan(CollectiveKind::kBroadcast, iota(8), 1e9);
  CHECK(plan.algorithm == CollectiveAlgorithm::kRing);
  CHECK(plan.stages[0].transfers.size() == 7);
  CHECK(plan.stages[0].transfers.front().src == 0);
  CHECK_THAT(f.time(plan), WithinRel(kAlpha + 7 * kAi + 1e9 / kBnv, 1e-6));
}

TEST_CASE("transfers of one stage share a link (estimate_plan)", "[collective][estimate]") {
  // GPU 0 sends X to GPU 1 and X to GPU 2: both cross gpu0's up link, so each
  // gets B/2: 2X/B. Unequal 3X and X take (3X + X)/B. Disjoint links: X/B.
  const Fixture f(8, 1);
  const double x = 1e9;
  CollectivePlan plan;
  plan.stages.push_back(CollectiveStage{{{0, 1, x}, {0, 2, x}}, 3_us});
  CHECK_THAT(f.time(plan), WithinRel(3e-6 + 2 * x / kBnv, 1e-6));
  plan.stages[0].transfers = {{0, 1, 3 * x}, {0, 2, x}};
  CHECK_THAT(f.time(plan), WithinRel(3e-6 + 4 * x / kBnv, 1e-6));
  plan.stages[0].transfers = {{0, 1, x}, {2, 3, x}};
  CHECK_THAT(f.time(plan), WithinRel(3e-6 + x / kBnv, 1e-6));
  // Stages add up; a stage of no bytes costs its latency.
  plan.stages.push_back(CollectiveStage{{{4, 5, 0.0}}, 2_us});
  CHECK_THAT(f.time(plan), WithinRel(5e-6 + x / kBnv, 1e-6));
}

TEST_CASE("hierarchical all-reduce over 2 nodes x 8: intra RS + inter AR of S/8 + intra AG",
          "[collective][hierarchical]") {
  // [alpha + 7 a_i + 7/8 S/Bnv] + [2(N-1) a_e + 2(N-1)/N (S/8)/Bnic] + [7 a_i + 7/8 S/Bnv], N = 2.
  const Fixture f(8, 2);
  const double s = 1e9;
  const CollectivePlan plan = f.plan(CollectiveKind::kAllReduce, iota(16), s, CollectiveAlgorithm::kHierarchical);
  CHECK(plan.algorithm == CollectiveAlgorithm::kHierarchical);
  REQUIRE(plan.stages.size() == 3);
  CHECK(plan.stages[0].transfers.size() == 16);  // two rings of 8
  CHECK(plan.stages[1].transfers.size() == 16);  // 8 rails x 2 directions
  CHECK(plan.stages[2].transfers.size() == 16);
  for (const auto& t : plan.stages[1].transfers) {
    CHECK(t.src % 8 == t.dst % 8);  // inter-node traffic stays on its rail
    CHECK(t.src / 8 != t.dst / 8);
  }
  const double expected =
      (kAlpha + 7 * kAi + 7.0 / 8 * s / kBnv) + (2 * kAe + (s / 8) / kBnic) + (7 * kAi + 7.0 / 8 * s / kBnv);
  CHECK_THAT(f.time(plan), WithinRel(expected, 1e-6));
}

TEST_CASE("hierarchical all-gather and reduce-scatter over 4 nodes x 8", "[collective][hierarchical]") {
  // AG: [alpha + 3 a_e + 3/4 (S/8)/Bnic] + [7 a_i + 7/8 S/Bnv]; RS mirrors it.
  const Fixture f(8, 4);
  const double s = 4e9;
  const double inter = 3.0 / 4 * (s / 8) / kBnic;
  const double intra = 7.0 / 8 * s / kBnv;
  const CollectivePlan ag = f.plan(CollectiveKind::kAllGather, iota(32), s, CollectiveAlgorithm::kHierarchical);
  REQUIRE(ag.stages.size() == 2);
  CHECK_THAT(f.time(ag), WithinRel(kAlpha + 3 * kAe + inter + 7 * kAi + intra, 1e-6));
  const CollectivePlan rs = f.plan(CollectiveKind::kReduceScatter, iota(32), s, CollectiveAlgorithm::kHierarchical);
  REQUIRE(rs.stages.size() == 2);
  CHECK_THAT(f.time(rs), WithinRel(kAlpha + 7 * kAi + intra + 3 * kAe + inter, 1e-6));
}

TEST_CASE("ring across nodes runs one channel per local index, on rails", "[collective][ring]") {
  // 2 nodes x 8: 8 rings of S/8. Per GPU: NVLink carries 7/8 of 2(p-1)/p S,
  // its NIC 1/8 of it. Latency (NCCL): alpha + (2(p-1) - 2(N-1)) a_i + 2(N-1) a_e.
  const Fixture f(8, 2);
  const double s = 1e9;
  const CollectivePlan plan = f.plan(CollectiveKind::kAllReduce, iota(16), s, CollectiveAlgorithm::kRing);
  REQUIRE(plan.stages.size() == 1);
  std::map<int, int> cross_out;
  for (const auto& t : plan.stages[0].transfers) {
    if (t.src / 8 == t.dst / 8) continue;
    CHECK(t.src % 8 == t.dst % 8);
    ++cross_out[t.src];
  }
  CHECK(cross_out.size() == 16);
  for (const auto& [gpu, n] : cross_out) CHECK(n == 1);
  CHECK_THAT(total_bytes(plan.stages[0]), WithinRel(16 * 2.0 * 15 / 16 * s, 1e-9));
  const double share = 2.0 * 15 / 16 * s;
  const double expected = kAlpha + 28 * kAi + 2 * kAe + std::max(7.0 / 8 * share / kBnv, 1.0 / 8 * share / kBnic);
  CHECK_THAT(f.time(plan), WithinRel(expected, 1e-6));
}

TEST_CASE("channel patterns carry their closed-form bytes for any g and N", "[collective][ring][tree]") {
  // Ring AR (share = 2(p-1)/p): every GPU sends (g-1)/g share S to a node
  // mate and share S / g to another node. Tree AR: every GPU sends
  // 2(g-1)/g S along chains; the trees move 2(N-1) S across nodes in all.
  // No (src, dst) pair appears twice.
  const double s = 1e9;
  for (const int g : {2, 3, 8}) {
    for (const int n : {2, 3, 5}) {
      INFO("g = " << g << ", N = " << n);
      const Fixture f(8, n);
      std::vector<int> group;
      for (int node = 0; node < n; ++node)
        for (int j = 0; j < g; ++j) group.push_back(node * 8 + j);
      const int p = g * n;
      const double share = 2.0 * (p - 1) / p * s;
      for (const auto a : {CollectiveAlgorithm::kRing, CollectiveAlgorithm::kTree}) {
        const CollectivePlan plan = f.plan(CollectiveKind::kAllReduce, group, s, a);
        REQUIRE(plan.algorithm == a);
        std::map<std::pair<int, int>, int> seen;
        std::map<int, double> intra_out, inter_out;
        double inter_total = 0;
        for (const auto& t : plan.stages[0].transfers) {
          CHECK(++seen[{t.src, t.dst}] == 1);
          if (t.src / 8 == t.dst / 8) {
            intra_out[t.src] += t.bytes;
          } else {
            inter_out[t.src] += t.bytes;
            inter_total += t.bytes;
          }
        }
        for (const int gpu : group) {
          if (a == CollectiveAlgorithm::kRing) {
            CHECK_THAT(intra_out[gpu], WithinRel((g - 1.0) / g * share, 1e-12));
            CHECK_THAT(inter_out[gpu], WithinRel(share / g, 1e-12));
          } else {
            CHECK_THAT(intra_out[gpu], WithinRel(2.0 * (g - 1) / g * s, 1e-12));
          }
        }
        if (a == CollectiveAlgorithm::kTree) CHECK_THAT(inter_total, WithinRel(2.0 * (n - 1) * s, 1e-12));
      }
    }
  }
}

TEST_CASE("ring over one GPU per node: every step crosses the network but one per pass", "[collective][ring]") {
  // 4 nodes x 1 GPU: c = 4 crossing edges, x = 2 (c - 1) = 6 network steps of 6.
  const Fixture f(1, 4);
  const double s = 1e8;
  const double expected = kAlpha + 6 * kAe + 2.0 * 3 / 4 * s / kBnic;
  CHECK_THAT(f.time(f.plan(CollectiveKind::kAllReduce, iota(4), s, CollectiveAlgorithm::kRing)),
             WithinRel(expected, 1e-6));
}

TEST_CASE("tree all-reduce: double binary tree over nodes", "[collective][tree]") {
  const double s = 1e9;
  SECTION("2 nodes x 1: the two trees mirror each other; S each way, 2 log2(2) hops") {
    const Fixture f(1, 2);
    const CollectivePlan plan = f.plan(CollectiveKind::kAllReduce, iota(2), s, CollectiveAlgorithm::kTree);
    CHECK(plan.algorithm == CollectiveAlgorithm::kTree);
    CHECK(plan.stages[0].transfers.size() == 2);
    CHECK_THAT(f.time(plan), WithinRel(kAlpha + 2 * kTe + s / kBnic, 1e-6));
  }
  SECTION("4 nodes x 1: every rank has 3 tree edges of S/2: 1.5 S, 2 log2(4) hops") {
    const Fixture f(1, 4);
    const CollectivePlan plan = f.plan(CollectiveKind::kAllReduce, iota(4), s, CollectiveAlgorithm::kTree);
    CHECK_THAT(f.time(plan), WithinRel(kAlpha + 4 * kTe + 1.5 * s / kBnic, 1e-6));
  }
  SECTION("2 nodes x 8: chains of 2(g-1)/g S on NVLink, S/8 per NIC, 2((g-1) t_i + t_e)") {
    const Fixture f(8, 2);
    const CollectivePlan plan = f.plan(CollectiveKind::kAllReduce, iota(16), s, CollectiveAlgorithm::kTree);
    for (const auto& t : plan.stages[0].transfers) {
      if (t.src / 8 != t.dst / 8) CHECK(t.src % 8 == t.dst % 8);  // heads meet on their rail
    }
    const double expected = kAlpha + 2 * (7 * kTi + kTe) + std::max(1.75 * s / kBnv, (s / 8) / kBnic);
    CHECK_THAT(f.time(plan), WithinRel(expected, 1e-6));
  }
}

TEST_CASE("auto takes the fastest applicable plan", "[collective][auto]") {
  // 8 nodes x 1 GPU. Ring: alpha + 14 a_e + 1.75 S/B. Tree: alpha + 6 t_e + 2 S/B
  // (a rank internal in one tree has 3 edges there, 1 in the other: 4 x S/2).
  const Fixture f(1, 8);
  const auto g = iota(8);
  for (const double s : {1e3, 1e6, 1e8, 1e10}) {
    INFO("S = " << s);
    const double ring = f.time(f.plan(CollectiveKind::kAllReduce, g, s, CollectiveAlgorithm::kRing));
    const double tree = f.time(f.plan(CollectiveKind::kAllReduce, g, s, CollectiveAlgorithm::kTree));
    CHECK_THAT(ring, WithinRel(kAlpha + 14 * kAe + 1.75 * s / kBnic, 1e-6));
    CHECK_THAT(tree, WithinRel(kAlpha + 6 * kTe + 2 * s / kBnic, 1e-6));
    const CollectivePlan best = f.plan(CollectiveKind::kAllReduce, g, s);
    CHECK(f.time(best) == std::min(ring, tree));
    CHECK(best.algorithm == (tree < ring ? CollectiveAlgorithm::kTree : CollectiveAlgorithm::kRing));
  }
  // With these latencies the crossover exists: tree for 1 KB, ring for 10 GB.
  CHECK(f.plan(CollectiveKind::kAllReduce, g, 1e3).algorithm == CollectiveAlgorithm::kTree);
  CHECK(f.plan(CollectiveKind::kAllReduce, g, 1e10).algorithm == CollectiveAlgorithm::kRing);
}

TEST_CASE("auto breaks ties in favour of the ring", "[collective][auto]") {
  // 2 nodes x 1 with the tree's latencies equal to the ring's: both take
  // alpha + 2 a_e + S/B.
  Fixture f(1, 2);
  f.cal.collective.tree_intra_hop_latency.reset();
  f.cal.collective.tree_inter_hop_latency.reset();
  const double s = 1e8;
  const auto g = iota(2);
  CHECK(f.time(f.plan(CollectiveKind::kAllReduce, g, s, CollectiveAlgorithm::kRing)) ==
        f.time(f.plan(CollectiveKind::kAllReduce, g, s, CollectiveAlgorithm::kTree)));
  CHECK(f.plan(CollectiveKind::kAllReduce, g, s).algorithm == CollectiveAlgorithm::kRing);
}

TEST_CASE("auto on one node is the ring, across nodes it may pick hierarchical or tree", "[collective][auto]") {
  const Fixture one(8, 1);
  CHECK(one.plan(CollectiveKind::kAllReduce, iota(8), 1e3).algorithm == CollectiveAlgorithm::kRing);
  CHECK(one.plan(CollectiveKind::kAllGather, iota(8), 1e9).algorithm == CollectiveAlgorithm::kRing);
  const Fixture two(8, 2);
  for (const double s : {1e3, 1e9}) {
    const CollectivePlan best = two.plan(CollectiveKind::kAllReduce, iota(16), s);
    double fastest = 1e30;
    for (const auto a : {CollectiveAlgorithm::kRing, CollectiveAlgorithm::kTree, CollectiveAlgorithm::kHierarchical}) {
      fastest = std::min(fastest, two.time(two.plan(CollectiveKind::kAllReduce, iota(16), s, a)));
    }
    CHECK(two.time(best) == fastest);
  }
}

TEST_CASE("all-to-all sends S/p to every other member", "[collective][direct]") {
  const double s = 1e9;
  SECTION("one node, p = 4: 3/4 S on each up link, alpha + a_i") {
    const Fixture f(8, 1);
    const CollectivePlan plan = f.plan(CollectiveKind::kAllToAll, iota(4), s);
    CHECK(plan.algorithm == CollectiveAlgorithm::kDirect);
    CHECK(plan.stages[0].transfers.size() == 12);
    CHECK_THAT(f.time(plan), WithinRel(kAlpha + kAi + 0.75 * s / kBnv, 1e-6));
  }
  SECTION("2 nodes x 4: each NIC carries the 4 remote chunks: max(3S/8 / Bnv, S/2 / Bnic)") {
    const Fixture f(8, 2);
    const std::vector<int> g{0, 1, 2, 3, 8, 9, 10, 11};
    const CollectivePlan plan = f.plan(CollectiveKind::kAllToAll, g, s);
    CHECK_THAT(f.time(plan), WithinRel(kAlpha + kAe + std::max(3 * s / 8 / kBnv, s / 2 / kBnic), 1e-6));
  }
}

TEST_CASE("hierarchical all-to-all forwards over NVLink and keeps the network on rails", "[collective][hierarchical]") {
  // 2 nodes x 4: (a, i) -> (a, j) carries N S/p = S/4, (a, i) -> (b, i) g S/p = S/2;
  // per GPU 3/4 S over NVLink and 1/2 S over its NIC, in one stage.
  const Fixture f(8, 2);
  const double s = 1e9;
  const std::vector<int> g{0, 1, 2, 3, 8, 9, 10, 11};
  const CollectivePlan plan = f.plan(CollectiveKind::kAllToAll, g, s, CollectiveAlgorithm::kHierarchical);
  CHECK(plan.algorithm == CollectiveAlgorithm::kHierarchical);
  REQUIRE(plan.stages.size() == 1);
  CHECK(plan.stages[0].transfers.size() == 8 * (3 + 1));
  double sent_by_0 = 0.0;
  for (const auto& t : plan.stages[0].transfers) {
    const bool inter = t.src / 8 != t.dst / 8;
    if (inter) CHECK(t.src % 8 == t.dst % 8);
    CHECK(t.bytes == (inter ? s / 2 : s / 4));
    if (t.src == 0) sent_by_0 += t.bytes;
  }
  CHECK_THAT(sent_by_0, WithinRel(3.0 / 4 * s + s / 2, 1e-12));
  CHECK_THAT(f.time(plan), WithinRel(kAlpha + kAi + kAe + std::max(0.75 * s / kBnv, 0.5 * s / kBnic), 1e-6));
  // Inside one node, or on a group that is not uniform, it is the direct exchange.
  CHECK(f.plan(CollectiveKind::kAllToAll, iota(4), s, CollectiveAlgorithm::kHierarchical).algorithm ==
        CollectiveAlgorithm::kDirect);
  CHECK(f.plan(CollectiveKind::kAllToAll, {0, 1, 8}, s, CollectiveAlgorithm::kHierarchical).algorithm ==
        CollectiveAlgorithm::kDirect);
}

TEST_CASE("send/recv is one transfer of S", "[collective][direct]") {
  const Fixture f(8, 2);
  const double s = 5e8;
  const CollectivePlan in_node = f.plan(CollectiveKind::kSendRecv, {2, 5}, s);
  REQUIRE(in_node.stages.size() == 1);
  REQUIRE(in_node.stages[0].transfers.size() == 1);
  CHECK(in_node.stages[0].transfers[0].src == 2);
  CHECK(in_node.stages[0].transfers[0].dst == 5);
  CHECK_THAT(f.time(in_node), WithinRel(kAlpha + kAi + s / kBnv, 1e-6));
  CHECK_THAT(f.time(f.plan(CollectiveKind::kSendRecv, {2, 10}, s)), WithinRel(kAlpha + kAe + s / kBnic, 1e-6));
}

TEST_CASE("an algorithm that does not apply falls back to the kind's default", "[collective]") {
  const Fixture f(8, 2);
  CHECK(f.plan(CollectiveKind::kAllGather, iota(16), 1e6, CollectiveAlgorithm::kTree).algorithm ==
        CollectiveAlgorithm::kRing);
  CHECK(f.plan(CollectiveKind::kAllReduce, iota(8), 1e6, CollectiveAlgorithm::kHierarchical).algorithm ==
        CollectiveAlgorithm::kRing);  // one node
  CHECK(f.plan(CollectiveKind::kAllReduce, iota(8), 1e6, CollectiveAlgorithm::kTree).algorithm ==
        CollectiveAlgorithm::kRing);  // NCCL's single-node tree is a slower chain
  CHECK(f.plan(CollectiveKind::kAllReduce, {0, 1, 2, 8}, 1e6, CollectiveAlgorithm::kHierarchical).algorithm ==
        CollectiveAlgorithm::kRing);  // not uniform
  CHECK(f.plan(CollectiveKind::kAllReduce, iota(16), 1e6, CollectiveAlgorithm::kDirect).algorithm ==
        CollectiveAlgorithm::kRing);
  CHECK(f.plan(CollectiveKind::kAllToAll, iota(16), 1e6, CollectiveAlgorithm::kRing).algorithm ==
        CollectiveAlgorithm::kDirect);
}

TEST_CASE("a group of one has nothing to exchange", "[collective]") {
  const Fixture f(8, 1);
  const CollectivePlan plan = f.plan(CollectiveKind::kAllReduce, {3}, 1e9);
  CHECK(plan.stages.empty());
  CHECK(f.time(plan) == 0.0);
}

TEST_CASE("transfer endpoints depend on the group, never on the size", "[collective]") {
  // The replay caches routed patterns per (group, kind, algorithm).
  const Fixture f(8, 4);
  const auto g = iota(32);
  for (const auto a : {CollectiveAlgorithm::kRing, CollectiveAlgorithm::kTree, CollectiveAlgorithm::kHierarchical}) {
    const CollectivePlan small = f.plan(CollectiveKind::kAllReduce, g, 1e3, a);
    const CollectivePlan big = f.plan(CollectiveKind::kAllReduce, g, 1e10, a);
    REQUIRE(small.stages.size() == big.stages.size());
    for (std::size_t i = 0; i < small.stages.size(); ++i) {
      REQUIRE(small.stages[i].transfers.size() == big.stages[i].transfers.size());
      for (std::size_t j = 0; j < small.stages[i].transfers.size(); ++j) {
        CHECK(small.stages[i].transfers[j].src == big.stages[i].transfers[j].src);
        CHECK(small.stages[i].transfers[j].dst == big.stages[i].transfers[j].dst);
      }
    }
  }
}

TEST_CASE("bad groups are input errors", "[collective][errors]") {
  const Fixture f(8, 1);
  const auto plan = [&](CollectiveKind k, std::vector<int> g, std::int64_t bytes) {
    return plan_collective(k, g, Bytes(bytes), f.topo, f.cal.collective, CollectiveAlgorithm::kAuto);
  };
  CHECK_THROWS_WITH(plan(CollectiveKind::kAllReduce, {}, 8), Contains("all_reduce: the group has no GPUs"));
  CHECK_THROWS_WITH(plan(CollectiveKind::kAllReduce, {0, 8}, 8), Contains("GPU 8 is outside the cluster's 8 GPUs"));
  CHECK_THROWS_WITH(plan(CollectiveKind::kAllGather, {0, 1, 0}, 8), Contains("GPU 0 appears twice"));
  CHECK_THROWS_WITH(plan(CollectiveKind::kAllReduce, {0, 1}, -1), Contains("negative size"));
  CHECK_THROWS_WITH(plan(CollectiveKind::kSendRecv, {0, 1, 2}, 8), Contains("must be {src, dst}"));
}

TEST_CASE("algorithm names", "[collective]") {
  CHECK(to_string(CollectiveAlgorithm::kAuto) == "auto");
  CHECK(to_string(CollectiveAlgorithm::kHierarchical) == "hierarchical");
}
